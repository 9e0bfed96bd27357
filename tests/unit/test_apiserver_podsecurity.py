# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pod Security Admission in the test API server, over real HTTP, with the zones' compiled namespaces and the
ingress zone's pod policy: what a zone refuses, warns about and admits, with the real server's wording."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "apiserver"))

import harness  # noqa: E402  pylint: disable=import-error,wrong-import-position

from ansible_collections.netzone.segmentation.plugins.module_utils._model.compile import (  # noqa: E402
    compile_ingress_pod_admission,
    compile_manifests,
)
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import normalize_matrix  # noqa: E402


def call(server, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    ctype = "application/merge-patch+json" if method == "PATCH" else "application/json"
    req = urllib.request.Request(server.url + path, data=data, method=method, headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read()), _warnings(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), _warnings(exc.headers)


def _warnings(headers):
    """The ``Warning`` headers' texts, unquoted (``299 - "text"``)."""
    return [value.replace('\\"', '"') for value in headers.get_all("Warning") or []]


PLURALS = {"Namespace": "namespaces", "ValidatingAdmissionPolicy": "validatingadmissionpolicies",
           "ValidatingAdmissionPolicyBinding": "validatingadmissionpolicybindings"}


@pytest.fixture
def api(server):
    """The article's zones: their namespaces (with the Pod Security labels) and the ingress pod policy."""
    server.reset()
    matrix = normalize_matrix(None, harness.INVENTORY)
    objects = [o for o in compile_manifests(matrix) if o["kind"] == "Namespace"] + \
        compile_ingress_pod_admission(matrix)
    for obj in objects:
        group = "/api/v1/" if obj["kind"] == "Namespace" else "/apis/admissionregistration.k8s.io/v1/"
        code, body, _w = call(server, "POST", group + PLURALS[obj["kind"]], obj)
        assert code == 201, body
    return server


def container(name="c", host_ports=(), **security):
    out = {"name": name, "image": "example.invalid/c:1"}
    if host_ports:
        out["ports"] = [{"containerPort": p, "hostPort": p} for p in host_ports]
    if security:
        out["securityContext"] = security
    return out


def pod(name, containers=None, **spec):
    spec["containers"] = containers or [container()]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def create_pod(api, namespace, obj):
    return call(api, "POST", "/api/v1/namespaces/%s/pods" % namespace, obj)


def daemonset(name, pod_spec):
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec}}}


# The Traefik DaemonSet of MicroK8s' ingress addon (canonical/microk8s-core-addons f689811, values.yaml).
TRAEFIK = {"containers": [{"name": "traefik", "image": "example.invalid/traefik:3.6",
                           "ports": [{"name": "web", "containerPort": 8000, "hostPort": 80, "protocol": "TCP"},
                                     {"name": "websecure", "containerPort": 8443, "hostPort": 443, "protocol": "TCP"}],
                           "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                               "readOnlyRootFilesystem": True}}],
           "securityContext": {"runAsNonRoot": True, "runAsUser": 65532, "seccompProfile": {"type": "RuntimeDefault"}}}


@pytest.mark.parametrize("namespace", ["frontend", "backend", "proxy", "db"])
def test_a_host_network_pod_is_refused_in_every_zone_with_the_servers_message(api, namespace):
    code, body, _w = create_pod(api, namespace, pod("sneaky", hostNetwork=True))
    assert code == 403 and body["reason"] == "Forbidden" and body["kind"] == "Status"
    assert body["message"] == 'pods "sneaky" is forbidden: violates PodSecurity "baseline:v1.33": host namespaces ' \
                              '(hostNetwork=true)'
    assert not api.objects("pods", namespace)


def test_a_host_network_pod_is_refused_in_the_ingress_zone_too(api):
    code, body, _w = create_pod(api, "ingress", pod("sneaky", hostNetwork=True))
    assert code == 403 and "ValidatingAdmissionPolicy 'netzone-ingress-pods'" in body["message"]
    assert "pods may not use the host's network" in body["message"]


def test_privileged_hostport_and_hostpath_refused_with_every_reason(api):
    obj = pod("bad", [container("a", privileged=True), container("b", host_ports=[22])],
              volumes=[{"name": "root", "hostPath": {"path": "/"}}])
    code, body, _w = create_pod(api, "frontend", obj)
    assert code == 403
    assert body["message"].endswith('violates PodSecurity "baseline:v1.33": hostPath volumes (volume "root"), hostPort '
                                    '(container "b" uses hostPort 22), privileged (container "a" must not set '
                                    'securityContext.privileged=true)')


def test_a_plain_pod_is_admitted_without_warnings(api):
    code, body, warnings = create_pod(api, "frontend", pod("web"))
    assert code == 201 and body["metadata"]["name"] == "web" and warnings == []


def test_the_ingress_controller_is_admitted_in_the_ingress_zone_with_a_baseline_warning(api):
    code, _body, warnings = call(api, "POST", "/apis/apps/v1/namespaces/ingress/daemonsets",
                                 daemonset("traefik", TRAEFIK))
    assert code == 201
    assert warnings and 'would violate PodSecurity "baseline:v1.33": hostPort (container "traefik" uses hostPorts ' \
                        '443, 80)' in warnings[0]
    controller_pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "traefik-x7k2p"}, "spec": TRAEFIK}
    code, _body, warnings = create_pod(api, "ingress", controller_pod)
    assert code == 201 and "would violate PodSecurity" in warnings[0]


def test_a_host_port_outside_the_allowed_ones_is_refused_in_the_ingress_zone(api):
    code, body, _w = create_pod(api, "ingress", pod("ssh", [container(host_ports=[22])]))
    assert code == 403 and "hostPorts other than 80, 443 are not allowed" in body["message"]


def test_a_workload_is_admitted_with_a_warning_its_pods_would_be_refused(api):
    code, _body, warnings = call(api, "POST", "/apis/apps/v1/namespaces/backend/deployments", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nethost"},
        "spec": {"selector": {"matchLabels": {"app": "x"}},
                 "template": {"metadata": {"labels": {"app": "x"}}, "spec": {"hostNetwork": True, "containers": [
                     container()]}}}})
    assert code == 201
    assert warnings and 'would violate PodSecurity "baseline:v1.33": host namespaces (hostNetwork=true)' in warnings[0]


def test_pod_updates_are_checked_when_significant(api):
    assert create_pod(api, "frontend", pod("web"))[0] == 201
    code, _body, _w = call(api, "PATCH", "/api/v1/namespaces/frontend/pods/web", {"metadata": {"labels": {"a": "b"}}})
    assert code == 200
    bad = {"spec": {"containers": [container(), container("extra", privileged=True)]}}
    code, body, _w = call(api, "PATCH", "/api/v1/namespaces/frontend/pods/web", bad)
    assert code == 403 and "privileged" in body["message"]


def test_a_namespace_without_labels_is_privileged_and_labelling_it_warns_about_existing_pods(api):
    call(api, "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "legacy"}})
    for name in ("old-a", "old-b"):
        assert create_pod(api, "legacy", pod(name, hostNetwork=True))[0] == 201
    assert create_pod(api, "legacy", pod("fine"))[0] == 201
    code, _body, warnings = call(api, "PATCH", "/api/v1/namespaces/legacy", {"metadata": {"labels": {
        "pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/enforce-version": "v1.33"}}})
    assert code == 200
    text = " ".join(warnings)
    assert 'existing pods in namespace "legacy" violate the new PodSecurity enforce level "baseline:v1.33"' in text
    assert "old-a (and 1 other pod): host namespaces" in text


def test_invalid_labels_are_refused(api):
    code, body, _w = call(api, "PATCH", "/api/v1/namespaces/db", {"metadata": {"labels": {
        "pod-security.kubernetes.io/enforce": "strict"}}})
    assert code == 422 and "pod-security.kubernetes.io/enforce" in body["message"] and "strict" in body["message"]
    code, body, _w = call(api, "PATCH", "/api/v1/namespaces/db", {"metadata": {"labels": {
        "pod-security.kubernetes.io/warn-version": "1.33"}}})
    assert code == 422 and "warn-version" in body["message"]


def test_without_the_labels_nothing_is_refused(api):
    """What today's code did for every zone: the labels are what refuses a host-network pod."""
    call(api, "PATCH", "/api/v1/namespaces/db", {"metadata": {"labels": {
        "pod-security.kubernetes.io/enforce": None, "pod-security.kubernetes.io/enforce-version": None,
        "pod-security.kubernetes.io/warn": None, "pod-security.kubernetes.io/warn-version": None,
        "pod-security.kubernetes.io/audit": None, "pod-security.kubernetes.io/audit-version": None}}})
    code, _body, warnings = create_pod(api, "db", pod("sneaky", hostNetwork=True))
    assert code == 201 and warnings == []
