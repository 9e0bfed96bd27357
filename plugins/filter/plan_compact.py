# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``plan_compact``: a plan without the rows only a report reads."""

from __future__ import annotations

DOCUMENTATION = r"""
name: plan_compact
short_description: A plan without the rows only a report reads, for the modules that check or apply it
version_added: 0.1.0
author: netzone maintainers (@netzone)
description:
  - Returns the plan of P(netzone.segmentation.plan#filter) without the proof's C(cells) and the guardrail's
    C(rows), the per-cell tables that only the report (P(netzone.segmentation.render#module)) reads. Everything the
    digest covers stays, so P(netzone.segmentation.zone_policies#module), P(netzone.segmentation.cluster_guard#module),
    P(netzone.segmentation.reachability#module) and P(netzone.segmentation.probe_pods#module) accept it as they
    accept the whole plan.
  - Ansible hands a module its arguments at a cost that grows with their size; at 100 zones the compact plan is
    about a fifth of the whole one, and the zones role passes it to every module but C(render).
  - Fails with one message when the value is not a plan or changed since it was built.
options:
  _input:
    description: A plan built by P(netzone.segmentation.plan#filter).
    type: dict
    required: true
seealso:
  - plugin: netzone.segmentation.plan
    plugin_type: filter
  - module: netzone.segmentation.zone_policies
"""

EXAMPLES = r"""
- name: Apply the plan, handing the module only what it reads
  netzone.segmentation.zone_policies:
    plan: "{{ zones_plan | netzone.segmentation.plan_compact }}"
"""

RETURN = r"""
_value:
  description: The plan without C(proof.cells) and C(guardrail.rows); its C(digest) still matches.
  type: dict
"""

from ansible_collections.netzone.segmentation.plugins.module_utils._model.plan import compact
from ansible_collections.netzone.segmentation.plugins.plugin_utils.filter_support import run


def plan_compact(plan):
    """The plan without the rows only a report reads."""
    return run("plan_compact", compact, plan)


class FilterModule:
    """netzone.segmentation.plan_compact"""

    def filters(self):
        return {"plan_compact": plan_compact}
