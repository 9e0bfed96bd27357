# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared ``attributes:`` documentation for every module of the collection."""

from __future__ import annotations


class ModuleDocFragment:
    """Standard attribute descriptions, plus the two common support sets (modules with another set say it in
    their own docs)."""

    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
      - This assumes that the system controlled/queried by the module has not changed in a relevant way.
"""

    # A module that only reads: same answer in check mode, nothing to diff.
    READ_ONLY = r"""
options: {}
attributes:
  check_mode:
    support: full
    details: It only reads, in check mode too.
  diff_mode:
    support: none
  idempotent:
    support: full
"""

    # A module that changes things and supports check mode, diff mode and idempotence in full.
    FULL = r"""
options: {}
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
"""

    # A module of the action group k8s: module_defaults for group/netzone.segmentation.k8s reach it.
    ACTION_GROUP_K8S = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/netzone.segmentation.k8s) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - netzone.segmentation.k8s
    details:
      - The modules that talk to the Kubernetes API (P(netzone.segmentation.zone_policies#module),
        P(netzone.segmentation.cluster_guard#module), P(netzone.segmentation.service_audit#module),
        P(netzone.segmentation.reachability#module), P(netzone.segmentation.probe_pods#module)) form this group,
        so one C(module_defaults) entry sets their connection options once.
"""
