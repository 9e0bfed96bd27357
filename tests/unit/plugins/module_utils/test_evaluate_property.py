# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property: the grouped bulk evaluation answers exactly like the per-pod evaluation, on random clusters."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.netzone.segmentation.plugins.module_utils._model.evaluate import Engine

NS_LABELS = {"zone": ["a", "b"], "env": ["prod", "dev"]}
POD_LABELS = {"app": ["web", "db", "api"], "tier": ["front", "back"]}
CONTAINER_PORTS = [("http", 80, "TCP"), ("http", 8080, "TCP"), ("dns", 53, "UDP"), ("sig", 2905, "SCTP"), ("http", 81, "UDP")]
IP_BLOCKS = [
    ("10.0.0.0/16", []), ("10.0.0.0/16", ["10.0.1.0/24"]), ("10.0.0.7/24", ["10.0.0.4/30"]), ("10.0.1.0/24", []),
    ("0.0.0.0/0", ["10.0.0.0/8"]), ("0.0.0.0/0", []), ("10.0.0.4/30", ["10.0.0.5/32"]), ("192.0.2.0/24", []),
]
PROBE_PORTS = [(80, "TCP"), (81, "TCP"), (8080, "TCP"), (53, "UDP"), (81, "UDP"), (2905, "SCTP")]
OUTSIDE = ["ip:10.0.0.5", "ip:10.0.1.3", "ip:192.0.2.1", "ip:198.51.100.7"]
NAMESPACES = ["n0", "n1", "n2"]


def labels_from(vocab):
    return st.fixed_dictionaries({}, optional=dict((k, st.sampled_from(v)) for k, v in vocab.items()))


def selector(vocab):
    expr = st.one_of(
        st.builds(lambda k, vs: {"key": k, "operator": "In", "values": vs},
                  st.sampled_from(sorted(vocab)), st.lists(st.sampled_from(sum(vocab.values(), [])), min_size=1, max_size=2)),
        st.builds(lambda k, vs: {"key": k, "operator": "NotIn", "values": vs},
                  st.sampled_from(sorted(vocab)), st.lists(st.sampled_from(sum(vocab.values(), [])), min_size=1, max_size=2)),
        st.builds(lambda k, op: {"key": k, "operator": op}, st.sampled_from(sorted(vocab)), st.sampled_from(["Exists", "DoesNotExist"])),
    )
    return st.fixed_dictionaries({}, optional={"matchLabels": labels_from(vocab), "matchExpressions": st.lists(expr, max_size=2)})


peer = st.one_of(
    st.fixed_dictionaries({"podSelector": selector(POD_LABELS)}),
    st.fixed_dictionaries({"namespaceSelector": selector(NS_LABELS)}),
    st.fixed_dictionaries({"namespaceSelector": selector(NS_LABELS), "podSelector": selector(POD_LABELS)}),
    st.sampled_from(IP_BLOCKS).map(lambda b: {"ipBlock": {"cidr": b[0], "except": list(b[1])}}),
)

port_entry = st.one_of(
    st.fixed_dictionaries({}, optional={"protocol": st.sampled_from(["TCP", "UDP", "SCTP"])}),
    st.fixed_dictionaries({"port": st.sampled_from([53, 80, 81, 8080, 2905])}, optional={"protocol": st.sampled_from(["TCP", "UDP", "SCTP"])}),
    st.fixed_dictionaries({"port": st.sampled_from([53, 80]), "endPort": st.sampled_from([80, 81, 9000])}),
    st.fixed_dictionaries({"port": st.sampled_from(["http", "dns", "sig", "none"])}, optional={"protocol": st.sampled_from(["TCP", "UDP", "SCTP"])}),
)


def rule(peers_key, ports=port_entry):
    return st.fixed_dictionaries({}, optional={peers_key: st.lists(peer, max_size=3), "ports": st.lists(ports, max_size=3)})


def spec_of(ports=port_entry):
    """A NetworkPolicy spec whose rules draw their ports from ``ports``."""
    return st.fixed_dictionaries(
        {"podSelector": selector(POD_LABELS)},
        optional={
            "policyTypes": st.lists(st.sampled_from(["Ingress", "Egress"]), max_size=2, unique=True),
            "ingress": st.lists(rule("from", ports), max_size=3),
            "egress": st.lists(rule("to", ports), max_size=3),
        },
    )


pod = st.fixed_dictionaries(
    {"namespace": st.sampled_from(NAMESPACES), "labels": labels_from(POD_LABELS)},
    optional={"ip": st.sampled_from(["10.0.0.5", "10.0.0.6", "10.0.0.200", "10.0.1.3", "10.0.1.9", "192.0.2.1"]),
              "ports": st.lists(st.sampled_from(CONTAINER_PORTS), max_size=3, unique=True).map(
                  lambda ps: [{"name": n, "containerPort": p, "protocol": proto} for n, p, proto in ps])},
)


def clusters(ports=port_entry, max_pods=8):
    """Random ``(namespaces, pods, policies)``: up to ``max_pods`` pods and five policies over three namespaces."""
    specs = st.lists(st.tuples(st.sampled_from(NAMESPACES), spec_of(ports)), max_size=5)

    @st.composite
    def cluster(draw):
        namespaces = dict((name, draw(labels_from(NS_LABELS))) for name in NAMESPACES)
        pods = draw(st.lists(pod, min_size=1, max_size=max_pods))
        for i, item in enumerate(pods):
            item["name"] = "p%d" % i
        policies = [{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                     "metadata": {"name": "pol%d" % i, "namespace": ns}, "spec": s} for i, (ns, s) in enumerate(draw(specs))]
        return namespaces, pods, policies

    return cluster()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(clusters())
def test_grouped_equals_per_pod(data):
    namespaces, pods, policies = data
    eng = Engine(namespaces, pods, policies)
    endpoints = ["%s/%s" % (p["namespace"], p["name"]) for p in pods] + OUTSIDE
    reach = eng.reachability(endpoints, endpoints, PROBE_PORTS)
    naive_count = 0
    for src in endpoints:
        for dst in endpoints:
            for port, protocol in PROBE_PORTS:
                expected = eng.verdict(src, dst, port, protocol).allowed
                assert reach[(src, dst, port, protocol)] is expected, (src, dst, port, protocol, eng.verdict(src, dst, port, protocol).explain())
                if expected and src != dst:
                    naive_count += 1
    assert reach.count_allowed() == naive_count
    assert reach.group_count <= len(endpoints)
