# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures shared by the unit tests: the test API server (``tests/apiserver``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "apiserver"))

import harness  # noqa: E402  pylint: disable=import-error,wrong-import-position


@pytest.fixture(scope="module")
def server():
    """The test API server, one per test module, in a thread on 127.0.0.1; each test resets it."""
    running = harness.RunningServer()
    yield running
    running.stop()
