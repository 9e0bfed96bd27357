# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check that a filter got a normalised matrix, not what the user wrote."""

from __future__ import annotations

from collections.abc import Mapping

from ansible_collections.netzone.segmentation.plugins.plugin_utils.filter_support import filter_error

_KEYS = ("cluster", "services", "peers", "zones", "flows", "vhosts", "guards")


def require_normalized(name, data):
    """Return ``data`` if it is a normalised matrix, else raise a filter error that says what to do."""
    if not isinstance(data, Mapping) or any(key not in data for key in _KEYS) or \
            not isinstance(data.get("cluster"), Mapping) or "dns" not in data["cluster"]:
        raise filter_error(name, "expects a normalised matrix: write "
                                 "'netzone_matrix | netzone.segmentation.matrix | netzone.segmentation.%s'" % name)
    return data
