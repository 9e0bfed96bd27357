# -*- coding: utf-8 -*-
"""Writing a set of files at once: plan, write, prune what it wrote before, leave the rest alone."""

from __future__ import annotations

import os

import pytest

from ansible_collections.netzone.segmentation.plugins.module_utils._common import fileset
from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import InputError


def test_plan_write_and_prune(tmp_path):
    dest = tmp_path / "out"
    files = {"a.yaml": "a\n", "sub/b.yaml": "b\n"}
    assert fileset.plan(str(dest), files)["create"] == ["a.yaml", "sub/b.yaml"]
    fileset.write(str(dest), files)
    assert (dest / "sub" / "b.yaml").read_text() == "b\n"
    # readable by all whatever the umask (the index too): a report and manifests to publish
    assert {p.name: oct(p.stat().st_mode & 0o7777) for p in dest.rglob("*") if p.is_file()} == {
        "a.yaml": "0o644", "b.yaml": "0o644", ".netzone-files": "0o644"}
    assert fileset.plan(str(dest), files) == {"create": [], "update": [], "remove": [],
                                              "unchanged": ["a.yaml", "sub/b.yaml"]}
    (dest / "foreign.txt").write_text("mine")
    result = fileset.write(str(dest), {"a.yaml": "A\n"})
    assert result["update"] == ["a.yaml"] and result["remove"] == ["sub/b.yaml"]
    assert (dest / "a.yaml").read_text() == "A\n"
    assert not (dest / "sub" / "b.yaml").exists()
    assert (dest / "foreign.txt").read_text() == "mine"
    assert not [p for p in dest.iterdir() if p.name.startswith(".netzone-stage")]


@pytest.mark.parametrize("name", ["../escape", "/abs", "a/../b", "", ".netzone-files"])
def test_unsafe_names_write_nothing(tmp_path, name):
    dest = tmp_path / "out"
    with pytest.raises(InputError, match=r"^files: invalid file name"):
        fileset.write(str(dest), {"ok.yaml": "x", name: "y"})
    assert not dest.exists()


def test_every_file_gets_its_own_content_whatever_its_name_sorts_against_the_index(tmp_path):
    """Names that sort before the index's (``.netzone-files``) and after it each get their own content; the index
    lists them, sorted."""
    files = {"-early.yaml": "a: 1\n", ".hidden.yaml": "b: 2\n", "zz/late.yaml": "c: 3\n", "0.yaml": "d: 4\n"}
    fileset.write(str(tmp_path), files)
    for name, content in files.items():
        assert (tmp_path / name).read_text() == content, name
    assert (tmp_path / ".netzone-files").read_text() == "-early.yaml\n.hidden.yaml\n0.yaml\nzz/late.yaml\n"


def test_writing_the_same_files_again_touches_nothing(tmp_path):
    dest = tmp_path / "out"
    fileset.write(str(dest), {"a.yaml": "a\n"})
    before = {p.name: p.stat().st_mtime_ns for p in dest.iterdir()}
    again = fileset.write(str(dest), {"a.yaml": "a\n"})
    assert again == {"create": [], "update": [], "remove": [], "unchanged": ["a.yaml"]}
    assert {p.name: p.stat().st_mtime_ns for p in dest.iterdir()} == before


def test_a_stage_that_cannot_be_removed_does_not_fail_a_write_that_is_done(tmp_path, monkeypatch):
    """The files are in place before the empty stage is removed: if that removal fails (a file system that
    refuses, another cleanup racing), the write still succeeds."""
    real = os.rmdir

    def refuse_stage(path, *args, **kwargs):
        if ".netzone-stage-" in os.fspath(path):
            raise PermissionError(1, "Operation not permitted", os.fspath(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "rmdir", refuse_stage)
    dest = tmp_path / "out"
    result = fileset.write(str(dest), {"a.yaml": "a\n"})
    assert result["create"] == ["a.yaml"] and (dest / "a.yaml").read_text() == "a\n"
