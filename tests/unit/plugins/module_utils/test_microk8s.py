# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsing and decisions of the MicroK8s role, on real CLI output formats (tests/fixtures/microk8s)."""

from __future__ import annotations

import json
import os
import re

import pytest
import yaml

from ansible_collections.netzone.segmentation.plugins.module_utils._k8s import microk8s as mk
from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.microk8s import Microk8sError

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "microk8s")


def fixture(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return handle.read()


# --- channels and snap list ---------------------------------------------------------------
@pytest.mark.parametrize("given,expected", [
    ("1.31", "1.31/stable"),
    ("1.31/stable", "1.31/stable"),
    ("1.32/edge", "1.32/edge"),
    ("stable", "latest/stable"),
    ("latest", "latest/stable"),
    ("latest/edge", "latest/edge"),
    ("edge/fix-123", "latest/edge/fix-123"),
    ("1.31/stable/hotfix", "1.31/stable/hotfix"),
    ("1.28-strict/stable", "1.28-strict/stable"),
])
def test_normalize_channel(given, expected):
    assert mk.normalize_channel(given) == expected


@pytest.mark.parametrize("bad", ["", "1.31/", "/stable", "1.31/nightly", "a/b/c/d", "1.31 stable", None])
def test_normalize_channel_rejects(bad):
    with pytest.raises(Microk8sError, match="microk8s_channel"):
        mk.normalize_channel(bad)


def test_parse_snap_list_current_format():
    snaps = mk.parse_snap_list(fixture("snap-list.txt"))
    assert sorted(snaps) == ["core20", "microk8s", "snapd"]
    assert snaps["microk8s"] == {"name": "microk8s", "version": "v1.31.9", "revision": "8148", "tracking": "1.31/stable",
                                 "publisher": "canonical\u2713", "notes": ["classic"]}


@pytest.mark.parametrize("stderr, message", [
    ("error: cannot communicate with server: connection refused\n",
     "'snap list microk8s' failed: error: cannot communicate with server: connection refused"),
    ("  \n", "'snap list microk8s' failed: exit 1"),
])
def test_snap_list_failures_are_one_message(stderr, message):
    with pytest.raises(Microk8sError) as err:
        mk.snap_plan("", "1.31", list_rc=1, list_stderr=stderr)
    assert str(err.value) == message


def test_snap_plan_none_when_channel_matches():
    plan = mk.snap_plan(fixture("snap-list.txt"), "1.31")
    assert plan["action"] == "none"
    assert plan["channel"] == "1.31/stable" and plan["installed"] and plan["classic"] and not plan["held"]


def test_snap_plan_refresh_on_channel_change():
    plan = mk.snap_plan(fixture("snap-list.txt"), "1.32/stable")
    assert plan["action"] == "refresh"
    assert (plan["channel"], plan["wanted_channel"]) == ("1.31/stable", "1.32/stable")


def test_snap_plan_old_snapd_shortened_tracking():
    # snapd before the current fmtChannel printed 'track/stable' as 'track'
    assert mk.snap_plan(fixture("snap-list-old-format.txt"), "1.28/stable")["action"] == "none"
    assert mk.snap_plan(fixture("snap-list-old-format.txt"), "1.29/stable")["action"] == "refresh"


def test_snap_plan_truncated_branch():
    text = "Name      Version  Rev   Tracking             Publisher   Notes\nmicrok8s  v1.31.9  8148  1.31/stable/\u2026  canonical\u2713  classic\n"
    assert mk.snap_plan(text, "1.31/stable/hotfix")["action"] == "none"
    assert mk.snap_plan(text, "1.31/stable")["action"] == "refresh"


def test_snap_plan_install_when_absent():
    plan = mk.snap_plan("", "1.31", list_rc=1, list_stderr=fixture("snap-list-not-installed.stderr"))
    assert plan["action"] == "install" and not plan["installed"]


def test_snap_plan_other_errors_are_reported():
    with pytest.raises(Microk8sError, match="cannot communicate with server"):
        mk.snap_plan("", "1.31", list_rc=1, list_stderr="error: cannot communicate with server: connection refused")


def test_snap_plan_held():
    plan = mk.snap_plan(fixture("snap-list-held.txt"), "1.31")
    assert plan["held"] is True
    assert mk.hold_action(plan["held"], True) == "none"
    assert mk.hold_action(plan["held"], False) == "unhold"
    assert mk.hold_action(False, True) == "hold"


def test_parse_snap_list_bad_header():
    with pytest.raises(Microk8sError, match="unexpected header"):
        mk.parse_snap_list("something else\n")


# --- status ----------------------------------------------------------------------------------
CORE_ADDONS = 23  # canonical/microk8s-core-addons addons.yaml at f6898115, all on amd64 with classic confinement


def test_parse_status_fresh_install():
    status = mk.parse_status(fixture("status-fresh.yaml"))
    assert status["running"] is True and status["state"] == "ready" and status["message"] == ""
    assert status["high_availability"] == {"enabled": True, "nodes": [{"address": "192.0.2.11:19001", "role": "voter"}]}
    enabled = sorted(n for n, a in status["addons"].items() if a["status"] == "enabled")
    # dns comes from MicroK8s' default launch configuration (microk8s.default.yaml)
    assert enabled == ["dns", "ha-cluster", "helm", "helm3"]
    assert status["addons"]["rbac"]["version"] == ""
    assert status["addons"]["dns"] == {"status": "enabled", "repository": "core", "version": "1.13.1", "description": "CoreDNS"}
    assert len(status["addons"]) == CORE_ADDONS
    assert mk.status_problem(status, "node1") is None


def test_every_current_status_line_carries_the_repository():
    for name in ("status-fresh.yaml", "status-addons.yaml", "status-ha-three.yaml", "status-no-ha.yaml",
                 "status-community.yaml"):
        text = fixture(name)
        assert text.count("  - name: ") == text.count("    repository: ") > 0, name


def test_parse_status_community_repository():
    status = mk.parse_status(fixture("status-community.yaml"))
    assert status["addons"]["argocd"] == {"status": "enabled", "repository": "community", "version": "2.7.2",
                                          "description": "Argo CD is a declarative continuous deployment for Kubernetes."}
    assert status["addons"]["community"]["repository"] == "core"
    assert status["addons"]["community"]["status"] == "enabled"
    assert status["addons"]["kata"]["version"] == "latest/stable"
    plan = mk.addon_plan(status, mk.normalize_addons(["community/argocd", "core/dns", "community/dns"]), {})
    assert plan["unknown"] == ["community/dns"]
    assert plan["enable"] == []


def test_parse_status_no_ha_and_ha_three():
    assert mk.parse_status(fixture("status-no-ha.yaml"))["high_availability"] == {"enabled": False, "nodes": []}
    three = mk.parse_status(fixture("status-ha-three.yaml"))["high_availability"]
    assert [n["address"] for n in three["nodes"]] == ["192.0.2.11:19001", "192.0.2.12:19001", "192.0.2.13:19001"]


@pytest.mark.parametrize("name", ["status-not-ready.yaml", "status-not-ready-no-ha.yaml"])
def test_parse_status_not_ready_keeps_the_message_under_high_availability(name):
    text = fixture(name)
    # valid YAML, and the message is a key of high-availability, not of microk8s
    assert "message" in yaml.safe_load(text)["high-availability"]
    status = mk.parse_status(text, rc=1, host="node1")
    assert status["state"] == "not-ready" and status["running"] is False
    assert status["message"] == mk.NOT_READY_TEXT
    assert status["addons"] == {}
    problem = mk.status_problem(status, "node1", 300)
    assert "MicroK8s on node1 is not ready after waiting 300 s" in problem
    assert "microk8s inspect' on node1" in problem and mk.NOT_READY_TEXT in problem


def test_parse_status_not_ready_of_microk8s_1_20_is_not_yaml():
    text = fixture("status-not-ready-1.20.txt")
    with pytest.raises(yaml.YAMLError):
        yaml.safe_load(text)
    status = mk.parse_status(text)
    assert status["state"] == "not-ready"
    assert status["message"] == mk.NOT_READY_TEXT


def test_parse_status_stopped_node():
    status = mk.parse_status(fixture("status-stopped.txt"), rc=0, host="node2")
    assert status["state"] == "stopped" and status["running"] is False
    problem = mk.status_problem(status, "node2")
    assert problem == ("MicroK8s is stopped on node2 (it says: microk8s is not running, try microk8s start): someone "
                       "ran 'microk8s stop' and it stays stopped, reboots included, until started. Run 'microk8s "
                       "start' on node2, then re-run the play.")


def test_parse_status_worker_node_says_where_to_read_it():
    with pytest.raises(Microk8sError, match="node3 is a MicroK8s worker node.*control-plane node"):
        mk.parse_status(fixture("status-worker.txt"), rc=0, host="node3")


def test_parse_status_garbage():
    with pytest.raises(Microk8sError, match="cannot read the output of 'microk8s status --format yaml' on node1 \\(exit 1\\)"):
        mk.parse_status("Traceback (most recent call last):\n", rc=1, host="node1")


def test_parse_status_running_with_a_failing_exit_code_is_not_trusted():
    with pytest.raises(Microk8sError, match="exit 2"):
        mk.parse_status(fixture("status-fresh.yaml"), rc=2)


def test_cli_failure_of_a_stopped_node_says_start_it():
    msg = mk.cli_failure(["/snap/bin/microk8s", "kubectl", "get", "nodes"], 1, "", mk.STOPPED_TEXT + "\n", "node1")
    assert "MicroK8s is stopped on node1" in msg and "'microk8s start'" in msg
    other = mk.cli_failure(["/snap/bin/microk8s", "enable", "dns"], 1, "", "boom\n", "node1")
    assert other == "'/snap/bin/microk8s enable dns' failed (exit 1): boom"


def test_kubectl_on_a_worker_says_where_to_run_it():
    text = "This MicroK8s deployment is acting as a node in a cluster. Please use the microk8s kubectl on the master.\n"
    with pytest.raises(Microk8sError, match="worker node.*control-plane node"):
        mk.parse_nodes(text)


# --- addons ---------------------------------------------------------------------------------
def test_normalize_addons_dns_upstream():
    wanted = mk.normalize_addons(["dns", {"name": "ingress"}, {"name": "metallb", "args": "192.0.2.200-192.0.2.220"}],
                                 dns_upstream=["192.0.2.53", "192.0.2.54"])
    assert wanted == [{"name": "dns", "args": "192.0.2.53,192.0.2.54"}, {"name": "ingress", "args": ""},
                      {"name": "metallb", "args": "192.0.2.200-192.0.2.220"}]
    assert mk.addon_command(wanted[0]) == "dns:192.0.2.53,192.0.2.54"
    assert mk.addon_command(wanted[1]) == "ingress"


@pytest.mark.parametrize("addons,upstream,match", [
    (["dns", "dns"], None, "listed twice"),
    (["dns:1.1.1.1"], None, "args"),
    (["Bad Name"], None, "not an addon name"),
    ([42], None, "write a name"),
    (["dns"], ["dns.example.com"], "not an IP address"),
])
def test_normalize_addons_rejects(addons, upstream, match):
    with pytest.raises(Microk8sError, match=match):
        mk.normalize_addons(addons, dns_upstream=upstream)


def test_addon_plan_fresh_install_enables_missing_and_reenables_dns_for_its_upstream():
    status = mk.parse_status(fixture("status-fresh.yaml"))
    plan = mk.addon_plan(status, mk.normalize_addons(["dns", "ingress", "rbac"], ["192.0.2.53"]), {})
    # MicroK8s enabled dns itself, without the upstream servers: it is enabled again with them
    assert plan["reenable"] == ["dns"]
    assert [a["command"] for a in plan["enable"]] == ["dns:192.0.2.53", "ingress", "rbac"]
    assert plan["disable"] == [] and plan["unknown"] == []
    assert plan["managed"] == {"dns": "192.0.2.53", "ingress": "", "rbac": ""}
    # without args there is nothing to re-apply
    plain = mk.addon_plan(status, mk.normalize_addons(["dns", "ingress"]), {})
    assert plain["reenable"] == [] and [a["command"] for a in plain["enable"]] == ["ingress"]
    # once the role manages it, it is left alone
    again = mk.addon_plan(status, mk.normalize_addons(["dns"], ["192.0.2.53"]), {"dns": "192.0.2.53"})
    assert again["reenable"] == [] and again["enable"] == []


def test_addon_plan_rerun_is_empty():
    status = mk.parse_status(fixture("status-addons.yaml"))
    wanted = mk.normalize_addons(["dns", "ingress", "rbac", "metrics-server"])
    plan = mk.addon_plan(status, wanted, {"dns": "", "ingress": "", "rbac": "", "metrics-server": ""})
    assert plan["enable"] == [] and plan["disable"] == [] and plan["args_changed"] == []


def test_addon_plan_disables_only_what_the_role_managed():
    status = mk.parse_status(fixture("status-addons.yaml"))
    # metrics-server removed from the list: the role enabled it before, so it disables it;
    # helm/helm3/ha-cluster were enabled by MicroK8s itself and are left alone.
    plan = mk.addon_plan(status, mk.normalize_addons(["dns", "ingress", "rbac"]),
                         ["dns", "ingress", "rbac", "metrics-server"])
    assert plan["disable"] == ["metrics-server"]
    assert plan["enable"] == []
    assert "helm3" in plan["enabled_before"]


def test_addon_plan_reports_unknown_and_args_change():
    status = mk.parse_status(fixture("status-addons.yaml"))
    plan = mk.addon_plan(status, mk.normalize_addons(["dns", "ingres"], ["192.0.2.99"]), {"dns": "192.0.2.53"})
    assert plan["unknown"] == ["ingres"]
    assert plan["args_changed"] == ["dns"]
    assert "ingres" not in plan["managed"]


def test_addon_plan_goes_on_after_an_unknown_addon():
    status = mk.parse_status(fixture("status-fresh.yaml"))
    plan = mk.addon_plan(status, mk.normalize_addons(["ingres", "ingress", "rbac"]), {})
    assert plan == {"enable": [{"name": "ingress", "args": "", "command": "ingress"},
                               {"name": "rbac", "args": "", "command": "rbac"}],
                    "disable": [], "managed": {"ingress": "", "rbac": ""}, "unknown": ["ingres"],
                    "args_changed": [], "reenable": [], "enabled_before": ["dns", "ha-cluster", "helm", "helm3"],
                    "enabled_after": ["dns", "ha-cluster", "helm", "helm3", "ingress", "rbac"]}


@pytest.mark.parametrize("name,match", [
    ("status-not-ready.yaml", "is not ready"),
    ("status-not-ready-1.20.txt", "is not ready"),
    ("status-stopped.txt", "run 'microk8s start'|Run 'microk8s start'"),
])
def test_addon_plan_refuses_when_not_ready(name, match):
    with pytest.raises(Microk8sError, match=match):
        mk.addon_plan(mk.parse_status(fixture(name), rc=1), [], {})


# --- add-node / join ------------------------------------------------------------------------
def test_parse_add_node():
    token = mk.parse_add_node(fixture("add-node.json"))
    assert token["token"] == "4c2ba6a2d8f04a1a9b3e7d5f6a1c0e92/6d1a4f0e2b7c"
    assert token["urls"][0] == "192.0.2.11:25000/4c2ba6a2d8f04a1a9b3e7d5f6a1c0e92/6d1a4f0e2b7c"
    assert mk.order_join_urls(token["urls"], "198.51.100.11")[0].startswith("198.51.100.11:25000/")
    assert mk.order_join_urls(token["urls"], None) == token["urls"]


@pytest.mark.parametrize("text", ["", "From the node you wish to join", '{"token": "x", "urls": []}',
                                  '{"token": "x", "urls": ["not a url"]}'])
def test_parse_add_node_rejects(text):
    with pytest.raises(Microk8sError):
        mk.parse_add_node(text)


def test_join_outputs():
    assert mk.join_succeeded(0, fixture("join-control-plane.txt"))
    assert mk.join_succeeded(0, fixture("join-worker.txt"))
    assert not mk.join_succeeded(6, fixture("join-invalid-token.txt"))
    # both the exit code and the words are needed
    assert not mk.join_succeeded(1, "Successfully joined the cluster.\n")
    assert not mk.join_succeeded(0, "Contacting cluster at 192.0.2.11\n")
    assert not mk.join_succeeded(0, None)
    msg = mk.join_failure(6, fixture("join-invalid-token.txt"), "")
    assert msg.startswith("microk8s join failed (exit 6): Connection failed. Invalid token (500).")
    assert "re-run the play" in msg
    assert "Contacting cluster" not in msg
    assert not mk.join_try_next_url(6, fixture("join-invalid-token.txt"))
    assert not mk.join_try_next_url(4, fixture("join-fingerprint.txt"))
    assert mk.join_try_next_url(1, "Contacting cluster at 192.0.2.11\nPlease ensure the master node is reachable. timed out")
    msg = mk.join_failure(4, fixture("join-fingerprint.txt"), "")
    assert "Could not verify the identity of 192.0.2.11" in msg


# --- nodes and join plan -------------------------------------------------------------------
def test_parse_nodes_three():
    # kubectl leaves spec.unschedulable out of a node that was never cordoned: such a node is schedulable
    nodes = mk.parse_nodes(fixture("nodes-three.json"))
    assert nodes == [
        {"name": "node1", "address": "192.0.2.11", "ready": True, "schedulable": True, "role": "control-plane"},
        {"name": "node2", "address": "192.0.2.12", "ready": True, "schedulable": True, "role": "control-plane"},
        {"name": "node3", "address": "192.0.2.13", "ready": True, "schedulable": True, "role": "worker"}]


def test_parse_nodes_drained_and_not_ready():
    nodes = mk.parse_nodes(fixture("nodes-drained.json"))
    assert nodes[0]["schedulable"] is False and nodes[0]["ready"] is True
    assert nodes[1]["ready"] is False


HOSTS = [{"host": "cp1", "name": "node1", "role": "control-plane"},
         {"host": "cp2", "name": "node2", "role": "control-plane"},
         {"host": "wk1", "name": "node3", "role": "worker"}]


def test_join_plan_fresh_cluster():
    plan = mk.join_plan(mk.parse_nodes(fixture("nodes-single.json")), HOSTS)
    assert plan["members"] == ["cp1"]
    assert plan["joiners"] == [{"host": "cp2", "name": "node2", "role": "control-plane"},
                               {"host": "wk1", "name": "node3", "role": "worker"}]
    assert plan["high_availability"] is False


def test_join_plan_members_left_alone():
    plan = mk.join_plan(mk.parse_nodes(fixture("nodes-three.json")), HOSTS)
    assert plan["joiners"] == [] and plan["members"] == ["cp1", "cp2", "wk1"]
    assert plan["role_mismatch"] == [] and plan["foreign"] == []


def test_join_plan_role_mismatch_and_foreign():
    hosts = [{"host": "cp1", "name": "NODE1", "role": "control-plane"}, {"host": "x", "name": "node3", "role": "control-plane"}]
    plan = mk.join_plan(mk.parse_nodes(fixture("nodes-three.json")), hosts)
    assert plan["role_mismatch"] == [{"host": "x", "name": "node3", "inventory": "control-plane", "cluster": "worker"}]
    assert plan["foreign"] == ["node2"]
    # the other way round: a control-plane node that the inventory calls a worker
    hosts = [{"host": "cp1", "name": "node1", "role": "control-plane"}, {"host": "y", "name": "node2", "role": "worker"}]
    plan = mk.join_plan(mk.parse_nodes(fixture("nodes-three.json")), hosts)
    assert plan["role_mismatch"] == [{"host": "y", "name": "node2", "inventory": "worker", "cluster": "control-plane"}]


@pytest.mark.parametrize("hosts,match", [
    ([{"host": "w", "name": "n1", "role": "worker"}], "at least one control-plane"),
    ([{"host": "a", "name": "n1"}, {"host": "b", "name": "n1"}], "used by two hosts"),
    ([{"host": "a", "name": "n1", "role": "master"}], "must be one of"),
])
def test_join_plan_rejects(hosts, match):
    with pytest.raises(Microk8sError, match=match):
        mk.join_plan([], hosts)


# --- calico -------------------------------------------------------------------------------
def test_calico_ready_on_every_node():
    pods = mk.parse_calico_pods(fixture("calico-pods-ready.json"))
    assert [(p["node"], p["phase"], p["ready"]) for p in pods] == [
        ("node1", "Running", True), ("node2", "Running", True), ("node3", "Running", True)]
    assert mk.calico_check(pods, ["node1", "node2", "node3"])["ok"] is True


def test_calico_partial():
    pods = mk.parse_calico_pods(fixture("calico-pods-partial.json"))
    check = mk.calico_check(pods, ["node1", "node2", "node3"])
    assert not check["ok"]
    assert check["missing"] == ["node3"]
    assert check["not_ready"] == ["node2 (calico-node-b4m9q Pending)"]
    assert "NetworkPolicies are ignored" in check["message"]


def test_calico_none():
    check = mk.calico_check(mk.parse_calico_pods(fixture("calico-pods-none.json")), ["node1"])
    assert check["missing"] == ["node1"] and not check["ok"]


# --- resolution, kubeconfig, cni.yaml -------------------------------------------------------
def test_resolution():
    out = fixture("getent-hosts.txt")
    assert mk.parse_getent_hosts(out) == ["192.0.2.11"]
    assert mk.resolution_problem("cp1", "node1", "192.0.2.11", 0, out) is None
    msg = mk.resolution_problem("cp1", "node1", "192.0.2.12", 0, out)
    assert "resolves to 192.0.2.11" in msg and "'192.0.2.12 node1' to /etc/hosts" in msg
    assert "does not resolve" in mk.resolution_problem("cp1", "node9", "192.0.2.19", 2, "")


def test_rewrite_kubeconfig_server():
    text, count = mk.rewrite_kubeconfig_server(fixture("client.config"), "198.51.100.10")
    assert count == 1
    assert "    server: https://198.51.100.10:16443\n" in text
    assert yaml.safe_load(text)["clusters"][0]["cluster"]["server"] == "https://198.51.100.10:16443"
    text6 = mk.rewrite_kubeconfig_server(fixture("client.config"), "2001:db8::10", 16443)[0]
    assert "server: https://[2001:db8::10]:16443" in text6
    with pytest.raises(Microk8sError, match="no 'server:'"):
        mk.rewrite_kubeconfig_server("apiVersion: v1\n", "192.0.2.1")


def test_set_ip_autodetection_on_microk8s_cni_yaml():
    text = fixture("cni-calico-node-env.yaml")
    new, old = mk.set_ip_autodetection(text, "interface=eth1")
    assert old == "first-found"
    assert '- name: IP_AUTODETECTION_METHOD\n              value: "interface=eth1"\n' in new
    again, old2 = mk.set_ip_autodetection(new, "interface=eth1")
    assert again == new and old2 == "interface=eth1"
    # what MicroK8s' own patch_cni() leaves after a join is replaced as well
    patched = text.replace("first-found", "can-reach=192.0.2.11")
    assert mk.set_ip_autodetection(patched, "cidr=192.0.2.0/24")[1] == "can-reach=192.0.2.11"


@pytest.mark.parametrize("bad", ["eth1", "interface=", "cidr=300.0.0.0/8", "can-reach"])
def test_validate_ip_autodetection_rejects(bad):
    with pytest.raises(Microk8sError, match="microk8s_calico_ip_autodetection"):
        mk.validate_ip_autodetection(bad)


def test_role_uses_the_tested_autodetection_regex():
    """The role edits cni.yaml with ansible.builtin.replace: it must use the regex tested here."""
    with open(os.path.join(ROOT, "roles", "microk8s", "tasks", "calico.yml"), encoding="utf-8") as handle:
        tasks = yaml.safe_load(handle)
    regexps = [t["ansible.builtin.replace"]["regexp"] for t in tasks if "ansible.builtin.replace" in t]
    assert regexps == [mk.IP_AUTODETECTION_RE]
    assert re.search(regexps[0], fixture("cni-calico-node-env.yaml"))


def test_fixtures_are_json_where_kubectl_prints_json():
    for name in ("nodes-single.json", "nodes-three.json", "calico-pods-ready.json", "add-node.json"):
        json.loads(fixture(name))


def _calico_pod(node, phase="Running", ready="True", containers=(True,)):
    return {"metadata": {"name": "calico-node-" + node}, "spec": {"nodeName": node},
            "status": {"phase": phase, "conditions": [{"type": "Ready", "status": ready}],
                       "containerStatuses": [{"name": "c%d" % i, "ready": r} for i, r in enumerate(containers)]}}


@pytest.mark.parametrize("pod, ready", [
    (_calico_pod("node1"), True),
    (_calico_pod("node1", ready="False"), False),                 # the pod's Ready condition is False
    (_calico_pod("node1", containers=(True, False)), False),      # one container of two not ready
    (_calico_pod("node1", containers=()), False),                 # no container status yet
    (_calico_pod("node1", phase="Pending"), False),               # Ready but not Running
])
def test_calico_counted_ready_only_when_its_pod_is(pod, ready):
    """Each not-ready shape written out: Calico is never counted ready when its pod is not."""
    text = json.dumps({"apiVersion": "v1", "kind": "PodList", "items": [pod]})
    check = mk.calico_check(mk.parse_calico_pods(text), ["node1"])
    assert check["ok"] is ready
    assert check["not_ready"] == ([] if ready else ["node1 (calico-node-node1 %s)" % pod["status"]["phase"]])


def test_unreadable_kubectl_output_is_one_message_quoting_it():
    """Not JSON (a kubectl error on stdout): one message naming the command and quoting what came back."""
    with pytest.raises(Microk8sError) as caught:
        mk.parse_calico_pods("error: the server doesn't have a resource type \"pods\"")
    assert str(caught.value) == ("cannot read the output of 'microk8s kubectl get pods -o json': "
                                 "'error: the server doesn\\'t have a resource type \"pods\"'")
    # at most the first 200 characters of it
    with pytest.raises(Microk8sError) as caught:
        mk.parse_calico_pods("x" * 199 + "yz")
    assert str(caught.value) == "cannot read the output of 'microk8s kubectl get pods -o json': '%sy'" % ("x" * 199)


def test_a_user_without_permission_is_told_to_use_become():
    text = ("Insufficient permissions to access MicroK8s.\nYou can either try again with sudo or add the user ubuntu "
            "to the 'microk8s' group:\n")
    with pytest.raises(Microk8sError) as err:
        mk.parse_status(text, rc=1, host="node1")
    assert str(err.value) == ("the user running the play on node1 may not use MicroK8s: run the role with become: "
                              "true, or add that user to the 'microk8s' group (microk8s_users)")


def test_parse_snap_list_without_a_tracking_column_and_a_short_line():
    text = ("Name      Version  Rev   Publisher   Notes\n"
            "microk8s  v1.31.9  8148  canonical   held,classic\n"
            "core20    20240111 2105  canonical   base\n")
    assert mk.parse_snap_list(text) == {
        "microk8s": {"name": "microk8s", "version": "v1.31.9", "revision": "8148", "tracking": "-",
                     "publisher": "canonical", "notes": ["held", "classic"]},
        "core20": {"name": "core20", "version": "20240111", "revision": "2105", "tracking": "-",
                   "publisher": "canonical", "notes": ["base"]}}
    with pytest.raises(Microk8sError) as err:
        mk.parse_snap_list("Name  Version  Rev  Tracking  Publisher  Notes\nmicrok8s  v1.31.9  8148  1.31/stable  -\n")
    assert str(err.value) == "cannot read the output of 'snap list': line 'microk8s  v1.31.9  8148  1.31/stable  -'"
    with pytest.raises(Microk8sError) as err:
        mk.parse_snap_list("Snap  Version\n")
    assert str(err.value) == "cannot read the output of 'snap list': unexpected header 'Snap  Version'"
    assert mk.parse_snap_list("\n  \n") == {}


def test_a_sideloaded_snap_is_left_alone_and_an_absent_one_installed():
    text = "Name      Version  Rev   Tracking  Publisher  Notes\nmicrok8s  v1.31.9  x1    -         -          -\n"
    assert mk.snap_plan(text, "1.31") == {
        "installed": True, "action": "none", "wanted_channel": "1.31/stable", "channel": None, "version": "v1.31.9",
        "revision": "x1", "held": False, "classic": False}
    other = "Name   Version  Rev  Tracking       Publisher  Notes\ncore20 20240111 2105 latest/stable canonical  base\n"
    assert mk.snap_plan(other, "1.31")["action"] == "install"
    assert mk.snap_plan("", "1.31", list_rc=1, list_stderr="No snaps are installed yet.")["action"] == "install"
    with pytest.raises(Microk8sError) as err:
        mk.snap_plan("", "1.31", list_rc=2, list_stderr="  ")
    assert str(err.value) == "'snap list microk8s' failed: exit 2"


@pytest.mark.parametrize("text, message", [
    (mk.LOW_MEMORY_TEXT + ".\n",
     "MicroK8s on cp1 refuses to run the control plane (low-memory guard): join it as a worker (microk8s_role: "
     "worker) or give it more RAM and run 'microk8s start --disable-low-memory-guard' there"),
    ("microk8s is running\nhigh-availability: no\n" + mk.WORKER_TEXT,
     "cp1 is a MicroK8s worker node: it has no cluster status of its own; read the status on a control-plane node "
     "(the first host of microk8s_cluster_hosts)"),
    ("something else entirely", "cannot read the output of 'microk8s status --format yaml' on cp1 (exit 3): "
                                "'something else entirely'"),
])
def test_status_outputs_without_a_status_are_one_whole_message(text, message):
    with pytest.raises(Microk8sError) as err:
        mk.parse_status(text, 3, host="cp1")
    assert str(err.value) == message
    assert mk.cli_failure(["microk8s", "status"], 3, text, "", host="cp1") == (
        message if "exit 3" not in message else "'microk8s status' failed (exit 3): something else entirely")


def test_the_same_addon_in_two_repositories_is_kept_under_both_names():
    text = yaml.safe_dump({"microk8s": {"running": True}, "high-availability": {"enabled": False},
                           "addons": [{"name": "dns", "repository": "core", "status": "enabled", "version": None},
                                      {"name": "dns", "repository": "community", "status": "disabled", "version": 2},
                                      {"status": "enabled"}, "not an addon"]})
    addons = mk.parse_status(text)["addons"]
    core = {"status": "enabled", "repository": "core", "version": "", "description": ""}
    community = {"status": "disabled", "repository": "community", "version": "2", "description": ""}
    assert addons == {"dns": community, "core/dns": core, "community/dns": community}


@pytest.mark.parametrize("stdout, hint", [
    ("Contacting cluster at 192.0.2.1\nInvalid token", " The token was used or has expired: re-run the play, a new "
                                                       "one is issued for each join."),
    ("Could not verify the identity of 192.0.2.1", " The first node's certificate changed since the token was "
                                                   "issued: re-run the play."),
    ("Connection refused", " Open TCP 25000 (cluster agent), 16443 (API server) and 19001 (dqlite) between the nodes."),
    ("timed out", " Open TCP 25000 (cluster agent), 16443 (API server) and 19001 (dqlite) between the nodes."),
    ("the address is not reachable", " Open TCP 25000 (cluster agent), 16443 (API server) and 19001 (dqlite) between "
                                     "the nodes."),
    ("something else", ""),
])
def test_join_failure_gives_one_hint_per_reason(stdout, hint):
    reason = stdout.replace("Contacting cluster at 192.0.2.1\n", "")
    assert mk.join_failure(1, stdout, "") == "microk8s join failed (exit 1): %s%s" % (reason, hint)


def test_join_failure_without_output_and_with_waiting_lines_only():
    assert mk.join_failure(2, "Waiting for this node to finish joining\n", None) == (
        "microk8s join failed (exit 2): no output")


def test_kubectl_output_that_is_json_but_not_a_list():
    with pytest.raises(Microk8sError) as err:
        mk.parse_nodes('{"kind": "Node"}')
    assert str(err.value) == "'microk8s kubectl get nodes -o json' did not return a List"
    with pytest.raises(Microk8sError) as err:
        mk.parse_nodes('[]')
    assert str(err.value) == "'microk8s kubectl get nodes -o json' did not return a List"


def test_a_node_without_a_ready_condition_is_not_ready():
    nodes = mk.parse_nodes(json.dumps({"items": [{"metadata": {"name": "n1"},
                                                  "status": {"conditions": [{"type": "MemoryPressure", "status": "True"}],
                                                             "addresses": [{"type": "Hostname", "address": "n1"}]}}]}))
    assert [(n["name"], n["address"], n["ready"]) for n in nodes] == [("n1", None, False)]


def test_join_plan_refuses_a_host_without_a_node_name():
    with pytest.raises(Microk8sError) as err:
        mk.join_plan([], [{"host": "cp1", "name": "", "role": "control-plane"}])
    assert str(err.value) == "cp1: microk8s_node_name is empty"


def test_cluster_ready_names_missing_and_not_ready_nodes_whole():
    nodes = [{"name": "n1", "address": "192.0.2.1", "ready": False, "schedulable": True, "role": "control-plane"}]
    result = mk.cluster_ready(nodes, [], expected=["n1", "n2", "n3"])
    assert result["ok"] is False
    assert result["message"] == (
        "not in the cluster: n2, n3 (did the join fail? see 'microk8s kubectl get nodes' on the first node) "
        "not Ready: n1 (see 'microk8s kubectl describe node NAME') "
        "Calico is not running on every node (no calico-node pod on n1): NetworkPolicies are ignored without it. "
        "Check 'microk8s kubectl -n kube-system describe ds/calico-node' and that no other CNI (e.g. the flannel of "
        "'microk8s disable ha-cluster') replaced it.")
    pods = [{"node": "N1", "name": "calico-node-a", "phase": "Pending", "ready": False},
            {"node": "n1", "name": "calico-node-b", "phase": "Running", "ready": False}]
    assert mk.calico_check(pods, ["n1"])["not_ready"] == ["n1 (calico-node-a Pending, calico-node-b Running)"]
    # a pod whose node stopped answering keeps its last Ready condition: its phase is Unknown, and it does not count
    stale = [{"node": "n1", "name": "calico-node-c", "phase": "Unknown", "ready": True},
             {"node": "n1", "name": "calico-node-d", "phase": "Succeeded", "ready": True}]
    assert mk.calico_check(stale, ["n1"])["not_ready"] == ["n1 (calico-node-c Unknown, calico-node-d Succeeded)"]
    assert mk.calico_check([], [])["message"] == (
        "Calico is not running on every node (no nodes): NetworkPolicies are ignored without it. Check "
        "'microk8s kubectl -n kube-system describe ds/calico-node' and that no other CNI (e.g. the flannel of "
        "'microk8s disable ha-cluster') replaced it.")


def test_kubeconfig_server_of_a_name_and_cni_yaml_without_autodetection():
    text, count = mk.rewrite_kubeconfig_server("clusters:\n- cluster:\n    server: https://127.0.0.1:16443\n  name: a\n",
                                               "cp1.lan")
    assert (text, count) == ("clusters:\n- cluster:\n    server: https://cp1.lan:16443\n  name: a\n", 1)
    with pytest.raises(Microk8sError) as err:
        mk.rewrite_kubeconfig_server("clusters: []\n", "192.0.2.1")
    assert str(err.value) == "the kubeconfig from 'microk8s config' has no 'server:' line"
    with pytest.raises(Microk8sError) as err:
        mk.set_ip_autodetection("kind: DaemonSet\n", "first-found")
    assert str(err.value) == "cni.yaml has no IP_AUTODETECTION_METHOD for calico-node: is the CNI Calico?"
    assert mk.validate_ip_autodetection(" first-found ") == "first-found"
    with pytest.raises(Microk8sError) as err:
        mk.validate_ip_autodetection("cidr=192.0.2.0/24, nope")
    assert str(err.value) == "microk8s_calico_ip_autodetection: ' nope' is not a CIDR"
    with pytest.raises(Microk8sError) as err:
        mk.validate_ip_autodetection("interface=")
    assert str(err.value) == (
        "microk8s_calico_ip_autodetection: 'interface=' is not a Calico autodetection method; use interface=eth1, "
        "can-reach=192.0.2.1, cidr=192.0.2.0/24, skip-interface=..., first-found or kubernetes-internal-ip")
