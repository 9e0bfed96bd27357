"""Benchmark: compile and prove matrices of 50, 100, 200 and 500 zones with about ten flows per zone.

Prints, per size: zones, flows, manifests, proof cells, wall time of validate / compile / prove, and the peak
Python memory (tracemalloc) of the whole run; then the growth ratios between sizes next to the growth of
zones and of zone pairs, so one can see whether cost follows pairs (the proof must look at every pair) or worse.
A second table keeps 100 zones and adds services with many distinct ports, to show how the proof's cost
grows with the number of port intervals.

Time guard: each size runs in a child process with a time limit (``BENCH_CORE_LIMIT`` seconds, 300 by
default).  A size that does not finish is stopped, and it and every larger size are skipped with a line
that says so; a size whose expected time (the last one's, scaled by the growth of zone pairs) exceeds the
limit is skipped without being started.  So ``make bench`` finishes in minutes whatever the proof costs.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import sys
import time
import tracemalloc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "collections"))

from ansible_collections.netzone.segmentation.plugins.module_utils._model.compile import compile_manifests  # noqa: E402
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import normalize_matrix  # noqa: E402
from ansible_collections.netzone.segmentation.plugins.module_utils._model.proof import verify_matrix  # noqa: E402


LIMIT = float(os.environ.get("BENCH_CORE_LIMIT", "300"))


def generated(zones, flows_per_zone=10, seed=7, many_ports=0):
    """~``flows_per_zone`` flows per zone; with ``many_ports``, a service ``many`` of that many single TCP
    ports (20000, 20002, ...: each cuts two intervals) that every tenth zone's first flow also carries."""
    rnd = random.Random(seed)
    services = {"http": ["80/tcp", "8080/tcp"], "grpc": ["9090/tcp"], "pg": ["5432/tcp"], "redis": ["6379/tcp"],
                "dns_ext": ["53/udp"], "metrics": ["9100-9110/tcp"], "nfs": ["2049/tcp", "2049/udp"]}
    if many_ports:
        services_many = ["%d/tcp" % (20000 + 2 * i) for i in range(many_ports)]
    names = ["z%03d" % i for i in range(zones)]
    peers = {"lbs": {"cidrs": ["192.0.2.10/32", "192.0.2.11/32"]},
             "ext_db": {"cidrs": ["198.51.100.0/24"]},
             "internet": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}}
    flows = []
    for i, src in enumerate(names):
        for _flow in range(flows_per_zone):
            roll = rnd.random()
            if roll < 0.05:
                dst = "ext_db"
            else:
                dst = names[rnd.randrange(zones)]
            flows.append({"from": src, "to": dst, "services": rnd.sample(sorted(services), rnd.randint(1, 2))})
        if many_ports and i % 10 == 0:
            flows[-flows_per_zone]["services"].append("many")
        if i % 25 == 0:
            flows.append({"from": "lbs", "to": src, "services": ["http"]})
            flows.append({"from": src, "to": "internet", "services": ["http"]})
    if many_ports:
        services["many"] = services_many
    return {"cluster": {"pod_cidr": "10.0.0.0/14"}, "services": services, "peers": peers,
            "zones": {n: {} for n in names}, "flows": flows, "vhosts": [],
            "guards": {"internet_egress_zones": names, "ingress_zone": None}}


def peak_memory(raw):
    """Peak Python memory of validate + compile + prove (a separate pass: tracemalloc slows the timed one)."""
    tracemalloc.start()
    matrix = normalize_matrix(raw)
    verify_matrix(matrix, compile_manifests(matrix))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def run(zones, many_ports=0, memory=True):
    raw = generated(zones, many_ports=many_ports)
    t0 = time.perf_counter()
    matrix = normalize_matrix(raw)
    t1 = time.perf_counter()
    manifests = compile_manifests(matrix)
    t2 = time.perf_counter()
    proof = verify_matrix(matrix, manifests)
    t3 = time.perf_counter()
    peak = peak_memory(raw) if memory else 0
    assert not proof["mismatches"], proof["mismatches"][:2]
    return {"zones": zones, "flows": len(matrix["flows"]), "manifests": len(manifests),
            "cells": proof["summary"]["cells"], "ports": len(proof["summary"]["probe_ports"]),
            "validate": t1 - t0, "compile": t2 - t1, "prove": t3 - t2, "peak_mib": peak / 2 ** 20,
            "total": time.perf_counter() - t0}


def _child(queue, zones, many_ports, memory):
    queue.put(run(zones, many_ports, memory))


def guarded(sizes, many_ports=0, label="zones"):
    """Run each (zones, many_ports) in a child process under the time limit; skip what cannot finish."""
    rows, context = [], multiprocessing.get_context("fork")
    for zones, ports in sizes:
        what = "%d %s" % (zones if label == "zones" else ports, label)
        if rows:
            last = rows[-1]
            scale = (zones / last["zones"]) ** 2 if label == "zones" else max(1.0, ports / max(1, last["many"]))
            guess = last["total"] * scale
            if guess > LIMIT:
                print("skipped %s and larger: expected %.0f s (last size's time x the growth), over the %.0f s "
                      "limit (BENCH_CORE_LIMIT)" % (what, guess, LIMIT))
                break
        queue = context.Queue()
        child = context.Process(target=_child, args=(queue, zones, ports, label == "zones"))
        child.start()
        try:
            row = queue.get(timeout=LIMIT)
        except Exception:  # queue.Empty: the limit passed (or the child died)
            row = None
        if row is None:
            if child.is_alive():
                child.terminate()
            child.join()
            print("skipped %s and larger: not finished in %.0f s (BENCH_CORE_LIMIT); stopped" % (what, LIMIT))
            break
        child.join()
        row["many"] = ports
        rows.append(row)
    return rows


def main():
    sizes = [int(a) for a in sys.argv[1:]] or [50, 100, 200, 500]
    print("compile + prove, ~10 flows per zone (times: one run; peak_MiB: tracemalloc in a second run; "
          "each size in a child process, limit %.0f s)" % LIMIT)
    rows = guarded([(n, 0) for n in sizes])
    header = ("zones", "flows", "manifests", "cells", "ports", "validate_s", "compile_s", "prove_s", "us/cell", "peak_MiB")
    print("%6s %7s %9s %9s %6s %10s %10s %10s %10s %9s" % header)
    for r in rows:
        print("%6d %7d %9d %9d %6d %10.3f %10.3f %10.3f %10.1f %9.1f" % (
            r["zones"], r["flows"], r["manifests"], r["cells"], r["ports"], r["validate"], r["compile"], r["prove"],
            1e6 * r["prove"] / r["cells"], r["peak_mib"]))
    for a, b in zip(rows, rows[1:]):
        print("growth %d -> %d zones: zones x%.1f, zone pairs x%.1f, cells x%.1f, compile time x%.1f, "
              "prove time x%.1f, memory x%.1f" % (
                  a["zones"], b["zones"], b["zones"] / a["zones"], (b["zones"] / a["zones"]) ** 2,
                  b["cells"] / a["cells"], b["compile"] / a["compile"], b["prove"] / a["prove"],
                  b["peak_mib"] / a["peak_mib"]))
    if rows:
        last = rows[-1]
        print("core prove at %d zones: %.2f s, %.0f MiB" % (last["zones"], last["prove"], last["peak_mib"]))
    if sys.argv[1:]:
        return
    print()
    print("port intervals: 100 zones, plus a service of N single ports that every tenth zone's first flow carries "
          "(no memory pass)")
    rows = guarded([(100, n) for n in (0, 50, 200, 800)], label="extra ports")
    print("%11s %9s %9s %10s %10s" % ("extra_ports", "intervals", "cells", "prove_s", "us/cell"))
    for r in rows:
        print("%11d %9d %9d %10.3f %10.1f" % (
            r["many"], r["ports"], r["cells"], r["prove"], 1e6 * r["prove"] / r["cells"]))
    for a, b in zip(rows, rows[1:]):
        print("growth %d -> %d intervals: intervals x%.1f, prove time x%.1f" % (
            a["ports"], b["ports"], b["ports"] / a["ports"], b["prove"] / a["prove"]))


if __name__ == "__main__":
    main()
