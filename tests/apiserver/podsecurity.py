# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pod Security Admission for the test API server, after ``k8s.io/pod-security-admission/admission``.

The checks themselves are the collection's ``module_utils/_model/pod_security.py`` (tested against upstream's own test
data); this module applies them the way the API server's PodSecurity plugin does:

* a namespace's ``pod-security.kubernetes.io/<mode>`` and ``<mode>-version`` labels make its policy (no label:
  ``privileged``, which allows everything; no version: ``latest``);
* **Pods**, on create, and on update when the update is significant (a container added or removed, an image
  changed; upstream's ``isSignificantPodUpdate``): a violation of the ``enforce`` level refuses the request with
  ``403 Forbidden`` and the server's message (``pods "x" is forbidden: violates PodSecurity "baseline:v1.33":
  host namespaces (hostNetwork=true)``); an admitted pod that violates the ``warn`` level gets a ``Warning``
  header (``would violate PodSecurity "baseline:v1.33": ...``);
* **workloads** (Deployment, DaemonSet, StatefulSet, ReplicaSet, Job, CronJob, ReplicationController,
  PodTemplate): never refused; their pod template is checked against the ``warn`` level and answered with
  ``Warning`` headers, as the real server does (the refusal comes when the controller creates the pods);
* **Namespaces**: labels with an unknown level or version are refused (422 Invalid); when an update changes the
  ``enforce`` level or version, the existing pods of the namespace are checked against the new level and the
  answer carries the server's warnings (``existing pods in namespace "x" violate the new PodSecurity enforce
  level "baseline:v1.33"``, then ``<pod>: <reasons>``); the labels are applied anyway.

Not modelled: the admission configuration's defaults and exemptions (usernames, runtime classes, namespaces;
MicroK8s configures none), audit annotations, the namespace pod-check time and count limits, pods' ephemeral
container subresource.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


def _load_checks():
    """The collection's checks, loaded from the checkout by path (the server runs as a script, with or without
    the collection on its path; pod_security.py imports nothing of the collection)."""
    path = Path(__file__).resolve().parents[2] / "plugins" / "module_utils" / "_model" / "pod_security.py"
    spec = importlib.util.spec_from_file_location("netzone_pod_security", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ps = _load_checks()

WORKLOAD_KINDS = ("Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job", "CronJob",
                  "ReplicationController", "PodTemplate")


class Refusal(Exception):
    """``code``, ``reason``, ``message``, ``details`` of the Status the server answers with."""

    def __init__(self, code, reason, message, details):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details


def _labels(obj):
    return ((obj or {}).get("metadata") or {}).get("labels") or {}


def _violations(mode, policy, metadata, spec):
    level, version = policy.get(mode, ("privileged", "latest"))
    found = ps.evaluate(level, version, metadata, spec)
    return ps.level_version(level, version), found


def _significant(pod, old):
    """Upstream's isSignificantPodUpdate: a container added or removed, or an image changed."""
    spec, old_spec = pod.get("spec") or {}, (old or {}).get("spec") or {}
    for key in ("containers", "initContainers", "ephemeralContainers"):
        new, before = spec.get(key) or [], old_spec.get(key) or []
        if len(new) != len(before):
            return True
        if any((a or {}).get("image") != (b or {}).get("image") for a, b in zip(new, before)):
            return True
    return False


def _check_labels(name, labels):
    causes = []
    for mode in ps.MODES:
        key = ps.LABEL_PREFIX + mode
        if key in labels:
            try:
                ps.check_level(labels[key])
            except ps.PodSecurityError:
                causes.append(("metadata.labels[%s]" % key, 'Unsupported value: "%s": supported values: "%s"'
                               % (labels[key], '", "'.join(ps.LEVELS))))
        if key + "-version" in labels:
            try:
                ps.parse_version(labels[key + "-version"])
            except ps.PodSecurityError:
                causes.append(("metadata.labels[%s-version]" % key, 'Invalid value: "%s": must be "latest" or '
                               '"v1.x"' % labels[key + "-version"]))
    if causes:
        message = 'namespaces "%s" is invalid: %s' % (name, ", ".join("%s: %s" % c for c in causes))
        raise Refusal(422, "Invalid", message, {"name": name, "kind": "namespaces", "causes": [
            {"reason": "FieldValueInvalid", "field": field, "message": text} for field, text in causes]})


def review(kind, operation, namespace, name, obj, old, namespace_labels, pods_in_namespace):
    """One request through Pod Security Admission: the ``Warning`` texts, or :class:`Refusal`.

    ``pods_in_namespace``: a callable that returns the pods of a Namespace being updated."""
    if operation not in ("CREATE", "UPDATE") or obj is None:
        return []
    if kind == "Namespace":
        labels = _labels(obj)
        _check_labels(name, labels)
        new = ps.policy_from_labels(labels).get("enforce", ("privileged", "latest"))
        before = ps.policy_from_labels(_labels(old)).get("enforce", ("privileged", "latest"))
        if operation != "UPDATE" or new == before or new[0] == "privileged":
            return []
        warnings, seen = [], {}
        for pod in sorted(pods_in_namespace(), key=lambda p: p["metadata"]["name"]):
            found = ps.evaluate(new[0], new[1], pod.get("metadata"), pod.get("spec"))
            if found:
                reasons = ", ".join(reason for _id, reason, _detail in found)
                seen.setdefault(reasons, []).append(pod["metadata"]["name"])
        if seen:
            warnings.append('existing pods in namespace "%s" violate the new PodSecurity enforce level "%s"'
                            % (name, ps.level_version(*new)))
            for reasons, pods in seen.items():
                others = len(pods) - 1
                who = pods[0] if not others else "%s (and %s)" % (
                    pods[0], "1 other pod" if others == 1 else "%d other pods" % others)
                warnings.append("%s: %s" % (who, reasons))
            warnings[1:] = sorted(warnings[1:])
        return warnings
    policy = ps.policy_from_labels(namespace_labels)
    if not policy:
        return []
    if kind == "Pod":
        if operation == "UPDATE" and not _significant(obj, old):
            return []
        metadata, spec = obj.get("metadata") or {}, obj.get("spec") or {}
        label, found = _violations("enforce", policy, metadata, spec)
        if found:
            message = 'pods "%s" is forbidden: violates PodSecurity "%s": %s' % (name, label, ps.detail(found))
            raise Refusal(403, "Forbidden", message, {"name": name, "kind": "pods"})
    elif kind in WORKLOAD_KINDS:
        metadata, spec = ps.pod_template(obj) or ({}, {})
    else:
        return []
    label, found = _violations("warn", policy, metadata, spec)
    return ['would violate PodSecurity "%s": %s' % (label, ps.detail(found))] if found else []
