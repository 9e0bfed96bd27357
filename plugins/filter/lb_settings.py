# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``lb_settings``: every problem of the load balancer role's settings, one message per wrong setting."""

from __future__ import annotations

DOCUMENTATION = r"""
name: lb_settings
short_description: Check the load balancer role's settings all at once, one message per wrong setting
version_added: 0.1.0
author: netzone maintainers (@netzone)
description:
  - Checks the settings of the P(netzone.segmentation.loadbalancer#role) role before it touches a host, and
    returns every problem at once, one message per wrong setting, each starting with the variable to change.
  - Normalises the vhosts (as P(netzone.segmentation.lb_vhosts#filter) does) and checks the listeners as
    P(netzone.segmentation.haproxy_routing#filter) computes them; a bad vhost or an overlapping listener is one
    more message.
options:
  _input:
    description: The role's variables by their names (C(loadbalancer_vhosts), C(loadbalancer_waf_mode)...).
    type: dict
    required: true
  nodes:
    description: The backend nodes, each with C(name) and C(address).
    type: list
    elements: dict
    required: true
  group:
    description: The inventory group the nodes came from; omit it when they are C(loadbalancer_backend_nodes).
    type: str
  tls_profiles:
    description: The names of the TLS profiles the role knows.
    type: list
    elements: str
    default: []
  listeners:
    description: The frontends' addresses and ports per exposure (C(public), C(internal)).
    type: dict
"""

EXAMPLES = r"""
- name: Check the settings
  ansible.builtin.fail:
    msg: "{{ __checked.problems | join('; ') }}"
  when: __checked.problems | length > 0
  vars:
    __checked: >-
      {{ {'loadbalancer_vhosts': [{'name': 'shop.example.com', 'service': 'web'}], 'loadbalancer_waf_mode': 'block'}
         | netzone.segmentation.lb_settings(nodes=[{'name': 'node1', 'address': '192.0.2.10'}],
                                            tls_profiles=['intermediate', 'modern']) }}
"""

RETURN = r"""
_value:
  description:
    - C(problems), one message per wrong setting (empty when every setting is right), each starting with the
      variable to change.
    - C(vhosts), the normalised vhosts (empty when they are wrong).
    - C(warnings), what is valid but probably not meant (a public vhost without C(tls), which silently gets a
      self-signed certificate); the filter shows them as warnings too.
  type: dict
"""

from ansible.utils.display import Display

from ansible_collections.netzone.segmentation.plugins.module_utils._edge.lb_settings import check_settings
from ansible_collections.netzone.segmentation.plugins.plugin_utils.filter_support import run

display = Display()


def lb_settings(settings, nodes, group=None, tls_profiles=None, listeners=None):
    """The problems of the load balancer role's settings, see :func:`lb_settings.check_settings`."""
    checked = run("lb_settings", check_settings, settings, nodes, group, tuple(tls_profiles or ()), listeners)
    for warning in checked["warnings"]:
        display.warning("netzone.segmentation.lb_settings: %s" % warning)
    return checked


class FilterModule:
    """netzone.segmentation.lb_settings"""

    def filters(self):
        return {"lb_settings": lb_settings}
