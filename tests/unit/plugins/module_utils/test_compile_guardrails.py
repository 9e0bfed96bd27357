# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster-wide guardrails: the matrix settings and their errors, the AdminNetworkPolicy against direct
internet from namespaces the matrix does not manage, and the host network admission policy (its CEL run by the
test API server's admission code, cel-python)."""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

import pytest

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import MatrixError
from ansible_collections.netzone.segmentation.plugins.module_utils._common.netranges import special_purpose
from ansible_collections.netzone.segmentation.plugins.module_utils._model.compile import (
    compile_guardrails,
    compile_host_network_admission,
    compile_manifests,
    compile_unmanaged_internet,
    internet_networks,
)
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import default_matrix, normalize_matrix

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "apiserver"))

import admission  # noqa: E402  pylint: disable=import-error,wrong-import-position

INVENTORY = {"groups": {"loadbalancers": ["lb1"], "microk8s": ["n1"]},
             "addresses": {"lb1": "198.51.100.7", "n1": "8.8.4.4"}}


def _matrix(**guards):
    raw = default_matrix()
    raw.setdefault("guards", {}).update(guards)
    return normalize_matrix(raw, INVENTORY)


def test_defaults_are_the_warn_stage_with_microk8s_daemonsets():
    guards = _matrix()["guards"]
    assert guards["unmanaged_internet"] == "warn" and guards["host_network"] == "warn"
    assert guards["unmanaged_exempt_namespaces"] == ["kube-system"]
    assert guards["host_network_allowed"] == ["ingress/nginx-ingress-microk8s-controller", "ingress/traefik",
                                              "kube-system/calico-node", "metallb-system/speaker"]


@pytest.mark.parametrize("guards, path, message", [
    ({"unmanaged_internet": "block"}, "guards.unmanaged_internet", "expected one of 'deny', 'warn' (staged rollout), got 'block'"),
    ({"host_network": True}, "guards.host_network", "expected a string, got a boolean"),
    ({"unmanaged_exempt_namespaces": ["Bad_NS"]}, "guards.unmanaged_exempt_namespaces[0]", "namespace name"),
    ({"unmanaged_exempt_namespaces": ["default", "db"]}, "guards.unmanaged_exempt_namespaces[1]",
     "namespace of zone 'db'"),
    ({"unmanaged_exempt_namespaces": "default"}, "guards.unmanaged_exempt_namespaces", "expected a list, got a string"),
    ({"host_network_allowed": ["calico-node"]}, "guards.host_network_allowed[0]", "'namespace/daemonset'"),
    ({"host_network_allowed": ["kube-system/", "x/y"]}, "guards.host_network_allowed[0]", "'namespace/daemonset'"),
    ({"host_network_allowed": ["ok/fine", "Kube/x"]}, "guards.host_network_allowed[1]", "'namespace/daemonset'"),
    ({"host_network_allowed": [7]}, "guards.host_network_allowed[0]", "'namespace/daemonset'"),
    ({"host_netwrok": "deny"}, "guards.host_netwrok", "unknown key"),
])
def test_errors_name_the_path(guards, path, message):
    with pytest.raises(MatrixError) as err:
        _matrix(**guards)
    assert err.value.path == path and message in str(err.value), str(err.value)


def _covered(nets):
    return [ipaddress.ip_network(n) for n in nets]


def test_internet_networks_cover_exactly_the_public_space():
    matrix = _matrix()
    nets = _covered(internet_networks(matrix))
    excluded = [ipaddress.ip_network(c) for c in special_purpose(4) + special_purpose(6)]
    excluded += [ipaddress.ip_network(matrix["cluster"][k]) for k in ("pod_cidr", "service_cidr")]
    excluded += [ipaddress.ip_network("198.51.100.7/32"), ipaddress.ip_network("8.8.4.4/32")]  # inventory hosts
    for net in nets:
        assert not any(net.overlaps(x) for x in excluded), net
    # together with what is excluded, the internet networks cover each whole address space, with no overlap
    for version, total in ((4, 2 ** 32), (6, 2 ** 128)):
        mine = [n for n in nets if n.version == version]
        rest = list(ipaddress.collapse_addresses(x for x in excluded if x.version == version))
        assert sum(n.num_addresses for n in mine) + sum(x.num_addresses for x in rest) == total
        assert len(list(ipaddress.collapse_addresses(mine))) == len(mine)
    public = [ipaddress.ip_address(a) for a in ("1.1.1.1", "8.8.8.8", "2a00:1450:4001::1", "9.9.9.9")]
    assert all(any(a in n for n in nets) for a in public)
    for private in ("10.1.2.3", "192.168.1.1", "169.254.169.254", "8.8.4.4", "fd00:ec2::254", "::1"):
        assert not any(ipaddress.ip_address(private) in n for n in nets), private


def test_the_admin_policy_selects_only_unmanaged_namespaces_and_stages_its_action():
    anp = compile_unmanaged_internet(_matrix(unmanaged_exempt_namespaces=["monitoring"]))
    assert anp["apiVersion"] == "policy.networking.k8s.io/v1alpha1" and anp["kind"] == "AdminNetworkPolicy"
    assert anp["spec"]["priority"] == 10
    assert anp["spec"]["subject"] == {"namespaces": {"matchExpressions": [{
        "key": "kubernetes.io/metadata.name", "operator": "NotIn",
        "values": ["backend", "db", "frontend", "ingress", "kube-system", "monitoring", "proxy"]}]}}
    rule = anp["spec"]["egress"][0]
    assert rule["action"] == "Pass" and "ingress" not in anp["spec"]
    assert all(1 <= len(peer["networks"]) <= 25 for peer in rule["to"]) and len(rule["to"]) <= 100
    flat = [n for peer in rule["to"] for n in peer["networks"]]
    assert flat == internet_networks(_matrix())
    assert compile_unmanaged_internet(_matrix(unmanaged_internet="deny"))["spec"]["egress"][0]["action"] == "Deny"


def test_compile_manifests_ends_with_the_guardrails_and_the_binding_stages():
    manifests = compile_manifests(_matrix(host_network="deny"))
    assert [o["kind"] for o in manifests[-3:]] == [
        "AdminNetworkPolicy", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"]
    assert manifests[-1]["spec"]["validationActions"] == ["Deny", "Audit"]
    assert compile_guardrails(_matrix())[2]["spec"]["validationActions"] == ["Warn", "Audit"]
    assert "matchResources" not in manifests[-1]["spec"]   # cluster-wide: every namespace, kube-system too


# --- the host network policy, evaluated with cel-python -------------------------------------------
def _pod(name="p", owner=None, host_network=None, host_port=None, init_host_port=None, ephemeral_host_port=None):
    spec = {"containers": [{"name": "c", "image": "example.invalid/c:1"}]}
    if host_network is not None:
        spec["hostNetwork"] = host_network
    if host_port is not None:
        spec["containers"][0]["ports"] = [{"containerPort": 8080, "hostPort": host_port}]
    if init_host_port is not None:
        spec["initContainers"] = [{"name": "i", "image": "example.invalid/i:1",
                                   "ports": [{"containerPort": 1, "hostPort": init_host_port}]}]
    if ephemeral_host_port is not None:
        spec["ephemeralContainers"] = [{"name": "e", "image": "example.invalid/e:1",
                                        "ports": [{"containerPort": 2, "hostPort": ephemeral_host_port}]}]
    meta = {"name": name}
    if owner is not None:
        kind, owner_name, controller = owner
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": kind, "name": owner_name, "uid": "u",
                                    "controller": controller}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def _decide(pod, namespace, stage="deny", allowed=None):
    guards = {"host_network": stage}
    if allowed is not None:
        guards["host_network_allowed"] = allowed
    policy, binding = compile_host_network_admission(_matrix(**guards))
    req = {"group": "", "version": "v1", "resource": "pods", "kind": "Pod", "namespaced": True,
           "namespace": namespace, "name": pod["metadata"]["name"], "operation": "CREATE", "object": pod,
           "old": None, "namespace_object": None, "namespace_labels": {"kubernetes.io/metadata.name": namespace}}
    denied, warnings, audits = admission.admit([policy], [binding], req)
    return (denied.message if denied else None), warnings, audits


CALICO = ("DaemonSet", "calico-node", True)
CASES = [
    ("plain pod anywhere", _pod(), "default", True),
    ("hostPort 0 is no hostPort", _pod(host_port=0), "default", True),
    ("calico-node on the host network in kube-system", _pod(owner=CALICO, host_network=True), "kube-system", True),
    ("the ingress controller's hostPorts", _pod(owner=("DaemonSet", "nginx-ingress-microk8s-controller", True),
                                                host_port=443), "ingress", True),
    ("hostNetwork: false", _pod(host_network=False), "default", True),
    ("a bare hostNetwork pod", _pod(host_network=True), "default", False),
    ("a bare hostNetwork pod in kube-system", _pod(host_network=True), "kube-system", False),
    ("a hostPort pod", _pod(host_port=8080), "default", False),
    ("an init container's hostPort", _pod(init_host_port=9000), "default", False),
    ("an ephemeral container's hostPort", _pod(ephemeral_host_port=9001), "default", False),
    ("calico-node's name in another namespace", _pod(owner=CALICO, host_network=True), "default", False),
    ("an allowed name owned by a Deployment's ReplicaSet", _pod(owner=("ReplicaSet", "calico-node", True),
                                                                host_network=True), "kube-system", False),
    ("an allowed DaemonSet that is not the controller", _pod(owner=("DaemonSet", "calico-node", False),
                                                             host_network=True), "kube-system", False),
    ("another DaemonSet in kube-system", _pod(owner=("DaemonSet", "evil", True), host_network=True),
     "kube-system", False),
    ("a hostPort on the second port of a container", dict(_pod(), spec={"containers": [
        {"name": "c", "image": "example.invalid/c:1",
         "ports": [{"containerPort": 80}, {"containerPort": 8080, "hostPort": 8080}]}]}), "default", False),
    ("calico-node with a second, non-controller owner", dict(_pod(), metadata={"name": "p", "ownerReferences": [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "uid": "u1"},
        {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "calico-node", "uid": "u2", "controller": True}]},
        spec={"hostNetwork": True, "containers": [{"name": "c", "image": "example.invalid/c:1"}]}),
     "kube-system", True),
]


@pytest.mark.parametrize("name, pod, namespace, admitted", CASES, ids=[c[0] for c in CASES])
def test_table_of_pods_through_the_host_network_policy(name, pod, namespace, admitted):
    denied, _warnings, audits = _decide(pod, namespace)
    assert (denied is None) == admitted, name
    if not admitted:
        assert "guards.host_network_allowed" in denied and "kube-system/calico-node" in denied
        assert len(audits) == 1


def test_the_warn_stage_admits_with_a_warning_and_an_audit():
    denied, warnings, audits = _decide(_pod(host_network=True), "default", stage="warn")
    assert denied is None and len(warnings) == 1 and len(audits) == 1
    assert "netzone-host-network" in warnings[0]
    denied, warnings, audits = _decide(_pod(), "default", stage="warn")
    assert denied is None and warnings == [] and audits == []


def test_an_empty_allow_list_refuses_calico_node_too():
    denied, _warnings, _audits = _decide(_pod(owner=CALICO, host_network=True), "kube-system", allowed=[])
    assert denied is not None and "none" in denied
    denied, _warnings, _audits = _decide(_pod(owner=("DaemonSet", "agent", True), host_network=True), "monitoring",
                                         allowed=["monitoring/agent"])
    assert denied is None


# --- the guard: what is on the host network before the policy ------------------------------------------------------
def _ds(namespace, name, host_network=False, host_port=None):
    spec = {"containers": [{"name": "c", "image": "example.invalid/c:1"}]}
    if host_network:
        spec["hostNetwork"] = True
    if host_port:
        spec["containers"][0]["ports"] = [{"containerPort": host_port, "hostPort": host_port}]
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"namespace": namespace, "name": name},
            "spec": {"template": {"metadata": {}, "spec": spec}}}


def test_guard_lists_host_network_objects_outside_the_allow_list():
    from ansible_collections.netzone.segmentation.plugins.module_utils._model import guard
    calico_pod = dict(_pod(owner=CALICO, host_network=True), metadata={
        "name": "calico-node-x", "namespace": "kube-system",
        "ownerReferences": [{"kind": "DaemonSet", "name": "calico-node", "controller": True}]})
    bare = dict(_pod(host_network=True), metadata={"name": "on-the-host", "namespace": "default"})
    objects = [_ds("kube-system", "calico-node", host_network=True), calico_pod, bare,
               _ds("ingress", "nginx-ingress-microk8s-controller", host_port=443),
               _ds("monitoring", "node-exporter", host_network=True), _ds("default", "plain"),
               _ds("team", "agent", host_port=9100)]
    matrix = _matrix(host_network="deny")
    found = guard.host_network_violations(matrix, objects)
    assert [(f["namespace"], f["kind"], f["name"], f["uses"]) for f in found] == [
        ("default", "Pod", "on-the-host", "hostNetwork"),
        ("monitoring", "DaemonSet", "node-exporter", "hostNetwork"),
        ("team", "DaemonSet", "agent", "hostPort 9100")]
    problems = guard.check_host_network(matrix, objects)
    assert problems == [
        "Pod default/on-the-host runs with hostNetwork although netzone-host-network admits that only for the "
        "DaemonSets of guards.host_network_allowed; admission control does not look at running pods again, so it "
        "stays until it is removed (move it off the host, or run it from a DaemonSet listed in "
        "guards.host_network_allowed: the list admits DaemonSets only)",
        "DaemonSet monitoring/node-exporter has a pod template with hostNetwork that netzone-host-network will refuse "
        "(guards.host_network: deny): its next pod will not be admitted (add 'monitoring/node-exporter' to "
        "guards.host_network_allowed if it must stay on the host, or move it off the host)",
        "DaemonSet team/agent has a pod template with hostPort 9100 that netzone-host-network will refuse "
        "(guards.host_network: deny): its next pod will not be admitted (add 'team/agent' to "
        "guards.host_network_allowed if it must stay on the host, or move it off the host)"]
    warned = guard.check_host_network(_matrix(), objects)
    assert "warns about and audits (guards.host_network: warn)" in warned[1]
    # the list replaces the default one: what it leaves out is found too
    allowed = _matrix(host_network_allowed=["monitoring/node-exporter", "team/agent", "kube-system/calico-node"])
    assert [f["name"] for f in guard.host_network_violations(allowed, objects)] == [
        "on-the-host", "nginx-ingress-microk8s-controller"]


def test_a_pod_of_a_listed_name_but_another_owner_kind_is_found():
    """The list names DaemonSets: a host-network pod whose controller is a ReplicaSet (or a StatefulSet) of
    the same namespace and name as a listed DaemonSet is not admitted by it."""
    from ansible_collections.netzone.segmentation.plugins.module_utils._model import guard
    objects = []
    for kind in ("ReplicaSet", "StatefulSet", "Job", "DaemonSet"):
        objects.append(dict(_pod(host_network=True), metadata={
            "name": "calico-node-%s" % kind.lower(), "namespace": "kube-system",
            "ownerReferences": [{"kind": kind, "name": "calico-node", "controller": True}]}))
    found = guard.host_network_violations(_matrix(host_network="deny"), objects)
    assert [f["name"] for f in found] == ["calico-node-job", "calico-node-replicaset", "calico-node-statefulset"]
