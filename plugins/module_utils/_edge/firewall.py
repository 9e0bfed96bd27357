# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The load balancer's own host firewall: what its nftables table admits and refuses (pure Python).

The role keeps its rules in one table of its own, ``table inet netzone_lb``, replaced whole and atomically
on each change, so that every other table (the host's own firewall, Kubernetes', Docker's) stays as it is.
The table holds two base chains, each of which only ever drops or rejects (an accept in one table does not
override a drop in another, so the table can only narrow what the host admits):

* ``vrrp_in`` (input): IP protocol 112 (VRRP) only from the addresses of the keepalived peers; every other
  advert is dropped before keepalived sees it (keepalived's ``check_unicast_src`` is the second layer);
* ``nodes_out`` (output): a connection from this host to a cluster node's ingress port only from a socket of
  HAProxy's user (``meta skuid``); any other local process gets a TCP reset, so nothing on the load balancer
  reaches the nodes around the WAF.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import FirewallError

TABLE = "netzone_lb"
_USER = re.compile(r"[a-z_][a-z0-9_-]{0,31}")


def _port(value, var):
    if isinstance(value, bool):
        raise FirewallError("%s: must be a TCP port (1-65535), got %r" % (var, value))
    try:
        port = int(str(value).strip())
    except ValueError:
        raise FirewallError("%s: must be a TCP port (1-65535), got %r" % (var, value)) from None
    if not 1 <= port <= 65535:
        raise FirewallError("%s: must be a TCP port (1-65535), got %d" % (var, port))
    return port


def firewall_rules(vrrp_peers, nodes, node_port, user="haproxy", guard_nodes=True):
    """What the ``netzone_lb`` table holds.

    :param vrrp_peers: the keepalived peers' addresses (:func:`keepalived.vrrp_peers`); ``None`` (no keepalived
        on this host): no VRRP chain; an empty list: every advert is dropped.
    :param nodes: the cluster nodes, ``[{"name", "address"}]``; with ``guard_nodes`` each address must be an
        IP address (the rule matches addresses, not names).
    :param node_port: the nodes' ingress port (``loadbalancer_backend_port``).
    :param user: the user HAProxy runs as (the only owner of sockets that may reach the nodes).
    :param guard_nodes: whether to add the owner-matched output chain.
    :returns: ``{"table", "vrrp" (whether the VRRP chain is there), "vrrp_peers4", "vrrp_peers6", "nodes4", "nodes6", "node_port", "user"}`` (sorted
        addresses, as strings; ``nodes4``/``nodes6`` empty without ``guard_nodes``).
    """
    peers4, peers6 = [], []
    for peer in vrrp_peers or []:
        try:
            address = ipaddress.ip_address(str(peer))
        except ValueError:
            raise FirewallError("VRRP peer %r is not an IP address" % (peer,)) from None
        (peers4 if address.version == 4 else peers6).append(address)
    nodes4, nodes6 = [], []
    if guard_nodes:
        if not isinstance(user, str) or not _USER.fullmatch(user):
            raise FirewallError("loadbalancer_firewall: HAProxy's user %r is not a user name" % (user,))
        node_port = _port(node_port, "loadbalancer_backend_port")
        for index, node in enumerate(nodes or []):
            text = str((node or {}).get("address") or "").strip()
            try:
                address = ipaddress.ip_address(text)
            except ValueError:
                raise FirewallError(
                    "loadbalancer_firewall_guard_nodes: node %s (nodes[%d]) has the address %r, not an IP address; the "
                    "rule that lets only HAProxy reach the nodes matches addresses: give the node's address, or set "
                    "loadbalancer_firewall_guard_nodes: false" % ((node or {}).get("name"), index, text)) from None
            (nodes4 if address.version == 4 else nodes6).append(address)
    else:
        node_port = None

    def text(addresses):
        return [str(address) for address in sorted(set(addresses))]

    return {"table": TABLE, "vrrp": vrrp_peers is not None, "vrrp_peers4": text(peers4), "vrrp_peers6": text(peers6), "nodes4": text(nodes4),
            "nodes6": text(nodes6), "node_port": node_port, "user": user}
