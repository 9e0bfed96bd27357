# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A deleted namespace stays Terminating for a while, as on a real cluster: the test API server models it, and
zone_policies waits (bounded) for a zone namespace being deleted before it creates it again, then says what
holds it."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import harness  # pylint: disable=import-error

from ansible_collections.netzone.segmentation.plugins.module_utils._model.plan import build_plan
from ansible_collections.netzone.segmentation.plugins.modules import zone_policies

NP = "/apis/networking.k8s.io/v1/namespaces/%s/networkpolicies"


def call(api, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(api.url + path, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def terminate_after(api, seconds):
    with api.store.lock:
        api.store.namespace_termination = seconds


def policy(namespace, name="p"):
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace}, "spec": {"podSelector": {}}}


def test_a_deleted_namespace_is_terminating_then_gone(apiserver):
    terminate_after(apiserver, 1.0)
    assert call(apiserver, "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                          "metadata": {"name": "shop"}})[0] == 201
    assert call(apiserver, "POST", NP % "shop", policy("shop"))[0] == 201
    code, body = call(apiserver, "DELETE", "/api/v1/namespaces/shop")
    assert code == 200 and body["status"]["phase"] == "Terminating" and body["metadata"]["deletionTimestamp"]
    code, body = call(apiserver, "GET", "/api/v1/namespaces/shop")
    assert code == 200 and body["status"]["phase"] == "Terminating"
    held = {c["type"]: c for c in body["status"]["conditions"]}
    assert held["NamespaceContentRemaining"]["message"] == \
        "Some resources are remaining: networkpolicies.networking.k8s.io has 1 resource instances"
    code, body = call(apiserver, "POST", NP % "shop", policy("shop", "q"))
    assert code == 403 and body["reason"] == "Forbidden"
    assert body["message"] == ('networkpolicies.networking.k8s.io "q" is forbidden: unable to create new content in '
                               'namespace shop because it is being terminated')
    code, body = call(apiserver, "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                                "metadata": {"name": "shop"}})
    assert code == 409 and body["reason"] == "AlreadyExists"
    assert call(apiserver, "GET", (NP % "shop") + "/p")[0] == 200          # its objects are still there
    time.sleep(1.1)
    assert call(apiserver, "GET", "/api/v1/namespaces/shop")[0] == 404
    assert call(apiserver, "GET", (NP % "shop") + "/p")[0] == 404


def test_termination_zero_keeps_deleting_at_once(apiserver):
    assert call(apiserver, "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                          "metadata": {"name": "shop"}})[0] == 201
    assert call(apiserver, "DELETE", "/api/v1/namespaces/shop")[0] == 200
    assert call(apiserver, "GET", "/api/v1/namespaces/shop")[0] == 404


def args(api, matrix, **extra):
    out = {"plan": build_plan(matrix, harness.INVENTORY, guard_settings={"skip": ["plan", "load_balancers"]}),
           "kubeconfig": api.kubeconfig}
    out.update(extra)
    return out


def test_a_zone_that_comes_back_in_time_is_applied(apiserver, run_module):
    matrix = harness.zones_matrix(4, vhosts=False)
    assert not run_module(zone_policies.main, args(apiserver, matrix))["failed"]
    terminate_after(apiserver, 1.5)
    assert call(apiserver, "DELETE", "/api/v1/namespaces/zone003")[0] == 200   # someone deletes the zone
    started = time.monotonic()
    back = run_module(zone_policies.main, args(apiserver, matrix, namespace_terminating_timeout=30))
    assert not back["failed"], back.get("msg")
    assert 1.0 <= time.monotonic() - started < 30
    assert ("Namespace", "zone003") in {(a["kind"], a["name"]) for a in back["actions"] if a["action"] == "create"}
    ns = apiserver.objects("namespaces")[(None, "zone003")]
    assert ns["status"]["phase"] == "Active" and "deletionTimestamp" not in ns["metadata"]
    assert apiserver.objects("networkpolicies", "zone003")                     # its policies are back
    again = run_module(zone_policies.main, args(apiserver, matrix))
    assert again["changed"] is False


def test_a_stuck_namespace_fails_with_a_clear_message_and_nothing_applied(apiserver, run_module):
    matrix = harness.zones_matrix(4, vhosts=False)
    assert not run_module(zone_policies.main, args(apiserver, matrix))["failed"]
    terminate_after(apiserver, 3600)                                         # e.g. a finalizer nobody removes
    assert call(apiserver, "DELETE", "/api/v1/namespaces/zone002")[0] == 200
    changed = harness.zones_matrix(4, vhosts=False)
    changed["services"]["http"] = ["80/tcp", "8443/tcp"]                      # a change to apply everywhere
    apiserver.recorder.reset()
    started = time.monotonic()
    stuck = run_module(zone_policies.main, args(apiserver, changed, namespace_terminating_timeout=2))
    assert stuck["failed"] and 2 <= time.monotonic() - started < 10
    msg = stuck["msg"]
    assert msg.startswith("namespace zone002 is being deleted (Terminating since 20"), msg
    assert "Some resources are remaining: networkpolicies.networking.k8s.io has" in msg
    assert "finalizers: kubernetes" in msg and "still was after waiting 2 s: nothing was applied" in msg
    assert "kubectl get namespace zone002 -o yaml" in msg and "zones_namespace_terminating_timeout" in msg
    assert apiserver.recorder.snapshot()["writes"] == 0 and stuck["actions"] == []


def test_a_foreign_namespace_being_deleted_is_awaited_too(apiserver, run_module):
    terminate_after(apiserver, 1.0)
    harness.load(apiserver, [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "zone001"}}])
    assert call(apiserver, "DELETE", "/api/v1/namespaces/zone001")[0] == 200  # not ours: not listed by label
    result = run_module(zone_policies.main, args(apiserver, harness.zones_matrix(3, vhosts=False),
                                                 namespace_terminating_timeout=20))
    assert not result["failed"], result.get("msg")
    ns = apiserver.objects("namespaces")[(None, "zone001")]
    assert ns["status"]["phase"] == "Active" and apiserver.objects("networkpolicies", "zone001")
