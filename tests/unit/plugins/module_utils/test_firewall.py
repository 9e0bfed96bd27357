# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The load balancer's host firewall: which sources of VRRP and which nodes its table names; bad input."""

from __future__ import annotations

import pytest

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import FirewallError
from ansible_collections.netzone.segmentation.plugins.module_utils._edge.firewall import firewall_rules

NODES = [{"name": "n2", "address": "192.0.2.22"}, {"name": "n1", "address": "192.0.2.21"},
         {"name": "n6", "address": "2001:db8::21"}]


def test_peers_and_nodes_sorted_by_family():
    rules = firewall_rules(["198.51.100.12", "192.0.2.12", "2001:db8::12"], NODES, 80)
    assert rules == {"table": "netzone_lb", "vrrp": True, "vrrp_peers4": ["192.0.2.12", "198.51.100.12"],
                     "vrrp_peers6": ["2001:db8::12"], "nodes4": ["192.0.2.21", "192.0.2.22"],
                     "nodes6": ["2001:db8::21"], "node_port": 80, "user": "haproxy"}


def test_the_whole_port_range_is_accepted():
    assert [firewall_rules([], NODES, port)["node_port"] for port in (1, "65535", 65535)] == [1, 65535, 65535]
    with pytest.raises(FirewallError) as err:
        firewall_rules([], NODES, 65536)
    assert str(err.value) == "loadbalancer_backend_port: must be a TCP port (1-65535), got 65536"


def test_no_keepalived_no_vrrp_chain_and_no_peers_drops_every_advert():
    assert firewall_rules(None, NODES, 80)["vrrp"] is False
    lonely = firewall_rules([], NODES, 80)
    assert lonely["vrrp"] is True and lonely["vrrp_peers4"] == [] and lonely["vrrp_peers6"] == []


def test_without_the_node_guard_node_names_are_fine():
    rules = firewall_rules([], [{"name": "n1", "address": "node1.example.com"}], "x", guard_nodes=False)
    assert rules["nodes4"] == [] and rules["nodes6"] == [] and rules["node_port"] is None


@pytest.mark.parametrize("args, message", [
    (([], [{"name": "n1", "address": "node1.example.com"}], 80),
     "loadbalancer_firewall_guard_nodes: node n1 (nodes[0]) has the address 'node1.example.com', not an IP address"),
    (([], NODES, 0), "loadbalancer_backend_port: must be a TCP port (1-65535), got 0"),
    (([], NODES, "http"), "loadbalancer_backend_port: must be a TCP port (1-65535), got 'http'"),
    (([], NODES, True), "loadbalancer_backend_port: must be a TCP port (1-65535), got True"),
    ((["peer-2"], NODES, 80), "VRRP peer 'peer-2' is not an IP address"),
    (([], NODES, 80, "haproxy\n"), "loadbalancer_firewall: HAProxy's user 'haproxy\\n' is not a user name"),
    (([], NODES, 80, "ha proxy"), "HAProxy's user 'ha proxy' is not a user name"),
])
def test_bad_input_one_message(args, message):
    with pytest.raises(FirewallError) as err:
        firewall_rules(*args)
    assert message in str(err.value)
