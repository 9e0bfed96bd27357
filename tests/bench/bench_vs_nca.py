# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: the collection's NetworkPolicy evaluation beside np-guard's network-config-analyzer (NCA).

    bench_vs_nca.py [--rounds N] [--nca-cap SECONDS] [--no-large]

What both sides do, on the same generated cluster (own generator below: 20 zone namespaces x 25 pods, a DNS
pod in kube-system, the policies a zone segmentation writes plus 100 extra policies of varied shapes: 501
pods):

* **NCA** (``network-config-analyzer==2.1.0``, installed by this script into its own virtualenv under
  ``build/nca-venv``): ``nca --connectivity policies.yaml --pod_list pods.yaml --ns_list namespaces.yaml
  --output_format txt_no_fw_rules --output_endpoints pods``: its full connectivity map, every pod pair with
  its allowed protocols and ports.  Timed as the whole command: CPU seconds of the child process (steadier
  than wall clock on a shared host; wall clock is printed too), interpreter start and YAML reading included.
* **netzone**: ``tests/conformance/run_netpol.py`` on one case file in the conformance format holding the same
  namespaces, pods and policies (the same objects, dumped once) and 20,000 probes whose expectations come
  from NCA's output (sampled uniformly over pod pairs and port intervals).  Timed the same way.  It
  evaluates every pod pair on every probed port (grouped) and checks the 20,000 probes; it passes only if
  every probe agrees with NCA.

Then, untimed, every verdict is compared: for every ordered pod pair and both ends of every port interval
of every protocol (cut at every port and endPort + 1 of the policies), NCA's answer against the engine's.
The line ``netpol vs NCA at 501 pods: N× faster, verdicts identical: yes|no`` sums it up (the ratio of CPU
seconds, median of the paired rounds; ``--rounds``, default 3).  Last, the collection alone at 5,000 pods
(same generator, 200 zones, 1,000 extra policies: the engine in process, every ordered pod pair on both
ends of every port interval); NCA gets the same files with a wall-clock cap (``--nca-cap``, default 300 s)
and is reported as capped when it does not finish.

NCA 2.1.0 mis-scopes a peer that combines a ``namespaceSelector`` with a ``podSelector`` using
``Exists``/``DoesNotExist`` (K8sPolicyYamlParser.py:148), so the generator never writes that shape.  Pods get
addresses in 10.1.0.0/16 and the ipBlocks stay outside it (NCA does not match pod addresses with ipBlocks).
All figures come from this run; nothing is asserted on time.
"""

from __future__ import annotations

import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "build", "collections"))

from ansible_collections.netzone.segmentation.plugins.module_utils._model.evaluate import Engine  # noqa: E402

NCA_VERSION = "network-config-analyzer==2.1.0"
NCA_VENV = os.path.join(REPO, "build", "nca-venv")
NCA = os.path.join(NCA_VENV, "bin", "nca")
RUNNER = os.path.join(REPO, "tests", "conformance", "run_netpol.py")
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
APPS = ["web", "api", "worker", "cache", "db"]
SERVICES = [[{"port": 80}, {"port": 443}], [{"port": 8080, "endPort": 8090}], [{"protocol": "UDP", "port": 5000, "endPort": 5010}],
            [{"port": 5432}], [{"protocol": "SCTP", "port": 2905}], [{"port": 9100, "endPort": 9110}, {"protocol": "UDP", "port": 9120}]]
PROTOCOLS = ("TCP", "UDP", "SCTP")


# --- the cluster -----------------------------------------------------------------------------------------


def _policy(name, namespace, spec):
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def _zone_policies(zones, rnd):
    """Default deny, DNS, and about three flows per zone opened on both sides."""
    out = []
    dns_peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
    for zone in zones:
        out.append(_policy("default-deny", zone, {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}))
        out.append(_policy("allow-dns", zone, {"podSelector": {}, "policyTypes": ["Egress"], "egress": [
            {"to": [dns_peer], "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}]}))
    for i, src in enumerate(zones):
        for dst in rnd.sample(zones, 3):
            ports = rnd.choice(SERVICES)
            out.append(_policy("egress-to-%s-%d" % (dst, i), src, {"podSelector": {}, "policyTypes": ["Egress"], "egress": [
                {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": dst}}, "podSelector": {}}],
                 "ports": ports}]}))
            out.append(_policy("ingress-from-%s-%d" % (src, i), dst, {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [
                {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": src}}, "podSelector": {}}],
                 "ports": ports}]}))
    return out


def _pod_selector(rnd):
    return rnd.choice([{}, {"matchLabels": {"app": rnd.choice(APPS)}},
                       {"matchExpressions": [{"key": "app", "operator": "In", "values": rnd.sample(APPS, 2)}]},
                       {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["back"]}]},
                       {"matchExpressions": [{"key": "canary", "operator": "Exists"}]}])


def _extra_peer(zones, rnd):
    kind = rnd.randrange(5)
    if kind == 0:
        return {"podSelector": _pod_selector(rnd)}
    if kind == 1:
        return {"namespaceSelector": {"matchLabels": {"tier": rnd.choice(["front", "back"])}}}
    if kind == 2:  # namespace and pod selector in one peer: matchLabels / In only (see the docstring)
        return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": rnd.choice(zones)}},
                "podSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": rnd.sample(APPS, 2)}]}}
    if kind == 3:
        return {"ipBlock": {"cidr": "192.0.2.0/24", "except": ["192.0.2.128/26"]}}
    return {"ipBlock": {"cidr": "198.51.100.0/24"}}


def _extra_ports(rnd):
    return rnd.choice([[], [{"port": rnd.choice([80, 443, 5432, 8081])}],
                       [{"port": 3000 + rnd.randrange(100), "endPort": 3100 + rnd.randrange(100)}],
                       [{"protocol": "UDP", "port": 5005, "endPort": 5020}], [{"protocol": "SCTP"}],
                       [{"port": 8085}, {"protocol": "UDP", "port": 9120}]])


def generate(n_zones=20, per_zone=25, extra=100, seed=1):
    """(namespaces {name: labels}, pods, policies) of a zone-shaped cluster."""
    rnd = random.Random(seed)
    zones = ["zone-%02d" % i for i in range(n_zones)]
    namespaces = {"kube-system": {"kubernetes.io/metadata.name": "kube-system"}}
    pods = [{"namespace": "kube-system", "name": "coredns-0", "labels": {"k8s-app": "kube-dns"}, "ip": "10.1.255.2", "ports": []}]
    seq = 0
    for i, zone in enumerate(zones):
        namespaces[zone] = {"kubernetes.io/metadata.name": zone, "zone": zone, "tier": "front" if i % 2 else "back"}
        for j in range(per_zone):
            seq += 1
            labels = {"app": APPS[j % len(APPS)], "tier": rnd.choice(["front", "back"])}
            if rnd.random() < 0.1:
                labels["canary"] = "true"
            pods.append({"namespace": zone, "name": "%s-%d" % (labels["app"], j), "labels": labels,
                         "ip": "10.1.%d.%d" % (seq // 250, seq % 250 + 1), "ports": []})
    policies = _zone_policies(zones, rnd)
    for k in range(extra):
        zone, direction = rnd.choice(zones), rnd.choice(["ingress", "egress"])
        rule = {}
        if rnd.random() < 0.85:
            rule["from" if direction == "ingress" else "to"] = [_extra_peer(zones, rnd) for _i in range(rnd.randint(1, 2))]
        ports = _extra_ports(rnd)
        if ports:
            rule["ports"] = ports
        spec = {"podSelector": _pod_selector(rnd), "policyTypes": [direction.capitalize()], direction: [rule]}
        policies.append(_policy("extra-%d" % k, zone, spec))
    return namespaces, pods, policies


# --- the files both sides read ----------------------------------------------------------------------------


def write_nca_inputs(folder, namespaces, pods, policies):
    ns_list = {"apiVersion": "v1", "kind": "NamespaceList", "items": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n, "labels": labels}} for n, labels in namespaces.items()]}
    pod_list = {"apiVersion": "v1", "kind": "PodList", "items": [
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": p["name"], "namespace": p["namespace"], "labels": p["labels"]},
         "spec": {"containers": [{"name": "main"}]}, "status": {"podIP": p["ip"]}} for p in pods]}
    pol_list = {"apiVersion": "v1", "kind": "List", "items": policies}
    paths = []
    for name, obj in (("namespaces.yaml", ns_list), ("pods.yaml", pod_list), ("policies.yaml", pol_list)):
        paths.append(os.path.join(folder, name))
        with open(paths[-1], "w", encoding="utf-8") as handle:
            yaml.dump(obj, handle, Dumper=DUMPER, sort_keys=False)
    return paths


def write_case(path, namespaces, pods, policies, probes):
    head = {"source": "generated by tests/bench/bench_vs_nca.py", "description": "zone-shaped cluster",
            "notes": ["expectations from network-config-analyzer 2.1.0"],
            "namespaces": dict((k, {"labels": v}) for k, v in namespaces.items()), "pods": pods, "policies": policies}
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(yaml.dump(head, Dumper=DUMPER, sort_keys=False))
        handle.write("probes:\n")
        handle.writelines("- {from: %s, to: %s, port: %d, protocol: %s, expect: %s}\n" % p for p in probes)


# --- NCA --------------------------------------------------------------------------------------------------


def ensure_nca():
    if os.path.exists(NCA):
        return
    subprocess.run([sys.executable, "-m", "venv", NCA_VENV], check=True)
    subprocess.run([os.path.join(NCA_VENV, "bin", "pip"), "install", "-q", NCA_VERSION], check=True)


def _child_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_nca(paths, out, cap=None):
    """(wall, CPU) seconds of one NCA run writing its connectivity map to ``out`` (None when capped)."""
    ns_path, pod_path, pol_path = paths
    cmd = [NCA, "--connectivity", pol_path, "--pod_list", pod_path, "--ns_list", ns_path,
           "--output_format", "txt_no_fw_rules", "--output_endpoints", "pods", "--file_out", out]
    start, cpu = time.perf_counter(), _child_cpu()
    try:
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=cap)
    except subprocess.TimeoutExpired:
        return None
    return time.perf_counter() - start, _child_cpu() - cpu


_LINE = re.compile(r"^(\S+) => (\S+) : (.*)$")


def parse_nca(path):
    """{(src, dst): {protocol: list of (low, high)}}, with None for "All connections"."""
    found = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            match = _LINE.match(line.strip())
            if not match or "/" not in match.group(1) or "/" not in match.group(2):
                continue
            src, dst, conns = match.groups()
            entry = found.setdefault((src, dst), {})
            if conns.strip() == "All connections":
                found[(src, dst)] = None
                continue
            if entry is None:
                continue
            for group in re.findall(r"\{([^}]*)\}", conns):
                protos, _sep, ports = group.partition("dst_ports:")
                names = [p.strip() for p in protos.replace("protocols:", "").split(",") if p.strip()]
                ranges = [tuple(int(x) for x in (r.strip().split("-") * 2)[:2]) for r in ports.split(",") if r.strip()] or [(1, 65535)]
                for name in names:
                    entry.setdefault(name, []).extend(ranges)
    return found


def nca_allows(found, src, dst, port, protocol):
    conns = found.get((src, dst), {})
    if conns is None:
        return True
    return any(low <= port <= high for low, high in conns.get(protocol, ()))


# --- the comparison ---------------------------------------------------------------------------------------


def port_probes(policies):
    """Both ends of every interval of 1-65535 per protocol, cut at every port and endPort + 1."""
    cuts = dict((p, {1, 65536, 53, 54}) for p in PROTOCOLS)
    for policy in policies:
        for direction in ("ingress", "egress"):
            for rule in policy["spec"].get(direction) or []:
                for entry in rule.get("ports") or []:
                    if isinstance(entry.get("port"), int):
                        cuts[entry.get("protocol", "TCP")].update((entry["port"], entry.get("endPort", entry["port"]) + 1))
    out = []
    for proto in PROTOCOLS:
        points = sorted(cuts[proto])
        for low, high in zip(points, points[1:]):
            out.extend(sorted(set([(low, proto), (high - 1, proto)])))
    return out


def compare_all(namespaces, pods, policies, found):
    """(verdicts compared, disagreements, first few disagreements): every ordered pod pair x every probe."""
    engine = Engine(namespaces, pods, policies)
    refs = [p.ref for p in engine.pods]
    ports = port_probes(policies)
    reach = engine.reachability(refs, refs, ports)
    compared, bad, examples = 0, 0, []
    for src, dst, port, protocol, allowed in reach.rows():
        if src == dst:
            continue
        compared += 1
        if allowed != nca_allows(found, src, dst, port, protocol):
            bad += 1
            if len(examples) < 5:
                examples.append((src, dst, port, protocol, allowed))
    return compared, bad, examples


def sample_probes(pods, policies, found, count, seed=5):
    rnd = random.Random(seed)
    refs = ["%s/%s" % (p["namespace"], p["name"]) for p in pods]
    ports = port_probes(policies)
    probes = []
    while len(probes) < count:
        src, dst = rnd.choice(refs), rnd.choice(refs)
        if src != dst:
            port, protocol = rnd.choice(ports)
            probes.append((src, dst, port, protocol, "allowed" if nca_allows(found, src, dst, port, protocol) else "denied"))
    return probes


def run_netzone(folder):
    """((wall, CPU) seconds, exit status, last output line) of one run_netpol.py run."""
    start, cpu = time.perf_counter(), _child_cpu()
    proc = subprocess.run([sys.executable, RUNNER, folder], capture_output=True, text=True, check=False)
    return (time.perf_counter() - start, _child_cpu() - cpu), proc.returncode, proc.stdout.strip().splitlines()[-1:]


def main(argv):
    rounds = int(argv[argv.index("--rounds") + 1]) if "--rounds" in argv else 3
    cap = 300.0
    if "--nca-cap" in argv:
        cap = float(argv[argv.index("--nca-cap") + 1])
    ensure_nca()
    namespaces, pods, policies = generate()
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_nca_inputs(tmp, namespaces, pods, policies)
        out = os.path.join(tmp, "nca.txt")
        nca_times = [run_nca(paths, out) for _r in range(rounds)]
        found = parse_nca(out)
        case_dir = os.path.join(tmp, "case")
        os.mkdir(case_dir)
        write_case(os.path.join(case_dir, "cluster.yaml"), namespaces, pods, policies,
                   sample_probes(pods, policies, found, 20000))
        ours = [run_netzone(case_dir) for _r in range(rounds)]
        compared, bad, examples = compare_all(namespaces, pods, policies, found)
    ratios = [n[1] / o[0][1] for n, o in zip(nca_times, ours)]
    runner_ok = all(o[1] == 0 for o in ours)
    print("cluster: %d pods, %d namespaces, %d policies (%d extra)" % (len(pods), len(namespaces), len(policies), 100))
    print("NCA --connectivity, whole command: CPU %s s, wall %s s per round" % (
        ", ".join("%.2f" % t[1] for t in nca_times), ", ".join("%.2f" % t[0] for t in nca_times)))
    print("run_netpol.py on the same objects, 20,000 probes with NCA's expectations, whole command: CPU %s s, "
          "wall %s s per round; runner: %s" % (", ".join("%.3f" % o[0][1] for o in ours),
                                               ", ".join("%.3f" % o[0][0] for o in ours),
                                               ours[-1][2][0] if ours[-1][2] else "no output"))
    print("every verdict compared: %d (ordered pod pairs x both ends of every port interval), %d disagree%s" % (
        compared, bad, (": " + "; ".join("%s -> %s %d/%s netzone %s" % e for e in examples)) if bad else ""))
    print("netpol vs NCA at %d pods: %.0f\u00d7 faster, verdicts identical: %s  (CPU seconds, median of %d paired rounds)" % (
        len(pods), statistics.median(ratios), "yes" if bad == 0 and runner_ok else "no", len(ratios)))
    sys.stdout.flush()
    if "--no-large" not in argv:
        large(cap)
    return 0


def large(cap):
    """The collection alone at 5,000 pods (200 zones x 25 pods), NCA on the same cluster with a time cap."""
    namespaces, pods, policies = generate(n_zones=200, per_zone=25, extra=1000, seed=2)
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_nca_inputs(tmp, namespaces, pods, policies)
        start = time.process_time()
        engine = Engine(namespaces, pods, policies)
        refs = [p.ref for p in engine.pods]
        reach = engine.reachability(refs, refs, port_probes(policies))
        allowed = reach.count_allowed()
        ours = time.process_time() - start
        nca = run_nca(paths, os.path.join(tmp, "nca.txt"), cap=cap)
    print("at %d pods, %d policies: netzone every ordered pod pair x %d ports in %.2f s CPU (%d allowed, in process); "
          "NCA %s" % (len(pods), len(policies), len(reach.ports), ours, allowed,
                      "%.1f s CPU" % nca[1] if nca is not None else "did not finish within its %.0f s wall-clock cap" % cap))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
