# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``vrrp_instances``: the keepalived VRRP instances of one load balancer, validated."""

from __future__ import annotations

DOCUMENTATION = r"""
name: vrrp_instances
short_description: The keepalived VRRP instances of one load balancer (one per exposure with a virtual address)
version_added: 0.2.0
author: netzone maintainers
description:
  - Returns one VRRP instance per exposure (public, internal) that has a virtual address, for the load balancer
    named by the input, with the interface whose subnet holds the address, its own address there (the unicast
    source), the other load balancers' addresses in that subnet (the unicast peers), the router id, the priority
    and the start state.
  - "Bad input fails with one message that names the variable and the host, for example
    C(loadbalancer_public_vip: 198.51.100.5 is outside every interface's subnet on lb-1 (its addresses: eth0 203.0.113.10/24))."
options:
  _input:
    description: The inventory name of the load balancer.
    type: str
    required: true
  hosts:
    description:
      - Every load balancer, in the same order on every host, each with C(name), C(priority) (V(null) or V(auto)
        for 150, 140, ... by position) and either C(interfaces) (a list of C(name), C(address), C(prefix)) or
        C(facts) (its C(ansible_facts); every IPv4 address of every interface counts, except a secondary address
        that is one of the virtual addresses, which keepalived put there on the host that holds it).
    type: list
    elements: dict
    required: true
  vips:
    description: The virtual addresses, C({public, internal}); an empty one means no instance.
    type: dict
    required: true
  router_ids:
    description: The VRRP router ids, C({public, internal}), distinct, 1-255.
    type: dict
    required: true
  preempt:
    description: Whether a returning higher-priority node takes the address back; V(false) starts every node BACKUP.
    type: bool
    default: true
  advert_int:
    description: Seconds between VRRP adverts.
    type: int
    default: 1
  network:
    description:
      - Where the adverts travel. Empty, each instance's on the subnet of its own virtual address; V(internal),
        every instance's on the subnet of the internal virtual address; or an IPv4 subnet in which every load
        balancer has an address.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: The VRRP instances of this host
  ansible.builtin.set_fact:
    instances: >-
      {{ inventory_hostname | netzone.segmentation.vrrp_instances(
           hosts=[{'name': 'lb-1', 'facts': hostvars['lb-1'].ansible_facts}, {'name': 'lb-2', 'facts': hostvars['lb-2'].ansible_facts}],
           vips={'public': '203.0.113.5', 'internal': ''}, router_ids={'public': 51, 'internal': 52}) }}
"""

RETURN = r"""
_value:
  description:
    - One item per instance, with C(name) (C(NZ_PUBLIC), C(NZ_INTERNAL)), C(exposure), C(interface) (the adverts'),
      C(vip_interface) (the one that holds the address), C(vip),
      C(prefix), C(router_id), C(priority), C(state), C(preempt), C(advert_int), C(unicast_src) and C(unicast_peers).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.netzone.segmentation.plugins.module_utils._edge.keepalived import interfaces_from_facts, vrrp_instances
from ansible_collections.netzone.segmentation.plugins.plugin_utils.filter_support import run


def _hosts(hosts, vips):
    if not isinstance(hosts, list) or not all(isinstance(item, dict) for item in hosts):
        raise AnsibleFilterError("netzone.segmentation.vrrp_instances: hosts must be a list of mappings")
    out = []
    for item in hosts:
        interfaces = item.get("interfaces")
        if interfaces is None:
            # A virtual address the host holds (a secondary address) is not one of its own.
            interfaces = interfaces_from_facts(item.get("facts") or {}, vips.values())
        out.append({"name": item.get("name"), "priority": item.get("priority"), "interfaces": interfaces})
    return out


def _instances(name, hosts, vips, router_ids, preempt, advert_int, network):
    hosts = _hosts(hosts, vips)
    mine = [item for item in hosts if item["name"] == name]
    host = mine[0] if mine else {"name": name, "interfaces": []}
    return vrrp_instances(host, hosts, {"vips": vips, "router_ids": router_ids, "preempt": preempt,
                                        "advert_int": advert_int, "network": network})


def vrrp_instances_filter(name, hosts=None, vips=None, router_ids=None, preempt=True, advert_int=1, network=""):
    """The VRRP instances of load balancer ``name``."""
    return run("vrrp_instances", _instances, name, hosts or [], dict(vips or {}), dict(router_ids or {}),
               preempt, advert_int, network)


class FilterModule:
    """The ``vrrp_instances`` filter."""

    def filters(self):
        return {"vrrp_instances": vrrp_instances_filter}
