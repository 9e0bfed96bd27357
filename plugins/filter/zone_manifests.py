# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filter ``zone_manifests`` (formerly ``network_policies``): every object of the zones, compiled from the matrix."""

from __future__ import annotations

DOCUMENTATION = r"""
name: zone_manifests
short_description: Compile a normalised matrix into every Kubernetes object of the zones
version_added: 0.1.0
author: netzone maintainers (@netzone)
description:
  - Turns the output of P(netzone.segmentation.matrix#filter) into the manifests the zones role applies, every
    object and not only NetworkPolicies (Namespaces, NetworkPolicies, the admission policy and its binding, Ingresses).
  - Formerly named C(network_policies); that name still works.
  - Per zone, a Namespace, a default-deny NetworkPolicy (Ingress and Egress), DNS egress to the cluster DNS
    pods, and for each flow the egress rule at the source and the ingress rule at the destination; outside
    peers become ipBlocks. Then one Ingress per vhost and the admission policy and binding that refuse
    NodePort and LoadBalancer Services.
  - Every object carries the label C(app.kubernetes.io/managed-by=netzone.segmentation). The output is
    deterministic. Nothing is ever written in the DNS namespace (C(kube-system)).
options:
  _input:
    description: A normalised matrix (the output of P(netzone.segmentation.matrix#filter)).
    type: dict
    required: true
  group_by:
    description:
      - V(none) returns one list of objects in apply order; V(kind) a dict of kind to objects; V(zone) a
        dict of zone name (or C(cluster) for cluster-wide objects) to objects.
    type: str
    choices: [none, kind, zone]
    default: none
seealso:
  - plugin: netzone.segmentation.matrix
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Compile the matrix
  ansible.builtin.set_fact:
    __manifests: "{{ netzone_matrix | netzone.segmentation.matrix(groups=groups, hostvars=hostvars)
                     | netzone.segmentation.zone_manifests }}"

- name: One file per zone
  ansible.builtin.copy:
    content: "{{ item.value | ansible.builtin.to_nice_yaml }}"
    dest: "build/{{ item.key }}.yml"
    mode: "0644"
  loop: "{{ __matrix | netzone.segmentation.zone_manifests(group_by='zone') | dict2items }}"
"""

RETURN = r"""
_value:
  description: The manifests, as a list (O(group_by=none)) or a dict of lists.
  type: raw
"""

from ansible_collections.netzone.segmentation.plugins.module_utils._model.compile import compile_manifests, group_manifests
from ansible_collections.netzone.segmentation.plugins.plugin_utils.filter_support import filter_error, run
from ansible_collections.netzone.segmentation.plugins.plugin_utils.matrix_input import require_normalized


def zone_manifests(data, group_by="none"):
    """Compile a normalised matrix into manifests."""
    matrix = require_normalized("zone_manifests", data)
    if group_by not in ("none", "kind", "zone"):
        raise filter_error("zone_manifests", "group_by must be none, kind or zone, got %r" % (group_by,))
    manifests = run("zone_manifests", compile_manifests, matrix)
    return manifests if group_by == "none" else group_manifests(manifests, group_by)


class FilterModule:
    """netzone.segmentation.zone_manifests"""

    def filters(self):
        return {"zone_manifests": zone_manifests}
