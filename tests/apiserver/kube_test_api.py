# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stateful test double of the Kubernetes API server, over real HTTP, for the tests and the benchmark.

It is *not* a Kubernetes API server: it implements the part of the API that the collection's modules and
``kubernetes.core.k8s`` use, honestly and no more:

* discovery: ``/version``, ``/api``, ``/api/v1``, ``/apis``, ``/apis/<group>/<version>``;
* namespaced and cluster-scoped CRUD for the kinds in ``RESOURCES`` (GET, LIST with ``labelSelector`` and
  ``fieldSelector`` on name/namespace and ``limit``/``continue`` paging (an opaque token; 410 Expired for a
  token older than the last ``/_test/compact``; later pages show the objects as they are when asked, not a
  snapshot), POST, PUT with a ``resourceVersion`` check -> 409 Conflict, PATCH with
  JSON merge patch, strategic merge patch (treated as a JSON merge patch: none of the kinds here has a list
  with a patch merge key that the clients patch) and JSON patch, DELETE, and DELETE of a namespaced collection with
  ``labelSelector``/``fieldSelector`` (deletecollection: each match deleted, the list of them answered));
* ``dryRun=All`` on every write: validated and answered, nothing stored, no resourceVersion used;
* decoding and validation as the real server does them: unknown fields dropped with a warning, silently, or
  refused (``fieldValidation``), wrong JSON types refused (400), the Kubernetes 1.31 OpenAPI schema of the kind
  and the real server's own checks for the kinds the collection writes (422 Invalid with causes), see
  ``schema.py`` and :func:`validate`;
* server-set fields: ``uid``, ``creationTimestamp``, ``resourceVersion`` (one global counter),
  ``generation`` (bumped when ``spec`` changes), and the real server-side defaults of the kinds the collection
  writes (:func:`apply_defaults`, with the upstream sources), so that clients comparing objects meet them;
* ``Status`` objects for errors (400, 404, 405, 409, 415, 422, 500);
* a namespace must exist before objects are created in it; deleting a namespace deletes its objects at once,
  or, with a termination time set, marks it (``metadata.deletionTimestamp``, ``status.phase: Terminating``,
  the namespace controller's ``status.conditions``) and removes it with its objects once that time has passed;
  meanwhile creating objects in it is 403 Forbidden (NamespaceLifecycle) and creating it again 409;
* ValidatingAdmissionPolicies and their bindings are evaluated on every create, update (and patch) and delete,
  with a real CEL implementation (``admission.py``: what it models and what not); a Deny answers with the
  server's Status and code, Warn adds ``Warning`` headers, Audit keeps the violation (``/_test/audit``);
  Pod Security Admission runs before them, from the namespaces' ``pod-security.kubernetes.io`` labels
  (``podsecurity.py``: what it models and what not);
  admission webhooks are stored, never called; a ``status`` sent on create is kept (no controllers run here),
  so tests can seed running workloads; objects seeded through ``/_test/load`` skip admission (they existed
  before the policy).

Test-only endpoints under ``/_test/`` (not counted): ``requests`` (GET: counters per ``VERB resource``;
DELETE: reset), ``fail-after?n=N[&count=C][&verbs=write|all]`` (after N more matching requests, answer
the next C (default: all) with 500), ``concurrent-writer?resource=R[&times=1]`` (right after the next
LIST of R, modify every listed object, as a concurrent client would: their resourceVersion moves on),
``reset`` (POST: empty the store, keep the seed namespaces), ``page-cap?n=N`` (at most N items per LIST answer
whatever ``limit`` asks; 0: no cap; also ``--page-cap`` and ``NETZONE_TEST_APISERVER_PAGE_CAP``), ``compact``
(POST: continue tokens issued so far expire), ``namespace-termination?seconds=S`` (a deleted namespace stays
``Terminating`` S seconds, until the next reset; default ``NETZONE_TEST_APISERVER_NS_TERMINATION`` or 0), ``faults`` (DELETE: clear faults), ``audit``
(GET: violations of Audit bindings; DELETE: and forget them), ``load`` (POST: create objects without admission
and without counting).

Run ``python tests/apiserver/kube_test_api.py --port 0 --kubeconfig FILE`` to start one on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import base64
import copy
import datetime
import ipaddress
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import admission  # pylint: disable=import-error
import podsecurity  # pylint: disable=import-error
import schema  # pylint: disable=import-error

SERVER_VERSION = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.0-netzone-test",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2024-08-13T00:00:00Z",
    "goVersion": "go1.22.5",
    "compiler": "gc",
    "platform": "linux/amd64",
}


class Res:
    """One API resource: where it lives and what it is called."""

    def __init__(self, group, version, plural, kind, namespaced, short=(), verbs=None):
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.namespaced = namespaced
        self.short = list(short)
        self.verbs = verbs or ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

    @property
    def api_version(self):
        return "%s/%s" % (self.group, self.version) if self.group else self.version

    def discovery(self):
        return {
            "name": self.plural,
            "singularName": self.kind.lower(),
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": self.verbs,
            "shortNames": self.short,
        }


RESOURCES = [
    Res("", "v1", "namespaces", "Namespace", False, ["ns"]),
    Res("", "v1", "pods", "Pod", True, ["po"]),
    Res("", "v1", "services", "Service", True, ["svc"]),
    Res("", "v1", "endpoints", "Endpoints", True, ["ep"]),
    Res("", "v1", "configmaps", "ConfigMap", True, ["cm"]),
    Res("", "v1", "secrets", "Secret", True),
    Res("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, ["pdb"]),
    Res("", "v1", "nodes", "Node", False, ["no"]),
    Res("apps", "v1", "daemonsets", "DaemonSet", True, ["ds"]),
    Res("apps", "v1", "deployments", "Deployment", True, ["deploy"]),
    Res("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True, ["netpol"]),
    Res("networking.k8s.io", "v1", "ingresses", "Ingress", True, ["ing"]),
    Res("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False),
    Res("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies", "ValidatingAdmissionPolicy", False),
    Res("admissionregistration.k8s.io", "v1", "validatingadmissionpolicybindings",
        "ValidatingAdmissionPolicyBinding", False),
    Res("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False, ["crd"]),
    # the CRD of network-policy-api v0.1.1 that Calico 3.29 installs (MicroK8s 1.33+): stored as given
    Res("policy.networking.k8s.io", "v1alpha1", "adminnetworkpolicies", "AdminNetworkPolicy", False, ["anp"]),
]
BY_PATH = {(r.group, r.version, r.plural): r for r in RESOURCES}
SEED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


class ApiError(Exception):
    """Answered as a ``Status`` object."""

    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self):
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            body["details"] = self.details
        return body


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- label selectors ---------------------------------------------------------------------------
_SET_RE = re.compile(r"^\s*([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split_selector(text):
    """Split on commas that are not inside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(text):
    """``a=b,c!=d,e in (f,g),h notin (i),j,!k`` -> list of predicates over a label dict."""
    preds = []
    for part in _split_selector(text or ""):
        match = _SET_RE.match(part)
        if match:
            key, op, vals = match.group(1), match.group(2), {v.strip() for v in match.group(3).split(",") if v.strip()}
            if op == "in":
                preds.append(lambda labels, k=key, v=vals: labels.get(k) in v)
            else:
                preds.append(lambda labels, k=key, v=vals: labels.get(k) not in v)
        elif "!=" in part:
            key, val = [x.strip() for x in part.split("!=", 1)]
            preds.append(lambda labels, k=key, v=val: labels.get(k) != v)
        elif "=" in part:
            key, val = [x.strip() for x in part.replace("==", "=").split("=", 1)]
            preds.append(lambda labels, k=key, v=val: labels.get(k) == v)
        elif part.startswith("!"):
            preds.append(lambda labels, k=part[1:].strip(): k not in labels)
        elif re.match(r"^[A-Za-z0-9./_-]+$", part):
            preds.append(lambda labels, k=part: k in labels)
        else:
            raise ApiError(400, "BadRequest", "unable to parse requirement: %r" % part)
    return preds


def parse_field_selector(text):
    preds = []
    for part in _split_selector(text or ""):
        neg = "!=" in part
        key, val = [x.strip() for x in part.replace("==", "=").replace("!=", "=").split("=", 1)]
        if key not in ("metadata.name", "metadata.namespace"):
            raise ApiError(400, "BadRequest", "field label not supported: %s" % key)
        field = key.split(".", 1)[1]
        if neg:
            preds.append(lambda meta, f=field, v=val: meta.get(f) != v)
        else:
            preds.append(lambda meta, f=field, v=val: meta.get(f) == v)
    return preds


# --- patches -----------------------------------------------------------------------------------
def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key == "$patch":
            continue
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path):
    if path == "":
        return []
    return [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")]


def json_patch(target, ops):
    """RFC 6902 JSON patch (add, remove, replace, test)."""
    doc = copy.deepcopy(target)
    for op in ops:
        parts = _pointer(op.get("path", ""))
        if not parts:
            raise ApiError(422, "Invalid", "json patch on the whole document is not supported")
        parent = doc
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent.setdefault(part, {})
        last = parts[-1]
        kind = op.get("op")
        try:
            if kind in ("add", "replace"):
                if isinstance(parent, list):
                    idx = len(parent) if last == "-" else int(last)
                    if kind == "add":
                        parent.insert(idx, op["value"])
                    else:
                        parent[idx] = op["value"]
                else:
                    if kind == "replace" and last not in parent:
                        raise ApiError(422, "Invalid", "replace operation does not apply: %s" % op["path"])
                    parent[last] = op["value"]
            elif kind == "remove":
                if isinstance(parent, list):
                    del parent[int(last)]
                else:
                    del parent[last]
            elif kind == "test":
                current = parent[int(last)] if isinstance(parent, list) else parent.get(last)
                if current != op.get("value"):
                    raise ApiError(422, "Invalid", "test operation failed: %s" % op["path"])
            else:
                raise ApiError(422, "Invalid", "unsupported json patch operation %r" % kind)
        except (KeyError, IndexError, ValueError) as exc:
            raise ApiError(422, "Invalid", "json patch %s %s: %s" % (kind, op.get("path"), exc)) from exc
    return doc


# --- defaults and validation -------------------------------------------------------------------
# The server-side defaults of the kinds the collection writes, as Kubernetes sets them (defaulting functions
# and the Service REST storage), read in kubernetes/kubernetes:
#   pkg/apis/core/v1/defaults.go @023f88a32c95647b94e47df54948a0af9517dd0c: SetDefaults_Namespace (label
#     kubernetes.io/metadata.name), SetDefaults_NamespaceStatus (phase Active), SetDefaults_Service
#     (sessionAffinity None, type ClusterIP, port protocol TCP, targetPort = port, externalTrafficPolicy Cluster
#     when externally accessible, internalTrafficPolicy Cluster, allocateLoadBalancerNodePorts), SetDefaults_Secret
#     (type Opaque), SetDefaults_PodSpec, SetDefaults_Container, SetDefaults_Probe, SetDefaults_*VolumeSource
#     (defaultMode 420), SetDefaults_HTTPGetAction;
#   pkg/registry/core/service/storage/alloc.go @03d11c53a8af07619441b6fc401e8b9141544968 (initIPFamilyFields,
#     allocClusterIPs): clusterIP(s) allocated except for headless Services, ipFamilyPolicy SingleStack
#     (RequireDualStack for a headless Service without selector, which then lists both families) and ipFamilies
#     [IPv4] on a single-stack IPv4 cluster; on update the policy of the old object is kept;
#   pkg/registry/core/namespace/strategy.go @04a46264dbfcba9ccbfe38f2aec67b19c1bba061 (PrepareForCreate: status
#     phase Active, spec.finalizers [kubernetes]; PrepareForUpdate: finalizers and status kept from the old object);
#   pkg/apis/networking/v1/defaults.go @030880a5dc5449403c6d1f0aa146a7dc21d6c6dc: SetDefaults_NetworkPolicyPort
#     (protocol TCP), SetDefaults_NetworkPolicy (policyTypes Ingress, plus Egress when egress rules are given);
#   pkg/apis/admissionregistration/v1beta1/defaults.go (the same functions in v1 since 1.30):
#     SetDefaults_ValidatingAdmissionPolicySpec (failurePolicy Fail), SetDefaults_MatchResources (matchPolicy
#     Equivalent, namespaceSelector {}, objectSelector {}); v1/defaults.go @08433067c36330f4678e38a7a013051198c47e53
#     SetDefaults_Rule (scope "*");
#   pkg/apis/apps/v1/defaults.go @04791b4906602ffda5ccf9bc4c84d3329f1d7080: SetDefaults_Deployment (replicas 1,
#     strategy RollingUpdate 25%/25%, revisionHistoryLimit 10, progressDeadlineSeconds 600), SetDefaults_DaemonSet.
# Ingress (networking/v1) has no defaults: pathType is required.


def _pod_spec_defaults(spec):
    if not isinstance(spec, dict):
        return
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("securityContext", {})
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("schedulerName", "default-scheduler")
    for field in ("containers", "initContainers"):
        for container in spec.get(field) or []:
            if not isinstance(container, dict):
                continue
            image = container.get("image") or ""
            tag = image.rsplit("/", 1)[-1].partition("@")[0].partition(":")[2]
            container.setdefault("imagePullPolicy", "Always" if tag in ("", "latest") and "@" not in image
                                 else "IfNotPresent")
            container.setdefault("terminationMessagePath", "/dev/termination-log")
            container.setdefault("terminationMessagePolicy", "File")
            for port in container.get("ports") or []:
                port.setdefault("protocol", "TCP")
                if spec.get("hostNetwork"):
                    port.setdefault("hostPort", port.get("containerPort"))
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                if isinstance(container.get(probe), dict):
                    pr = container[probe]
                    for key, value in (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1),
                                       ("failureThreshold", 3)):
                        pr.setdefault(key, value)
                    if isinstance(pr.get("httpGet"), dict):
                        pr["httpGet"].setdefault("path", "/")
                        pr["httpGet"].setdefault("scheme", "HTTP")
    for volume in spec.get("volumes") or []:
        for source in ("configMap", "secret", "projected", "downwardAPI"):
            if isinstance(volume.get(source), dict):
                volume[source].setdefault("defaultMode", 420)


def apply_defaults(res, obj, store):
    """The API server's defaults for what it stores (see the sources above)."""
    spec = obj.get("spec")
    if res.kind == "Namespace":
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        status = obj.setdefault("status", {})
        status.setdefault("phase", "Active")
    elif res.kind == "NetworkPolicy" and isinstance(spec, dict):
        if "policyTypes" not in spec or not spec["policyTypes"]:
            spec["policyTypes"] = ["Ingress"] + (["Egress"] if spec.get("egress") else [])
        for direction in ("ingress", "egress"):
            for rule in spec.get(direction) or []:
                for port in rule.get("ports") or []:
                    port.setdefault("protocol", "TCP")
    elif res.kind == "Service" and isinstance(spec, dict):
        _service_defaults(spec, store)
    elif res.kind == "Secret":
        obj.setdefault("type", "Opaque")
    elif res.kind == "Deployment" and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        strategy = spec.setdefault("strategy", {})
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            rolling.setdefault("maxUnavailable", "25%")
            rolling.setdefault("maxSurge", "25%")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        _pod_spec_defaults((spec.get("template") or {}).get("spec"))
    elif res.kind == "DaemonSet" and isinstance(spec, dict):
        strategy = spec.setdefault("updateStrategy", {})
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            rolling.setdefault("maxUnavailable", 1)
            rolling.setdefault("maxSurge", 0)
        spec.setdefault("revisionHistoryLimit", 10)
        _pod_spec_defaults((spec.get("template") or {}).get("spec"))
    elif res.kind == "Pod" and isinstance(spec, dict):
        _pod_spec_defaults(spec)
        spec.setdefault("enableServiceLinks", True)
    elif res.kind == "ValidatingAdmissionPolicy" and isinstance(spec, dict):
        spec.setdefault("failurePolicy", "Fail")
        _match_resources_defaults(spec.setdefault("matchConstraints", {}))
    elif res.kind == "ValidatingAdmissionPolicyBinding" and isinstance(spec, dict):
        mr = spec.get("matchResources")
        if isinstance(mr, dict):
            _match_resources_defaults(mr)
    elif res.kind == "Ingress":
        obj.setdefault("status", {"loadBalancer": {}})


def _service_defaults(spec, store):
    spec.setdefault("sessionAffinity", "None")
    spec.setdefault("type", "ClusterIP")
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        if port.get("targetPort") in (None, 0, ""):
            port["targetPort"] = port.get("port")
        if spec["type"] in ("NodePort", "LoadBalancer"):
            port.setdefault("nodePort", store.allocate_node_port())
    if spec["type"] in ("NodePort", "LoadBalancer") or spec.get("externalIPs"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if spec["type"] in ("ClusterIP", "NodePort", "LoadBalancer"):
        spec.setdefault("internalTrafficPolicy", "Cluster")
    if spec["type"] == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    if spec["type"] != "ExternalName":
        if "clusterIP" not in spec and spec.get("clusterIPs"):
            spec["clusterIP"] = spec["clusterIPs"][0]
        if spec.get("clusterIP") == "None" and not spec.get("selector"):
            spec.setdefault("ipFamilyPolicy", "RequireDualStack")
            spec.setdefault("ipFamilies", ["IPv4"] if spec["ipFamilyPolicy"] == "SingleStack" else ["IPv4", "IPv6"])
        spec.setdefault("clusterIP", store.allocate_cluster_ip())
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")


def _keep_allocated(res, name, old, new):
    """What the Service REST storage does on update (``patchAllocatedValues``): the cluster IPs, IP families and
    node ports already allocated stay when the update leaves them out; a changed cluster IP is refused."""
    if not isinstance(new, dict):
        return
    if new.get("type", "ClusterIP") != "ExternalName" and old.get("type", "ClusterIP") != "ExternalName":
        if new.get("clusterIP") not in (None, "", old.get("clusterIP")):
            raise _invalid(res, name, [("spec.clusterIP", "Invalid value: %s: field is immutable"
                                        % _quoted(new["clusterIP"]))])
        for field in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
            if field in old and not new.get(field):
                new[field] = copy.deepcopy(old[field])
    if new.get("type") in ("NodePort", "LoadBalancer"):
        old_ports = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort") for p in old.get("ports") or []}
        for port in new.get("ports") or []:
            allocated = old_ports.get((port.get("port"), port.get("protocol", "TCP")))
            if allocated and not port.get("nodePort"):
                port["nodePort"] = allocated


def _match_resources_defaults(match):
    """admissionregistration/v1 SetDefaults_MatchResources and SetDefaults_Rule (scope)."""
    match.setdefault("matchPolicy", "Equivalent")
    match.setdefault("namespaceSelector", {})
    match.setdefault("objectSelector", {})
    for field in ("resourceRules", "excludeResourceRules"):
        for rule in match.get(field) or []:
            if isinstance(rule, dict):
                rule.setdefault("scope", "*")


def qualified_kind(res):
    """``NetworkPolicy.networking.k8s.io``, ``Service``: how the server names a kind in its messages."""
    return "%s.%s" % (res.kind, res.group) if res.group else res.kind


def _invalid(res, name, causes):
    """422 Invalid, worded as the real server words it (``apimachinery/pkg/api/errors.NewInvalid``): one cause
    ``Kind "name" is invalid: field: message``, several in brackets."""
    causes = [c if len(c) == 3 else (c[0], _reason_of(c[1]), c[1]) for c in causes]
    texts = ["%s: %s" % (field, message) for field, _reason, message in causes]
    text = texts[0] if len(texts) == 1 else "[%s]" % ", ".join(texts)
    return ApiError(
        422, "Invalid", '%s "%s" is invalid: %s' % (qualified_kind(res), name, text),
        {"name": name, "group": res.group, "kind": res.kind,
         "causes": [{"field": f, "message": m, "reason": r} for f, r, m in causes]},
    )


def _reason_of(message):
    for prefix, reason in (("Required value", "FieldValueRequired"), ("Unsupported value", "FieldValueNotSupported"),
                           ("Forbidden", "FieldValueForbidden"), ("Duplicate value", "FieldValueDuplicate")):
        if message.startswith(prefix):
            return reason
    return "FieldValueInvalid"


def decode(res, body, field_validation, warnings):
    """What the server's decoder does with a request body (k8s >= 1.27, ``fieldValidation``): fields the
    schema does not know are dropped with a warning (``Warn``, the default), dropped silently (``Ignore``)
    or refused (``Strict``: 400 ``strict decoding error``); a value of the wrong JSON type cannot be decoded
    (400).  ``body`` is changed in place."""
    if field_validation not in ("Strict", "Warn", "Ignore"):
        raise ApiError(400, "BadRequest", 'fieldValidation parameter unsupported: %s' % field_validation)
    if not isinstance(body, dict) or body.get("kind") != res.kind or body.get("apiVersion") != res.api_version:
        return  # validate() names a wrong kind or apiVersion
    unknown = schema.unknown_fields(body, res.api_version, res.kind)
    if unknown and field_validation == "Strict":
        raise ApiError(400, "BadRequest", "strict decoding error: %s"
                       % ", ".join('unknown field "%s"' % f for f in unknown))
    if field_validation == "Warn":
        warnings.extend('unknown field "%s"' % f for f in unknown)
    bad_types, _causes = schema.schema_errors(body, res.api_version, res.kind)
    if bad_types:
        raise ApiError(400, "BadRequest", '%s in version "%s" cannot be handled as a %s: json: %s'
                       % (res.kind, res.version, res.kind, "; ".join(bad_types)))


DNS1123_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
                     "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used "
                     "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
DNS1123_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
                         "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
                         "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS1035_LABEL_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                     "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
                     "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
QUALIFIED_NAME_MSG = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                      "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
                      "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                   "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
                   "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")


def _quoted(value):
    return json.dumps(value)


def _qualified_name_errors(key):
    """apimachinery/pkg/util/validation.IsQualifiedName: ``[prefix/]name``."""
    prefix, name = key.rpartition("/")[::2]
    errs = []
    if "/" in key and (not prefix or len(prefix) > 253 or not DNS1123_SUBDOMAIN.match(prefix)):
        errs.append("prefix part " + DNS1123_SUBDOMAIN_MSG)
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part must be no more than 63 characters")
    elif not QUALIFIED_NAME.match(name):
        errs.append(QUALIFIED_NAME_MSG)
    return errs


def _check_labels(causes, labels, where):
    if not isinstance(labels, dict):
        return
    for key, value in labels.items():
        for err in _qualified_name_errors(key):
            causes.append((where, "Invalid value: %s: %s" % (_quoted(key), err)))
        if isinstance(value, str) and (len(value) > 63 or not LABEL_VALUE.match(value)):
            causes.append(("%s" % where, "Invalid value: %s: %s" % (
                _quoted(value), "must be no more than 63 characters" if len(value) > 63 else LABEL_VALUE_MSG)))


def _check_selector(causes, selector, where):
    """metav1validation.ValidateLabelSelector."""
    if not isinstance(selector, dict):
        return
    _check_labels(causes, selector.get("matchLabels"), where + ".matchLabels")
    for i, expr in enumerate(selector.get("matchExpressions") or []):
        at = "%s.matchExpressions[%d]" % (where, i)
        op, values = expr.get("operator"), expr.get("values") or []
        if op in ("In", "NotIn") and not values:
            causes.append((at + ".values", "Required value: must be specified when `operator` is 'In' or 'NotIn'"))
        elif op in ("Exists", "DoesNotExist") and values:
            causes.append((at + ".values", "Forbidden: may not be specified when `operator` is 'Exists' or "
                                           "'DoesNotExist'"))
        elif op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            causes.append((at + ".operator", 'Invalid value: %s: not a valid selector operator' % _quoted(op)))
        for err in _qualified_name_errors(expr.get("key") or ""):
            causes.append((at + ".key", "Invalid value: %s: %s" % (_quoted(expr.get("key")), err)))


def _check_cidr(causes, cidr, where):
    try:
        return ipaddress.ip_network(cidr, strict=False)
    except (TypeError, ValueError):
        causes.append((where, "Invalid value: %s: must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
                       % _quoted(cidr)))
        return None


def _check_port_number(causes, num, where):
    if isinstance(num, int) and not 0 < num < 65536:
        causes.append((where, "Invalid value: %d: must be between 1 and 65535, inclusive" % num))
    elif isinstance(num, str) and not (DNS1123_LABEL.match(num) and len(num) <= 15 and re.search("[a-z]", num)):
        causes.append((where, "Invalid value: %s: must contain only alpha-numeric characters (a-z, 0-9), and "
                              "hyphens (-), at least one letter, no more than 15 characters" % _quoted(num)))


def _check_protocol(causes, proto, where):
    if proto is not None and proto not in ("TCP", "UDP", "SCTP"):
        causes.append((where, 'Unsupported value: %s: supported values: "SCTP", "TCP", "UDP"' % _quoted(proto)))


def _validate_network_policy(causes, spec):
    """networking/validation.ValidateNetworkPolicySpec (the parts that matter for policies written here)."""
    _check_selector(causes, spec.get("podSelector"), "spec.podSelector")
    for i, ptype in enumerate(spec.get("policyTypes") or []):
        if ptype not in ("Ingress", "Egress"):
            causes.append(("spec.policyTypes[%d]" % i, 'Unsupported value: %s: supported values: "Egress", '
                                                       '"Ingress"' % _quoted(ptype)))
    if len(spec.get("policyTypes") or []) > 2:
        causes.append(("spec.policyTypes", "Invalid value: %s: may not specify more than two policyTypes"
                       % _quoted(spec["policyTypes"])))
    for direction, peers_field in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(spec.get(direction) or []):
            for j, port in enumerate(rule.get("ports") or []):
                at = "spec.%s[%d].ports[%d]" % (direction, i, j)
                _check_protocol(causes, port.get("protocol"), at + ".protocol")
                _check_port_number(causes, port.get("port"), at + ".port")
                end = port.get("endPort")
                if end is not None:
                    if not isinstance(port.get("port"), int):
                        causes.append((at + ".endPort", "Required value: may not be specified when `port` is not "
                                                        "specified or is a named port" if port.get("port") is None
                                       else "Invalid value: %d: may not be specified when `port` is non-numeric"
                                       % end))
                    elif end < port["port"]:
                        causes.append((at + ".endPort", "Invalid value: %d: must be greater than or equal to "
                                                        "`port`" % end))
            for j, peer in enumerate(rule.get(peers_field) or []):
                at = "spec.%s[%d].%s[%d]" % (direction, i, peers_field, j)
                set_fields = [f for f in ("podSelector", "namespaceSelector", "ipBlock") if peer.get(f) is not None]
                if not set_fields:
                    causes.append((at, "Required value: must specify a peer"))
                elif "ipBlock" in set_fields and len(set_fields) > 1:
                    causes.append((at, "Forbidden: may not specify more than 1 peer, if `ipBlock` is specified"))
                _check_selector(causes, peer.get("podSelector"), at + ".podSelector")
                _check_selector(causes, peer.get("namespaceSelector"), at + ".namespaceSelector")
                block = peer.get("ipBlock")
                if isinstance(block, dict):
                    net = _check_cidr(causes, block.get("cidr"), at + ".ipBlock.cidr")
                    for k, exc in enumerate(block.get("except") or []):
                        sub = _check_cidr(causes, exc, "%s.ipBlock.except[%d]" % (at, k))
                        if net and sub and (sub.version != net.version or not sub.subnet_of(net) or sub == net):
                            causes.append(("%s.ipBlock.except[%d]" % (at, k),
                                           "Invalid value: %s: must be a strict subset of `cidr`" % _quoted(exc)))


def _validate_service(causes, spec):
    """core/validation.ValidateService (types, ports, names)."""
    stype = spec.get("type", "ClusterIP")
    if stype not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
        causes.append(("spec.type", 'Unsupported value: %s: supported values: "ClusterIP", "ExternalName", '
                                    '"LoadBalancer", "NodePort"' % _quoted(stype)))
    ports = spec.get("ports") or []
    if not ports and stype != "ExternalName" and spec.get("clusterIP") != "None":
        causes.append(("spec.ports", "Required value"))
    names = set()
    for i, port in enumerate(ports):
        at = "spec.ports[%d]" % i
        if len(ports) > 1 and not port.get("name"):
            causes.append((at + ".name", "Required value"))
        elif port.get("name") in names:
            causes.append((at + ".name", "Duplicate value: %s" % _quoted(port["name"])))
        names.add(port.get("name"))
        _check_port_number(causes, port.get("port"), at + ".port")
        if isinstance(port.get("port"), str):
            causes.append((at + ".port", "Invalid value: %s: must be a number" % _quoted(port["port"])))
        _check_protocol(causes, port.get("protocol"), at + ".protocol")
        if port.get("targetPort") is not None:
            _check_port_number(causes, port["targetPort"], at + ".targetPort")
        if port.get("nodePort") and stype not in ("NodePort", "LoadBalancer"):
            causes.append((at + ".nodePort", "Forbidden: may not be used when `type` is '%s'" % stype))
    if spec.get("sessionAffinity", "None") not in ("None", "ClientIP"):
        causes.append(("spec.sessionAffinity", 'Unsupported value: %s: supported values: "ClientIP", "None"'
                       % _quoted(spec["sessionAffinity"])))


def validate(res, obj):
    """The checks of the real API server (``pkg/apis/*/validation``) that matter for the kinds the collection
    writes, after the 1.31 OpenAPI schema (schema.py) of the kind: required fields, names, labels and
    selectors, ports, CIDRs, enumerations."""
    meta = obj.get("metadata") or {}
    name = meta.get("name", "")
    causes = []
    if obj.get("kind") != res.kind:
        causes.append(("kind", "Invalid value: %s: must be %s" % (_quoted(obj.get("kind")), res.kind)))
    if obj.get("apiVersion") != res.api_version:
        causes.append(("apiVersion", "Invalid value: %s: must be %s" % (_quoted(obj.get("apiVersion")),
                                                                        res.api_version)))
    if causes:
        raise _invalid(res, name, causes)
    for field, reason, message in schema.schema_errors(obj, res.api_version, res.kind)[1]:
        causes.append((field, reason, message))
    if res.kind in ("Namespace",):
        pattern, limit, msg = DNS1123_LABEL, 63, DNS1123_LABEL_MSG
    elif res.kind == "Service":
        pattern, limit, msg = DNS1035_LABEL, 63, DNS1035_LABEL_MSG
    else:
        pattern, limit, msg = DNS1123_SUBDOMAIN, 253, DNS1123_SUBDOMAIN_MSG
    if not name:
        causes.append(("metadata.name", "Required value: name or generateName is required"))
    elif len(name) > limit:
        causes.append(("metadata.name", "Invalid value: %s: must be no more than %d characters"
                       % (_quoted(name), limit)))
    elif not pattern.match(name):
        causes.append(("metadata.name", "Invalid value: %s: %s" % (_quoted(name), msg)))
    _check_labels(causes, meta.get("labels"), "metadata.labels")
    for key in (meta.get("annotations") or {}):
        for err in _qualified_name_errors(key):
            causes.append(("metadata.annotations", "Invalid value: %s: %s" % (_quoted(key), err)))
    spec = obj.get("spec")
    if res.kind == "NetworkPolicy" and isinstance(spec, dict):
        _validate_network_policy(causes, spec)
    elif res.kind == "Service" and isinstance(spec, dict):
        _validate_service(causes, spec)
    elif res.kind == "Ingress":
        for i, rule in enumerate((spec or {}).get("rules") or []):
            for j, path in enumerate(((rule.get("http") or {}).get("paths")) or []):
                at = "spec.rules[%d].http.paths[%d]" % (i, j)
                if path.get("pathType") not in ("Exact", "Prefix", "ImplementationSpecific"):
                    causes.append((at + ".pathType", "Required value: pathType must be specified"
                                   if path.get("pathType") is None else 'Unsupported value: %s: supported values: '
                                   '"Exact", "ImplementationSpecific", "Prefix"' % _quoted(path["pathType"])))
    elif res.kind == "ValidatingAdmissionPolicy":
        if not (spec or {}).get("validations") and not (spec or {}).get("auditAnnotations"):
            causes.append(("spec.validations", "Required value: validations or auditAnnotations must contain at "
                                               "least one item"))
        for field, message in admission.compile_errors(obj):
            causes.append((field, message))
    elif res.kind == "ValidatingAdmissionPolicyBinding":
        if not (spec or {}).get("policyName"):
            causes.append(("spec.policyName", "Required value"))
        for i, action in enumerate((spec or {}).get("validationActions") or []):
            if action not in ("Deny", "Warn", "Audit"):
                causes.append(("spec.validationActions[%d]" % i, 'Unsupported value: %s: supported values: '
                                                                 '"Audit", "Deny", "Warn"' % _quoted(action)))
        if not (spec or {}).get("validationActions"):
            causes.append(("spec.validationActions", "Required value: at least one validation action is required"))
    if causes:
        raise _invalid(res, name, causes)


# --- the store ---------------------------------------------------------------------------------
class Store:
    """Objects keyed by (resource, namespace, name); one lock; one resourceVersion counter."""

    def __init__(self):
        self.lock = threading.RLock()
        self.objects = {}
        self.rv = 100
        self.next_ip = 10
        self.next_node_port = 30000
        self.warnings = []       # Warning header texts of the request being served
        self.compacted_rv = 0    # continue tokens of lists begun before this resourceVersion are expired (410)
        self.namespace_termination = 0
        self.terminating = {}    # namespace -> time.monotonic() when it is gone
        self.audit = []          # violations of policies bound with validationActions: [Audit]
        self.seed()

    def seed(self):
        with self.lock:
            self.objects = {}
            self.terminating = {}
            # Seconds a deleted namespace stays Terminating (0: gone at once, with its objects); the test
            # endpoint namespace-termination sets it until the next reset.
            self.namespace_termination = float(os.environ.get("NETZONE_TEST_APISERVER_NS_TERMINATION") or 0)
            self.audit = []
            # API groups this server pretends not to serve (a CRD not installed: 404 in discovery and CRUD), from
            # NETZONE_TEST_APISERVER_UNSERVED_GROUPS (comma-separated) or set by a test until the next reset.
            self.unserved_groups = set(filter(None, os.environ.get("NETZONE_TEST_APISERVER_UNSERVED_GROUPS", "")
                                              .split(",")))
            for name in SEED_NAMESPACES:
                self._store(BY_PATH[("", "v1", "namespaces")], None,
                            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    def allocate_cluster_ip(self):
        self.next_ip += 1
        return "10.152.183.%d" % (self.next_ip % 250 + 2)

    def allocate_node_port(self):
        self.next_node_port += 1
        return self.next_node_port

    def next_rv(self):
        self.rv += 1
        return str(self.rv)

    def _store(self, res, namespace, obj):
        meta = obj.setdefault("metadata", {})
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = _now()
        meta["generation"] = 1
        meta["resourceVersion"] = self.next_rv()
        if res.namespaced:
            meta["namespace"] = namespace
        apply_defaults(res, obj, self)
        self.objects[(res.plural, namespace, meta["name"])] = obj
        return obj

    def key(self, res, namespace, name):
        return (res.plural, namespace if res.namespaced else None, name)

    def get(self, res, namespace, name):
        obj = self.objects.get(self.key(res, namespace, name))
        if obj is None:
            raise ApiError(404, "NotFound", '%s "%s" not found' % (res.plural + ("." + res.group if res.group else ""), name),
                           {"name": name, "kind": res.plural, "group": res.group})
        return obj

    def list(self, res, namespace, label_preds, field_preds):
        out = []
        for (plural, ns, _name), obj in sorted(self.objects.items(), key=lambda kv: (kv[0][1] or "", kv[0][2])):
            if plural != res.plural or (namespace and ns != namespace):
                continue
            labels = obj["metadata"].get("labels") or {}
            if all(p(labels) for p in label_preds) and all(p(obj["metadata"]) for p in field_preds):
                out.append(obj)
        return out

    def require_namespace(self, namespace, res=None, name=None):
        ns = self.objects.get(("namespaces", None, namespace))
        if ns is None:
            raise ApiError(404, "NotFound", 'namespaces "%s" not found' % namespace,
                           {"name": namespace, "kind": "namespaces"})
        if res is not None and ns["metadata"].get("deletionTimestamp"):
            # The NamespaceLifecycle admission plugin.
            message = "unable to create new content in namespace %s because it is being terminated" % namespace
            raise ApiError(403, "Forbidden", '%s "%s" is forbidden: %s' % (
                res.plural + ("." + res.group if res.group else ""), name, message),
                {"name": name, "group": res.group, "kind": res.plural,
                 "causes": [{"reason": "NamespaceTerminating", "message": message, "field": "metadata.namespace"}]})

    def create(self, res, namespace, body, dry_run, admit=True, field_validation="Warn"):
        meta = body.setdefault("metadata", {})
        if res.namespaced:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise ApiError(400, "BadRequest", "the namespace of the provided object does not match the namespace "
                                                  "sent on the request")
            self.require_namespace(namespace, res, meta.get("name"))
        for field in ("uid", "resourceVersion", "creationTimestamp", "generation"):
            if field == "resourceVersion" and meta.get(field):
                raise ApiError(500, "InternalError", "resourceVersion should not be set on objects to be created")
            meta.pop(field, None)
        decode(res, body, field_validation, self.warnings)
        validate(res, body)
        if self.key(res, namespace, meta["name"]) in self.objects:
            raise ApiError(409, "AlreadyExists", '%s "%s" already exists' % (res.plural, meta["name"]),
                           {"name": meta["name"], "kind": res.plural, "group": res.group})
        obj = copy.deepcopy(body)
        if not admit:
            return copy.deepcopy(self._store(res, namespace, obj))
        meta = obj["metadata"]
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = _now()
        meta["generation"] = 1
        if res.namespaced:
            meta["namespace"] = namespace
        apply_defaults(res, obj, self)
        self.admit(res, "CREATE", namespace, meta["name"], obj, None, dry_run)
        if dry_run:
            return obj
        meta["resourceVersion"] = self.next_rv()
        self.objects[self.key(res, namespace, meta["name"])] = obj
        return copy.deepcopy(obj)

    def admit(self, res, operation, namespace, name, obj, old, dry_run):
        """Pod Security Admission (podsecurity.py), then validating admission policies (admission.py): raise the
        refusal, keep warnings and audits."""
        ns_labels = ((self.objects.get(("namespaces", None, namespace)) or {}).get("metadata") or {}).get("labels")
        try:
            self.warnings.extend(podsecurity.review(res.kind, operation, namespace, name, obj, old, ns_labels, lambda: [
                o for k, o in self.objects.items() if k[0] == "pods" and k[1] == name]))
        except podsecurity.Refusal as exc:
            raise ApiError(exc.code, exc.reason, exc.message, exc.details) from exc
        policies = [o for k, o in self.objects.items() if k[0] == "validatingadmissionpolicies"]
        bindings = [o for k, o in self.objects.items() if k[0] == "validatingadmissionpolicybindings"]
        if not policies or not bindings:
            return
        ns_obj = self.objects.get(("namespaces", None, namespace)) if namespace else None
        req = {"group": res.group, "version": res.version, "resource": res.plural, "kind": res.kind,
               "namespaced": res.namespaced, "namespace": namespace, "name": name, "operation": operation,
               "object": obj, "old": old, "namespace_object": ns_obj, "dry_run": dry_run,
               "namespace_labels": ((ns_obj or {}).get("metadata") or {}).get("labels") or {}}
        denied, warnings, audits = admission.admit(policies, bindings, req)
        self.warnings.extend(warnings)
        if not dry_run:
            self.audit.extend(audits)
        if denied is not None:
            code, status = admission.denial_status(denied, req)
            raise ApiError(code, status["reason"], status["message"], status["details"])

    def replace(self, res, namespace, name, body, dry_run, check_rv=True, field_validation="Warn"):
        current = self.get(res, namespace, name)
        meta = body.setdefault("metadata", {})
        if meta.get("name") and meta["name"] != name:
            raise ApiError(400, "BadRequest", "the name of the object (%s) does not match the name on the URL (%s)"
                           % (meta["name"], name))
        meta["name"] = name
        wanted_rv = meta.get("resourceVersion")
        if check_rv and wanted_rv and wanted_rv != current["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object has been modified; '
                                            "please apply your changes to the latest version and try again"
                           % (res.plural + ("." + res.group if res.group else ""), name),
                           {"name": name, "kind": res.plural, "group": res.group})
        decode(res, body, field_validation, self.warnings)
        validate(res, body)
        obj = copy.deepcopy(body)
        cur_meta = current["metadata"]
        new_meta = obj["metadata"]
        for field in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
            if field in cur_meta:
                new_meta[field] = cur_meta[field]
            else:
                new_meta.pop(field, None)
        if res.namespaced:
            new_meta["namespace"] = namespace
        new_meta["generation"] = cur_meta.get("generation", 1)
        if "status" in current:  # status changes only through the status subresource
            obj["status"] = copy.deepcopy(current["status"])
        if res.kind == "Service":
            _keep_allocated(res, name, current.get("spec") or {}, obj.get("spec"))
        apply_defaults(res, obj, self)
        self.admit(res, "UPDATE", namespace, name, obj, current, dry_run)
        if obj.get("spec") != current.get("spec"):
            new_meta["generation"] = cur_meta.get("generation", 1) + 1
        unchanged = {k: v for k, v in obj.items() if k != "metadata"} == \
            {k: v for k, v in current.items() if k != "metadata"} and \
            {k: v for k, v in new_meta.items() if k != "resourceVersion"} == \
            {k: v for k, v in cur_meta.items() if k != "resourceVersion"}
        if unchanged:
            # The real API server does not write (nor bump resourceVersion) for a no-op update.
            return copy.deepcopy(current)
        new_meta["resourceVersion"] = cur_meta["resourceVersion"] if dry_run else self.next_rv()
        if not dry_run:
            self.objects[self.key(res, namespace, name)] = obj
        return copy.deepcopy(obj)

    def patch(self, res, namespace, name, content_type, patch, dry_run, field_validation="Warn"):
        current = self.get(res, namespace, name)
        base = copy.deepcopy(current)
        if content_type in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
            if not isinstance(patch, dict):
                raise ApiError(400, "BadRequest", "a merge patch must be a JSON object")
            result = merge_patch(base, patch)
        elif content_type == "application/json-patch+json":
            if not isinstance(patch, list):
                raise ApiError(400, "BadRequest", "a JSON patch must be a list of operations")
            result = json_patch(base, patch)
        else:
            raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                                                        "accepted media types include: application/json-patch+json, "
                                                        "application/merge-patch+json, "
                                                        "application/strategic-merge-patch+json")
        # A patch carries a resourceVersion only when the client wants the optimistic-lock check.
        sent_rv = (patch.get("metadata") or {}).get("resourceVersion") if isinstance(patch, dict) else None
        if not sent_rv:
            result.setdefault("metadata", {})["resourceVersion"] = current["metadata"]["resourceVersion"]
        return self.replace(res, namespace, name, result, dry_run, field_validation=field_validation)

    def delete(self, res, namespace, name, dry_run):
        current = self.get(res, namespace, name)
        self.admit(res, "DELETE", namespace, name, None, current, dry_run)
        if dry_run:
            return copy.deepcopy(current)
        if res.kind == "Namespace" and self.namespace_termination:
            # The namespace controller empties it first: Terminating until then (namespace_termination seconds).
            meta = current["metadata"]
            if not meta.get("deletionTimestamp"):
                meta["deletionTimestamp"] = _now()
                meta["deletionGracePeriodSeconds"] = 0
                meta["resourceVersion"] = self.next_rv()
                current.setdefault("status", {})["phase"] = "Terminating"
                self.terminating[name] = time.monotonic() + self.namespace_termination
            return copy.deepcopy(current)
        del self.objects[self.key(res, namespace, name)]
        if res.kind == "Namespace":
            self._purge_namespace(name)
        return copy.deepcopy(current)

    def _purge_namespace(self, name):
        self.terminating.pop(name, None)
        self.objects.pop(("namespaces", None, name), None)
        for key in [k for k in self.objects if k[1] == name]:
            del self.objects[key]

    def expire(self):
        """Finish the namespaces whose termination time has come (called before every request is served)."""
        now = time.monotonic()
        for name, deadline in list(self.terminating.items()):
            if now >= deadline:
                self._purge_namespace(name)
                self.rv += 1
        for name in self.terminating:
            ns = self.objects.get(("namespaces", None, name))
            if ns is not None:
                ns["status"]["conditions"] = self._termination_conditions(name)

    def _termination_conditions(self, name):
        """What the namespace controller reports while it empties a namespace (status.conditions)."""
        counts = {}
        for (plural, ns, _name) in self.objects:
            if ns == name:
                res = next(r for r in RESOURCES if r.plural == plural)
                counts[res.plural + ("." + res.group if res.group else "")] = counts.get(
                    res.plural + ("." + res.group if res.group else ""), 0) + 1
        remaining = ", ".join("%s has %d resource instances" % kv for kv in sorted(counts.items()))
        stamp = _now()
        content = "Some resources are remaining: %s" % remaining if counts else "All content successfully removed"
        return [
            {"type": "NamespaceContentRemaining", "status": "True" if counts else "False",
             "reason": "SomeResourcesRemain" if counts else "ContentDeleted",
             "message": content,
             "lastTransitionTime": stamp},
            {"type": "NamespaceFinalizersRemaining", "status": "False", "reason": "ContentHasNoFinalizers",
             "message": "All content-preserving finalizers finished", "lastTransitionTime": stamp},
        ]


# --- counters and faults -----------------------------------------------------------------------
class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.total = 0
        self.log = []
        self.fail_after = None   # remaining matching requests before failures start
        self.fail_count = None   # how many to fail (None: all)
        self.fail_verbs = "write"
        self.failed = 0
        self.writers = {}        # resource plural -> times

    def count(self, verb, plural, where=""):
        with self.lock:
            key = "%s %s" % (verb, plural)
            self.counts[key] = self.counts.get(key, 0) + 1
            self.total += 1
            self.log.append("%s %s" % (key, where) if where else key)

    def snapshot(self):
        with self.lock:
            writes = sum(v for k, v in self.counts.items() if k.split(" ", 1)[0] in WRITE_VERBS)
            return {"total": self.total, "writes": writes, "counts": dict(self.counts), "log": list(self.log),
                    "failed": self.failed}

    def reset(self):
        with self.lock:
            self.counts, self.total, self.log = {}, 0, []

    def should_fail(self, verb):
        with self.lock:
            if self.fail_after is None:
                return False
            if self.fail_verbs == "write" and verb not in WRITE_VERBS:
                return False
            if self.fail_after > 0:
                self.fail_after -= 1
                return False
            if self.fail_count is not None:
                if self.fail_count <= 0:
                    self.fail_after = None
                    return False
                self.fail_count -= 1
            self.failed += 1
            return True


# --- HTTP --------------------------------------------------------------------------------------
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "netzone-test-apiserver/1"

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        if self.server.verbose:
            sys.stderr.write("%s %s\n" % (self.address_string(), format % args))

    def setup(self):
        super().setup()
        # Small answers in one segment each: no Nagle/delayed-ACK stalls on loopback.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # plumbing
    def _send(self, code, body, warnings=()):
        data = json.dumps(body).encode()
        self.send_response(code)
        if warnings:
            # One header, comma-separated values, as the real server sends them (and clients split them).
            self.send_header("Warning", ", ".join(admission.warning_header(w) for w in warnings))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise ApiError(400, "BadRequest", "body is not JSON: %s" % exc) from exc

    def do_GET(self):  # pylint: disable=invalid-name
        self._dispatch("GET")

    def do_POST(self):  # pylint: disable=invalid-name
        self._dispatch("POST")

    def do_PUT(self):  # pylint: disable=invalid-name
        self._dispatch("PUT")

    def do_PATCH(self):  # pylint: disable=invalid-name
        self._dispatch("PATCH")

    def do_DELETE(self):  # pylint: disable=invalid-name
        self._dispatch("DELETE")

    def _dispatch(self, method):
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        parts = [p for p in url.path.split("/") if p]
        self._warnings = []
        try:
            body = self._body() if method in ("POST", "PUT", "PATCH", "DELETE") else None
            if parts[:1] == ["_test"]:
                self._send(200, self._test_endpoint(method, parts[1:], query, body))
                return
            code, answer = self._api(method, parts, query, body)
            self._send(code, answer, self._warnings)
        except ApiError as err:
            self._send(err.code, err.status(), self._warnings)
        except Exception as exc:  # pylint: disable=broad-except
            self._send(500, ApiError(500, "InternalError", "test apiserver error: %r" % exc).status())

    # test endpoints
    def _test_endpoint(self, method, parts, query, body):
        rec = self.server.recorder
        what = parts[0] if parts else ""
        if what == "requests":
            snap = rec.snapshot()
            if method == "DELETE":
                rec.reset()
            return snap
        if what == "fail-after":
            with rec.lock:
                rec.fail_after = int(query.get("n", "0"))
                rec.fail_count = int(query["count"]) if "count" in query else None
                rec.fail_verbs = query.get("verbs", "write")
                rec.failed = 0
            return {"fail_after": rec.fail_after, "count": rec.fail_count, "verbs": rec.fail_verbs}
        if what == "page-cap":
            self.server.page_cap = int(query["n"]) if query.get("n") not in (None, "", "0") else None
            return {"page_cap": self.server.page_cap}
        if what == "namespace-termination":
            with self.server.store.lock:
                self.server.store.namespace_termination = float(query.get("seconds") or 0)
            return {"namespace_termination": self.server.store.namespace_termination}
        if what == "compact" and method == "POST":
            with self.server.store.lock:
                self.server.store.compacted_rv = self.server.store.rv + 1
            return {"compacted": self.server.store.compacted_rv}
        if what == "faults" and method == "DELETE":
            with rec.lock:
                rec.fail_after, rec.fail_count, rec.fail_verbs, rec.writers = None, None, "write", {}
            return {"faults": "cleared"}
        if what == "concurrent-writer":
            with rec.lock:
                rec.writers[query["resource"]] = int(query.get("times", "1"))
            return {"writers": dict(rec.writers)}
        if what == "audit":
            with self.server.store.lock:
                events = list(self.server.store.audit)
                if method == "DELETE":
                    self.server.store.audit = []
            return {"audit": events}
        if what == "reset" and method == "POST":
            self.server.store.seed()
            self.server.page_cap = self.server.default_page_cap
            with rec.lock:
                rec.fail_after, rec.fail_count, rec.writers = None, None, {}
            rec.reset()
            return {"reset": True}
        if what == "load" and method == "POST":
            # Seed objects without counting (e.g. pods of a live cluster for the reachability check).
            created = []
            for obj in body or []:
                res = _resource_for(obj)
                ns = obj.get("metadata", {}).get("namespace") if res.namespaced else None
                with self.server.store.lock:
                    created.append(self.server.store.create(res, ns, copy.deepcopy(obj), False,
                                                            admit=False)["metadata"]["name"])
            return {"created": created}
        raise ApiError(404, "NotFound", "unknown test endpoint %r" % what)

    # the API
    def _api(self, method, parts, query, body):
        if parts in (["version"], ["version", ""]):
            self.server.recorder.count("discovery", "version")
            return 200, SERVER_VERSION
        if parts in (["healthz"], ["readyz"], ["livez"]):
            return 200, "ok"
        if parts == ["api"]:
            self.server.recorder.count("discovery", "api")
            return 200, {"kind": "APIVersions", "versions": ["v1"],
                         "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}
        if parts == ["apis"]:
            self.server.recorder.count("discovery", "apis")
            return 200, _group_list(self.server.store.unserved_groups)
        if parts == ["api", "v1"]:
            self.server.recorder.count("discovery", "api/v1")
            return 200, _resource_list("", "v1")
        if len(parts) == 3 and parts[0] == "apis":
            self.server.recorder.count("discovery", "/".join(parts[1:]))
            if parts[1] in self.server.store.unserved_groups or not any(
                    r.group == parts[1] and r.version == parts[2] for r in RESOURCES):
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            return 200, _resource_list(parts[1], parts[2])
        if parts[:1] == ["api"] and len(parts) >= 3:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 4:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        res = BY_PATH.get((group, version, rest[0]))
        if res is not None and res.group in self.server.store.unserved_groups:
            res = None
        if res is None or len(rest) > 2 or (namespace and not res.namespaced):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        name = rest[1] if len(rest) == 2 else None
        return self._crud(method, res, namespace, name, query, body)

    def _crud(self, method, res, namespace, name, query, body):
        verb = {"GET": "get" if name else "list", "POST": "create", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete" if name else "deletecollection"}[method]
        if (verb == "create" and name) or (verb in ("update", "patch") and not name) or (
                verb == "deletecollection" and not res.namespaced):
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if res.namespaced and verb not in ("list",) and not namespace:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        rec = self.server.recorder
        if verb == "create" and isinstance(body, dict):
            name = (body.get("metadata") or {}).get("name")
        where = "/".join(p for p in (namespace, name) if p)
        rec.count(verb, res.plural, where + (" dryRun" if query.get("dryRun") else ""))
        if rec.should_fail(verb):
            raise ApiError(500, "InternalError", "Internal error occurred: injected fault (test apiserver)")
        dry_run = query.get("dryRun") == "All"
        if "dryRun" in query and not dry_run:
            raise ApiError(400, "BadRequest", "unsupported dryRun value %r" % query["dryRun"])
        store = self.server.store
        with store.lock:
            store.expire()
            store.warnings = self._warnings = []
            if verb == "get":
                return 200, store.get(res, namespace, name)
            if verb == "list":
                items = store.list(res, namespace, parse_label_selector(query.get("labelSelector")),
                                   parse_field_selector(query.get("fieldSelector")))
                meta = {"resourceVersion": str(store.rv)}
                items = self._page(res, namespace, query, items, meta)
                answer = {"kind": res.kind + "List", "apiVersion": res.api_version, "metadata": meta,
                          "items": [{k: v for k, v in copy.deepcopy(o).items() if k not in ("kind", "apiVersion")}
                                    for o in items]}
                self._concurrent_write(res, items)
                return 200, answer
            if verb == "deletecollection":
                # every object the selectors match, one by one as the real server does (each admitted), and the
                # list of what was deleted
                items = store.list(res, namespace, parse_label_selector(query.get("labelSelector")),
                                   parse_field_selector(query.get("fieldSelector")))
                deleted = [store.delete(res, namespace, o["metadata"]["name"], dry_run) for o in items]
                return 200, {"kind": res.kind + "List", "apiVersion": res.api_version,
                             "metadata": {"resourceVersion": str(store.rv)},
                             "items": [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")}
                                       for o in deleted]}
            if not isinstance(body, dict) and verb not in ("delete", "deletecollection") and not (
                    verb == "patch" and isinstance(body, list)):
                raise ApiError(400, "BadRequest", "the request body must be a JSON object")
            fv = query.get("fieldValidation", "Warn")
            if verb == "create":
                return 201, store.create(res, namespace, body, dry_run, field_validation=fv)
            if verb == "update":
                return 200, store.replace(res, namespace, name, body, dry_run, field_validation=fv)
            if verb == "patch":
                ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
                return 200, store.patch(res, namespace, name, ctype, body, dry_run, field_validation=fv)
            return 200, store.delete(res, namespace, name, dry_run)

    def _page(self, res, namespace, query, items, meta):
        """``limit`` and ``continue`` on LIST: at most ``limit`` items (and never more than the server's page
        cap, when one is set), ``metadata.continue`` (an opaque token: where the next page starts, for this
        list and the resourceVersion it began at) and ``remainingItemCount`` while more are left."""
        try:
            limit = int(query.get("limit") or 0)
        except ValueError as exc:
            raise ApiError(400, "BadRequest", "invalid limit %r" % query.get("limit")) from exc
        cap = self.server.page_cap
        if cap and (not limit or limit > cap):
            limit = cap
        start = 0
        token = query.get("continue")
        if token:
            try:
                state = json.loads(base64.urlsafe_b64decode(token.encode()).decode())
                if state["list"] != [res.plural, namespace or "", query.get("labelSelector") or "",
                                     query.get("fieldSelector") or ""]:
                    raise ValueError("token of another list")
                after = tuple(state["after"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ApiError(400, "BadRequest", "continue key is not valid: %s" % exc) from exc
            if int(state["rv"]) < self.server.store.compacted_rv:
                raise ApiError(410, "Expired", "The provided continue parameter is too old to display a consistent "
                                               "list result. You can start a new list without the continue "
                                               "parameter.")
            meta["resourceVersion"] = str(state["rv"])
            keys = [((o["metadata"].get("namespace") or ""), o["metadata"]["name"]) for o in items]
            start = next((i for i, k in enumerate(keys) if k > after), len(keys))
        if not limit or start + limit >= len(items):
            return items[start:]
        page = items[start:start + limit]
        last = page[-1]["metadata"]
        state = {"list": [res.plural, namespace or "", query.get("labelSelector") or "",
                          query.get("fieldSelector") or ""],
                 "rv": int(meta["resourceVersion"]), "after": [last.get("namespace") or "", last["name"]]}
        meta["continue"] = base64.urlsafe_b64encode(json.dumps(state).encode()).decode()
        meta["remainingItemCount"] = len(items) - start - limit
        return page

    def _concurrent_write(self, res, items):
        rec = self.server.recorder
        with rec.lock:
            times = rec.writers.get(res.plural, 0)
            if times <= 0:
                return
            rec.writers[res.plural] = times - 1
        store = self.server.store
        for obj in items:
            meta = obj["metadata"]
            annotations = meta.setdefault("annotations", {})
            annotations["test.netzone.io/touched"] = str(int(annotations.get("test.netzone.io/touched", "0")) + 1)
            meta["resourceVersion"] = store.next_rv()


def _resource_for(obj):
    api_version = obj.get("apiVersion", "")
    group, version = api_version.rpartition("/")[::2]
    for res in RESOURCES:
        if res.group == group and res.version == version and res.kind == obj.get("kind"):
            return res
    raise ApiError(404, "NotFound", "no resource for %s %s" % (api_version, obj.get("kind")))


def _group_list(unserved=()):
    groups = {}
    for res in RESOURCES:
        if res.group and res.group not in unserved:
            groups.setdefault(res.group, [])
            if res.version not in groups[res.group]:
                groups[res.group].append(res.version)
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
        {"name": g, "versions": [{"groupVersion": "%s/%s" % (g, v), "version": v} for v in vs],
         "preferredVersion": {"groupVersion": "%s/%s" % (g, vs[0]), "version": vs[0]}}
        for g, vs in sorted(groups.items())]}


def _resource_list(group, version):
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": "%s/%s" % (group, version) if group else version,
            "resources": [r.discovery() for r in RESOURCES if r.group == group and r.version == version]}


class ApiServerDouble(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port=0, verbose=False, page_cap=None):
        super().__init__(("127.0.0.1", port), Handler)
        self.store = Store()
        self.recorder = Recorder()
        self.verbose = verbose
        # The most items one LIST answer carries, whatever limit the client asks for (None: no cap); a small cap
        # shows that a client pages through.  Also NETZONE_TEST_APISERVER_PAGE_CAP or --page-cap.
        env_cap = os.environ.get("NETZONE_TEST_APISERVER_PAGE_CAP")
        self.page_cap = page_cap if page_cap is not None else (int(env_cap) if env_cap else None)
        self.default_page_cap = self.page_cap
        self._thread = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server_address[1]

    def start_background(self):
        self._thread = threading.Thread(target=self.serve_forever, name="test-apiserver", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.shutdown()
        self.server_close()


def kubeconfig(url, token="netzone-test-token"):
    """A kubeconfig (dict) for the test server: plain HTTP, the token is sent and ignored."""
    return {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": "netzone-test", "cluster": {"server": url}}],
        "users": [{"name": "netzone-test", "user": {"token": token}}],
        "contexts": [{"name": "netzone-test", "context": {"cluster": "netzone-test", "user": "netzone-test"}}],
        "current-context": "netzone-test",
    }


def write_kubeconfig(path, url):
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(kubeconfig(url), handle, indent=2)  # JSON is YAML
    os.chmod(path, 0o600)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--kubeconfig", help="write a kubeconfig for this server here")
    parser.add_argument("--pidfile", help="write the process id here")
    parser.add_argument("--urlfile", help="write the server URL here once it listens")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    parser.add_argument("--page-cap", type=int, help="at most this many items in one LIST answer")
    args = parser.parse_args(argv)
    server = ApiServerDouble(args.port, verbose=args.verbose, page_cap=args.page_cap)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if args.kubeconfig:
        write_kubeconfig(args.kubeconfig, server.url)
    if args.pidfile:
        with open(args.pidfile, "w", encoding="utf-8") as handle:
            handle.write("%d\n" % os.getpid())
    if args.urlfile:
        with open(args.urlfile, "w", encoding="utf-8") as handle:
            handle.write(server.url + "\n")
    print("test apiserver listening on %s" % server.url, flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
