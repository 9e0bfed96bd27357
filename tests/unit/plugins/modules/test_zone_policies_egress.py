# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""zone_policies with the proxy zone's workload: applied, idempotent, rolled on a change, Secrets' data apart
and never shown, pruned when the egress section goes."""

from __future__ import annotations

import base64
import copy

import harness  # pylint: disable=import-error

from ansible_collections.netzone.segmentation.plugins.filter.egress_workload import FilterModule
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import default_matrix
from ansible_collections.netzone.segmentation.plugins.module_utils._model.plan import build_plan
from ansible_collections.netzone.segmentation.plugins.modules import zone_policies

egress_workload = FilterModule().filters()["egress_workload"]
CA = "-----BEGIN CERTIFICATE-----\nMIIca\n-----END CERTIFICATE-----\n"


def raw_matrix(ca=CA):
    raw = default_matrix()
    raw["egress"]["originations"] = [{"name": "payments", "from": ["backend"], "upstream": "https://pay.example.com",
                                      "ca": "ca.pem", "port": 8080}]
    return raw, {"ca.pem": ca}


def role_args(api, raw, files):
    """What the zones role passes: the plan (its Secrets without data), the data apart."""
    plan = build_plan(raw, harness.INVENTORY, egress={"files": files, "secrets": "apart"})
    split = egress_workload(plan["matrix"], files=files, secrets="apart")
    return {"plan": plan, "secret_data": split["secret_data"], "kubeconfig": api.kubeconfig}


def test_workload_applied_idempotent_rolled_and_pruned(apiserver, run_module):
    raw, files = raw_matrix()
    first = run_module(zone_policies.main, role_args(apiserver, raw, files), diff=True)
    assert not first["failed"], first.get("msg")
    created = {(a["kind"], a["name"]) for a in first["actions"] if a.get("namespace") == "proxy"}
    assert created >= {("ConfigMap", "egress-proxy"), ("Deployment", "egress-proxy"), ("Service", "egress-proxy"),
                       ("PodDisruptionBudget", "egress-proxy"), ("Secret", "egress-origination-payments"),
                       ("Deployment", "egress-origination"), ("Service", "payments")}
    secret = apiserver.objects("secrets", "proxy")[("proxy", "egress-origination-payments")]
    assert base64.b64decode(secret["data"]["ca.crt"]).decode() == CA          # the data arrived, apart
    shown = [d for d in first["diff"] if d["after_header"] == "Secret proxy/egress-origination-payments"][0]
    assert secret["data"]["ca.crt"] not in repr(shown) and "redacted" in repr(shown)

    again = run_module(zone_policies.main, role_args(apiserver, raw, files))
    assert again["changed"] is False and again["actions"] == []

    rotated = run_module(zone_policies.main, role_args(apiserver, raw, {"ca.pem": CA.replace("ca", "ca2")}))
    assert {(a["action"], a["kind"], a["name"]) for a in rotated["actions"]} == {
        ("update", "Secret", "egress-origination-payments"), ("update", "Deployment", "egress-origination")}

    gone = copy.deepcopy(raw)
    del gone["egress"]
    gone["services"]["http_proxy"] = ["3128/tcp"]
    gone["flows"].append({"from": "backend", "to": "proxy", "services": ["http_proxy"]})
    pruned = run_module(zone_policies.main, role_args(apiserver, gone, {}))
    deleted = {(a["kind"], a["name"]) for a in pruned["actions"] if a["action"] == "delete"}
    assert deleted == {("ConfigMap", "egress-proxy"), ("ConfigMap", "egress-origination"),
                       ("Deployment", "egress-proxy"), ("Deployment", "egress-origination"),
                       ("Service", "egress-proxy"), ("Service", "payments"),
                       ("PodDisruptionBudget", "egress-proxy"), ("PodDisruptionBudget", "egress-origination"),
                       ("Secret", "egress-origination-payments")}
    assert apiserver.objects("deployments", "proxy") == {} and apiserver.objects("secrets", "proxy") == {}


def test_a_secret_without_its_data_is_refused_before_anything_is_written(apiserver, run_module):
    raw, files = raw_matrix()
    args = role_args(apiserver, raw, files)
    args["secret_data"] = {}
    result = run_module(zone_policies.main, args)
    assert result["failed"] and "Secret proxy/egress-origination-payments has no data" in result["msg"]
    assert apiserver.objects("networkpolicies") == {} and apiserver.objects("configmaps", "proxy") == {}


def test_second_run_writes_nothing_against_the_servers_defaults(apiserver, run_module):
    """The test API server fills in the real server-side defaults of every kind written (Service cluster IPs, IP
    families and traffic policies, Deployment strategy and pod template, Namespace, NetworkPolicy, admission
    policy defaults): the comparison agrees with them, a second run sends no write at all."""
    raw, files = raw_matrix()
    first = run_module(zone_policies.main, role_args(apiserver, raw, files))
    assert not first["failed"], first.get("msg")
    svc = apiserver.objects("services", "proxy")[("proxy", "egress-proxy")]["spec"]
    assert svc["ipFamilies"] == ["IPv4"] and svc["internalTrafficPolicy"] == "Cluster" and svc["clusterIP"]
    deploy = apiserver.objects("deployments", "proxy")[("proxy", "egress-proxy")]["spec"]
    assert deploy["revisionHistoryLimit"] == 10 and deploy["template"]["spec"]["schedulerName"] == "default-scheduler"
    apiserver.recorder.reset()
    again = run_module(zone_policies.main, role_args(apiserver, raw, files))
    assert again["changed"] is False and again["actions"] == []
    assert apiserver.recorder.snapshot()["writes"] == 0
