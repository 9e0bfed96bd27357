# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The matrix and inventory options of the modules that check a cluster against the matrix.

Kept in step with ``MATRIX_INPUT_ARGS`` in ``plugins/module_utils/_model/matrix.py``. A module that takes the matrix
or objects computed from it (``zone_policies``) documents its own ``matrix`` option, which replaces this one."""

from __future__ import annotations


class ModuleDocFragment:
    """Options ``matrix`` and ``inventory``."""

    DOCUMENTATION = r"""
options:
  matrix:
    description:
      - The traffic matrix (C(netzone_matrix)). An empty mapping means the article's model.
    type: dict
    required: true
  inventory:
    description:
      - "C({groups: {name: [host]}, addresses: {host: ip}}): resolves C(from_group) peers (and the load balancer hosts)."
      - P(netzone.segmentation.inventory#filter) builds it from C(groups) and C(hostvars).
    type: dict
    default: {}
"""
