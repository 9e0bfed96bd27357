# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pod Security of the zones: the namespace labels per zone, the settings and their errors, and the ingress
zone's pod admission policy (its CEL run by the test API server's admission code, cel-python)."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

from ansible_collections.netzone.segmentation.plugins.module_utils._model.compile import (
    compile_ingress_pod_admission,
    compile_manifests,
)
from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import MatrixError
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import default_matrix, normalize_matrix

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "apiserver"))

import admission  # noqa: E402  pylint: disable=import-error,wrong-import-position

INVENTORY = {"groups": {"loadbalancers": ["lb1"], "microk8s": ["n1"]},
             "addresses": {"lb1": "10.0.0.11", "n1": "10.0.0.21"}}
PSA = "pod-security.kubernetes.io/"


def _labels(raw=None):
    manifests = compile_manifests(normalize_matrix(raw, INVENTORY))
    return {o["metadata"]["name"]: o["metadata"]["labels"] for o in manifests if o["kind"] == "Namespace"}


def _psa(labels):
    return {k[len(PSA):]: v for k, v in labels.items() if k.startswith(PSA)}


def test_every_zone_enforces_baseline_and_the_ingress_zone_warns_and_audits_it():
    labels = _labels()
    for ns in ("frontend", "backend", "proxy", "db"):
        assert _psa(labels[ns]) == {"enforce": "baseline", "enforce-version": "v1.33", "warn": "baseline",
                                    "warn-version": "v1.33", "audit": "baseline", "audit-version": "v1.33"}
    assert _psa(labels["ingress"]) == {"enforce": "privileged", "enforce-version": "v1.33", "warn": "baseline",
                                       "warn-version": "v1.33", "audit": "baseline", "audit-version": "v1.33"}


def test_per_zone_settings():
    raw = default_matrix()
    raw["zones"]["db"]["pod_security"] = {"enforce": "restricted", "version": "latest"}
    raw["zones"]["backend"]["pod_security"] = {"warn": "restricted"}
    raw["zones"]["ingress"]["pod_security"] = {"enforce": "baseline"}
    labels = _labels(raw)
    assert _psa(labels["db"]) == {"enforce": "restricted", "enforce-version": "latest", "warn": "restricted",
                                  "warn-version": "latest", "audit": "restricted", "audit-version": "latest"}
    assert _psa(labels["backend"])["enforce"] == "baseline" and _psa(labels["backend"])["warn"] == "restricted"
    assert _psa(labels["backend"])["audit"] == "baseline"
    assert {k: v for k, v in _psa(labels["ingress"]).items() if not k.endswith("version")} == \
        {"enforce": "baseline", "warn": "baseline", "audit": "baseline"}


def test_the_ingress_zone_follows_guards_ingress_zone():
    raw = default_matrix()
    raw["guards"] = {"ingress_zone": "frontend", "ingress_from": ["load_balancers"]}
    raw["flows"] = [f for f in raw["flows"] if f["to"] != "ingress"] + [
        {"from": "load_balancers", "to": "frontend", "services": ["http"]}]
    raw["flows"] = [f for f in raw["flows"] if not (f["from"] == "ingress" and f["to"] == "frontend")]
    labels = _labels(raw)
    assert _psa(labels["frontend"])["enforce"] == "privileged" and _psa(labels["ingress"])["enforce"] == "baseline"
    policy, binding = compile_ingress_pod_admission(normalize_matrix(raw, INVENTORY))
    assert binding["spec"]["matchResources"]["namespaceSelector"] == {
        "matchLabels": {"kubernetes.io/metadata.name": "frontend"}}
    assert policy["metadata"]["name"] == binding["spec"]["policyName"] == "netzone-ingress-pods"


@pytest.mark.parametrize("zone_spec, guards, path, message", [
    ({"pod_security": {"enforce": "strict"}}, None, "zones.db.pod_security.enforce",
     "'strict' is not a Pod Security level"),
    ({"pod_security": {"warn": 1}}, None, "zones.db.pod_security.warn", "expected a Pod Security level"),
    ({"pod_security": {"version": "1.33"}}, None, "zones.db.pod_security.version",
     "'1.33' is not a Pod Security version"),
    ({"pod_security": {"level": "baseline"}}, None, "zones.db.pod_security.level", "unknown key"),
    ({"pod_security": "baseline"}, None, "zones.db.pod_security", "expected an object, got a string"),
    ({"labels": {"pod-security.kubernetes.io/enforce": "privileged"}}, None,
     "zones.db.labels.pod-security.kubernetes.io/enforce", "use zones.db.pod_security"),
    ({}, {"ingress_host_ports": [80, 0]}, "guards.ingress_host_ports[1]", "out of range"),
    ({}, {"ingress_host_ports": ["80"]}, "guards.ingress_host_ports[0]", "expected a port number, got a string"),
])
def test_errors_name_the_path(zone_spec, guards, path, message):
    raw = default_matrix()
    raw["zones"]["db"].update(zone_spec)
    if guards:
        raw["guards"] = guards
    with pytest.raises(MatrixError) as info:
        normalize_matrix(raw, INVENTORY)
    assert str(info.value).startswith(path + ": ") and message in str(info.value)


def test_no_ingress_zone_no_ingress_pod_policy():
    raw = default_matrix()
    raw["guards"] = {"ingress_zone": None, "ingress_from": []}
    assert compile_ingress_pod_admission(normalize_matrix(raw, INVENTORY)) == []


# --- the ingress zone's pod policy, evaluated with cel-python --------------------------------------
def _policy(host_ports=None):
    raw = default_matrix()
    if host_ports is not None:
        raw["guards"] = {"ingress_host_ports": host_ports}
    return compile_ingress_pod_admission(normalize_matrix(raw, INVENTORY))


def _decide(objects, pod, namespace="ingress", operation="CREATE", old=None):
    policy, binding = objects
    req = {"group": "", "version": "v1", "resource": "pods", "kind": "Pod", "namespaced": True,
           "namespace": namespace, "name": pod["metadata"]["name"], "operation": operation, "object": pod,
           "old": old, "namespace_object": None, "namespace_labels": {"kubernetes.io/metadata.name": namespace}}
    denied, _warnings, _audits = admission.admit([policy], [binding], req)
    return denied.message if denied else None


def _c(name="c", ports=(), **security):
    container = {"name": name, "image": "example.invalid/c:1"}
    if ports:
        container["ports"] = [p if isinstance(p, dict) else {"containerPort": p, "hostPort": p} for p in ports]
    if security:
        container["securityContext"] = security
    return container


def _p(containers=None, **spec):
    spec["containers"] = containers if containers is not None else [_c()]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


TRAEFIK = _p([_c("traefik", [{"name": "web", "containerPort": 8000, "hostPort": 80, "protocol": "TCP"},
                             {"name": "websecure", "containerPort": 8443, "hostPort": 443, "protocol": "TCP"},
                             {"name": "traefik", "containerPort": 8080, "protocol": "TCP"}],
                 allowPrivilegeEscalation=False, capabilities={"drop": ["ALL"]}, readOnlyRootFilesystem=True)],
             securityContext={"runAsNonRoot": True, "runAsUser": 65532, "seccompProfile": {"type": "RuntimeDefault"}})
NS_MSG = "pods may not use the host's network, PID or IPC namespace"
PRIV_MSG = "privileged containers are not allowed"
PORT_MSG = "hostPorts other than 80, 443 are not allowed"
PATH_MSG = "hostPath volumes are not allowed"
CAPS_MSG = "capabilities beyond Pod Security's baseline set are not allowed"

POD_SHAPES = [
    ("plain pod", _p(), None),
    ("no containers key at all", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}}, None),
    ("Traefik DaemonSet pod (MicroK8s ingress addon)", TRAEFIK, None),
    ("hostPort 80 only", _p([_c(ports=[80])]), None),
    ("hostPort 443 only", _p([_c(ports=[443])]), None),
    ("hostPort 0 means none", _p([_c(ports=[{"containerPort": 9000, "hostPort": 0}])]), None),
    ("containerPort without hostPort", _p([_c(ports=[{"containerPort": 22}])]), None),
    ("hostNetwork false", _p(hostNetwork=False, hostPID=False, hostIPC=False), None),
    ("privileged false", _p([_c(privileged=False)]), None),
    ("baseline capabilities added", _p([_c(capabilities={"add": ["NET_BIND_SERVICE", "CHOWN"]})]), None),
    ("emptyDir and configMap volumes", _p(volumes=[{"name": "a", "emptyDir": {}}, {"name": "b", "configMap": {"name": "x"}}]), None),
    ("hostNetwork", _p(hostNetwork=True), NS_MSG),
    ("hostPID", _p(hostPID=True), NS_MSG),
    ("hostIPC", _p(hostIPC=True), NS_MSG),
    ("privileged container", _p([_c(privileged=True)]), PRIV_MSG),
    ("privileged init container", dict(_p(), spec={"containers": [_c()], "initContainers": [_c("i", privileged=True)]}), PRIV_MSG),
    ("privileged ephemeral container", dict(_p(), spec={"containers": [_c()], "ephemeralContainers": [_c("e", privileged=True)]}), PRIV_MSG),
    ("privileged second container", _p([_c("a"), _c("b", privileged=True)]), PRIV_MSG),
    ("hostPort 22", _p([_c(ports=[22])]), PORT_MSG),
    ("hostPort 22 beside 80", _p([_c(ports=[80, 22])]), PORT_MSG),
    ("hostPort 10254 (older nginx addon health port)", _p([_c(ports=[80, 443, 10254])]), PORT_MSG),
    ("hostPort in an init container", dict(_p(), spec={"containers": [_c()], "initContainers": [_c("i", ports=[8080])]}), PORT_MSG),
    ("hostPath volume", _p(volumes=[{"name": "root", "hostPath": {"path": "/"}}]), PATH_MSG),
    ("hostPath beside an emptyDir", _p(volumes=[{"name": "a", "emptyDir": {}},
                                                {"name": "root", "hostPath": {"path": "/"}}]), PATH_MSG),
    ("SYS_ADMIN capability", _p([_c(capabilities={"add": ["SYS_ADMIN"]})]), CAPS_MSG),
    ("SYS_ADMIN beside a baseline capability", _p([_c(capabilities={"add": ["NET_BIND_SERVICE", "SYS_ADMIN"]})]),
     CAPS_MSG),
    ("NET_ADMIN capability in an init container", dict(_p(), spec={"containers": [_c()], "initContainers": [
        _c("i", capabilities={"add": ["NET_ADMIN"]})]}), CAPS_MSG),
    ("hostNetwork and privileged: the first violation is reported", _p([_c(privileged=True)], hostNetwork=True), NS_MSG),
]


@pytest.mark.parametrize("name, pod, expected", POD_SHAPES, ids=[s[0] for s in POD_SHAPES])
def test_table_of_pod_shapes_through_the_ingress_pod_policy(name, pod, expected):
    message = _decide(_policy(), pod)
    if expected is None:
        assert message is None, name
    else:
        assert message is not None and message.startswith(expected) and "namespace ingress" in message, name


def test_the_table_is_wide_and_catches_an_inverted_expression():
    assert len(POD_SHAPES) >= 25
    objects = copy.deepcopy(_policy())
    validation = objects[0]["spec"]["validations"][0]
    validation["expression"] = "!(%s)" % validation["expression"]
    assert _decide(objects, _p()) is not None
    assert _decide(objects, _p(hostNetwork=True)) is None


def test_configured_host_ports_and_other_namespaces():
    objects = _policy([8443])
    assert _decide(objects, _p([_c(ports=[8443])])) is None
    assert _decide(objects, _p([_c(ports=[80])])).startswith("hostPorts other than 8443 are not allowed")
    assert _decide(_policy([]), _p([_c(ports=[80])])).startswith("hostPorts other than none are not allowed")
    # the binding selects the ingress namespace only: other zones are Pod Security baseline's
    assert _decide(_policy(), _p(hostNetwork=True), namespace="frontend") is None
    assert _decide(_policy(), _p(hostNetwork=True), operation="UPDATE", old=_p()) is not None


def test_the_collections_own_proxy_zone_workload_passes_restricted():
    """The egress proxies the collection runs in the proxy zone: the zone's baseline, and even restricted, admit
    them (the guard would otherwise report the collection's own Deployments)."""
    from ansible_collections.netzone.segmentation.plugins.module_utils._model import guard  # pylint: disable=import-outside-toplevel
    from ansible_collections.netzone.segmentation.plugins.module_utils._model import pod_security as ps  # pylint: disable=import-outside-toplevel
    from ansible_collections.netzone.segmentation.plugins.module_utils._model.egress_workload import compile_egress  # pylint: disable=import-outside-toplevel

    matrix = normalize_matrix(None, INVENTORY)
    deployments = [o for o in compile_egress(matrix, secrets=False) if o["kind"] == "Deployment"]
    assert deployments
    for obj in deployments:
        meta, spec = ps.pod_template(obj)
        assert ps.evaluate("restricted", "v1.33", meta, spec) == [], obj["metadata"]["name"]
    assert guard.pod_security_violations(matrix, deployments) == []


def test_findings_are_ordered_by_namespace_pods_first_then_kind_and_name():
    """The guard's findings: by namespace, the namespace's Pods first, then the workloads by kind and name (a
    StatefulSet sorts after a Pod by name, so only the Pods-first key puts it after)."""
    from ansible_collections.netzone.segmentation.plugins.module_utils._model import guard  # pylint: disable=import-outside-toplevel

    def workload(kind, name, namespace):
        spec = {"containers": [_c(privileged=True)]}
        if kind == "Pod":
            return {"kind": "Pod", "metadata": {"name": name, "namespace": namespace}, "spec": spec}
        return {"kind": kind, "metadata": {"name": name, "namespace": namespace},
                "spec": {"template": {"metadata": {}, "spec": spec}}}

    objects = [workload("StatefulSet", "a", "db"), workload("Deployment", "b", "db"), workload("Pod", "z", "db"),
               workload("DaemonSet", "c", "db"), workload("Pod", "y", "backend"), workload("Pod", "x", "db")]
    found = guard.pod_security_violations(normalize_matrix(None, INVENTORY), objects)
    assert [(f["namespace"], f["kind"], f["name"]) for f in found] == [
        ("backend", "Pod", "y"), ("db", "Pod", "x"), ("db", "Pod", "z"), ("db", "DaemonSet", "c"),
        ("db", "Deployment", "b"), ("db", "StatefulSet", "a")]
    assert {f["policy"] for f in found} == {"baseline:v1.33"}


def test_the_guard_reads_a_workloads_pod_annotations():
    """An unconfined AppArmor profile set by annotation on a Deployment's pod template (its metadata, not its
    spec) breaks baseline: the guard names it as the API server would refuse the pods."""
    from ansible_collections.netzone.segmentation.plugins.module_utils._model import guard  # pylint: disable=import-outside-toplevel

    annotated = {"kind": "Deployment", "metadata": {"name": "web", "namespace": "frontend"},
                 "spec": {"template": {
                     "metadata": {"annotations": {"container.apparmor.security.beta.kubernetes.io/app": "unconfined"}},
                     "spec": {"containers": [{"name": "app", "image": "web"}]}}}}
    found = guard.pod_security_violations(normalize_matrix(None, INVENTORY), [annotated])
    assert found == [{"zone": "frontend", "namespace": "frontend", "kind": "Deployment", "name": "web",
                      "policy": "baseline:v1.33",
                      "violations": 'forbidden AppArmor profile (annotation must not set AppArmor profile type to '
                                    '"container.apparmor.security.beta.kubernetes.io/app="unconfined"")'}]


def test_a_refused_ingress_pod_is_audited_too():
    """The binding denies and audits: the API server's audit log records each refusal (the annotation
    validation.policy.admission.k8s.io/validation_failure)."""
    policy, binding = _policy()
    req = {"group": "", "version": "v1", "resource": "pods", "kind": "Pod", "namespaced": True,
           "namespace": "ingress", "name": "p", "operation": "CREATE", "object": _p(hostNetwork=True),
           "old": None, "namespace_object": None, "namespace_labels": {"kubernetes.io/metadata.name": "ingress"}}
    denied, warnings, audits = admission.admit([policy], [binding], req)
    assert denied is not None and denied.message.startswith(NS_MSG)
    assert warnings == [] and len(audits) == 1
