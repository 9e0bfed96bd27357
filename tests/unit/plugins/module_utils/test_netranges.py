# -*- coding: utf-8 -*-
"""The special-purpose lists agree with the standard library's reading of the IANA registries."""

import ipaddress

from ansible_collections.netzone.segmentation.plugins.module_utils._common import netranges


def test_every_v4_range_is_not_global():
    # the registry marks these globally reachable (anycast services), and multicast is not in it at all
    reachable = {"192.31.196.0/24", "192.52.193.0/24", "192.88.99.0/24", "192.175.48.0/24", "224.0.0.0/4"}
    for cidr in netranges.special_purpose(4):
        net = ipaddress.ip_network(cidr)
        assert not net.network_address.is_global or cidr in reachable, cidr


def test_v4_list_has_metadata_cgnat_and_loopback_and_no_overlap():
    nets = [ipaddress.ip_network(c) for c in netranges.special_purpose(4)]
    for addr in ("169.254.169.254", "100.64.0.1", "127.0.0.1", "0.1.2.3", "224.0.0.1", "240.0.0.1"):
        assert any(ipaddress.ip_address(addr) in n for n in nets), addr
    for addr in ("1.1.1.1", "8.8.8.8", "93.184.216.34"):
        assert not any(ipaddress.ip_address(addr) in n for n in nets), addr
    assert len(set(nets)) == len(nets)


def test_v6_list_has_loopback_link_local_ula_and_imds():
    nets = [ipaddress.ip_network(c) for c in netranges.special_purpose(6)]
    for addr in ("::1", "fe80::1", "fd00:ec2::254", "ff02::1", "2001:db8::1"):
        assert any(ipaddress.ip_address(addr) in n for n in nets), addr
    assert not any(ipaddress.ip_address("2606:4700:4700::1111") in n for n in nets)


def test_special_purpose_defaults_to_ipv4():
    default = netranges.special_purpose()
    assert default == netranges.special_purpose(4)
    assert "10.0.0.0/8" in default and "169.254.0.0/16" in default
    assert "::1/128" not in default and "fe80::/10" in netranges.special_purpose(6)
