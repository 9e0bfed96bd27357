#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench`: run the benchmarks and write their figures into one page, docs/benchmarks.md.

Each ``tests/bench/bench_*.py`` given runs in turn with this Python (its output shown live); when it ends, its
section of the page is replaced by what it printed, headed by the date (UTC), the machine (CPU, cores, memory,
kernel, OS, the load average when it started: the development machine is shared), the exact command, the
commit and the exit status.  The sections of the benchmarks not run keep their last figures, each with its own
date, so ``make bench BENCHES=tests/bench/bench_core.py`` refreshes one section.  The page is never edited by
hand: every figure on it was printed by a benchmark.

Exits non-zero when a benchmark did (after running the others and writing their sections).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import shlex
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BEGIN = "<!-- bench:%s -->"
END = "<!-- /bench:%s -->"
HEAD = """# Benchmarks

Written by `make bench` (`tools/bench_page.py`), never by hand: each section below is what one
`tests/bench/bench_*.py` printed, with the date, the machine, the command and the commit of its run.
`make bench` runs them all; `make bench BENCHES=tests/bench/bench_core.py` runs one and rewrites only its
section (so the sections may come from different runs: each says when and where it ran).  The figures are
measured side by side in one run and printed with their ratios; no test asserts on time.  What each benchmark
measures and how: the docstring at the top of its file.

The development machine is shared (2 cores, other jobs running): the load average when a benchmark started is
recorded with it, and ratios measured side by side in one run are steadier than the absolute figures.
"""


def _read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return ""


def machine():
    """One line that says where the figures were measured."""
    cpu = re.search(r"^model name\s*:\s*(.+)$", _read("/proc/cpuinfo"), re.M)
    mem = re.search(r"^MemTotal:\s*(\d+) kB", _read("/proc/meminfo"), re.M)
    osname = re.search(r'^PRETTY_NAME="?([^"\n]+)"?', _read("/etc/os-release"), re.M)
    load = os.getloadavg()
    return "%s, %d cores, %.1f GiB memory, Linux %s, %s, Python %s; load average %.2f %.2f %.2f at the start" % (
        cpu.group(1).strip() if cpu else platform.processor() or "unknown CPU", os.cpu_count() or 0,
        int(mem.group(1)) / 1048576.0 if mem else 0.0, platform.release(), osname.group(1) if osname else "unknown OS",
        platform.python_version(), load[0], load[1], load[2])


def _commit():
    proc = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True, text=True,
                          check=False)
    return proc.stdout.strip() or "unknown"


def _summary(script):
    """The first line of the benchmark's docstring."""
    match = re.search(r'^"""(.+?)$', _read(script), re.M)
    return match.group(1).strip().rstrip(".") if match else ""


def run(script, args):
    """Run one benchmark, its output shown live and kept: (output, exit status, command, start, machine, end)."""
    command = [sys.executable, os.path.relpath(script, ROOT)] + args
    where = machine()
    start = datetime.datetime.now(datetime.timezone.utc)
    print("=== %s" % " ".join(shlex.quote(part) for part in command[1:]), flush=True)
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        lines.append(line)
    code = proc.wait()
    end = datetime.datetime.now(datetime.timezone.utc)
    return "".join(lines), code, command, start, where, end


def section(name, script, output, code, command, start, where, end):
    shown = "python " + " ".join(shlex.quote(part) for part in command[1:])
    minutes = (end - start).total_seconds() / 60.0
    status = "exit status 0" if code == 0 else "**exit status %d** (the benchmark failed; its output is below)" % code
    return "\n".join([
        BEGIN % name,
        "## %s" % name,
        "",
        _summary(script) + ".",
        "",
        "- date: %s (%.1f min)" % (start.strftime("%Y-%m-%d %H:%M UTC"), minutes),
        "- machine: %s" % where,
        "- command: `%s` (from `make bench`), commit %s, %s" % (shown, _commit(), status),
        "",
        "```",
        output.rstrip("\n"),
        "```",
        END % name,
    ])


def update(page, name, text, order):
    """The page with the section ``name`` replaced by ``text`` (added in ``order`` when it is new)."""
    content = _read(page)
    sections = {}
    for match in re.finditer(r"<!-- bench:([\w.]+) -->.*?<!-- /bench:\1 -->", content, re.S):
        sections[match.group(1)] = match.group(0)
    sections[name] = text
    names = [n for n in order if n in sections] + sorted(n for n in sections if n not in order)
    missing = [n for n in order if n not in sections]
    note = ("Not measured yet by `make bench` (no figures of theirs on this page): %s.\n\n"
            % ", ".join("`%s`" % n for n in missing)) if missing else ""
    with open(page, "w", encoding="utf-8") as handle:
        handle.write(HEAD + "\n" + note + "\n\n".join(sections[n] for n in names) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--page", default=os.path.join(ROOT, "docs", "benchmarks.md"))
    parser.add_argument("--args", action="append", default=[], metavar="BENCH=ARGS",
                        help="arguments for one benchmark, e.g. bench_zones.py='--sizes 20'")
    parser.add_argument("benches", nargs="+")
    options = parser.parse_args()
    extra = {}
    for item in options.args:
        name, args = item.split("=", 1) if "=" in item else (item, "")
        extra[name] = shlex.split(args)
    order = sorted(name for name in os.listdir(os.path.join(ROOT, "tests", "bench")) if re.fullmatch(r"bench_\w+\.py", name))
    failed = []
    for script in options.benches:
        name = os.path.basename(script)
        output, code, command, start, where, end = run(script, extra.get(name, []))
        update(options.page, name, section(name, script, output, code, command, start, where, end), order)
        if code != 0:
            failed.append(name)
    print("make bench: figures written to %s%s" % (options.page, "; failed: " + ", ".join(failed) if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
