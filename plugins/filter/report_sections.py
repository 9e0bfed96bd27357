# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: report_sections
short_description: The report's sections on DNS records, the NodePort audit, and the WAF and TLS in force
version_added: 0.1.0
author: netzone maintainers
description:
  - Builds the extra sections of the report for the O(sections) option of the C(netzone.segmentation.render)
    module, each with C(title), C(markdown) and C(html).
  - C(Live check) says whether the cell table shows the live cluster or the proof on a representative cluster.
  - C(DNS records to publish) lists, for every vhost name and alias, one record per load balancer pointing to its
    public address (public vhosts) or internal address (internal vhosts).
  - C(NodePort audit) lists the NodePort and LoadBalancer Services found, or says why there was no audit.
  - C(WAF and TLS in force) shows each load balancer's WAF mode, paranoia level and TLS profile, with what the
    probes saw (a normal request, an attack, and the TLS versions accepted).
options:
  _input:
    description: A normalised matrix (the output of P(netzone.segmentation.matrix#filter)).
    type: dict
    required: true
  loadbalancers:
    description:
      - One mapping per load balancer with C(name), C(public_address), C(internal_address), C(host_address) (used
        when the public address is a wildcard), C(waf_mode), C(waf_paranoia_level), C(tls_profile) and C(probes)
        (C(normal) and C(attack) HTTP status, C(tls) a mapping of protocol version to C(accepted) or C(refused)).
    type: list
    elements: dict
    default: []
  audit:
    description:
      - The NodePort audit, C({checked, reason, services, violations}) where C(services) and C(violations) are
        what the M(netzone.segmentation.service_audit) module returns.
    type: dict
    default: {}
  live:
    description: Whether the live cluster was checked, C({checked, reason, mismatches}).
    type: dict
    default: {}
  guardrail:
    description:
      - The proof of the cluster-wide guardrail, the C(guardrail) of the plan (P(netzone.segmentation.plan#filter)),
        so that the report shows what was proven on the manifests applied. Without it the guardrail is proven here
        on the matrix compiled.
    type: dict
seealso:
  - module: netzone.segmentation.render
  - module: netzone.segmentation.service_audit
"""

EXAMPLES = r"""
- name: Write the report with the extra sections
  netzone.segmentation.render:
    dest: build/
    matrix: "{{ __matrix }}"
    manifests: "{{ __manifests }}"
    proof: "{{ __proof }}"
    sections: "{{ __matrix | netzone.segmentation.report_sections(loadbalancers=__lbs, audit=__audit) }}"
"""

RETURN = r"""
_value:
  description: The sections in order, each C({title, markdown, html}).
  type: list
  elements: dict
"""

from ansible_collections.netzone.segmentation.plugins.module_utils._report.sections import report_sections as _sections
from ansible_collections.netzone.segmentation.plugins.plugin_utils.filter_support import filter_error, run
from ansible_collections.netzone.segmentation.plugins.plugin_utils.matrix_input import require_normalized


def report_sections(data, loadbalancers=None, audit=None, live=None, guardrail=None):
    """The report's extra sections."""
    matrix = require_normalized("report_sections", data)
    for name, value, kind in (("loadbalancers", loadbalancers, list), ("audit", audit, dict), ("live", live, dict),
                              ("guardrail", guardrail, dict)):
        if value is not None and not isinstance(value, kind):
            raise filter_error("report_sections", "%s must be a %s" % (name, "list" if kind is list else "mapping"))
    return run("report_sections", _sections, matrix, list(loadbalancers or []), dict(audit or {}), dict(live or {}),
               dict(guardrail) if guardrail is not None else None)


class FilterModule:
    """netzone.segmentation.report_sections"""

    def filters(self):
        return {"report_sections": report_sections}
