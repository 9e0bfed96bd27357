# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cluster_guard, service_audit and reachability against the test API server."""

from __future__ import annotations

import copy
from unittest import mock

from ansible.module_utils import basic

import harness  # pylint: disable=import-error

from ansible_collections.netzone.segmentation.plugins.module_utils._model.compile import compile_manifests
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import default_matrix, normalize_matrix
from ansible_collections.netzone.segmentation.plugins.module_utils._model.plan import build_plan
from ansible_collections.netzone.segmentation.plugins.modules import (
    cluster_guard,
    reachability,
    service_audit,
    zone_policies,
)


def conn(api, **extra):
    out = {"matrix": default_matrix(), "inventory": harness.INVENTORY, "kubeconfig": api.kubeconfig}
    out.update(extra)
    return out


def test_guard_passes_on_a_sound_platform_with_three_reads(apiserver, run_module):
    harness.load(apiserver, harness.platform_objects())
    result = run_module(cluster_guard.main, conn(apiserver))
    assert not result["failed"], result["msg"]
    assert result["checks"] == {"cni": "ok", "ingress_host_network": "ok", "dns_pods": "ok", "plan": "ok",
                                "load_balancers": "ok", "pod_security": "ok", "host_network": "ok"}
    assert result["cni"] == ["kube-system/calico-node"] and result["requests"] == 6
    assert result["pod_security"] == [] and result["host_network"] == []
    assert apiserver.recorder.snapshot()["writes"] == 0


def test_guard_runs_in_check_mode_and_changes_nothing(apiserver, run_module):
    """Read-only: in check mode it makes the same reads and gives the same verdicts (a playbook run with --check
    must still be stopped before it would lock the platform out)."""
    harness.load(apiserver, harness.platform_objects())
    result = run_module(cluster_guard.main, conn(apiserver), check_mode=True)
    assert (result["failed"], result["changed"], result.get("skipped")) == (False, False, None)
    assert result["checks"] == {"cni": "ok", "ingress_host_network": "ok", "dns_pods": "ok", "plan": "ok",
                                "load_balancers": "ok", "pod_security": "ok", "host_network": "ok"}
    assert apiserver.recorder.snapshot()["writes"] == 0


def test_guard_refuses_each_lockout(apiserver, run_module):
    platform = harness.platform_objects()
    cases = {
        "no-calico": ([o for o in platform if o["metadata"]["name"] != "calico-node"], default_matrix(),
                      "no policy-enforcing CNI is running"),
        "host-network": (None, default_matrix(), "runs on the host network"),
        "no-dns-pods": ([o for o in platform if o["kind"] != "Pod"], default_matrix(), "every zone would lose DNS"),
        "no-api-server": (platform, dict(default_matrix(), zones=dict(default_matrix()["zones"], ingress={})),
                          "zone 'ingress' needs the API server (port 16443) but no flow opens it"),
        "unknown-lb": (platform, dict(default_matrix(), peers=dict(default_matrix()["peers"], load_balancers={
            "cidrs": ["127.0.0.2/32"]})), "load balancer lb2 (127.0.0.3) is not admitted into the ingress zone"),
    }
    hosted = copy.deepcopy(platform)
    hosted[2]["spec"]["template"]["spec"]["hostNetwork"] = True
    cases["host-network"] = (hosted,) + cases["host-network"][1:]
    for name, (objects, matrix, message) in cases.items():
        apiserver.reset()
        harness.load(apiserver, objects)
        result = run_module(cluster_guard.main, conn(apiserver, matrix=matrix))
        assert result["failed"], name
        assert result["msg"].startswith("cluster guard refuses the plan, it would lock the platform out: "), name
        assert message in result["msg"], (name, result["msg"])
        # a host-network ingress controller is also what the ingress zone's pod admission policy refuses
        assert list(result["checks"].values()).count("failed") == (2 if name == "host-network" else 1), \
            (name, result["checks"])
    # an address no load balancer has: the matrix itself refuses it, before the guard, and nothing is written
    apiserver.reset()
    harness.load(apiserver, platform)
    wider = dict(default_matrix(), peers=dict(default_matrix()["peers"], load_balancers={
        "cidrs": ["127.0.0.2/32", "127.0.0.3/32", "127.0.0.99/32"]}))
    result = run_module(cluster_guard.main, conn(apiserver, matrix=wider))
    assert result["failed"] and "peer 'load_balancers' would let addresses that are not the load balancers' " \
        "(127.0.0.99/32) into the ingress zone 'ingress'" in result["msg"], result["msg"]
    assert apiserver.recorder.snapshot()["writes"] == 0


def _violators():
    return [
        harness.pod("frontend", "debug-shell", "10.1.2.9"),
        harness.pod("db", "fine", "10.1.5.9"),
        harness.pod("kube-system", "kube-proxy-x", "10.0.0.21"),
        {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "node-exporter", "namespace": "backend"},
         "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}, "spec": {
             "containers": [{"name": "exporter", "image": "example.invalid/e:1",
                             "securityContext": {"privileged": True}}]}}}},
    ]


def test_guard_reports_pods_and_workloads_that_their_zone_refuses(apiserver, run_module, run_script):
    objects = harness.platform_objects() + [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}}
                                            for n in ("frontend", "backend", "db")] + _violators()
    objects[-4]["spec"]["hostNetwork"] = True        # frontend/debug-shell
    objects[-2]["spec"]["hostPID"] = True            # kube-system: not a zone, never reported
    objects[2]["spec"]["template"]["spec"]["containers"][0]["ports"].append({"containerPort": 22, "hostPort": 22})
    harness.load(apiserver, objects)
    result = run_module(cluster_guard.main, conn(apiserver))
    assert result["failed"] and result["checks"]["pod_security"] == "failed"
    assert [(f["namespace"], f["kind"], f["name"], f["policy"]) for f in result["pod_security"]] == [
        ("backend", "DaemonSet", "node-exporter", "baseline:v1.33"),
        ("frontend", "Pod", "debug-shell", "baseline:v1.33"),
        ("ingress", "DaemonSet", "nginx-ingress-microk8s-controller", "netzone-ingress-pods")]
    assert "Pod frontend/debug-shell in zone 'frontend' is running although the zone's Pod Security (baseline:v1.33) " \
           "refuses it: host namespaces (hostNetwork=true)" in result["msg"]
    assert "DaemonSet backend/node-exporter in zone 'backend' has a pod template that the zone's Pod Security " \
           "(baseline:v1.33) refuses: privileged (container \"exporter\" must not set securityContext.privileged=true)" \
           in result["msg"]
    assert "hostPort (hostPort 22 outside guards.ingress_host_ports (80, 443))" in result["msg"]
    warned = run_module(cluster_guard.main, conn(apiserver, pod_security_violations="warn"))
    assert not warned["failed"] and warned["checks"]["pod_security"] == "warned"
    assert len(warned["pod_security"]) == 3 and not warned["problems"]
    skipped = run_module(cluster_guard.main, conn(apiserver, skip=["pod_security"]))
    assert not skipped["failed"] and skipped["checks"]["pod_security"] == "skipped"
    # with guards.host_network: deny, the host-network pod fails the guard, or is a warning under "warn"
    deny = dict(default_matrix(), guards={"host_network": "deny"})
    failed = run_module(cluster_guard.main, conn(apiserver, matrix=deny, skip=["pod_security"]))
    assert (failed["failed"], failed["checks"]["host_network"]) == (True, "failed")
    with mock.patch.object(basic.AnsibleModule, "warn", autospec=True) as warn:
        warned = run_module(cluster_guard.main, conn(apiserver, matrix=deny, skip=["pod_security"],
                                                     pod_security_violations="warn"))
    assert (warned["failed"], warned["checks"]["host_network"]) == (False, "warned")
    assert [c.args[1] for c in warn.call_args_list] == [
        "cluster guard: Pod frontend/debug-shell runs with hostNetwork although netzone-host-network admits that only "
        "for the DaemonSets of guards.host_network_allowed; admission control does not look at running pods again, so "
        "it stays until it is removed (move it off the host, or run it from a DaemonSet listed in "
        "guards.host_network_allowed: the list admits DaemonSets only)"]
    # the same as Ansible runs it: the option arrives as JSON text, not as this file's string constant
    code, scripted = run_script(cluster_guard, conn(apiserver, matrix=deny, skip=["pod_security"],
                                                    pod_security_violations="fail"))
    assert (code, scripted["failed"], scripted["checks"]["host_network"]) == (1, True, "failed")


def test_guard_proves_the_manifests_it_is_given_and_the_api_server_zones_it_is_given(apiserver, run_module):
    harness.load(apiserver, harness.platform_objects())
    manifests = [m for m in compile_manifests(normalize_matrix(default_matrix(), harness.INVENTORY))
                 if m["metadata"]["name"] != "netzone-egress-to-api-server"]
    given = run_module(cluster_guard.main, conn(apiserver, manifests=manifests, skip=["pod_security"]))
    assert (given["failed"], given["checks"]["plan"]) == (True, "failed")
    assert given["problems"] == [
        "zone 'ingress' would lose the API server (16443/TCP is denied): denied: egress of ingress/probe-0 is isolated "
        "by ingress/netzone-allow-dns, ingress/netzone-egress-to-frontend, ingress/netzone-default-deny (no rule "
        "matches TCP/16443 to ip:127.0.0.4)"]
    # a zone named in api_server_zones adds to the ingress zone: a zone without the flow is refused
    zones = run_module(cluster_guard.main, conn(apiserver, api_server_zones=["frontend"], skip=["pod_security"]))
    assert zones["problems"] == ["zone 'frontend' needs the API server (port 16443) but no flow opens it: add "
                                 "'api_server' to the zone's needs"]
    # naming the ingress zone again does not take it away
    raw = default_matrix()
    raw["zones"]["ingress"]["needs"] = [n for n in raw["zones"]["ingress"]["needs"] if n != "api_server"]
    again = run_module(cluster_guard.main, conn(apiserver, matrix=raw, api_server_zones=["ingress"],
                                                skip=["pod_security"]))
    assert again["problems"] == ["zone 'ingress' needs the API server (port 16443) but no flow opens it: add "
                                 "'api_server' to the zone's needs"]


def test_guard_skip_and_unreachable(apiserver, run_module):
    result = run_module(cluster_guard.main, conn(apiserver, skip=["cni", "dns_pods"]))
    assert not result["failed"] and result["checks"]["cni"] == "skipped"
    down = run_module(cluster_guard.main, {"matrix": {}, "inventory": harness.INVENTORY,
                                           "host": "http://127.0.0.1:9", "request_timeout": 2})
    assert down["failed"] and down["msg"].startswith("cluster guard: 0 Unreachable: the Kubernetes API at "
                                                     "http://127.0.0.1:9 cannot be reached")


def test_service_audit_modes(apiserver, run_module):
    harness.load(apiserver, [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"},
         "spec": {"type": "NodePort", "ports": [{"port": 80}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "lb", "namespace": "default"},
         "spec": {"type": "LoadBalancer", "ports": [{"port": 443}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db", "namespace": "shop"},
         "spec": {"ports": [{"port": 5432}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ext", "namespace": "default"},
         "spec": {"ports": [{"port": 80}], "externalIPs": ["192.0.2.10"]}},
    ])
    failed = run_module(service_audit.main, {"kubeconfig": apiserver.kubeconfig})
    assert failed["failed"] and failed["violations"] == 3
    assert failed["msg"].startswith("3 Service(s) open node ports or external IPs and bypass the load balancer: "
                                    "default/ext (ClusterIP, external IPs 192.0.2.10); default/lb "
                                    "(LoadBalancer, node ports 3")
    assert [s["name"] for s in failed["services"]] == ["ext", "lb", "web"]
    report = run_module(service_audit.main, {"kubeconfig": apiserver.kubeconfig, "mode": "report",
                                             "exempt_namespaces": ["shop"]})
    assert not report["failed"] and report["violations"] == 2
    exempt = run_module(service_audit.main, {"kubeconfig": apiserver.kubeconfig,
                                             "exempt_namespaces": ["shop", "default"]})
    assert not exempt["failed"] and exempt["violations"] == 0 and len(exempt["services"]) == 3
    assert apiserver.recorder.snapshot()["counts"] == {"list services": 3}


def zone_pods():
    pods, n = [], 10
    for ns in ("ingress", "frontend", "backend", "proxy", "db"):
        for i in range(4 if ns == "proxy" else 2):
            n += 1
            # the proxy zone: two egress proxies (the egress workload's labels) and two other pods, which the
            # proof takes as "proxy:other-pods" (nothing outside)
            labels = {"app": "egress-proxy", "app.kubernetes.io/component": "egress"} if ns == "proxy" and i < 2 \
                else None
            pods.append(harness.pod(ns, "%s-%d" % (ns, i), "10.1.0.%d" % n, labels=labels,
                                    ports=(80, 8080, 3128, 5432)))
    return pods


def _applied_zones_with_pods(apiserver, run_module):
    harness.load(apiserver, harness.platform_objects())
    assert not run_module(zone_policies.main, {"plan": build_plan(default_matrix(), harness.INVENTORY),
                                               "kubeconfig": apiserver.kubeconfig})["failed"]
    harness.load(apiserver, zone_pods())


def test_reachability_reports_what_the_engine_finds_and_a_deleted_policy(apiserver, run_module):
    _applied_zones_with_pods(apiserver, run_module)
    before = run_module(reachability.main, conn(apiserver, fail_on_mismatch=False))
    assert not before["failed"] and before["summary"]["no_pods"] == 0
    assert before["pods"]["db"] == ["db-0", "db-1"] and len(before["cells"]) == before["summary"]["cells"]
    cell = [c for c in before["cells"] if c["from"] == "backend" and c["to"] == "db"][0]
    assert cell["expected"] == cell["actual"] == ["5432/TCP"] and cell["status"] == "ok" and cell["pairs"] == 4
    assert before["mismatches"] == [] and before["summary"]["ok"] == len(before["cells"])
    assert apiserver.recorder.snapshot()["counts"]["list pods"] == 1
    # someone deletes the policy that lets backend into db
    with apiserver.store.lock:
        del apiserver.store.objects[("networkpolicies", "db", "netzone-ingress-from-backend")]
    broken = run_module(reachability.main, conn(apiserver))
    assert broken["failed"] and broken["msg"].startswith("the live cluster differs from the matrix in ")
    assert broken["changed"] is False  # a check: reading the cluster changes nothing, also when it fails
    missing = [(m["from"], m["to"], m["port"]) for m in broken["mismatches"] if m["kind"] == "missing"]
    assert missing == [("backend", "db", 5432)]
    assert "backend -> db 5432/TCP missing (backend/backend-" in broken["msg"]


def test_reachability_of_the_applied_article_zones_has_no_mismatch(apiserver, run_module):
    _applied_zones_with_pods(apiserver, run_module)
    ok = run_module(reachability.main, conn(apiserver))
    assert not ok["failed"], ok["msg"]
    assert ok["mismatches"] == [] and ok["summary"]["ok"] == len(ok["cells"])


def test_reachability_checks_only_running_pods_with_an_address(apiserver, run_module):
    """A pod that ended, has not started or has no address yet sends and answers nothing: it is no endpoint of
    the live check.  One whose status carries an address but no phase (as some API servers answer) counts."""
    _applied_zones_with_pods(apiserver, run_module)
    others = [harness.pod("db", "db-done", "10.1.0.90"), harness.pod("db", "db-starting", "10.1.0.91"),
              harness.pod("db", "db-unscheduled", None), harness.pod("db", "db-no-phase", "10.1.0.92")]
    others[0]["status"]["phase"] = "Succeeded"
    others[1]["status"]["phase"] = "Pending"
    others[2]["status"] = {"phase": "Pending"}
    del others[3]["status"]["phase"]
    harness.load(apiserver, others)
    result = run_module(reachability.main, conn(apiserver))
    assert (result["failed"], result["changed"]) == (False, False)
    assert result["pods"]["db"] == ["db-0", "db-1", "db-no-phase"]
    # read-only: check mode gives the same answer
    checked = run_module(reachability.main, conn(apiserver), check_mode=True)
    assert checked.get("skipped") is None and checked["pods"] == result["pods"]


def test_reachability_runs_as_a_script(run_script):
    code, result = run_script(reachability, {"kubeconfig": "/nonexistent"})
    assert (code, result) == (1, {"failed": True, "msg": "one of the following is required: plan, matrix"})


def test_a_foreign_allow_policy_that_opens_more_is_named(apiserver, run_module):
    """Someone else's policies open frontend -> db on 5432: the failure names both of them."""
    _applied_zones_with_pods(apiserver, run_module)
    harness.load(apiserver, [
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": {"name": "team-open-egress", "namespace": "frontend"},
         "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [{"namespaceSelector": {}}]}]}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": {"name": "team-open", "namespace": "db"},
         "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{}]}},
    ])
    broken = run_module(reachability.main, conn(apiserver))
    assert broken["failed"]
    extra = {(m["from"], m["to"]) for m in broken["mismatches"] if m["kind"] == "extra"}
    assert ("frontend", "db") in extra
    assert broken["extra_allowed_by"] == ["db/team-open", "frontend/team-open-egress"]
    assert ("what the matrix does not allow is allowed by db/team-open, frontend/team-open-egress (not managed by "
            "this collection: db/team-open, frontend/team-open-egress); first: ") in broken["msg"]
    assert "allowed by db/team-open rule ingress[0]" in broken["msg"]


def test_reachability_turns_each_failure_into_one_message(apiserver, run_module, tmp_path):
    harness.call(apiserver.server, "POST", "/_test/fail-after", query="?n=0&verbs=all")
    try:
        failed = run_module(reachability.main, conn(apiserver))
    finally:
        harness.call(apiserver.server, "DELETE", "/_test/faults")
    assert failed == {"failed": True, "status": 500, "msg": "reachability: 500 InternalError: Internal error "
                                                            "occurred: injected fault (test apiserver)"}
    changed = build_plan(default_matrix(), harness.INVENTORY)
    changed["manifests"].pop()
    result = run_module(reachability.main, {"plan": changed, "kubeconfig": apiserver.kubeconfig})
    assert sorted(result) == ["failed", "msg"] and result["msg"].startswith(
        "reachability: plan.digest: the plan changed after it was built and proven")
    unloadable = run_module(reachability.main, conn(apiserver, kubeconfig=str(tmp_path / "kc")))
    assert unloadable == {"failed": True, "msg": "reachability: cannot load kubeconfig %s: Invalid kube-config file. "
                                                 "No configuration found." % (tmp_path / "kc")}
