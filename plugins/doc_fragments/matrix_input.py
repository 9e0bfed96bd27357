# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The matrix and inventory options of the modules that check a cluster against the matrix.

Kept in step with ``MATRIX_INPUT_ARGS`` in ``plugins/module_utils/_model/matrix.py``. A module that takes the matrix
or objects computed from it (``zone_policies``) documents its own ``matrix`` option, which replaces this one."""

from __future__ import annotations


class ModuleDocFragment:
    """Options ``plan``, ``matrix`` and ``inventory``."""

    DOCUMENTATION = r"""
options:
  plan:
    description:
      - "The plan (P(netzone.segmentation.plan#filter)): its normalised matrix and its inventory are used, and nothing
        is normalised or proven again. A plan changed since it was built (its digest) is refused."
      - One of O(plan) and O(matrix) is required.
    type: dict
  matrix:
    description:
      - The traffic matrix as written (C(netzone_matrix)), when there is no O(plan). An empty mapping means the article's model.
    type: dict
  inventory:
    description:
      - "C({groups: {name: [host]}, addresses: {host: ip}}): resolves C(from_group) peers (and the load balancer hosts)."
      - P(netzone.segmentation.inventory#filter) builds it from C(groups) and C(hostvars).
      - Not used with O(plan), which carries its inventory.
    type: dict
    default: {}
"""
