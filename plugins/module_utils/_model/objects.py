# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn Kubernetes objects (as the API or ``kubernetes.core.k8s_info`` return them) into the engine's input."""

from __future__ import annotations

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import ObjectError
from ansible_collections.netzone.segmentation.plugins.module_utils._common.constants import NAMESPACE_NAME_LABEL


def pod_record(obj, path="pod"):
    """``{namespace, name, labels, ip, ports}`` of a Pod object (``ip`` None until it has one)."""
    if not isinstance(obj, dict):
        raise ObjectError(path, "must be a Pod object (a mapping)")
    meta = obj.get("metadata") or {}
    if not meta.get("name") or not meta.get("namespace"):
        raise ObjectError(path + ".metadata", "needs name and namespace")
    ports = []
    for container in ((obj.get("spec") or {}).get("containers") or []):
        for port in container.get("ports") or []:
            ports.append({"name": port.get("name"), "containerPort": port.get("containerPort"),
                          "protocol": port.get("protocol", "TCP")})
    status = obj.get("status") or {}
    return {"namespace": meta["namespace"], "name": meta["name"], "labels": dict(meta.get("labels") or {}),
            "ip": status.get("podIP") or None, "ports": [p for p in ports if p["containerPort"]]}


def cluster_state(objects, path="objects"):
    """Split a list of Namespace, Pod and NetworkPolicy objects into ``(namespaces, pods, policies)``;
    other kinds are ignored.  Namespaces get their ``kubernetes.io/metadata.name`` label as the API sets it."""
    if not isinstance(objects, list):
        raise ObjectError(path, "must be a list of Kubernetes objects")
    namespaces, pods, policies = {}, [], []
    for i, obj in enumerate(objects):
        ipath = "%s[%d]" % (path, i)
        if not isinstance(obj, dict):
            raise ObjectError(ipath, "must be a Kubernetes object (a mapping)")
        kind = obj.get("kind")
        if kind == "Namespace":
            meta = obj.get("metadata") or {}
            if not meta.get("name"):
                raise ObjectError(ipath + ".metadata.name", "is required")
            labels = dict(meta.get("labels") or {})
            labels[NAMESPACE_NAME_LABEL] = meta["name"]
            namespaces[meta["name"]] = labels
        elif kind == "Pod":
            pods.append(pod_record(obj, ipath))
        elif kind == "NetworkPolicy":
            policies.append(obj)
    for pod in pods:
        namespaces.setdefault(pod["namespace"], {NAMESPACE_NAME_LABEL: pod["namespace"]})
    for policy in policies:
        namespace = (policy.get("metadata") or {}).get("namespace")
        if isinstance(namespace, str) and namespace:
            namespaces.setdefault(namespace, {NAMESPACE_NAME_LABEL: namespace})
    return namespaces, pods, policies
