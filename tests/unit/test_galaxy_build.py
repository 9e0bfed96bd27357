# -*- coding: utf-8 -*-
"""The tarball `ansible-galaxy collection build` makes holds what runs, not the tests, the lab or the tooling."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def test_the_tarball_holds_the_collection_and_nothing_of_development(tmp_path):
    env = dict(os.environ, ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-galaxy"), "collection", "build",
                           "--output-path", str(tmp_path), ROOT], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    galaxy = yaml.safe_load(open(os.path.join(ROOT, "galaxy.yml"), encoding="utf-8"))
    tarball = tmp_path / ("%s-%s-%s.tar.gz" % (galaxy["namespace"], galaxy["name"], galaxy["version"]))
    with tarfile.open(tarball) as tar:
        names = set(tar.getnames())
    tops = {name.split("/")[0] for name in names}
    assert tops == {"LICENSE", "README.md", "CHANGELOG.rst", "MANIFEST.json", "FILES.json", "changelogs", "docs",
                    "inventories", "meta", "playbooks", "plugins", "roles"}, sorted(tops)
    for kept in ("LICENSE", "meta/runtime.yml", "meta/execution-environment.yml", "meta/ee-requirements.txt",
                 "meta/ee-bindep.txt", "plugins/filter/plan.py", "plugins/module_utils/_model/plan.py",
                 "playbooks/site.yml", "roles/zones/tasks/plan.yml", "inventories/example/hosts.yml"):
        assert kept in names, kept
    for left_out in ("tests", "molecule", "tools", "inventories/lab", "roles/lab_node", "Makefile", "ansible.cfg",
                     "requirements.txt", "bindep.txt", ".ansible-lint", ".ci", "changelogs/fragments", "build", ".venv"):
        assert not any(n == left_out or n.startswith(left_out + "/") for n in names), left_out
    with open(os.path.join(ROOT, "LICENSE"), encoding="utf-8") as handle:
        assert "GNU GENERAL PUBLIC LICENSE" in handle.read(200) and "GPL-3.0-or-later" in galaxy["license"]
