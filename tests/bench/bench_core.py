"""Benchmark: compile and prove matrices of 50, 200 and 500 zones with about ten flows per zone.

Prints, per size: zones, flows, manifests, proof cells, wall time of validate / compile / prove, and the peak
Python memory (tracemalloc) of the whole run; then the growth ratios between sizes next to the growth of
zones and of zone pairs, so one can see whether cost follows pairs (the proof must look at every pair) or worse.
"""

from __future__ import annotations

import os
import random
import sys
import time
import tracemalloc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "collections"))

from ansible_collections.netzone.segmentation.plugins.module_utils._model.compile import compile_manifests  # noqa: E402
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import normalize_matrix  # noqa: E402
from ansible_collections.netzone.segmentation.plugins.module_utils._model.proof import verify_matrix  # noqa: E402


def generated(zones, flows_per_zone=10, seed=7):
    rnd = random.Random(seed)
    services = {"http": ["80/tcp", "8080/tcp"], "grpc": ["9090/tcp"], "pg": ["5432/tcp"], "redis": ["6379/tcp"],
                "dns_ext": ["53/udp"], "metrics": ["9100-9110/tcp"], "nfs": ["2049/tcp", "2049/udp"]}
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
        if i % 25 == 0:
            flows.append({"from": "lbs", "to": src, "services": ["http"]})
            flows.append({"from": src, "to": "internet", "services": ["http"]})
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


def run(zones):
    raw = generated(zones)
    t0 = time.perf_counter()
    matrix = normalize_matrix(raw)
    t1 = time.perf_counter()
    manifests = compile_manifests(matrix)
    t2 = time.perf_counter()
    proof = verify_matrix(matrix, manifests)
    t3 = time.perf_counter()
    peak = peak_memory(raw)
    assert not proof["mismatches"], proof["mismatches"][:2]
    return {"zones": zones, "flows": len(matrix["flows"]), "manifests": len(manifests),
            "cells": proof["summary"]["cells"], "ports": len(proof["summary"]["probe_ports"]),
            "validate": t1 - t0, "compile": t2 - t1, "prove": t3 - t2, "peak_mib": peak / 2 ** 20}


def main():
    sizes = [int(a) for a in sys.argv[1:]] or [50, 200, 500]
    rows = [run(n) for n in sizes]
    print("compile + prove, ~10 flows per zone (times: one run; peak_MiB: tracemalloc in a second run)")
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
    last = rows[-1]
    print("core prove at %d zones: %.2f s, %.0f MiB" % (last["zones"], last["prove"], last["peak_mib"]))


if __name__ == "__main__":
    main()
