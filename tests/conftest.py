# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hypothesis profiles for every test under ``tests/``, chosen by ``HYPOTHESIS_PROFILE``.

- ``ci`` (the default, and what ``make unit``/``make test`` select): derandomized, so every run draws the same
  examples and a red run is the code's fault, never the draw's; no example database, so nothing found by an
  earlier run is replayed; a failure prints its reproduction blob; no deadline (speed is measured by
  ``make bench``, never asserted inside a test).
- ``fuzz`` (``make fuzz``): the property tests only, random draws, each property test's own ``max_examples`` multiplied by
  ``NZ_FUZZ_FACTOR`` (default 20), no database either; a failure prints the blob for ``@reproduce_failure``
  and the seed for ``--hypothesis-seed``.
"""

from __future__ import annotations

import importlib.util
import os
import sys

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, print_blob=True, deadline=None)
settings.register_profile("fuzz", derandomize=False, database=None, print_blob=True, deadline=None)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)


def _fuzz_factor():
    return int(os.environ.get("NZ_FUZZ_FACTOR", "20"))


def pytest_collection_modifyitems(session, config, items):  # pylint: disable=unused-argument
    """Under the fuzz profile, scale each property test's own example count (a test's ``@settings`` beats
    the profile, so the profile alone cannot raise it); only the property tests run."""
    if PROFILE != "fuzz":
        return
    kept, dropped = [], []
    for item in items:
        function = getattr(item, "obj", None)
        current = getattr(function, "_hypothesis_internal_use_settings", None)
        if current is None:
            dropped.append(item)
            continue
        function._hypothesis_internal_use_settings = settings(  # pylint: disable=protected-access
            current, max_examples=current.max_examples * _fuzz_factor(), derandomize=False, database=None)
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_report_header(config):  # pylint: disable=unused-argument
    return "hypothesis profile: %s" % PROFILE


@pytest.fixture
def load_without(monkeypatch):
    """``load_without(module, package)``: ``module``'s file loaded again as a new module while ``package`` (and
    every submodule of it) cannot be imported, as on a host without that library; undone after the test."""

    def load(module, package):
        for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
            monkeypatch.delitem(sys.modules, name)
        monkeypatch.setitem(sys.modules, package, None)
        spec = importlib.util.spec_from_file_location("%s_without_%s" % (module.__name__.rsplit(".", 1)[-1], package),
                                                      module.__file__)
        bare = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(bare)
        return bare

    return load
