# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ending the daemons a test started, by the sessions they lead (for the scenarios' labs: egress, ha), or by the
network namespaces they run in (the ha lab's, where the role starts its daemons).

A lab starts each daemon as the leader of a new session (``start_new_session=True``) and records its PID; a daemon
that forks keeps that session. :func:`end_sessions` ends every process of those sessions whose command line still
names what was started (so a recycled PID is never signalled), SIGTERM first, SIGKILL after ``wait`` seconds;
:func:`end_namespace_members` ends every process in the lab's namespaces the same way (both through :func:`end_found`).
"""

from __future__ import annotations

import os
import signal
import time


def members(sid, word):
    """The live (not zombie) processes of session ``sid`` whose command line has ``word``."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):
            continue
        # fields[0]: the state, fields[3]: the session id (man 5 proc)
        if int(fields[3]) == sid and fields[0] != "Z" and word in cmdline:
            out.append(int(entry))
    return out


def end_found(find, wait=5.0):
    """End every process ``find()`` returns (a list of PIDs, found afresh each time, so a process forked meanwhile is
    found too): SIGTERM, then SIGKILL to what ``find()`` still returns after ``wait`` s; returns once it returns none
    or the second wait is over. Only PIDs that ``find`` names are signalled, never processes matched by name."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = find()
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and find():
            time.sleep(0.1)


def end_sessions(sessions, wait=5.0):
    """End every member of each ``(sid, word)`` session: SIGTERM, then SIGKILL to what is left after ``wait`` s;
    returns once none is left or the second wait is over."""
    end_found(lambda: [pid for sid, word in sessions for pid in members(sid, word)], wait)


def namespace_members(names):
    """The live processes in the named network namespaces (``/run/netns/NAME``). A lab that made those
    namespaces started every process in them (its own, and the daemons the role started there)."""
    inodes = set()
    for name in names:
        try:
            found = os.stat("/run/netns/" + name)
        except OSError:
            continue
        inodes.add((found.st_dev, found.st_ino))   # the namespace (nsfs) itself, never a leftover plain file
    out = []
    if not inodes:
        return out
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            found = os.stat("/proc/%s/ns/net" % entry)
            if (found.st_dev, found.st_ino) not in inodes:
                continue
            with open("/proc/%s/stat" % entry, encoding="ascii", errors="replace") as handle:
                state = handle.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z":
            out.append(int(entry))
    return out


def end_namespace_members(names, wait=5.0):
    """End every process in the named network namespaces: SIGTERM, then SIGKILL after ``wait`` seconds."""
    end_found(lambda: namespace_members(names), wait)
