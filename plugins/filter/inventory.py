# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: inventory
short_description: The inventory view the matrix resolves C(from_group) peers with
version_added: 0.1.0
author: netzone maintainers (@netzone)
description:
  - Turns Ansible's C(groups) and C(hostvars) into C({groups, addresses}), the form the modules of this
    collection take as their C(inventory) option.
  - A host's address is its C(netzone_address), else its C(ansible_host), else its name.
options:
  _input:
    description: The C(groups) magic variable.
    type: dict
    required: true
  hostvars:
    description: The C(hostvars) magic variable.
    type: dict
    required: true
seealso:
  - plugin: netzone.segmentation.matrix
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Check the live cluster against the matrix
  netzone.segmentation.reachability:
    matrix: "{{ netzone_matrix }}"
    inventory: "{{ groups | netzone.segmentation.inventory(hostvars) }}"
"""

RETURN = r"""
_value:
  description: C(groups) (group name to host names) and C(addresses) (host name to address).
  type: dict
"""

from ansible_collections.netzone.segmentation.plugins.plugin_utils.filter_support import inventory_from


def inventory(groups, hostvars):
    """The inventory view of groups and hostvars."""
    return inventory_from(groups, hostvars)


class FilterModule:
    """netzone.segmentation.inventory"""

    def filters(self):
        return {"inventory": inventory}
