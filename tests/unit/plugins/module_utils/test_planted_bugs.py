# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The proof and the tests catch planted bugs: each test plants one (monkeypatch or edited manifests) and
asserts that the proof reports it, naming the interval or endpoint class, or that the conformance cases fail.

Planted: compile emitting ``endPort`` one past the range's end; the DNS rule without its pod selector; an
evaluator reading ``endPort`` as exclusive; a compiled ipBlock without its ``except``; one side only widened
(a destination's ingress rule one port too low, a source's egress rule one port too far, an ingress rule
from every namespace), which end to end changes nothing but must be named with its side and zone.
"""

from __future__ import annotations

import copy
import importlib.util
import io
import ipaddress
import os

from hypothesis import HealthCheck, example, given, settings

from ansible_collections.netzone.segmentation.plugins.module_utils._model import compile as compile_mod
from ansible_collections.netzone.segmentation.plugins.module_utils._model import netpol_model
from ansible_collections.netzone.segmentation.plugins.module_utils._model.compile import compile_manifests
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import normalize_matrix
from ansible_collections.netzone.segmentation.plugins.module_utils._model.proof import (
    DNS_ENDPOINT,
    DNS_NAMESPACE_ENDPOINT,
    UNMANAGED_ENDPOINT,
    verify_matrix,
)

from matrix_strategies import valid_matrix

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
OWN_CASES = os.path.join(REPO, "tests", "conformance", "netpol")

RANGES = {
    "services": {"pg": ["5432-5440/tcp"], "web": ["80/tcp", "8080-8090/tcp"], "trap": ["162/udp", "2905-2910/sctp"]},
    "zones": {"backend": {}, "db": {}, "frontend": {}},
    "peers": {"partner": {"cidrs": [{"cidr": "198.51.100.0/24", "except": ["198.51.100.128/25"]}]}},
    "flows": [{"from": "backend", "to": "db", "services": ["pg"]},
              {"from": "frontend", "to": "backend", "services": ["web", "trap"]},
              {"from": "backend", "to": "partner", "services": ["web"]}],
    "vhosts": [], "guards": {"internet_egress_zones": [], "ingress_zone": None},
}


# Two peers that share a range (the example Hypothesis once found against an expectation that ignored it):
# partner and office are the same /24 apart from office's except; office's flow opens 201, the port after
# partner's range, so the bug shows only at the addresses of partner that office excepts.
SHARED_RANGE = {
    "services": {"r": ["100-200/tcp"], "s": ["201/tcp"]},
    "zones": {"backend": {}},
    "peers": {"partner": {"cidrs": ["203.0.113.0/24"]},
              "office": {"cidrs": [{"cidr": "203.0.113.0/24", "except": ["203.0.113.0/26"]}]},
              "twin": {"cidrs": ["198.51.100.0/24"]}, "twin2": {"cidrs": ["198.51.100.0/24"]}},
    "flows": [{"from": "backend", "to": "partner", "services": ["r"]},
              {"from": "backend", "to": "office", "services": ["s"]},
              {"from": "twin", "to": "backend", "services": ["r"]},
              {"from": "twin2", "to": "backend", "services": ["s"]}],
    "vhosts": [], "guards": {"internet_egress_zones": [], "ingress_zone": None},
}


def _end_port_plus_one(original):
    def planted(matrix, service_names):
        ports = original(matrix, service_names)
        for port in ports:
            if "endPort" in port:
                port["endPort"] += 1
        return ports
    return planted


def test_compiled_end_port_one_past_the_range_is_caught(monkeypatch):
    matrix = normalize_matrix(copy.deepcopy(RANGES))
    assert verify_matrix(matrix)["mismatches"] == []
    monkeypatch.setattr(compile_mod, "_k8s_ports", _end_port_plus_one(compile_mod._k8s_ports))
    result = verify_matrix(matrix)
    texts = sorted(m["text"] for m in result["mismatches"])
    assert "backend \u2192 db TCP 5441: allowed, expected denied" in texts
    assert "frontend \u2192 backend TCP 8091: allowed, expected denied" in texts
    assert "frontend \u2192 backend SCTP 2911: allowed, expected denied" in texts
    assert all(m["kind"] == "extra" and m["port"] == m["end_port"] for m in result["mismatches"])


def _intervals(blocks):
    """A peer's addresses as sorted, disjoint integer intervals: every cidr minus its excepts (the oracle of
    the test below, written with ipaddress arithmetic only, independent of the proof's own classes)."""
    out = []
    for block in blocks:
        net = ipaddress.ip_network(block["cidr"])
        parts = [net]
        for exc in (ipaddress.ip_network(e) for e in block["except"]):
            parts = [piece for part in parts
                     for piece in ((part,) if not part.overlaps(exc) else
                                   () if part.subnet_of(exc) else part.address_exclude(exc))]
        out += [(int(p.network_address), int(p.broadcast_address)) for p in parts]
    return _union(out)


def _union(intervals):
    merged = []
    for low, high in sorted(intervals):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def _minus(intervals, holes):
    """Sorted disjoint intervals minus sorted disjoint holes."""
    out = []
    for low, high in intervals:
        for hole_low, hole_high in holes:
            if hole_high < low or hole_low > high:
                continue
            if hole_low > low:
                out.append((low, hole_low - 1))
            low = max(low, hole_high + 1)
        if low <= high:
            out.append((low, high))
    return out


def _expected_one_past(matrix):
    """Where the planted bug must show: ``{(src, dst, proto, port): addresses}`` for every flow whose range
    ends below 65535, ``addresses`` being the outside addresses (intervals; None between two zones) at which
    port end+1 is not opened by any flow between the same zone and a peer containing the address. Two peers
    may share addresses (one inside another, or both the internet): a port opened towards one of them is
    expected open towards the shared addresses, so only the rest can show the bug."""
    opened = {}
    for flow in matrix["flows"]:
        for name in flow["services"]:
            for e in matrix["services"][name]:
                opened.setdefault((flow["from"], flow["to"]), []).append((e["protocol"], e["port"], e["end_port"]))
    peers = dict((name, _intervals(peer["cidrs"])) for name, peer in matrix["peers"].items())

    def opens(entries, proto, port):
        return any(p == proto and lo <= port <= (hi or lo) for p, lo, hi in entries)

    expected = {}
    for (src, dst), entries in opened.items():
        for proto, _low, end in entries:
            if not end or end >= 65535 or opens(entries, proto, end + 1):
                continue
            port = end + 1
            if src not in peers and dst not in peers:
                expected[(src, dst, proto, port)] = None
                continue
            if dst in peers:   # zone -> peer: other peers of this zone's flows opening the port
                others = [peers[d] for (s, d), other in opened.items()
                          if s == src and d in peers and d != dst and opens(other, proto, port)]
            else:              # peer -> zone: other peers whose flows to this zone open the port
                others = [peers[s] for (s, d), other in opened.items()
                          if d == dst and s in peers and s != src and opens(other, proto, port)]
            rest = _minus(peers[dst if dst in peers else src], _union([iv for ivs in others for iv in ivs]))
            if rest:
                expected[(src, dst, proto, port)] = rest
    return expected


def _address(endpoint):
    text = endpoint.split(":", 1)[1] if endpoint.startswith("ip:") else None
    return int(ipaddress.ip_address(text)) if text else None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(valid_matrix())
@example(raw=SHARED_RANGE)
def test_end_port_one_past_is_caught_in_every_random_matrix_with_a_range(monkeypatch, raw):
    """Wherever a flow carries a port range that does not end at 65535, and the port after it is not opened
    by another service of the flow nor, at some address of the peer, by a flow to a peer sharing it, the
    planted bug is reported there."""
    matrix = normalize_matrix(raw)
    with monkeypatch.context() as patch:
        patch.setattr(compile_mod, "_k8s_ports", _end_port_plus_one(compile_mod._k8s_ports))
        result = verify_matrix(matrix)
    found = [(m["from"].split("+"), m["to"].split("+"), m["protocol"], m["port"], _address(m["src"]),
              _address(m["dst"])) for m in result["mismatches"]]
    for (src, dst, proto, port), rest in _expected_one_past(matrix).items():
        def seen(f, src=src, dst=dst, rest=rest):
            if rest is None:
                return src in f[0] and dst in f[1]
            addr = f[5] if dst in matrix["peers"] else f[4]
            zone_ok = src in f[0] if dst in matrix["peers"] else dst in f[1]
            return zone_ok and addr is not None and any(low <= addr <= high for low, high in rest)
        assert any((proto, port) == f[2:4] and seen(f) for f in found), ((src, dst, proto, port), rest, found)


def test_dns_rule_without_its_pod_selector_is_caught():
    matrix = normalize_matrix(copy.deepcopy(RANGES))
    manifests = compile_manifests(matrix)
    for obj in manifests:
        if obj["kind"] == "NetworkPolicy" and obj["metadata"]["name"] == compile_mod.DNS_POLICY_NAME:
            del obj["spec"]["egress"][0]["to"][0]["podSelector"]
    result = verify_matrix(matrix, manifests)
    extra = set((m["from"], m["to"], m["interval"]) for m in result["mismatches"])
    # every zone now reaches every pod of the DNS namespace on the DNS ports, not only the DNS pods
    assert extra == {(zone, DNS_NAMESPACE_ENDPOINT, interval) for zone in ("backend", "db", "frontend")
                     for interval in ("TCP 53", "UDP 53")}
    assert all(m["to"] == DNS_NAMESPACE_ENDPOINT and m["kind"] == "extra" for m in result["mismatches"])
    assert result["mismatches"][0]["explanation"] == (
        "allowed: egress of backend/probe-0 allowed by backend/netzone-allow-dns rule egress[0]; ingress of "
        "kube-system/probe-0 is not isolated (no policy selects it for ingress)")


def test_dns_rule_without_its_namespace_selector_is_caught():
    """The DNS labels outside the DNS namespace: a pod of an unmanaged namespace with the same labels."""
    matrix = normalize_matrix(copy.deepcopy(RANGES))
    manifests = compile_manifests(matrix)
    for obj in manifests:
        if obj["kind"] == "NetworkPolicy" and obj["metadata"]["name"] == compile_mod.DNS_POLICY_NAME:
            obj["spec"]["egress"][0]["to"][0]["namespaceSelector"] = {}
    result = verify_matrix(matrix, manifests)
    end_to_end = [m for m in result["mismatches"] if m["side"] == "end-to-end"]
    assert {m["to"] for m in end_to_end} == {UNMANAGED_ENDPOINT}
    assert {m["interval"] for m in result["mismatches"]} == {"UDP 53", "TCP 53"}
    # the zones' pods with the DNS labels are isolated for ingress, so only each zone's egress alone opens them
    alone = [m for m in result["mismatches"] if m["side"] != "end-to-end"]
    assert alone and all(m["side"] == "egress" and m["to"] in matrix["zones"] for m in alone)


def _policy(manifests, namespace, name):
    return next(obj for obj in manifests if obj["kind"] == "NetworkPolicy"
                and (obj["metadata"]["namespace"], obj["metadata"]["name"]) == (namespace, name))


def test_one_side_only_ingress_one_port_too_low_is_caught():
    """The destination's ingress rule starts one port too low: end to end the source's egress still stops
    5431, but db's ingress alone would let it in if backend's egress policy were deleted."""
    matrix = normalize_matrix(copy.deepcopy(RANGES))
    manifests = compile_manifests(matrix)
    _policy(manifests, "db", "netzone-ingress-from-backend")["spec"]["ingress"][0]["ports"][0]["port"] = 5431
    result = verify_matrix(matrix, manifests)
    assert [(m["from"], m["to"], m["interval"], m["kind"], m["side"], m["zone"]) for m in result["mismatches"]] == [
        ("backend", "db", "TCP 5431", "extra", "ingress", "db")]
    mismatch = result["mismatches"][0]
    assert mismatch["text"] == "backend \u2192 db TCP 5431 (ingress of db alone): allowed, expected denied"
    assert "db/netzone-ingress-from-backend" in mismatch["explanation"]
    cells = dict(((c["from"], c["to"]), c) for c in result["cells"])
    assert cells[("backend", "db")]["status"] == "extra"


def test_one_side_only_egress_one_port_too_far_is_caught():
    """The source's egress rule ends one port too late: db's ingress still stops 5441 end to end."""
    matrix = normalize_matrix(copy.deepcopy(RANGES))
    manifests = compile_manifests(matrix)
    _policy(manifests, "backend", "netzone-egress-to-db")["spec"]["egress"][0]["ports"][0]["endPort"] = 5441
    result = verify_matrix(matrix, manifests)
    assert [(m["from"], m["to"], m["interval"], m["kind"], m["side"], m["zone"]) for m in result["mismatches"]] == [
        ("backend", "db", "TCP 5441", "extra", "egress", "backend")]
    assert result["mismatches"][0]["text"].endswith("(egress of backend alone): allowed, expected denied")


def test_one_side_only_ingress_from_every_namespace_is_caught():
    """The destination's ingress admits every namespace on its port: frontend's egress still stops it end
    to end, so only the ingress side of db is wrong, for every source class that is not backend."""
    matrix = normalize_matrix(copy.deepcopy(RANGES))
    manifests = compile_manifests(matrix)
    _policy(manifests, "db", "netzone-ingress-from-backend")["spec"]["ingress"][0]["from"][0]["namespaceSelector"] = {}
    result = verify_matrix(matrix, manifests)
    alone = set((m["from"], m["to"], m["side"]) for m in result["mismatches"] if m["side"] != "end-to-end")
    assert {("frontend", "db", "ingress"), ("db", "db", "ingress")} <= alone
    assert all(m["to"] == "db" and m["interval"] == "TCP 5432\u20135440" for m in result["mismatches"])
    # the unmanaged pods are not isolated for egress: end to end they now reach db
    assert any(m["from"] == UNMANAGED_ENDPOINT and m["side"] == "end-to-end" for m in result["mismatches"])


def test_ipblock_without_its_except_is_caught():
    matrix = normalize_matrix(copy.deepcopy(RANGES))
    manifests = compile_manifests(matrix)
    for obj in manifests:
        for rule in obj.get("spec", {}).get("egress") or []:
            for peer in rule.get("to") or []:
                (peer.get("ipBlock") or {}).pop("except", None)
    result = verify_matrix(matrix, manifests)
    assert result["mismatches"]
    assert {(m["from"], m["to"], m["kind"]) for m in result["mismatches"]} == {("backend", "@unlisted", "extra")}
    assert {m["dst"] for m in result["mismatches"]} <= {"ip:198.51.100.128", "ip:198.51.100.255"}


def _load_runner():
    spec = importlib.util.spec_from_file_location("run_netpol", os.path.join(REPO, "tests", "conformance", "run_netpol.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _exclusive(self, port, protocol):
    if protocol != self.protocol or self.name is not None:
        return False
    if self.number is None:
        return True
    if self.end is None:
        return port == self.number
    return self.number <= port < self.end


def test_exclusive_end_port_in_the_evaluator_is_caught(monkeypatch):
    runner = _load_runner()
    out = io.StringIO()
    assert runner.main([OWN_CASES], out, io.StringIO()) == 0
    monkeypatch.setattr(netpol_model.Port, "numeric_match", _exclusive)
    out = io.StringIO()
    assert runner.main([OWN_CASES], out, io.StringIO()) == 1
    failures = [line for line in out.getvalue().splitlines() if line.startswith("FAIL")]
    assert any("endport-tcp-inclusive.yaml: x/b -> x/a TCP/5005 expected allowed, got denied" in f for f in failures)
    # and the proof of a matrix with ranges reports the last port of each range as missing
    result = verify_matrix(normalize_matrix(copy.deepcopy(RANGES)))
    missing = dict((m["text"], m) for m in result["mismatches"])
    assert "backend \u2192 db TCP 5432\u20135440: denied, expected allowed" in missing
    assert "TCP/5440" in missing["backend \u2192 db TCP 5432\u20135440: denied, expected allowed"]["explanation"]


def test_dns_endpoint_is_probed():
    result = verify_matrix(normalize_matrix(copy.deepcopy(RANGES)))
    cells = dict(((c["from"], c["to"]), c) for c in result["cells"])
    assert cells[("db", DNS_ENDPOINT)]["actual"] == ["53/TCP", "53/UDP"]
    assert cells[("db", DNS_NAMESPACE_ENDPOINT)]["actual"] == []
