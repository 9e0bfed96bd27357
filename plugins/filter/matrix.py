# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: matrix
short_description: Validate and normalise the traffic matrix
version_added: 0.1.0
author: netzone maintainers (@netzone)
description:
  - Validates C(netzone_matrix) and returns it fully explicit, every default filled in.
  - Without input (V(null)) it returns the article's model, the default matrix.
  - Peers given as C(from_group) are resolved to addresses from the inventory. A host's address is its
    C(netzone_address), else its C(ansible_host), else its name, which must be an IP address.
  - "An invalid matrix fails with one message naming the path, for example
    C(flows[3].to: unknown zone or peer 'bakend' (did you mean 'backend'?))."
options:
  _input:
    description: The matrix as the user wrote it, or V(null) for the default model.
    type: dict
    required: true
  groups:
    description: The inventory groups (pass the C(groups) magic variable) to resolve C(from_group) peers.
    type: dict
  hostvars:
    description: The C(hostvars) magic variable, for host addresses.
    type: dict
  inventory:
    description:
      - "An explicit inventory view C({groups: {name: [hosts]}, addresses: {host: ip}}), instead of O(groups)
        and O(hostvars)."
    type: dict
seealso:
  - plugin: netzone.segmentation.zone_manifests
    plugin_type: filter
  - plugin: netzone.segmentation.verify_matrix
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Validate the matrix of the inventory
  ansible.builtin.set_fact:
    __matrix: "{{ netzone_matrix | netzone.segmentation.matrix(groups=groups, hostvars=hostvars) }}"

- name: The article's default model, with explicit addresses
  ansible.builtin.debug:
    msg: >-
      {{ None | netzone.segmentation.matrix(inventory={'groups': {'loadbalancers': ['lb1'], 'microk8s': ['n1']},
                                                      'addresses': {'lb1': '192.0.2.10', 'n1': '192.0.2.21'}}) }}
"""

RETURN = r"""
_value:
  description:
    - The normalised matrix with keys C(cluster), C(services), C(peers), C(zones), C(flows), C(vhosts), C(guards).
    - Flows are one per (from, to) pair, sorted, and include the zones' C(intra_zone) and C(needs).
  type: dict
"""

from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import normalize_matrix
from ansible_collections.netzone.segmentation.plugins.plugin_utils.filter_support import inventory_from, run


def matrix(data, groups=None, hostvars=None, inventory=None):
    """Validate and normalise a traffic matrix."""
    return run("matrix", normalize_matrix, data, inventory_from(groups, hostvars, inventory))


class FilterModule:
    """netzone.segmentation.matrix"""

    def filters(self):
        return {"matrix": matrix}
