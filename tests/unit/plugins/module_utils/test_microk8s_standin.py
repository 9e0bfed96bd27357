# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The molecule stand-ins print what the fixtures (real formats) print, so the scenario tests the real parsing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.netzone.segmentation.plugins.module_utils import microk8s as mk

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
