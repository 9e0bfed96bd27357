#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster policy engine (module_utils/_model/cluster_policy.py) against an outside implementation: np-guard's
netpol-analyzer (its ``netpolicy eval`` command, which evaluates AdminNetworkPolicy, NetworkPolicy and
BaselineAdminNetworkPolicy from YAML files), on the same inputs, probe by probe.

Usage: ``run_npguard.py [--netpolicy PATH]`` (default ``$NETZONE_NPGUARD`` or
``/var/cache/netzone-segmentation/bin/netpolicy``; ``make npguard`` runs this script with that binary, which
it does not build: see below).  The cases: the network-policy-api conformance scenarios of tests/unit/plugins/module_utils/
test_cluster_policy.py (integration: Deny, Pass to a NetworkPolicy, Pass to the baseline; priority: Deny at 50
against Pass at 60 and at 40), and the collection's own guardrail compiled from the article's matrix (deny and warn
stages) on a probe cluster.  Prints each disagreement and a closing ``N passed, N failed`` line; exits 1 on any
disagreement outside :data:`KNOWN_DIFFERENCES` (each documented with its evidence), 2 when the binary is missing.

np-guard's Go module is not on the module proxy this project can reach; the binary used so far was built from
the project's source (tag v1.4.4) in /var/cache/netzone-segmentation/src, with GOMODCACHE and GOCACHE there too:
``go build -o /var/cache/netzone-segmentation/bin/netpolicy ./cmd/netpolicy``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "build" / "collections"))

# pylint: disable=wrong-import-position
from ansible_collections.netzone.segmentation.plugins.module_utils._model.cluster_policy import ClusterEngine  # noqa: E402
from ansible_collections.netzone.segmentation.plugins.module_utils._model.compile import compile_manifests  # noqa: E402
from ansible_collections.netzone.segmentation.plugins.module_utils._model.evaluate import Engine  # noqa: E402
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import (  # noqa: E402
    default_matrix,
    normalize_matrix,
)

V1A1 = "policy.networking.k8s.io/v1alpha1"
DEFAULT_BINARY = "/var/cache/netzone-segmentation/bin/netpolicy"
HOUSES = {"gryffindor": "harry-potter", "slytherin": "draco-malfoy", "hufflepuff": "cedric-diggory",
          "ravenclaw": "luna-lovegood"}
PORTS = (80, 8080)

#: Where np-guard and the API's definition part, with the evidence: such differences are listed and counted apart,
#: never as agreement.  (Seen with netpol-analyzer v1.4.4.)
KNOWN_DIFFERENCES = {
    "priority-pass-at-40": "np-guard lets an AdminNetworkPolicy Deny of a lower precedence (priority 50, and 70 "
                           "likewise) override a Pass of a higher one (priority 40); the API defines Pass as "
                           "skipping every further admin policy rule, and network-policy-api's conformance test "
                           "AdminNetworkPolicyPriorityField expects these connections to pass to the baseline's "
                           "Allow (tests/admin-network-policy-core-priority.go, 'Should respect ANP priority "
                           "field; thus passing both ingress and egress traffic over to BANP')",
}


def _pod_object(pod):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": pod["name"], "namespace": pod["namespace"], "labels": pod["labels"]},
            "spec": {"containers": [{"name": "c", "image": "example.invalid/c:1",
                                     "ports": [{"containerPort": p} for p in PORTS + (443,)]}]},
            "status": {"podIP": pod["ip"], "hostIP": "192.168.0.1", "phase": "Running"}}


# --- the cases -------------------------------------------------------------------------------------------------
def _houses():
    namespaces = {}
    for house in HOUSES:
        name = "network-policy-conformance-" + house
        namespaces[name] = {"conformance-house": house, "kubernetes.io/metadata.name": name}
    pods = []
    for n, (house, person) in enumerate(sorted(HOUSES.items())):
        for i in range(2):
            pods.append({"namespace": "network-policy-conformance-" + house, "name": "%s-%d" % (person, i),
                         "ip": "10.244.%d.%d" % (n, i + 10), "labels": {"conformance-house": house}})
    return namespaces, pods


def _peer(kind, house):
    if kind == "namespaces":
        return {"namespaces": {"matchLabels": {"conformance-house": house}}}
    return {"pods": {"namespaceSelector": {"matchLabels": {"conformance-house": house}},
                     "podSelector": {"matchLabels": {"conformance-house": house}}}}


def _admin(name, priority, subject, action_in, action_out, peer, kind="AdminNetworkPolicy"):
    spec = {"subject": subject,
            "ingress": [{"name": "in", "action": action_in, "from": [_peer(peer, "slytherin")]}],
            "egress": [{"name": "out", "action": action_out, "to": [_peer(peer, "slytherin")]}]}
    if priority is not None:
        spec["priority"] = priority
    return {"apiVersion": V1A1, "kind": kind, "metadata": {"name": name}, "spec": spec}


def cases():
    """``{name: (namespaces, pods, netpols, admin_policies, probes)}``; a probe is ``(src, dst, port)``."""
    out = {}
    namespaces, pods = _houses()
    refs = ["%s/%s" % (p["namespace"], p["name"]) for p in pods]
    house_probes = [(s, d, port) for s in refs for d in refs if s != d for port in PORTS]
    ns_subject = {"namespaces": {"matchLabels": {"conformance-house": "gryffindor"}}}
    pod_subject = {"pods": {"namespaceSelector": {"matchLabels": {"conformance-house": "gryffindor"}},
                            "podSelector": {"matchLabels": {"conformance-house": "gryffindor"}}}}
    slytherin = {"namespaceSelector": {"matchLabels": {"conformance-house": "slytherin"}}}
    netpol = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
              "metadata": {"name": "allow-gress-from-to-slytherin-to-gryffindor",
                           "namespace": "network-policy-conformance-gryffindor"},
              "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"],
                       "ingress": [{"from": [slytherin]}], "egress": [{"to": [slytherin]}]}}
    banp_deny = _admin("default", None, ns_subject, "Deny", "Deny", "namespaces", "BaselineAdminNetworkPolicy")
    for label, action, with_np in (("integration-deny", "Deny", True), ("integration-pass-np", "Pass", True),
                                   ("integration-pass-banp", "Pass", False)):
        out[label] = (namespaces, pods, [netpol] if with_np else [],
                      [_admin("pass-example", 10, ns_subject, action, action, "namespaces"), banp_deny], house_probes)
    banp_allow = _admin("default", None, pod_subject, "Allow", "Allow", "pods", "BaselineAdminNetworkPolicy")
    for pass_priority in (60, 40):
        out["priority-pass-at-%d" % pass_priority] = (namespaces, pods, [], [
            _admin("priority-50-example", 50, pod_subject, "Deny", "Deny", "pods"),
            _admin("old-priority-60-new-priority-40-example", pass_priority, pod_subject, "Pass", "Pass", "pods"),
            banp_allow], house_probes)
    inventory = {"groups": {"loadbalancers": ["lb1"], "microk8s": ["n1"]},
                 "addresses": {"lb1": "10.0.0.11", "n1": "10.0.0.21"}}
    for stage in ("deny", "warn"):
        raw = default_matrix()
        raw.setdefault("guards", {}).update(unmanaged_internet=stage, unmanaged_exempt_namespaces=["monitoring"])
        matrix = normalize_matrix(raw, inventory)
        manifests = compile_manifests(matrix)
        names = sorted({"kube-system", "monitoring", "default", "team-a"} |
                       {z["namespace"] for z in matrix["zones"].values()})
        gnamespaces = {n: {"kubernetes.io/metadata.name": n} for n in names}
        gpods = [{"namespace": n, "name": "p", "ip": "10.1.%d.5" % i, "labels": {"app": "p"}}
                 for i, n in enumerate(names)]
        grefs = ["%s/p" % n for n in names]
        outside = ("ip:1.1.1.1", "ip:93.184.216.34", "ip:10.0.0.21", "ip:192.168.7.7")
        probes = [(s, d, 443) for s in grefs for d in outside]
        probes += [(s, d, port) for s in grefs for d in grefs if s != d for port in (443, 5432)]
        out["guardrail-" + stage] = (gnamespaces, gpods, [o for o in manifests if o["kind"] == "NetworkPolicy"],
                                     [o for o in manifests if o["kind"] == "AdminNetworkPolicy"], probes)
    return out


# --- running both ----------------------------------------------------------------------------------------------
def _write(directory, namespaces, pods, netpols, admin):
    objects = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n, "labels": labels}}
               for n, labels in sorted(namespaces.items())]
    objects += [_pod_object(p) for p in pods]
    with open(os.path.join(directory, "pods.yaml"), "w", encoding="utf-8") as handle:
        yaml.safe_dump_all(objects, handle, sort_keys=False)
    with open(os.path.join(directory, "policies.yaml"), "w", encoding="utf-8") as handle:
        yaml.safe_dump_all(list(netpols) + list(admin), handle, sort_keys=False)


def _npguard(binary, directory, src, dst, port):
    namespace, name = src.split("/")
    args = [binary, "eval", "--dirpath", directory, "-n", namespace, "-s", name, "-p", str(port), "--protocol", "TCP"]
    if dst.startswith("ip:"):
        args += ["--destination-ip", dst[3:]]
    else:
        dns, dname = dst.split("/")
        args += ["--destination-namespace", dns, "-d", dname]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    text = (done.stdout + done.stderr).strip()
    answers = [line.split()[-1].lower() for line in text.splitlines() if " => " in line and " over " in line]
    if done.returncode != 0 or len(answers) != 1 or answers[0] not in ("true", "false"):
        raise RuntimeError("netpolicy %s: exit %d: %s" % (" ".join(args[1:]), done.returncode, text[-400:]))
    # what np-guard says besides the answer (e.g. that it ignores IPv6 networks), without its timestamp
    notes = {line.split(" ", 2)[-1] for line in text.splitlines() if " => " not in line}
    return answers[0] == "true", notes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--netpolicy", default=os.environ.get("NETZONE_NPGUARD") or DEFAULT_BINARY)
    parser.add_argument("--case", action="append", help="only these cases")
    opts = parser.parse_args(argv)
    if not os.access(opts.netpolicy, os.X_OK):
        print("np-guard's netpolicy is not at %s: build it with `make npguard`" % opts.netpolicy)
        return 2
    passed = failed = known = 0
    for name, (namespaces, pods, netpols, admin, probes) in sorted(cases().items()):
        if opts.case and name not in opts.case:
            continue
        engine = ClusterEngine(Engine(namespaces, pods, netpols), admin)
        case_failed = 0
        notes = set()
        with tempfile.TemporaryDirectory(prefix="netzone-npguard-") as directory:
            _write(directory, namespaces, pods, netpols, admin)
            for src, dst, port in probes:
                ours = engine.verdict(src, dst, port).allowed
                theirs, said = _npguard(opts.netpolicy, directory, src, dst, port)
                notes |= said
                if ours == theirs:
                    passed += 1
                elif name in KNOWN_DIFFERENCES:
                    known += 1
                    case_failed += 1
                else:
                    failed += 1
                    case_failed += 1
                    print("DIFFER %s: %s -> %s TCP/%d: ours %s, np-guard %s (%s)" % (
                        name, src, dst, port, ours, theirs, engine.verdict(src, dst, port).explain()))
        print("%-28s %4d probes, %d differ" % (name, len(probes), case_failed))
        if case_failed and name in KNOWN_DIFFERENCES:
            print("    known difference: %s" % KNOWN_DIFFERENCES[name])
        for note in sorted(notes):
            print("    np-guard: %s" % note)
    print("np-guard: %d probes agree, %d differ where the difference is known (above), %d differ otherwise"
          % (passed, known, failed))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
