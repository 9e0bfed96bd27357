# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The argument that the proof's endpoint classes and port intervals are exhaustive, tested.

Random matrices are compiled, then the policies are disturbed (extra policies with random pod, namespace and
DNS selectors, ipBlocks and port ranges; an allow policy dropped; the DNS rule's pod selector removed).  The
proof is built from them, and an independent brute force (random pods in zone, DNS and foreign namespaces
with random labels, random addresses, random ports plus every port a service or policy names and its
neighbours; verdicts from ``netpol_oracle``, the intent read straight from the matrix) looks for connections
where the policies and the matrix disagree.  They must agree: every disagreement the brute force finds is
a mismatch of the proof (same kind, protocol, an interval holding the port, the same endpoint class), and
every mismatch of the proof is a real disagreement (its witness, re-checked with the oracle).  The same holds
for each side alone (a zone's egress towards any destination, a zone's ingress from any source, the other
side taken as allowing everything) where the connection is right end to end.

ipBlocks of the disturbing policies either contain the pod CIDR or miss it: the proof does not split pods
by address (docs/proof.md says why that is enough for the compiled policies).
"""

from __future__ import annotations

import copy
import ipaddress
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.netzone.segmentation.plugins.module_utils._model import proof as verify
from ansible_collections.netzone.segmentation.plugins.module_utils._model.compile import compile_manifests
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import NAMESPACE_NAME_LABEL, normalize_matrix
from ansible_collections.netzone.segmentation.plugins.module_utils._model.proof import representative_cluster, verify_matrix

import netpol_oracle
from matrix_strategies import valid_matrix

LABELS = [{}, {"app": "web"}, {"app": "db"}, {"app": "web", "tier": "x"}, {"k8s-app": "kube-dns"},
          {"k8s-app": "kube-dns", "app": "db"}, {"tier": "x"}]
FOREIGN = {"foreign-blue": {"team": "blue"}, "foreign-red": {"team": "red"}, "foreign-bare": {}}
POD_SELECTORS = [{}, {"matchLabels": {"app": "web"}}, {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["db"]}]},
                 {"matchExpressions": [{"key": "tier", "operator": "Exists"}]}]
PEERS = [
    {"podSelector": {"matchLabels": {"app": "db"}}},
    {"namespaceSelector": {"matchLabels": {"team": "blue"}}},
    {"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}},
    {"namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "DoesNotExist"}]},
     "podSelector": {"matchLabels": {"tier": "x"}}},
    {"ipBlock": {"cidr": "198.51.100.0/25"}},
    {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "100.64.0.0/10"]}},
    {"ipBlock": {"cidr": "100.100.0.0/16", "except": ["100.100.128.0/17"]}},
]
PORTS = [{"port": 5432}, {"port": 8000, "endPort": 8100}, {"protocol": "UDP", "port": 53}, {"protocol": "SCTP"},
         {"port": 443, "endPort": 444}]

rule = st.fixed_dictionaries({}, optional={"peers": st.lists(st.sampled_from(PEERS), min_size=1, max_size=2),
                                           "ports": st.lists(st.sampled_from(PORTS), min_size=1, max_size=2)})
extra_policy = st.tuples(st.sampled_from(POD_SELECTORS), st.sampled_from(["Ingress", "Egress"]), rule)


@st.composite
def disturbed(draw):
    """(matrix, manifests): a random compiled matrix with random disturbances."""
    matrix = normalize_matrix(draw(valid_matrix()))
    manifests = compile_manifests(matrix)
    policies = [m for m in manifests if m["kind"] == "NetworkPolicy"]
    if draw(st.integers(0, 3)) == 0:
        allow = [p for p in policies if p["metadata"]["labels"].get("netzone.io/policy-role") == "allow"]
        if allow:
            manifests.remove(draw(st.sampled_from(allow)))
    if draw(st.integers(0, 4)) == 0:
        dns = [p for p in policies if p["metadata"]["name"] == "netzone-allow-dns"]
        del draw(st.sampled_from(dns))["spec"]["egress"][0]["to"][0]["podSelector"]
    zones = sorted(matrix["zones"])
    for i, (selector, ptype, body) in enumerate(draw(st.lists(extra_policy, max_size=2))):
        namespace = matrix["zones"][draw(st.sampled_from(zones))]["namespace"]
        key = "from" if ptype == "Ingress" else "to"
        item = {}
        if "peers" in body:
            item[key] = copy.deepcopy(body["peers"])
        if "ports" in body:
            item["ports"] = copy.deepcopy(body["ports"])
        manifests.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                          "metadata": {"name": "extra-%d" % i, "namespace": namespace},
                          "spec": {"podSelector": selector, "policyTypes": [ptype], ptype.lower(): [item]}})
    return matrix, manifests, draw(st.integers(0, 2 ** 32))


# --- the intent, read straight from the matrix ------------------------------------------------------------


def _in_peer(matrix, name, address):
    ip = ipaddress.ip_address(address)
    for block in matrix["peers"][name]["cidrs"]:
        net = ipaddress.ip_network(block["cidr"])
        if ip.version == net.version and ip in net and not any(ip in ipaddress.ip_network(e) for e in block["except"]):
            return True
    return False


def _opens(matrix, services, port, protocol):
    return any(e["protocol"] == protocol and e["port"] <= port <= (e["end_port"] or e["port"])
               for name in services for e in matrix["services"][name])


def _kind(matrix, endpoint, pods):
    """("zone", z) / ("dns",) / ("dns-ns",) / ("foreign",) / ("outside", peers) for an endpoint."""
    if endpoint.startswith("ip:"):
        return ("outside", frozenset(n for n in matrix["peers"] if _in_peer(matrix, n, endpoint[3:])))
    pod = pods[endpoint]
    for zone, spec in matrix["zones"].items():
        if spec["namespace"] == pod["namespace"]:
            return ("zone", zone)
    dns = matrix["cluster"]["dns"]
    if pod["namespace"] == dns["namespace"]:
        return ("dns",) if all(pod["labels"].get(k) == v for k, v in dns["pod_labels"].items()) else ("dns-ns",)
    return ("foreign",)


def _intended(matrix, src, dst, port, protocol):
    flows = matrix["flows"]
    if src[0] == "zone" and dst[0] == "zone":
        return any(_opens(matrix, f["services"], port, protocol) for f in flows if (f["from"], f["to"]) == (src[1], dst[1]))
    if src[0] == "zone" and dst[0] == "dns":
        return any(p["protocol"] == protocol and p["port"] <= port <= (p["end_port"] or p["port"])
                   for p in matrix["cluster"]["dns"]["ports"])
    if src[0] == "zone" and dst[0] == "outside":
        return any(_opens(matrix, f["services"], port, protocol) for f in flows if f["from"] == src[1] and f["to"] in dst[1])
    if src[0] == "outside" and dst[0] == "zone":
        return any(_opens(matrix, f["services"], port, protocol) for f in flows if f["to"] == dst[1] and f["from"] in src[1])
    return False


# --- the brute force ------------------------------------------------------------------------------------


def _universe(matrix, manifests, rnd):
    namespaces = {}
    for obj in manifests:
        if obj["kind"] == "Namespace":
            namespaces[obj["metadata"]["name"]] = dict(obj["metadata"]["labels"], **{NAMESPACE_NAME_LABEL: obj["metadata"]["name"]})
    dns_ns = matrix["cluster"]["dns"]["namespace"]
    namespaces[dns_ns] = {NAMESPACE_NAME_LABEL: dns_ns}
    for name, labels in FOREIGN.items():
        namespaces[name] = dict(labels, **{NAMESPACE_NAME_LABEL: name})
    pod_net = ipaddress.ip_network(matrix["cluster"]["pod_cidr"])
    names = sorted(namespaces)
    pods = [{"namespace": ns, "name": "bf-%d" % i, "labels": dict(rnd.choice(LABELS)),
             "ip": str(pod_net.network_address + rnd.randrange(1, pod_net.num_addresses - 1)), "ports": []}
            for i, ns in enumerate([rnd.choice(names) for _i in range(16)])]
    nets = []
    for peer in PEERS:
        if "ipBlock" in peer:
            nets.extend(ipaddress.ip_network(c) for c in [peer["ipBlock"]["cidr"]] + peer["ipBlock"].get("except", []))
    for peer in matrix["peers"].values():
        for block in peer["cidrs"]:
            nets.extend(ipaddress.ip_network(c) for c in [block["cidr"]] + block["except"])
    addresses = set(["169.254.169.254"] + [str(ipaddress.ip_address(rnd.getrandbits(32))) for _i in range(3)])
    for net in nets:
        if net.version != 4:
            continue
        first, last = int(net.network_address), int(net.broadcast_address)
        values = [first + rnd.choice([-1, 0, 1]), last + rnd.choice([-1, 0, 1]), rnd.randint(first, last)]
        addresses.update(str(ipaddress.ip_address(v)) for v in values if 0 <= v < 2 ** 32)
    return namespaces, pods, ["ip:%s" % a for a in sorted(addresses)]


def _ports(matrix, manifests, rnd):
    named = set()
    for entries in matrix["services"].values():
        for e in entries:
            named.update(((e["port"], e["protocol"]), ((e["end_port"] or e["port"]), e["protocol"])))
    for obj in manifests:
        for direction in ("ingress", "egress"):
            for item in (obj.get("spec") or {}).get(direction) or []:
                for p in item.get("ports") or []:
                    if isinstance(p.get("port"), int):
                        named.update(((p["port"], p.get("protocol", "TCP")), (p.get("endPort") or p["port"], p.get("protocol", "TCP"))))
    ports = set()
    for port, proto in named:
        ports.update((q, proto) for q in (port - 1, port, port + 1) if 1 <= q <= 65535)
    for proto in ("TCP", "UDP", "SCTP"):
        ports.update((rnd.randint(1, 65535), proto) for _i in range(12))
    return sorted(ports)


def _cell_accepts(cell_name, kind):
    if kind[0] == "zone":
        return cell_name == kind[1]
    if kind[0] == "dns":
        return cell_name == "kube-dns"
    if kind[0] == "dns-ns":
        return cell_name == "@dns-namespace"
    if kind[0] == "foreign":
        return cell_name == "@unmanaged"
    if kind[1]:
        return cell_name in ("+".join(sorted(kind[1])), "@internet", "@metadata")
    return cell_name in ("@unlisted", "@private", "@internet", "@metadata")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(disturbed())
def test_proof_and_brute_force_agree(data):
    _check_agreement(*data)


def _check_agreement(matrix, manifests, seed):
    rnd = random.Random(seed)
    result = verify_matrix(matrix, manifests)
    policies = [m for m in manifests if m["kind"] == "NetworkPolicy"]

    # every mismatch of the proof is real: its witness, re-checked with the oracle
    rep = representative_cluster(matrix, manifests)
    rep_pods = dict(("%s/%s" % (p["namespace"], p["name"]), p) for p in rep["pods"])
    rep_oracle = netpol_oracle.Oracle(rep["namespaces"], rep["pods"], policies)
    for m in result["mismatches"]:
        src, dst = _kind(matrix, m["src"], rep_pods), _kind(matrix, m["dst"], rep_pods)
        if m["side"] == "end-to-end":
            verdicts = [rep_oracle.allowed(m["src"], m["dst"], p, m["protocol"]) for p in (m["port"], m["end_port"])]
        else:  # one side alone, and it is a zone's side
            assert (src if m["side"] == "egress" else dst) == ("zone", m["zone"]), m
            verdicts = [rep_oracle.side_allowed(m["side"], m["src"], m["dst"], p, m["protocol"])
                        for p in (m["port"], m["end_port"])]
        intent = _intended(matrix, src, dst, m["port"], m["protocol"])
        assert intent == (m["kind"] == "missing") and any(v != intent for v in verdicts), m

    # every disagreement the brute force finds is a mismatch of the proof
    namespaces, pods, addresses = _universe(matrix, manifests, rnd)
    by_ref = dict(("%s/%s" % (p["namespace"], p["name"]), p) for p in pods)
    oracle = netpol_oracle.Oracle(namespaces, pods, policies)
    endpoints = sorted(by_ref) + addresses
    kinds = dict((e, _kind(matrix, e, by_ref)) for e in endpoints)
    ports = _ports(matrix, manifests, rnd)
    for src in endpoints:
        for dst in endpoints:
            if src == dst or "zone" not in (kinds[src][0], kinds[dst][0]):
                continue
            for port, protocol in ports:
                intent = _intended(matrix, kinds[src], kinds[dst], port, protocol)
                kind = "missing" if intent else "extra"

                def reported(sides):
                    return any(m["kind"] == kind and m["side"] in sides and m["protocol"] == protocol
                               and m["port"] <= port <= m["end_port"] and _cell_accepts(m["from"], kinds[src])
                               and _cell_accepts(m["to"], kinds[dst]) for m in result["mismatches"])

                if oracle.allowed(src, dst, port, protocol) != intent:
                    assert reported(("end-to-end",)), (src, dst, port, protocol, kind, kinds[src], kinds[dst])
                    continue
                # right end to end: each side of a zone alone must be right too, or be reported (or the
                # interval of the cell be reported end to end, whose explanation names the sides)
                for side, owner in (("egress", kinds[src]), ("ingress", kinds[dst])):
                    if owner[0] == "zone" and oracle.side_allowed(side, src, dst, port, protocol) != intent:
                        assert reported((side, "end-to-end")), (side, src, dst, port, protocol, kind)


def _every_cell(_evaluated, classes, names, _by_group, _expected):
    return set((src, dst) for src in names for dst in names if "zone" in (classes[src][0], classes[dst][0]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(disturbed())
def test_the_shortcut_over_groups_agrees_with_every_cell_compared(data):
    """The proof compares whole rows of groups at once and looks at a cell pair by pair only where a row
    shows a wrong bit: the result (cells and mismatches) is the same as comparing every cell pair by pair."""
    matrix, manifests, _seed = data
    fast = verify_matrix(matrix, manifests)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(verify, "_suspect_cells", _every_cell)
        slow = verify_matrix(matrix, manifests)
    assert fast["mismatches"] == slow["mismatches"]
    assert fast["cells"] == slow["cells"]
    assert fast["summary"] == slow["summary"]


def test_a_missing_flow_from_a_peer_is_found_when_the_zone_also_reaches_too_much():
    """One zone, one peer, TCP 1 both ways.  The zone's ingress policy from the peer is deleted, and its DNS
    policy loses its pod selector (so every pod of the DNS namespace answers on 53).  Found by Hypothesis
    against a shortcut whose ingress-only comparison lost the missing flow: both faults are reported, whole."""
    matrix = normalize_matrix({"services": {"http": ["1/tcp"]}, "zones": {"api": {}},
                               "peers": {"lbs": {"cidrs": ["0.0.0.0/8"]}},
                               "flows": [{"from": "api", "to": "lbs", "services": ["http"]},
                                         {"from": "lbs", "to": "api", "services": ["http"]}],
                               "vhosts": [], "guards": {"internet_egress_zones": ["api"], "ingress_zone": None}})
    manifests = [m for m in compile_manifests(matrix) if m["metadata"]["name"] != "netzone-ingress-from-lbs"]
    dns = [m for m in manifests if m["metadata"]["name"] == "netzone-allow-dns"]
    assert len(dns) == 1
    del dns[0]["spec"]["egress"][0]["to"][0]["podSelector"]
    result = verify_matrix(matrix, manifests)
    assert [(m["kind"], m["side"], m["from"], m["to"], m["interval"]) for m in result["mismatches"]] == [
        ("extra", "end-to-end", "api", "@dns-namespace", "TCP 53"),
        ("extra", "end-to-end", "api", "@dns-namespace", "UDP 53"),
        ("missing", "end-to-end", "lbs", "api", "TCP 1")]
    assert (result["summary"]["cells"], result["summary"]["ok"]) == (17, 15)


def _planted_case():
    """A two-zone matrix, plus: web pods of zone a may send anything anywhere; zone b admits port 5432 from
    any pod with tier=x in namespaces without a team label, port 6000 from namespaces with team=blue, and
    port 9000 from 100.100.0.0/16 minus 100.100.128.0/17."""
    matrix = normalize_matrix({"services": {"http": ["80/tcp"]}, "zones": {"a": {}, "b": {}},
                               "flows": [{"from": "a", "to": "b", "services": ["http"]}],
                               "vhosts": [], "guards": {"internet_egress_zones": [], "ingress_zone": None}})
    manifests = compile_manifests(matrix)
    manifests.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                      "metadata": {"name": "extra-0", "namespace": "a"},
                      "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Egress"], "egress": [{}]}})
    manifests.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                      "metadata": {"name": "extra-1", "namespace": "b"},
                      "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [
                          {"from": [PEERS[3]], "ports": [{"port": 5432}]},
                          {"from": [PEERS[1]], "ports": [{"port": 6000}]},
                          {"from": [PEERS[6]], "ports": [{"port": 9000}]}]}})
    return matrix, manifests


def test_the_planted_case_is_proven_wrong():
    matrix, manifests = _planted_case()
    result = verify_matrix(matrix, manifests)
    found = set((m["from"], m["to"], m["interval"]) for m in result["mismatches"])
    assert ("a", "@unmanaged", "TCP 1\u201352") in found and ("a", "@unmanaged", "SCTP 1\u201365535") in found
    assert ("@unmanaged", "b", "TCP 5432") in found
    assert ("@unlisted", "b", "TCP 9000") in found
    assert ("@unmanaged", "b", "TCP 6000") in found
    for seed in range(3):
        _check_agreement(matrix, manifests, seed)


def _fewer_label_sets(matrix, policies):
    return [{"netzone.io/probe": "a"}, {"netzone.io/probe": "b"}, dict(matrix["cluster"]["dns"]["pod_labels"])]


def _bare_namespace_only(policies):
    return {verify.UNMANAGED_NAMESPACE: {NAMESPACE_NAME_LABEL: verify.UNMANAGED_NAMESPACE}}


def _no_boundary_addresses(matrix, policies):
    return []


@pytest.mark.parametrize("name, planted", [("_probe_label_sets", _fewer_label_sets),
                                           ("_unmanaged_namespaces", _bare_namespace_only),
                                           ("_address_probes", _no_boundary_addresses)])
def test_the_brute_force_catches_a_proof_with_fewer_classes(monkeypatch, name, planted):
    """Without the pods on each side of every selector, the namespaces on each side of every namespace
    selector, or the addresses at every CIDR boundary, the proof misses disagreements that the brute force
    finds: each class is needed."""
    matrix, manifests = _planted_case()
    monkeypatch.setattr(verify, name, planted)
    with pytest.raises(AssertionError):
        for seed in range(3):
            _check_agreement(matrix, manifests, seed)


def test_exact_policies_leave_no_cell_suspect(monkeypatch):
    """The shortcut's point: on the compiled policies of the article's matrix (right by construction) no cell
    needs the pair-by-pair comparison. Over-reporting would not change the verdict, only make the proof slow."""
    matrix = normalize_matrix(None, {"groups": {"loadbalancers": ["lb1"], "microk8s": ["n1"]},
                                     "addresses": {"lb1": "10.0.0.11", "n1": "10.0.0.21"}})
    found = []
    real = verify._suspect_cells

    def spy(*args):
        found.append(real(*args))
        return found[-1]

    monkeypatch.setattr(verify, "_suspect_cells", spy)
    result = verify_matrix(matrix, compile_manifests(matrix))
    assert result["mismatches"] == [] and found == [set()]
