# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Errors of the netzone core: one exception type whose message names the path of what is wrong."""

from __future__ import annotations


class NetzoneError(Exception):
    """Base class of every error the core raises on purpose (never a traceback for users)."""


class MatrixError(NetzoneError):
    """An invalid ``netzone_matrix``: ``path`` names where (``flows[3].to``), ``message`` what."""

    def __init__(self, path, message):
        self.path = path
        self.message = message
        super().__init__("%s: %s" % (path, message) if path else message)
