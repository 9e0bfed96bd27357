#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make compat`: the unit tests on other Pythons and ansible-cores than the pinned ones.

Each target is ``PYTHON:ANSIBLE_CORE`` (``3.10:2.17.0``): a venv under ``build/compat/`` made with uv (itself
installed from PyPI into ``build/uv`` when it is not on the PATH), with that ansible-core, the collection's
run-time requirements (``meta/ee-requirements.txt``) and the test packages of ``requirements.txt``, their pins
taken as upper bounds (hypothesis and pytest dropped Python 3.10 in later releases); then ``pytest tests/unit``
in it.  The interpreter is the first that answers of: ``pythonX.Y`` on the PATH,
pyenv's ``versions/X.Y.*``, uv's own (``uv python find``), else ``uv python install X.Y`` (needs GitHub).

Prints one line per target (Python, ansible-core, the pytest summary, seconds) and fails when any target
fails.  A venv is reused while its requirements do not change.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BUILD = os.path.join(ROOT, "build")
UV_VERSION = "0.13.9"
# The test packages of requirements.txt the unit tests import (the rest is lint, molecule and the pinned core).
TEST_PACKAGES = ("pytest", "hypothesis", "kubernetes-validate", "cel-python", "jmespath", "PyYAML", "antsibull-changelog")


def _uv():
    found = shutil.which("uv")
    if found:
        return found
    uv = os.path.join(BUILD, "uv", "bin", "uv")
    if not os.path.exists(uv):
        subprocess.run([sys.executable, "-m", "venv", os.path.join(BUILD, "uv")], check=True)
        subprocess.run([os.path.join(BUILD, "uv", "bin", "python"), "-m", "pip", "install", "-q",
                        "uv==%s" % UV_VERSION], check=True)
    return uv


def _answers(python, version):
    try:
        out = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=60, check=False)
    except OSError:
        return False
    return out.returncode == 0 and out.stdout.strip() == version


def _interpreter(uv, version):
    candidates = [shutil.which("python" + version)]
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates += sorted(glob.glob(os.path.join(pyenv_root, "versions", version + ".*", "bin", "python" + version)),
                         reverse=True)
    for python in candidates:
        if python and _answers(python, version):
            return python
    for attempt in ("find", "install"):
        if attempt == "install":
            subprocess.run([uv, "python", "install", version], check=False)
        out = subprocess.run([uv, "python", "find", "--no-project", version], capture_output=True, text=True,
                             check=False)
        if out.returncode == 0 and _answers(out.stdout.strip(), version):
            return out.stdout.strip()
    raise SystemExit("make compat: no Python %s here (PATH, pyenv, uv) and `uv python install %s` failed"
                     % (version, version))


def _requirements(core):
    lines = ["ansible-core==%s" % core]
    with open(os.path.join(ROOT, "meta", "ee-requirements.txt"), encoding="utf-8") as handle:
        lines += [line.split("#")[0].strip() for line in handle if line.split("#")[0].strip()]
    with open(os.path.join(ROOT, "requirements.txt"), encoding="utf-8") as handle:
        for line in handle:
            spec = line.split("#")[0].strip()
            name = re.split(r"[<>=!~\[ ]", spec, maxsplit=1)[0]
            if name.lower() in {p.lower() for p in TEST_PACKAGES}:
                # The pin as an upper bound: an older Python gets the newest release that supports it.
                lines.append(spec.replace("==", "<=", 1))
    return "\n".join(lines) + "\n"


def _venv(uv, version, core):
    venv = os.path.join(BUILD, "compat", "py%s-core%s" % (version, core))
    requirements = _requirements(core)
    digest = hashlib.sha256(requirements.encode()).hexdigest()
    stamp = os.path.join(venv, ".compat-stamp")
    if os.path.exists(stamp):
        with open(stamp, encoding="utf-8") as handle:
            if handle.read() == digest:
                return venv
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([uv, "venv", "-q", "--python", _interpreter(uv, version), venv], check=True)
    path = os.path.join(venv, "compat-requirements.txt")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(requirements)
    proc = subprocess.run([uv, "pip", "install", "-q", "--python", os.path.join(venv, "bin", "python"), "-r", path],
                          check=False)
    if proc.returncode != 0:
        raise SystemExit("make compat: cannot install %s into %s (see uv's message above)" % (path, venv))
    with open(stamp, "w", encoding="utf-8") as handle:
        handle.write(digest)
    return venv


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("targets", nargs="+", help="PYTHON:ANSIBLE_CORE, e.g. 3.10:2.17.0")
    parser.add_argument("--tests", default="tests/unit", help="what pytest runs (default: tests/unit)")
    args = parser.parse_args()
    uv = _uv()
    results = []
    for target in args.targets:
        version, core = target.split(":", 1)
        venv = _venv(uv, version, core)
        python = os.path.join(venv, "bin", "python")
        env = dict(os.environ, PYTHONPATH=os.path.join(BUILD, "collections"), HYPOTHESIS_PROFILE="ci",
                   PATH=os.path.join(venv, "bin") + os.pathsep + os.environ.get("PATH", ""))
        env.pop("ANSIBLE_COLLECTIONS_PATH", None)
        actual = subprocess.run([python, "-c", "import sys, ansible; print('%d.%d.%d' % sys.version_info[:3], "
                                 "ansible.__version__)"], capture_output=True, text=True, env=env, check=True)
        print("=== %s: Python %s, ansible-core %s" % (target, *actual.stdout.split()), flush=True)
        listed = subprocess.run([uv, "pip", "freeze", "--python", python], capture_output=True, text=True, check=False)
        wanted = {p.lower() for p in TEST_PACKAGES}
        print("    " + " ".join(line for line in listed.stdout.split() if line.split("==")[0].lower() in wanted),
              flush=True)
        start = time.monotonic()
        proc = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", args.tests], cwd=ROOT, env=env,
                              capture_output=True, text=True, check=False)
        seconds = time.monotonic() - start
        summary = (proc.stdout.strip().splitlines() or ["(no output)"])[-1].strip("= ")
        if proc.returncode != 0:
            print(proc.stdout[-6000:] + proc.stderr[-2000:])
        results.append((actual.stdout.split(), summary, seconds, proc.returncode))
    print("\n%-8s %-13s %-8s %s" % ("Python", "ansible-core", "seconds", "unit tests (%s)" % args.tests))
    for (python, core), summary, seconds, _code in results:
        print("%-8s %-13s %-8.0f %s" % (python, core, seconds, summary))
    return 1 if any(result[-1] != 0 for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
