# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The changelog can be released as the version galaxy.yml says (0.1.0), and the fragments written after that
release go into the next one.

The release is made on a copy of the collection (``antsibull-changelog release``, as docs/releasing.md says),
never on the checkout: the fragments stay until the release is cut.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.dirname(sys.executable)


def _changelog(cwd, *args):
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([os.path.join(BIN, "antsibull-changelog")] + list(args), cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _fragments():
    folder = os.path.join(ROOT, "changelogs", "fragments")
    return {name: _load(os.path.join(folder, name)) for name in sorted(os.listdir(folder)) if name.endswith(".yml")}


def test_the_fragments_and_the_changelog_file_are_valid():
    _changelog(ROOT, "lint")
    _changelog(ROOT, "lint-changelog-yaml", os.path.join("changelogs", "changelog.yaml"))
    # Nothing released yet: what the fragments say is the first release, the version galaxy.yml names.
    assert _load(os.path.join(ROOT, "changelogs", "changelog.yaml"))["releases"] == {}
    assert _load(os.path.join(ROOT, "galaxy.yml"))["version"] == "0.1.0"


def test_release_0_1_0_then_the_next_fragments_go_to_0_2_0(tmp_path):
    copy = tmp_path / "ansible_collections" / "netzone" / "segmentation"
    copy.mkdir(parents=True)
    for part in ("galaxy.yml", "changelogs", "plugins", "roles", "meta", "playbooks", "README.md", "CHANGELOG.rst"):
        source = os.path.join(ROOT, part)
        (shutil.copytree if os.path.isdir(source) else shutil.copy)(source, copy / part)
    fragments = _fragments()
    _changelog(copy, "release", "--version", "0.1.0", "--date", "2026-12-06")

    released = _load(copy / "changelogs" / "changelog.yaml")["releases"]
    assert list(released) == ["0.1.0"]
    changes = released["0.1.0"]["changes"]
    for name, content in fragments.items():
        for section, entries in content.items():
            if section == "trivial":  # never in the changelog, by design
                continue
            for entry in ([entries] if isinstance(entries, str) else entries):
                assert entry in (changes[section] if section != "release_summary" else [changes[section]]), \
                    (name, section, entry)
    assert os.listdir(copy / "changelogs" / "fragments") == []  # consumed by the release
    plugins = {plugin["name"] for kind in released["0.1.0"].get("plugins", {}).values() for plugin in kind}
    modules = {module["name"] for module in released["0.1.0"].get("modules", [])}
    assert {"plan", "lb_settings", "matrix"} <= plugins, plugins
    assert {"zone_policies", "render", "cluster_guard"} <= modules, modules
    rst = (copy / "CHANGELOG.rst").read_text(encoding="utf-8")
    assert "\nv0.1.0\n======\n" in rst
    assert "Unreleased changes" not in rst

    # The next version: galaxy.yml moves on, a new fragment goes into it and 0.1.0 stays as released.
    galaxy = (copy / "galaxy.yml").read_text(encoding="utf-8").replace("\nversion: 0.1.0\n", "\nversion: 0.2.0\n")
    (copy / "galaxy.yml").write_text(galaxy, encoding="utf-8")
    (copy / "changelogs" / "fragments" / "next.yml").write_text(
        "---\nbugfixes:\n  - next - a fix after 0.1.0.\n", encoding="utf-8")
    _changelog(copy, "release", "--date", "2026-12-20")
    again = _load(copy / "changelogs" / "changelog.yaml")["releases"]
    assert list(again) == ["0.1.0", "0.2.0"]
    assert again["0.1.0"] == released["0.1.0"]
    assert again["0.2.0"]["changes"] == {"bugfixes": ["next - a fix after 0.1.0."]}
    rst = (copy / "CHANGELOG.rst").read_text(encoding="utf-8")
    assert rst.index("\nv0.2.0\n======\n") < rst.index("\nv0.1.0\n======\n")
