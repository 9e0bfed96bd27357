# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Count the expensive steps of a run (normalise, prove), for the test that checks a playbook does each once.

Off unless the environment variable ``NETZONE_TRACE_FILE`` names a file: then each step appends one line
(its name) to it.  Filters and modules run in different processes (workers, AnsiballZ); a file opened in
append mode is the one place they all reach.
"""

from __future__ import annotations

import os

TRACE_ENV = "NETZONE_TRACE_FILE"


def count(step):
    """Append ``step`` to the trace file when tracing is on; otherwise do nothing."""
    path = os.environ.get(TRACE_ENV)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(step + "\n")
