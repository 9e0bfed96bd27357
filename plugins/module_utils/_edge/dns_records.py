# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DNS records of the virtual hosts, and the RFC 2136 updates that bring a zone to them.

Pure Python, no Ansible and no dnspython imports (the ``dns_plan`` module reads the zone and hands it here as
plain data). Ownership works as in external-dns: beside every name it publishes, the collection keeps a TXT
record ``_netzone-owner.<name>`` holding ``heritage=netzone,netzone/owner=<owner>``. A name counts as owned
only when that record carries this owner; the updates touch owned names only, so records someone else made
(with no such TXT, or another owner's) are never changed or deleted.

Every problem is a :class:`DnsError` with a message naming what is wrong; no other exception leaves
:func:`desired_records` or :func:`plan_updates` on purpose.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import DnsError, ReportError

OWNER_LABEL = "_netzone-owner"
WILDCARD_LABEL = "_wildcard"
HERITAGE = "heritage=netzone"
# The record types the collection publishes; a CNAME at a desired name makes that name foreign.
MANAGED_TYPES = ("A", "AAAA")
_OWNER = re.compile(r"[A-Za-z0-9._-]{1,63}")
WILDCARDS = ("", "*", "0.0.0.0", "::", "[::]")


def _record_type(address):
    try:
        return "AAAA" if ipaddress.ip_address(str(address)).version == 6 else "A"
    except ValueError:
        return "CNAME"


def lb_address(lb, exposure):
    """The address a DNS record of ``exposure`` (public/internal) points to on load balancer ``lb``: the
    exposure's virtual address (keepalived) when there is one, else the load balancer's own address."""
    vip = str(lb.get("%s_vip" % exposure) or "")
    if vip:
        return vip
    if exposure == "internal":
        return str(lb.get("internal_address") or "")
    address = str(lb.get("public_address") or "")
    if address in WILDCARDS:  # HAProxy binds every address: publish the host's own address
        address = str(lb.get("host_address") or "")
    return address


def dns_records(matrix, loadbalancers):
    """One record per host name of every vhost and per load balancer: ``{name, type, address, exposure,
    load_balancer, vhost}``; a load balancer without an address for the vhost's exposure gives ``address: None``.
    Load balancers that share a virtual address give one record (``load_balancer`` names them all)."""
    if not isinstance(loadbalancers, list):
        raise ReportError("loadbalancers must be a list of mappings")
    records = []
    for vhost in matrix.get("vhosts") or []:
        for host in [vhost["name"]] + list(vhost.get("aliases") or []):
            for lb in loadbalancers:
                if not isinstance(lb, dict) or "name" not in lb:
                    raise ReportError("each load balancer must be a mapping with a 'name'")
                address = lb_address(lb, vhost["exposure"]) or None
                same = [r for r in records if address and r["name"] == host and r["address"] == address]
                if same:
                    same[0]["load_balancer"] += ", %s" % lb["name"]
                    continue
                records.append({"name": host, "type": _record_type(address) if address else None, "address": address,
                                "exposure": vhost["exposure"], "load_balancer": lb["name"], "vhost": vhost["name"]})
    return records


def _fqdn(name):
    name = str(name).strip().lower()
    return name if name.endswith(".") else name + "."


def in_zone(name, zone):
    """True when ``name`` is ``zone`` itself or below it (both absolute or both relative, case-insensitive)."""
    name, zone = _fqdn(name), _fqdn(zone)
    return name == zone or name.endswith("." + zone)


def owner_name(name):
    """The name of the ownership TXT record of ``name`` (a leading ``*`` label becomes ``_wildcard``)."""
    labels = _fqdn(name).split(".")
    if labels[0] == "*":
        labels[0] = WILDCARD_LABEL
    return "%s.%s" % (OWNER_LABEL, ".".join(labels))


def owner_value(owner):
    """The text of the ownership TXT record for ``owner``."""
    return "%s,netzone/owner=%s" % (HERITAGE, owner)


def check_owner(owner):
    if not isinstance(owner, str) or not _OWNER.fullmatch(owner):
        raise DnsError("owner: %r must be 1-63 letters, digits, '.', '_' or '-'" % (owner,))
    return owner


def _owned_by(txt_values, owner):
    """True when one of the TXT strings of an ownership record says heritage=netzone and this owner."""
    want = owner_value(owner)
    for value in txt_values or ():
        text = str(value)
        if len(text) >= 2 and text[0] == text[-1] == '"':
            text = text[1:-1]
        if text.split(",netzone/vhost=", maxsplit=1)[0] == want:
            return True
    return False


def desired_records(vhosts, loadbalancers, exposure, zone, var="loadbalancer_dns_%s"):
    """``{fqdn: {"A": [...], "AAAA": [...]}}`` for the vhosts of ``exposure`` (public/internal): each name and
    alias points to the exposure's virtual address of the load balancers, or to every load balancer's own
    address when there is none (the records of the report's "DNS records to publish" table)."""
    var = var % exposure
    if not isinstance(zone, str) or not zone.strip(".").strip():
        raise DnsError("%s.zone: must be a DNS zone name, got %r" % (var, zone))
    desired = {}
    for record in dns_records({"vhosts": vhosts}, loadbalancers):
        if record["exposure"] != exposure:
            continue
        name = _fqdn(record["name"])
        if not record["address"]:
            raise DnsError("vhost %s (%s): load balancer %s has no %s address to publish; set loadbalancer_%s_vip "
                           "or loadbalancer_%s_address"
                           % (record["vhost"], exposure, record["load_balancer"], exposure, exposure, exposure))
        if not in_zone(name, zone):
            raise DnsError("vhost %s: name %s is not in zone %s (%s.zone)"
                           % (record["vhost"], name.rstrip("."), _fqdn(zone), var))
        try:
            address = ipaddress.ip_address(record["address"])
        except ValueError:
            raise DnsError("vhost %s: the %s address %r of load balancer %s is not an IP address"
                           % (record["vhost"], exposure, record["address"], record["load_balancer"])) from None
        rtype = "AAAA" if address.version == 6 else "A"
        types = desired.setdefault(name, {"A": [], "AAAA": []})
        if str(address) not in types[rtype]:
            types[rtype].append(str(address))
    for types in desired.values():
        for rtype in MANAGED_TYPES:
            types[rtype].sort(key=ipaddress.ip_address)
    return desired


def _current(zone_records, name):
    return zone_records.get(_fqdn(name)) or {}


def _rrset(zone_records, name, rtype):
    """``(sorted values, ttl)`` of one rrset of the zone (``([], None)`` when absent)."""
    entry = _current(zone_records, name).get(rtype)
    if not entry:
        return [], None
    return sorted(entry["values"]), entry.get("ttl")


def plan_updates(desired, zone_records, owner, ttl):
    """The updates that bring the owned part of a zone to ``desired``.

    ``zone_records`` is the zone as read by a transfer: ``{fqdn: {TYPE: {"values": [...], "ttl": int}}}``.
    Returns ``{"updates": [...], "conflicts": [...], "before": str, "after": str}``; each update is
    ``{"record": fqdn, "type": TYPE, "value": [...], "state": "present"|"absent"}`` in a safe order (the
    ownership record is written before the address records of a new name and removed after them). A desired
    name that already has address or CNAME records without this owner's TXT is a conflict: it is left alone.
    """
    check_owner(owner)
    zone_records = {_fqdn(name): types for name, types in (zone_records or {}).items()}
    tag = owner_value(owner)
    updates, conflicts, before, after = [], [], [], []

    def owned(name):
        values, _ttl = _rrset(zone_records, owner_name(name), "TXT")
        return _owned_by(values, owner)

    def show(lines, name, rtype, values, record_ttl):
        for value in values:
            lines.append("%s %s IN %s %s" % (name, record_ttl, rtype, value))

    for name in sorted(desired):
        types = desired[name]
        current = _current(zone_records, name)
        is_owned = owned(name)
        if not is_owned and any(current.get(rtype) for rtype in MANAGED_TYPES + ("CNAME",)):
            found = sorted(rtype for rtype in MANAGED_TYPES + ("CNAME",) if current.get(rtype))
            message = ("%s already has %s record(s) that owner %r does not own (no ownership TXT %s): left alone"
                       % (name.rstrip("."), "/".join(found), owner, owner_name(name).rstrip(".")))
            conflicts.append({"record": name, "types": found, "message": message})
            continue
        if not is_owned:
            updates.append({"record": owner_name(name), "type": "TXT", "value": [tag], "state": "present"})
            after.append('%s %s IN TXT "%s"' % (owner_name(name), ttl, tag))
        else:
            tag_values, tag_ttl = _rrset(zone_records, owner_name(name), "TXT")
            before.extend('%s %s IN TXT %s' % (owner_name(name), tag_ttl, value) for value in tag_values)
            after.extend('%s %s IN TXT %s' % (owner_name(name), tag_ttl, value) for value in tag_values)
        for rtype in MANAGED_TYPES:
            values, record_ttl = _rrset(zone_records, name, rtype)
            show(before, name, rtype, values, record_ttl)
            want = types.get(rtype) or []
            show(after, name, rtype, want, ttl)
            if want and (values != sorted(want) or record_ttl != ttl):
                if set(values) - set(want):
                    # nsupdate's "present" only checks that the wanted values are there, so an rrset that
                    # shrinks is deleted first and then written whole.
                    updates.append({"record": name, "type": rtype, "value": values, "state": "absent"})
                updates.append({"record": name, "type": rtype, "value": list(want), "state": "present"})
            elif not want and values:
                updates.append({"record": name, "type": rtype, "value": values, "state": "absent"})

    # Owned names that are no longer desired: their address records go first, then the ownership record.
    for tag_name in sorted(zone_records):
        if not tag_name.startswith(OWNER_LABEL + "."):
            continue
        values, tag_ttl = _rrset(zone_records, tag_name, "TXT")
        if not _owned_by(values, owner):
            continue
        name = tag_name[len(OWNER_LABEL) + 1:]
        if name.startswith(WILDCARD_LABEL + "."):
            name = "*" + name[len(WILDCARD_LABEL):]
        if name in desired:
            continue
        for rtype in MANAGED_TYPES:
            old, record_ttl = _rrset(zone_records, name, rtype)
            show(before, name, rtype, old, record_ttl)
            if old:
                updates.append({"record": name, "type": rtype, "value": old, "state": "absent"})
        before.extend('%s %s IN TXT %s' % (tag_name, tag_ttl, value) for value in values)
        updates.append({"record": tag_name, "type": "TXT", "value": values, "state": "absent"})

    return {"updates": updates, "conflicts": conflicts,
            "before": "".join(line + "\n" for line in before), "after": "".join(line + "\n" for line in after)}
