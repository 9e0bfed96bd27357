# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The keepalived VRRP instances of the load balancers: validated input, the data the template prints.

Pure Python, no Ansible imports. One VRRP instance per exposure that has a virtual address; each finds its
interface by the subnet that holds the virtual address, talks unicast to the other load balancers' addresses
in that subnet, and tracks HAProxy's process without a weight (a dead HAProxy puts the node in FAULT, so the
address moves). Every problem is a :class:`KeepalivedError` whose message names the variable and the host.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import KeepalivedError

EXPOSURES = ("public", "internal")


def _int(value, name, low, high):
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value).strip())
        except ValueError:
            raise KeepalivedError("%s: must be an integer between %d and %d, got %r" % (name, low, high, value)) from None
    if not low <= value <= high:
        raise KeepalivedError("%s: must be between %d and %d, got %d" % (name, low, high, value))
    return value


def interfaces_from_facts(facts, vips=()):
    """``[{"name", "address", "prefix"}]`` for every IPv4 address (primary and secondary) in Ansible facts.

    A secondary address that is one of ``vips`` is left out: it is a virtual address that keepalived put there
    because this host holds it (a second run on the holder), not an address of the host's own.
    """
    held = {str(vip).strip() for vip in vips if str(vip or "").strip()}
    result = []
    for name in facts.get("interfaces") or []:
        data = facts.get(name.replace("-", "_").replace(".", "_")) or facts.get(name) or {}
        entries = []
        if isinstance(data.get("ipv4"), dict):
            entries.append(data["ipv4"])
        entries += [entry for entry in data.get("ipv4_secondaries") or []
                    if isinstance(entry, dict) and str(entry.get("address")) not in held]
        for entry in entries:
            if entry.get("address") and entry.get("netmask"):
                network = ipaddress.ip_network("%s/%s" % (entry["address"], entry["netmask"]), strict=False)
                result.append({"name": name, "address": entry["address"], "prefix": network.prefixlen})
    return result


def _networks(host):
    out = []
    for entry in host.get("interfaces") or []:
        try:
            interface = ipaddress.ip_interface("%s/%s" % (entry["address"], entry["prefix"]))
        except (KeyError, ValueError):
            raise KeepalivedError("host %s: interface entry %r needs an IPv4 address and a prefix length"
                                  % (host.get("name"), entry)) from None
        out.append((entry["name"], interface))
    return out


def _holder(host, vip, var):
    """``(interface name, ipaddress.IPv4Interface)`` of ``host`` whose subnet holds ``vip``."""
    taken = [name for name, iface in _networks(host) if iface.ip == vip]
    if taken:
        raise KeepalivedError("%s: %s is the own address of %s on %s; a virtual address must be a free address of "
                              "the subnet" % (var, vip, host.get("name"), taken[0]))
    candidates = [(name, iface) for name, iface in _networks(host)
                  if vip in iface.network and iface.network.prefixlen < 32 and iface.ip != vip]
    if not candidates:
        have = ", ".join("%s %s" % (name, iface.with_prefixlen) for name, iface in _networks(host)
                         if not iface.ip.is_loopback) or "none"
        raise KeepalivedError("%s: %s is outside every interface's subnet on %s (its addresses: %s)"
                              % (var, vip, host.get("name"), have))
    return candidates[0]


def _vrrp_network(value, vips):
    """``None`` (each instance on the subnet of its own address) or the ``IPv4Network`` the adverts use."""
    text = str(value or "").strip()
    if not text:
        return None
    if text == "internal":
        vip = str(vips.get("internal") or "").strip()
        if not vip:
            raise KeepalivedError("loadbalancer_vrrp_network: 'internal' needs loadbalancer_internal_vip (the adverts "
                                  "go over the subnet that holds it)")
        return ("internal", vip)
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError:
        raise KeepalivedError("loadbalancer_vrrp_network: %r is neither '', 'internal' nor an IPv4 subnet such as "
                              "198.51.100.0/24" % text) from None
    if network.version != 4 or network.prefixlen >= 31:
        raise KeepalivedError("loadbalancer_vrrp_network: %s must be an IPv4 subnet with room for two hosts" % network)
    return network


def _in_network(host, network, var):
    """``(interface name, IPv4Interface)`` of ``host`` in ``network`` (``("internal", vip)``: the subnet of that
    address)."""
    if isinstance(network, tuple):
        return _holder(host, ipaddress.ip_address(network[1]), "loadbalancer_internal_vip")
    found = [(name, iface) for name, iface in _networks(host) if iface.network == network]
    if not found:
        raise KeepalivedError("%s: %s has no address in %s" % (var, host.get("name"), network))
    return found[0]


def vrrp_peers(instances):
    """The addresses the VRRP adverts may come from (every instance's unicast peers), sorted, for the host
    firewall that admits IP protocol 112 from them only."""
    peers = {peer for instance in instances for peer in instance["unicast_peers"]}
    return sorted(peers, key=ipaddress.ip_address)


def vrrp_instances(host, hosts, settings):
    """The VRRP instances of load balancer ``host`` (one of ``hosts``, all in the same order on every host).

    :param host: ``{"name", "interfaces": [{"name", "address", "prefix"}], "priority"}`` (``priority`` may be
        ``None``: then the first host of ``hosts`` gets 150, the next 140, ...).
    :param hosts: every load balancer in the same shape (the unicast peers come from them).
    :param settings: ``{"vips": {"public": "...", "internal": "..."}, "router_ids": {...}, "preempt": bool,
        "advert_int": int, "network": str}`` (``network``: empty, each instance's adverts on the subnet of its
        own address; ``internal``, every instance's adverts on the subnet of the internal virtual address; or an
        IPv4 subnet in which every load balancer has an address).
    :returns: ``[{"name", "exposure", "interface" (the adverts'), "vip_interface" (the address's), "vip",
        "prefix", "router_id", "priority", "state", "preempt", "advert_int", "unicast_src", "unicast_peers"}]``.
    """
    vips = settings.get("vips") or {}
    router_ids = settings.get("router_ids") or {}
    names = [other.get("name") for other in hosts]
    if host.get("name") not in names:
        raise KeepalivedError("host %s is not one of the load balancers %s" % (host.get("name"), names))
    advert_int = _int(settings.get("advert_int", 1), "loadbalancer_vrrp_advert_int", 1, 255)
    network = _vrrp_network(settings.get("network"), vips)
    preempt = settings.get("preempt", True)
    if not isinstance(preempt, bool):
        raise KeepalivedError("loadbalancer_vrrp_preempt: must be a boolean, got %r" % (preempt,))
    wanted = []
    for exposure in EXPOSURES:
        text = str(vips.get(exposure) or "").strip()
        if not text:
            continue
        var = "loadbalancer_%s_vip" % exposure
        try:
            vip = ipaddress.ip_address(text)
        except ValueError:
            raise KeepalivedError("%s: %r is not an IP address" % (var, text)) from None
        if vip.version != 4:
            raise KeepalivedError("%s: %s is IPv6; the VRRP instances carry IPv4 virtual addresses" % (var, vip))
        if vip.is_loopback or vip.is_multicast or vip.is_unspecified:
            raise KeepalivedError("%s: %s cannot be a virtual address" % (var, vip))
        router_id = _int(router_ids.get(exposure), "loadbalancer_vrrp_%s_router_id" % exposure, 1, 255)
        wanted.append((exposure, var, vip, router_id))
    if not wanted:
        return []
    seen = {}
    for exposure, var, vip, router_id in wanted:
        if router_id in seen:
            raise KeepalivedError("loadbalancer_vrrp_%s_router_id: %d is also the %s instance's router id; each VRRP "
                                  "instance needs its own" % (exposure, router_id, seen[router_id]))
        seen[router_id] = exposure
    vip_values = [item[2] for item in wanted]
    if len(set(vip_values)) != len(vip_values):
        raise KeepalivedError("loadbalancer_internal_vip: %s is also the public virtual address" % vip_values[0])
    if len(hosts) < 2 and not preempt:
        raise KeepalivedError("loadbalancer_vrrp_preempt: false (nopreempt) with a virtual address needs at least two "
                              "load balancers, but %s is the only one: add the second host, or drop the virtual "
                              "addresses" % host.get("name"))
    index = names.index(host.get("name"))
    priority = host.get("priority")
    if priority in (None, "", "auto"):
        priority = max(1, 150 - 10 * index)
    priority = _int(priority, "loadbalancer_vrrp_priority (host %s)" % host.get("name"), 1, 254)
    priorities = {}
    for position, other in enumerate(hosts):
        value = other.get("priority")
        value = max(1, 150 - 10 * position) if value in (None, "", "auto") else value
        priorities.setdefault(_int(value, "loadbalancer_vrrp_priority (host %s)" % other.get("name"), 1, 254),
                              []).append(other.get("name"))
    clash = [group for group in priorities.values() if len(group) > 1]
    if clash:
        raise KeepalivedError("loadbalancer_vrrp_priority: hosts %s have the same priority; give each its own"
                              % " and ".join(clash[0]))
    highest = max(priorities)
    instances = []
    for exposure, var, vip, router_id in wanted:
        vip_interface, own = _holder(host, vip, var)
        # The adverts travel on the subnet of the address itself, or on the one loadbalancer_vrrp_network names.
        if network is None:
            interface, talk, where = vip_interface, own, "%s (the subnet of %s)" % (own.network, vip)
        else:
            interface, talk = _in_network(host, network, "loadbalancer_vrrp_network")
            where = "%s (loadbalancer_vrrp_network)" % talk.network
        peers = []
        for other in hosts:
            if other.get("name") == host.get("name"):
                continue
            peer = [iface for _name, iface in _networks(other) if iface.network == talk.network
                    and iface.ip not in vip_values]
            if not peer:
                raise KeepalivedError("%s: load balancer %s has no address in %s, so it cannot be a VRRP peer of %s"
                                      % (var, other.get("name"), where, host.get("name")))
            peers.append(str(peer[0].ip))
        if str(talk.ip) in peers:
            raise KeepalivedError("%s: %s and another load balancer both have the address %s"
                                  % (var, host.get("name"), talk.ip))
        instances.append({
            "name": "NZ_%s" % exposure.upper(),
            "exposure": exposure,
            "interface": interface,
            "vip_interface": vip_interface,
            "vip": str(vip),
            "prefix": own.network.prefixlen,
            "router_id": router_id,
            "priority": priority,
            # With nopreempt every node starts BACKUP; with preempt the highest priority starts MASTER.
            "state": "MASTER" if preempt and priority == highest else "BACKUP",
            "preempt": preempt,
            "advert_int": advert_int,
            "unicast_src": str(talk.ip),
            "unicast_peers": peers,
        })
    return instances
