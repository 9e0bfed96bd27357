# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: zone_policies (one task for the whole set) vs a kubernetes.core.k8s task loop (one item per
object), against the same test API server, side by side in one run.

For each size: a first run on an empty cluster and a no-op re-run, each as one ``ansible-playbook`` on
localhost; the API requests are counted by the server, the wall time is the playbook's.  Ends with
``zones no-op speedup at 100 zones: N``.

Usage: ``python tests/bench/bench_zones.py [--sizes 20,100,300] [--loop-sizes 20,100]``.  The loop is slow
(one module run per object): by default it runs at 20 and 100 zones only; ``--loop-sizes 20,100,300`` adds
300 (about 1,500 objects, several minutes per run).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "apiserver"))
sys.path.insert(0, str(ROOT / "build" / "collections"))

import harness  # noqa: E402  pylint: disable=import-error,wrong-import-position

from ansible_collections.netzone.segmentation.plugins.module_utils.compile import compile_manifests  # noqa: E402
from ansible_collections.netzone.segmentation.plugins.module_utils.matrix import normalize_matrix  # noqa: E402

ZONE_POLICIES = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Apply the whole set
      netzone.segmentation.zone_policies:
        manifests: "{{ manifests }}"
        kubeconfig: "{{ kubeconfig }}"
"""

K8S_LOOP = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Apply one object per item
      kubernetes.core.k8s:
        state: present
        definition: "{{ item }}"
        kubeconfig: "{{ kubeconfig }}"
      loop: "{{ manifests }}"
      loop_control:
        label: "{{ item.kind }} {{ item.metadata.namespace | default('') }}/{{ item.metadata.name }}"
"""


def environment():
    env = dict(os.environ)
    env["PATH"] = "%s:%s" % (ROOT / ".venv" / "bin", env.get("PATH", ""))
    env["ANSIBLE_COLLECTIONS_PATH"] = "%s:%s" % (ROOT / "build" / "collections",
                                                 ROOT / ".venv" / "lib" / "python3.11" / "site-packages")
    env["PYTHONPATH"] = str(ROOT / "build" / "collections")
    env["ANSIBLE_PYTHON_INTERPRETER"] = sys.executable
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.builtin.null" if "ANSIBLE_STDOUT_CALLBACK" not in env else \
        env["ANSIBLE_STDOUT_CALLBACK"]
    return env


def playbook(workdir, text, varsfile, env):
    path = workdir / ("play-%d.yml" % abs(hash(text)))
    path.write_text(text)
    start = time.perf_counter()
    proc = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           str(path), "-e", "@%s" % varsfile], env=env, capture_output=True, text=True,
                          timeout=1800, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit("playbook failed (%d):\n%s\n%s" % (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
    return elapsed


def measure(server, workdir, text, varsfile, env):
    """(first run, no-op re-run) as ((seconds, requests, writes), ...) on a fresh store."""
    server.reset()
    out = []
    for _run in range(2):
        server.recorder.reset()
        seconds = playbook(workdir, text, varsfile, env)
        snap = server.recorder.snapshot()
        out.append((seconds, snap["total"], snap["writes"], snap["counts"]))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="20,100,300")
    parser.add_argument("--loop-sizes", default="20,100")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    loop_sizes = {int(s) for s in args.loop_sizes.split(",") if s}
    env = environment()
    server = harness.RunningServer()
    speedup_100 = None
    try:
        with tempfile.TemporaryDirectory(prefix="bench-zones-") as tmp:
            workdir = Path(tmp)
            header = ("zones", "objects", "method", "run", "seconds", "writes", "requests")
            print("%-6s %-8s %-18s %10s %9s %7s   %s" % header)
            for size in sizes:
                manifests = compile_manifests(normalize_matrix(harness.zones_matrix(size), harness.INVENTORY))
                varsfile = workdir / ("vars-%d.json" % size)
                varsfile.write_text(json.dumps({"manifests": manifests, "kubeconfig": server.kubeconfig}))
                results = {"zone_policies": measure(server, workdir, ZONE_POLICIES, varsfile, env)}
                if size in loop_sizes:
                    results["kubernetes.core.k8s"] = measure(server, workdir, K8S_LOOP, varsfile, env)
                for method, runs in results.items():
                    for label, (seconds, total, writes, counts) in zip(("first", "no-op"), runs):
                        per_verb = {}
                        for key, value in counts.items():
                            verb = key.split(" ", 1)[0]
                            per_verb[verb] = per_verb.get(verb, 0) + value
                        print("%-6d %-8d %-18s %10s %9.2f %7d   %d %s" % (
                            size, len(manifests), method, label, seconds, writes, total,
                            " ".join("%s=%d" % kv for kv in sorted(per_verb.items()))))
                zp_noop = results["zone_policies"][1]
                lists = {k: v for k, v in zp_noop[3].items() if k.startswith("list ")}
                print("       zone_policies no-op: %d requests for %d kinds (%s), %d writes" % (
                    zp_noop[1], len(lists), ", ".join(sorted(lists)), zp_noop[2]))
                if "kubernetes.core.k8s" in results:
                    loop_noop = results["kubernetes.core.k8s"][1]
                    ratio = loop_noop[0] / zp_noop[0]
                    first_ratio = results["kubernetes.core.k8s"][0][0] / results["zone_policies"][0][0]
                    print("       speedup (loop / zone_policies): first run %.1fx, no-op %.1fx; requests no-op %d vs %d"
                          % (first_ratio, ratio, loop_noop[1], zp_noop[1]))
                    if size == 100:
                        speedup_100 = ratio
                sys.stdout.flush()
    finally:
        server.stop()
    if speedup_100 is not None:
        print("zones no-op speedup at 100 zones: %.1f" % speedup_100)
    else:
        print("zones no-op speedup at 100 zones: not measured (add 100 to --sizes and --loop-sizes)")


if __name__ == "__main__":
    main()
