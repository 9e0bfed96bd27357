# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The matrix and inventory options of the modules that check a cluster against the matrix.

Kept in step with ``MATRIX_INPUT_ARGS`` in ``plugins/module_utils/matrix.py``."""

from __future__ import annotations

# One text for both variants; only whether the matrix is required differs.
_OPTIONS = r"""
options:
  matrix:
    description:
      - The traffic matrix (C(netzone_matrix)). An empty mapping means the article's model.
    type: dict%s
  inventory:
    description:
      - "C({groups: {name: [host]}, addresses: {host: ip}}): resolves C(from_group) peers (and the load balancer hosts)."
      - P(netzone.segmentation.inventory#filter) builds it from C(groups) and C(hostvars).
    type: dict
    default: {}
"""


class ModuleDocFragment:
    """Options ``matrix`` and ``inventory``."""

    DOCUMENTATION = _OPTIONS % "\n    required: true"

    # For a module that takes either the matrix or objects computed from it: the matrix is not required.
    OPTIONAL = _OPTIONS % ""
