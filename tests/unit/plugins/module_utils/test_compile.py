# -*- coding: utf-8 -*-
"""The compiler: shape of the manifests, determinism, and schema validity for Kubernetes 1.30-1.33."""

from __future__ import annotations

import copy
import functools

import kubernetes_validate
import kubernetes_validate.utils
import pytest
import yaml
from hypothesis import given, settings

from ansible_collections.netzone.segmentation.plugins.module_utils._model.cluster_policy import parse_admin_policy
from ansible_collections.netzone.segmentation.plugins.module_utils._model.compile import (
    DEFAULT_DENY_NAME,
    DNS_POLICY_NAME,
    compile_manifests,
    compile_zone,
    group_manifests,
)
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import default_matrix, normalize_matrix

from matrix_strategies import valid_matrix

INVENTORY = {"groups": {"loadbalancers": ["lb1", "lb2"], "microk8s": ["n1", "n2", "n3"]},
             "addresses": {"lb1": "10.0.0.11", "lb2": "10.0.0.12", "n1": "10.0.0.21", "n2": "10.0.0.22",
                           "n3": "10.0.0.23"}}
K8S_VERSIONS = ["1.30.0", "1.31.0", "1.32.0", "1.33.0"]


def _default():
    return compile_manifests(normalize_matrix(None, INVENTORY))


def _by(manifests, kind, namespace=None):
    return {o["metadata"]["name"]: o for o in manifests
            if o["kind"] == kind and (namespace is None or o["metadata"].get("namespace") == namespace)}


def test_every_zone_is_isolated_and_has_dns():
    manifests = _default()
    for zone in ("ingress", "frontend", "backend", "proxy", "db"):
        policies = _by(manifests, "NetworkPolicy", zone)
        deny = policies[DEFAULT_DENY_NAME]["spec"]
        assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        dns = policies[DNS_POLICY_NAME]["spec"]["egress"][0]
        assert dns["to"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                              "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]
        assert dns["ports"] == [{"protocol": "TCP", "port": 53}, {"protocol": "UDP", "port": 53}]


def test_nothing_in_kube_system_and_everything_owned():
    for obj in _default():
        assert obj["metadata"].get("namespace") != "kube-system"
        assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "netzone.segmentation"


def test_flows_open_both_sides():
    manifests = _default()
    egress = _by(manifests, "NetworkPolicy", "frontend")["netzone-egress-to-backend"]["spec"]
    ingress = _by(manifests, "NetworkPolicy", "backend")["netzone-ingress-from-frontend"]["spec"]
    peer = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "backend"}}, "podSelector": {}}]
    assert egress["policyTypes"] == ["Egress"] and egress["egress"][0]["to"] == peer
    assert egress["egress"][0]["ports"] == [{"protocol": "TCP", "port": 80}, {"protocol": "TCP", "port": 8080}]
    assert ingress["policyTypes"] == ["Ingress"]
    assert ingress["ingress"][0]["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "frontend"}}, "podSelector": {}}]


def test_only_the_load_balancers_reach_ingress():
    policies = _by(_default(), "NetworkPolicy", "ingress")
    ingress_rules = [rule for p in policies.values() for rule in p["spec"].get("ingress", [])]
    assert ingress_rules == [{"from": [{"ipBlock": {"cidr": "10.0.0.11/32"}}, {"ipBlock": {"cidr": "10.0.0.12/32"}}],
                              "ports": [{"protocol": "TCP", "port": 80}, {"protocol": "TCP", "port": 8080}]}]
    api = policies["netzone-egress-to-api-server"]["spec"]["egress"][0]
    assert api["ports"] == [{"protocol": "TCP", "port": 16443}]
    assert [p["ipBlock"]["cidr"] for p in api["to"]] == ["10.0.0.21/32", "10.0.0.22/32", "10.0.0.23/32"]


def test_internet_only_from_proxy_with_excepts():
    manifests = _default()
    internet = [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in manifests
                if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == "netzone-egress-to-internet"]
    assert internet == [("proxy", "netzone-egress-to-internet")]
    rule = _by(manifests, "NetworkPolicy", "proxy")["netzone-egress-to-internet"]["spec"]["egress"][0]
    block = rule["to"][0]["ipBlock"]
    assert len(rule["to"]) == 1 and block["cidr"] == "0.0.0.0/0"
    for excluded in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10",
                     "127.0.0.0/8", "0.0.0.0/8", "224.0.0.0/3"):
        assert excluded in block["except"]


def test_default_deny_comes_after_the_allows_of_its_zone():
    manifests = _default()
    for zone in ("ingress", "backend"):
        names = [o["metadata"]["name"] for o in manifests if o["kind"] == "NetworkPolicy"
                 and o["metadata"]["namespace"] == zone]
        assert names[-1] == DEFAULT_DENY_NAME and names[0] == DNS_POLICY_NAME


def test_admission_and_ingress_objects():
    raw = default_matrix()
    raw["guards"] = {"nodeports": "warn", "nodeport_exempt_namespaces": ["legacy"]}
    manifests = compile_manifests(normalize_matrix(raw, INVENTORY))
    binding = _by(manifests, "ValidatingAdmissionPolicyBinding")["netzone-deny-node-ports"]["spec"]
    assert binding["validationActions"] == ["Warn", "Audit"]
    assert binding["matchResources"]["namespaceSelector"]["matchExpressions"][0]["values"] == ["legacy"]
    ingress = _by(manifests, "Ingress", "frontend")["netzone-shop.example.com"]["spec"]
    assert ingress["ingressClassName"] == "public"
    assert ingress["rules"][0]["host"] == "shop.example.com"
    assert ingress["rules"][0]["http"]["paths"][0]["backend"]["service"] == {"name": "web", "port": {"number": 80}}
    deny = _by(_default(), "ValidatingAdmissionPolicyBinding")["netzone-deny-node-ports"]["spec"]
    assert deny["validationActions"] == ["Deny", "Audit"] and "matchResources" not in deny


def test_deterministic_bytes():
    raw = default_matrix()
    first = yaml.safe_dump_all(compile_manifests(normalize_matrix(raw, INVENTORY)), sort_keys=False)
    shuffled = copy.deepcopy(raw)
    shuffled["flows"].reverse()
    shuffled["services"] = dict(reversed(list(shuffled["services"].items())))
    second = yaml.safe_dump_all(compile_manifests(normalize_matrix(shuffled, INVENTORY)), sort_keys=False)
    assert first == second


def test_a_flow_inside_a_zone_selects_the_zone_own_pods():
    """A flow from a zone to itself names the zone's own pods with ``podSelector: {}`` on both sides; the
    matrix is read from YAML text, as users write it (zone names are then separate string objects)."""
    raw = yaml.safe_load(yaml.safe_dump(default_matrix()) + "\n")
    raw["flows"].extend(yaml.safe_load("- {from: backend, to: backend, services: [http]}\n"))
    manifests = compile_manifests(normalize_matrix(raw, INVENTORY))
    policies = {name: m["spec"] for name, m in _by(manifests, "NetworkPolicy", "backend").items()}
    assert policies["netzone-egress-to-backend"]["egress"][0]["to"] == [{"podSelector": {}}]
    assert policies["netzone-ingress-from-backend"]["ingress"][0]["from"] == [{"podSelector": {}}]
    assert policies["netzone-ingress-from-frontend"]["ingress"][0]["from"][0]["namespaceSelector"] == {
        "matchLabels": {"kubernetes.io/metadata.name": "frontend"}}


def test_ports_of_one_start_stay_apart():
    """Ranges and a single port that start on the same port (8000, 8000-8010, 8000-8020) are each kept, in
    order: single port first, then the ranges by their end."""
    raw = default_matrix()
    raw["services"].update(a=["8000-8020/tcp"], b=["8000-8010/tcp", "8000/tcp"])
    raw["flows"].append({"from": "backend", "to": "db", "services": ["a", "b"]})
    manifests = compile_manifests(normalize_matrix(raw, INVENTORY))
    spec = _by(manifests, "NetworkPolicy", "db")["netzone-ingress-from-backend"]["spec"]
    assert spec["ingress"][0]["ports"] == [
        {"protocol": "TCP", "port": 5432}, {"protocol": "TCP", "port": 8000},
        {"protocol": "TCP", "port": 8000, "endPort": 8010}, {"protocol": "TCP", "port": 8000, "endPort": 8020}]


def test_a_path_with_its_own_backend_port():
    raw = default_matrix()
    raw["vhosts"][0]["paths"] = [{"path": "/api", "service": "api", "port": 8080}, "/"]
    manifests = compile_manifests(normalize_matrix(raw, INVENTORY))
    paths = _by(manifests, "Ingress", "frontend")["netzone-shop.example.com"]["spec"]["rules"][0]["http"]["paths"]
    assert [(p["path"], p["backend"]["service"]) for p in paths] == [
        ("/api", {"name": "api", "port": {"number": 8080}}), ("/", {"name": "web", "port": {"number": 80}})]


def test_compile_zone_alone_equals_its_share_of_the_whole():
    matrix = normalize_matrix(None, INVENTORY)
    whole = compile_manifests(matrix)
    for zone in matrix["zones"]:
        alone = compile_zone(matrix, zone)
        namespace = matrix["zones"][zone]["namespace"]
        assert alone == [m for m in whole if m["kind"] in ("Namespace", "NetworkPolicy")
                         and namespace in (m["metadata"].get("namespace"), m["metadata"]["name"] if m["kind"] == "Namespace" else None)]


def test_group_manifests():
    manifests = _default()
    by_zone = group_manifests(manifests, "zone")
    assert sorted(by_zone) == ["backend", "cluster", "db", "frontend", "ingress", "proxy"]
    assert sum(len(v) for v in by_zone.values()) == len(manifests)
    # the grouping key as a template engine passes it: an equal string, not the same object
    assert group_manifests(manifests, "".join(["zo", "ne"])) == by_zone
    assert sorted(group_manifests(manifests, "kind")) == ["AdminNetworkPolicy", "Ingress", "Namespace", "NetworkPolicy",
                                                          "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"]


@pytest.fixture(scope="module", autouse=True)
def _schemas_read_once():
    """kubernetes_validate reads and parses its multi-megabyte ``_definitions.json`` on every call; the
    schemas are only read, so in this module each file is read once (same schemas, same validator)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kubernetes_validate.utils, "schema_contents",
                      functools.lru_cache(maxsize=None)(kubernetes_validate.utils.schema_contents))
        yield


def _validate_all(manifests):
    for version in K8S_VERSIONS:
        for obj in manifests:
            if obj["kind"] == "AdminNetworkPolicy":
                # a CRD's kind, which kubernetes-validate has no schema for: the cluster policy parser is strict
                # (unknown fields, actions, priority, CIDRs refused with their path)
                parse_admin_policy(obj)
                continue
            kubernetes_validate.validate(obj, version, strict=True)


def test_default_manifests_pass_strict_schemas():
    _validate_all(_default())


@settings(max_examples=40, deadline=None)
@given(valid_matrix())
def test_random_manifests_pass_strict_schemas(raw):
    _validate_all(compile_manifests(normalize_matrix(raw)))


def test_schema_check_can_fail():
    bad = _default()[1]
    bad = copy.deepcopy(bad)
    bad["spec"]["podSelectr"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, "1.33.0", strict=True)


def test_admission_policies_match_what_they_must_written_out():
    """What each admission policy is called for and what happens when it cannot answer, written out by hand:
    a dropped subresource (``kubectl debug`` adds containers through ``pods/ephemeralcontainers``), a dropped
    operation or an ``Ignore`` failure policy would each let a forbidden object in."""
    raw = default_matrix()   # its ingress zone is "ingress"
    policies = dict((m["metadata"]["name"], m["spec"]) for m in compile_manifests(normalize_matrix(raw, INVENTORY))
                    if m["kind"] == "ValidatingAdmissionPolicy")
    assert sorted(policies) == ["netzone-deny-node-ports", "netzone-host-network", "netzone-ingress-pods"]
    assert {name: (spec["failurePolicy"], spec["matchConstraints"]) for name, spec in policies.items()} == {
        "netzone-ingress-pods": ("Fail", {"resourceRules": [{
            "apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
            "resources": ["pods", "pods/ephemeralcontainers"]}]}),
        "netzone-host-network": ("Fail", {"resourceRules": [{
            "apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
            "resources": ["pods", "pods/ephemeralcontainers"]}]}),
        "netzone-deny-node-ports": ("Fail", {"resourceRules": [{
            "apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
            "resources": ["services"]}]}),
    }


@pytest.mark.parametrize("guards", [{}, {"host_network": "deny", "unmanaged_internet": "deny", "nodeports": "warn"}])
def test_a_matrix_read_from_json_compiles_to_the_same_manifests(guards):
    """A matrix from a YAML or JSON file holds parsed strings, not this code's own: every switch still decides."""
    import json  # pylint: disable=import-outside-toplevel

    raw = default_matrix()
    raw.setdefault("guards", {}).update(guards)
    compiled = compile_manifests(normalize_matrix(copy.deepcopy(raw), INVENTORY))
    assert compile_manifests(normalize_matrix(json.loads(json.dumps(raw)), INVENTORY)) == compiled
    binding = [m for m in compiled if m["kind"] == "ValidatingAdmissionPolicyBinding"
               and m["metadata"]["name"] == "netzone-host-network"]
    assert binding[0]["spec"]["validationActions"] == (["Deny", "Audit"] if guards else ["Warn", "Audit"])
