# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``lb_firewall``: what the load balancer's own nftables table (``inet netzone_lb``) admits and refuses."""

from __future__ import annotations

DOCUMENTATION = r"""
name: lb_firewall
short_description: The rules of the load balancer's own nftables table (VRRP peers, HAProxy-only output to the nodes)
version_added: 0.1.0
author: netzone maintainers (@netzone)
description:
  - Computes the content of the table C(inet netzone_lb) that the load balancer role keeps on each load balancer.
    Its input chain admits IP protocol 112 (VRRP) only from the keepalived peers; its output chain lets only
    sockets of HAProxy's user connect to the cluster nodes' ingress port.
  - Bad input (a node whose address is a name, a bad port) fails with one message that names the variable.
options:
  _input:
    description:
      - The VRRP instances of this host (P(netzone.segmentation.vrrp_instances#filter)); their unicast peers are
        the only sources of VRRP admitted. V(null) when the host runs no keepalived (no VRRP chain).
    type: list
    elements: dict
    required: true
  nodes:
    description: The cluster nodes, each with C(name) and C(address) (an IP address).
    type: list
    elements: dict
    default: []
  node_port:
    description: The nodes' ingress port.
    type: int
    default: 80
  user:
    description: The user HAProxy runs as.
    type: str
    default: haproxy
  guard_nodes:
    description: Whether to add the output chain that lets only HAProxy's user reach the nodes.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: The host firewall's content
  ansible.builtin.set_fact:
    firewall: >-
      {{ vrrp_instances | netzone.segmentation.lb_firewall(nodes=[{'name': 'n1', 'address': '192.0.2.21'}],
                                                           node_port=80) }}
"""

RETURN = r"""
_value:
  description:
    - C(table) (V(netzone_lb)), C(vrrp) (whether the VRRP chain is there), C(vrrp_peers4), C(vrrp_peers6),
      C(nodes4), C(nodes6) (sorted addresses), C(node_port) and C(user).
  type: dict
"""

from ansible_collections.netzone.segmentation.plugins.module_utils._edge.firewall import firewall_rules
from ansible_collections.netzone.segmentation.plugins.module_utils._edge.keepalived import vrrp_peers
from ansible_collections.netzone.segmentation.plugins.plugin_utils.filter_support import run


def _rules(instances, nodes, node_port, user, guard_nodes):
    peers = None if instances is None else vrrp_peers(instances)
    return firewall_rules(peers, nodes, node_port, user, guard_nodes)


def lb_firewall(instances, nodes=None, node_port=80, user="haproxy", guard_nodes=True):
    """The content of the ``inet netzone_lb`` table."""
    return run("lb_firewall", _rules, instances, list(nodes or []), node_port, user, guard_nodes)


class FilterModule:
    """netzone.segmentation.lb_firewall"""

    def filters(self):
        return {"lb_firewall": lb_firewall}
