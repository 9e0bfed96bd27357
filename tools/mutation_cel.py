#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mutation testing of the admission policies' CEL and match rules (``make mutation``, after cosmic-ray).

    mutation_cel.py [--sample N] [--seed S] [--examples E] [--timeout SECONDS] [--fail-under P] [--list]

cosmic-ray mutates Python: it never looks inside a string, so the CEL expressions of the
ValidatingAdmissionPolicies (``plugins/module_utils/_model/compile.py``) and the lists that say what they match
would go untested by ``tools/mutation.py``.  This script makes those mutants itself, one change each:

- ``cel-operator``: ``||`` and ``&&`` swapped, ``==`` and ``!=`` swapped, ``.all(`` and ``.exists(`` swapped,
  a negation dropped (``!has(`` to ``has(``, ``!(`` to ``(``, ``!c.`` to ``c.``);
- ``cel-field``: one field name in a CEL expression misspelt (``object.spec.hostPID`` to ``object.spec.hostPIDx``),
  as a typo or an upstream rename would leave it;
- ``cel-literal``: one quoted CEL literal changed (``'NodePort'`` to ``'NodePortx'``);
- ``match-list``: one element dropped from a policy's ``operations`` or ``resources`` (``pods/ephemeralcontainers``
  included) or from a binding's ``validationActions``;
- ``failure-policy``: ``Fail`` to ``Ignore``.

Docstrings and messages are left alone (they are not CEL).  A seeded sample of N (default: all) is tested,
stratified by kind, each on a copy of the tree (``build/mutation-cel``), with the unit test files that see
``compile.py`` (the same selection as ``tools/mutation.py``; the test API server's admission, which runs the CEL
with cel-python, is among them), ``-x`` and the same Hypothesis settings: first the files that import
``compile.py`` themselves, then, for a mutant still alive, the others.  It prints the score per kind, then
``cel mutation score: X% (K killed of N)`` and every survivor, and exits non-zero below ``--fail-under`` (90).
The real kube-apiserver (``make cluster-proof``) checks the same policies compile and enforce; it is not run per
mutant (a server start per mutant would not fit).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import shutil
import subprocess
import sys
import time
import tokenize

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mutation  # noqa: E402  pylint: disable=wrong-import-position

TARGET = "plugins/module_utils/_model/compile.py"
MODULE = "compile"
_CEL = re.compile(r"has\(|\bobject\.|variables\.|\.all\(|\.exists\(|request\.")
_OPERATORS = (("||", "&&"), ("&&", "||"), ("==", "!="), ("!=", "=="), (".all(", ".exists("),
              (".exists(", ".all("), ("!has(", "has("), ("!(", "("), ("!c.", "c."))
_FIELD = re.compile(r"(?<=\.)([A-Za-z][A-Za-z0-9]*)\b(?!\()")
_LITERAL = re.compile(r"'([^'%]+)'")
_LISTS = re.compile(r'"(operations|resources|validationActions)": \[([^\]]*)\]')
_FAILURE = re.compile(r'"failurePolicy": "Fail"')


def _string_tokens(text):
    """(start offset, token text) of every string literal that holds CEL (not docstrings)."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    found = []
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type != tokenize.STRING or token.string.startswith(('"""', "'''")):
            continue
        if _CEL.search(token.string):
            found.append((starts[token.start[0] - 1] + token.start[1], token.string))
    return found


def mutants(text):
    """Every mutant of ``text`` (compile.py) as dicts: kind, offset, old, new, line."""
    out = []

    def add(kind, offset, old, new):
        out.append({"kind": kind, "offset": offset, "old": old, "new": new,
                    "line": text.count("\n", 0, offset) + 1})

    for start, token in _string_tokens(text):
        for old, new in _OPERATORS:
            at = token.find(old)
            while at >= 0:
                add("cel-operator", start + at, old, new)
                at = token.find(old, at + len(old))
        inner = token[1:-1]
        for match in _FIELD.finditer(inner):
            add("cel-field", start + 1 + match.end(1), "", "x")
        for match in _LITERAL.finditer(inner):
            add("cel-literal", start + 1 + match.end(1), "", "x")
    for match in _LISTS.finditer(text):
        items = [item.strip() for item in match.group(2).split(",") if item.strip()]
        if len(items) < 2:
            continue
        for index, _item in enumerate(items):
            kept = ", ".join(items[:index] + items[index + 1:])
            add("match-list", match.start(2), match.group(2), kept)
    for match in _FAILURE.finditer(text):
        add("failure-policy", match.start(), match.group(0), '"failurePolicy": "Ignore"')
    return out


def apply(text, mutant):
    offset, old = mutant["offset"], mutant["old"]
    if text[offset:offset + len(old)] != old:
        raise SystemExit("mutation_cel.py: mutant does not apply at line %d: %r" % (mutant["line"], old))
    return text[:offset] + mutant["new"] + text[offset + len(old):]


def diff_line(text, mutant):
    """The mutated source line, before and after."""
    begin = text.rfind("\n", 0, mutant["offset"]) + 1
    end = text.find("\n", mutant["offset"])
    mutated = apply(text, mutant)
    end_after = end + len(mutant["new"]) - len(mutant["old"])
    return "- %s\n+ %s" % (text[begin:end].strip(), mutated[begin:end_after].strip())


def stratified(found, size, seed):
    if size <= 0 or size >= len(found):
        return list(found)
    kinds = {}
    for mutant in found:
        kinds.setdefault(mutant["kind"], []).append(mutant)
    quota = {k: size * len(v) / len(found) for k, v in kinds.items()}
    counts = {k: max(1, int(q)) for k, q in quota.items()}
    rng = random.Random(seed)
    return [m for k in sorted(kinds) for m in rng.sample(kinds[k], min(counts[k], len(kinds[k])))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sample", type=int, default=0, help="mutants tested (default 0: every one)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--examples", type=int, default=10)
    parser.add_argument("--timeout", type=int, default=600)
    parser.add_argument("--fail-under", type=float, default=90.0)
    parser.add_argument("--list", action="store_true", help="print the mutants and stop")
    args = parser.parse_args(argv)

    with open(os.path.join(mutation.ROOT, TARGET), encoding="utf-8") as handle:
        pristine = handle.read()
    found = mutants(pristine)
    chosen = stratified(found, args.sample, args.seed)
    if args.list:
        for mutant in chosen:
            print("%s line %d\n%s" % (mutant["kind"], mutant["line"], diff_line(pristine, mutant)))
        print("%d mutants" % len(chosen))
        return 0

    began = time.time()
    mutation.WORK = os.path.join(mutation.ROOT, "build", "mutation-cel")
    shutil.rmtree(mutation.WORK, ignore_errors=True)
    worker = mutation.make_worker(0)
    mutation.use_modules(MODULE)
    tests, direct = mutation.test_map()
    files = sorted(tests[MODULE], key=lambda test: (test not in direct[MODULE], test))
    tree = os.path.join(worker, "tree")
    env = dict(mutation._test_env(worker), NZ_MUTATION_EXAMPLES=str(args.examples))  # pylint: disable=protected-access
    # two stages: the files that import compile.py themselves (they hold the admission tests) kill most
    # mutants; the others run only for a mutant that survives them
    stages = [mutation._pytest_command([f for f in files if f in direct[MODULE]]),  # pylint: disable=protected-access
              mutation._pytest_command([f for f in files if f not in direct[MODULE]])]  # pylint: disable=protected-access
    start = time.time()
    for command in stages:
        if subprocess.run(command, cwd=tree, env=env, check=False, capture_output=True).returncode:
            sys.exit("mutation_cel.py: the tests fail on the unmutated tree: %s" % " ".join(command[-3:]))
    print("baseline: %d test files see compile.py, %.1f s unmutated; %d CEL and match mutants, testing %d (seed %d)"
          % (len(files), time.time() - start, len(found), len(chosen), args.seed))
    sys.stdout.flush()
    target = os.path.join(tree, TARGET)
    per, survivors, errors = {}, [], 0
    try:
        for mutant in chosen:
            with open(target, "w", encoding="utf-8") as handle:
                handle.write(apply(pristine, mutant))
            code = 0
            for command in stages:
                try:
                    code = subprocess.run(command, cwd=tree, env=env, check=False, capture_output=True,
                                          timeout=args.timeout).returncode
                except subprocess.TimeoutExpired:
                    code = 1
                if code:
                    break
            row = per.setdefault(mutant["kind"], [0, 0])
            if code in (0, 1):
                row[1] += 1
                row[0] += code == 1
                if code == 0:
                    survivors.append(mutant)
            else:
                errors += 1
            print("." if code == 1 else "S" if code == 0 else "E", end="")
            sys.stdout.flush()
    finally:
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(pristine)
    print("\n\n%-16s %7s %7s %8s" % ("kind", "tested", "killed", "score"))
    for kind in sorted(per):
        killed, tested = per[kind]
        print("%-16s %7d %7d %7.1f%%" % (kind, tested, killed, 100.0 * killed / max(1, tested)))
    killed = sum(row[0] for row in per.values())
    tested = sum(row[1] for row in per.values())
    score = 100.0 * killed / max(1, tested)
    print("cel mutation score: %.1f%% (%d killed of %d)" % (score, killed, tested))
    if errors:
        print("(%d mutants not counted: pytest could not run)" % errors)
    for mutant in survivors:
        print("\nSURVIVED %s:%d %s\n%s" % (TARGET, mutant["line"], mutant["kind"], diff_line(pristine, mutant)))
    print("\n%d mutants in %.1f minutes" % (len(chosen), (time.time() - began) / 60))
    return 0 if tested and score >= args.fail_under else 1


if __name__ == "__main__":
    sys.exit(main())
