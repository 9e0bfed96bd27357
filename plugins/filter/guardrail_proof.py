# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: guardrail_proof
short_description: Prove the cluster-wide guardrail against direct internet
version_added: 0.1.0
author: netzone maintainers (@netzone)
description:
  - Builds a probe cluster from the matrix (one pod in every zone namespace, in C(kube-system), in every namespace of
    C(guards.unmanaged_exempt_namespaces) and in one namespace the matrix does not manage) and evaluates, with the
    collection's AdminNetworkPolicy, NetworkPolicy and BaselineAdminNetworkPolicy engine, each pod's direct
    connection to an internet address of each IP version.
  - A namespace the matrix does not manage must be denied by the AdminNetworkPolicy in the C(deny) stage of
    C(guards.unmanaged_internet), and get exactly what its own NetworkPolicies give in the C(warn) stage; every
    other namespace must get exactly what its NetworkPolicies give.
options:
  _input:
    description: A normalised matrix (the output of P(netzone.segmentation.matrix#filter)).
    type: dict
    required: true
  manifests:
    description: The manifests to check. Default the matrix compiled by P(netzone.segmentation.zone_manifests#filter).
    type: list
    elements: dict
seealso:
  - plugin: netzone.segmentation.verify_matrix
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Prove the guardrail of the manifests about to be applied
  ansible.builtin.assert:
    that: (__matrix | netzone.segmentation.guardrail_proof(manifests=__manifests)).ok
"""

RETURN = r"""
_value:
  description: C(stage), C(ok), and C(rows) (C(namespace), C(kind), C(address), C(internet), C(layer), C(expected),
    C(ok)).
  type: dict
"""

from ansible_collections.netzone.segmentation.plugins.module_utils._model.cluster_policy import (
    guardrail_proof as _guardrail_proof,
)
from ansible_collections.netzone.segmentation.plugins.plugin_utils.filter_support import run
from ansible_collections.netzone.segmentation.plugins.plugin_utils.matrix_input import require_normalized


def guardrail_proof(data, manifests=None):
    """Prove the cluster-wide guardrail against direct internet."""
    matrix = require_normalized("guardrail_proof", data)
    return run("guardrail_proof", _guardrail_proof, matrix, manifests)


class FilterModule:
    """netzone.segmentation.guardrail_proof"""

    def filters(self):
        return {"guardrail_proof": guardrail_proof}
