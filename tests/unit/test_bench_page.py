# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tools/bench_page.py: what a benchmark printed goes into its own section of the page, with when, where and
how it ran; the other sections stay; a failing benchmark is recorded as failed and fails the run."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SPEC = importlib.util.spec_from_file_location("bench_page", os.path.join(ROOT, "tools", "bench_page.py"))
bench_page = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(bench_page)


def _bench(tmp_path, name, text, code=0):
    path = tmp_path / name
    path.write_text('"""Benchmark: %s."""\nimport sys\nprint(%r)\nsys.exit(%d)\n' % (name, text, code))
    return str(path)


def _page(tmp_path, *benches, args=()):
    page = tmp_path / "benchmarks.md"
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "bench_page.py"), "--page", str(page)]
                          + list(args) + list(benches), capture_output=True, text=True, timeout=120, check=False)
    return proc, page.read_text(encoding="utf-8")


def test_each_benchmark_gets_its_section_with_date_machine_command_and_output(tmp_path):
    first = _bench(tmp_path, "bench_a.py", "ratio a: 2.0")
    second = _bench(tmp_path, "bench_b.py", "ratio b: 3.0")
    proc, text = _page(tmp_path, first, second, args=["--args", "bench_b.py=--rounds 1"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ratio a: 2.0" in proc.stdout  # shown live too
    assert text.startswith("# Benchmarks\n\nWritten by `make bench`")
    section_a = text[text.index("<!-- bench:bench_a.py -->"):text.index("<!-- /bench:bench_a.py -->")]
    assert "Benchmark: bench_a.py." in section_a
    assert "- date: 20" in section_a and " UTC (" in section_a
    assert "- machine: " in section_a and " cores, " in section_a and "load average" in section_a
    assert "exit status 0" in section_a
    assert "```\nratio a: 2.0\n```" in section_a
    assert "bench_b.py --rounds 1` (from `make bench`)" in text
    assert text.index("bench:bench_a.py") < text.index("bench:bench_b.py")


def test_a_rerun_replaces_its_own_section_only_and_a_failure_is_recorded(tmp_path):
    first = _bench(tmp_path, "bench_a.py", "ratio a: 2.0")
    second = _bench(tmp_path, "bench_b.py", "ratio b: 3.0")
    _page(tmp_path, first, second)
    again = _bench(tmp_path, "bench_b.py", "ratio b: 9.0", code=3)
    proc, text = _page(tmp_path, again)
    assert proc.returncode == 1
    assert "failed: bench_b.py" in proc.stdout
    assert "ratio a: 2.0" in text  # kept from the first run
    assert "ratio b: 9.0" in text and "ratio b: 3.0" not in text
    assert "**exit status 3**" in text
    assert text.count("<!-- bench:bench_b.py -->") == 1


def test_the_page_of_the_repository_was_written_by_the_tool():
    with open(os.path.join(ROOT, "docs", "benchmarks.md"), encoding="utf-8") as handle:
        text = handle.read()
    assert text.startswith(bench_page.HEAD)
    names = sorted(name for name in os.listdir(os.path.join(ROOT, "tests", "bench")) if name.startswith("bench_"))
    for name in names:
        if "<!-- bench:%s -->" % name in text:
            section = text[text.index("<!-- bench:%s -->" % name):text.index("<!-- /bench:%s -->" % name)]
            assert "- date: " in section and "- machine: " in section and "- command: `python tests/bench/" \
                in section, name
