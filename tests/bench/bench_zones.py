# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: zone_policies against kubernetes.core.k8s and two floors, on the test API server and the real kube-apiserver.

zone_policies (one task for the whole set) against two kubernetes.core.k8s baselines, side by side in one run:

* ``k8s list``: ONE ``kubernetes.core.k8s`` task whose ``definition`` is the list of every object (the
  module applies them one after the other in one module run);
* ``k8s loop``: one ``kubernetes.core.k8s`` task run per object (``loop``).

Two servers, one after the other (``--server real|stand-in|both``, default both): the project's test API server
(tests/apiserver/, in this process; it counts the requests) and the real one, kube-apiserver with etcd as the
cluster harness starts them (tests/cluster/cluster.py: bounded, stopped by PID, its namespaces removed, also on
failure; one harness per machine, so it waits up to ``--wait`` seconds for another one to end).  On the real server
the requests are counted in its audit log, which then records every request of the test user; its namespace
controller removes the namespaces between methods (the first run of each is on an empty cluster); the baselines
are not handed the kinds it does not serve (the AdminNetworkPolicy: the harness installs no CRD for it; the run
says so), which zone_policies leaves out itself when they are no-ops.

For each server, size and method: a first run on an empty cluster, then ``--repeats`` no-op re-runs (median), each
as one ``ansible-playbook`` on localhost.  Two times are taken: the playbook's wall time, and the task's own
time (timestamps taken in the play right before and after the task, so the same ansible-playbook start-up is
left out of both sides).  Each server's part ends with ``zones no-op speedup at 100 zones (SERVER): N``: the
median no-op task time of the FASTER baseline measured at 100 zones over the median no-op task time of
zone_policies (SERVER: ``test API server`` or ``kube-apiserver``).

Two floors are measured beside them with the same bracket, so the speedup has a measured ceiling: ``ping``
(``ansible.builtin.ping``, a module task that does nothing) and ``pass manifests`` (a module, written next to
the play, that takes the same ``manifests`` argument as ``zone_policies`` and returns at once).  No module
task that is handed the manifests can be faster than the second; the printed ceiling is the faster baseline
over it.

Usage: ``python tests/bench/bench_zones.py [--server both] [--sizes 20,100,300] [--list-sizes 20,100,300]
[--loop-sizes 20,100] [--real-sizes 20,100,300] [--real-list-sizes 20,100,300] [--real-loop-sizes 20]
[--repeats 2]``.  The loop is slow (one module run per object): by default it runs at 20 and 100 zones on the
test API server, at 20 on the real one.
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

from ansible_collections.netzone.segmentation.plugins.module_utils._model.plan import build_plan, compact  # noqa: E402

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


def measure(target, workdir, text, varsfile, env, repeats):
    """First run on an empty cluster, then ``repeats`` no-op re-runs: ``{"first": run, "noop": [runs]}``, each run
    ``{"wall", "task", "requests", "writes", "counts"}``."""
    target.reset()
    runs = []
    for _run in range(1 + repeats):
        target.begin()
        wall, task = playbook(workdir, text, varsfile, env)
        snap = target.end()
        runs.append({"wall": wall, "task": task, "requests": snap["total"], "writes": snap["writes"],
                     "counts": snap["counts"]})
    return {"first": runs[0], "noop": runs[1:]}


def median(runs, field):
    return statistics.median(r[field] for r in runs)


# --- the servers ------------------------------------------------------------------------------------------------

class StandIn:
    """The project's test API server (tests/apiserver/), in a thread of this process; it counts the requests."""

    key = "stand-in"
    label = "test API server"

    def __init__(self, _args):
        self.server = harness.RunningServer()
        self.kubeconfig = self.server.kubeconfig
        self.note = "the project's test API server (tests/apiserver/), in this process"

    def use(self, manifests):
        """The manifests the baselines and the floors are handed here (all of them)."""
        return manifests

    def reset(self):
        self.server.reset()

    def begin(self):
        self.server.recorder.reset()

    def end(self):
        return self.server.recorder.snapshot()

    def stop(self):
        self.server.stop()


def audit_counts(lines, user):
    """``{"total", "writes", "counts"}`` of the audit events (JSON lines) of ``user``: one per request (its
    ResponseComplete stage), counted as ``"<verb> <resource>"`` (``"<verb> <path>"`` without an object) like the
    test API server's recorder; writes are the write verbs, dry runs included (as that recorder counts them)."""
    counts = {}
    for line in lines:
        line = line.strip()
        if not line:
            continue
        event = json.loads(line)
        if event.get("stage") != "ResponseComplete" or (event.get("user") or {}).get("username") != user:
            continue
        ref = event.get("objectRef") or {}
        what = ref.get("resource") or event.get("requestURI", "").split("?", 1)[0]
        key = "%s %s" % (event.get("verb"), what)
        counts[key] = counts.get(key, 0) + 1
    return {"total": sum(counts.values()), "counts": counts,
            "writes": sum(v for k, v in counts.items() if k.split(" ", 1)[0] in WRITE_VERBS)}


class Real:
    """The real kube-apiserver of tests/cluster/cluster.py (with etcd, the controller manager, kube-proxy and the
    policy engine), started here and stopped by PID, its namespaces removed, also on failure.  Its audit log records
    every request of the test user (``Cluster(audit_reads=True)``): the requests are counted there."""

    key = "real"
    label = "kube-apiserver"

    def __init__(self, args):
        # Imported here: the stand-in alone needs none of the harness.
        sys.path.insert(0, str(ROOT / "tests" / "cluster"))
        import cluster  # pylint: disable=import-error,import-outside-toplevel
        self.C = cluster  # pylint: disable=invalid-name
        self.cluster = cluster.Cluster(args.state, args.bindir or cluster.default_bindir(), audit_reads=True)
        self.cluster.start(wait=args.wait)  # stops what it started if it fails
        try:
            pins = cluster.read_pins()
        except BaseException:
            self.cluster.stop()
            raise
        self.note = "kube-apiserver %s with etcd %s (tests/cluster/, started in %.1f s)" % (
            pins["KUBERNETES_VERSION"], pins["ETCD_VERSION"], self.cluster.start_seconds)
        self.kubeconfig = str(self.cluster.kubeconfig)
        self.api = self.cluster.api
        self.offset = 0
        self.owned = {}  # (kind, name) of every Namespace and cluster-scoped object a run may have made

    def served(self, manifest):
        """Whether the server serves the manifest's kind (AdminNetworkPolicy needs a CRD the harness does not
        install)."""
        group_version = manifest["apiVersion"]
        path = "/api/v1" if group_version == "v1" else "/apis/" + group_version
        status, found = self.api.request("GET", path)
        return status == 200 and any(r.get("kind") == manifest["kind"] for r in found.get("resources", []))

    def use(self, manifests):
        """The manifests minus the kinds this server does not serve: a ``kubernetes.core.k8s`` task would fail on
        them, where zone_policies leaves out an optional kind the cluster does not serve when it is a no-op (the
        ``warn`` AdminNetworkPolicy of the guardrails)."""
        kinds = {}
        for m in manifests:
            key = (m["apiVersion"], m["kind"])
            if key not in kinds:
                kinds[key] = self.served(m)
        left = sorted("%s %s" % (m["kind"], m["metadata"]["name"]) for m in manifests
                      if not kinds[(m["apiVersion"], m["kind"])])
        if left:
            print("       (left out of the baselines' and floors' manifests, not served by this cluster: %s)"
                  % ", ".join(left))
        for m in manifests:
            if kinds[(m["apiVersion"], m["kind"])] and (m["kind"] == "Namespace" or "namespace" not in m["metadata"]):
                self.owned[(m["apiVersion"], m["kind"], m["metadata"]["name"])] = True
        return [m for m in manifests if kinds[(m["apiVersion"], m["kind"])]]

    def _path(self, api_version, kind, name):
        base = "/api/v1" if api_version == "v1" else "/apis/" + api_version
        plural = {"Namespace": "namespaces", "ValidatingAdmissionPolicy": "validatingadmissionpolicies",
                  "ValidatingAdmissionPolicyBinding": "validatingadmissionpolicybindings"}[kind]
        return "%s/%s/%s" % (base, plural, name)

    def reset(self, timeout=600):
        """An empty cluster again: every Namespace and cluster-scoped object a run may have made is deleted, and the
        namespaces waited for until the namespace controller has removed them (bounded)."""
        for api_version, kind, name in sorted(self.owned):
            status, obj = self.api.request("DELETE", self._path(api_version, kind, name))
            if status not in (200, 202, 404):
                raise SystemExit("DELETE %s %s: %d %s" % (kind, name, status, obj.get("message", obj)))
        names = {name for _v, kind, name in self.owned if kind == "Namespace"}

        def gone():
            live = {n["metadata"]["name"] for n in self.api.ok("GET", "/api/v1/namespaces")["items"]}
            return not names & live
        self.cluster.wait_for("the namespace controller to remove %d namespaces" % len(names), gone, timeout, 1.0)

    def begin(self):
        self.offset = self.cluster.audit_log.stat().st_size if self.cluster.audit_log.exists() else 0

    def end(self):
        time.sleep(0.2)  # the last event's line (blocking mode writes it before the response; a margin)
        with open(self.cluster.audit_log, encoding="utf-8") as handle:
            handle.seek(self.offset)
            return audit_counts(handle.readlines(), TEST_USER)

    def stop(self):
        self.cluster.stop()


SERVERS = {"stand-in": StandIn, "real": Real}
#: The kubeconfig's user on the real server (tests/cluster/cluster.py), whose requests the audit log records.
TEST_USER = "netzone-test-admin"
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")


def _ints(text):
    return [int(s) for s in text.split(",") if s.strip()]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--server", choices=("stand-in", "real", "both"), default="both",
                        help="the test API server, the real kube-apiserver of tests/cluster/, or both (one after "
                             "the other, side by side in the output)")
    parser.add_argument("--sizes", default="20,100,300", help="zone counts (stand-in)")
    parser.add_argument("--list-sizes", default="20,100,300", help="sizes with the list baseline (stand-in)")
    parser.add_argument("--loop-sizes", default="20,100", help="sizes with the loop baseline (stand-in)")
    parser.add_argument("--real-sizes", default="20,100,300", help="zone counts (real server)")
    parser.add_argument("--real-list-sizes", default="20,100,300", help="sizes with the list baseline (real server)")
    parser.add_argument("--real-loop-sizes", default="20", help="sizes with the loop baseline (real server)")
    parser.add_argument("--repeats", type=int, default=2, help="no-op runs per method and size (median; >= 2)")
    parser.add_argument("--no-floors", action="store_true", help="do not measure the two floors")
    state = Path(os.environ.get("NETZONE_CLUSTER_STATE", "/var/tmp/netzone-cluster"))  # the harness's default
    parser.add_argument("--state", type=Path, default=state, help="real server: the harness's state directory")
    parser.add_argument("--bindir", type=Path, help="real server: the built binaries (default: tools/build_cluster.py's)")
    parser.add_argument("--wait", type=float, default=1800,
                        help="real server: wait at most this many seconds for another harness to end (one per machine)")
    args = parser.parse_args(argv)
    if args.repeats < 2:
        parser.error("--repeats must be at least 2 (medians of at least two runs per side)")
    try:
        plans = {"stand-in": (_ints(args.sizes), set(_ints(args.list_sizes)), set(_ints(args.loop_sizes))),
                 "real": (_ints(args.real_sizes), set(_ints(args.real_list_sizes)), set(_ints(args.real_loop_sizes)))}
    except ValueError as exc:
        parser.error("sizes are comma-separated zone counts: %s" % exc)
    args.servers = ["stand-in", "real"] if args.server == "both" else [args.server]
    args.plans = {k: plans[k] for k in args.servers}
    for key, (sizes, _l, _p) in args.plans.items():
        if not sizes or min(sizes) < 2:
            parser.error("%s: every size must be at least 2 zones" % ("--sizes" if key == "stand-in" else "--real-sizes"))
    return args


def speedup_line(label, speedup, repeats):
    """The closing line of one server: ``speedup`` is (ratio, faster baseline, [baselines]) or None."""
    if speedup is None:
        return ("zones no-op speedup at 100 zones (%s): not measured (100 must be among the sizes and the list or "
                "loop sizes)" % label)
    return ("zones no-op speedup at 100 zones (%s): %.1f (against %s, the faster of the baselines measured: %s; "
            "median no-op task times of %d runs per side)" % (label, speedup[0], speedup[1], ", ".join(speedup[2]),
                                                              repeats))


def bench_server(target, args, workdir, env):
    """Every size on one server, printed as it goes; returns the speedup at 100 zones (or None)."""
    sizes, list_sizes, loop_sizes = args.plans[target.key]
    print("== %s: %s" % (target.label, target.note))
    header = ("zones", "objects", "method", "run", "wall s", "task s", "writes", "requests")
    print("%-6s %-8s %-22s %-10s %8s %8s %7s   %s" % header)
    speedup_100 = None
    for size in sizes:
        # zone_policies takes the plan (its manifests, proven, and the digest it checks); the baselines the
        # same manifests (on the real server, those of a kind it serves)
        plan = build_plan(harness.zones_matrix(size), harness.INVENTORY,
                          guard_settings={"skip": ["plan", "load_balancers"]})
        manifests = target.use(plan["manifests"])
        varsfile = workdir / ("vars-%s-%d.json" % (target.key, size))
        # the zones role hands zone_policies the compact plan (netzone.segmentation.plan_compact)
        varsfile.write_text(json.dumps({"plan": compact(plan), "manifests": manifests, "kubeconfig": target.kubeconfig}))
        results = {"zone_policies": measure(target, workdir, ZONE_POLICIES, varsfile, env, args.repeats)}
        if size in list_sizes:
            results["k8s list"] = measure(target, workdir, K8S_LIST, varsfile, env, args.repeats)
        if size in loop_sizes:
            results["k8s loop"] = measure(target, workdir, K8S_LOOP, varsfile, env, args.repeats)
        floors = {}
        if not args.no_floors:
            for name, text in FLOORS.items():
                floors[name] = measure(target, workdir, text, varsfile, env, args.repeats)
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
    return speedup_100


def main(argv=None):
    args = parse_args(argv)
    env = environment()
    lines = []
    with tempfile.TemporaryDirectory(prefix="bench-zones-") as tmp:
        workdir = Path(tmp)
        (workdir / "library").mkdir()
        (workdir / "library" / "bench_pass_manifests.py").write_text(_PASS_MODULE)
        for key in args.servers:
            target = None
            try:
                target = SERVERS[key](args)
                lines.append(speedup_line(target.label, bench_server(target, args, workdir, env), args.repeats))
            finally:
                if target is not None:
                    target.stop()
            print(lines[-1])
            sys.stdout.flush()
    if len(lines) > 1:
        print("== side by side")
        for line in lines:
            print(line)


if __name__ == "__main__":
    main()
