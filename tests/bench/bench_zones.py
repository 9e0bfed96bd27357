# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: zone_policies (one task for the whole set) against two kubernetes.core.k8s baselines, the
same test API server, side by side in one run:

* ``k8s list``: ONE ``kubernetes.core.k8s`` task whose ``definition`` is the list of every object (the
  module applies them one after the other in one module run);
* ``k8s loop``: one ``kubernetes.core.k8s`` task run per object (``loop``).

For each size and method: a first run on an empty cluster, then ``--repeats`` no-op re-runs (median), each
as one ``ansible-playbook`` on localhost.  Two times are taken: the playbook's wall time, and the task's own
time (timestamps taken in the play right before and after the task, so the same ansible-playbook start-up is
left out of both sides).  The API requests are counted by the server.  Ends with
``zones no-op speedup at 100 zones: N``: the median no-op task time of the FASTER baseline measured at 100
zones over the median no-op task time of zone_policies.

Two floors are measured beside them with the same bracket, so the speedup has a measured ceiling: ``ping``
(``ansible.builtin.ping``, a module task that does nothing) and ``pass manifests`` (a module, written next to
the play, that takes the same ``manifests`` argument as ``zone_policies`` and returns at once).  No module
task that is handed the manifests can be faster than the second; the printed ceiling is the faster baseline
over it.

Usage: ``python tests/bench/bench_zones.py [--sizes 20,100,300] [--list-sizes 20,100,300]
[--loop-sizes 20,100] [--repeats 2]``.  The loop is slow (one module run per object): by default it runs at
20 and 100 zones only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "apiserver"))
sys.path.insert(0, str(ROOT / "build" / "collections"))

import harness  # noqa: E402  pylint: disable=import-error,wrong-import-position

from ansible_collections.netzone.segmentation.plugins.module_utils._model.plan import build_plan  # noqa: E402

# Each play stamps the time right before and right after its one task and writes the difference to
# ``timing_file``: the task's own time, without ansible-playbook's start-up.
_START = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Start
      ansible.builtin.set_fact:
        bench_t0: "{{ now().timestamp() }}"
"""
_END = """
    - name: Write the task's time
      ansible.builtin.copy:
        content: "{{ now().timestamp() - (bench_t0 | float) }}"
        dest: "{{ timing_file }}"
        mode: "0600"
"""

ZONE_POLICIES = _START + """
    - name: Apply the whole set
      netzone.segmentation.zone_policies:
        plan: "{{ plan }}"
        kubeconfig: "{{ kubeconfig }}"
""" + _END

K8S_LIST = _START + """
    - name: Apply every object with one task (a list of definitions)
      kubernetes.core.k8s:
        state: present
        definition: "{{ manifests }}"
        kubeconfig: "{{ kubeconfig }}"
""" + _END

K8S_LOOP = _START + """
    - name: Apply one object per item
      kubernetes.core.k8s:
        state: present
        definition: "{{ item }}"
        kubeconfig: "{{ kubeconfig }}"
      loop: "{{ manifests }}"
      loop_control:
        label: "{{ item.kind }} {{ item.metadata.namespace | default('') }}/{{ item.metadata.name }}"
""" + _END


PING = _START + """
    - name: A module task that does nothing
      ansible.builtin.ping:
""" + _END

PASS_MANIFESTS = _START + """
    - name: A module that takes the manifests and returns at once
      bench_pass_manifests:
        manifests: "{{ manifests }}"
""" + _END

# Written next to the plays (``library/``): the cost of handing the manifests to any module, and nothing else.
_PASS_MODULE = """#!/usr/bin/python
from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(manifests=dict(type="list", elements="dict", required=True)))
    module.exit_json(changed=False, count=len(module.params["manifests"]))


if __name__ == "__main__":
    main()
"""

FLOORS = {"ping": PING, "pass manifests": PASS_MANIFESTS}


def environment():
    env = dict(os.environ)
    env["PATH"] = "%s:%s" % (ROOT / ".venv" / "bin", env.get("PATH", ""))
    env["ANSIBLE_COLLECTIONS_PATH"] = ":".join(
        [str(ROOT / "build" / "collections")] + [str(p) for p in (ROOT / ".venv" / "lib").glob("python3.*/site-packages")])
    env["PYTHONPATH"] = str(ROOT / "build" / "collections")
    env["ANSIBLE_PYTHON_INTERPRETER"] = sys.executable
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.builtin.null" if "ANSIBLE_STDOUT_CALLBACK" not in env else \
        env["ANSIBLE_STDOUT_CALLBACK"]
    return env


def playbook(workdir, text, varsfile, env):
    """(wall seconds, task seconds) of one ansible-playbook run."""
    path = workdir / ("play-%d.yml" % abs(hash(text)))
    path.write_text(text)
    timing = workdir / "timing"
    if timing.exists():
        timing.unlink()
    start = time.perf_counter()
    proc = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           str(path), "-e", "@%s" % varsfile, "-e", "timing_file=%s" % timing], env=env,
                          capture_output=True, text=True, timeout=3600, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit("playbook failed (%d):\n%s\n%s" % (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
    return elapsed, float(timing.read_text())


def measure(server, workdir, text, varsfile, env, repeats):
    """First run on a fresh store, then ``repeats`` no-op re-runs: ``{"first": run, "noop": [runs]}``, each run
    ``{"wall", "task", "requests", "writes", "counts"}``."""
    server.reset()
    runs = []
    for _run in range(1 + repeats):
        server.recorder.reset()
        wall, task = playbook(workdir, text, varsfile, env)
        snap = server.recorder.snapshot()
        runs.append({"wall": wall, "task": task, "requests": snap["total"], "writes": snap["writes"],
                     "counts": snap["counts"]})
    return {"first": runs[0], "noop": runs[1:]}


def median(runs, field):
    return statistics.median(r[field] for r in runs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="20,100,300")
    parser.add_argument("--list-sizes", default="20,100,300")
    parser.add_argument("--loop-sizes", default="20,100")
    parser.add_argument("--repeats", type=int, default=2, help="no-op runs per method and size (median; >= 2)")
    parser.add_argument("--no-floors", action="store_true", help="do not measure the two floors")
    args = parser.parse_args(argv)
    if args.repeats < 2:
        parser.error("--repeats must be at least 2 (medians of at least two runs per side)")
    sizes = [int(s) for s in args.sizes.split(",") if s]
    list_sizes = {int(s) for s in args.list_sizes.split(",") if s}
    loop_sizes = {int(s) for s in args.loop_sizes.split(",") if s}
    env = environment()
    server = harness.RunningServer()
    speedup_100 = None
    try:
        with tempfile.TemporaryDirectory(prefix="bench-zones-") as tmp:
            workdir = Path(tmp)
            (workdir / "library").mkdir()
            (workdir / "library" / "bench_pass_manifests.py").write_text(_PASS_MODULE)
            header = ("zones", "objects", "method", "run", "wall s", "task s", "writes", "requests")
            print("%-6s %-8s %-22s %-10s %8s %8s %7s   %s" % header)
            for size in sizes:
                # zone_policies takes the plan (its manifests, proven, and the digest it checks); the baselines the
                # same manifests
                plan = build_plan(harness.zones_matrix(size), harness.INVENTORY,
                                  guard_settings={"skip": ["plan", "load_balancers"]})
                manifests = plan["manifests"]
                varsfile = workdir / ("vars-%d.json" % size)
                varsfile.write_text(json.dumps({"plan": plan, "manifests": manifests, "kubeconfig": server.kubeconfig}))
                results = {"zone_policies": measure(server, workdir, ZONE_POLICIES, varsfile, env, args.repeats)}
                if size in list_sizes:
                    results["k8s list"] = measure(server, workdir, K8S_LIST, varsfile, env, args.repeats)
                if size in loop_sizes:
                    results["k8s loop"] = measure(server, workdir, K8S_LOOP, varsfile, env, args.repeats)
                floors = {}
                if not args.no_floors:
                    for name, text in FLOORS.items():
                        floors[name] = measure(server, workdir, text, varsfile, env, args.repeats)
                for method, runs in list(results.items()) + [("floor: " + k, v) for k, v in floors.items()]:
                    rows = [("first", runs["first"])] + [("no-op %d" % (i + 1), r) for i, r in enumerate(runs["noop"])]
                    for label, run in rows:
                        per_verb = {}
                        for key, value in run["counts"].items():
                            verb = key.split(" ", 1)[0]
                            per_verb[verb] = per_verb.get(verb, 0) + value
                        print("%-6d %-8d %-22s %-10s %8.2f %8.2f %7d   %d %s" % (
                            size, len(manifests), method, label, run["wall"], run["task"], run["writes"],
                            run["requests"], " ".join("%s=%d" % kv for kv in sorted(per_verb.items()))))
                zp_noop = results["zone_policies"]["noop"]
                lists = {k: v for k, v in zp_noop[0]["counts"].items() if k.startswith("list ")}
                print("       zone_policies no-op: %d requests for %d kinds (%s), %d writes" % (
                    zp_noop[0]["requests"], len(lists), ", ".join(sorted(lists)), zp_noop[0]["writes"]))
                zp_task = median(zp_noop, "task")
                baselines = {m: median(r["noop"], "task") for m, r in results.items() if m != "zone_policies"}
                for method, task in sorted(baselines.items()):
                    print("       %s / zone_policies, median no-op: task %.1fx (%.2f s / %.2f s), wall %.1fx; "
                          "requests %d vs %d" % (
                              method, task / zp_task, task, zp_task,
                              median(results[method]["noop"], "wall") / median(zp_noop, "wall"),
                              results[method]["noop"][0]["requests"], zp_noop[0]["requests"]))
                if baselines:
                    fastest = min(baselines, key=baselines.get)
                    print("       faster baseline: %s" % fastest)
                    for name, runs in floors.items():
                        floor = median(runs["noop"], "task")
                        print("       floor %s: median task %.2f s; %s over it: %.1fx (the most any module task "
                              "%scould reach); zone_policies above it: %.2f s" % (
                                  name, floor, fastest, baselines[fastest] / floor,
                                  "handed the manifests " if name == "pass manifests" else "", zp_task - floor))
                    if size == 100:
                        speedup_100 = (baselines[fastest] / zp_task, fastest, sorted(baselines))
                sys.stdout.flush()
    finally:
        server.stop()
    if speedup_100 is not None:
        print("zones no-op speedup at 100 zones: %.1f (against %s, the faster of the baselines measured: %s; median "
              "no-op task times of %d runs per side)" % (speedup_100[0], speedup_100[1], ", ".join(speedup_100[2]),
                                                         args.repeats))
    else:
        print("zones no-op speedup at 100 zones: not measured (add 100 to --sizes and --list-sizes or --loop-sizes)")


if __name__ == "__main__":
    main()
