#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mutation testing of the core with cosmic-ray (``make mutation``; not part of ``make test``).

    mutation.py [--sample N] [--seed S] [--timeout SECONDS]

Runs in cosmic-ray's own virtualenv (``build/cr-venv``, pinned in ``requirements-mutation.txt``) on a copy of
the tracked tree (``build/mutation/tree``, so the checkout is never touched), over ``matrix.py``,
``compile.py``, ``netpol_model.py``, ``evaluate.py``, ``evaluate_bulk.py`` and ``verify.py``.  Every mutant is
tested with the project's own venv against the unit tests of those modules (``-x``: the first failure kills
it) and the NetworkPolicy conformance cases (shared and own).

cosmic-ray writes every mutant it can make (tens of thousands: each operator is replaced by each other one),
far more than two cores test in an hour; with ``--sample N`` (default 150) a uniform random sample of N
mutants (``--seed``, default 1) is tested and the others are marked skipped.  It prints
``mutation score: X% (K killed of N)`` over the tested mutants, then each survivor with its diff.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
WORK = os.path.join(ROOT, "build", "mutation")
TREE = os.path.join(WORK, "tree")
PROJECT_PY = os.path.join(ROOT, ".venv", "bin", "python")
SHARED = os.environ.get("SHARED", os.path.abspath(os.path.join(ROOT, "..", "shared")))
MODULES = ["matrix", "compile", "netpol_model", "evaluate", "evaluate_bulk", "verify"]
TESTS = ["test_evaluate.py", "test_compile.py", "test_evaluate_runner.py", "test_planted_bugs.py", "test_verify.py",
         "test_matrix.py"]


def copy_tree():
    """The tracked files (plus untracked, not ignored ones) copied to TREE, seen as the collection."""
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(TREE)
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout
    archive = subprocess.run(["tar", "--null", "--ignore-failed-read", "-T", "-", "-cf", "-"], cwd=ROOT,
                             input=files, capture_output=True, check=False).stdout
    subprocess.run(["tar", "-xf", "-", "-C", TREE], input=archive, check=True)
    coll = os.path.join(WORK, "collections", "ansible_collections", "netzone")
    os.makedirs(coll)
    os.symlink(TREE, os.path.join(coll, "segmentation"))


def write_config(timeout):
    """The test script every mutant runs, and cosmic-ray's config."""
    script = os.path.join(WORK, "run-tests.sh")
    with open(script, "w", encoding="utf-8") as handle:
        handle.write("#!/bin/sh\nset -e\nexport PYTHONPATH=%s\n" % os.path.join(WORK, "collections"))
        handle.write("%s -m pytest -x -q -p no:cacheprovider --hypothesis-seed=0 %s\n" % (
            PROJECT_PY, " ".join("tests/unit/plugins/module_utils/" + t for t in TESTS)))
        handle.write("%s tests/conformance/run_netpol.py %s tests/conformance/netpol\n" % (
            PROJECT_PY, os.path.join(SHARED, "conformance", "netpol")))
    paths = ", ".join('"plugins/module_utils/%s.py"' % m for m in MODULES)
    path = os.path.join(WORK, "cosmic-ray.toml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write('[cosmic-ray]\nmodule-path = [%s]\ntimeout = %d\nexcluded-modules = []\n'
                     'test-command = "sh %s"\n\n[cosmic-ray.distributor]\nname = "local"\n'
                     % (paths, timeout, script))
    return path


def sample(session, size, seed):
    """Mark all but a uniform random sample of ``size`` mutants as skipped; returns (sampled, total)."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    with use_db(session, WorkDB.Mode.open) as db:
        jobs = sorted(item.job_id for item in db.pending_work_items)
        keep = set(random.Random(seed).sample(jobs, min(size, len(jobs))))
        skipped = [job for job in jobs if job not in keep]
        if skipped:
            db.set_multiple_results(skipped, WorkResult(worker_outcome=WorkerOutcome.SKIPPED))
    return len(keep), len(jobs)


def report(session, total):
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    killed, survivors, other = 0, [], 0
    with use_db(session, WorkDB.Mode.open) as db:
        for item, result in db.completed_work_items:
            if result.worker_outcome == WorkerOutcome.SKIPPED:
                continue
            if result.test_outcome == TestOutcome.KILLED:
                killed += 1
            elif result.test_outcome == TestOutcome.SURVIVED:
                survivors.append((item, result))
            else:
                other += 1
    tested = killed + len(survivors)
    print("mutation score: %.1f%% (%d killed of %d)" % (100.0 * killed / max(1, tested), killed, tested))
    print("(a uniform sample of the %d mutants cosmic-ray makes; %d incompetent or erroring mutants not counted)"
          % (total, other))
    for item, result in survivors:
        spec = item.mutations[0]
        print("\nSURVIVED %s:%d %s #%d" % (spec.module_path, spec.start_pos[0], spec.operator_name, spec.occurrence))
        print((result.diff or "").strip())
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sample", type=int, default=150)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=int, default=600)
    args = parser.parse_args(argv)
    copy_tree()
    config = write_config(args.timeout)
    session = os.path.join(WORK, "session.sqlite")
    cosmic = os.path.join(os.path.dirname(sys.executable), "cosmic-ray")
    subprocess.run([cosmic, "init", config, session], cwd=TREE, check=True)
    kept, total = sample(session, args.sample, args.seed)
    print("cosmic-ray made %d mutants; testing a uniform sample of %d (seed %d)" % (total, kept, args.seed))
    sys.stdout.flush()
    subprocess.run([cosmic, "exec", config, session], cwd=TREE, check=True)
    return report(session, total)


if __name__ == "__main__":
    sys.exit(main())
