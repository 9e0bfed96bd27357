# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a set of address blocks actually covers  (plain Python, no Ansible, no I/O)

The internet is recognised by coverage, not by spelling: ``0.0.0.0/0``, ``0.0.0.0/1`` + ``128.0.0.0/1``, sixteen
``/4`` blocks, ``::/1`` + ``8000::/1`` or ``2000::/3`` cut into pieces all cover the same public addresses.
Address sets here are sorted, disjoint lists of ``(first, last)`` integers per IP version, so that a union, a
difference and a count cost as much as the number of blocks, whatever their size.

* :func:`blocks_space` - the addresses of ``[(network, [except networks])]``;
* :func:`public` - the part of a space outside every special-purpose range (:mod:`netranges`);
* :func:`count` - how many addresses a space holds, per version;
* :func:`exceeds` - whether a space holds more public addresses than the bound of :func:`DEFAULT_INTERNET_BOUND`.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.netzone.segmentation.plugins.module_utils._common.netranges import (
    SPECIAL_PURPOSE_V4, SPECIAL_PURPOSE_V6)

#: A peer (or everything one zone may reach) counts as the internet when it covers more public addresses than
#: one block of this prefix length: a /8 of IPv4 (16,777,216 addresses, 1/256 of the address space) or a /16 of
#: IPv6 (1/8192 of the global unicast 2000::/3).  ``guards.internet_bound`` sets them deliberately.
DEFAULT_INTERNET_BOUND = {"ipv4": 8, "ipv6": 16}


def _merge(ranges):
    out = []
    for first, last in sorted(ranges):
        if out and first <= out[-1][1] + 1:
            if last > out[-1][1]:
                out[-1] = (out[-1][0], last)
        else:
            out.append((first, last))
    return out


def _span(net):
    return (int(net.network_address), int(net.broadcast_address))


def _subtract(ranges, cuts):
    """``ranges`` minus ``cuts`` (both merged lists)."""
    out, j = [], 0
    for first, last in ranges:
        while j < len(cuts) and cuts[j][1] < first:
            j += 1
        k, start = j, first
        while k < len(cuts) and cuts[k][0] <= last:
            if cuts[k][0] > start:
                out.append((start, cuts[k][0] - 1))
            start = max(start, cuts[k][1] + 1)
            k += 1
        if start <= last:
            out.append((start, last))
    return out


def empty():
    """The empty space."""
    return {4: [], 6: []}


def networks_space(nets):
    """The addresses of a list of networks."""
    out = empty()
    for net in nets:
        out[net.version].append(_span(net))
    return {v: _merge(r) for v, r in out.items()}


def blocks_space(blocks):
    """The addresses of ``[(network, [except networks])]`` (each block minus its own excepts)."""
    out = empty()
    for net, excepts in blocks:
        kept = _subtract([_span(net)], _merge(_span(e) for e in excepts if e.version == net.version))
        out[net.version].extend(kept)
    return {v: _merge(r) for v, r in out.items()}


def peer_space(peer):
    """The addresses of a normalised peer (its ``cidrs`` with their ``except`` lists)."""
    return blocks_space([(ipaddress.ip_network(b["cidr"]), [ipaddress.ip_network(e) for e in b["except"]])
                         for b in peer["cidrs"]])


def union(*spaces):
    """Every address of any of ``spaces``."""
    return {v: _merge(r for space in spaces for r in space[v]) for v in (4, 6)}


def minus(space, other):
    """The addresses of ``space`` that are not in ``other``."""
    return {v: _subtract(space[v], other[v]) for v in (4, 6)}


_SPECIAL = networks_space([ipaddress.ip_network(c) for c, _n in SPECIAL_PURPOSE_V4 + SPECIAL_PURPOSE_V6])


def public(space):
    """The part of ``space`` outside every IANA special-purpose range (private, loopback, link-local, ...)."""
    return minus(space, _SPECIAL)


def count(space):
    """{4: addresses, 6: addresses}."""
    return {v: sum(last - first + 1 for first, last in space[v]) for v in (4, 6)}


def bound_size(bound):
    """{4: addresses, 6: addresses} of one block of each bound's prefix length."""
    return {4: 1 << (32 - bound["ipv4"]), 6: 1 << (128 - bound["ipv6"])}


def exceeds(space, bound):
    """The IP versions (4, 6) in which ``space`` covers more public addresses than ``bound`` allows."""
    sizes, found = bound_size(bound), count(public(space))
    return [v for v in (4, 6) if found[v] > sizes[v]]


def describe(space, version):
    """``2,147,483,648 public IPv4 addresses`` (for messages)."""
    return "{:,} public IPv{} addresses".format(count(public(space))[version], version)


def networks(space):
    """The space as the fewest CIDR blocks, IPv4 first (for messages and reports)."""
    out = []
    for version in (4, 6):
        cls = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
        for first, last in space[version]:
            out.extend(ipaddress.summarize_address_range(cls(first), cls(last)))
    return out


def bound_text(bound, version):
    """``a /8 (16,777,216 IPv4 addresses)``."""
    prefix = bound["ipv4" if version == 4 else "ipv6"]
    return "a /{} ({:,} IPv{} addresses)".format(prefix, bound_size(bound)[version], version)
