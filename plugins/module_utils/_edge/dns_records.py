# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DNS records of the virtual hosts, and the RFC 2136 updates that bring a zone to them.

Pure Python, no Ansible and no dnspython imports (the ``dns_plan`` module reads the zone and hands it here as
plain data). Ownership works like external-dns's TXT registry, with a value nobody can forge: beside every name
it publishes, the collection keeps a TXT record ``_netzone-owner.<name>`` holding

    heritage=netzone,netzone/owner=<owner>,netzone/exposure=<exposure>,netzone/sig=<HMAC-SHA256, hex>

where the HMAC is keyed with the deployment's secret (``loadbalancer_dns_owner_secret``) and covers the owner,
the exposure, the zone, the name and the name's records as the zone holds them (A, AAAA, CNAME). A name counts
as owned only when one value of its ownership record verifies against what the zone holds now, so

- a TXT record planted by whoever may write TXT records (an ACME key, typically) cannot claim a name: without
  the secret no value verifies, and a value copied from another name, or from this name before someone else
  changed its records, does not verify either;
- the public and the internal exposure sharing one zone never touch each other's records (the exposure is
  authenticated, and a name whose ownership record holds anyone else's text is foreign);
- only names the vhosts could produce are ever changed or deleted: host names in the zone the role is given,
  not at or below a delegation (glue), never names with ``_`` labels.

A change of a name's records goes through ``netzone/pending=`` values that authenticate every state the name
passes through (each RFC 2136 update is applied on its own), so a run stopped half-way leaves the name owned.
Records that carry the unauthenticated owner value of earlier versions (``heritage=netzone,netzone/owner=<owner>``)
are foreign: reported, never touched, unless ``adopt_legacy`` takes over those of them that a vhost wants.

Every problem is a :class:`DnsError` with a message naming what is wrong; no other exception leaves
:func:`desired_records` or :func:`plan_updates` on purpose.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import (
    DnsError, MatrixError, ReportError)
from ansible_collections.netzone.segmentation.plugins.module_utils._edge.vhosts import EXPOSURES, hostname

OWNER_LABEL = "_netzone-owner"
WILDCARD_LABEL = "_wildcard"
HERITAGE = "heritage=netzone"
# The record types the collection publishes; a CNAME at a desired name makes that name foreign.
MANAGED_TYPES = ("A", "AAAA")
# What an ownership value authenticates of its name.
CONTENT_TYPES = ("A", "AAAA", "CNAME")
_OWNER = re.compile(r"[A-Za-z0-9._-]{1,63}")
WILDCARDS = ("", "*", "0.0.0.0", "::", "[::]")
# The secret keys HMAC-SHA256: at least 32 characters (`openssl rand -base64 32` gives 44).
SECRET_MIN_LENGTH = 32
SECRET_MAX_LENGTH = 1024
_MAC_VERSION = "netzone-dns-owner-v1"
_MAC = re.compile(r"[0-9a-f]{64}")
_SIG, _PENDING = "netzone/sig", "netzone/pending"


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


def owned_name(tag_name):
    """The name an ownership record ``_netzone-owner.<name>`` is about (``_wildcard`` becomes ``*``), or None."""
    tag_name = _fqdn(tag_name)
    if not tag_name.startswith(OWNER_LABEL + "."):
        return None
    name = tag_name[len(OWNER_LABEL) + 1:]
    if name.startswith(WILDCARD_LABEL + "."):
        name = "*" + name[len(WILDCARD_LABEL):]
    return name


def legacy_owner_value(owner):
    """The unauthenticated ownership text that versions before the HMAC wrote (anyone could write it)."""
    return "%s,netzone/owner=%s" % (HERITAGE, owner)


def check_owner(owner):
    if not isinstance(owner, str) or not _OWNER.fullmatch(owner):
        raise DnsError("owner: %r must be 1-63 letters, digits, '.', '_' or '-'" % (owner,))
    return owner


def check_secret(secret):
    """The owner secret, or one DnsError that says what is wrong with it (never the secret itself)."""
    if not isinstance(secret, str) or not secret.strip():
        raise DnsError("owner_secret: must be a secret of at least %d characters (loadbalancer_dns_owner_secret; "
                       "generate one with `openssl rand -base64 32` and keep it in Ansible Vault)" % SECRET_MIN_LENGTH)
    if not SECRET_MIN_LENGTH <= len(secret) <= SECRET_MAX_LENGTH:
        raise DnsError("owner_secret: must be %d to %d characters long, got %d (loadbalancer_dns_owner_secret; "
                       "generate one with `openssl rand -base64 32`)" % (SECRET_MIN_LENGTH, SECRET_MAX_LENGTH, len(secret)))
    return secret


def _canonical(rtype, values):
    out = set()
    for value in values or ():
        text = str(value).strip()
        if rtype in MANAGED_TYPES:
            try:
                text = str(ipaddress.ip_address(text))
            except ValueError:
                pass
        else:
            text = _fqdn(text)
        out.add(text)
    return sorted(out)


def content_of(zone_records, name):
    """What an ownership value of ``name`` authenticates: ``{TYPE: sorted values}`` for A, AAAA and CNAME."""
    entry = zone_records.get(_fqdn(name)) or {}
    return {rtype: _canonical(rtype, (entry.get(rtype) or {}).get("values")) for rtype in CONTENT_TYPES}


def _unquote(value):
    text = str(value)
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    return text


class Ownership:
    """The ownership values of one deployment (owner id and secret) for one exposure in one zone."""

    def __init__(self, owner, exposure, zone, secret):
        self.owner = check_owner(owner)
        if exposure not in EXPOSURES:
            raise DnsError("exposure: must be one of %s, got %r" % (", ".join(EXPOSURES), exposure))
        if not isinstance(zone, str) or not zone.strip(".").strip():
            raise DnsError("zone: must be a DNS zone name, got %r" % (zone,))
        self.exposure = exposure
        self.zone = _fqdn(zone)
        self._key = check_secret(secret).encode("utf-8")
        self.prefix = "%s,netzone/owner=%s,netzone/exposure=%s," % (HERITAGE, owner, exposure)

    def mac(self, name, content):
        """HMAC-SHA256 over the owner, the exposure, the zone, the name and its content, in hex."""
        fields = [_MAC_VERSION, self.owner, self.exposure, self.zone, _fqdn(name)]
        fields += ["%s=%s" % (rtype, ",".join(content.get(rtype) or ())) for rtype in CONTENT_TYPES]
        return hmac.new(self._key, "\n".join(fields).encode("utf-8"), hashlib.sha256).hexdigest()

    def value(self, name, content, pending=False):
        """The ownership text of ``name`` holding ``content`` (``pending``: while its records change)."""
        return "%s%s=%s" % (self.prefix, _PENDING if pending else _SIG, self.mac(name, content))

    def kind(self, text):
        """``ours`` (claims this owner and exposure, verified or not), ``legacy`` (this owner's unauthenticated
        text of earlier versions) or ``other`` (anyone else's text, another exposure's included)."""
        text = _unquote(text)
        if text.startswith(self.prefix):
            return "ours"
        if text.split(",netzone/vhost=", maxsplit=1)[0] == legacy_owner_value(self.owner):
            return "legacy"
        return "other"

    def verifies(self, name, text, content):
        """True when ``text`` is this deployment's ownership value of ``name`` holding ``content``."""
        text = _unquote(text)
        if not text.startswith(self.prefix):
            return False
        field, _sep, mac = text[len(self.prefix):].partition("=")
        if field not in (_SIG, _PENDING) or not _MAC.fullmatch(mac):
            return False
        return hmac.compare_digest(mac, self.mac(name, content))


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


def _rrset(zone_records, name, rtype):
    """``(sorted values, ttl)`` of one rrset of the zone (``([], None)`` when absent)."""
    entry = (zone_records.get(_fqdn(name)) or {}).get(rtype)
    if not entry:
        return [], None
    return sorted(entry["values"]), entry.get("ttl")


def delegations(zone_records, zone):
    """The names in the zone with NS records other than its apex (the zone cuts; records at or below are glue)."""
    return sorted(name for name, types in zone_records.items() if types.get("NS") and name != _fqdn(zone))


def out_of_scope(name, zone, cuts):
    """None when ``name`` is a name the vhosts could produce in ``zone``, else why it is not."""
    if not in_zone(name, zone):
        return "not in zone %s" % _fqdn(zone)
    try:
        hostname(name.rstrip("."), "name")
    except MatrixError:
        return "not a host name a vhost can have"
    for cut in cuts:
        if in_zone(name, cut):
            return "at or below the delegation %s (glue of another zone)" % cut
    return None


def _status(own, name, zone_records, wanted=False, adopt=False):
    """``("owned"|"free"|"foreign", why)`` of ``name``: owned when one value of its ownership record verifies
    against the name's records as they are; free when it has neither records nor an ownership record."""
    tag = owner_name(name)
    texts = [_unquote(value) for value in _rrset(zone_records, tag, "TXT")[0]]
    content = content_of(zone_records, name)
    if not texts:
        if any(content.values()):
            found = "/".join(rtype for rtype in CONTENT_TYPES if content[rtype])
            return "foreign", "has %s record(s) and no ownership record %s" % (found, tag.rstrip("."))
        return "free", ""
    kinds = [own.kind(text) for text in texts]
    if "other" in kinds:
        return "foreign", ("its ownership record %s holds another owner's or exposure's text (this is owner %r, "
                           "exposure %s)" % (tag.rstrip("."), own.owner, own.exposure))
    if any(own.verifies(name, text, content) for text in texts):
        return "owned", ""
    if "legacy" in kinds:
        if adopt:
            return "owned", "adopted"
        if wanted:
            advice = ("to adopt it, check its records and run once with loadbalancer_dns_adopt_legacy: true "
                      "(check mode and --diff show what changes)")
        else:
            advice = "no vhost wants it: if it is yours, delete its records and the ownership record by hand"
        return "foreign", ("its ownership record %s holds the unauthenticated value of earlier versions, which "
                           "anyone who may write a TXT record can forge; %s" % (tag.rstrip("."), advice))
    return "foreign", ("its ownership record %s does not verify with this deployment's secret (forged, copied "
                       "from another name, or the records changed since this deployment wrote them)"
                       % tag.rstrip("."))


def _simulate(content, updates):
    """The contents a name passes through while ``updates`` are applied one by one (the first one included)."""
    states = [content]
    for update in updates:
        current = dict(states[-1])
        current[update["type"]] = [] if update["state"] == "absent" else _canonical(update["type"], update["value"])
        states.append(current)
    unique = []
    for state in states:
        if state not in unique:
            unique.append(state)
    return unique


def _show(lines, name, rtype, values, record_ttl):
    for value in values:
        lines.append("%s %s IN %s %s" % (name, record_ttl, rtype, value))


def plan_updates(desired, zone_records, ownership, ttl, adopt_legacy=False):
    """The updates that bring the owned part of a zone to ``desired``.

    ``zone_records`` is the zone as read by a transfer: ``{fqdn: {TYPE: {"values": [...], "ttl": int}}}``;
    ``ownership`` an :class:`Ownership`. Returns ``{"updates": [...], "conflicts": [...], "foreign": [...],
    "before": str, "after": str}``; each update is ``{"record": fqdn, "type": TYPE, "value": [...], "state":
    "present"|"absent"}`` in a safe order: the ownership record first authenticates every state the name passes
    through (``pending``), then the address records change, then the ownership record is written for the end
    state (or removed). A desired name that is not free and not owned is a conflict, left alone; a name that is
    not desired and whose ownership record claims this owner without verifying (or that the vhosts could not
    produce) is foreign, left alone. ``adopt_legacy`` takes over desired names that carry this owner's
    unauthenticated value of earlier versions.
    """
    own = ownership
    zone_records = {_fqdn(name): types for name, types in (zone_records or {}).items()}
    cuts = delegations(zone_records, own.zone)
    updates, conflicts, foreign, before, after = [], [], [], [], []

    def txt(name, values):
        return {"record": owner_name(name), "type": "TXT", "value": values, "state": "present"}

    for name in sorted(desired):
        types = desired[name]
        tag = owner_name(name)
        why = out_of_scope(name, own.zone, cuts)
        status = "foreign"
        if not why:
            status, why = _status(own, name, zone_records, wanted=True, adopt=adopt_legacy)
        if status == "foreign":
            conflicts.append({"record": name, "message": "%s: %s; left alone" % (name.rstrip("."), why)})
            continue
        texts, tag_ttl = _rrset(zone_records, tag, "TXT")
        texts = [_unquote(text) for text in texts]
        address_updates = []
        for rtype in MANAGED_TYPES:
            values, record_ttl = _rrset(zone_records, name, rtype)
            _show(before, name, rtype, values, record_ttl)
            want = types.get(rtype) or []
            _show(after, name, rtype, want, ttl)
            if want and (values != sorted(want) or record_ttl != ttl):
                if set(values) - set(want):
                    # nsupdate's "present" only checks that the wanted values are there, so an rrset that
                    # shrinks is deleted first and then written whole.
                    address_updates.append({"record": name, "type": rtype, "value": values, "state": "absent"})
                address_updates.append({"record": name, "type": rtype, "value": list(want), "state": "present"})
            elif not want and values:
                address_updates.append({"record": name, "type": rtype, "value": values, "state": "absent"})
        states = _simulate(content_of(zone_records, name), address_updates)
        target = own.value(name, states[-1])
        before.extend('%s %s IN TXT "%s"' % (tag, tag_ttl, text) for text in texts)
        after.append('%s %s IN TXT "%s"' % (tag, ttl, target))
        if not address_updates and texts == [target] and tag_ttl == ttl:
            continue
        # "present" leaves a value set alone when the wanted values are already in it: the pending values
        # (never equal to a final one) make the last write replace the ownership record whole.
        if address_updates or target in texts:
            updates.append(txt(name, [own.value(name, state, pending=True) for state in states]))
        updates.extend(address_updates)
        updates.append(txt(name, [target]))

    # Owned names that are no longer desired: pending values, their address records, then the ownership record.
    for tag in sorted(zone_records):
        name = owned_name(tag)
        if name is None or name in desired:
            continue
        values, tag_ttl = _rrset(zone_records, tag, "TXT")
        kinds = [own.kind(value) for value in values]
        if "ours" not in kinds and "legacy" not in kinds:
            continue  # another owner's or exposure's: not ours to judge
        why = out_of_scope(name, own.zone, cuts)
        if why:
            foreign.append({"record": name, "message": "%s: its ownership record claims owner %r, exposure %s, but "
                                                       "the name is %s; left alone"
                                                       % (name.rstrip("."), own.owner, own.exposure, why)})
            continue
        status, why = _status(own, name, zone_records)
        if status != "owned":
            foreign.append({"record": name, "message": "%s: %s; left alone" % (name.rstrip("."), why)})
            continue
        deletions = []
        for rtype in MANAGED_TYPES:
            old, record_ttl = _rrset(zone_records, name, rtype)
            _show(before, name, rtype, old, record_ttl)
            if old:
                deletions.append({"record": name, "type": rtype, "value": old, "state": "absent"})
        before.extend('%s %s IN TXT %s' % (tag, tag_ttl, value) for value in values)
        if deletions:
            states = _simulate(content_of(zone_records, name), deletions)
            updates.append(txt(name, [own.value(name, state, pending=True) for state in states]))
            updates.extend(deletions)
        updates.append({"record": tag, "type": "TXT", "value": values, "state": "absent"})

    return {"updates": updates, "conflicts": conflicts, "foreign": foreign,
            "before": "".join(line + "\n" for line in before), "after": "".join(line + "\n" for line in after)}
