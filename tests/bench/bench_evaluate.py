# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of the NetworkPolicy engine: the grouped bulk path beside the per-pod path, like with like.

    bench_evaluate.py [--quick]

1. **The grouped path alone**, on generated clusters of 1,000 / 5,000 / 20,000 pods with 200 / 1,000 / 4,000
   policies: ``Engine`` + ``reachability`` over every ordered pod pair on 3 ports, counting the allowed
   connections from the group rows (nothing expanded).  CPU time (median of 3), peak memory (tracemalloc, a
   separate run), pod groups, and the cost per pair.  No comparison is drawn from these figures.
2. **Grouped vs per-pod, like with like**, on the 1,000-pod cluster: both sides produce the *same* 3,000
   individual verdicts (random (source, destination, port) keys, the same keys for both).  Grouped: build
   the engine, ``reachability`` over the sampled endpoints and ports, then one ``reach[key]`` lookup per key.
   Per-pod: build the engine, then one ``Engine.verdict(*key).allowed`` per key.  CPU time of each side,
   median of 5 rounds; the ratio of the medians; and whether the two lists of verdicts are identical.
3. **A ~1M-probe case** in the conformance format, run through ``tests/conformance/run_netpol.py``'s own
   code path.  Its expectations come from the independent oracle
   (``tests/unit/plugins/module_utils/netpol_oracle.py``: one connection at a time from the API reference,
   no code shared with the engine), so the runner's "N passed, 0 failed" is a comparison with the oracle.

All figures come from this run; nothing is asserted on time.
"""

from __future__ import annotations

import gc
import importlib.util
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
try:
    from ansible_collections.netzone.segmentation.plugins.module_utils._model.evaluate import Engine
except ImportError:  # run directly: use <repo>/build/collections (made by `make collection`)
    sys.path.insert(0, os.path.join(REPO, "build", "collections"))
    from ansible_collections.netzone.segmentation.plugins.module_utils._model.evaluate import Engine

sys.path.insert(0, os.path.join(REPO, "tests", "unit", "plugins", "module_utils"))
import netpol_oracle  # noqa: E402  (tests only: the independent oracle)

PORTS = [(80, "TCP"), (8080, "TCP"), (53, "UDP")]
ZONES = ["ingress", "frontend", "backend", "proxy", "db", "monitoring", "batch", "shared"]
APPS = ["web", "api", "auth", "cache", "worker", "gateway", "search", "billing", "report", "queue", "store", "static"]
TIERS = ["front", "back", "data"]


def generate(pods, policies, seed=1):
    """A cluster with namespaces per zone and team, deployments of 1-6 replicas, labels from a small
    vocabulary (plus the per-deployment pod-template-hash that real pods carry), and policies of the
    kinds a segmentation collection writes: default deny, DNS, intra-namespace app flows, cross-zone
    flows by namespace and pod selector (some with named ports and matchExpressions), ipBlocks."""
    rnd = random.Random(seed)
    n_ns = max(4, pods // 50)
    namespaces = {"kube-system": {"kubernetes.io/metadata.name": "kube-system"}}
    ns_names = []
    for i in range(n_ns):
        name = "%s-%d" % (ZONES[i % len(ZONES)], i)
        ns_names.append(name)
        namespaces[name] = {"kubernetes.io/metadata.name": name, "zone": ZONES[i % len(ZONES)], "team": "t%d" % (i % 7)}
    pod_list = [{"namespace": "kube-system", "name": "coredns-%d" % i, "labels": {"k8s-app": "kube-dns"},
                 "ip": "10.1.255.%d" % (i + 1), "ports": [{"name": "dns", "containerPort": 53, "protocol": "UDP"},
                                                          {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"}]}
                for i in range(2)]
    apps_in = {}
    seq = 0
    while len(pod_list) < pods:
        ns = ns_names[rnd.randrange(n_ns)]
        app = rnd.choice(APPS[:6]) if rnd.random() < 0.7 else rnd.choice(APPS)
        apps_in.setdefault(ns, set()).add(app)
        replicas = min(rnd.randint(1, 6), pods - len(pod_list))
        template = "%08x" % rnd.getrandbits(32)
        http = 80 if app in ("web", "static", "gateway") else 8080
        for r in range(replicas):
            seq += 1
            pod_list.append({
                "namespace": ns, "name": "%s-%s-%d" % (app, template[:5], r),
                "labels": {"app": app, "tier": TIERS[APPS.index(app) % 3], "pod-template-hash": template,
                           "version": "v%d" % rnd.randint(1, 2)},
                "ip": "10.1.%d.%d" % (seq // 250, seq % 250 + 1),
                "ports": [{"name": "http", "containerPort": http, "protocol": "TCP"},
                          {"name": "metrics", "containerPort": 9100, "protocol": "TCP"}],
            })
    pol_list = []

    def add(ns, name, spec):
        pol_list.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                         "metadata": {"name": "%s-%d" % (name, len(pol_list)), "namespace": ns}, "spec": spec})

    dns = {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                   "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
           "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}
    for ns in ns_names:
        if len(pol_list) + 2 > policies:
            break
        add(ns, "default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
        add(ns, "allow-dns", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [dns]})
    while len(pol_list) < policies:
        ns = ns_names[rnd.randrange(n_ns)]
        apps = sorted(apps_in.get(ns, APPS[:1]))
        app = rnd.choice(apps)
        kind = rnd.random()
        if kind < 0.3:      # intra-namespace flow, both sides
            peer = rnd.choice(apps)
            add(ns, "in-%s-from-%s" % (app, peer), {
                "podSelector": {"matchLabels": {"app": app}}, "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": peer}}}], "ports": [{"port": "http"}]}]})
            add(ns, "out-%s-to-%s" % (peer, app), {
                "podSelector": {"matchLabels": {"app": peer}}, "policyTypes": ["Egress"],
                "egress": [{"to": [{"podSelector": {"matchLabels": {"app": app}}}], "ports": [{"port": "http"}]}]})
        elif kind < 0.65:   # cross-zone flow by namespace and pod selector, opened on both sides
            src_ns = ns_names[rnd.randrange(n_ns)]
            zone = namespaces[src_ns]["zone"]
            peer = rnd.choice(sorted(apps_in.get(src_ns, APPS[:1])))
            add(ns, "in-%s-from-%s" % (app, zone), {
                "podSelector": {"matchLabels": {"app": app}},
                "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"zone": zone}},
                                       "podSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": [peer, "gateway"]}]}}],
                             "ports": [{"port": 80}, {"port": 8080}]}]})
            add(src_ns, "out-%s-to-%s" % (peer, namespaces[ns]["zone"]), {
                "podSelector": {"matchLabels": {"app": peer}}, "policyTypes": ["Egress"],
                "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}},
                                    "podSelector": {"matchLabels": {"app": app}}}],
                            "ports": [{"port": 80}, {"port": 8080}]}]})
        elif kind < 0.8:    # egress to a zone, any pod
            zone = rnd.choice(ZONES)
            add(ns, "out-%s-to-%s" % (app, zone), {
                "podSelector": {"matchExpressions": [{"key": "tier", "operator": "In", "values": [TIERS[APPS.index(app) % 3]]},
                                                     {"key": "version", "operator": "NotIn", "values": ["v0"]}]},
                "policyTypes": ["Egress"],
                "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"zone": zone}}}], "ports": [{"port": 8080}, {"port": 80}]}]})
        elif kind < 0.9:    # outside peers by address
            add(ns, "out-%s-internet" % app, {
                "podSelector": {"matchLabels": {"app": app}}, "policyTypes": ["Egress"],
                "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}}],
                            "ports": [{"port": 443}, {"port": 80}]},
                           {"to": [{"ipBlock": {"cidr": "192.0.2.0/24"}}], "ports": [{"port": 5432}]}]})
        else:               # monitoring from a node subnet / all namespaces on the metrics port
            subnet = rnd.randrange(max(1, seq // 250 + 1))
            add(ns, "in-metrics", {
                "podSelector": {}, "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"ipBlock": {"cidr": "10.1.%d.0/24" % subnet, "except": ["10.1.%d.128/25" % subnet]}},
                                      {"namespaceSelector": {"matchLabels": {"zone": "monitoring"}}}],
                             "ports": [{"port": "metrics"}, {"port": 80, "endPort": 90}]}]})
    return namespaces, pod_list, pol_list[:policies]


def grouped(namespaces, pods, policies):
    """Engine + reachability of every ordered pod pair on PORTS; returns (engine, reach, allowed)."""
    engine = Engine(namespaces, pods, policies)
    reach = engine.reachability(None, None, PORTS)
    return engine, reach, reach.count_allowed()


def median_cpu(rounds, func, *args):
    """(median CPU seconds over ``rounds`` calls, the last result)."""
    runs = [timed(func, *args) for _round in range(rounds)]
    return statistics.median(r[0] for r in runs), runs[-1][1]


def timed(func, *args):
    """CPU seconds of one call (single-threaded work; steadier than wall time on a shared host)."""
    gc.collect()
    start = time.process_time()
    result = func(*args)
    return time.process_time() - start, result


def peak_mib(func, *args):
    gc.collect()
    tracemalloc.start()
    func(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2.0 ** 20


def load_runner():
    spec = importlib.util.spec_from_file_location("run_netpol", os.path.join(REPO, "tests", "conformance", "run_netpol.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_case(path, namespaces, pods, policies, probes):
    import yaml
    head = {"source": "generated by tests/bench/bench_evaluate.py", "description": "bench case",
            "notes": ["expectations from the independent oracle (tests/unit/plugins/module_utils/netpol_oracle.py)"],
            "namespaces": dict((k, {"labels": v}) for k, v in namespaces.items()), "pods": pods, "policies": policies}
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(yaml.dump(head, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False))
        handle.write("probes:\n")
        handle.writelines("- {from: %s, to: %s, port: %d, protocol: %s, expect: %s}\n" % p for p in probes)


def main(argv):
    quick = "--quick" in argv
    sizes = [(1000, 200), (5000, 1000), (20000, 4000)]
    if quick:
        sizes = [(300, 60), (1000, 200)]
    print("NetworkPolicy engine benchmark: every ordered pod pair x %d ports %s" % (len(PORTS), ", ".join("%d/%s" % p for p in PORTS)))
    print("%8s %8s %7s %12s %9s %10s %10s %16s %14s" % (
        "pods", "policies", "groups", "pair-ports", "cpu s", "peak MiB", "ns/pair", "ns/group-pair", "allowed"))
    results = []
    for n_pods, n_pols in sizes:
        namespaces, pods, policies = generate(n_pods, n_pols)
        seconds, (engine, reach, allowed) = median_cpu(3, grouped, namespaces, pods, policies)
        peak = peak_mib(grouped, namespaces, pods, policies)
        pairs = n_pods * (n_pods - 1) * len(PORTS)
        groups = reach.group_count
        print("%8d %8d %7d %12d %9.2f %10.1f %10.2f %16.1f %14d" % (
            n_pods, n_pols, groups, pairs, seconds, peak, seconds / pairs * 1e9,
            seconds / (groups * groups * len(PORTS)) * 1e9, allowed))
        results.append((n_pods, n_pols, groups, seconds, engine, reach))
        sys.stdout.flush()
    if len(results) >= 2:
        first, last = results[0], results[-1]
        print("growth smallest -> largest: pods x%.0f, pod pairs x%.0f, policies x%.0f, groups x%.1f, time x%.1f" % (
            last[0] / float(first[0]), (last[0] ** 2) / float(first[0] ** 2), last[1] / float(first[1]),
            last[2] / float(first[2]), last[3] / first[3]))

    # Like with like: the same sampled keys, individual verdicts from both paths, medians of 5 rounds.
    namespaces, pods, policies = generate(*sizes[0])
    rnd = random.Random(7)
    refs = ["%s/%s" % (p["namespace"], p["name"]) for p in pods]
    sample = []
    while len(sample) < 3000:
        src, dst = rnd.choice(refs), rnd.choice(refs)
        if src != dst:
            sample.append((src, dst) + rnd.choice(PORTS))

    def grouped_verdicts():
        engine = Engine(namespaces, pods, policies)
        ends = list(dict.fromkeys([k[0] for k in sample] + [k[1] for k in sample]))
        reach = engine.reachability(ends, ends, PORTS)
        return [reach[key] for key in sample]

    def per_pod_verdicts():
        engine = Engine(namespaces, pods, policies)
        return [engine.verdict(*key).allowed for key in sample]

    grouped_s, grouped_out = median_cpu(5, grouped_verdicts)
    per_pod_s, per_pod_out = median_cpu(5, per_pod_verdicts)
    print()
    print("like with like on the %d-pod cluster: %d sampled (source, destination, port) keys, individual verdicts "
          "from both paths, engine built by each, CPU median of 5 rounds:" % (sizes[0][0], len(sample)))
    print("  grouped (reachability + lookups) %.3f s, per-pod (Engine.verdict) %.3f s: grouped x%.1f faster; "
          "verdicts identical: %s" % (grouped_s, per_pod_s, per_pod_s / grouped_s, "yes" if grouped_out == per_pod_out else "no"))

    # ~1M probes in the conformance format through the runner's own code path.
    runner = load_runner()
    n_case = 1001 if not quick else 300
    namespaces, pods, policies = generate(n_case, n_case // 5, seed=3)
    oracle = netpol_oracle.Oracle(namespaces, pods, policies)
    refs = ["%s/%s" % (p["namespace"], p["name"]) for p in pods]
    oracle_s, probes = timed(lambda: [(s, d, 8080, "TCP", "allowed" if oracle.allowed(s, d, 8080, "TCP") else "denied")
                                      for s in refs for d in refs if s != d])
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "million.yaml")
        write_case(path, namespaces, pods, policies, probes)
        size = os.path.getsize(path)
        load_s, case = timed(runner.load_case, path)
        del case

        class Sink(object):
            lines = 0

            def write(self, text):
                self.lines += text.count("\n")

        sink = Sink()
        run_s, (passed, failed) = timed(runner.run_case, path, sink)
    print()
    print("conformance-format case: %d pods, %d policies, %d probes (%.0f MB), expectations from the independent "
          "oracle (%.1f s CPU to compute them)" % (len(pods), len(policies), len(probes), size / 1e6, oracle_s))
    print("  run_netpol.run_case: %.1f s CPU total (of which reading the file %.1f s), %d passed, %d failed, %.2f us/probe" % (
        run_s, load_s, passed, failed, run_s / max(1, len(probes)) * 1e6))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
