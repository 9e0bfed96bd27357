# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every LIST of the modules pages through (``limit``/``continue``): 300 zones against a test API server that
answers at most 10 items a page, whatever the client asks."""

from __future__ import annotations

import json
import math
import urllib.request

import pytest

import harness  # pylint: disable=import-error

from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.connection import connect, list_objects
from ansible_collections.netzone.segmentation.plugins.module_utils._model.plan import build_plan
from ansible_collections.netzone.segmentation.plugins.modules import (
    cluster_guard,
    service_audit,
    zone_policies,
)

ZONES = 300
PAGE = 10
# zones applied by zone_policies: enough for several pages of namespaces and many of policies, and the
# last pages pruned (300 took 37 s of the unit run for nothing more)
APPLIED = 47


@pytest.fixture(scope="module")
def paged():
    running = harness.RunningServer(page_cap=PAGE)
    yield running
    running.stop()


@pytest.fixture
def api(paged):
    paged.reset()
    return paged


def get(api, path):
    with urllib.request.urlopen(api.url + path, timeout=10) as resp:
        return json.loads(resp.read())


def test_the_server_pages_with_an_opaque_token_and_caps_the_limit(api):
    harness.load(api, [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns%02d" % i}}
                       for i in range(25)])
    first = get(api, "/api/v1/namespaces?limit=500")          # asks for more than the cap allows
    assert len(first["items"]) == PAGE and first["metadata"]["remainingItemCount"] == 29 - PAGE
    token = first["metadata"]["continue"]
    names = [o["metadata"]["name"] for o in first["items"]]
    while token:
        page = get(api, "/api/v1/namespaces?limit=500&continue=" + token)
        names += [o["metadata"]["name"] for o in page["items"]]
        token = page["metadata"].get("continue")
    assert len(names) == len(set(names)) == 29               # 25 + the 4 seed namespaces, each once
    api.server.page_cap = None
    small = get(api, "/api/v1/namespaces?limit=3")
    assert len(small["items"]) == 3 and small["metadata"]["continue"]
    assert "continue" not in get(api, "/api/v1/namespaces")["metadata"]


def test_a_stale_or_foreign_token_is_refused(api):
    harness.load(api, [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns%02d" % i}}
                       for i in range(25)])
    token = get(api, "/api/v1/namespaces?limit=5")["metadata"]["continue"]
    with pytest.raises(urllib.error.HTTPError) as foreign:
        get(api, "/api/v1/services?limit=5&continue=" + token)
    assert foreign.value.code == 400
    urllib.request.urlopen(urllib.request.Request(api.url + "/_test/compact", method="POST", data=b""), timeout=10)
    with pytest.raises(urllib.error.HTTPError) as stale:
        get(api, "/api/v1/namespaces?limit=5&continue=" + token)
    assert stale.value.code == 410 and json.loads(stale.value.read())["reason"] == "Expired"


def plan_of(matrix):
    return build_plan(matrix, harness.INVENTORY, guard_settings={"skip": ["plan", "load_balancers"]})


def test_zone_policies_pages_through_many_zones(api, run_module):
    matrix = harness.zones_matrix(APPLIED, vhosts=False)
    args = {"plan": plan_of(matrix), "kubeconfig": api.kubeconfig}
    first = run_module(zone_policies.main, args)
    assert not first["failed"], first.get("msg")
    owned_ns = [k for k, o in api.objects("namespaces").items() if "app.kubernetes.io/managed-by" in
                (o["metadata"].get("labels") or {})]
    assert len(owned_ns) == APPLIED
    policies = len(api.objects("networkpolicies"))
    api.recorder.reset()
    again = run_module(zone_policies.main, args)
    snap = api.recorder.snapshot()
    assert again["changed"] is False and again["actions"] == [] and snap["writes"] == 0
    # every page of every kind was read: ceil(n / 10) LISTs of namespaces and of policies
    assert snap["counts"]["list namespaces"] == math.ceil(APPLIED / PAGE)
    assert snap["counts"]["list networkpolicies"] == math.ceil(policies / PAGE)
    # pruning sees the last pages too: drop the last 5 zones of the chain
    fewer = harness.zones_matrix(APPLIED - 5, vhosts=False)
    pruned = run_module(zone_policies.main, dict(args, plan=plan_of(fewer), prune_namespaces=True))
    assert not pruned["failed"], pruned.get("msg")
    gone = {(a["kind"], a["name"]) for a in pruned["actions"] if a["action"] == "delete"}
    assert {("Namespace", "zone%03d" % i) for i in range(APPLIED - 5, APPLIED)} <= gone


def test_list_objects_and_the_listing_modules_page(api, run_module):
    spread = []
    for i in range(ZONES):
        spread.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "z%03d" % i}})
    for i in range(0, ZONES, 7):  # a NodePort Service in every 7th namespace, most of them beyond the first page
        spread.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "np", "namespace": "z%03d" % i},
                       "spec": {"type": "NodePort", "selector": {"app": "x"}, "ports": [{"port": 80}]}})
    harness.load(api, spread)
    transport = connect({"kubeconfig": api.kubeconfig})
    assert len(list_objects(transport, "v1", "Namespace", "namespaces")) == ZONES + 4
    assert transport.requests == math.ceil((ZONES + 4) / PAGE)
    audit = run_module(service_audit.main, {"kubeconfig": api.kubeconfig, "mode": "report"})
    assert audit["violations"] == len(range(0, ZONES, 7)) == 43
    assert api.recorder.snapshot()["counts"]["list services"] == math.ceil(43 / PAGE)


def test_the_guard_finds_the_cni_on_a_later_page(api, run_module):
    # 15 other DaemonSets in namespaces sorted before kube-system: calico-node is on the second page
    others = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a%02d" % i}} for i in range(15)]
    others += [dict(harness.platform_objects()[0], metadata={"name": "agent", "namespace": "a%02d" % i,
                                                             "labels": {"app": "agent"}}) for i in range(15)]
    harness.load(api, others + harness.platform_objects())
    args = {"kubeconfig": api.kubeconfig, "matrix": harness.zones_matrix(3), "inventory": harness.INVENTORY,
            "skip": ["ingress_host_network", "dns_pods", "plan", "load_balancers"]}
    result = run_module(cluster_guard.main, args)
    assert not result["failed"], result.get("msg")
    assert result["checks"]["cni"] == "ok" and result["cni"] == ["kube-system/calico-node"]
    assert api.recorder.snapshot()["counts"]["list daemonsets"] == 2
