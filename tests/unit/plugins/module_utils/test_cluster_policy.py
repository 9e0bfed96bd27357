# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""AdminNetworkPolicy and BaselineAdminNetworkPolicy over NetworkPolicy (module_utils/_model/cluster_policy.py).

The first groups encode the cases of the network-policy-api project's conformance suite (kubernetes-sigs/
network-policy-api, Apache-2.0, tag v0.1.5: conformance/base/manifests.yaml for the namespaces and pods,
conformance/base/api_integration/core-anp-np-banp.yaml with tests/admin-network-policy-core-integration.go, and
conformance/base/admin_network_policy/core-priority-field.yaml with tests/admin-network-policy-core-priority.go):
their objects re-stated as data, each probe and its expected result as the Go test states it.  The last groups
check the collection's own guardrail, compiled from the matrix, with the same engine."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import ObjectError
from ansible_collections.netzone.segmentation.plugins.module_utils._model.cluster_policy import ClusterEngine
from ansible_collections.netzone.segmentation.plugins.module_utils._model.compile import compile_manifests
from ansible_collections.netzone.segmentation.plugins.module_utils._model.evaluate import Engine
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import default_matrix, normalize_matrix

V1A1 = "policy.networking.k8s.io/v1alpha1"
HOUSES = {"gryffindor": "harry-potter", "slytherin": "draco-malfoy", "hufflepuff": "cedric-diggory",
          "ravenclaw": "luna-lovegood"}


def _ns(house):
    return "network-policy-conformance-" + house


def _conformance_cluster():
    """conformance/base/manifests.yaml: four namespaces labelled by house, two pods each (StatefulSet, 2 replicas),
    serving TCP 80 and 8080, UDP 53 and 5353, SCTP 9003 and 9005."""
    namespaces = {_ns(h): {"conformance-house": h, "kubernetes.io/metadata.name": _ns(h)} for h in HOUSES}
    pods = []
    for n, (house, person) in enumerate(sorted(HOUSES.items())):
        for i in range(2):
            pods.append({"namespace": _ns(house), "name": "%s-%d" % (person, i), "ip": "10.244.%d.%d" % (n, i + 10),
                         "labels": {"conformance-house": house}})
    return namespaces, pods


def _house_peer(kind, house):
    if kind == "namespaces":
        return {"namespaces": {"matchLabels": {"conformance-house": house}}}
    return {"pods": {"namespaceSelector": {"matchLabels": {"conformance-house": house}},
                     "podSelector": {"matchLabels": {"conformance-house": house}}}}


def _admin(name, priority, subject, action_in, action_out, peer="namespaces", kind="AdminNetworkPolicy"):
    spec = {"subject": subject,
            "ingress": [{"name": "ingress-from-slytherin", "action": action_in, "from": [_house_peer(peer, "slytherin")]}],
            "egress": [{"name": "egress-to-slytherin", "action": action_out, "to": [_house_peer(peer, "slytherin")]}]}
    if priority is not None:
        spec["priority"] = priority
    return {"apiVersion": V1A1, "kind": kind, "metadata": {"name": name}, "spec": spec}


GRYFFINDOR_NS = {"namespaces": {"matchLabels": {"conformance-house": "gryffindor"}}}
GRYFFINDOR_PODS = {"pods": {"namespaceSelector": {"matchLabels": {"conformance-house": "gryffindor"}},
                            "podSelector": {"matchLabels": {"conformance-house": "gryffindor"}}}}

#: core-anp-np-banp.yaml's NetworkPolicy: gryffindor allows ingress from and egress to slytherin.
NP_GRYFFINDOR = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                 "metadata": {"name": "allow-gress-from-to-slytherin-to-gryffindor", "namespace": _ns("gryffindor")},
                 "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"],
                          "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"conformance-house": "slytherin"}}}]}],
                          "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"conformance-house": "slytherin"}}}]}]}}


def _engine(admin, netpols=()):
    namespaces, pods = _conformance_cluster()
    return ClusterEngine(Engine(namespaces, pods, list(netpols)), admin)


def _reach(engine, src_house, src_i, dst_house, dst_i, port, protocol="TCP"):
    src = "%s/%s-%d" % (_ns(src_house), HOUSES[src_house], src_i)
    dst = "%s/%s-%d" % (_ns(dst_house), HOUSES[dst_house], dst_i)
    return engine.verdict(src, dst, port, protocol).allowed


# --- AdminNetworkPolicyIntegration (ANP Pass → NetworkPolicy → BaselineAdminNetworkPolicy) -------------------------
def _integration(ingress_action="Deny", egress_action="Deny", with_np=True):
    anp = _admin("pass-example", 10, GRYFFINDOR_NS, ingress_action, egress_action)
    banp = _admin("default", None, GRYFFINDOR_NS, "Deny", "Deny", kind="BaselineAdminNetworkPolicy")
    return _engine([anp, banp], [NP_GRYFFINDOR] if with_np else [])


def test_integration_anp_deny_wins_over_the_networkpolicy_allow():
    # "Should Deny traffic from slytherin to gryffindor respecting ANP" / "... to slytherin from gryffindor ..."
    engine = _integration()
    assert not _reach(engine, "slytherin", 0, "gryffindor", 0, 80)
    assert not _reach(engine, "slytherin", 1, "gryffindor", 0, 8080)
    assert not _reach(engine, "gryffindor", 0, "slytherin", 0, 80)
    assert not _reach(engine, "gryffindor", 1, "slytherin", 0, 8080)
    verdict = engine.verdict("%s/draco-malfoy-0" % _ns("slytherin"), "%s/harry-potter-0" % _ns("gryffindor"), 80)
    assert verdict.ingress.layer == "admin" and "pass-example" in verdict.ingress.by and verdict.egress.layer == "none"


def test_integration_pass_hands_over_to_the_networkpolicy():
    # "Should support a 'pass-ingress' / 'pass-egress' policy for ANP and respect the match for network policy"
    engine = _integration("Pass", "Pass")
    assert _reach(engine, "slytherin", 0, "gryffindor", 0, 80)
    assert _reach(engine, "slytherin", 1, "gryffindor", 0, 8080)
    assert _reach(engine, "gryffindor", 0, "slytherin", 0, 80)
    assert _reach(engine, "gryffindor", 1, "slytherin", 0, 8080)
    verdict = engine.verdict("%s/harry-potter-0" % _ns("gryffindor"), "%s/draco-malfoy-0" % _ns("slytherin"), 80)
    assert verdict.egress.layer == "networkpolicy"


def test_integration_pass_without_networkpolicy_falls_to_the_baseline():
    # "... respect the match for baseline admin network policy" (the NetworkPolicy deleted)
    engine = _integration("Pass", "Pass", with_np=False)
    assert not _reach(engine, "slytherin", 0, "gryffindor", 0, 80)
    assert not _reach(engine, "slytherin", 1, "gryffindor", 0, 8080)
    assert not _reach(engine, "gryffindor", 0, "slytherin", 0, 80)
    assert not _reach(engine, "gryffindor", 1, "slytherin", 0, 8080)
    verdict = engine.verdict("%s/harry-potter-0" % _ns("gryffindor"), "%s/draco-malfoy-0" % _ns("slytherin"), 80)
    assert verdict.egress.layer == "baseline"
    # houses the policies do not select are untouched
    assert _reach(engine, "hufflepuff", 0, "ravenclaw", 1, 80)


# --- AdminNetworkPolicyPriorityField ---------------------------------------------------------------------------
def _priority(pass_priority):
    deny = _admin("priority-50-example", 50, GRYFFINDOR_PODS, "Deny", "Deny", peer="pods")
    passing = _admin("old-priority-60-new-priority-40-example", pass_priority, GRYFFINDOR_PODS, "Pass", "Pass",
                     peer="pods")
    banp = _admin("default", None, GRYFFINDOR_PODS, "Allow", "Allow", peer="pods", kind="BaselineAdminNetworkPolicy")
    return _engine([deny, passing, banp])


def test_priority_lower_number_first():
    # before the update (Pass at 60): the Deny at 50 wins, both ways
    engine = _priority(60)
    assert not _reach(engine, "slytherin", 0, "gryffindor", 0, 80)
    assert not _reach(engine, "gryffindor", 0, "slytherin", 1, 8080)
    # "Should Pass traffic from slytherin to gryffindor respecting ANP" (Pass moved to 40): no NetworkPolicy,
    # so the baseline's Allow decides
    engine = _priority(40)
    assert _reach(engine, "slytherin", 0, "gryffindor", 0, 80)
    assert _reach(engine, "slytherin", 1, "gryffindor", 1, 8080)
    assert _reach(engine, "gryffindor", 0, "slytherin", 1, 8080)


# --- rules: order, ports, networks ---------------------------------------------------------------------------------
def _rules_policy(egress):
    return {"apiVersion": V1A1, "kind": "AdminNetworkPolicy", "metadata": {"name": "rules"},
            "spec": {"priority": 5, "subject": GRYFFINDOR_NS, "egress": egress}}


def test_first_matching_rule_decides_with_ports_and_networks():
    slytherin = _house_peer("namespaces", "slytherin")
    engine = _engine([_rules_policy([
        {"name": "allow-80", "action": "Allow", "to": [slytherin], "ports": [{"portNumber": {"protocol": "TCP", "port": 80}}]},
        {"name": "deny-range", "action": "Deny", "to": [slytherin],
         "ports": [{"portRange": {"protocol": "TCP", "start": 79, "end": 8080}}]},
        {"name": "deny-udp", "action": "Deny", "to": [slytherin], "ports": [{"portNumber": {"protocol": "UDP", "port": 53}}]},
        {"name": "deny-net", "action": "Deny", "to": [{"networks": ["203.0.113.0/24", "10.244.2.10/32"]}]},
    ])])
    assert _reach(engine, "gryffindor", 0, "slytherin", 0, 80)
    assert not _reach(engine, "gryffindor", 0, "slytherin", 0, 8080)
    assert _reach(engine, "gryffindor", 0, "slytherin", 0, 8081)
    assert not _reach(engine, "gryffindor", 0, "slytherin", 0, 53, "UDP")
    assert _reach(engine, "gryffindor", 0, "slytherin", 0, 5353, "UDP")
    src = "%s/harry-potter-0" % _ns("gryffindor")
    assert not engine.verdict(src, "ip:203.0.113.9", 443).allowed
    assert engine.verdict(src, "ip:198.51.100.9", 443).allowed
    # a networks peer matches a pod's address too (10.244.2.10 is luna-lovegood-0)
    assert not _reach(engine, "gryffindor", 0, "ravenclaw", 0, 80)
    assert _reach(engine, "gryffindor", 0, "ravenclaw", 1, 80)
    # a rule without a name is named by its place
    unnamed = _engine([_rules_policy([{"action": "Deny", "to": [{"networks": ["203.0.113.0/24"]}]}])])
    assert unnamed.verdict(src, "ip:203.0.113.9", 443).egress.by == "AdminNetworkPolicy rules rule egress[0]"
    # the subject only: slytherin's own egress is not touched
    assert engine.verdict("%s/draco-malfoy-0" % _ns("slytherin"), "ip:203.0.113.9", 443).allowed


@pytest.mark.parametrize("mutate, path, message", [
    (lambda p: p["spec"].update(priority=1001), "policies[0].spec.priority", "0-1000"),
    (lambda p: p["spec"]["egress"][0].update(action="Log"), "policies[0].spec.egress[0].action", "Allow, Deny, Pass"),
    (lambda p: p["spec"]["egress"][0].update(to=[{"networks": ["10.0.0.1/8"]}]),
     "policies[0].spec.egress[0].to[0].networks[0]", "invalid CIDR"),
    (lambda p: p["spec"]["egress"][0].update(to=[{"nodes": {}}]), "policies[0].spec.egress[0].to[0].nodes",
     "not modelled"),
    (lambda p: p["spec"].update(subject={}), "policies[0].spec.subject", "exactly one"),
    (lambda p: p["spec"]["egress"][0].update(ports=[{"portRange": {"start": 90, "end": 80}}]),
     "policies[0].spec.egress[0].ports[0].portRange", "below start"),
    (lambda p: p["spec"]["egress"][0].update(ports=[{"portNumber": {"protocol": "ICMP", "port": 1}}]),
     "policies[0].spec.egress[0].ports[0].portNumber.protocol", "must be one of TCP, UDP, SCTP"),
    (lambda p: p["spec"]["egress"][0].update(to=[]), "policies[0].spec.egress[0].to", "needs at least one peer"),
    (lambda p: p["spec"]["egress"][0].update(to=[{"networks": []}]), "policies[0].spec.egress[0].to[0].networks",
     "needs at least one CIDR"),
    (lambda p: p["spec"]["egress"][0].update(ports=[{"portNumber": {"protocol": "TCP", "port": 0}}]),
     "policies[0].spec.egress[0].ports[0].portNumber", "start must be a port 1-65535, got 0"),
    (lambda p: p.update(kind="ClusterNetworkPolicy"), "policies[0]", "must be"),
])
def test_bad_objects_name_the_path(mutate, path, message):
    policy = _rules_policy([{"name": "r", "action": "Deny", "to": [_house_peer("namespaces", "slytherin")]}])
    mutate(policy)
    with pytest.raises(ObjectError) as err:
        _engine([policy])
    assert err.value.path == path and message in str(err.value), str(err.value)


def test_two_admin_policies_of_one_name_are_refused_by_name():
    policy = _rules_policy([{"name": "r", "action": "Deny", "to": [_house_peer("namespaces", "slytherin")]}])
    with pytest.raises(ObjectError) as err:
        _engine([policy, dict(policy, spec=dict(policy["spec"], priority=6))])
    assert (err.value.path, str(err.value)) == ("policies[1].metadata.name",
                                                "policies[1].metadata.name: duplicate AdminNetworkPolicy rules")


# --- the collection's guardrail ------------------------------------------------------------------------------------
INVENTORY = {"groups": {"loadbalancers": ["lb1"], "microk8s": ["n1"]},
             "addresses": {"lb1": "10.0.0.11", "n1": "10.0.0.21"}}


def _guardrail_engine(stage, extra_netpols=()):
    raw = default_matrix()
    raw.setdefault("guards", {}).update(unmanaged_internet=stage, unmanaged_exempt_namespaces=["monitoring"])
    matrix = normalize_matrix(raw, INVENTORY)
    manifests = compile_manifests(matrix)
    namespaces = {name: {"kubernetes.io/metadata.name": name}
                  for name in ["kube-system", "monitoring", "default", "team-a"] + [z["namespace"] for z in matrix["zones"].values()]}
    pods = [{"namespace": ns, "name": "p", "ip": "10.1.%d.5" % i, "labels": {}} for i, ns in enumerate(sorted(namespaces))]
    netpols = [o for o in manifests if o["kind"] == "NetworkPolicy"] + list(extra_netpols)
    admin = [o for o in manifests if o["kind"] == "AdminNetworkPolicy"]
    return ClusterEngine(Engine(namespaces, pods, netpols), admin), Engine(namespaces, pods, netpols)


PUBLIC = ("ip:1.1.1.1", "ip:93.184.216.34", "ip:2a00:1450:4001::1")


def test_deny_stage_cuts_direct_internet_of_unmanaged_namespaces_only():
    engine, _plain = _guardrail_engine("deny")
    for target in PUBLIC:
        for ns in ("default", "team-a"):
            verdict = engine.verdict("%s/p" % ns, target, 443)
            assert not verdict.allowed and verdict.egress.layer == "admin", verdict.explain()
        for ns in ("kube-system", "monitoring"):
            assert engine.verdict("%s/p" % ns, target, 443).allowed
    # not the internet: the cluster, private ranges, the inventory's hosts
    for target in ("ip:10.0.0.21", "ip:192.168.7.7", "default/p", "kube-system/p"):
        assert engine.verdict("team-a/p", target, 443).allowed, target


def test_a_foreign_networkpolicy_cannot_reopen_the_internet_but_still_restricts():
    allow_all = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                 "metadata": {"name": "allow-all-egress", "namespace": "team-a"},
                 "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]}}
    engine, _plain = _guardrail_engine("deny", [allow_all])
    assert not engine.verdict("team-a/p", "ip:1.1.1.1", 443).allowed
    only_dns = copy.deepcopy(allow_all)
    only_dns["metadata"]["name"] = "only-dns"
    only_dns["spec"]["egress"] = [{"ports": [{"protocol": "UDP", "port": 53}]}]
    engine, _plain = _guardrail_engine("deny", [only_dns])
    # the guardrail never widens: the namespace's own isolation still holds for what is not the internet
    assert not engine.verdict("team-a/p", "default/p", 443).allowed
    assert engine.verdict("team-a/p", "default/p", 53, "UDP").allowed


def test_warn_stage_and_the_zones_are_exactly_the_networkpolicy_verdicts():
    for stage in ("warn", "deny"):
        engine, plain = _guardrail_engine(stage)
        sources = ["%s/p" % ns for ns in ("frontend", "backend", "db", "proxy", "ingress", "kube-system")]
        if stage == "warn":
            sources += ["default/p", "team-a/p"]
        for src in sources:
            for dst in PUBLIC + ("ip:10.0.0.11", "db/p", "proxy/p"):
                for port in (443, 5432, 3128):
                    assert engine.verdict(src, dst, port).allowed == plain.verdict(src, dst, port).allowed, (src, dst, port)


def test_guardrail_proof_in_both_stages_and_a_broken_policy_is_caught(monkeypatch):
    from ansible_collections.netzone.segmentation.plugins.module_utils._model import compile as compile_module
    from ansible_collections.netzone.segmentation.plugins.module_utils._model.cluster_policy import guardrail_proof
    from ansible_collections.netzone.segmentation.plugins.module_utils._report.sections import report_sections
    for stage in ("warn", "deny"):
        raw = default_matrix()
        raw.setdefault("guards", {}).update(unmanaged_internet=stage, unmanaged_exempt_namespaces=["default"])
        matrix = normalize_matrix(raw, INVENTORY)
        proof = guardrail_proof(matrix)
        assert proof["ok"] and proof["stage"] == stage
        by_ns = {(r["namespace"], r["address"]): r for r in proof["rows"]}
        # "default" is exempt here, so the probe of what the matrix does not manage is another namespace
        other = by_ns[("netzone-probe-unmanaged", "1.1.1.1")]
        assert other["internet"] == ("denied" if stage == "deny" else "allowed")
        assert by_ns[("default", "1.1.1.1")]["internet"] == "allowed"
        assert by_ns[("db", "1.1.1.1")]["internet"] == "denied" and by_ns[("db", "1.1.1.1")]["layer"] == "networkpolicy"
        sections = {s["title"]: s for s in report_sections(matrix)}
        intro = sections["Cluster-wide guardrails"]["markdown"].split("\n\n", 1)[0]
        assert intro.endswith(". Proven on a probe cluster: every probe as expected.")
    # the deny stage compiled with a policy that selects nothing: the proof says so, and the report shows it
    real = compile_module.compile_unmanaged_internet

    def broken(matrix_):
        anp = real(matrix_)
        anp["spec"]["subject"] = {"namespaces": {"matchLabels": {"nothing": "here"}}}
        return anp

    monkeypatch.setattr(compile_module, "compile_unmanaged_internet", broken)
    proof = guardrail_proof(matrix)
    assert not proof["ok"]
    assert [r["namespace"] for r in proof["rows"] if not r["ok"]] == ["netzone-probe-unmanaged"] * 2
    intro = {s["title"]: s for s in report_sections(matrix)}["Cluster-wide guardrails"]["markdown"].split("\n\n", 1)[0]
    assert intro.endswith(". Proven on a probe cluster: MISMATCH.")
    from ansible_collections.netzone.segmentation.plugins.module_utils._model.cluster_policy import guardrail_problems
    assert guardrail_problems(proof) == [
        "the cluster-wide guardrail against direct internet does not hold (guards.unmanaged_internet: deny): "
        "netzone-probe-unmanaged get allowed where denied by the guardrail was expected"]
    # given the plan's proof, the report shows that one and proves nothing again
    monkeypatch.setattr(compile_module, "compile_unmanaged_internet", real)
    from ansible_collections.netzone.segmentation.plugins.module_utils._model import cluster_policy

    def not_again(*args, **kwargs):
        raise AssertionError("the report proved the guardrail again")
    monkeypatch.setattr(cluster_policy, "guardrail_proof", not_again)
    shown = {s["title"]: s for s in report_sections(matrix, guardrail=proof)}["Cluster-wide guardrails"]["markdown"]
    assert "Proven on a probe cluster: MISMATCH." in shown


def test_an_ingress_rule_decides_the_ingress_side_only():
    """An AdminNetworkPolicy with only an ingress rule: it denies slytherin's pods reaching gryffindor, and
    leaves gryffindor's own egress to the NetworkPolicies (none here: allowed)."""
    policy = {"apiVersion": V1A1, "kind": "AdminNetworkPolicy", "metadata": {"name": "ingress-only"},
              "spec": {"priority": 5, "subject": GRYFFINDOR_NS,
                       "ingress": [{"name": "deny-from-slytherin", "action": "Deny",
                                    "from": [_house_peer("namespaces", "slytherin")]}]}}
    engine = _engine([policy])
    verdict = engine.verdict("%s/draco-malfoy-0" % _ns("slytherin"), "%s/harry-potter-0" % _ns("gryffindor"), 80)
    assert not verdict.allowed
    assert (verdict.ingress.layer, verdict.ingress.by) == ("admin", "AdminNetworkPolicy ingress-only rule deny-from-slytherin")
    assert _reach(engine, "gryffindor", 0, "slytherin", 0, 80)


@pytest.mark.parametrize("mutate, message", [
    (lambda p: p["spec"].update(priority=1001), "policies[0].spec.priority: must be an integer 0-1000, got 1001"),
    (lambda p: p["spec"].update(priority=True), "policies[0].spec.priority: must be an integer 0-1000, got True"),
    (lambda p: p["spec"]["egress"][0].update(action="Log"),
     "policies[0].spec.egress[0].action: must be one of Allow, Deny, Pass, got 'Log'"),
    (lambda p: p["spec"]["egress"][0].update(to=[{"networks": ["10.0.0.1/8"]}]),
     "policies[0].spec.egress[0].to[0].networks[0]: invalid CIDR '10.0.0.1/8'"),
    (lambda p: p["spec"]["egress"][0].update(to=[{"networks": ["10.0.0.0/8", "fe80::1/10"]}]),
     "policies[0].spec.egress[0].to[0].networks[1]: invalid CIDR 'fe80::1/10'"),
    (lambda p: p["spec"]["egress"][0].update(to=[{"nodes": {}}]),
     "policies[0].spec.egress[0].to[0].nodes: nodes peers are not modelled here"),
    (lambda p: p["spec"].update(subject={}), "policies[0].spec.subject: needs exactly one of namespaces, pods"),
    (lambda p: p["spec"].update(subject={"namespace": {}}),
     "policies[0].spec.subject: unknown field 'namespace' (expected one of: namespaces, pods)"),
    (lambda p: p["spec"].update(tier="x"),
     "policies[0].spec: unknown field 'tier' (expected one of: priority, subject, ingress, egress)"),
    (lambda p: p["spec"]["egress"][0].update(ports=[{"portRange": {"start": 90, "end": 80}}]),
     "policies[0].spec.egress[0].ports[0].portRange: end 80 is below start 90"),
    (lambda p: p["spec"]["egress"][0].update(ports=[{"portRange": {"start": 90, "end": 65536}}]),
     "policies[0].spec.egress[0].ports[0].portRange: end must be a port 1-65535, got 65536"),
    (lambda p: p["spec"]["egress"][0].update(ports=[{"portRange": {"protocol": "UDP", "start": 90, "stop": 95}}]),
     "policies[0].spec.egress[0].ports[0].portRange: unknown field 'stop' (expected one of: protocol, start, end)"),
    (lambda p: p["spec"]["egress"][0].update(ports=[{"portNumber": {"protocol": "ICMP", "port": 1}}]),
     "policies[0].spec.egress[0].ports[0].portNumber.protocol: must be one of TCP, UDP, SCTP"),
    (lambda p: p["spec"]["egress"][0].update(ports=[{"portNumber": {"port": 80, "end": 81}}]),
     "policies[0].spec.egress[0].ports[0].portNumber: unknown field 'end' (expected one of: protocol, port)"),
    (lambda p: p["spec"]["egress"][0].update(ports=[{"namedPort": ""}]),
     "policies[0].spec.egress[0].ports[0].namedPort: must be a port name"),
    (lambda p: p["spec"]["egress"][0].update(ports=[{"namedPort": 80}]),
     "policies[0].spec.egress[0].ports[0].namedPort: must be a port name"),
    (lambda p: p["spec"]["egress"][0].update(ports=[{"namedPort": "http", "portNumber": {"port": 80}}]),
     "policies[0].spec.egress[0].ports[0]: needs exactly one of portNumber, portRange, namedPort"),
    (lambda p: p["spec"]["egress"][0].update(to=[]), "policies[0].spec.egress[0].to: needs at least one peer"),
    (lambda p: p["spec"]["egress"][0].update(to=[{"networks": []}]),
     "policies[0].spec.egress[0].to[0].networks: needs at least one CIDR"),
    (lambda p: p["spec"]["egress"][0].update(ports=[{"portNumber": {"protocol": "TCP", "port": 0}}]),
     "policies[0].spec.egress[0].ports[0].portNumber: start must be a port 1-65535, got 0"),
    (lambda p: p["spec"]["egress"][0].update(to=[{"pods": {"podSelector": {}, "nodeSelector": {}}}]),
     "policies[0].spec.egress[0].to[0].pods: unknown field 'nodeSelector' (expected one of: namespaceSelector, "
     "podSelector)"),
    (lambda p: p["spec"].update(ingress=[{"action": "Deny", "from": [{"networks": ["10.0.0.0/8"]}]}]),
     "policies[0].spec.ingress[0].from[0]: unknown field 'networks' (expected one of: namespaces, pods)"),
    (lambda p: p["spec"].update(ingress=[{"action": "Deny", "to": [{"namespaces": {}}]}]),
     "policies[0].spec.ingress[0]: unknown field 'to' (expected one of: name, action, from, ports)"),
    (lambda p: p.update(kind="ClusterNetworkPolicy"),
     "policies[0]: must be policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy or BaselineAdminNetworkPolicy, "
     "got policy.networking.k8s.io/v1alpha1 ClusterNetworkPolicy"),
    (lambda p: p.update(apiVersion="policy.networking.k8s.io/v1"),
     "policies[0]: must be policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy or BaselineAdminNetworkPolicy, "
     "got policy.networking.k8s.io/v1 AdminNetworkPolicy"),
    (lambda p: p.update(kind="BaselineAdminNetworkPolicy"),
     "policies[0].metadata.name: a BaselineAdminNetworkPolicy must be named 'default'"),
    (lambda p: (p.update(kind="BaselineAdminNetworkPolicy"), p["metadata"].update(name="default")),
     "policies[0].spec: unknown field 'priority' (expected one of: subject, ingress, egress)"),
    (lambda p: (p.update(kind="BaselineAdminNetworkPolicy"), p["metadata"].update(name="default"),
                p["spec"].pop("priority"), p["spec"]["egress"][0].update(action="Pass")),
     "policies[0].spec.egress[0].action: must be one of Allow, Deny, got 'Pass'"),
])
def test_bad_objects_are_named_with_the_whole_message(mutate, message):
    policy = _rules_policy([{"name": "r", "action": "Deny", "to": [_house_peer("namespaces", "slytherin")]}])
    mutate(policy)
    with pytest.raises(ObjectError) as err:
        _engine([policy])
    assert str(err.value) == message


def test_a_second_baseline_and_a_repeated_admin_name_are_refused():
    baseline = {"apiVersion": V1A1, "kind": "BaselineAdminNetworkPolicy", "metadata": {"name": "default"},
                "spec": {"subject": GRYFFINDOR_NS, "egress": []}}
    with pytest.raises(ObjectError) as err:
        _engine([baseline, copy.deepcopy(baseline)])
    assert str(err.value) == "policies[1]: a second BaselineAdminNetworkPolicy"
    admin = _rules_policy([])
    with pytest.raises(ObjectError) as err:
        _engine([admin, baseline, copy.deepcopy(admin)])
    assert str(err.value) == "policies[2].metadata.name: duplicate AdminNetworkPolicy rules"


def test_a_named_port_rule_matches_the_destination_pods_port_of_that_name_and_protocol():
    namespaces, pods = _conformance_cluster()
    for pod in pods:
        if pod["name"] == "draco-malfoy-0":
            pod["ports"] = [{"name": "web", "containerPort": 8080, "protocol": "TCP"},
                            {"name": "dns", "containerPort": 5353, "protocol": "UDP"}]
    policy = _rules_policy([{"name": "deny-web", "action": "Deny", "to": [_house_peer("namespaces", "slytherin")],
                             "ports": [{"namedPort": "web"}, {"namedPort": "dns"}]}])
    engine = ClusterEngine(Engine(namespaces, pods, []), [policy])
    src, dst = "%s/harry-potter-0" % _ns("gryffindor"), "%s/draco-malfoy-0" % _ns("slytherin")
    verdict = engine.verdict(src, dst, 8080)
    assert verdict.explain() == (
        "denied: egress denied (admin: AdminNetworkPolicy rules rule deny-web); ingress allowed (none: no policy "
        "decides ingress of %s)" % dst)
    assert repr(verdict.egress) == "Side(denied, admin, AdminNetworkPolicy rules rule deny-web)"
    assert bool(verdict) is False
    # another port of that pod, the named port under another protocol, the same port on a pod without the name
    assert engine.verdict(src, dst, 8081).allowed
    assert engine.verdict(src, dst, 8080, "UDP").allowed
    assert not engine.verdict(src, dst, 5353, "UDP").allowed
    assert engine.verdict(src, "%s/draco-malfoy-1" % _ns("slytherin"), 8080).allowed


def test_policies_read_from_json_are_the_same_policies():
    """Objects as a YAML or JSON parser makes them (new strings, not this module's constants) decide alike."""
    import json  # pylint: disable=import-outside-toplevel

    namespaces, pods = _conformance_cluster()
    policy = _rules_policy([{"name": "deny-web", "action": "Deny", "to": [_house_peer("namespaces", "slytherin")]}])
    parsed = json.loads(json.dumps(policy))
    src, dst = "%s/harry-potter-0" % _ns("gryffindor"), "%s/draco-malfoy-0" % _ns("slytherin")
    verdict = ClusterEngine(Engine(namespaces, pods, []), [parsed]).verdict(src, dst, 80)
    assert verdict.explain() == (
        "denied: egress denied (admin: AdminNetworkPolicy rules rule deny-web); ingress allowed (none: no policy "
        "decides ingress of %s)" % dst)
    baseline = {"apiVersion": V1A1, "kind": "BaselineAdminNetworkPolicy", "metadata": {"name": "default"},
                "spec": {"subject": GRYFFINDOR_NS, "egress": []}}
    with pytest.raises(ObjectError) as err:
        ClusterEngine(Engine(namespaces, pods, []), json.loads(json.dumps([baseline, baseline])))
    assert str(err.value) == "policies[1]: a second BaselineAdminNetworkPolicy"
