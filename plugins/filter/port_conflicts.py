# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``port_conflicts``: the wanted ports another program already listens on."""

from __future__ import annotations

DOCUMENTATION = r"""
name: port_conflicts
short_description: The ports a service needs that another program already listens on
version_added: 0.1.0
author: netzone maintainers (@netzone)
description:
  - Compares the TCP listeners that P(community.general.listen_ports_facts#module) gathered with the ports a
    service needs, and returns each wanted port that another program holds.
  - A wildcard address (V(*), V(0.0.0.0), V(::)) on either side overlaps every address.
options:
  _input:
    description: C(ansible_facts.tcp_listen) as P(community.general.listen_ports_facts#module) gathers it.
    type: list
    elements: dict
    required: true
  wanted:
    description:
      - The wanted ports, each with C(address), C(port), C(what) (what needs it) and C(var) (the setting to change).
      - An entry whose C(port) is V(0) or empty is not wanted.
    type: list
    elements: dict
    required: true
  own_programs:
    description: Programs that may hold the ports (the service's own, on a re-run).
    type: list
    elements: str
    default: []
seealso:
  - module: community.general.listen_ports_facts
"""

EXAMPLES = r"""
- name: Gather the listening ports
  community.general.listen_ports_facts:

- name: Stop when another program holds port 443
  ansible.builtin.assert:
    that: __conflicts | length == 0
    fail_msg: "{{ __conflicts[0].want }} is held by {{ __conflicts[0].owner }}"
  vars:
    __conflicts: >-
      {{ ansible_facts.tcp_listen | netzone.segmentation.port_conflicts(
           [{'address': '*', 'port': 443, 'what': 'HTTPS frontend', 'var': 'https_port'}], own_programs=['haproxy']) }}
"""

RETURN = r"""
_value:
  description:
    - One item per wanted port held by another program, in the order of O(wanted), with C(want) (V(address:port)),
      C(what), C(var), C(local) (where the other program listens) and C(owner) (its name and pid).
  type: list
  elements: dict
"""

from ansible_collections.netzone.segmentation.plugins.module_utils._edge.ports import port_conflicts as _port_conflicts
from ansible_collections.netzone.segmentation.plugins.plugin_utils.filter_support import run


def port_conflicts(listening, wanted, own_programs=None):
    """The wanted ports another program already listens on."""
    return run("port_conflicts", _port_conflicts, listening, wanted, tuple(own_programs or ()))


class FilterModule:
    """netzone.segmentation.port_conflicts"""

    def filters(self):
        return {"port_conflicts": port_conflicts}
