#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mutation testing of the core with cosmic-ray (``make mutation``; not part of ``make test``).

    mutation.py [--modules core|utils|plugins|all|NAME,...] [--sample N] [--seed S] [--jobs J] [--examples E]
                [--timeout SECONDS] [--fail-under P] [--module-floor P]

Runs in cosmic-ray's own virtualenv (``build/cr-venv``, pinned in ``requirements-mutation.txt``) on a copy of
the tracked tree (``build/mutation/w0/tree``, so the checkout is never touched), over ``matrix.py``,
``compile.py``, ``netpol_model.py``, ``evaluate.py``, ``evaluate_bulk.py`` and ``proof.py`` (all in ``plugins/module_utils/_model/``);
``--modules utils`` takes every module under ``plugins/module_utils`` (each layer's package), ``--modules plugins``
every plugin file (``plugins/{action,filter,modules,plugin_utils}``, named ``modules/zone_policies``,
``filter/plan``, ...), ``--modules all`` both, ``--modules a,b`` the modules named (file names without ``.py``,
unique across the layers; plugins with their kind).

Each mutant runs only the tests that can see the mutated module: the unit test files under
``tests/unit`` that import it, directly or through other modules, plugins or test helpers (found
from the import statements), the files importing it themselves first, each group fastest file first, with ``-x`` (the first failure kills the mutant) and the
plugin ``tools/mutation_pytest.py`` (at most E Hypothesis examples per property test, derandomized, no
shrinking; plain tests before property tests).  A mutant of the evaluator (``netpol_model``, ``evaluate``,
``evaluate_bulk``) first runs the whole NetworkPolicy conformance (shared and own cases; under a second).

Before any mutant, a baseline runs every selected test file once on the unmutated copy with the same
settings, and stops if anything fails (a failing baseline would count every mutant as killed); its times
order the files and give the per-module cost of a surviving mutant.

cosmic-ray writes every mutant it can make (about 5,900); a seeded random sample of N (default 200),
stratified by module in proportion to each module's mutants, is tested and the others are marked skipped.
With ``--jobs 2`` the sample is split over two copies of the tree tested side by side.  It prints the
per-module figures, ``mutation score: X% (K killed of N)`` and each survivor with its diff, and exits
non-zero below ``--fail-under`` percent (default 90) or when a module scores below ``--module-floor``.  ``--retest-survivors`` tests again only the survivors
of the previous run (same module, operator and occurrence), e.g. after adding tests that should kill them.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
WORK = os.path.join(ROOT, "build", "mutation")
PROJECT_PY = os.path.join(ROOT, ".venv", "bin", "python")
SHARED = os.environ.get("SHARED", os.path.abspath(os.path.join(ROOT, "..", "shared")))
CORE = ["matrix", "compile", "netpol_model", "evaluate", "evaluate_bulk", "proof"]
MODULES = list(CORE)
EVALUATOR = {"netpol_model", "evaluate", "evaluate_bulk"}
PATHS = {module: "plugins/module_utils/_model/%s.py" % module for module in MODULES}
TEST_GLOB = "tests/unit/**/test_*.py"
_PLUGIN_IMPORT = re.compile(
    r"segmentation\.plugins\.(module_utils|modules|filter|action|plugin_utils)((?:\.\w+)*)"
    r"(?:\s+import\s+(\([^)]*\)|[^\n]*))?")
_LOCAL_IMPORT = re.compile(r"^(?:from|import)\s+(\w+)", re.M)


PLUGIN_KINDS = ("action", "filter", "modules", "plugin_utils")


def every_module():
    """{name: relative path} of every module under plugins/module_utils (names are unique file names) and of
    every plugin file (named ``<kind>/<file name>``, e.g. ``modules/zone_policies``, ``filter/plan``)."""
    found = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "plugins", "module_utils", "**", "*.py"), recursive=True)):
        name = os.path.splitext(os.path.basename(path))[0]
        if name != "__init__":
            if name in found:
                raise SystemExit("mutation.py: two modules named %s" % name)
            found[name] = os.path.relpath(path, ROOT)
    for kind in PLUGIN_KINDS:
        for path in sorted(glob.glob(os.path.join(ROOT, "plugins", kind, "*.py"))):
            name = os.path.splitext(os.path.basename(path))[0]
            if name != "__init__":
                found["%s/%s" % (kind, name)] = os.path.relpath(path, ROOT)
    return found


def use_modules(spec):
    """Set the modules under test: ``core`` (the six of the proof), ``utils`` (every module under
    plugins/module_utils), ``plugins`` (every plugin file), ``all`` (both), or a comma-separated list."""
    known = every_module()
    groups = {"core": CORE, "all": sorted(known), "utils": sorted(n for n in known if "/" not in n),
              "plugins": sorted(n for n in known if "/" in n)}
    names = groups[spec] if spec in groups else [n.strip() for n in spec.split(",")]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SystemExit("mutation.py: --modules: unknown module(s) %s (known: %s)" % (
            ", ".join(unknown), ", ".join(sorted(known))))
    MODULES[:] = names
    PATHS.clear()
    PATHS.update((name, known[name]) for name in names)


def _pristine(module, work=WORK):
    """Where the unmutated copy of ``module`` is kept (plugin names carry a slash)."""
    return os.path.join(work, "pristine", module.replace("/", "__") + ".py")


# ---------------------------------------------------------------------------------------------------------
# Which test files see which module

def _imports(path):
    """Plugin files (relative paths) and same-folder helper modules imported by the file at ``path``."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    found = set()
    for kind, dotted, names in _PLUGIN_IMPORT.findall(text):
        base = "plugins/%s%s" % (kind, dotted.replace(".", "/"))
        found.add(base + ".py")
        for name in (names or "").strip("()").replace("\n", " ").split(","):
            name = name.split("#")[0].strip().split(" ")[0]
            if name:
                found.add("%s/%s.py" % (base, name))
    folder = os.path.dirname(path)
    for name in _LOCAL_IMPORT.findall(text):
        helper = os.path.join(folder, name + ".py")
        if os.path.isfile(helper) and os.path.abspath(helper) != os.path.abspath(path):
            found.add(os.path.relpath(helper, ROOT))
    return {item for item in found if os.path.isfile(os.path.join(ROOT, item))}


def test_map():
    """({module: [test files (relative) whose import closure reaches plugins/module_utils/<module>.py]},
    {module: {those of them that import it themselves}})."""
    cache = {}

    def closure(start):
        seen, todo = set(), [start]
        while todo:
            rel = todo.pop()
            if rel in seen:
                continue
            seen.add(rel)
            if rel not in cache:
                cache[rel] = _imports(os.path.join(ROOT, rel))
            todo.extend(cache[rel])
        return seen

    tests = sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, TEST_GLOB), recursive=True))
    reach = {test: closure(test) for test in tests}
    return ({module: [test for test in tests if PATHS[module] in reach[test]] for module in MODULES},
            {module: {test for test in tests if PATHS[module] in cache[test]} for module in MODULES})


# ---------------------------------------------------------------------------------------------------------
# The test command of every mutant (runs with the project's venv, inside a tree copy)

def _pytest_command(files, python=PROJECT_PY):
    return [python, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "mutation_pytest"] + files


def _conformance_command(python=PROJECT_PY, shared=SHARED):
    return [python, "tests/conformance/run_netpol.py", os.path.join(shared, "conformance", "netpol"),
            "tests/conformance/netpol"]


def _test_env(worker):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([os.path.join(worker, "collections"), os.path.join(worker, "tree", "tools")])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_tests():
    """Entry point of the test command (cwd: a worker's tree): find the mutated module, run its tests."""
    worker = os.path.dirname(os.getcwd())
    work = os.path.dirname(worker)
    with open(os.path.join(work, "plan.json"), encoding="utf-8") as handle:
        plan = json.load(handle)
    use_modules(",".join(plan["modules"]))
    mutated = []
    for module in MODULES:
        with open(PATHS[module], "rb") as handle:
            current = handle.read()
        with open(_pristine(module, work), "rb") as handle:
            if handle.read() != current:
                mutated.append(module)
    if len(mutated) != 1:
        print("mutation.py: expected exactly one mutated module, found %s" % (mutated or "none"))
        return 3
    module = mutated[0]
    if not plan["tests"][module]:
        print("mutation.py: no unit test imports %s: the mutant survives" % module)
        return 0
    env = _test_env(worker)
    if module in EVALUATOR and subprocess.run(_conformance_command(sys.executable, plan["shared"]), env=env,
                                              check=False).returncode:
        return 1
    return subprocess.run(_pytest_command(plan["tests"][module], sys.executable), env=env, check=False).returncode


# ---------------------------------------------------------------------------------------------------------
# Preparation

def make_worker(index):
    """A copy of the tracked tree (plus untracked, not ignored files) seen as the collection."""
    worker = os.path.join(WORK, "w%d" % index)
    tree = os.path.join(worker, "tree")
    os.makedirs(tree)
    if index:
        subprocess.run(["cp", "-a", os.path.join(WORK, "w0", "tree", "."), tree], check=True)
    else:
        files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                               capture_output=True).stdout
        archive = subprocess.run(["tar", "--null", "--ignore-failed-read", "-T", "-", "-cf", "-"], cwd=ROOT,
                                 input=files, capture_output=True, check=False).stdout
        subprocess.run(["tar", "-xf", "-", "-C", tree], input=archive, check=True)
    coll = os.path.join(worker, "collections", "ansible_collections", "netzone")
    os.makedirs(coll)
    os.symlink(tree, os.path.join(coll, "segmentation"))
    return worker


def baseline(tests, examples):
    """Run the conformance and every selected file (one pytest run), unmutated, timed; returns
    {"conformance" | file: seconds, "startup": seconds of pytest outside the tests}.  Exits when anything
    fails: a failing baseline would count every mutant as killed."""
    worker = os.path.join(WORK, "w0")
    durations = os.path.join(WORK, "baseline-durations.json")
    env = dict(_test_env(worker), NZ_MUTATION_EXAMPLES=str(examples), NZ_MUTATION_DURATIONS=durations)
    tree = os.path.join(worker, "tree")
    start = time.time()
    done = subprocess.run(_conformance_command(), env=env, cwd=tree, check=False, capture_output=True, text=True)
    times = {"conformance": time.time() - start}
    if done.returncode:
        sys.exit("mutation.py: the conformance fails on the unmutated tree:\n" + done.stdout[-3000:])
    files = sorted({test for selected in tests.values() for test in selected})
    start = time.time()
    done = subprocess.run(_pytest_command(files), env=env, cwd=tree, check=False, capture_output=True, text=True)
    elapsed = time.time() - start
    if done.returncode:
        sys.exit("mutation.py: the tests fail on the unmutated tree:\n" + done.stdout[-3000:])
    with open(durations, encoding="utf-8") as handle:
        measured = json.load(handle)
    times.update((test, measured.get(test, 0.0)) for test in files)
    times["startup"] = max(0.0, elapsed - sum(measured.values()))
    return times


def write_config(timeout, examples):
    command = "env NZ_MUTATION_EXAMPLES=%d %s tools/mutation.py --run-tests" % (examples, PROJECT_PY)
    paths = ", ".join('"%s"' % (PATHS[m]) for m in MODULES)
    path = os.path.join(WORK, "cosmic-ray.toml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write('[cosmic-ray]\nmodule-path = [%s]\ntimeout = %d\nexcluded-modules = []\n'
                     'test-command = "%s"\n\n[cosmic-ray.distributor]\nname = "local"\n'
                     % (paths, timeout, command))
    return path


def _module_of(item):
    path = os.path.normpath(str(item.mutations[0].module_path))
    return next(name for name, rel in PATHS.items() if os.path.normpath(rel) == path)


def sample(session, size, seed, minimum=0):
    """Stratified seeded sample: each module gets ``minimum`` mutants (or all it has), and the rest of ``size``
    is shared in proportion to the mutants left (largest remainders), drawn uniformly within the module.  Returns ({module: [job ids]}, {module: total})."""
    from cosmic_ray.work_db import WorkDB, use_db  # pylint: disable=import-error

    with use_db(session, WorkDB.Mode.open) as db:
        jobs = {}
        for item in db.pending_work_items:
            jobs.setdefault(_module_of(item), []).append(item.job_id)
    total = sum(len(ids) for ids in jobs.values())
    size = min(size, total)
    floor = {m: min(minimum, len(ids)) for m, ids in jobs.items()}
    rest = max(0, size - sum(floor.values()))
    spare = {m: len(ids) - floor[m] for m, ids in jobs.items()}
    quota = {m: floor[m] + rest * spare[m] / max(1, sum(spare.values())) for m in jobs}
    counts = {m: min(len(jobs[m]), int(q)) for m, q in quota.items()}
    short = max(0, min(size, total) - sum(counts.values()))
    for module in sorted((m for m in quota if counts[m] < len(jobs[m])),
                         key=lambda m: (counts[m] - quota[m], m))[:short]:
        counts[module] += 1
    rng = random.Random(seed)
    chosen = {m: rng.sample(sorted(jobs[m]), counts[m]) for m in MODULES if m in jobs}
    return chosen, {m: len(ids) for m, ids in jobs.items()}


def _spec_key(item):
    spec = item.mutations[0]
    return str(spec.module_path), spec.operator_name, spec.occurrence


def survivors_of_last_run():
    """(module path, operator, occurrence) of every survivor in build/mutation's sessions."""
    from cosmic_ray.work_db import WorkDB, use_db  # pylint: disable=import-error
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome  # pylint: disable=import-error

    found = set()
    for session in sorted(glob.glob(os.path.join(WORK, "session-*.sqlite"))):
        with use_db(session, WorkDB.Mode.open) as db:
            found.update(_spec_key(item) for item, result in db.completed_work_items
                         if result.worker_outcome == WorkerOutcome.NORMAL
                         and result.test_outcome == TestOutcome.SURVIVED)
    if not found:
        sys.exit("mutation.py: the previous run in %s left no survivors to test again" % WORK)
    return found


def select(session, keys):
    """The mutants with the given keys (the product code must be unchanged since they were found)."""
    from cosmic_ray.work_db import WorkDB, use_db  # pylint: disable=import-error

    chosen, totals = {}, {}
    with use_db(session, WorkDB.Mode.open) as db:
        for item in db.pending_work_items:
            module = _module_of(item)
            totals[module] = totals.get(module, 0) + 1
            if _spec_key(item) in keys:
                chosen.setdefault(module, []).append(item.job_id)
    return {m: chosen[m] for m in MODULES if m in chosen}, totals


def _skip_all_but(session, keep):
    from cosmic_ray.work_db import WorkDB, use_db  # pylint: disable=import-error
    from cosmic_ray.work_item import WorkerOutcome, WorkResult  # pylint: disable=import-error

    with use_db(session, WorkDB.Mode.open) as db:
        skipped = [item.job_id for item in db.pending_work_items if item.job_id not in keep]
        if skipped:
            db.set_multiple_results(skipped, WorkResult(worker_outcome=WorkerOutcome.SKIPPED))


# ---------------------------------------------------------------------------------------------------------
# Report

def report(sessions, totals, fail_under, module_floor=0.0):
    from cosmic_ray.work_db import WorkDB, use_db  # pylint: disable=import-error
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome  # pylint: disable=import-error

    per = {m: {"killed": 0, "timeout": 0, "survived": [], "other": 0} for m in MODULES}
    for session in sessions:
        with use_db(session, WorkDB.Mode.open) as db:
            for item, result in db.completed_work_items:
                if result.worker_outcome == WorkerOutcome.SKIPPED:
                    continue
                row = per[_module_of(item)]
                if result.worker_outcome != WorkerOutcome.NORMAL:
                    row["other"] += 1
                elif result.test_outcome == TestOutcome.KILLED:
                    row["killed"] += 1
                    row["timeout"] += result.output == "timeout"
                elif result.test_outcome == TestOutcome.SURVIVED:
                    row["survived"].append((item, result))
                else:
                    row["other"] += 1
    width = max([16] + [len(m) for m in MODULES])
    print("\n%s %8s %7s %7s %8s %8s" % ("module".ljust(width), "mutants", "tested", "killed", "(timeout)", "score"))
    killed = tested = other = 0
    below = []
    for module in MODULES:
        row = per[module]
        count = row["killed"] + len(row["survived"])
        killed, tested, other = killed + row["killed"], tested + count, other + row["other"]
        if not count:
            print("%s %8d %7d %7s %8s %8s" % (module.ljust(width), totals.get(module, 0), 0, "-", "-", "-"))
            continue
        module_score = 100.0 * row["killed"] / count
        if module_score < module_floor:
            below.append("%s %d/%d" % (module, row["killed"], count))
        figures = (module.ljust(width), totals.get(module, 0), count, row["killed"], row["timeout"], module_score)
        print("%s %8d %7d %7d %8d %7.1f%%" % figures)
    score = 100.0 * killed / max(1, tested)
    print("mutation score: %.1f%% (%d killed of %d)" % (score, killed, tested))
    if module_floor:
        print("modules below %.0f%%: %s" % (module_floor, ", ".join(below) or "none"))
    if other:
        print("(%d mutants not counted: cosmic-ray could not apply them or the worker failed)" % other)
    for module in MODULES:
        for item, result in per[module]["survived"]:
            spec = item.mutations[0]
            print("\nSURVIVED %s:%d %s #%d" % (spec.module_path, spec.start_pos[0], spec.operator_name,
                                               spec.occurrence))
            print((result.diff or "").strip())
    return 0 if score >= fail_under and tested and not below else 1


# ---------------------------------------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--modules", default="core",
                        help="core (default: the six modules of the proof), utils (every module under "
                             "plugins/module_utils), plugins (every plugin file: action, filter, modules, "
                             "plugin_utils), all (both), or a comma-separated list of names")
    parser.add_argument("--sample", type=int, default=200, help="mutants tested (default 200)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--min-per-module", type=int, default=0,
                        help="mutants tested in every module at least (default 0: strictly proportional)")
    parser.add_argument("--jobs", type=int, default=1, help="tree copies tested side by side (default 1)")
    parser.add_argument("--examples", type=int, default=10, help="Hypothesis examples per property test (default 10)")
    parser.add_argument("--timeout", type=int, default=0,
                        help="seconds per mutant (default: 3 x the slowest module's baseline, at least 60)")
    parser.add_argument("--fail-under", type=float, default=90.0)
    parser.add_argument("--module-floor", type=float, default=0.0,
                        help="also exit non-zero when a module tested scores below this percent (default 0: off)")
    parser.add_argument("--retest-survivors", action="store_true",
                        help="test again only the survivors of the previous run (after adding tests)")
    parser.add_argument("--run-tests", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_tests:
        return run_tests()
    use_modules(args.modules)

    began = time.time()
    previous = survivors_of_last_run() if args.retest_survivors else None
    shutil.rmtree(WORK, ignore_errors=True)
    make_worker(0)
    os.makedirs(os.path.join(WORK, "pristine"))
    for module in MODULES:
        shutil.copy(os.path.join(ROOT, PATHS[module]), _pristine(module))
    tests, direct = test_map()
    times = baseline(tests, args.examples)
    for module in MODULES:
        tests[module].sort(key=lambda test, mine=direct[module]: (test not in mine, times[test], test))
    with open(os.path.join(WORK, "plan.json"), "w", encoding="utf-8") as handle:
        json.dump({"tests": tests, "shared": SHARED, "modules": MODULES}, handle, indent=1)
    print("baseline on the unmutated tree (%d Hypothesis examples per property test; seconds a surviving mutant "
          "costs, then per file; pytest start-up %.1f s, conformance %.1f s):"
          % (args.examples, times["startup"], times["conformance"]))
    cost = {}
    for module in MODULES:
        cost[module] = times["startup"] + sum(times[test] for test in tests[module]) + (
            times["conformance"] if module in EVALUATOR else 0.0)
        print("  %-16s %6.1f s  %s%s" % (module, cost[module], "conformance, " if module in EVALUATOR else "",
                                         ", ".join("%s %.1f" % (os.path.basename(t)[5:-3], times[t])
                                                   for t in tests[module])))
    timeout = args.timeout or max(60, int(3 * max(cost.values())))
    config = write_config(timeout, args.examples)

    session = os.path.join(WORK, "session.sqlite")
    cosmic = os.path.join(os.path.dirname(sys.executable), "cosmic-ray")
    subprocess.run([cosmic, "init", config, session], cwd=os.path.join(WORK, "w0", "tree"), check=True)
    if previous is None:
        chosen, totals = sample(session, args.sample, args.seed, args.min_per_module)
        what = "a sample of %d (seed %d, stratified: %%s)" % (sum(len(ids) for ids in chosen.values()), args.seed)
    else:
        chosen, totals = select(session, previous)
        what = "the %d survivors of the previous run (%%s)" % sum(len(ids) for ids in chosen.values())
    print(("cosmic-ray made %d mutants; testing " + what + "; timeout %d s")
          % (sum(totals.values()), ", ".join("%s %d" % (m, len(ids)) for m, ids in chosen.items()), timeout))
    sys.stdout.flush()

    ordered = [job for module in MODULES for job in chosen.get(module, [])]
    jobs = max(1, args.jobs)
    sessions, procs = [], []
    for index in range(jobs):
        if index:
            make_worker(index)
        mine = os.path.join(WORK, "session-%d.sqlite" % index)
        shutil.copy(session, mine)
        _skip_all_but(mine, set(ordered[index::jobs]))
        sessions.append(mine)
    for index, mine in enumerate(sessions):
        procs.append(subprocess.Popen([cosmic, "exec", config, mine], cwd=os.path.join(WORK, "w%d" % index, "tree")))
    if any(proc.wait() for proc in procs):
        sys.exit("mutation.py: cosmic-ray exec failed")
    status = report(sessions, totals, args.fail_under, args.module_floor)
    print("\n%d mutants in %.1f minutes (%d job%s)" % (len(ordered), (time.time() - began) / 60, jobs,
                                                       "s" if jobs > 1 else ""))
    return status


if __name__ == "__main__":
    sys.exit(main())
