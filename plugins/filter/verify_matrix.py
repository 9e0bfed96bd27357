# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: verify_matrix
short_description: Prove that manifests allow exactly the matrix
version_added: 0.1.0
author: netzone maintainers (@netzone)
description:
  - Builds a representative cluster from the matrix (two pods per zone, the DNS pod, one address per outside
    peer, an internet and a private address), evaluates the NetworkPolicies of O(manifests) with the
    collection's engine for every endpoint pair and every service port (plus a control port no service
    uses), and compares each verdict with the matrix.
  - The result lists every cell with expected and actual ports, and every mismatch (C(missing) - the matrix
    allows it, the policies do not; C(extra) - the policies allow what the matrix does not) with the
    engine's explanation.
  - Each side of a zone is also checked alone (its egress towards every destination, its ingress from every
    source, the other side taken as allowing everything), so a side wider than the matrix is reported even
    when the other side hides it end to end; a mismatch's C(side) is C(egress), C(ingress) or C(end-to-end),
    and C(zone) names the zone whose side it is.
options:
  _input:
    description: A normalised matrix (the output of P(netzone.segmentation.matrix#filter)).
    type: dict
    required: true
  manifests:
    description: The manifests to check. Default the matrix compiled by P(netzone.segmentation.zone_manifests#filter).
    type: list
    elements: dict
  table:
    description: Also return C(table), rows of (from, to, service) with expected/actual in all, some, none.
    type: bool
    default: true
seealso:
  - plugin: netzone.segmentation.zone_manifests
    plugin_type: filter
  - plugin: netzone.segmentation.reachability
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Prove the compiled policies
  ansible.builtin.set_fact:
    __proof: "{{ __matrix | netzone.segmentation.verify_matrix(manifests=__manifests) }}"

- name: Fail on any mismatch
  ansible.builtin.assert:
    that: __proof.mismatches | length == 0
    fail_msg: "{{ __proof.mismatches | map(attribute='explanation') | list }}"
"""

RETURN = r"""
_value:
  description: C(cells), C(mismatches), C(summary) and (with O(table)) C(table).
  type: dict
"""

from ansible_collections.netzone.segmentation.plugins.module_utils._model.proof import cell_table, verify_matrix as _verify
from ansible_collections.netzone.segmentation.plugins.plugin_utils.filter_support import run
from ansible_collections.netzone.segmentation.plugins.plugin_utils.matrix_input import require_normalized


def _prove(matrix, manifests, table):
    result = _verify(matrix, manifests)
    if table:
        result["table"] = cell_table(matrix, result)
    return result


def verify_matrix(data, manifests=None, table=True):
    """Prove manifests against the matrix."""
    matrix = require_normalized("verify_matrix", data)
    return run("verify_matrix", _prove, matrix, manifests, bool(table))


class FilterModule:
    """netzone.segmentation.verify_matrix"""

    def filters(self):
        return {"verify_matrix": verify_matrix}
