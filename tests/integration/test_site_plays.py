# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which hosts each play of playbooks/site.yml targets, on the example and the lab inventories, and that
listing them warns about nothing (the lab's stand-in play on an inventory without a lab_nodes group)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
STANDIN = "Lab - a stand-in cluster node (no Kubernetes here)"


def _list_hosts(inventory):
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i",
           os.path.join(ROOT, "inventories", inventory), os.path.join(ROOT, "playbooks", "site.yml"), "--list-hosts"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    plays = {}
    for block in re.split(r"\n\s*play #\d+ ", proc.stdout)[1:]:
        name = re.match(r"\((.*?)\): (.+?)\tTAGS", block).group(2)
        plays[name] = re.findall(r"^\s{6}(\S+)$", block, re.M)
    return proc, plays


@pytest.mark.parametrize("inventory, standin", [("example", []), ("lab", ["lab-node-1"])])
def test_the_standin_play_targets_the_lab_nodes_without_a_warning(inventory, standin):
    proc, plays = _list_hosts(inventory)
    assert "WARNING" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    assert plays[STANDIN] == standin
    assert plays["Load balancer - HAProxy with a WAF"], plays
