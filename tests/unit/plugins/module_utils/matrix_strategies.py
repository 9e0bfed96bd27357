# -*- coding: utf-8 -*-
"""Hypothesis strategies for matrices: random valid ones, and arbitrary junk to fuzz the validator."""

from __future__ import annotations

import ipaddress

from hypothesis import strategies as st

ZONE_NAMES = ["web", "api", "db", "cache", "proxy", "jobs", "auth", "mq", "ingress", "logs"]
PEER_NAMES = ["lbs", "ext_db", "storage", "partner", "office", "internet"]


@st.composite
def port_spec(draw):
    proto = draw(st.sampled_from(["tcp", "udp", "sctp"]))
    port = draw(st.integers(1, 65000))
    if draw(st.booleans()):
        return "%d/%s" % (port, proto)
    if draw(st.integers(0, 4)) == 0:
        return "%d-%d/%s" % (port, port + draw(st.integers(1, 500)), proto)
    return port if proto == "tcp" else {"port": port, "protocol": proto.upper()}


@st.composite
def cidr_block(draw):
    prefix = draw(st.integers(8, 32))
    addr = draw(st.integers(0, 2 ** 32 - 1))
    net = ipaddress.ip_network((addr, prefix), strict=False)
    if net.is_private and net.overlaps(ipaddress.ip_network("10.0.0.0/8")):
        net = ipaddress.ip_network((addr | (100 << 24), prefix), strict=False)
    excepts = []
    if prefix <= 28 and draw(st.booleans()):
        sub_prefix = draw(st.integers(prefix + 1, 32))
        subs = list(net.subnets(new_prefix=sub_prefix)) if sub_prefix - prefix <= 4 else [
            next(net.subnets(new_prefix=sub_prefix))]
        chosen = draw(st.lists(st.sampled_from(subs), min_size=1, max_size=2, unique=True))
        if net in ipaddress.collapse_addresses(chosen):
            chosen = chosen[:1]
        excepts = [str(s) for s in chosen]
    return {"cidr": str(net), "except": excepts} if excepts else str(net)


@st.composite
def valid_matrix(draw):
    """A random matrix that must validate: zones, services, peers (no inventory groups), flows."""
    zones = draw(st.lists(st.sampled_from(ZONE_NAMES), min_size=1, max_size=7, unique=True))
    service_names = draw(st.lists(st.sampled_from(["http", "grpc", "pg", "redis", "nfs", "metrics", "syslog"]),
                                  min_size=1, max_size=5, unique=True))
    services = {name: draw(st.lists(port_spec(), min_size=1, max_size=3)) for name in service_names}
    peers = {}
    for name in draw(st.lists(st.sampled_from(PEER_NAMES), max_size=3, unique=True)):
        if name == "internet":
            peers[name] = {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}
        else:
            peers[name] = {"cidrs": draw(st.lists(cidr_block(), min_size=1, max_size=3))}
    zone_specs = {}
    for zone in zones:
        spec = {}
        if draw(st.booleans()):
            spec["intra_zone"] = draw(st.lists(st.sampled_from(service_names), min_size=1, max_size=2, unique=True))
        zone_specs[zone] = spec
    endpoints = zones + sorted(peers)
    flows = []
    for _flow in range(draw(st.integers(0, 10))):
        src = draw(st.sampled_from(endpoints))
        dst_choices = zones if src in peers else endpoints
        dst = draw(st.sampled_from(dst_choices))
        flows.append({"from": src, "to": dst,
                      "services": draw(st.lists(st.sampled_from(service_names), min_size=1, max_size=3, unique=True))})
    return {"services": services, "peers": peers, "zones": zone_specs, "flows": flows, "vhosts": [],
            "guards": {"internet_egress_zones": zones, "ingress_zone": None}}


junk = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 70000) | st.text(max_size=12) | st.floats(allow_nan=False),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12)
