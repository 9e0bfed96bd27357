#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The live dataplane proof (``make cluster-proof``).

Start the real cluster (tests/cluster/cluster.py), apply the example matrix with the zones role, put a probe
pod in every zone namespace and a DNS pod in kube-system, then send real packets: from every zone pod and every
outside peer to every zone pod, every peer, the DNS Service and 169.254.169.254, on every service port of the
matrix and the port just above each one. Each probe's outcome is compared with what the matrix says (read here,
independently of the collection's code) and with the collection's evaluator on the live objects.

Then the two faults the proof must catch: a hand-added allow-all NetworkPolicy in db, and a deleted
default-deny; each must show up as mismatches, and the zones role run again must bring the count back to 0.

Ends with ``live dataplane: N probes, M mismatches (...)``; exit status 0 only if the clean runs have no
mismatch and each fault has at least one.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

import cluster as C  # noqa: E402  pylint: disable=wrong-import-position
import contract  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.netzone.segmentation.plugins.module_utils._model.evaluate import Engine  # noqa: E402
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import (  # noqa: E402
    default_matrix, normalize_matrix)

INVENTORY = {"groups": {"loadbalancers": ["lb1", "lb2"], "microk8s": ["node1"]},
             "addresses": {"lb1": "203.0.113.10", "lb2": "203.0.113.11", "node1": "198.51.100.21"}}
# Outside peers: namespaces holding these addresses, linked only to the node namespace (no link to the
# machine's own network at all, so no packet can leave): the inventory's hosts, one address of external_db,
# one of the internet peer (a public address that exists only inside that namespace) and the cloud metadata address.
PEERS = {"lb1": "203.0.113.10", "lb2": "203.0.113.11", "api-server": "198.51.100.21",
         "external-db": "192.0.2.10", "internet": "11.22.33.44", "metadata": "169.254.169.254"}
PROBE_TIMEOUT = 1.0
ZONE_POD = "probe"
#: In an internet-egress zone whose matrix names the egress proxies' labels (guards.internet_egress_pods), a second
#: pod carries them: it alone may reach outside; the plain probe pod there must not.
EGRESS_POD = "probe-egress"
DNS_POD = ("kube-system", "coredns-probe")


def probe_ports(matrix):
    """Every service port of the matrix and the port just above each range: [(port, proto)]."""
    ports = set()
    for entries in list(matrix["services"].values()) + [matrix["cluster"]["dns"]["ports"]]:
        for e in entries:
            ports.add((e["port"], e["protocol"]))
            ports.add(((e["end_port"] or e["port"]) + 1, e["protocol"]))
    return sorted(ports, key=lambda p: (p[1], p[0]))


# --- what the matrix says (read directly from the normalized matrix) ---------------------------------------

def peers_of(matrix, addr):
    ip = ipaddress.ip_address(addr)
    out = set()
    for name, peer in matrix["peers"].items():
        excluded = [ipaddress.ip_network(x["cidr"]) for x in peer.get("exclusions") or []]
        for block in peer["cidrs"]:
            if ip in ipaddress.ip_network(block["cidr"]) and not any(
                    ip in ipaddress.ip_network(e) for e in block["except"]) and not any(ip in n for n in excluded):
                out.add(name)
    return out


def matrix_allows(matrix, src, dst, port, proto):
    """``src``/``dst``: ("zone", name) | ("zone", name, "egress") | ("dns",) | ("peer", {names}).

    From an internet-egress zone with ``guards.internet_egress_pods``, only the egress proxies (the third form)
    reach peers outside the cluster."""
    def covered(services):
        for name in services:
            for e in matrix["services"][name]:
                if e["protocol"] == proto and e["port"] <= port <= (e["end_port"] or e["port"]):
                    return True
        return False

    def flows(a, b):
        return [s for f in matrix["flows"] if f["from"] == a and f["to"] == b for s in f["services"]]

    if src[0] == "zone" and dst[0] == "zone":
        return covered(flows(src[1], dst[1]))
    if src[0] == "zone" and dst[0] == "dns":
        return any(e["protocol"] == proto and e["port"] <= port <= (e["end_port"] or e["port"])
                   for e in matrix["cluster"]["dns"]["ports"])
    if src[0] == "zone" and dst[0] == "peer":
        guards = matrix.get("guards") or {}
        if (src[1] in (guards.get("internet_egress_zones") or []) and guards.get("internet_egress_pods")
                and src[2:] != ("egress",)):
            return False
        return any(covered(flows(src[1], p)) for p in dst[1])
    if src[0] == "peer" and dst[0] == "zone":
        return any(covered(flows(p, dst[1])) for p in src[1])
    return False


# --- the run --------------------------------------------------------------------------------------------------

class Proof:
    def __init__(self, cluster: C.Cluster, matrix):
        self.cluster = cluster
        self.api = cluster.api
        self.matrix = matrix
        self.ports = probe_ports(matrix)
        self.zone_ns = {z: spec["namespace"] for z, spec in matrix["zones"].items()}
        guards = matrix.get("guards") or {}
        egress_labels = guards.get("internet_egress_pods") or {}
        # (zone, namespace, pod name, labels, class): one probe pod per zone, plus an egress proxy's stand-in
        self.zone_pods = []
        for zone, ns in sorted(self.zone_ns.items()):
            self.zone_pods.append((zone, ns, ZONE_POD, {"app": "probe", "zone": zone}, ("zone", zone)))
            if egress_labels and zone in (guards.get("internet_egress_zones") or []):
                self.zone_pods.append((zone, ns, EGRESS_POD, dict(egress_labels, app="probe-egress", zone=zone),
                                       ("zone", zone, "egress")))

    def run_role(self, label, expect_failure=None):
        env = dict(os.environ)
        cmd = [os.environ.get("ANSIBLE_PLAYBOOK", "ansible-playbook"), "-i", str(HERE / "inventory.yml"),
               str(HERE / "zones.yml"),
               "-e", json.dumps({"cluster_kubeconfig": str(self.cluster.kubeconfig), "cluster_inventory": INVENTORY})]
        t0 = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900, cwd=str(ROOT), check=False)
        log = self.cluster.state / "logs" / ("zones-%s.log" % label)
        log.write_text(proc.stdout + proc.stderr)
        if expect_failure is not None:
            if proc.returncode == 0 or expect_failure not in proc.stdout:
                raise C.ClusterError("zones role (%s) was expected to fail naming %r; see %s" % (label, expect_failure, log))
            print("zones role (%s): failed as it must, naming %s" % (label, expect_failure))
            return proc.stdout
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
            raise C.ClusterError("zones role (%s) failed, exit %d; see %s\n%s" % (label, proc.returncode, log, tail))
        recap = [l for l in proc.stdout.splitlines() if "changed=" in l]
        print("zones role (%s): %.1fs  %s" % (label, time.monotonic() - t0, recap[-1].strip() if recap else ""))
        return proc.stdout

    @staticmethod
    def recap_changed(stdout):
        recap = [l for l in stdout.splitlines() if "changed=" in l]
        return int(recap[-1].split("changed=")[1].split()[0]) if recap else -1

    def has_policy(self, namespace, name):
        return self.api.request("GET", "/apis/networking.k8s.io/v1/namespaces/%s/networkpolicies/%s"
                                % (namespace, name))[0] == 200

    def admission_checks(self):
        """The real server compiled the collection's ValidatingAdmissionPolicies (no type-checking warning) and
        they refuse a NodePort, a LoadBalancer and an externalIPs Service in a zone with the server's message."""
        def checked():
            """Every policy type-checked by the controller manager at its current generation (else None)."""
            items = self.api.ok("GET", "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies")["items"]
            return items if items and all((v.get("status") or {}).get("observedGeneration") == v["metadata"]["generation"]
                                          and "typeChecking" in v["status"] for v in items) else None
        vaps = self.cluster.wait_for("the type checking of the ValidatingAdmissionPolicies", checked, 60)
        problems = []
        for vap in vaps:
            warnings = ((vap.get("status") or {}).get("typeChecking") or {}).get("expressionWarnings") or []
            for w in warnings:
                problems.append("%s %s: %s" % (vap["metadata"]["name"], w.get("fieldRef"), w.get("warning")))
        print("admission: %d ValidatingAdmissionPolicies compiled by kube-apiserver (%s), %d type-checking warnings"
              % (len(vaps), ", ".join(v["metadata"]["name"] for v in vaps), len(problems)))
        for p in problems:
            print("   " + p)
        ns = self.zone_ns["frontend"]
        cases = {"NodePort": {"type": "NodePort"}, "LoadBalancer": {"type": "LoadBalancer"},
                 "externalIPs": {"externalIPs": ["203.0.113.99"]}}
        refused = 0
        for label, extra in cases.items():
            svc = {"apiVersion": "v1", "kind": "Service",
                   "metadata": {"name": "guard-" + label.lower(), "namespace": ns},
                   "spec": dict({"selector": {"app": "probe"}, "ports": [{"port": 80, "protocol": "TCP"}]}, **extra)}
            deadline = time.monotonic() + 20  # the policy's binding reaches the admission plugin asynchronously
            while True:
                status, obj = self.api.request("POST", "/api/v1/namespaces/%s/services" % ns, svc)
                if status < 300:
                    self.api.request("DELETE", "/api/v1/namespaces/%s/services/%s" % (ns, svc["metadata"]["name"]))
                    if time.monotonic() < deadline:
                        time.sleep(1)
                        continue
                    print("   %s Service in %s: ACCEPTED (expected a refusal)" % (label, ns))
                    break
                refused += 1
                print("   %s Service in %s refused: %d %s" % (label, ns, status, obj.get("message", "")[:200]))
                break
        return not problems and refused == len(cases)

    def pod_spec(self, namespace, name, labels, ports):
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": namespace, "labels": labels},
                "spec": {"nodeName": C.NODE, "automountServiceAccountToken": False,
                         "securityContext": {"runAsNonRoot": True, "runAsUser": 65534,
                                             "seccompProfile": {"type": "RuntimeDefault"}},
                         "containers": [{"name": "responder", "image": "registry.k8s.io/pause:3.10",
                                         "ports": [{"containerPort": p, "protocol": proto} for p, proto in ports],
                                         "securityContext": {"allowPrivilegeEscalation": False,
                                                             "capabilities": {"drop": ["ALL"]}}}]}}

    def dns_ports(self):
        """The DNS ports of the matrix and the port just above each (the DNS pod listens on all of them)."""
        ports = set()
        for e in self.matrix["cluster"]["dns"]["ports"]:
            ports.add((e["port"], e["protocol"]))
            ports.add(((e["end_port"] or e["port"]) + 1, e["protocol"]))
        return sorted(ports)

    def create_dns_pod(self):
        """The DNS addon's part: a pod with the kube-dns labels behind the kube-dns Service (before the role,
        whose guard refuses a plan that would leave the zones without DNS)."""
        dns_ports = self.dns_ports()
        self.cluster.wait_for("ServiceAccount default in kube-system", lambda: self.api.request(
            "GET", "/api/v1/namespaces/kube-system/serviceaccounts/default")[0] == 200, 60)
        self.api.apply("/api/v1/namespaces/kube-system/pods", self.pod_spec(
            DNS_POD[0], DNS_POD[1], dict(self.matrix["cluster"]["dns"]["pod_labels"]), dns_ports))
        self.cluster.wait_pods_ready([DNS_POD], 60)

        def dns_endpoints_ready():
            _s, obj = self.api.request("GET", "/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices"
                                       "?labelSelector=kubernetes.io%2Fservice-name%3Dkube-dns")
            return any(ep.get("conditions", {}).get("ready") for s in obj.get("items", [])
                       for ep in s.get("endpoints") or [])
        self.cluster.wait_for("the kube-dns EndpointSlice", dns_endpoints_ready, 60)

        def dns_rule():
            nat = C.nsexec(C.NODE_NS, ["iptables-save", "-t", "nat"], check=False).stdout
            return C.DNS_SERVICE_IP in nat and "KUBE-SEP" in nat
        self.cluster.wait_for("kube-proxy's rules for the kube-dns Service", dns_rule, 60)

    def create_zone_pods(self):
        keys = []
        for zone, ns, name, labels, _cls in self.zone_pods:
            self.cluster.wait_for("ServiceAccount default in %s" % ns, lambda ns=ns: self.api.request(
                "GET", "/api/v1/namespaces/%s/serviceaccounts/default" % ns)[0] == 200, 60)
            self.api.apply("/api/v1/namespaces/%s/pods" % ns, self.pod_spec(ns, name, labels, self.ports))
            keys.append((ns, name))
        self.cluster.wait_pods_ready(keys, 60)

    # -- the probes --

    def targets(self):
        """{source name: (netns, src class, src endpoint, [probe])}."""
        pods = dict(self.cluster.pods)
        dsts = []  # (name, class, evaluator endpoint, address, identity, ports)
        for zone, ns, name, _labels, cls in self.zone_pods:
            info = pods[(ns, name)]
            dname = zone if name == ZONE_POD else "%s:%s" % (zone, name)
            dsts.append((dname, ("zone", zone), "%s/%s" % (ns, name), info["ip"], "%s/%s" % (ns, name), self.ports))
        for peer, addr in sorted(PEERS.items()):
            dsts.append((peer, ("peer", frozenset(peers_of(self.matrix, addr))), "ip:" + addr, addr,
                         "peer/" + peer, self.ports))
        # DNS: through the kube-dns Service (kube-proxy's DNAT, then the policies) on the Service's ports, and
        # the DNS pod directly on those ports and the port just above each.
        dns_ports = self.dns_ports()
        dns_ref = "%s/%s" % DNS_POD
        dsts.append(("kube-dns-service", ("dns",), dns_ref, C.DNS_SERVICE_IP, dns_ref,
                     [(e["port"], e["protocol"]) for e in self.matrix["cluster"]["dns"]["ports"]]))
        dsts.append(("kube-dns-pod", ("dns",), dns_ref, pods[DNS_POD]["ip"], dns_ref, dns_ports))

        sources = {}
        for zone, ns, name, _labels, cls in self.zone_pods:
            sname = zone if name == ZONE_POD else "%s:%s" % (zone, name)
            sources[sname] = (pods[(ns, name)]["netns"], cls, "%s/%s" % (ns, name))
        for peer, addr in sorted(PEERS.items()):
            if peer != "metadata":
                sources[peer] = (C.NS_PREFIX + peer, ("peer", frozenset(peers_of(self.matrix, addr))), "ip:" + addr)
        plan = {}
        for sname, (netns, scls, sref) in sources.items():
            probes = []
            for dname, dcls, dref, addr, ident, ports in dsts:
                if dname == sname or (scls[0] == "peer" and dcls[0] == "peer"):
                    continue
                if scls[0] == "peer" and dcls[0] == "dns":
                    continue  # the matrix governs DNS for the zones only; kube-system is not the collection's
                for port, proto in ports:
                    probes.append({"id": len(probes), "dst": dname, "dcls": dcls, "dref": dref, "addr": addr,
                                   "ident": ident, "port": port, "proto": proto, "dns": dcls[0] == "dns" and proto == "UDP"})
            plan[sname] = (netns, scls, sref, probes)
        return plan

    def _safety_check(self, plan):
        """Every probe address must route, in the node namespace, to an interface this harness made."""
        addrs = {p["addr"] for _n, _c, _r, probes in plan.values() for p in probes}
        ours = ("cali", "nzx")
        for addr in addrs:
            if ipaddress.ip_address(addr) in ipaddress.ip_network(C.SERVICE_CIDR):
                continue  # DNATed by kube-proxy to a pod before routing
            out = C.nsexec(C.NODE_NS, ["ip", "-o", "route", "get", addr], check=False).stdout
            dev = out.split(" dev ", 1)[1].split()[0] if " dev " in out else ""
            if not dev.startswith(ours) and " local " not in " " + out:
                raise C.ClusterError("refusing to probe %s: in %s it routes via %r, not a link of the harness"
                                     % (addr, C.NODE_NS, out.strip()))
        links = C.nsexec(C.NODE_NS, ["ip", "-o", "link"], check=False).stdout
        for line in links.splitlines():
            name = line.split(":")[1].strip().split("@")[0]
            if name != "lo" and not name.startswith(ours):
                raise C.ClusterError("unexpected interface %r in %s" % (name, C.NODE_NS))

    def probe_all(self, label):
        plan = self.targets()
        self._safety_check(plan)
        engine = self.engine()
        t0 = time.monotonic()

        def run_source(item):
            sname, (netns, _scls, _sref, probes) = item
            wire = [{k: p[k] for k in ("id", "addr", "port", "proto", "dns")} for p in probes]
            proc = subprocess.run(["ip", "netns", "exec", netns, sys.executable, str(HERE / "podnet.py"), "probe",
                                   "--timeout", str(PROBE_TIMEOUT), "--parallel", "48"],
                                  input=json.dumps(wire), capture_output=True, text=True, timeout=300, check=False)
            if proc.returncode != 0:
                raise C.ClusterError("probes from %s failed: %s" % (sname, proc.stderr.strip()))
            return sname, {r["id"]: r for r in json.loads(proc.stdout)}

        with ThreadPoolExecutor(max_workers=3) as pool:
            results = dict(pool.map(run_source, plan.items()))
        seconds = time.monotonic() - t0
        rows, total = [], 0
        for sname, (_netns, scls, sref, probes) in plan.items():
            for p in probes:
                total += 1
                r = results[sname][p["id"]]
                live = bool(r["ok"]) and r["answer"].startswith(p["ident"] + " ")
                want = matrix_allows(self.matrix, scls, p["dcls"], p["port"], p["proto"])
                evaluated = bool(engine.verdict(sref, p["dref"], p["port"], p["proto"]))
                if live != want or live != evaluated or (r["ok"] and not live):
                    rows.append({"from": sname, "to": p["dst"], "port": "%d/%s" % (p["port"], p["proto"]),
                                 "live": live, "matrix": want, "evaluator": evaluated, "answer": r["answer"]})
        return {"label": label, "probes": total, "mismatches": rows, "seconds": round(seconds, 1)}

    def engine(self):
        namespaces = {n["metadata"]["name"]: n["metadata"].get("labels") or {}
                      for n in self.api.ok("GET", "/api/v1/namespaces")["items"]}
        pods = []
        for pod in self.api.ok("GET", "/api/v1/pods")["items"]:
            ip = (pod.get("status") or {}).get("podIP")
            if not ip:
                continue
            ports = [{"name": p.get("name"), "containerPort": p["containerPort"], "protocol": p.get("protocol", "TCP")}
                     for c in pod["spec"]["containers"] for p in c.get("ports") or []]
            pods.append({"namespace": pod["metadata"]["namespace"], "name": pod["metadata"]["name"],
                         "labels": pod["metadata"].get("labels") or {}, "ip": ip, "ports": ports})
        policies = self.api.ok("GET", "/apis/networking.k8s.io/v1/networkpolicies")["items"]
        return Engine(namespaces, pods, policies)

    def wait_dataplane(self, seconds=4.0):
        """kube-router applies a policy change on the watch event; give it a moment, bounded."""
        time.sleep(seconds)


def prepare(cluster: C.Cluster) -> Proof:
    """On a started cluster, before the role: the outside peers (answering on every probe port) and the DNS pod,
    for the example matrix."""
    matrix = normalize_matrix(default_matrix(), INVENTORY)
    ports = probe_ports(matrix)
    for peer, addr in PEERS.items():
        cluster.add_peer(peer, addr, tcp=sorted({p for p, proto in ports if proto == "TCP"}),
                         udp=sorted({p for p, proto in ports if proto == "UDP"}))
    proof = Proof(cluster, matrix)
    proof.create_dns_pod()
    return proof


def report(result):
    rows = result["mismatches"]
    print("%-28s %5d probes in %5.1fs, %d mismatches" % (result["label"], result["probes"], result["seconds"], len(rows)))
    for row in rows[:15]:
        print("   %(from)s -> %(to)s %(port)s: live %(live)s, matrix %(matrix)s, evaluator %(evaluator)s (%(answer)s)" % row)
    if len(rows) > 15:
        print("   ... %d more" % (len(rows) - 15))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--state", type=Path, default=C.DEFAULT_STATE)
    ap.add_argument("--bindir", type=Path)
    ap.add_argument("--keep", action="store_true", help="leave the cluster running (stop it with cluster.py stop)")
    ap.add_argument("--json", type=Path, help="write every run's results here")
    ap.add_argument("--wait", type=float, default=1800,
                    help="wait at most this many seconds for another harness (molecule's, another proof) to end")
    args = ap.parse_args(argv)
    started = time.monotonic()
    cluster = C.Cluster(args.state, args.bindir or C.default_bindir())
    results = []
    ok = True
    try:
        cluster.start(wait=args.wait)
        print("cluster up in %.1fs (etcd, kube-apiserver, kube-controller-manager, kube-proxy, kube-router)"
              % cluster.start_seconds)
        # The stand-in API server checked by the real one (item 5), on this cluster before the role touches it.
        _count, _diffs, unexplained = contract.run(cluster.api)
        ok &= not unexplained
        proof = prepare(cluster)
        proof.run_role("apply")
        proof.create_zone_pods()
        proof.wait_dataplane()
        clean = proof.probe_all("applied matrix")
        results.append(clean)
        report(clean)
        ok &= not clean["mismatches"]
        ok &= proof.admission_checks()

        # Fault 1: an allow-all policy in db, added by hand.
        db = proof.zone_ns["db"]
        proof.api.apply("/apis/networking.k8s.io/v1/namespaces/%s/networkpolicies" % db, {
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "hand-added-allow-all", "namespace": db},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": [{}], "egress": [{}]}})
        proof.wait_dataplane()
        fault1 = proof.probe_all("fault: allow-all in %s" % db)
        results.append(fault1)
        report(fault1)
        ok &= bool(fault1["mismatches"]) and all(
            m["live"] and not m["matrix"] and m["evaluator"] for m in fault1["mismatches"])
        # The role's own live check sees it too (it never deletes what it does not own): remove it by hand.
        proof.run_role("live check with the allow-all", expect_failure="db/hand-added-allow-all")
        proof.api.ok("DELETE", "/apis/networking.k8s.io/v1/namespaces/%s/networkpolicies/hand-added-allow-all" % db)

        # Fault 2: db's default-deny deleted. Every zone of the example matrix also has allow policies for both
        # directions that select all its pods, so the pods stay isolated: NetworkPolicy semantics make the
        # default-deny redundant here, and the packets (and the evaluator) must show no change. The role must
        # still see the drift and restore it.
        deny = "netzone-default-deny"
        proof.api.ok("DELETE", "/apis/networking.k8s.io/v1/namespaces/%s/networkpolicies/%s" % (db, deny))
        proof.wait_dataplane()
        fault2 = proof.probe_all("fault: %s/%s deleted" % (db, deny))
        results.append(fault2)
        report(fault2)
        ok &= not fault2["mismatches"]
        out = proof.run_role("restore the default-deny")
        ok &= proof.recap_changed(out) > 0 and proof.has_policy(db, deny)

        # Fault 3: db's default-deny and every ingress policy of db deleted: db is open to everyone.
        pols = proof.api.ok("GET", "/apis/networking.k8s.io/v1/namespaces/%s/networkpolicies" % db)["items"]
        gone = [p["metadata"]["name"] for p in pols
                if p["metadata"]["name"] == deny or "Ingress" in p["spec"].get("policyTypes", [])]
        for name in gone:
            proof.api.ok("DELETE", "/apis/networking.k8s.io/v1/namespaces/%s/networkpolicies/%s" % (db, name))
        proof.wait_dataplane()
        fault3 = proof.probe_all("fault: %s ingress policies deleted (%s)" % (db, ", ".join(gone)))
        results.append(fault3)
        report(fault3)
        ok &= bool(fault3["mismatches"]) and all(
            m["live"] and not m["matrix"] and m["evaluator"] and m["to"] == "db" for m in fault3["mismatches"])

        proof.run_role("restore")
        out = proof.run_role("second run")
        ok &= proof.recap_changed(out) == 0
        proof.wait_dataplane()
        final = proof.probe_all("restored by the role")
        results.append(final)
        report(final)
        ok &= not final["mismatches"]
    finally:
        if args.json:
            args.json.write_text(json.dumps(results, indent=1, default=list) + "\n")
        if not args.keep:
            cluster.stop()
    probes = sum(r["probes"] for r in results)
    mism = sum(len(r["mismatches"]) for r in results if not r["label"].startswith("fault"))
    ok &= len(results) == 5
    pins = C.read_pins()
    print("proof took %.1fs; faults caught: %s" % (time.monotonic() - started,
          ", ".join("%s (%d)" % (r["label"], len(r["mismatches"])) for r in results if r["label"].startswith("fault"))))
    print("live dataplane: %d probes, %d mismatches (kube-router %s in place of calico-felix, kube-apiserver %s)"
          % (probes, mism, pins["KUBE_ROUTER_VERSION"], pins["KUBERNETES_VERSION"]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
