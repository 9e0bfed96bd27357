# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The NetworkPolicy engine: one test group per semantics line of conformance/netpol/FORMAT.md."""

from __future__ import annotations

import pytest

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import ObjectError
from ansible_collections.netzone.segmentation.plugins.module_utils._model import evaluate_bulk
from ansible_collections.netzone.segmentation.plugins.module_utils._model.evaluate import Endpoint, Engine

NAMESPACES = {
    "x": {"ns": "x", "team": "red"},
    "y": {"ns": "y", "team": "blue"},
    "z": {"ns": "z"},
}


def _ports(*specs):
    return [{"name": n, "containerPort": p, "protocol": proto} for n, p, proto in specs]


PODS = [
    {"namespace": "x", "name": "a", "labels": {"app": "web"}, "ip": "10.0.0.11", "ports": _ports(("http", 80, "TCP"), ("dns", 53, "UDP"))},
    {"namespace": "x", "name": "b", "labels": {"app": "db", "tier": "back"}, "ip": "10.0.0.12", "ports": _ports(("http", 8080, "TCP"))},
    {"namespace": "y", "name": "a", "labels": {"app": "web"}, "ip": "10.0.1.11", "ports": _ports(("http", 80, "TCP"))},
    {"namespace": "y", "name": "b", "labels": {"app": "api", "tier": "back"}, "ip": "10.0.1.12", "ports": []},
    {"namespace": "z", "name": "a", "labels": {}, "ports": []},  # no IP
]

OUTSIDE = "ip:203.0.113.5"


def policy(name, namespace, **spec):
    spec.setdefault("podSelector", {})
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def engine(*policies, pods=None, namespaces=None):
    return Engine(namespaces or NAMESPACES, PODS if pods is None else pods, list(policies))


def check(eng, src, dst, port, expected, protocol="TCP"):
    """Assert the per-pod verdict and the grouped bulk answer agree with ``expected``; return the verdict."""
    verdict = eng.verdict(src, dst, port, protocol)
    assert verdict.allowed is expected, verdict.explain()
    reach = eng.reachability([src], [dst], [(port, protocol)])
    assert reach[(src, dst, port, protocol)] is expected
    return verdict


# 1. A pod selected by no policy of a direction allows everything in that direction.
def test_unselected_pod_allows_everything():
    eng = engine(policy("only-db", "x", podSelector={"matchLabels": {"app": "db"}}, policyTypes=["Ingress", "Egress"]))
    v = check(eng, "x/a", "y/a", 80, True)
    assert not v.egress.isolated and not v.ingress.isolated
    assert v.explain() == ("allowed: egress of x/a is not isolated (no policy selects it for egress); "
                           "ingress of y/a is not isolated (no policy selects it for ingress)")
    check(eng, "x/a", "x/b", 80, False)
    check(eng, "x/b", "x/a", 80, False)


# 2. Selected pods allow only what some rule of some selecting policy allows: a union, order irrelevant.
def test_union_of_selecting_policies_in_any_order():
    p1 = policy("from-web", "y", ingress=[{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}])
    from_db = {"namespaceSelector": {"matchLabels": {"ns": "x"}}, "podSelector": {"matchLabels": {"app": "db"}}}
    p2 = policy("from-db", "y", ingress=[{"from": [from_db]}])
    for order in ((p1, p2), (p2, p1)):
        eng = engine(*order)
        v = check(eng, "x/b", "y/b", 80, True)
        assert v.ingress.allowed_by == [("y/from-db", 0)]
        assert sorted(v.ingress.policies) == ["y/from-db", "y/from-web"]
        check(eng, "y/a", "y/b", 80, True)
        v = check(eng, "x/a", "y/b", 80, False)
        assert "ingress of y/b is isolated by" in v.explain() and "y/from-web" in v.explain() and "y/from-db" in v.explain()


# 3. Pod to pod needs egress at the source and ingress at the destination; an outside address has no policy.
def test_both_directions_needed_and_outside_has_no_policy():
    deny_out = policy("deny-out", "x", policyTypes=["Egress"])
    allow_in = policy("allow-in", "y", ingress=[{}])
    eng = engine(deny_out, allow_in)
    v = check(eng, "x/a", "y/a", 80, False)
    assert v.ingress.allowed and not v.egress.allowed
    assert v.explain() == "denied: egress of x/a is isolated by x/deny-out (no rule matches TCP/80 to y/a)"
    deny_in = policy("deny-in", "y", policyTypes=["Ingress"])
    eng = engine(deny_out, deny_in)
    v = check(eng, "x/a", "y/a", 80, False)
    assert v.explain() == ("denied: egress of x/a is isolated by x/deny-out (no rule matches TCP/80 to y/a); "
                           "ingress of y/a is isolated by y/deny-in (no rule matches TCP/80 from x/a)")
    # An outside address is never isolated, in either direction.
    v = check(eng, OUTSIDE, "z/a", 80, True)
    assert v.egress.outside and "has no policy" in v.explain()
    check(eng, "z/a", OUTSIDE, 80, True)
    check(eng, "x/a", OUTSIDE, 80, False)
    check(eng, OUTSIDE, "y/a", 80, False)


# 4. policyTypes omitted means [Ingress], plus Egress only when spec.egress is non-empty.
def test_policy_types_defaulting():
    only_ingress = policy("p", "x", egress=[])
    eng = engine(only_ingress)
    check(eng, "x/a", "y/a", 80, True)                      # egress not isolated
    check(eng, "y/a", "x/a", 80, False)                     # ingress isolated, no rules
    with_egress = policy("p", "x", egress=[{"to": [{"podSelector": {}}]}])
    eng = engine(with_egress)
    check(eng, "x/a", "y/a", 80, False)                     # egress now isolated too
    check(eng, "x/a", "x/b", 80, False)                     # ingress of x/b still isolated
    # Explicit types win: Egress only ignores the ingress rules entirely.
    eng = engine(policy("p", "x", policyTypes=["Egress"], ingress=[{"from": [{"podSelector": {}}]}]))
    check(eng, "y/a", "x/a", 80, True)
    check(eng, "x/a", "y/a", 80, False)
    # policyTypes: [] is the same as omitted.
    eng = engine(policy("p", "x", policyTypes=[], egress=[{}]))
    assert eng.verdict("x/a", "y/a", 80).egress.isolated


# 5. A listed type with no rules denies; ingress: [{}] / egress: [{}] allows everything.
def test_empty_rules_deny_and_empty_rule_allows():
    eng = engine(policy("deny", "x", policyTypes=["Ingress", "Egress"]))
    for port, proto in ((80, "TCP"), (53, "UDP"), (9, "SCTP")):
        check(eng, "x/a", "y/a", port, False, proto)
        check(eng, "y/a", "x/a", port, False, proto)
        check(eng, "x/a", OUTSIDE, port, False, proto)
    eng = engine(policy("all", "x", policyTypes=["Ingress", "Egress"], ingress=[{}], egress=[{}]))
    for port, proto in ((80, "TCP"), (53, "UDP"), (9, "SCTP")):
        check(eng, "x/a", "y/a", port, True, proto)
        v = check(eng, OUTSIDE, "x/a", port, True, proto)
        assert v.ingress.allowed_by == [("x/all", 0)]
        assert "ingress of x/a allowed by x/all rule ingress[0]" in v.explain()


# 6. A rule without from/to matches every peer (outside addresses too); without ports every port/protocol.
def test_rule_without_peers_or_ports():
    eng = engine(policy("p", "x", ingress=[{"ports": [{"port": 80}]}], egress=[{"ports": [{"protocol": "UDP", "port": 53}]}]))
    check(eng, OUTSIDE, "x/a", 80, True)
    check(eng, "z/a", "x/a", 80, True)
    check(eng, "z/a", "x/a", 81, False)
    check(eng, "x/a", OUTSIDE, 53, True, "UDP")
    check(eng, "x/a", OUTSIDE, 53, False)
    eng = engine(policy("p", "x", ingress=[{"from": [{"podSelector": {"matchLabels": {"app": "db"}}}]}]))
    for port, proto in ((1, "TCP"), (65535, "UDP"), (2905, "SCTP")):
        check(eng, "x/b", "x/a", port, True, proto)
    # from: [] is "no peers listed", i.e. every peer.
    eng = engine(policy("p", "x", ingress=[{"from": [], "ports": []}]))
    check(eng, OUTSIDE, "x/a", 5, True, "UDP")


# 7. Peers of one rule are ORed; podSelector and namespaceSelector in one peer are ANDed.
def test_peers_or_and_selectors_and():
    both = {"namespaceSelector": {"matchLabels": {"ns": "y"}}, "podSelector": {"matchLabels": {"app": "api"}}}
    anded = policy("p", "x", ingress=[{"from": [both]}])
    eng = engine(anded)
    check(eng, "y/b", "x/a", 80, True)
    check(eng, "y/a", "x/a", 80, False)       # right namespace, wrong pod
    check(eng, "x/b", "x/a", 80, False)       # wrong namespace
    either = [{"namespaceSelector": {"matchLabels": {"ns": "y"}}}, {"podSelector": {"matchLabels": {"app": "api"}}}]
    ored = policy("p", "x", ingress=[{"from": either}])
    eng = engine(ored)
    check(eng, "y/a", "x/a", 80, True)        # namespace y
    check(eng, "x/b", "x/a", 80, False)       # app=db in x: neither
    check(eng, "z/a", "x/a", 80, False)


# 8. podSelector alone = pods of the policy's namespace; namespaceSelector alone = all pods of matching namespaces.
def test_selector_scopes():
    eng = engine(policy("p", "x", ingress=[{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}]))
    check(eng, "y/a", "x/b", 80, False)       # app=web but in y
    eng = engine(policy("p", "y", ingress=[{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}]))
    check(eng, "y/a", "y/b", 80, True)
    check(eng, "x/a", "y/b", 80, False)
    eng = engine(policy("p", "y", egress=[{"to": [{"namespaceSelector": {"matchLabels": {"team": "red"}}}]}]))
    check(eng, "y/a", "x/a", 80, True)
    check(eng, "y/a", "x/b", 80, True)
    check(eng, "y/a", "y/b", 80, False)


# 9. namespaceSelector: {} = every pod of every namespace, never an outside address.
def test_empty_namespace_selector():
    eng = engine(policy("p", "x", policyTypes=["Ingress", "Egress"],
                        ingress=[{"from": [{"namespaceSelector": {}}]}], egress=[{"to": [{"namespaceSelector": {}}]}]))
    for other in ("x/b", "y/a", "y/b", "z/a"):
        check(eng, other, "x/a", 80, True)
        check(eng, "x/a", other, 80, True)
    v = check(eng, OUTSIDE, "x/a", 80, False)
    assert v.explain() == "denied: ingress of x/a is isolated by x/p (no rule matches TCP/80 from ip:203.0.113.5)"
    check(eng, "x/a", OUTSIDE, 80, False)
    # An empty podSelector in a peer is "every pod of the policy's namespace", again never an address.
    eng = engine(policy("p", "x", ingress=[{"from": [{"podSelector": {}}]}]))
    check(eng, "x/b", "x/a", 80, True)
    check(eng, "y/a", "x/a", 80, False)
    check(eng, OUTSIDE, "x/a", 80, False)


# 10. matchLabels and matchExpressions are ANDed; NotIn and DoesNotExist match objects lacking the key.
@pytest.mark.parametrize("selector, matching", [
    ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]}, {"x/a", "y/a", "y/b"}),
    ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}, {"x/b", "y/b", "z/a"}),
    ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, {"x/b", "y/b"}),
    ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, {"x/a", "y/a", "z/a"}),
    ({"matchLabels": {"tier": "back"}, "matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["db"]}]}, {"y/b"}),
    ({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "app", "operator": "In", "values": ["api"]}]}, set()),
    ({}, {"x/a", "x/b", "y/a", "y/b", "z/a"}),
])
def test_label_selectors(selector, matching):
    eng = engine(policy("p", "x", podSelector={"matchLabels": {"app": "web"}},
                        ingress=[{"from": [{"namespaceSelector": {}, "podSelector": selector}]}]))
    for src in ("x/b", "y/a", "y/b", "z/a"):
        check(eng, src, "x/a", 80, src in matching)


def test_namespace_selector_expressions():
    sel = {"matchExpressions": [{"key": "team", "operator": "NotIn", "values": ["red"]}]}
    eng = engine(policy("p", "x", ingress=[{"from": [{"namespaceSelector": sel}]}]))
    check(eng, "y/a", "x/a", 80, True)        # team=blue
    check(eng, "z/a", "x/a", 80, True)        # z has no team label: NotIn matches
    check(eng, "x/b", "x/a", 80, False)


# 11. ipBlock = cidr minus except; a cidr with host bits set means its masked network.
def test_ipblock_cidr_except_and_host_bits():
    block = {"ipBlock": {"cidr": "10.0.1.77/24", "except": ["10.0.1.12/32"]}}
    eng = engine(policy("p", "x", policyTypes=["Egress"], egress=[{"to": [block]}]))
    check(eng, "x/a", "y/a", 80, True)        # 10.0.1.11 in 10.0.1.0/24
    check(eng, "x/a", "y/b", 80, False)       # 10.0.1.12 excepted
    check(eng, "x/a", "x/b", 80, False)       # 10.0.0.12 outside
    check(eng, "x/a", "ip:10.0.1.200", 80, True)
    check(eng, "x/a", "ip:10.0.2.1", 80, False)
    check(eng, "x/a", "z/a", 80, False)       # a pod without IP is never matched by an ipBlock
    eng = engine(policy("p", "z", ingress=[{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]))
    check(eng, "x/a", "z/a", 80, True)
    check(eng, "ip:2001:db8::1", "z/a", 80, False)   # IPv6 is not in an IPv4 block
    eng = engine(policy("p", "z", ingress=[{"from": [{"ipBlock": {"cidr": "::/0"}}]}]))
    check(eng, "ip:2001:db8::1", "z/a", 80, True)
    check(eng, "x/a", "z/a", 80, False)


# 12. An address excluded by one except is still allowed when another peer or policy allows it.
def test_except_does_not_veto_other_peers_or_policies():
    wide = {"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.1.0/24"]}}
    eng = engine(policy("p", "x", policyTypes=["Egress"], egress=[{"to": [wide, {"ipBlock": {"cidr": "10.0.1.12/32"}}]}]))
    check(eng, "x/a", "y/b", 80, True)
    check(eng, "x/a", "y/a", 80, False)
    eng = engine(policy("p1", "x", policyTypes=["Egress"], egress=[{"to": [wide]}]),
                 policy("p2", "x", policyTypes=["Egress"], egress=[{"to": [{"namespaceSelector": {"matchLabels": {"ns": "y"}}}]}]))
    v = check(eng, "x/a", "y/a", 80, True)
    assert v.egress.allowed_by == [("x/p2", 0)]


# 13. Protocol defaults to TCP; an entry without port = all ports of that protocol; endPort inclusive.
def test_ports_protocols_and_ranges():
    eng = engine(policy("p", "x", ingress=[{"ports": [{"port": 80}, {"protocol": "UDP"}, {"port": 1000, "endPort": 1010, "protocol": "SCTP"}]}]))
    check(eng, "y/a", "x/a", 80, True)
    check(eng, "y/a", "x/a", 80, False, "SCTP")  # 80 is TCP only, SCTP only 1000-1010
    check(eng, "y/a", "x/a", 80, True, "UDP")    # every UDP port
    check(eng, "y/a", "x/a", 81, False)
    check(eng, "y/a", "x/a", 1, True, "UDP")
    check(eng, "y/a", "x/a", 65535, True, "UDP")
    for port, expected in ((999, False), (1000, True), (1005, True), (1010, True), (1011, False)):
        check(eng, "y/a", "x/a", port, expected, "SCTP")
    check(eng, "y/a", "x/a", 1005, False)
    # The probe protocol is case-insensitive and defaults to TCP.
    assert eng.verdict("y/a", "x/a", 80).allowed and eng.verdict("y/a", "x/a", 80, "tcp").allowed


# 14. Allowing only UDP or SCTP still isolates the pod for TCP, and the reverse.
@pytest.mark.parametrize("allowed_proto", ["TCP", "UDP", "SCTP"])
def test_protocol_isolation(allowed_proto):
    eng = engine(policy("p", "x", ingress=[{"ports": [{"protocol": allowed_proto, "port": 80}]}]))
    for proto in ("TCP", "UDP", "SCTP"):
        v = check(eng, "y/a", "x/a", 80, proto == allowed_proto, proto)
        assert v.ingress.isolated


# 15. A named port matches only a destination containerPort with that name and protocol.
def test_named_ports_ingress():
    eng = engine(policy("p", "x", ingress=[{"ports": [{"port": "http"}]}]))
    check(eng, "y/a", "x/a", 80, True)        # x/a: http = 80/TCP
    check(eng, "y/a", "x/a", 8080, False)
    check(eng, "y/a", "x/b", 8080, True)      # x/b: http = 8080/TCP
    check(eng, "y/a", "x/b", 80, False)
    eng = engine(policy("p", "x", ingress=[{"ports": [{"port": "dns"}]}]))   # dns is UDP on x/a: TCP entry never matches
    check(eng, "y/a", "x/a", 53, False)
    check(eng, "y/a", "x/a", 53, False, "UDP")
    eng = engine(policy("p", "x", ingress=[{"ports": [{"port": "dns", "protocol": "UDP"}]}]))
    check(eng, "y/a", "x/a", 53, True, "UDP")
    check(eng, "y/a", "x/b", 53, False, "UDP")   # no such name on x/b: matches nothing
    # a UDP entry named http does not open the TCP port of that name (x/a: http = 80/TCP), whatever the order
    # of the protocols' names
    eng = engine(policy("p", "x", ingress=[{"ports": [{"port": "http", "protocol": "UDP"}]}]))
    check(eng, "y/a", "x/a", 80, False)
    check(eng, "y/a", "x/a", 80, False, "UDP")
    eng = engine(policy("p", "x", ingress=[{"ports": [{"port": "http", "protocol": "SCTP"}]}]))
    check(eng, "y/a", "x/a", 80, False)


def test_named_ports_egress_use_the_destination():
    eng = engine(policy("p", "y", policyTypes=["Egress"], egress=[{"ports": [{"port": "http"}]}]))
    check(eng, "y/b", "x/a", 80, True)
    check(eng, "y/b", "x/b", 8080, True)
    check(eng, "y/b", "x/b", 80, False)
    check(eng, "y/b", "y/a", 80, True)
    check(eng, "y/b", OUTSIDE, 80, False)      # an outside address has no named ports
    check(eng, "y/b", "z/a", 80, False)


def test_named_probe_port_resolves_on_destination():
    eng = engine(policy("p", "x", ingress=[{"ports": [{"port": 8080}]}]))
    v = eng.verdict("y/a", "x/b", "http")
    assert v.allowed and v.port == 8080
    assert eng.verdict("y/a", "x/b", "8080").port == 8080 and bool(eng.verdict("y/a", "x/b", "8080"))
    assert not eng.verdict("y/a", "x/b", 8081)
    with pytest.raises(ObjectError, match="x/a has no TCP container port named 'nope'"):
        eng.verdict("y/a", "x/a", "nope")


def test_allowed_explanation_names_policy_and_rule():
    eng = engine(policy("out", "x", policyTypes=["Egress"], egress=[{"to": [{"ipBlock": {"cidr": "192.0.2.0/24"}}]},
                                                                    {"ports": [{"port": 80}]}]),
                 policy("in", "y", ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"ns": "x"}}}]}]))
    v = check(eng, "x/a", "y/a", 80, True)
    assert v.egress.allowed_by == [("x/out", 1)] and v.ingress.allowed_by == [("y/in", 0)]
    assert v.explain() == "allowed: egress of x/a allowed by x/out rule egress[1]; ingress of y/a allowed by y/in rule ingress[0]"
    assert repr(v) == "Verdict(x/a -> y/a TCP/80: allowed)"


def test_endpoints():
    assert Endpoint.parse("x/a") == Endpoint.pod("x", "a")
    assert Endpoint.parse("ip:2001:DB8::1").ref == "ip:2001:db8::1"
    assert Endpoint.address("203.0.113.5").ref == OUTSIDE
    assert (str(Endpoint.pod("x", "a")), repr(Endpoint.pod("x", "a"))) == ("x/a", "Endpoint('x/a')")
    pod = Endpoint.pod("x", "a")
    assert Endpoint.parse(pod) is pod and len({pod, Endpoint.parse("x/a"), Endpoint.parse("ip:10.0.0.1")}) == 2
    assert pod != "x/a" and pod != Endpoint.parse("x/b")
    with pytest.raises(ValueError, match="kind must be 'pod' or 'ip'"):
        Endpoint("node", name="a")
    eng = engine()
    with pytest.raises(ObjectError, match=r"^src: unknown pod 'x/nope'$"):
        eng.verdict("x/nope", "x/a", 80)
    with pytest.raises(ObjectError, match=r"^dst: invalid IP address '300.1.1.1'$"):
        eng.verdict("x/a", "ip:300.1.1.1", 80)
    with pytest.raises(ObjectError, match=r"^src: invalid endpoint 'nope'"):
        eng.verdict("nope", "x/a", 80)
    for bad in ("/a", "x/", "x/a/b"):
        with pytest.raises(ObjectError, match=r"^src: invalid endpoint '%s' \(expected 'namespace/pod' or 'ip:address'\)$" % bad):
            eng.verdict(bad, "x/a", 80)
    with pytest.raises(ObjectError, match=r"^dst: must be 'namespace/pod' or 'ip:address', got an integer$"):
        eng.verdict("x/a", 5, 80)
    with pytest.raises(ObjectError, match=r"^protocol: unsupported protocol 'ICMP'"):
        eng.verdict("x/a", "x/b", 80, "ICMP")
    with pytest.raises(ObjectError, match=r"^port: port 0 out of range 1-65535$"):
        eng.verdict("x/a", "x/b", 0)


# --- invalid input -----------------------------------------------------------------------------------

def _with_rule(rule, direction="ingress"):
    return [policy("ok", "x"), policy("bad", "x", **{direction: [rule]})]


@pytest.mark.parametrize("policies, message", [
    (["nope"], "policies[0]: must be a NetworkPolicy mapping, got a string"),
    ([{"apiVersion": "networking.k8s.io/v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "x"}, "spec": {}}],
     "policies[0].kind: expected NetworkPolicy, got 'Pod'"),
    ([{"metadata": {"name": "p"}, "spec": {}}], "policies[0].metadata.namespace: must be a non-empty string, got null"),
    ([{"metadata": {"namespace": "x"}, "spec": {}}], "policies[0].metadata.name: must be a non-empty string, got null"),
    ([{"apiVersion": "v1", "metadata": {"name": "p", "namespace": "x"}, "spec": {}}],
     "policies[0].apiVersion: expected networking.k8s.io/v1, got 'v1'"),
    ([{"metadata": {"name": "p", "namespace": "x"}}], "policies[0].spec: must be a mapping, got null"),
    ([policy("p", "x"), policy("p", "x")], "policies[1].metadata.name: duplicate policy x/p"),
    ([policy("p", "x", policyTypes=["Ingres"])], "policies[0].spec.policyTypes[0]: invalid policy type 'Ingres' (expected Ingress or Egress)"),
    ([policy("p", "x", podSelectors={})], "policies[0].spec: unknown field 'podSelectors' (expected one of: podSelector, policyTypes, ingress, egress)"),
    ([policy("p", "x", ingress={"from": []})], "policies[0].spec.ingress: must be a list, got an object"),
    (_with_rule({"from": ["frontend"]}), "policies[1].spec.ingress[0].from[0]: must be a mapping, got a string"),
    (_with_rule({"from": [{}, {"ipBlock": {"cidr": "10.0.0.300/8"}}]}),
     "policies[1].spec.ingress[0].from[0]: must specify podSelector, namespaceSelector or ipBlock"),
    (_with_rule({"from": [{"podSelector": {}}, {"ipBlock": {"cidr": "10.0.0.300/8"}}]}),
     "policies[1].spec.ingress[0].from[1].ipBlock.cidr: invalid CIDR '10.0.0.300/8'"),
    (_with_rule({"to": [{"ipBlock": {"cidr": "10.0.0.1"}}]}, "egress"),
     "policies[1].spec.egress[0].to[0].ipBlock.cidr: invalid CIDR '10.0.0.1' (no prefix length)"),
    (_with_rule({"to": [{"ipBlock": {"except": ["10.0.0.0/8"]}}]}, "egress"), "policies[1].spec.egress[0].to[0].ipBlock.cidr: required"),
    (_with_rule({"to": [{"ipBlock": {"cidr": 10}}]}, "egress"),
     "policies[1].spec.egress[0].to[0].ipBlock.cidr: invalid CIDR 10 (must be a string like 10.0.0.0/8)"),
    (_with_rule({"to": [{"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.1.0.0/24"]}}]}, "egress"),
     "policies[1].spec.egress[0].to[0].ipBlock.except[0]: '10.1.0.0/24' is not a strict subset of cidr '10.0.0.0/16'"),
    (_with_rule({"to": [{"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.0.0/16"]}}]}, "egress"),
     "policies[1].spec.egress[0].to[0].ipBlock.except[0]: '10.0.0.0/16' is not a strict subset of cidr '10.0.0.0/16'"),
    (_with_rule({"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]}, "egress"),
     "policies[1].spec.egress[0].to[0]: ipBlock may not be combined with podSelector or namespaceSelector"),
    (_with_rule({"to": [{"podSelector": {}}]}), "policies[1].spec.ingress[0]: unknown field 'to' (expected one of: from, ports)"),
    (_with_rule({"from": [{"podSelector": {"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["b"]}]}}]}),
     "policies[1].spec.ingress[0].from[0].podSelector.matchExpressions[0].operator: invalid operator 'Equals' (expected In, NotIn, Exists or DoesNotExist)"),
    (_with_rule({"from": [{"podSelector": {"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}}]}),
     "policies[1].spec.ingress[0].from[0].podSelector.matchExpressions[0].values: operator In needs at least one value"),
    (_with_rule({"from": [{"podSelector": {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["b"]}]}}]}),
     "policies[1].spec.ingress[0].from[0].podSelector.matchExpressions[0].values: operator Exists takes no values"),
    (_with_rule({"from": [{"namespaceSelector": {"matchLabels": {"ns": 1}}}]}),
     "policies[1].spec.ingress[0].from[0].namespaceSelector.matchLabels.ns: label value must be a string, got an integer 1"),
    (_with_rule({"from": [{"namespaceSelector": {"matchLabel": {"ns": "x"}}}]}),
     "policies[1].spec.ingress[0].from[0].namespaceSelector: unknown field 'matchLabel' (expected one of: matchLabels, matchExpressions)"),
    (_with_rule({"ports": [{"port": 70000}]}), "policies[1].spec.ingress[0].ports[0].port: port 70000 out of range 1-65535"),
    (_with_rule({"ports": [{"port": 0}]}), "policies[1].spec.ingress[0].ports[0].port: port 0 out of range 1-65535"),
    (_with_rule({"ports": [{"port": True}]}), "policies[1].spec.ingress[0].ports[0].port: must be a port number, got a boolean True"),
    (_with_rule({"ports": [{"port": "Http"}]}),
     "policies[1].spec.ingress[0].ports[0].port: invalid port name 'Http' (1-15 lowercase letters, digits and '-', with at least one letter)"),
    (_with_rule({"ports": [{"port": "abcdefghijklmnop"}]}),
     "policies[1].spec.ingress[0].ports[0].port: invalid port name 'abcdefghijklmnop' (1-15 lowercase letters, digits and '-', with at least one letter)"),
    (_with_rule({"ports": [{"port": "80"}]}),
     "policies[1].spec.ingress[0].ports[0].port: invalid port name '80' (1-15 lowercase letters, digits and '-', with at least one letter)"),
    (_with_rule({"ports": [{"port": 80, "protocol": "tcp"}]}),
     "policies[1].spec.ingress[0].ports[0].protocol: unsupported protocol 'tcp' (expected TCP, UDP or SCTP)"),
    (_with_rule({"ports": [{"port": 90, "endPort": 80}]}), "policies[1].spec.ingress[0].ports[0].endPort: endPort 80 is lower than port 90"),
    (_with_rule({"ports": [{"endPort": 80}]}), "policies[1].spec.ingress[0].ports[0].endPort: endPort requires a numeric port"),
    (_with_rule({"ports": [{"port": "http", "endPort": 80}]}),
     "policies[1].spec.ingress[0].ports[0].endPort: endPort may not be used with the named port 'http'"),
    (_with_rule({"ports": [{"port": 80, "endPort": 65536}]}), "policies[1].spec.ingress[0].ports[0].endPort: port 65536 out of range 1-65535"),
    (_with_rule("all"), "policies[1].spec.ingress[0]: must be a mapping, got a string"),
    ([{"metadata": "p", "spec": {}}], "policies[0].metadata: must be a mapping with name and namespace, got a string"),
    ([{"apiVersion": "extensions/v1beta1", "metadata": {"name": "p", "namespace": "x"}, "spec": {}}],
     "policies[0].apiVersion: expected networking.k8s.io/v1, got 'extensions/v1beta1'"),
    (_with_rule({"from": [{"podSelector": {"matchExpressions": ["a"]}}]}),
     "policies[1].spec.ingress[0].from[0].podSelector.matchExpressions[0]: must be a mapping, got a string"),
    (_with_rule({"from": [{"podSelector": {"matchExpressions": [{"key": "a", "operator": "In", "values": ["b", 1]}]}}]}),
     "policies[1].spec.ingress[0].from[0].podSelector.matchExpressions[0].values[1]: must be a string, got an integer 1"),
    (_with_rule({"ports": [80]}), "policies[1].spec.ingress[0].ports[0]: must be a mapping, got an integer"),
    (_with_rule({"from": [{"ipBlock": {"cidr": "10.0.0.0/16", "except": ["2001:db8::/64"]}}]}),
     "policies[1].spec.ingress[0].from[0].ipBlock.except[0]: '2001:db8::/64' is not a strict subset of cidr '10.0.0.0/16'"),
    (_with_rule({"from": [{"ipBlock": {"cidr": "2001:db8::/32", "except": ["10.0.0.0/24"]}}]}),
     "policies[1].spec.ingress[0].from[0].ipBlock.except[0]: '10.0.0.0/24' is not a strict subset of cidr '2001:db8::/32'"),
])
def test_invalid_policies(policies, message):
    with pytest.raises(ObjectError) as info:
        engine(*policies)
    assert str(info.value) == message


@pytest.mark.parametrize("namespaces, pods, message", [
    ({"x": {}}, [{"namespace": "q", "name": "a"}], "pods[0].namespace: unknown namespace 'q'"),
    ({"x": {}}, ["x/a"], "pods[0]: must be a mapping, got a string"),
    ({"x": {}}, [["x", "a"]], "pods[0]: must be a mapping, got a list"),
    ({"x": {}}, [1.5], "pods[0]: must be a mapping, got a number"),
    ({"x": {}}, [{"namespace": "x", "name": "a"}, {"namespace": "x", "name": "a"}], "pods[1]: duplicate pod x/a"),
    ({"x": {}}, [{"namespace": "x", "name": "a", "ip": "10.0.0.256"}], "pods[0].ip: invalid IP address '10.0.0.256'"),
    ({"x": {}}, [{"namespace": "x", "name": "a", "ports": [{"containerPort": 0}]}], "pods[0].ports[0].containerPort: port 0 out of range 1-65535"),
    ({"x": {}}, [{"namespace": "x", "name": "a", "ports": ["http"]}], "pods[0].ports[0]: must be a mapping, got a string"),
    ({"x": {}}, [{"namespace": "x", "name": "a", "ports": [{"containerPort": 80, "name": 5}]}],
     "pods[0].ports[0].name: must be a string, got an integer"),
    ({"x": {}}, [{"namespace": "x", "name": "a", "ip": 5}], "pods[0].ip: invalid IP address 5"),
    ({"x": {}}, [{"namespace": "x", "name": "a", "labels": ["a"]}], "pods[0].labels: must be a mapping, got a list"),
    ({"x": {"a": None}}, [], "namespaces.x.a: label value must be a string, got null None"),
    ({"x": {"": "a"}}, [], "namespaces.x: label keys must be non-empty strings, got a string"),
    ({"x": {}}, "pods", "pods: must be a list, got a string"),
])
def test_invalid_cluster(namespaces, pods, message):
    with pytest.raises(ObjectError) as info:
        Engine(namespaces, pods, [])
    assert str(info.value) == message


def test_case_style_namespaces_accepted():
    eng = Engine({"x": {"labels": {"ns": "x"}}}, [{"namespace": "x", "name": "a"}, {"namespace": "x", "name": "b"}],
                 [policy("p", "x", ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"ns": "x"}}}]}])])
    assert eng.verdict("x/a", "x/b", 80).allowed


# --- the grouped path ----------------------------------------------------------------------------------

def test_grouping_merges_indistinguishable_pods():
    pods = [{"namespace": ns, "name": "p%d" % i, "labels": {"app": "web" if i % 2 else "db"}, "ip": "10.%d.0.%d" % (n, i + 1)}
            for n, ns in enumerate(("x", "y", "z")) for i in range(10)]
    eng = Engine(NAMESPACES, pods, [policy("p", "x", podSelector={"matchLabels": {"app": "web"}},
                                           ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"ns": "y"}}}]}])])
    groups = sorted(sorted(g) for g in eng.groups())
    # x web (selected), y (the peer), x db and all of z (indistinguishable: no policy, no peer).
    assert len(groups) == 3
    assert sorted(len(g) for g in groups) == [5, 10, 15]
    reach = eng.reachability(ports=[(80, "TCP"), (53, "UDP")])
    assert reach.group_count == 3
    assert len(reach) == 30 * 30 * 2
    # y -> x web allowed; x db / z -> x web denied; everything else allowed (no other isolation).
    expected = 0
    for src in pods:
        for dst in pods:
            if src is dst:
                continue
            denied = dst["namespace"] == "x" and dst["labels"]["app"] == "web" and src["namespace"] != "y"
            expected += 0 if denied else 1
    assert reach.count_allowed() == expected * 2
    rows = list(reach.rows())
    assert len(rows) == len(reach)
    assert sum(1 for r in rows if r[4] and r[0] != r[1]) == expected * 2
    assert reach[("y/p0", "x/p1", 80, "TCP")] is True
    assert reach[("z/p0", "x/p1", 80, "TCP")] is False
    assert ("z/p0", "x/p1", 80, "TCP") in reach and ("z/p0", "x/p1", 81, "TCP") not in reach
    with pytest.raises(KeyError):
        reach[("z/p0", "x/p1", 81, "TCP")]
    group_rows = list(reach.group_rows())
    assert len(group_rows) == 3 * 3 * 2
    # Each group row answers like every pair of its members, allowed and denied rows alike.
    assert {row[4] for row in group_rows} == {True, False}
    for srcs, dsts, port, protocol, allowed in group_rows:
        for src in srcs:
            for dst in dsts:
                assert reach[(src, dst, port, protocol)] is allowed, (src, dst, port, protocol)


def test_ipblocks_split_groups_by_address():
    pods = [{"namespace": "x", "name": "p%d" % i, "ip": "10.0.%d.1" % i} for i in range(4)] + [{"namespace": "x", "name": "noip"}]
    eng = Engine(NAMESPACES, pods, [policy("p", "y", ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/23", "except": ["10.0.1.0/24"]}}]}])])
    assert sorted(sorted(g) for g in eng.groups()) == [["x/noip", "x/p1", "x/p2", "x/p3"], ["x/p0"]]
    reach = eng.reachability(["x/p0", "x/p1", "x/noip", "ip:10.0.0.9", "ip:10.0.1.9"], ["x/p2"] + [], [(80, "TCP")])
    assert all(reach[(s, "x/p2", 80, "TCP")] for s in reach.sources)


def test_reachability_rejects_bad_requests():
    eng = engine()
    with pytest.raises(ObjectError, match=r"^sources\[1\]: unknown pod 'x/q'$"):
        eng.reachability(["x/a", "x/q"], ["x/b"], [(80, "TCP")])
    with pytest.raises(ObjectError, match=r"^ports\[0\]: port 0 out of range 1-65535$"):
        eng.reachability(["x/a"], ["x/b"], [(0, "TCP")])
    reach = eng.reachability(["x/a"], ["x/b"], [80])
    assert reach.ports == [(80, "TCP")]


def test_reachability_lookups():
    """Endpoints are looked up as given or in their canonical form; anything not requested is a KeyError."""
    eng = engine(policy("p", "x", ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"ns": "y"}}}]}]))
    reach = eng.reachability(["x/a", "y/a", "ip:2001:db8::1"], ["x/b", "y/b", "z/a"], [(80, "TCP"), (53, "UDP")])
    assert reach.index(Endpoint.pod("x", "a")) == reach.index("x/a")
    assert reach.index("ip:2001:DB8::1") == reach.index("ip:2001:db8::1") != reach.index("x/a")
    for bad in ("x/zz", "nope", 5):
        with pytest.raises(KeyError):
            reach.index(bad)
    assert reach.allowed("y/a", "x/b", 80, "tcp") is reach[("y/a", "x/b", 80, "TCP")] is True
    assert reach.allowed("x/a", "x/b", 53, "udp") is False
    assert reach.row("y/a", 80) >> reach.index("x/b") & 1 == 1
    assert reach.row("x/a", 80) >> reach.index("x/b") & 1 == 0
    assert reach.row("x/a", 80) >> reach.index("y/b") & 1 == 1
    # only what was requested has an answer: z/a and x/b are destinations only (x/b shares x/a's engine
    # group, z/a has a group of its own), x/a a source only
    for call in (lambda: reach.row("x/a", 81), lambda: reach.row("z/a", 80), lambda: reach.row("x/b", 80),
                 lambda: reach.allowed("x/a", "x/b", 81), lambda: reach.allowed("x/a", "x/b", 80, 6),
                 lambda: reach.allowed("z/a", "x/a", 80), lambda: reach.allowed("x/b", "y/b", 80),
                 lambda: reach.allowed("x/a", "x/a", 80), lambda: reach.allowed(Endpoint.pod("x", "b"), "y/b", 80),
                 lambda: reach[("x/a", "x/b")], lambda: reach[5], lambda: reach[(["x/a"], "x/b", 80, "TCP")]):
        with pytest.raises(KeyError):
            call()
    assert ("x/b", "y/b", 80, "TCP") not in reach and ("x/a", "y/b", 80, "TCP") in reach
    assert reach.allowed(Endpoint.pod("y", "a"), Endpoint.pod("x", "b"), 80) is True
    assert all(key in reach for key in reach)
    keys = list(reach)
    assert len(keys) == len(reach) == 3 * 3 * 2
    assert keys[:3] == [("x/a", "x/b", 80, "TCP"), ("x/a", "x/b", 53, "UDP"), ("x/a", "y/b", 80, "TCP")]
    assert set(keys) == {(s, d, p, proto) for s in ("x/a", "y/a", "ip:2001:db8::1") for d in ("x/b", "y/b", "z/a")
                         for p, proto in ((80, "TCP"), (53, "UDP"))}


def test_reachability_defaults_to_tcp_80():
    reach = evaluate_bulk.Reachability(engine())
    assert reach.ports == [(80, "TCP")] and reach.sources == reach.destinations == [p["namespace"] + "/" + p["name"] for p in PODS]
    assert engine().reachability().ports == [(80, "TCP")]


def test_reachability_ports_are_pairs_or_bare_numbers_and_nothing_else():
    reach = evaluate_bulk.Reachability(engine(), ports=[80, [53, "UDP"], (80, "TCP")])
    assert reach.ports == [(80, "TCP"), (53, "UDP")]
    for bad, message in (([[80]], "ports[0]: must be a port number, got a list [80]"),
                         ([80, (53, "UDP", 1)], "ports[1]: must be a port number, got a list (53, 'UDP', 1)")):
        with pytest.raises(ObjectError) as err:
            evaluate_bulk.Reachability(engine(), ports=bad)
        assert str(err.value) == message


def test_popcount_fallback_counts_bits():
    assert [evaluate_bulk._popcount_fallback(v) for v in (0, 1, 0b1011, (1 << 70) | 1)] == [0, 1, 3, 2]


def test_named_port_of_another_protocol_is_not_matched():
    """A named port matches only a container port of that name *and* the rule's protocol: the policy's
    TCP "dns" does not open x/a's UDP port named "dns" (grouped and per-pod paths alike)."""
    eng = engine(policy("p", "x", ingress=[{"ports": [{"port": "dns", "protocol": "TCP"}]}]))
    check(eng, "y/a", "x/a", 53, False, "UDP")
    check(eng, "y/a", "x/a", 53, False, "TCP")
    eng = engine(policy("p", "x", ingress=[{"ports": [{"port": "dns", "protocol": "UDP"}]}]))
    check(eng, "y/a", "x/a", 53, True, "UDP")
    check(eng, "y/a", "x/a", 53, False, "TCP")
    # the name in both protocols, from different peers: y gets TCP "dns" only, z UDP "dns" only
    eng = engine(policy("tcp", "x", ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"ns": "y"}}}],
                                              "ports": [{"port": "dns", "protocol": "TCP"}]}]),
                 policy("udp", "x", ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"ns": "z"}}}],
                                              "ports": [{"port": "dns", "protocol": "UDP"}]}]))
    check(eng, "y/a", "x/a", 53, False, "UDP")
    check(eng, "z/a", "x/a", 53, True, "UDP")


def test_port_names_up_to_15_characters_are_valid():
    """IANA_SVC_NAME: at most 15 characters; the 16-character name is rejected above."""
    named = [{"namespace": "x", "name": "a", "labels": {}, "ports": _ports(("abcdefghijklmno", 8443, "TCP"))},
             {"namespace": "x", "name": "b", "labels": {}, "ports": []}]
    eng = engine(policy("p", "x", ingress=[{"ports": [{"port": "abcdefghijklmno"}]}]), pods=named)
    check(eng, "x/b", "x/a", 8443, True)
    check(eng, "x/b", "x/a", 8444, False)


def test_namespace_labels_are_given_bare_or_under_labels_and_none_is_no_labels():
    eng = Engine({"a": {"labels": None}, "b": {"labels": {"x": "y"}}, "c": {"x": "z"}, "d": None}, [], [])
    assert {name: labels for name, (labels, _set) in eng.namespaces.items()} == {
        "a": {}, "b": {"x": "y"}, "c": {"x": "z"}, "d": {}}
