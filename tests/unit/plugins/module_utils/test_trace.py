# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The step counter that the playbook test reads: one line per step, appended, and nothing when it is off."""

from __future__ import annotations

from ansible_collections.netzone.segmentation.plugins.module_utils._common import trace


def test_each_step_is_one_line_appended(tmp_path, monkeypatch):
    path = tmp_path / "trace"
    monkeypatch.setenv("NETZONE_TRACE_FILE", str(path))
    trace.count("normalise")
    trace.count("prove 100%")
    trace.count("normalise")
    assert path.read_text(encoding="utf-8") == "normalise\nprove 100%\nnormalise\n"


def test_off_without_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("NETZONE_TRACE_FILE", raising=False)
    monkeypatch.chdir(tmp_path)
    trace.count("normalise")
    assert list(tmp_path.iterdir()) == []
