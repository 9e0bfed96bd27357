# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The labs' way of ending what they started (tests/support/sessions.py), on real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import sessions  # noqa: E402  pylint: disable=wrong-import-position,import-error

# a session leader that ignores SIGTERM and forks a child that stays in its session
STUBBORN = "import os, signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); os.fork(); time.sleep(60)"


def _start(code, word):
    return subprocess.Popen([sys.executable, "-c", code, word], start_new_session=True)  # noqa: S603


def test_every_member_ends_even_one_that_ignores_sigterm_and_nothing_else():
    stubborn = _start(STUBBORN, "netzone-lab-stubborn")
    other = _start("import time; time.sleep(60)", "netzone-lab-other")
    try:
        deadline = time.monotonic() + 10
        while len(sessions.members(stubborn.pid, "netzone-lab-stubborn")) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        found = sessions.members(stubborn.pid, "netzone-lab-stubborn")
        assert len(found) == 2 and stubborn.pid in found
        # a word the session's command lines do not have: nothing is found, so nothing would be signalled
        assert sessions.members(stubborn.pid, "netzone-lab-other") == []
        started = time.monotonic()
        sessions.end_sessions([(stubborn.pid, "netzone-lab-stubborn")], wait=0.5)
        stubborn.wait(timeout=5)
        assert sessions.members(stubborn.pid, "netzone-lab-stubborn") == []
        assert time.monotonic() - started >= 0.5          # SIGTERM was ignored: it took the SIGKILL after the wait
        assert other.poll() is None                       # another session is untouched
    finally:
        for proc in (stubborn, other):
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5)


def _ready(code):
    """A child (of this test, in a session of its own) that has run ``code`` and said so on its stdout."""
    proc = subprocess.Popen([sys.executable, "-c", code + "; print('ready', flush=True); time.sleep(60)"],  # noqa: S603
                            stdout=subprocess.PIPE, start_new_session=True)
    assert proc.stdout.readline() == b"ready\n"
    return proc


def test_end_found_kills_only_what_outlives_the_grace():
    """The one SIGTERM-then-SIGKILL loop both enders use: a process that exits on SIGTERM dies of SIGTERM and gets no
    SIGKILL; one that ignores SIGTERM gets SIGKILL once the grace is over; one the finder does not name is left."""
    polite = _ready("import time")
    stubborn = _ready("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN)")
    bystander = _ready("import time")
    ours = (polite, stubborn)
    try:
        started = time.monotonic()
        sessions.end_found(lambda: [proc.pid for proc in ours if proc.poll() is None], wait=0.5)
        assert polite.wait(timeout=5) == -signal.SIGTERM
        assert stubborn.wait(timeout=5) == -signal.SIGKILL
        assert time.monotonic() - started >= 0.5          # the SIGKILL came after the grace, not before
        assert bystander.poll() is None                   # not named by the finder: never signalled
    finally:
        for proc in ours + (bystander,):
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=5)
            proc.stdout.close()


def test_end_found_returns_once_all_left_on_sigterm():
    """Everything exits on SIGTERM: no SIGKILL is sent and the grace is not waited out."""
    polite = [_ready("import time"), _ready("import time")]
    try:
        started = time.monotonic()
        sessions.end_found(lambda: [proc.pid for proc in polite if proc.poll() is None], wait=30)
        assert [proc.wait(timeout=5) for proc in polite] == [-signal.SIGTERM] * 2
        assert time.monotonic() - started < 30            # it returned when the finder found none, not at the deadline
    finally:
        for proc in polite:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=5)
            proc.stdout.close()


def test_end_found_signals_nothing_when_the_finder_finds_nothing():
    calls = []
    sessions.end_found(lambda: calls.append(1) or [], wait=30)
    assert calls == [1]                                   # asked once, found none: no signal, no wait, no second pass


def test_every_process_in_the_lab_namespaces_ends_and_nothing_outside():
    """end_namespace_members ends what runs in the named network namespaces (the daemons a role started there,
    in sessions of their own), one that ignores SIGTERM too, and nothing outside them."""
    if os.geteuid() != 0:
        pytest.skip("needs root (a network namespace)")
    name = "nzst-%d" % os.getpid()
    subprocess.run(["ip", "netns", "add", name], check=True)  # noqa: S603,S607
    inside, outside = [], None
    try:
        for code in (STUBBORN, "import time; time.sleep(60)"):
            inside.append(subprocess.Popen(["ip", "netns", "exec", name, sys.executable, "-c", code],  # noqa: S603,S607
                                           start_new_session=True))
        outside = _start("import time; time.sleep(60)", "netzone-lab-outside")
        deadline = time.monotonic() + 10
        while len(sessions.namespace_members([name])) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        found = sessions.namespace_members([name])
        assert len(found) == 3 and {proc.pid for proc in inside} <= set(found)
        assert outside.pid not in found
        assert sessions.namespace_members(["nzst-no-such-namespace"]) == []
        sessions.end_namespace_members([name], wait=0.5)
        for proc in inside:
            proc.wait(timeout=5)
        assert sessions.namespace_members([name]) == []
        assert outside.poll() is None                     # outside the namespace: untouched
    finally:
        for proc in inside + ([outside] if outside else []):
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5)
        subprocess.run(["ip", "netns", "delete", name], check=False)  # noqa: S603,S607
