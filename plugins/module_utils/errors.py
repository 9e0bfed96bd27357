# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Errors of the netzone core: one exception type whose message names the path of what is wrong."""

from __future__ import annotations

import re

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_./-]+")


def key_path(path, key):
    """``path.key``, or ``path['odd key']`` for a key (a newline, a colon, not a string) that would make the
    path ambiguous in a message."""
    text = key if isinstance(key, str) and _PLAIN_KEY.fullmatch(key) else "[%r]" % (key,)
    if not path:
        return text
    return "%s%s%s" % (path, "" if text.startswith("[") else ".", text)


class NetzoneError(Exception):
    """Base class of every error the core raises on purpose (never a traceback for users)."""


class MatrixError(NetzoneError):
    """An invalid ``netzone_matrix``: ``path`` names where (``flows[3].to``), ``message`` what."""

    def __init__(self, path, message):
        self.path = path
        self.message = message
        super().__init__("%s: %s" % (path, message) if path else message)
