# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The molecule stand-ins print what the fixtures (real formats) print, so the scenario tests the real parsing."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.netzone.segmentation.plugins.module_utils._k8s import microk8s as mk

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
STANDIN = os.path.join(ROOT, "molecule", "microk8s", "standin")
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "microk8s")


def fixture(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return handle.read()


@pytest.fixture
def node(tmp_path):
    env = dict(os.environ, MICROK8S_STANDIN_ROOT=str(tmp_path), MICROK8S_STANDIN_NODE="node1",
               MICROK8S_STANDIN_ADDRESS="192.0.2.11")

    def call(prog, *args, **extra):
        proc = subprocess.run([sys.executable, os.path.join(STANDIN, prog + ".py")] + list(args),
                              env=dict(env, **extra), capture_output=True, text=True, check=False)
        return proc.returncode, proc.stdout, proc.stderr
    return call


def test_status_matches_the_status_py_fixture(node):
    assert node("snap", "install", "--classic", "--channel", "1.31/stable", "microk8s")[0] == 0
    rc, out, err = node("microk8s", "status", "--format", "yaml")
    assert rc == 0
    assert out == fixture("status-fresh.yaml")


def test_snap_list_parses_like_the_real_one(node):
    rc, out, err = node("snap", "list", "microk8s")
    assert rc == 1 and err.strip() == fixture("snap-list-not-installed.stderr").strip()
    node("snap", "install", "--classic", "--channel", "1.31/stable", "microk8s")
    node("snap", "refresh", "--hold=forever", "microk8s")
    rc, out, err = node("snap", "list", "microk8s")
    assert mk.parse_snap_list(out) == mk.parse_snap_list(fixture("snap-list-held.txt"))


def test_add_node_and_join(node):
    node("snap", "install", "--classic", "--channel", "1.31/stable", "microk8s")
    node("snap", "install", "--classic", "--channel", "1.31/stable", "microk8s", MICROK8S_STANDIN_NODE="node2",
         MICROK8S_STANDIN_ADDRESS="192.0.2.12")
    rc, out, err = node("microk8s", "add-node", "--format", "json")
    token = mk.parse_add_node(out)
    assert token == mk.parse_add_node(fixture("add-node.json"))
    rc, out, err = node("microk8s", "join", token["urls"][0], MICROK8S_STANDIN_NODE="node2")
    assert mk.join_succeeded(rc, out) and out == fixture("join-control-plane.txt")
    rc, out, err = node("microk8s", "join", token["urls"][0], MICROK8S_STANDIN_NODE="node2")
    assert (rc, out) == (6, fixture("join-invalid-token.txt"))
    rc, out, err = node("microk8s", "kubectl", "get", "nodes", "-o", "json")
    assert [(n["name"], n["address"], n["role"]) for n in mk.parse_nodes(out)] == [
        ("node1", "192.0.2.11", "control-plane"), ("node2", "192.0.2.12", "control-plane")]


def test_every_call_is_logged(node, tmp_path):
    node("snap", "list", "microk8s")
    node("snap", "version", MICROK8S_STANDIN_NODE="node2")
    with open(tmp_path / "calls.log", encoding="utf-8") as handle:
        log = [json.loads(line) for line in handle]
    assert log == [{"node": "node1", "prog": "snap", "argv": ["list", "microk8s"]},
                   {"node": "node2", "prog": "snap", "argv": ["version"]}]


def load_standin():
    spec = importlib.util.spec_from_file_location("microk8s_standin", os.path.join(STANDIN, "standin.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Nodes:
    """The stand-in's node states, in memory."""

    def __init__(self, nodes):
        self.nodes = dict((n["name"], n) for n in nodes)

    def node(self, name=None):
        return self.nodes[name or "node1"]


def state(name, address, **extra):
    return dict({"name": name, "installed": True, "address": address}, **extra)


@pytest.mark.parametrize("name,addons,members,ready", [
    ("status-fresh.yaml", ["dns", "ha-cluster", "helm", "helm3"], ["node1"], True),
    ("status-addons.yaml", ["dns", "ha-cluster", "helm", "helm3", "ingress", "metrics-server", "rbac"], ["node1"], True),
    ("status-ha-three.yaml", ["dns", "ha-cluster", "helm", "helm3", "ingress", "rbac"], ["node1", "node2", "node3"], True),
    ("status-no-ha.yaml", ["dns", "helm", "helm3"], ["node1"], True),
    ("status-not-ready.yaml", ["dns", "ha-cluster"], ["node1"], False),
    ("status-not-ready-no-ha.yaml", ["dns"], ["node1"], False),
])
def test_standin_status_is_the_fixture(name, addons, members, ready):
    standin = load_standin()
    nodes = Nodes([state("node1", "192.0.2.11", addons=addons, members=members),
                   state("node2", "192.0.2.12", cluster="node1"), state("node3", "192.0.2.13", cluster="node1")])
    assert standin.render_status(nodes, nodes.node("node1"), ready=ready) == fixture(name)


def test_standin_knows_the_current_core_addons():
    standin = load_standin()
    names = [a[0] for a in standin.ADDONS]
    assert len(names) == 23 and names == sorted(names)
    assert "dashboard" not in names  # removed from microk8s-core-addons in 1824e87e
    assert all(a[1] == "core" for a in standin.ADDONS)


# --- slowness: what molecule uses to run the role's waits and retries --------------------------
def test_slow_status_is_the_not_ready_fixture_until_its_polls_are_used(node):
    node("slow", "--defaults", "status_not_ready=3")
    node("snap", "install", "--classic", "--channel", "1.31/stable", "microk8s")
    rc, out, err = node("microk8s", "status", "--format", "yaml")
    assert (rc, out) == (1, fixture("status-not-ready.yaml"))
    assert mk.parse_status(out, rc)["state"] == "not-ready"
    rc, out, err = node("microk8s", "kubectl", "get", "nodes", "-o", "json")
    assert rc == 1 and "127.0.0.1:16443 was refused" in err
    # one poll left: --wait-ready --timeout 0 would wait for ever, --timeout 1 polls once (every 2 s)
    rc, out, err = node("microk8s", "status", "--format", "yaml", "--wait-ready", "--timeout", "1")
    assert rc == 1 and mk.parse_status(out, rc)["state"] == "not-ready"
    rc, out, err = node("microk8s", "status", "--format", "yaml", "--wait-ready", "--timeout", "1")
    assert (rc, out) == (0, fixture("status-fresh.yaml"))
    rc, out, err = node("slow", "node1", "--answers")
    assert json.loads(out) == {"status_not_ready": 3}


def test_slow_wait_ready_polls_every_two_seconds(node):
    node("slow", "--defaults", "status_not_ready=5")
    node("snap", "install", "--classic", "--channel", "1.31/stable", "microk8s")
    assert node("microk8s", "status", "--wait-ready", "--timeout", "8")[0] == 1  # 5 polls, all not ready
    assert node("microk8s", "status", "--wait-ready", "--timeout", "8")[:2] == (0, "microk8s is running\n")


def test_slow_nodes_and_calico_after_a_join(node):
    node("slow", "--defaults", "node_not_ready=2", "calico_not_ready=1")
    node("snap", "install", "--classic", "--channel", "1.31/stable", "microk8s")
    node("snap", "install", "--classic", "--channel", "1.31/stable", "microk8s", MICROK8S_STANDIN_NODE="node2",
         MICROK8S_STANDIN_ADDRESS="192.0.2.12")
    token = mk.parse_add_node(node("microk8s", "add-node", "--format", "json")[1])
    node("microk8s", "join", token["urls"][0], MICROK8S_STANDIN_NODE="node2")
    ready = []
    for poll in range(3):
        nodes = mk.parse_nodes(node("microk8s", "kubectl", "get", "nodes", "-o", "json")[1])
        pods = mk.parse_calico_pods(node("microk8s", "kubectl", "get", "pods", "-n", "kube-system", "-l",
                                         "k8s-app=calico-node", "-o", "json")[1])
        ready.append((poll, mk.cluster_ready(nodes, pods, ["node1", "node2"])["ok"]))
    # NotReady for two polls (node1 since its install, node2 since its join), calico-node not Ready for one
    assert ready == [(0, False), (1, False), (2, True)]


def test_slow_drain_fails_once_and_leaves_the_node_cordoned(node):
    node("slow", "--defaults", "drain_failures=1")
    node("snap", "install", "--classic", "--channel", "1.31/stable", "microk8s")
    rc, out, err = node("microk8s", "kubectl", "drain", "node1", "--ignore-daemonsets", "--timeout=300s")
    assert rc == 1 and "node/node1 cordoned" in out
    assert "would violate the pod's disruption budget" in err and 'unable to drain node "node1"' in err
    assert mk.parse_nodes(node("microk8s", "kubectl", "get", "nodes", "-o", "json")[1])[0]["schedulable"] is False
    rc, out, err = node("microk8s", "kubectl", "drain", "node1", "--ignore-daemonsets", "--timeout=300s")
    assert rc == 0 and "node/node1 drained" in out


def test_stopped_node_prints_the_stopped_fixture(node):
    node("snap", "install", "--classic", "--channel", "1.31/stable", "microk8s")
    node("slow", "node1", "stopped=true")
    assert node("microk8s", "status", "--format", "yaml")[:2] == (0, fixture("status-stopped.txt"))
    rc, out, err = node("microk8s", "kubectl", "get", "nodes", "-o", "json")
    assert (rc, err) == (1, fixture("status-stopped.txt"))
