# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pytest plugin for mutation runs only (``tools/mutation.py`` loads it with ``-p mutation_pytest``).

It changes how the tests run, never what they check:

- every Hypothesis test gets at most ``NZ_MUTATION_EXAMPLES`` examples (default 10), derandomized (the
  same examples for every mutant, so a verdict is reproducible), no example database and no shrinking
  (a mutant only needs one failing example, not the smallest one);
- the plain example tests of each file run before its Hypothesis tests, so that with ``-x`` a mutant
  is usually stopped by a fast test;
- with ``NZ_MUTATION_DURATIONS=FILE`` (the baseline run), the seconds spent in each test file are written
  to FILE as JSON.
"""

from __future__ import annotations

import json
import os

from hypothesis import Phase, settings


def _examples():
    return int(os.environ.get("NZ_MUTATION_EXAMPLES", "10"))


def pytest_collection_modifyitems(session, config, items):  # pylint: disable=unused-argument
    """Cap the Hypothesis tests and put them after the plain tests (stable: files keep their order)."""
    cap = _examples()
    order = {}
    for index, item in enumerate(items):
        function = getattr(item, "obj", None)
        current = getattr(function, "_hypothesis_internal_use_settings", None)
        if current is not None:
            function._hypothesis_internal_use_settings = settings(  # pylint: disable=protected-access
                current, max_examples=min(current.max_examples, cap), derandomize=True, database=None,
                deadline=None, phases=[Phase.explicit, Phase.generate])
        path = str(getattr(item, "path", item.nodeid.split("::", maxsplit=1)[0]))
        order[id(item)] = (path, current is not None, index)
    files = []
    for item in items:
        path = order[id(item)][0]
        if path not in files:
            files.append(path)
    rank = {path: index for index, path in enumerate(files)}
    items.sort(key=lambda item: (rank[order[id(item)][0]],) + order[id(item)][1:])


_DURATIONS = {}


def pytest_runtest_logreport(report):
    """Add up setup, call and teardown time per test file."""
    path = report.nodeid.split("::", maxsplit=1)[0]
    _DURATIONS[path] = _DURATIONS.get(path, 0.0) + report.duration


def pytest_sessionfinish(session, exitstatus):  # pylint: disable=unused-argument
    target = os.environ.get("NZ_MUTATION_DURATIONS")
    if target:
        with open(target, "w", encoding="utf-8") as handle:
            json.dump(_DURATIONS, handle, indent=1, sort_keys=True)
