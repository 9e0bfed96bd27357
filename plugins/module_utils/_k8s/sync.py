# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make a set of cluster objects equal to a computed set: plan, order, apply, prune, retry.

Plain Python, no Ansible and no Kubernetes client: the API is reached through a ``transport`` object with
one method, ``request(method, path, query=None, body=None, content_type=None) -> dict``, which raises
:class:`ApiError` for an answer that is not 2xx (``k8s_connection.KubeTransport`` is the real one).

Rules (docs/architecture.md, "Apply order"):

* the objects this collection owns carry ``app.kubernetes.io/managed-by: netzone.segmentation``; live
  objects are read with ONE label-selected LIST per kind (paged through with ``limit``/``continue``), never
  one GET per object;
* a zone object (:data:`FULL_COMPARE_KINDS`) is compared in full: the labels and annotations we set, and
  ``spec`` (every top-level field) equal to the desired one once the API server's defaults are filled in
  (:func:`with_server_defaults`), so any field someone else added, removed or changed is drift, restored by
  the next run, and the server's defaults never make a no-op run write; the workload kinds are compared on
  the fields we set; plus a fingerprint of the desired object kept in an annotation;
* apply order: namespaces -> allow policies -> default-deny policies -> admission policies -> their bindings
  -> Ingress objects -> the proxy zone's ConfigMaps/Secrets, Services, Deployments, PodDisruptionBudgets
  -> prune (those in reverse, bindings, admission policies, Ingress, allow policies, default-deny policies,
  namespaces only when asked), so that traffic allowed before and after a change is never cut;
* never touch an object we do not own; an existing namespace of a zone is *adopted* (our labels are added,
  it is marked adopted and never deleted), any other foreign object in the way stops the run;
* writes are sent with ``fieldValidation=Strict``: a field the API server does not know is refused, not dropped;
* a stale write (409 Conflict) is retried from a fresh GET; any other API error stops the run where it is,
  and since a run always starts from what is live, the next run converges.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import json
import time

from ansible_collections.netzone.segmentation.plugins.module_utils._common.constants import (
    ADOPTED_ANNOTATION,
    HASH_ANNOTATION,
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    MANAGED_SELECTOR,
    POLICY_ROLE_DEFAULT_DENY,
    POLICY_ROLE_LABEL,
)
from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import ApiError, ObjectError, SyncError
from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.connection import PAGE_SIZE, list_all

SERVER_META = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink",
               "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences", "finalizers")


class KindInfo:
    """Where a kind lives in the API and where it goes in the apply and prune order."""

    def __init__(self, api_version, kind, plural, namespaced, apply_rank, prune_rank):
        self.api_version = api_version
        self.kind = kind
        self.plural = plural
        self.namespaced = namespaced
        self.apply_rank = apply_rank
        self.prune_rank = prune_rank

    def path(self, namespace=None, name=None):
        base = "/api/%s" % self.api_version if "/" not in self.api_version else "/apis/%s" % self.api_version
        if self.namespaced and namespace:
            base += "/namespaces/%s" % namespace
        base += "/" + self.plural
        if name:
            base += "/" + name
        return base


KINDS = [
    KindInfo("v1", "Namespace", "namespaces", False, 0, 90),
    KindInfo("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", True, 10, 60),
    KindInfo("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", "validatingadmissionpolicies",
             False, 30, 52),
    KindInfo("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding",
             "validatingadmissionpolicybindings", False, 31, 50),
    # the cluster-wide guardrail against direct internet (compile.compile_unmanaged_internet): after the zones'
    # policies, before the admission policies; it never selects a zone's pods
    KindInfo("policy.networking.k8s.io/v1alpha1", "AdminNetworkPolicy", "adminnetworkpolicies", False, 25, 53),
    KindInfo("networking.k8s.io/v1", "Ingress", "ingresses", True, 40, 55),
    # the proxy zone's workload (module_utils/_model/egress_workload.py): configuration before the pods that read it
    KindInfo("v1", "ConfigMap", "configmaps", True, 41, 48),
    KindInfo("v1", "Secret", "secrets", True, 41, 48),
    KindInfo("v1", "Service", "services", True, 42, 47),
    KindInfo("apps/v1", "Deployment", "deployments", True, 43, 46),
    KindInfo("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", True, 44, 45),
]
KIND_BY_NAME = {k.kind: k for k in KINDS}
#: Kinds that a CustomResourceDefinition brings: served only where it is installed (AdminNetworkPolicy: with
#: Calico 3.29+, MicroK8s 1.33+).  Discovery says whether the cluster serves them before anything is read.
OPTIONAL_KINDS = ("AdminNetworkPolicy",)
DEFAULT_DENY_APPLY_RANK = 20
DEFAULT_DENY_PRUNE_RANK = 70


#: The former name of :class:`errors.ApiError`, still importable from here.
ApiFailure = ApiError


# --- objects -----------------------------------------------------------------------------------
def kind_of(obj):
    kind = obj.get("kind")
    info = KIND_BY_NAME.get(kind)
    if info is None or obj.get("apiVersion") != info.api_version:
        raise ObjectError("", "%s/%s: kind not managed here (supported: %s)" % (
            obj.get("apiVersion"), kind, ", ".join("%s %s" % (k.api_version, k.kind) for k in KINDS)))
    return info


def key_of(obj):
    meta = obj.get("metadata") or {}
    info = kind_of(obj)
    return (info.kind, meta.get("namespace") if info.namespaced else None, meta.get("name"))


def describe(key):
    kind, namespace, name = key
    return "%s %s/%s" % (kind, namespace, name) if namespace else "%s %s" % (kind, name)


def is_owned(obj):
    return ((obj.get("metadata") or {}).get("labels") or {}).get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE


def is_default_deny(obj):
    return ((obj.get("metadata") or {}).get("labels") or {}).get(POLICY_ROLE_LABEL) == POLICY_ROLE_DEFAULT_DENY


def apply_rank(obj):
    info = kind_of(obj)
    if info.kind == "NetworkPolicy" and is_default_deny(obj):
        return DEFAULT_DENY_APPLY_RANK
    return info.apply_rank


def prune_rank(obj):
    info = kind_of(obj)
    if info.kind == "NetworkPolicy" and is_default_deny(obj):
        return DEFAULT_DENY_PRUNE_RANK
    return info.prune_rank


def is_no_op(obj):
    """An AdminNetworkPolicy whose every rule passes (the guardrail's warn stage): it changes no verdict."""
    if obj.get("kind") != "AdminNetworkPolicy":
        return False
    spec = obj.get("spec") or {}
    rules = list(spec.get("ingress") or []) + list(spec.get("egress") or [])
    return all(rule.get("action") == "Pass" for rule in rules)


def fingerprint(obj):
    """sha256 of the desired object (what we set), canonical JSON, without the fingerprint itself."""
    body = copy.deepcopy(obj)
    meta = body.get("metadata") or {}
    (meta.get("annotations") or {}).pop(HASH_ANNOTATION, None)
    if meta.get("annotations") == {}:
        meta.pop("annotations")
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def fill_secrets(manifests, secret_data):
    """Give the Secret objects of ``manifests`` their ``data`` from ``secret_data`` ({"namespace/name": {key:
    base64}}), passed apart so that it is never logged.  A Secret without data in either place is an error."""
    out = []
    secret_data = secret_data or {}
    for index, obj in enumerate(manifests or []):
        if isinstance(obj, dict) and obj.get("kind") == "Secret":
            meta = obj.get("metadata") or {}
            key = "%s/%s" % (meta.get("namespace"), meta.get("name"))
            if key in secret_data:
                obj = dict(obj, data=secret_data[key])
            elif not obj.get("data"):
                raise ObjectError("manifests[%d]" % index, "Secret %s has no data (pass it in secret_data)" % key)
        out.append(obj)
    secret_keys = {"%s/%s" % ((o.get("metadata") or {}).get("namespace"), (o.get("metadata") or {}).get("name"))
                   for o in out if isinstance(o, dict) and o.get("kind") == "Secret"}
    unknown = sorted(set(secret_data) - secret_keys)
    if unknown:
        raise ObjectError("secret_data", "%s is not a Secret of the manifests" % ", ".join(unknown))
    return out


def prepare_desired(manifests):
    """Check the desired objects, label them as ours, fingerprint them; keyed and in apply order."""
    desired = {}
    for index, obj in enumerate(manifests or []):
        if not isinstance(obj, dict):
            raise ObjectError("manifests[%d]" % index, "must be a Kubernetes object (a mapping)")
        try:
            info = kind_of(obj)
        except ObjectError as exc:
            raise ObjectError("manifests[%d]" % index, exc.message) from exc
        meta = obj.get("metadata") or {}
        if not meta.get("name"):
            raise ObjectError("manifests[%d].metadata.name" % index, "is required")
        if info.namespaced and not meta.get("namespace"):
            raise ObjectError("manifests[%d]" % index, "%s %s needs metadata.namespace" % (info.kind, meta["name"]))
        body = copy.deepcopy(obj)
        body["metadata"] = {k: v for k, v in body["metadata"].items() if k not in SERVER_META}
        if not info.namespaced:
            body["metadata"].pop("namespace", None)
        body["metadata"].setdefault("labels", {})[MANAGED_BY_LABEL] = MANAGED_BY_VALUE
        body.pop("status", None)
        annotations = body["metadata"].setdefault("annotations", {})
        annotations[HASH_ANNOTATION] = fingerprint(body)
        key = key_of(body)
        if key in desired:
            raise ObjectError("manifests[%d]" % index, "%s appears twice" % describe(key))
        desired[key] = body
    return desired


#: Kinds compared in full (their API defaults are modelled in :func:`with_server_defaults`): the zone objects.
#: The workload kinds (ConfigMap, Secret, Service, Deployment, PodDisruptionBudget) carry many server defaults
#: and conversions (``stringData``), so they are compared on the fields we set (:func:`contains`).
FULL_COMPARE_KINDS = ("Namespace", "NetworkPolicy", "AdminNetworkPolicy", "ValidatingAdmissionPolicy",
                      "ValidatingAdmissionPolicyBinding",
                      "Ingress")


def contains(want, have):
    """True when every field of ``want`` is in ``have`` with the same value (lists: same length, each item)."""
    if isinstance(want, dict):
        if not isinstance(have, dict):
            return False
        return all(contains(v, have.get(k)) for k, v in want.items())
    if isinstance(want, list):
        if not isinstance(have, list) or len(want) != len(have):
            return False
        return all(contains(w, h) for w, h in zip(want, have))
    return want == have


def _match_resources_defaults(match):
    match.setdefault("matchPolicy", "Equivalent")
    match.setdefault("namespaceSelector", {})
    match.setdefault("objectSelector", {})
    for field in ("resourceRules", "excludeResourceRules"):
        for rule in match.get(field) or []:
            rule.setdefault("scope", "*")


def with_server_defaults(obj):
    """``obj`` as the API server stores it: the API defaults of the fields of the kinds written here.

    These are the defaults of Kubernetes' own defaulting functions (``SetDefaults_*`` of core/v1 Namespace,
    networking/v1 NetworkPolicy and admissionregistration/v1): Namespace ``spec.finalizers``; NetworkPolicy
    ``policyTypes`` and port ``protocol``; ValidatingAdmissionPolicy ``failurePolicy``; MatchResources
    ``matchPolicy``, ``namespaceSelector``, ``objectSelector`` and rule ``scope``.  Comparing the live object
    with these filled in, field by field, sees every foreign change and never a default.
    """
    body = copy.deepcopy(obj)
    kind = body.get("kind")
    spec = body.get("spec")
    if kind == "Namespace":
        body.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    elif kind == "NetworkPolicy" and isinstance(spec, dict):
        if not spec.get("policyTypes"):
            spec["policyTypes"] = ["Ingress"] + (["Egress"] if spec.get("egress") else [])
        for direction in ("ingress", "egress"):
            for rule in spec.get(direction) or []:
                for port in rule.get("ports") or []:
                    port.setdefault("protocol", "TCP")
    elif kind == "ValidatingAdmissionPolicy" and isinstance(spec, dict):
        spec.setdefault("failurePolicy", "Fail")
        _match_resources_defaults(spec.setdefault("matchConstraints", {}))
    elif kind == "ValidatingAdmissionPolicyBinding" and isinstance(spec, dict):
        if isinstance(spec.get("matchResources"), dict):
            _match_resources_defaults(spec["matchResources"])
    return body


def _content(obj):
    """Every top-level field but the envelope, metadata and status."""
    return {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata", "status")}


def drift(desired, live):
    """Why ``live`` is not ``desired``: a sorted list of paths (empty: equal).

    Our labels and annotations must be there with our values (labels and annotations others add are theirs
    and kept); every other field (``spec``...) must be equal in full once the API defaults are filled in: a
    field someone else added, removed or changed is drift.
    """
    paths = []
    live_meta = live.get("metadata") or {}
    want_meta = desired["metadata"]
    for field in ("labels", "annotations"):
        have = live_meta.get(field) or {}
        for key, value in sorted((want_meta.get(field) or {}).items()):
            if have.get(key) != value:
                paths.append("metadata.%s[%s]" % (field, key))
    if desired.get("kind") in FULL_COMPARE_KINDS:
        _diff_paths(_content(with_server_defaults(desired)), _content(live), "", paths)
    else:
        for field, value in sorted(_content(desired).items()):
            if not contains(value, live.get(field)):
                paths.append("%s (changed)" % field)
    return paths


def _diff_paths(want, have, path, out):
    if isinstance(want, dict) and isinstance(have, dict):
        for key in sorted(set(want) | set(have), key=str):
            sub = "%s.%s" % (path, key) if path else str(key)
            if key not in have:
                out.append(sub + " (removed)")
            elif key not in want:
                out.append(sub + " (added)")
            else:
                _diff_paths(want[key], have[key], sub, out)
    elif isinstance(want, list) and isinstance(have, list) and len(want) == len(have):
        for i, (w, h) in enumerate(zip(want, have)):
            _diff_paths(w, h, "%s[%d]" % (path, i), out)
    elif want != have:
        out.append(path + (" (%d items, want %d)" % (len(have), len(want))
                           if isinstance(want, list) and isinstance(have, list) else " (changed)"))


def differs(desired, live):
    """Does ``live`` need an update to be ``desired``? The fingerprint, then the whole object (:func:`drift`)."""
    live_meta = live.get("metadata") or {}
    want_meta = desired["metadata"]
    if (live_meta.get("annotations") or {}).get(HASH_ANNOTATION) != want_meta["annotations"][HASH_ANNOTATION]:
        return True
    return bool(drift(desired, live))


def update_body(desired, live, adopt=False):
    """The PUT body: the live object's metadata with our labels/annotations merged in, and our fields (for the
    kinds compared in full, only ours: fields someone else added are dropped and the server fills its
    defaults in again)."""
    full = desired.get("kind") in FULL_COMPARE_KINDS
    body = {k: copy.deepcopy(v) for k, v in live.items() if k == "metadata" or (not full and k != "status")}
    body["apiVersion"], body["kind"] = desired["apiVersion"], desired["kind"]
    meta = body.setdefault("metadata", {})
    meta.setdefault("labels", {}).update(desired["metadata"].get("labels") or {})
    meta.setdefault("annotations", {}).update(desired["metadata"].get("annotations") or {})
    if adopt:
        meta["annotations"][ADOPTED_ANNOTATION] = "true"
    for field, value in desired.items():
        if field not in ("apiVersion", "kind", "metadata", "status"):
            body[field] = copy.deepcopy(value)
    if desired.get("kind") == "Namespace" and "spec" in live and "spec" not in desired:
        body["spec"] = copy.deepcopy(live["spec"])  # finalizers change only through /finalize
    return body


def clean(obj):
    """An object as shown in a diff: no server-set metadata, no status, no Secret values."""
    if obj is None:
        return None
    body = copy.deepcopy(obj)
    body.pop("status", None)
    if body.get("kind") == "Secret":
        for field in ("data", "stringData"):
            if isinstance(body.get(field), dict):
                body[field] = {key: "<redacted sha256:%s>" % hashlib.sha256(str(value).encode("utf-8")).hexdigest()[:12]
                               for key, value in body[field].items()}
    meta = body.get("metadata") or {}
    for field in SERVER_META:
        meta.pop(field, None)
    return body


# --- the plan ----------------------------------------------------------------------------------
class Action:
    """One write: ``op`` is create, update or delete; ``before``/``after`` are for the diff."""

    def __init__(self, op, key, desired=None, live=None):
        self.op = op
        self.key = key
        self.desired = desired
        self.live = live

    @property
    def rank(self):
        return prune_rank(self.live) if self.op == "delete" else apply_rank(self.desired)

    def summary(self):
        kind, namespace, name = self.key
        out = {"action": self.op, "kind": kind, "name": name}
        if namespace:
            out["namespace"] = namespace
        if self.op == "update" and self.live is not None:
            out["drift"] = drift(self.desired, self.live) or ["metadata.annotations[%s]" % HASH_ANNOTATION]
        return out

    def diff(self):
        before = clean(self.live)
        after = None if self.op == "delete" else clean(
            update_body(self.desired, self.live) if self.live is not None else self.desired)
        return {"before_header": describe(self.key), "after_header": describe(self.key),
                "before": before, "after": after}


def plan(desired, live, kinds=None, prune=True, prune_namespaces=False):
    """Desired (from :func:`prepare_desired`) vs live objects (owned, as listed) -> ordered actions.

    ``kinds``: the kinds whose owned objects this run may prune (default: every kind in ``KINDS``).
    Returns ``(actions, unchanged_keys)``.
    """
    kinds = set(kinds or KIND_BY_NAME)
    live_by_key = {}
    for obj in live:
        if is_owned(obj):
            live_by_key[key_of(obj)] = obj
    writes, deletes, unchanged = [], [], []
    for key, want in desired.items():
        have = live_by_key.get(key)
        if have is None:
            writes.append(Action("create", key, want))
        elif differs(want, have):
            writes.append(Action("update", key, want, have))
        else:
            unchanged.append(key)
    if prune:
        for key, have in live_by_key.items():
            if key in desired or key[0] not in kinds:
                continue
            if key[0] == "Namespace":
                adopted = ((have.get("metadata") or {}).get("annotations") or {}).get(ADOPTED_ANNOTATION) == "true"
                if not prune_namespaces or adopted:
                    continue
            deletes.append(Action("delete", key, None, have))
    writes.sort(key=lambda a: (a.rank, a.key[1] or "", a.key[2]))
    deletes.sort(key=lambda a: (a.rank, a.key[1] or "", a.key[2]))
    return writes + deletes, sorted(unchanged, key=lambda k: (k[0], k[1] or "", k[2]))


def terminating_message(terminating, waited):
    """Why the run cannot go on: the namespaces still Terminating, since when, what holds them, what to do."""
    now = datetime.datetime.now(datetime.timezone.utc)
    parts = []
    for name, obj in sorted(terminating.items()):
        meta = obj.get("metadata") or {}
        since = meta.get("deletionTimestamp") or "?"
        try:
            ago = " (%d s ago)" % (now - datetime.datetime.strptime(since, "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=datetime.timezone.utc)).total_seconds()
        except ValueError:
            ago = ""
        held = [c.get("message") for c in ((obj.get("status") or {}).get("conditions") or [])
                if c.get("status") == "True" and c.get("message")]
        finalizers = (obj.get("spec") or {}).get("finalizers") or []
        parts.append("namespace %s is being deleted (Terminating since %s%s%s%s)" % (
            name, since, ago, "; finalizers: %s" % ", ".join(finalizers) if finalizers else "",
            "; " + "; ".join(held) if held else ""))
    names = sorted(terminating)
    return ("%s, and still was after waiting %d s: nothing was applied (a zone cannot come back until Kubernetes "
            "has removed its namespace). Look at what holds it: kubectl get namespace %s -o yaml (status.conditions) "
            "and the objects left in it; if a finalizer is stuck (its controller or API service is gone), remove it; "
            "then run again, or wait longer (zones_namespace_terminating_timeout)."
            % ("; ".join(parts), round(waited), names[0]))


# --- applying ----------------------------------------------------------------------------------
class Syncer:
    """Reads, plans and applies through ``transport``; ``dry_run`` sends every write with ``dryRun=All``."""

    def __init__(self, transport, dry_run=False, conflict_retries=3, page_size=PAGE_SIZE, terminating_timeout=0,
                 poll_interval=2.0, sleep=time.sleep, clock=time.monotonic):
        self.transport = transport
        self.page_size = page_size
        self.terminating_timeout = terminating_timeout
        self.poll_interval = poll_interval
        self._sleep = sleep
        self._clock = clock
        self.dry_run = dry_run
        self.conflict_retries = conflict_retries

    def read_live(self, kinds):
        """ONE label-selected LIST per kind, across all namespaces (paged: ``limit`` and ``continue``)."""
        live = []
        for name in kinds:
            info = KIND_BY_NAME[name]
            items, _requests = list_all(self.transport, info.path(), {"labelSelector": MANAGED_SELECTOR},
                                        page_size=self.page_size)
            for item in items:
                item.setdefault("apiVersion", info.api_version)
                item.setdefault("kind", info.kind)
                live.append(item)
        return live

    def unserved(self, kinds):
        """The kinds of ``kinds`` (among :data:`OPTIONAL_KINDS`) that the cluster does not serve (discovery)."""
        out = []
        for name in kinds:
            if name not in OPTIONAL_KINDS:
                continue
            info = KIND_BY_NAME[name]
            try:
                found = self.transport.request("GET", "/apis/%s" % info.api_version)
            except ApiError as exc:
                if exc.status != 404:
                    raise
                found = {}
            if not any(r.get("name") == info.plural for r in found.get("resources") or []):
                out.append(name)
        return out

    def _query(self, write=False):
        """``dryRun=All`` in check mode; writes with ``fieldValidation=Strict``: a field the server does not know
        (a typo in an extra policy: ``form`` for ``from``) is refused, never silently dropped."""
        query = {"dryRun": "All"} if self.dry_run else {}
        if write:
            query["fieldValidation"] = "Strict"
        return query or None

    def _get(self, key):
        info = KIND_BY_NAME[key[0]]
        obj = self.transport.request("GET", info.path(key[1], key[2]))
        obj.setdefault("apiVersion", info.api_version)
        obj.setdefault("kind", info.kind)
        return obj

    def _put(self, action, live, adopt=False):
        info = KIND_BY_NAME[action.key[0]]
        body = update_body(action.desired, live, adopt=adopt)
        return self.transport.request("PUT", info.path(action.key[1], action.key[2]), query=self._query(write=True), body=body)

    def _update(self, action, live, adopt=False):
        """PUT with the live resourceVersion; on 409 read again and retry while it still differs."""
        for attempt in range(self.conflict_retries + 1):
            try:
                self._put(action, live, adopt=adopt)
                return True
            except ApiError as exc:
                if exc.status != 409 or attempt == self.conflict_retries:
                    raise
            live = self._get(action.key)
            if not adopt and not is_owned(live):
                raise SyncError("%s is no longer managed by %s; left alone" % (describe(action.key), MANAGED_BY_VALUE))
            if not differs(action.desired, live):
                return False
        return False  # pragma: no cover

    def _create(self, action, pending_namespaces):
        info = KIND_BY_NAME[action.key[0]]
        if self.dry_run and info.namespaced and action.key[1] in pending_namespaces:
            # Its namespace is only created by this run: the server cannot dry-run it yet.
            return "create"
        try:
            self.transport.request("POST", info.path(action.key[1]), query=self._query(write=True), body=action.desired)
            return "create"
        except ApiError as exc:
            if exc.status != 409:
                raise
        live = self._get(action.key)
        if info.kind == "Namespace" and (live.get("metadata") or {}).get("deletionTimestamp"):
            # A namespace we do not own (not listed), being deleted: wait until it is gone, then create it.
            self.await_namespaces_gone({action.key[2]: live})
            return self._create(action, pending_namespaces)
        if is_owned(live):
            return "update" if differs(action.desired, live) and self._update(action, live) else "none"
        if info.kind == "Namespace":
            self._update(action, live, adopt=True)
            return "adopt"
        raise SyncError("%s exists and is not managed by %s (label %s): left alone; remove it or label it to let "
                        "this collection manage it" % (describe(action.key), MANAGED_BY_VALUE, MANAGED_BY_LABEL))

    def await_namespaces_gone(self, terminating):
        """Wait (at most ``terminating_timeout`` seconds, polling) until the namespaces of ``terminating``
        ({name: live namespace}) that Kubernetes is deleting are gone, so that they can be created again; raise a
        :class:`SyncError` that says which, since when and what holds them when they stay."""
        deadline = self._clock() + self.terminating_timeout
        waited = 0.0
        while terminating:
            left = deadline - self._clock()
            if left <= 0:
                raise SyncError(terminating_message(terminating, waited), status=409)
            pause = min(self.poll_interval, left)
            self._sleep(pause)
            waited += pause
            for name in sorted(terminating):
                try:
                    terminating[name] = self.transport.request("GET", KIND_BY_NAME["Namespace"].path(None, name))
                except ApiError as exc:
                    if exc.status != 404:
                        raise
                    del terminating[name]

    def _delete(self, action):
        info = KIND_BY_NAME[action.key[0]]
        try:
            self.transport.request("DELETE", info.path(action.key[1], action.key[2]), query=self._query())
        except ApiError as exc:
            if exc.status != 404:
                raise
            return False
        return True

    def apply(self, actions):
        """Apply in order; returns the list of ``(action, outcome)`` done. Stops at the first failure."""
        done = []
        pending_namespaces = {a.key[2] for a in actions if a.op == "create" and a.key[0] == "Namespace"}
        for action in actions:
            try:
                if action.op == "create":
                    outcome = self._create(action, pending_namespaces)
                elif action.op == "update":
                    outcome = "update" if self._update(action, action.live) else "none"
                else:
                    outcome = "delete" if self._delete(action) else "none"
            except ApiError as exc:
                raise SyncError("%s of %s failed: %s; %d change(s) were applied before it; the next run "
                                "continues from there" % (action.op, describe(action.key), exc, len(done)),
                                done=done, status=exc.status) from exc
            except SyncError as exc:
                exc.done = done
                raise
            if outcome != "none":
                done.append((action, outcome))
        return done

    def sync(self, manifests, kinds=None, prune=True, prune_namespaces=False):
        """The whole run. Returns a result dict (changed, actions, unchanged, diff)."""
        desired = prepare_desired(manifests)
        kinds = list(kinds or [k.kind for k in KINDS])
        for key in desired:
            if key[0] not in kinds:
                raise ObjectError(describe(key), "kind %s is not in kinds (%s)" % (key[0], ", ".join(kinds)))
        skipped = []
        try:
            missing = self.unserved(kinds)
        except ApiError as exc:
            raise SyncError("reading the live objects failed: %s" % exc, status=exc.status) from exc
        for key in sorted(k for k in desired if k[0] in missing):
            if not is_no_op(desired[key]):
                raise SyncError("%s: this cluster does not serve %s (the AdminNetworkPolicy CRD that Calico 3.29+ "
                                "installs, MicroK8s 1.33+): nothing was applied; upgrade the cluster, or keep "
                                "guards.unmanaged_internet at 'warn'" % (describe(key), KIND_BY_NAME[key[0]].api_version))
            skipped.append(describe(key))
            del desired[key]
        kinds = [k for k in kinds if k not in missing]
        try:
            live = self.read_live(kinds)
            terminating = {key_of(o)[2]: o for o in live if key_of(o)[0] == "Namespace" and key_of(o) in desired
                           and (o.get("metadata") or {}).get("deletionTimestamp")}
            if terminating:
                self.await_namespaces_gone(terminating)
                live = self.read_live(kinds)
        except ApiError as exc:
            raise SyncError("reading the live objects failed: %s" % exc, status=exc.status) from exc
        actions, unchanged = plan(desired, live, kinds=kinds, prune=prune, prune_namespaces=prune_namespaces)
        by_action = {a.key: a for a in actions}
        try:
            done = self.apply(actions)
        except SyncError as exc:
            exc.done = [dict(a.summary(), action=o) for a, o in exc.done]
            raise
        return {
            "changed": bool(done),
            "actions": [dict(a.summary(), action=o) for a, o in done],
            "unchanged": len(unchanged) + sum(1 for a in actions if a not in [d[0] for d in done]),
            "diff": [by_action[a.key].diff() for a, _o in done],
            "skipped": skipped,
        }
