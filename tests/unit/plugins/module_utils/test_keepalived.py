# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The keepalived VRRP instances: interfaces, unicast peers, priorities, start states, and bad input."""

from __future__ import annotations

import pytest

from ansible_collections.netzone.segmentation.plugins.module_utils._edge.keepalived import (
    KeepalivedError, interfaces_from_facts, vrrp_instances, vrrp_peers)


def lb(name, public, internal=None, priority=None):
    interfaces = [{"name": "eth0", "address": public, "prefix": 24}]
    if internal:
        interfaces.append({"name": "eth1", "address": internal, "prefix": 24})
    return {"name": name, "priority": priority, "interfaces": interfaces}


HOSTS = [lb("lb-1", "203.0.113.11", "10.20.0.11"), lb("lb-2", "203.0.113.12", "10.20.0.12")]
SETTINGS = {"vips": {"public": "203.0.113.10", "internal": "10.20.0.10"}, "router_ids": {"public": 51, "internal": 52},
            "preempt": True, "advert_int": 1}


def test_one_instance_per_exposure_with_unicast_peers():
    first = vrrp_instances(HOSTS[0], HOSTS, SETTINGS)
    assert first == [
        {"name": "NZ_PUBLIC", "exposure": "public", "interface": "eth0", "vip_interface": "eth0", "vip": "203.0.113.10", "prefix": 24,
         "router_id": 51, "priority": 150, "state": "MASTER", "preempt": True, "advert_int": 1,
         "unicast_src": "203.0.113.11", "unicast_peers": ["203.0.113.12"]},
        {"name": "NZ_INTERNAL", "exposure": "internal", "interface": "eth1", "vip_interface": "eth1", "vip": "10.20.0.10", "prefix": 24,
         "router_id": 52, "priority": 150, "state": "MASTER", "preempt": True, "advert_int": 1,
         "unicast_src": "10.20.0.11", "unicast_peers": ["10.20.0.12"]}]
    second = vrrp_instances(HOSTS[1], HOSTS, SETTINGS)
    assert [(i["priority"], i["state"], i["unicast_src"], i["unicast_peers"]) for i in second] == [
        (140, "BACKUP", "203.0.113.12", ["203.0.113.11"]), (140, "BACKUP", "10.20.0.12", ["10.20.0.11"])]


def test_vrrp_on_the_internal_network():
    """loadbalancer_vrrp_network: internal: both instances advertise from the internal subnet, each address
    stays on its own interface; the firewall admits the internal peers only."""
    for network in ("internal", "10.20.0.0/24"):
        first = vrrp_instances(HOSTS[0], HOSTS, dict(SETTINGS, network=network))
        assert [(i["interface"], i["vip_interface"], i["unicast_src"], i["unicast_peers"]) for i in first] == [
            ("eth1", "eth0", "10.20.0.11", ["10.20.0.12"]), ("eth1", "eth1", "10.20.0.11", ["10.20.0.12"])]
        assert vrrp_peers(first) == ["10.20.0.12"]
    assert vrrp_peers(vrrp_instances(HOSTS[0], HOSTS, SETTINGS)) == ["10.20.0.12", "203.0.113.12"]


@pytest.mark.parametrize("settings, message", [
    (dict(SETTINGS, network="internal", vips={"public": "203.0.113.10", "internal": ""}),
     "loadbalancer_vrrp_network: 'internal' needs loadbalancer_internal_vip"),
    (dict(SETTINGS, network="10.99.0.0/24"), "loadbalancer_vrrp_network: lb-1 has no address in 10.99.0.0/24"),
    (dict(SETTINGS, network="eth1"), "loadbalancer_vrrp_network: 'eth1' is neither '', 'internal' nor an IPv4 subnet"),
    (dict(SETTINGS, network="10.20.0.1/24"), "loadbalancer_vrrp_network: '10.20.0.1/24' is neither"),
])
def test_vrrp_network_bad_input(settings, message):
    with pytest.raises(KeepalivedError) as err:
        vrrp_instances(HOSTS[0], HOSTS, settings)
    assert message in str(err.value)


def test_nopreempt_starts_every_node_backup():
    settings = dict(SETTINGS, preempt=False)
    for host in HOSTS:
        assert {i["state"] for i in vrrp_instances(host, HOSTS, settings)} == {"BACKUP"}
        assert not any(i["preempt"] for i in vrrp_instances(host, HOSTS, settings))


def test_no_vip_no_instance_and_explicit_priorities():
    assert vrrp_instances(HOSTS[0], HOSTS, dict(SETTINGS, vips={})) == []
    hosts = [lb("lb-1", "203.0.113.11", priority=100), lb("lb-2", "203.0.113.12", priority="200")]
    settings = dict(SETTINGS, vips={"public": "203.0.113.10"})
    assert [(i["priority"], i["state"]) for i in vrrp_instances(hosts[1], hosts, settings)] == [(200, "MASTER")]
    assert [(i["priority"], i["state"]) for i in vrrp_instances(hosts[0], hosts, settings)] == [(100, "BACKUP")]


@pytest.mark.parametrize("hosts, settings, message", [
    (HOSTS, dict(SETTINGS, vips={"public": "198.51.100.5"}),
     "loadbalancer_public_vip: 198.51.100.5 is outside every interface's subnet on lb-1 "
     "(its addresses: eth0 203.0.113.11/24, eth1 10.20.0.11/24)"),
    (HOSTS, dict(SETTINGS, router_ids={"public": 51, "internal": 51}),
     "loadbalancer_vrrp_internal_router_id: 51 is also the public instance's router id; each VRRP instance needs its own"),
    (HOSTS[:1], dict(SETTINGS, preempt=False),
     "loadbalancer_vrrp_preempt: false (nopreempt) with a virtual address needs at least two load balancers, but "
     "lb-1 is the only one: add the second host, or drop the virtual addresses"),
    ([HOSTS[0], lb("lb-2", "198.51.100.12", "10.20.0.12")], SETTINGS,
     "loadbalancer_public_vip: load balancer lb-2 has no address in 203.0.113.0/24 (the subnet of 203.0.113.10), "
     "so it cannot be a VRRP peer of lb-1"),
    ([lb("lb-1", "203.0.113.11", priority=150), lb("lb-2", "203.0.113.12", priority=150)],
     dict(SETTINGS, vips={"public": "203.0.113.10"}),
     "loadbalancer_vrrp_priority: hosts lb-1 and lb-2 have the same priority; give each its own"),
    ([lb("lb-1", "203.0.113.11", priority=255), lb("lb-2", "203.0.113.12", priority=100)],
     dict(SETTINGS, vips={"public": "203.0.113.10"}),
     "loadbalancer_vrrp_priority (host lb-1): must be between 1 and 254, got 255"),
    (HOSTS, dict(SETTINGS, vips={"public": "shop"}), "loadbalancer_public_vip: 'shop' is not an IP address"),
    (HOSTS, dict(SETTINGS, vips={"public": "2001:db8::10"}),
     "loadbalancer_public_vip: 2001:db8::10 is IPv6; the VRRP instances carry IPv4 virtual addresses"),
    (HOSTS, dict(SETTINGS, router_ids={"public": 256, "internal": 52}),
     "loadbalancer_vrrp_public_router_id: must be between 1 and 255, got 256"),
    (HOSTS, dict(SETTINGS, vips={"public": "203.0.113.11"}),
     "loadbalancer_public_vip: 203.0.113.11 is the own address of lb-1 on eth0; a virtual address must be a free "
     "address of the subnet"),
])
def test_bad_input_one_message(hosts, settings, message):
    with pytest.raises(KeepalivedError) as err:
        vrrp_instances(hosts[0], hosts, settings)
    assert str(err.value) == message


def test_interfaces_from_ansible_facts():
    facts = {"interfaces": ["lo", "eth0", "br-lan"],
             "lo": {"ipv4": {"address": "127.0.0.1", "netmask": "255.0.0.0"}},
             "eth0": {"ipv4": {"address": "203.0.113.11", "netmask": "255.255.255.0"},
                      "ipv4_secondaries": [{"address": "10.20.0.11", "netmask": "255.255.0.0"}]},
             "br_lan": {"ipv4": {"address": "192.0.2.1", "netmask": "255.255.255.128"}}}
    assert interfaces_from_facts(facts) == [
        {"name": "lo", "address": "127.0.0.1", "prefix": 8},
        {"name": "eth0", "address": "203.0.113.11", "prefix": 24},
        {"name": "eth0", "address": "10.20.0.11", "prefix": 16},
        {"name": "br-lan", "address": "192.0.2.1", "prefix": 25}]


def _facts(primary, *secondaries):
    """Ansible facts of a host whose eth0 has ``primary`` and ``secondaries`` (all /24)."""
    return {"interfaces": ["lo", "eth0"],
            "lo": {"ipv4": {"address": "127.0.0.1", "netmask": "255.0.0.0"}},
            "eth0": {"ipv4": {"address": primary, "netmask": "255.255.255.0"},
                     "ipv4_secondaries": [{"address": address, "netmask": "255.255.255.0"} for address in secondaries]}}


def test_a_peer_with_two_addresses_in_the_subnet_is_reached_at_the_one_it_sends_from():
    """lb-2 has a second address in the public subnet (a service address on eth0:1): its adverts leave from the
    first one, its unicast_src, so that is the only address lb-1 takes them from."""
    settings = {"vips": {"public": "203.0.113.10"}, "router_ids": {"public": 51}, "preempt": True, "advert_int": 1}
    second = lb("lb-2", "203.0.113.12")
    second["interfaces"].append({"name": "eth0:1", "address": "203.0.113.20", "prefix": 24})
    hosts = [lb("lb-1", "203.0.113.11"), second]
    assert [(i["unicast_src"], i["unicast_peers"]) for i in vrrp_instances(hosts[1], hosts, settings)] == [
        ("203.0.113.12", ["203.0.113.11"])]
    assert [(i["unicast_src"], i["unicast_peers"]) for i in vrrp_instances(hosts[0], hosts, settings)] == [
        ("203.0.113.11", ["203.0.113.12"])]


def test_a_second_run_on_the_holder_gives_the_same_instances():
    """keepalived adds the virtual address as a secondary address of the holder: in its facts on the next run,
    it is no address of the host's own (the run used to fail there: 'is the own address of lb-1')."""
    settings = {"vips": {"public": "203.0.113.10"}, "router_ids": {"public": 51}, "preempt": True, "advert_int": 1}
    before = [{"name": "lb-1", "priority": None, "interfaces": interfaces_from_facts(_facts("203.0.113.11"))},
              {"name": "lb-2", "priority": None, "interfaces": interfaces_from_facts(_facts("203.0.113.12"))}]
    first = vrrp_instances(before[0], before, settings)
    holding = interfaces_from_facts(_facts("203.0.113.11", "203.0.113.10"), ["203.0.113.10", ""])
    assert holding == [{"name": "lo", "address": "127.0.0.1", "prefix": 8},
                       {"name": "eth0", "address": "203.0.113.11", "prefix": 24}]
    after = [{"name": "lb-1", "priority": None, "interfaces": holding}, before[1]]
    assert vrrp_instances(after[0], after, settings) == first
    assert vrrp_instances(after[1], after, settings) == vrrp_instances(before[1], before, settings)


def test_the_virtual_address_as_a_primary_address_is_still_refused():
    """Only a secondary address can be one keepalived added; a primary one is the host's own (a mistake)."""
    settings = {"vips": {"public": "203.0.113.10"}, "router_ids": {"public": 51}}
    hosts = [{"name": "lb-1", "interfaces": interfaces_from_facts(_facts("203.0.113.10"), ["203.0.113.10"])},
             {"name": "lb-2", "interfaces": interfaces_from_facts(_facts("203.0.113.12"), ["203.0.113.10"])}]
    with pytest.raises(KeepalivedError) as err:
        vrrp_instances(hosts[0], hosts, settings)
    assert str(err.value) == ("loadbalancer_public_vip: 203.0.113.10 is the own address of lb-1 on eth0; a virtual "
                              "address must be a free address of the subnet")


@pytest.mark.parametrize("host, hosts, settings, message", [
    (lb("lb-9", "203.0.113.19"), HOSTS, SETTINGS, "host lb-9 is not one of the load balancers ['lb-1', 'lb-2']"),
    (HOSTS[0], HOSTS, dict(SETTINGS, preempt="yes"), "loadbalancer_vrrp_preempt: must be a boolean, got 'yes'"),
    (HOSTS[0], HOSTS, dict(SETTINGS, advert_int="often"),
     "loadbalancer_vrrp_advert_int: must be an integer between 1 and 255, got 'often'"),
    (HOSTS[0], HOSTS, dict(SETTINGS, advert_int=0), "loadbalancer_vrrp_advert_int: must be between 1 and 255, got 0"),
    (HOSTS[0], HOSTS, dict(SETTINGS, advert_int=True),
     "loadbalancer_vrrp_advert_int: must be an integer between 1 and 255, got True"),
    (HOSTS[0], HOSTS, dict(SETTINGS, network="10.20.0.0/31"),
     "loadbalancer_vrrp_network: 10.20.0.0/31 must be an IPv4 subnet with room for two hosts"),
    (HOSTS[0], HOSTS, dict(SETTINGS, network="2001:db8::/64"),
     "loadbalancer_vrrp_network: 2001:db8::/64 must be an IPv4 subnet with room for two hosts"),
    (HOSTS[0], HOSTS, dict(SETTINGS, vips={"public": "127.0.0.5"}),
     "loadbalancer_public_vip: 127.0.0.5 cannot be a virtual address"),
    (HOSTS[0], HOSTS, dict(SETTINGS, vips={"internal": "224.0.0.18"}),
     "loadbalancer_internal_vip: 224.0.0.18 cannot be a virtual address"),
    (HOSTS[0], HOSTS, dict(SETTINGS, vips={"public": "0.0.0.0"}),
     "loadbalancer_public_vip: 0.0.0.0 cannot be a virtual address"),
    (HOSTS[0], HOSTS, dict(SETTINGS, vips={"public": "203.0.113.10", "internal": " 203.0.113.10 "}),
     "loadbalancer_internal_vip: 203.0.113.10 is also the public virtual address"),
    (dict(HOSTS[0], interfaces=[{"name": "eth0", "address": "203.0.113.11"}]), HOSTS, SETTINGS,
     "host lb-1: interface entry {'name': 'eth0', 'address': '203.0.113.11'} needs an IPv4 address and a prefix "
     "length"),
    (HOSTS[0], [HOSTS[0], lb("lb-2", "203.0.113.11", "10.20.0.12")], dict(SETTINGS, vips={"public": "203.0.113.10"}),
     "loadbalancer_public_vip: lb-1 and another load balancer both have the address 203.0.113.11"),
])
def test_more_bad_input_one_whole_message(host, hosts, settings, message):
    with pytest.raises(KeepalivedError) as err:
        vrrp_instances(host, hosts, settings)
    assert str(err.value) == message


def test_the_first_host_of_three_gets_150_then_140_then_130_and_the_advert_interval_is_read():
    hosts = [lb("lb-1", "203.0.113.11"), lb("lb-2", "203.0.113.12"), lb("lb-3", "203.0.113.13", priority="auto")]
    settings = dict(SETTINGS, vips={"public": "203.0.113.10"}, advert_int=" 3 ")
    got = [(i["priority"], i["state"], i["advert_int"], i["unicast_src"], i["unicast_peers"])
           for host in hosts for i in vrrp_instances(host, hosts, settings)]
    assert got == [(150, "MASTER", 3, "203.0.113.11", ["203.0.113.12", "203.0.113.13"]),
                   (140, "BACKUP", 3, "203.0.113.12", ["203.0.113.11", "203.0.113.13"]),
                   (130, "BACKUP", 3, "203.0.113.13", ["203.0.113.11", "203.0.113.12"])]
    assert vrrp_peers(vrrp_instances(hosts[0], hosts, settings) + vrrp_instances(hosts[1], hosts, settings)) == [
        "203.0.113.11", "203.0.113.12", "203.0.113.13"]


def test_automatic_priorities_go_down_by_ten_and_stop_at_one():
    settings = dict(SETTINGS, vips={"public": "203.0.113.200"})
    hosts = [lb("lb-%d" % n, "203.0.113.%d" % n) for n in range(1, 17)]
    assert [vrrp_instances(host, hosts, settings)[0]["priority"] for host in hosts] == [
        150, 140, 130, 120, 110, 100, 90, 80, 70, 60, 50, 40, 30, 20, 10, 1]
    # a seventeenth would get 1 too: the hosts' priorities must differ
    hosts.append(lb("lb-17", "203.0.113.17"))
    with pytest.raises(KeepalivedError) as err:
        vrrp_instances(hosts[0], hosts, settings)
    assert str(err.value) == "loadbalancer_vrrp_priority: hosts lb-16 and lb-17 have the same priority; give each its own"


def test_the_highest_priority_router_id_and_advert_interval_are_taken():
    hosts = [lb("lb-1", "203.0.113.11", priority=254), lb("lb-2", "203.0.113.12", priority=1)]
    settings = dict(SETTINGS, vips={"public": "203.0.113.10"}, router_ids={"public": 255}, advert_int=255)
    assert [(i["priority"], i["router_id"], i["advert_int"]) for i in vrrp_instances(hosts[0], hosts, settings)] == [
        (254, 255, 255)]
    assert [(i["priority"], i["router_id"], i["advert_int"]) for i in vrrp_instances(hosts[1], hosts, settings)] == [
        (1, 255, 255)]


def test_of_two_priority_clashes_the_first_hosts_are_named():
    settings = dict(SETTINGS, vips={"public": "203.0.113.10"})
    hosts = [lb("lb-1", "203.0.113.11", priority=120), lb("lb-2", "203.0.113.12", priority=120),
             lb("lb-3", "203.0.113.13", priority=90), lb("lb-4", "203.0.113.14", priority=90)]
    with pytest.raises(KeepalivedError) as err:
        vrrp_instances(hosts[0], hosts, settings)
    assert str(err.value) == "loadbalancer_vrrp_priority: hosts lb-1 and lb-2 have the same priority; give each its own"
