# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sync planner: pure planning, then real runs over HTTP against the test API server."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "apiserver"))

import harness  # noqa: E402  pylint: disable=import-error,wrong-import-position

from ansible_collections.netzone.segmentation.plugins.module_utils._k8s import sync as k8s_sync  # noqa: E402
from ansible_collections.netzone.segmentation.plugins.module_utils._model.compile import compile_manifests  # noqa: E402
from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import NetzoneError  # noqa: E402
from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.connection import connect  # noqa: E402
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import normalize_matrix  # noqa: E402

OWNED = {k8s_sync.MANAGED_BY_LABEL: k8s_sync.MANAGED_BY_VALUE}


def article_manifests(**changes):
    raw = normalize_matrix(None, harness.INVENTORY) if not changes else None
    if changes:
        from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import default_matrix
        base = default_matrix()
        base.update(changes)
        raw = normalize_matrix(base, harness.INVENTORY)
    return compile_manifests(raw)


def netpol(namespace, name, role="allow", labels=None, spec=None):
    meta_labels = dict(OWNED)
    meta_labels[k8s_sync.POLICY_ROLE_LABEL] = role
    meta_labels.update(labels or {})
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace, "labels": meta_labels},
            "spec": spec or {"podSelector": {}, "policyTypes": ["Ingress"]}}


def namespace(name):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": dict(OWNED)}}


# --- pure functions ----------------------------------------------------------------------------
def test_prepare_desired_labels_fingerprints_and_refuses_bad_input():
    desired = k8s_sync.prepare_desired([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}])
    obj = desired[("Namespace", None, "x")]
    assert obj["metadata"]["labels"][k8s_sync.MANAGED_BY_LABEL] == k8s_sync.MANAGED_BY_VALUE
    assert len(obj["metadata"]["annotations"][k8s_sync.HASH_ANNOTATION]) == 32
    with pytest.raises(NetzoneError, match=r"manifests\[1\]: NetworkPolicy frontend/p appears twice"):
        k8s_sync.prepare_desired([netpol("frontend", "p"), netpol("frontend", "p")])
    with pytest.raises(NetzoneError, match=r"manifests\[0\]: .*kind not managed"):
        k8s_sync.prepare_desired([{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "c"}}])
    with pytest.raises(NetzoneError, match=r"needs metadata.namespace"):
        k8s_sync.prepare_desired([{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                                   "metadata": {"name": "p"}, "spec": {"podSelector": {}}}])


def test_fingerprint_changes_with_the_spec_only():
    one = netpol("a", "p")
    two = copy.deepcopy(one)
    assert k8s_sync.fingerprint(one) == k8s_sync.fingerprint(two)
    two["spec"]["policyTypes"] = ["Egress"]
    assert k8s_sync.fingerprint(one) != k8s_sync.fingerprint(two)


def test_differs_ignores_server_fields_and_defaults_but_sees_our_changes():
    want = k8s_sync.prepare_desired([netpol("a", "p", spec={"podSelector": {}, "ingress": [
        {"ports": [{"port": 80}]}]})])[("NetworkPolicy", "a", "p")]
    live = copy.deepcopy(want)
    live["metadata"].update(uid="u", resourceVersion="7", generation=3)
    live["metadata"]["labels"]["someone.else/label"] = "x"
    live["spec"]["policyTypes"] = ["Ingress"]
    live["spec"]["ingress"][0]["ports"][0]["protocol"] = "TCP"
    assert not k8s_sync.differs(want, live)
    drift = copy.deepcopy(live)
    drift["spec"]["ingress"][0]["ports"][0]["port"] = 81
    assert k8s_sync.differs(want, drift)
    relabeled = copy.deepcopy(live)
    relabeled["metadata"]["labels"][k8s_sync.POLICY_ROLE_LABEL] = "default-deny"
    assert k8s_sync.differs(want, relabeled)


def test_an_update_keeps_the_live_fields_we_do_not_set_of_kinds_not_compared_in_full():
    desired = {"apiVersion": "v1", "kind": "Secret", "data": {"k": "bmV3"},
               "metadata": {"name": "s", "namespace": "proxy", "labels": {"a": "b"}}}
    live = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls", "data": {"k": "b2xk"},
            "metadata": {"name": "s", "namespace": "proxy", "resourceVersion": "7", "labels": {"x": "y"}},
            "status": {"phase": "whatever"}}
    assert k8s_sync.update_body(desired, live) == {
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls", "data": {"k": "bmV3"},
        "metadata": {"name": "s", "namespace": "proxy", "resourceVersion": "7", "labels": {"x": "y", "a": "b"},
                     "annotations": {}}}


def test_plan_orders_namespaces_allow_deny_admission_ingress_then_prune():
    desired = k8s_sync.prepare_desired(article_manifests())
    stale_deny = netpol("old", "netzone-default-deny", role="default-deny")
    stale_allow = netpol("old", "netzone-allow-dns")
    stale_ns = namespace("old")
    live = [stale_deny, stale_allow, stale_ns]
    actions, unchanged = k8s_sync.plan(desired, live)
    assert unchanged == []
    ranks = [a.rank for a in actions]
    assert ranks == sorted(ranks)
    creates = [a for a in actions if a.op == "create"]
    kinds = [a.key[0] for a in creates]
    last_ns = max(i for i, k in enumerate(kinds) if k == "Namespace")
    first_np = min(i for i, k in enumerate(kinds) if k == "NetworkPolicy")
    assert last_ns < first_np
    roles = [k8s_sync.is_default_deny(a.desired) for a in creates if a.key[0] == "NetworkPolicy"]
    assert roles.index(True) == len(roles) - roles[::-1].index(False)  # every allow before any deny
    assert kinds.index("ValidatingAdmissionPolicy") < kinds.index("ValidatingAdmissionPolicyBinding")
    deletes = [(a.key[2]) for a in actions if a.op == "delete"]
    assert deletes == ["netzone-allow-dns", "netzone-default-deny"]  # no namespace without prune_namespaces
    actions = k8s_sync.plan(desired, live, prune_namespaces=True)[0]
    assert [a.key for a in actions if a.op == "delete"][-1] == ("Namespace", None, "old")
    actions = k8s_sync.plan(desired, live, prune=False)[0]
    assert not [a for a in actions if a.op == "delete"]


def test_plan_never_prunes_foreign_or_adopted_objects():
    foreign = netpol("frontend", "theirs")
    del foreign["metadata"]["labels"][k8s_sync.MANAGED_BY_LABEL]
    adopted = namespace("ingress")
    adopted["metadata"]["annotations"] = {k8s_sync.ADOPTED_ANNOTATION: "true"}
    actions = k8s_sync.plan({}, [foreign, adopted], prune_namespaces=True)[0]
    assert actions == []


def test_plan_prunes_only_the_kinds_it_is_given():
    actions = k8s_sync.plan({}, [netpol("a", "p")], kinds=["Namespace"])[0]
    assert actions == []


# --- against the test API server, over HTTP, with the real kubernetes client ---------------------
@pytest.fixture
def api(server):
    server.reset()
    return server


def syncer(api, **kwargs):
    return k8s_sync.Syncer(connect({"kubeconfig": api.kubeconfig}), **kwargs)


def test_first_run_creates_everything_in_order_second_run_lists_once_per_kind(api):
    manifests = article_manifests()
    out = syncer(api).sync(manifests)
    assert out["changed"] and len(out["actions"]) == len(manifests) == 39
    assert {a["action"] for a in out["actions"]} == {"create"}
    log = [e for e in api.recorder.snapshot()["log"] if e.startswith("create")]
    namespaces_done = max(i for i, e in enumerate(log) if e.startswith("create namespaces"))
    assert all(not e.startswith("create namespaces") for e in log[namespaces_done + 1:])
    policies = [e for e in log if e.startswith("create networkpolicies")]
    first_deny = min(i for i, e in enumerate(policies) if "default-deny" in e)
    assert all("default-deny" in e for e in policies[first_deny:])
    assert len(api.objects("networkpolicies")) == 26
    api.recorder.reset()
    again = syncer(api).sync(manifests)
    assert again == {"changed": False, "actions": [], "unchanged": 39, "diff": [], "skipped": []}
    snap = api.recorder.snapshot()
    assert snap["writes"] == 0
    assert snap["counts"] == {"discovery policy.networking.k8s.io/v1alpha1": 1, "list adminnetworkpolicies": 1,
                              "list namespaces": 1, "list networkpolicies": 1, "list validatingadmissionpolicies": 1,
                              "list validatingadmissionpolicybindings": 1, "list ingresses": 1, "list configmaps": 1,
                              "list secrets": 1, "list services": 1, "list deployments": 1,
                              "list poddisruptionbudgets": 1}


def test_matrix_change_updates_and_prunes_exactly_what_changed(api):
    syncer(api).sync(article_manifests())
    base = normalize_matrix(None, harness.INVENTORY)
    from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import default_matrix
    raw = default_matrix()
    raw["flows"] = [f for f in raw["flows"] if f["to"] != "external_db"]
    raw["services"]["http"] = ["80/tcp"]
    changed = compile_manifests(normalize_matrix(raw, harness.INVENTORY))
    before = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in compile_manifests(base)}
    after = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in changed}
    expect_delete = set(before) - set(after)
    expect_update = {k for k in set(before) & set(after) if before[k] != after[k]}
    api.recorder.reset()
    out = syncer(api).sync(changed)
    got = {(a["kind"], a.get("namespace"), a["name"]): a["action"] for a in out["actions"]}
    assert {k for k, v in got.items() if v == "delete"} == expect_delete == {
        ("NetworkPolicy", "backend", "netzone-egress-to-external-db")}
    assert {k for k, v in got.items() if v == "update"} == expect_update and expect_update
    assert not [v for v in got.values() if v == "create"]
    assert api.recorder.snapshot()["writes"] == len(expect_delete) + len(expect_update)
    live = api.objects("networkpolicies")
    assert ("backend", "netzone-egress-to-external-db") not in live
    ports = live[("frontend", "netzone-ingress-from-ingress")]["spec"]["ingress"][0]["ports"]
    assert [p["port"] for p in ports] == [80]
    # the diff shows each object before and after
    entry = [d for d in out["diff"] if d["before_header"] == "NetworkPolicy frontend/netzone-ingress-from-ingress"][0]
    assert [p["port"] for p in entry["before"]["spec"]["ingress"][0]["ports"]] == [80, 8080]
    assert [p["port"] for p in entry["after"]["spec"]["ingress"][0]["ports"]] == [80]


def test_dry_run_changes_nothing_and_sends_dry_run_writes(api):
    syncer(api).sync([namespace("frontend")])
    api.recorder.reset()
    out = syncer(api, dry_run=True).sync(article_manifests())
    assert out["changed"] and len(out["actions"]) == 39
    names = ("default", "frontend", "kube-node-lease", "kube-public", "kube-system")
    assert sorted(api.objects("namespaces")) == [(None, n) for n in names]
    assert api.objects("networkpolicies") == {}
    writes = [e for e in api.recorder.snapshot()["log"] if e.split(" ", 1)[0] in ("create", "update", "delete")]
    assert writes and all(e.endswith("dryRun") for e in writes)
    # objects in the existing namespace were validated by the server; those in new namespaces could not be
    assert any(e.startswith("create networkpolicies frontend/") for e in writes)
    assert not any(e.startswith("create networkpolicies backend/") for e in writes)


def test_foreign_objects_are_left_alone_and_a_name_clash_stops_the_run(api):
    syncer(api).sync([namespace("frontend")])
    foreign = netpol("frontend", "team-policy")
    foreign["metadata"]["labels"] = {"team": "web"}
    clash = netpol("frontend", "netzone-default-deny", role="default-deny")
    clash["metadata"]["labels"] = {"team": "web"}
    transport = connect({"kubeconfig": api.kubeconfig})
    for obj in (foreign, clash):
        transport.request("POST", "/apis/networking.k8s.io/v1/namespaces/frontend/networkpolicies", body=obj)
    before = api.objects("networkpolicies", "frontend")
    clash_error = r"NetworkPolicy frontend/netzone-default-deny exists and is not managed by netzone.segmentation"
    with pytest.raises(k8s_sync.SyncError, match=clash_error):
        syncer(api).sync(article_manifests())
    after = api.objects("networkpolicies", "frontend")
    assert after[("frontend", "team-policy")] == before[("frontend", "team-policy")]
    assert after[("frontend", "netzone-default-deny")] == before[("frontend", "netzone-default-deny")]
    # without the clash the run converges and still leaves the foreign policy alone, prune included
    transport.request("DELETE", "/apis/networking.k8s.io/v1/namespaces/frontend/networkpolicies/netzone-default-deny")
    syncer(api).sync(article_manifests())
    syncer(api).sync([namespace("frontend")])
    left = api.objects("networkpolicies")
    assert list(left) == [("frontend", "team-policy")]
    assert left[("frontend", "team-policy")] == before[("frontend", "team-policy")]


def test_an_existing_namespace_is_adopted_and_never_pruned(api):
    transport = connect({"kubeconfig": api.kubeconfig})
    transport.request("POST", "/api/v1/namespaces", body={"apiVersion": "v1", "kind": "Namespace",
                                                          "metadata": {"name": "ingress", "labels": {"addon": "x"}}})
    out = syncer(api).sync(article_manifests())
    assert {"action": "adopt", "kind": "Namespace", "name": "ingress"} in out["actions"]
    ns = api.objects("namespaces")[(None, "ingress")]
    assert ns["metadata"]["labels"]["addon"] == "x"
    assert ns["metadata"]["labels"]["netzone.io/zone"] == "ingress"
    assert ns["metadata"]["annotations"][k8s_sync.ADOPTED_ANNOTATION] == "true"
    assert syncer(api).sync(article_manifests())["changed"] is False
    syncer(api).sync([], prune_namespaces=True)
    names = {k[1] for k in api.objects("namespaces")}
    assert "ingress" in names and "frontend" not in names


def test_conflict_is_retried_from_a_fresh_read(api):
    manifests = article_manifests()
    syncer(api).sync(manifests)
    raw = normalize_matrix(None, harness.INVENTORY)
    raw["services"]["http"] = raw["services"]["http"][:1]
    changed = compile_manifests(raw)
    # a concurrent writer touches every policy right after our LIST: our PUTs carry a stale resourceVersion
    api.server.recorder.writers["networkpolicies"] = 1
    api.recorder.reset()
    out = syncer(api).sync(changed)
    updates = [a for a in out["actions"] if a["action"] == "update"]
    assert updates
    counts = api.recorder.snapshot()["counts"]
    assert counts["get networkpolicies"] == len(updates)      # one fresh read per conflict
    assert counts["update networkpolicies"] == 2 * len(updates)  # the 409, then the retry
    live = api.objects("networkpolicies")
    touched = live[("frontend", "netzone-ingress-from-ingress")]
    assert touched["metadata"]["annotations"]["test.netzone.io/touched"] == "1"  # their change kept
    assert [p["port"] for p in touched["spec"]["ingress"][0]["ports"]] == [80]    # ours applied
    assert syncer(api).sync(changed)["changed"] is False


class _AfterGet:
    """A transport that hands every answer to a GET of a path ending in ``suffix`` (``.../p`` unless told) to
    ``hook(answer)`` and returns what it returns."""

    def __init__(self, inner, hook, suffix="/p"):
        self.inner = inner
        self.hook = hook
        self.suffix = suffix

    def request(self, method, path, query=None, body=None, content_type=None):
        answer = self.inner.request(method, path, query=query, body=body, content_type=content_type)
        return self.hook(answer) if method == "GET" and path.endswith(self.suffix) else answer


def test_conflicts_that_never_stop_give_up_with_a_clear_error(api):
    syncer(api).sync([namespace("a"), netpol("a", "p")])
    api.server.recorder.writers["networkpolicies"] = 1
    want = netpol("a", "p", spec={"podSelector": {}, "policyTypes": ["Egress"]})
    inner = connect({"kubeconfig": api.kubeconfig})

    def racing(answer):
        """Every GET is followed by a concurrent write."""
        api.server.recorder.writers["networkpolicies"] = 1
        inner.request("GET", "/apis/networking.k8s.io/v1/networkpolicies")
        return answer

    with pytest.raises(k8s_sync.SyncError, match=r"update of NetworkPolicy a/p failed: 409 Conflict"):
        k8s_sync.Syncer(_AfterGet(inner, racing), conflict_retries=2).sync([namespace("a"), want])


def test_an_object_taken_over_during_a_conflict_is_left_alone_with_one_message(api):
    """The fresh read after a 409 shows the object without our label: someone took it over; it is not written."""
    syncer(api).sync([namespace("a"), netpol("a", "p")])
    api.server.recorder.writers["networkpolicies"] = 1
    want = netpol("a", "p", spec={"podSelector": {}, "policyTypes": ["Egress"]})

    def taken_over(answer):
        answer = copy.deepcopy(answer)
        answer["metadata"]["labels"].pop("app.kubernetes.io/managed-by")
        return answer

    with pytest.raises(k8s_sync.SyncError) as err:
        k8s_sync.Syncer(_AfterGet(connect({"kubeconfig": api.kubeconfig}), taken_over)).sync([namespace("a"), want])
    assert str(err.value) == "NetworkPolicy a/p is no longer managed by netzone.segmentation; left alone"


def test_api_failure_mid_way_stops_and_a_rerun_converges(api):
    manifests = article_manifests()
    api.server.recorder.fail_after, api.server.recorder.fail_verbs = 12, "write"
    with pytest.raises(k8s_sync.SyncError, match=r"failed: 500 InternalError.*12 change\(s\) were applied") as err:
        syncer(api).sync(manifests)
    assert len(err.value.done) == 12
    assert len(api.objects("networkpolicies")) == 12 - 5   # five namespaces, then seven allow policies
    assert not [k for k, v in api.objects("networkpolicies").items()
                if v["metadata"]["labels"][k8s_sync.POLICY_ROLE_LABEL] == "default-deny"]
    api.server.recorder.fail_after = None
    out = syncer(api).sync(manifests)
    assert len(out["actions"]) == 39 - 12 and out["unchanged"] == 12
    assert syncer(api).sync(manifests)["changed"] is False


def test_unreachable_api_is_one_clear_error():
    transport = connect({"host": "http://127.0.0.1:9", "request_timeout": 2})
    unreachable = r"reading the live objects failed: 0 Unreachable: the Kubernetes API at http://127.0.0.1:9 cannot be reached"
    with pytest.raises(k8s_sync.SyncError, match=unreachable):
        k8s_sync.Syncer(transport).sync([namespace("a")])


def test_an_object_someone_else_deleted_first_is_counted_unchanged_not_changed(api):
    """A prune whose DELETE finds the object gone (404: another client deleted it after our LIST) changes
    nothing: the run reports no change and counts it with the unchanged objects, once."""
    syncer(api).sync([namespace("a"), netpol("a", "p"), netpol("a", "q")])
    inner = connect({"kubeconfig": api.kubeconfig})

    def deleted_after_the_list(answer):
        inner.request("DELETE", NP % ("a", "p"))
        return answer

    racing = _AfterGet(inner, deleted_after_the_list, suffix="/apis/networking.k8s.io/v1/networkpolicies")
    out = k8s_sync.Syncer(racing).sync([namespace("a"), netpol("a", "q")])
    assert (out["changed"], out["actions"], out["unchanged"]) == (False, [], 3)
    assert sorted(api.objects("networkpolicies")) == [("a", "q")]


def test_a_failed_read_of_the_live_objects_is_one_clear_error_and_nothing_is_written(api):
    recorder = api.server.recorder
    before = recorder.failed
    # the first request, the LIST, fails (the api fixture's reset puts the fault settings back for the next test)
    recorder.fail_after, recorder.fail_verbs, recorder.fail_count = 0, "all", 1
    with pytest.raises(k8s_sync.SyncError) as failed:
        syncer(api).sync([namespace("a")])
    assert str(failed.value) == ("reading the live objects failed: 500 InternalError: Internal error occurred: "
                                 "injected fault (test apiserver)")
    assert failed.value.status == 500
    assert recorder.failed == before + 1 and (None, "a") not in api.objects("namespaces")


# --- drift: what someone else changed is seen, shown and restored; defaults never cause writes ----------
NP = "/apis/networking.k8s.io/v1/namespaces/%s/networkpolicies/%s"
ADM = "/apis/admissionregistration.k8s.io/v1/"
TAMPERINGS = [
    # (name, path, merge patch, key of the object, a drift path that must be named)
    ("allow-all ingress rule added to a default-deny", NP % ("frontend", "netzone-default-deny"),
     {"spec": {"ingress": [{}]}}, ("NetworkPolicy", "frontend", "netzone-default-deny"), "spec.ingress (added)"),
    ("default-deny narrowed to pods nothing has", NP % ("backend", "netzone-default-deny"),
     {"spec": {"podSelector": {"matchLabels": {"nothing": "has-this"}}}},
     ("NetworkPolicy", "backend", "netzone-default-deny"), "spec.podSelector.matchLabels (added)"),
    ("matchConditions false added to the admission policy", ADM + "validatingadmissionpolicies/netzone-deny-node-ports",
     {"spec": {"matchConditions": [{"name": "never", "expression": "false"}]}},
     ("ValidatingAdmissionPolicy", None, "netzone-deny-node-ports"), "spec.matchConditions (added)"),
    ("never-matching matchResources on the binding",
     ADM + "validatingadmissionpolicybindings/netzone-deny-node-ports",
     {"spec": {"matchResources": {"objectSelector": {"matchLabels": {"never": "matches"}}}}},
     ("ValidatingAdmissionPolicyBinding", None, "netzone-deny-node-ports"), "spec.matchResources (added)"),
    ("zone label removed from a namespace", "/api/v1/namespaces/db",
     {"metadata": {"labels": {"netzone.io/zone": None}}}, ("Namespace", None, "db"),
     "metadata.labels[netzone.io/zone]"),
    ("extra ipBlock in an allow policy", NP % ("ingress", "netzone-ingress-from-load-balancers"),
     None, ("NetworkPolicy", "ingress", "netzone-ingress-from-load-balancers"), "spec.ingress[0].from (3 items, want 2)"),
]


def _tamper(transport, path, patch):
    if patch is None:  # the extra ipBlock: read, append, write back (as kubectl edit would)
        obj = transport.request("GET", path)
        obj["spec"]["ingress"][0]["from"].append({"ipBlock": {"cidr": "0.0.0.0/0"}})
        transport.request("PUT", path, body=obj)
        return
    transport.request("PATCH", path, body=patch, content_type="application/merge-patch+json")


@pytest.mark.parametrize("name,path,patch,key,where", TAMPERINGS, ids=[t[0] for t in TAMPERINGS])
def test_foreign_change_is_detected_shown_restored_then_nothing_written(api, name, path, patch, key, where):
    manifests = article_manifests()
    syncer(api).sync(manifests)
    transport = connect({"kubeconfig": api.kubeconfig})
    before = transport.request("GET", path)
    _tamper(transport, path, patch)
    tampered = transport.request("GET", path)
    assert tampered != before, name
    # check mode (dry run) sees it, names it and shows it in the diff; nothing changes
    api.recorder.reset()
    check = syncer(api, dry_run=True).sync(manifests)
    assert [(a["action"], a["kind"], a.get("namespace"), a["name"]) for a in check["actions"]] == [
        ("update", key[0], key[1], key[2])], name
    assert where in check["actions"][0]["drift"], check["actions"][0]["drift"]
    assert check["diff"][0]["before"] != check["diff"][0]["after"]
    assert transport.request("GET", path) == tampered
    # the next run restores it
    out = syncer(api).sync(manifests)
    assert [a["action"] for a in out["actions"]] == ["update"]
    restored = transport.request("GET", path)
    for obj in (restored, before):
        for field in ("resourceVersion", "generation"):
            obj["metadata"].pop(field)
    assert restored == before, name
    # and the run after writes nothing
    api.recorder.reset()
    again = syncer(api).sync(manifests)
    assert not again["changed"] and api.recorder.snapshot()["writes"] == 0


def test_server_defaults_never_make_a_no_op_write(api):
    """Objects as the server stores them (every default filled in) are not drift."""
    manifests = article_manifests()
    raw = default_matrix_with(nodeport_exempt_namespaces=["ingress"])
    manifests = compile_manifests(normalize_matrix(raw, harness.INVENTORY))
    syncer(api).sync(manifests)
    live = api.objects("validatingadmissionpolicybindings")[(None, "netzone-deny-node-ports")]
    assert live["spec"]["matchResources"]["matchPolicy"] == "Equivalent"
    vap = api.objects("validatingadmissionpolicies")[(None, "netzone-deny-node-ports")]
    assert vap["spec"]["matchConstraints"]["resourceRules"][0]["scope"] == "*"
    api.recorder.reset()
    assert not syncer(api).sync(manifests)["changed"]
    assert api.recorder.snapshot()["writes"] == 0


def default_matrix_with(**guards):
    from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import default_matrix
    raw = default_matrix()
    raw["guards"] = dict(raw.get("guards") or {}, **guards)
    return raw


def test_drift_lists_paths_and_ignores_foreign_labels():
    want = k8s_sync.prepare_desired([netpol("a", "p")])[("NetworkPolicy", "a", "p")]
    live = k8s_sync.with_server_defaults(copy.deepcopy(want))
    live["metadata"]["labels"]["someone.else/label"] = "x"
    assert k8s_sync.drift(want, live) == []
    live["spec"]["egress"] = [{}]
    del live["spec"]["podSelector"]
    assert k8s_sync.drift(want, live) == ["spec.egress (added)", "spec.podSelector (removed)"]
    # a list that lost or gained items says how many; a list where a mapping (or a string) was is "changed"
    live = k8s_sync.with_server_defaults(copy.deepcopy(want))
    live["spec"]["policyTypes"] = ["Ingress", "Egress", "Ingress"]
    assert k8s_sync.drift(want, live) == ["spec.policyTypes (3 items, want 1)"]
    live["spec"]["policyTypes"] = "Ingress"
    assert k8s_sync.drift(want, live) == ["spec.policyTypes (changed)"]
    live["spec"]["policyTypes"] = {"0": "Ingress"}
    assert k8s_sync.drift(want, live) == ["spec.policyTypes (changed)"]


def _deployment():
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "egress-proxy", "namespace": "proxy"},
            "spec": {"template": {"spec": {"containers": [
                {"name": "squid", "image": "squid:6", "ports": [{"containerPort": 3128}]},
                {"name": "origination", "image": "haproxy:2.6", "ports": [{"containerPort": 8080}]}]}}}}


@pytest.mark.parametrize("change, expected", [
    (lambda c: c[1].update(image="haproxy:evil"), ["spec (changed)"]),             # the second item's field
    (lambda c: c[0]["ports"].append({"containerPort": 22}), ["spec (changed)"]),   # a nested list grew
    (lambda c: c.pop(), ["spec (changed)"]),                                       # an item dropped
    (lambda c: c.append({"name": "sidecar", "image": "x"}), ["spec (changed)"]),   # an item added
    (lambda c: c.reverse(), ["spec (changed)"]),                                   # the order changed
    (lambda c: c[1].update(resources={}), []),                                     # a field the server may add
])
def test_drift_in_a_list_of_containers_is_seen(change, expected):
    """Drift anywhere in a list of containers, written out per case (a Deployment is compared field by
    field, so fields the API server adds are not drift, but a changed, dropped, added or moved item is)."""
    want = k8s_sync.prepare_desired([_deployment()])[("Deployment", "proxy", "egress-proxy")]
    live = copy.deepcopy(want)
    change(live["spec"]["template"]["spec"]["containers"])
    assert k8s_sync.drift(want, live) == expected


# --- the cluster-wide guardrail's AdminNetworkPolicy: a CRD's kind ---------------------------------------------
def _guardrail_manifests(stage):
    from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import default_matrix
    raw = default_matrix()
    raw.setdefault("guards", {})["unmanaged_internet"] = stage
    return compile_manifests(normalize_matrix(raw, harness.INVENTORY))


def test_the_admin_network_policy_is_applied_and_then_left_alone(api):
    out = syncer(api).sync(_guardrail_manifests("deny"))
    assert out["skipped"] == []
    anp = api.objects("adminnetworkpolicies")[(None, "netzone-unmanaged-no-internet")]
    assert anp["spec"]["egress"][0]["action"] == "Deny"
    assert anp["metadata"]["labels"][k8s_sync.MANAGED_BY_LABEL] == k8s_sync.MANAGED_BY_VALUE
    api.recorder.reset()
    again = syncer(api).sync(_guardrail_manifests("deny"))
    assert again["changed"] is False and api.recorder.snapshot()["writes"] == 0
    # the warn stage is an update of the same object; going back to deny another
    staged = syncer(api).sync(_guardrail_manifests("warn"))
    assert [(a["action"], a["kind"]) for a in staged["actions"]] == [("update", "AdminNetworkPolicy")]


def test_a_cluster_without_the_admin_policy_api(api):
    api.store.unserved_groups.add("policy.networking.k8s.io")
    # warn stage: the no-op object is skipped (and said so), everything else applied
    out = syncer(api).sync(_guardrail_manifests("warn"))
    assert out["skipped"] == ["AdminNetworkPolicy netzone-unmanaged-no-internet"]
    assert out["changed"] and len(api.objects("networkpolicies")) == 26
    assert "list adminnetworkpolicies" not in api.recorder.snapshot()["counts"]
    # deny stage: refused before anything is read or written
    api.reset()
    api.store.unserved_groups.add("policy.networking.k8s.io")
    with pytest.raises(NetzoneError, match=r"AdminNetworkPolicy netzone-unmanaged-no-internet: this cluster does not "
                                           r"serve policy.networking.k8s.io/v1alpha1 .*nothing was applied"):
        syncer(api).sync(_guardrail_manifests("deny"))
    assert api.recorder.snapshot()["writes"] == 0 and api.objects("networkpolicies") == {}


def test_a_manifest_of_a_kind_left_out_is_refused_before_any_request(api):
    api.recorder.reset()
    with pytest.raises(NetzoneError) as err:
        syncer(api).sync([netpol("a", "p")], kinds=["Namespace", "ValidatingAdmissionPolicy"])
    assert str(err.value) == ("NetworkPolicy a/p: kind NetworkPolicy is not in kinds (Namespace, "
                              "ValidatingAdmissionPolicy)")
    assert api.recorder.snapshot()["writes"] == 0


def test_prepare_desired_messages_are_whole():
    def refused(manifests):
        with pytest.raises(NetzoneError) as err:
            k8s_sync.prepare_desired(manifests)
        return str(err.value)

    assert refused([namespace("a"), "not an object"]) == "manifests[1]: must be a Kubernetes object (a mapping)"
    assert refused([{"apiVersion": "v1", "kind": "Namespace", "metadata": {}}]) == "manifests[0].metadata.name: is required"
    assert refused([{"apiVersion": "v1", "kind": "Namespace"}]) == "manifests[0].metadata.name: is required"
    assert refused([{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "p"},
                     "spec": {}}]) == "manifests[0]: NetworkPolicy p needs metadata.namespace"
    assert refused([netpol("frontend", "p"), netpol("frontend", "p")]) == (
        "manifests[1]: NetworkPolicy frontend/p appears twice")


def test_prepare_desired_drops_server_fields_and_a_cluster_objects_namespace():
    desired = k8s_sync.prepare_desired([{"apiVersion": "v1", "kind": "Namespace", "status": {"phase": "Active"},
                                         "metadata": {"name": "x", "namespace": "ignored", "resourceVersion": "7",
                                                      "uid": "u", "labels": {"a": "b"}}}])
    obj = desired[("Namespace", None, "x")]
    assert sorted(obj) == ["apiVersion", "kind", "metadata"]
    assert sorted(obj["metadata"]) == ["annotations", "labels", "name"]
    assert obj["metadata"]["labels"] == {"a": "b", k8s_sync.MANAGED_BY_LABEL: k8s_sync.MANAGED_BY_VALUE}


def test_fill_secrets_gives_data_and_names_what_is_missing_or_unknown():
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "proxy"}}
    kept = dict(secret, metadata={"name": "t", "namespace": "proxy"}, data={"k": "dg=="})
    assert k8s_sync.fill_secrets([secret, kept, namespace("a")], {"proxy/s": {"k": "eA=="}}) == [
        dict(secret, data={"k": "eA=="}), kept, namespace("a")]
    assert secret.get("data") is None                       # the input is not changed
    with pytest.raises(NetzoneError) as err:
        k8s_sync.fill_secrets([namespace("a"), secret], {})
    assert str(err.value) == "manifests[1]: Secret proxy/s has no data (pass it in secret_data)"
    with pytest.raises(NetzoneError) as err:
        k8s_sync.fill_secrets([secret], {"proxy/s": {"k": "eA=="}, "proxy/z": {}, "other/a": {}})
    assert str(err.value) == "secret_data: other/a, proxy/z is not a Secret of the manifests"
    assert k8s_sync.fill_secrets(None, None) == []


@pytest.mark.parametrize("obj, no_op", [
    ({"kind": "AdminNetworkPolicy", "spec": {"ingress": [{"action": "Pass"}], "egress": [{"action": "Pass"}]}}, True),
    ({"kind": "AdminNetworkPolicy", "spec": {"egress": [{"action": "Pass"}, {"action": "Deny"}]}}, False),
    ({"kind": "AdminNetworkPolicy", "spec": {"ingress": [{"action": "Allow"}]}}, False),
    ({"kind": "AdminNetworkPolicy"}, True),
    ({"kind": "NetworkPolicy", "spec": {"ingress": [{"action": "Pass"}]}}, False),
])
def test_only_an_admin_policy_whose_every_rule_passes_is_a_no_op(obj, no_op):
    assert k8s_sync.is_no_op(obj) is no_op


@pytest.mark.parametrize("want, have, result", [
    ({"a": 1}, {"a": 1, "b": 2}, True), ({"a": 1}, {"a": 2}, False), ({"a": {"b": 1}}, {"a": 1}, False),
    ([1, 2], [1, 2], True), ([1, 2], [1, 2, 3], False), ([1], (1,), False), ([{"a": 1}], [{"a": 1, "x": 0}], True),
    ([2, 1], [1, 2], False), ("x", "x", True), ({}, None, False), ({"a": None}, {}, True),
])
def test_contains_compares_the_fields_we_set(want, have, result):
    assert k8s_sync.contains(want, have) is result


def test_a_secret_in_a_diff_shows_a_short_digest_of_each_value_and_no_server_fields():
    # digests from coreutils: printf 'aGVsbG8=' | sha256sum; printf 's3cret' | sha256sum (first 12 hex digits)
    live = {"apiVersion": "v1", "kind": "Secret", "status": {},
            "metadata": {"name": "s", "namespace": "proxy", "resourceVersion": "7", "uid": "u-1"},
            "data": {"ca.crt": "aGVsbG8="}, "stringData": {"token": "s3cret"}}
    assert k8s_sync.clean(live) == {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "proxy"},
        "data": {"ca.crt": "<redacted sha256:333d6b3a3c1f>"}, "stringData": {"token": "<redacted sha256:1ec1c26b50d5>"}}
    assert live["data"] == {"ca.crt": "aGVsbG8="}      # the object itself is left as it was


def test_a_namespace_update_keeps_the_live_finalizers_whatever_made_the_desired_object():
    """A namespace's spec.finalizers change only through /finalize: a PUT without them is refused.  The desired
    object as a plan read from JSON gives it (new strings, not this module's constants)."""
    import json  # pylint: disable=import-outside-toplevel

    desired = json.loads('{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "db", "labels": {"z": "db"}}}')
    live = {"apiVersion": "v1", "kind": "Namespace", "status": {"phase": "Active"},
            "metadata": {"name": "db", "resourceVersion": "9", "labels": {"kubernetes.io/metadata.name": "db"}},
            "spec": {"finalizers": ["kubernetes"]}}
    assert k8s_sync.update_body(desired, live) == {
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "db", "resourceVersion": "9", "labels": {"kubernetes.io/metadata.name": "db", "z": "db"},
                     "annotations": {}},
        "spec": {"finalizers": ["kubernetes"]}}


# Every kind, each named so that a kind of higher rank has the smaller name: two kinds that share a rank are
# then ordered by name against their rank order, so any rank moved onto a neighbour's shows in the order.
_KIND_VERSIONS = {"Namespace": "v1", "NetworkPolicy": "networking.k8s.io/v1",
                  "AdminNetworkPolicy": "policy.networking.k8s.io/v1alpha1",
                  "ValidatingAdmissionPolicy": "admissionregistration.k8s.io/v1",
                  "ValidatingAdmissionPolicyBinding": "admissionregistration.k8s.io/v1", "Ingress": "networking.k8s.io/v1",
                  "ConfigMap": "v1", "Secret": "v1", "Service": "v1", "Deployment": "apps/v1",
                  "PodDisruptionBudget": "policy/v1"}
_CLUSTER_KINDS = ("Namespace", "AdminNetworkPolicy", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")


def _one_of_each(order):
    objects = []
    for position, kind in enumerate(order):
        deny = kind == "default-deny"
        kind = "NetworkPolicy" if deny else kind
        labels = {"app.kubernetes.io/managed-by": "netzone.segmentation"}
        if deny:
            labels["netzone.io/policy-role"] = "default-deny"
        meta = {"name": "o%02d" % (99 - position), "labels": labels}
        if kind not in _CLUSTER_KINDS:
            meta["namespace"] = "z"
        objects.append({"apiVersion": _KIND_VERSIONS[kind], "kind": kind, "metadata": meta})
    return objects


def test_every_kind_is_applied_and_pruned_in_its_own_place():
    applied = ["Namespace", "NetworkPolicy", "default-deny", "AdminNetworkPolicy", "ValidatingAdmissionPolicy",
               "ValidatingAdmissionPolicyBinding", "Ingress", "ConfigMap", "Secret", "Service", "Deployment",
               "PodDisruptionBudget"]
    objects = _one_of_each(applied)
    desired = {k8s_sync.key_of(o): o for o in reversed(objects)}
    actions = k8s_sync.plan(desired, [])[0]
    # ConfigMap and Secret share their rank: the name decides between them (o91 < o92)
    assert [(a.op, a.key[0], a.key[2]) for a in actions] == [
        ("create", "Namespace", "o99"), ("create", "NetworkPolicy", "o98"), ("create", "NetworkPolicy", "o97"),
        ("create", "AdminNetworkPolicy", "o96"), ("create", "ValidatingAdmissionPolicy", "o95"),
        ("create", "ValidatingAdmissionPolicyBinding", "o94"), ("create", "Ingress", "o93"),
        ("create", "Secret", "o91"), ("create", "ConfigMap", "o92"), ("create", "Service", "o90"),
        ("create", "Deployment", "o89"), ("create", "PodDisruptionBudget", "o88")]
    pruned = ["PodDisruptionBudget", "Deployment", "Service", "ConfigMap", "Secret", "ValidatingAdmissionPolicyBinding",
              "ValidatingAdmissionPolicy", "AdminNetworkPolicy", "Ingress", "NetworkPolicy", "default-deny", "Namespace"]
    live = list(reversed(_one_of_each(pruned)))
    actions = k8s_sync.plan({}, live, prune_namespaces=True)[0]
    assert [(a.op, a.key[0], a.key[2]) for a in actions] == [
        ("delete", "PodDisruptionBudget", "o99"), ("delete", "Deployment", "o98"), ("delete", "Service", "o97"),
        ("delete", "Secret", "o95"), ("delete", "ConfigMap", "o96"),
        ("delete", "ValidatingAdmissionPolicyBinding", "o94"), ("delete", "ValidatingAdmissionPolicy", "o93"),
        ("delete", "AdminNetworkPolicy", "o92"), ("delete", "Ingress", "o91"), ("delete", "NetworkPolicy", "o90"),
        ("delete", "NetworkPolicy", "o89"), ("delete", "Namespace", "o88")]


def test_a_terminating_namespace_is_polled_every_two_seconds_until_gone_or_the_deadline():
    from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import ApiError, SyncError  # pylint: disable=import-outside-toplevel

    class Gone:
        """The namespace answers twice more, then 404."""

        def __init__(self, answers):
            self.answers = answers
            self.paths = []

        def request(self, method, path, query=None, body=None):
            self.paths.append((method, path))
            self.answers -= 1
            if self.answers < 0:
                raise ApiError(404, "NotFound", "gone")
            return {"metadata": {"name": "db", "deletionTimestamp": "bad"}, "spec": {}}

    now = {"t": 0.0}
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now["t"] += seconds

    transport = Gone(2)
    syncer = k8s_sync.Syncer(transport, terminating_timeout=5, sleep=sleep, clock=lambda: now["t"])
    syncer.await_namespaces_gone({"db": {"metadata": {"name": "db"}}})
    assert slept == [2.0, 2.0, 1.0] and transport.paths == [("GET", "/api/v1/namespaces/db")] * 3
    # never gone: the polls stop at the deadline
    slept.clear()
    now["t"] = 0.0
    with pytest.raises(SyncError):
        k8s_sync.Syncer(Gone(99), terminating_timeout=5, sleep=sleep, clock=lambda: now["t"]).await_namespaces_gone(
            {"db": {"metadata": {"name": "db"}}})
    assert slept == [2.0, 2.0, 1.0]


def test_the_terminating_message_names_only_the_conditions_that_hold():
    """Kubernetes' namespace conditions as a stuck deletion shows them: the ones whose status is "False" (all
    discovered, nothing failed) say nothing about what holds the namespace and are left out."""
    stuck = {"metadata": {"name": "zone002"}, "spec": {"finalizers": ["kubernetes"]},
             "status": {"phase": "Terminating", "conditions": [
                 {"type": "NamespaceDeletionDiscoveryFailure", "status": "False", "reason": "ResourcesDiscovered",
                  "message": "All resources successfully discovered"},
                 {"type": "NamespaceDeletionContentFailure", "status": "False", "reason": "ContentDeleted",
                  "message": "All content successfully deleted, may be waiting on finalization"},
                 {"type": "NamespaceContentRemaining", "status": "True", "reason": "SomeResourcesRemain",
                  "message": "Some resources are remaining: networkpolicies.networking.k8s.io has 2 resource instances"},
                 {"type": "NamespaceFinalizersRemaining", "status": "Unknown", "message": "not yet known"}]}}
    assert k8s_sync.terminating_message({"zone002": stuck}, 2.2) == (
        "namespace zone002 is being deleted (Terminating since ?; finalizers: kubernetes; Some resources are "
        "remaining: networkpolicies.networking.k8s.io has 2 resource instances), and still was after waiting 2 s: "
        "nothing was applied (a zone cannot come back until Kubernetes has removed its namespace). Look at what "
        "holds it: kubectl get namespace zone002 -o yaml (status.conditions) and the objects left in it; if a "
        "finalizer is stuck (its controller or API service is gone), remove it; then run again, or wait longer "
        "(zones_namespace_terminating_timeout).")
