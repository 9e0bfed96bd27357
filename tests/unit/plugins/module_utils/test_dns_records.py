# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DNS records of the vhosts and the RFC 2136 updates planned from a zone's content: ownership as external-dns,
authenticated with an HMAC that nobody without the deployment's secret can write (attack cases included)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from ansible_collections.netzone.segmentation.plugins.module_utils._edge.dns_records import (
    DnsError, Ownership, desired_records, owner_name, plan_updates)
from ansible_collections.netzone.segmentation.plugins.module_utils._edge.dns_records import dns_records
from ansible_collections.netzone.segmentation.plugins.module_utils._edge.vhosts import normalize_vhosts

VHOSTS = normalize_vhosts([
    {"name": "shop.example.com", "aliases": ["www.example.com"], "service": "web"},
    {"name": "*.apps.example.com", "service": "apps"},
    {"name": "intranet.corp.example", "exposure": "internal", "service": "intranet"},
], None)
LBS = [{"name": "lb1", "host_address": "203.0.113.10", "public_address": "*", "internal_address": "10.20.0.10"},
       {"name": "lb2", "host_address": "203.0.113.11", "public_address": "203.0.113.11",
        "internal_address": "10.20.0.11"}]
SECRET = "s3cr3t-0123456789-abcdefghijklmnopq"  # 36 characters
PUBLIC = Ownership("netzone", "public", "example.com", SECRET)
INTERNAL = Ownership("netzone", "internal", "example.com", SECRET)
# The unauthenticated value that earlier versions wrote (and that anyone could write).
LEGACY = '"heritage=netzone,netzone/owner=netzone"'


def with_vip(lbs, public="", internal=""):
    return [dict(lb, public_vip=public, internal_vip=internal) for lb in lbs]


def test_without_vip_every_load_balancer_address():
    wanted = desired_records(VHOSTS, with_vip(LBS), "public", "example.com")
    assert wanted == {"shop.example.com.": {"A": ["203.0.113.10", "203.0.113.11"], "AAAA": []},
                      "www.example.com.": {"A": ["203.0.113.10", "203.0.113.11"], "AAAA": []},
                      "*.apps.example.com.": {"A": ["203.0.113.10", "203.0.113.11"], "AAAA": []}}


def test_addresses_are_listed_in_numeric_order_whatever_the_inventory_order():
    # .9 before .10 numerically (not as text), IPv6 on its own list; the inventory lists them the other way.
    lbs = with_vip([dict(LBS[1], name="lb9", host_address="2001:db8::10", public_address="2001:db8::10"),
                    dict(LBS[1], name="lb8", host_address="203.0.113.10", public_address="203.0.113.10"),
                    dict(LBS[1], name="lb7", host_address="2001:db8::9", public_address="2001:db8::9"),
                    dict(LBS[1], name="lb6", host_address="203.0.113.9", public_address="203.0.113.9")])
    wanted = desired_records(VHOSTS, lbs, "public", "example.com")
    assert wanted["shop.example.com."] == {"A": ["203.0.113.9", "203.0.113.10"], "AAAA": ["2001:db8::9", "2001:db8::10"]}


def test_vip_replaces_the_load_balancer_addresses_in_dns_and_report():
    lbs = with_vip(LBS, public="203.0.113.5", internal="2001:db8::5")
    assert desired_records(VHOSTS, lbs, "public", "example.com")["shop.example.com."] == {"A": ["203.0.113.5"], "AAAA": []}
    assert desired_records(VHOSTS, lbs, "internal", "corp.example") == {
        "intranet.corp.example.": {"A": [], "AAAA": ["2001:db8::5"]}}
    report = [r for r in dns_records({"vhosts": VHOSTS}, lbs) if r["name"] == "shop.example.com"]
    assert report == [{"name": "shop.example.com", "type": "A", "address": "203.0.113.5", "exposure": "public",
                       "load_balancer": "lb1, lb2", "vhost": "shop.example.com"}]


@pytest.mark.parametrize("zone_name, lbs, message", [
    ("other.example", with_vip(LBS), "vhost shop.example.com: name shop.example.com is not in zone other.example. "
                                     "(loadbalancer_dns_public.zone)"),
    ("example.com", with_vip([dict(LBS[0], host_address="lb1.example.net")]),
     "vhost shop.example.com: the public address 'lb1.example.net' of load balancer lb1 is not an IP address"),
    ("", with_vip(LBS), "loadbalancer_dns_public.zone: must be a DNS zone name, got ''"),
])
def test_bad_input_one_message(zone_name, lbs, message):
    with pytest.raises(DnsError) as err:
        desired_records(VHOSTS, lbs, "public", zone_name)
    assert str(err.value) == message


def test_missing_internal_address_is_named():
    with pytest.raises(DnsError, match=r"vhost intranet.corp.example \(internal\): load balancer lb1 has no internal "
                                       r"address to publish; set loadbalancer_internal_vip"):
        desired_records(VHOSTS, with_vip([dict(LBS[0], internal_address="")]), "internal", "corp.example")


def test_ownership_record_names():
    assert owner_name("shop.example.com") == "_netzone-owner.shop.example.com."
    assert owner_name("*.apps.example.com.") == "_netzone-owner._wildcard.apps.example.com."


def expected_mac(name, a="", aaaa="", cname="", exposure="public", zone_name="example.com.", secret=SECRET,
                 owner="netzone"):
    """The HMAC written out from the documented layout (not the module's own code)."""
    message = "netzone-dns-owner-v1\n%s\n%s\n%s\n%s\nA=%s\nAAAA=%s\nCNAME=%s" % (
        owner, exposure, zone_name, name, a, aaaa, cname)
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def sig(name, a="", pending=False, **kwargs):
    exposure = kwargs.get("exposure", "public")
    return "heritage=netzone,netzone/owner=netzone,netzone/exposure=%s,netzone/%s=%s" % (
        exposure, "pending" if pending else "sig", expected_mac(name, a, **kwargs))


def test_the_ownership_value_is_the_documented_hmac():
    content = {"A": ["192.0.2.10", "192.0.2.9"], "AAAA": ["2001:db8::1"], "CNAME": []}
    assert PUBLIC.value("shop.example.com", content) == (
        "heritage=netzone,netzone/owner=netzone,netzone/exposure=public,netzone/sig="
        + expected_mac("shop.example.com.", a="192.0.2.10,192.0.2.9", aaaa="2001:db8::1"))
    # The exposure, the zone, the name and the secret are all in it.
    assert INTERNAL.mac("shop.example.com.", content) != PUBLIC.mac("shop.example.com.", content)
    assert Ownership("netzone", "public", "example.org", SECRET).mac("shop.example.com.", content) != \
        PUBLIC.mac("shop.example.com.", content)
    assert PUBLIC.mac("www.example.com.", content) != PUBLIC.mac("shop.example.com.", content)
    assert Ownership("netzone", "public", "example.com", SECRET + "x").mac("shop.example.com.", content) != \
        PUBLIC.mac("shop.example.com.", content)


@pytest.mark.parametrize("secret, message", [
    (None, "owner_secret: must be a secret of at least 32 characters"),
    ("", "owner_secret: must be a secret of at least 32 characters"),
    ("short-but-not-empty", "owner_secret: must be 32 to 1024 characters long, got 19"),
    ("x" * 1025, "owner_secret: must be 32 to 1024 characters long, got 1025"),
])
def test_a_missing_or_weak_secret_is_refused_without_echoing_it(secret, message):
    with pytest.raises(DnsError) as err:
        Ownership("netzone", "public", "example.com", secret)
    assert str(err.value).startswith(message)
    assert "openssl rand -base64 32" in str(err.value)
    if secret:
        assert secret not in str(err.value)


def test_bad_owner_and_exposure():
    with pytest.raises(DnsError, match="owner: 'a b' must be"):
        Ownership("a b", "public", "example.com", SECRET)
    with pytest.raises(DnsError, match="exposure: must be one of public, internal, got 'dmz'"):
        Ownership("netzone", "dmz", "example.com", SECRET)


def rr(rtype, values, ttl=300):
    return {rtype: {"values": list(values), "ttl": ttl}}


def apply(zone_records, updates, ttl=300):
    """community.general.nsupdate's semantics, one update at a time: ``present`` leaves the rrset alone when
    every wanted value is in it with the same TTL, else replaces it whole; ``absent`` deletes the rrset."""
    out = {name: {rtype: {"values": list(e["values"]), "ttl": e["ttl"]} for rtype, e in types.items()}
           for name, types in zone_records.items()}
    for update in updates:
        types = out.setdefault(update["record"], {})
        current = types.get(update["type"])
        if update["state"] == "absent":
            types.pop(update["type"], None)
        else:
            values = [value if update["type"] != "TXT" else '"%s"' % value for value in update["value"]]
            if current and set(values) <= set(current["values"]) and current["ttl"] == ttl:
                continue
            types[update["type"]] = {"values": values, "ttl": ttl}
        if not types:
            del out[update["record"]]
    return out


SHOP = {"shop.example.com.": {"A": ["192.0.2.10"], "AAAA": []}}


def test_empty_zone_creates_the_name_under_pending_then_final_ownership():
    plan = plan_updates(SHOP, {}, PUBLIC, 300)
    assert plan["updates"] == [
        {"record": "_netzone-owner.shop.example.com.", "type": "TXT", "state": "present",
         "value": [sig("shop.example.com.", pending=True), sig("shop.example.com.", "192.0.2.10", pending=True)]},
        {"record": "shop.example.com.", "type": "A", "value": ["192.0.2.10"], "state": "present"},
        {"record": "_netzone-owner.shop.example.com.", "type": "TXT", "state": "present",
         "value": [sig("shop.example.com.", "192.0.2.10")]}]
    assert plan["before"] == ""
    assert "shop.example.com. 300 IN A 192.0.2.10" in plan["after"]
    assert plan["conflicts"] == [] and plan["foreign"] == []


def test_in_sync_zone_plans_nothing():
    current = dict({"shop.example.com.": rr("A", ["192.0.2.10"])},
                   **{"_netzone-owner.shop.example.com.": rr("TXT", ['"%s"' % sig("shop.example.com.", "192.0.2.10")])})
    plan = plan_updates(SHOP, current, PUBLIC, 300)
    assert plan["updates"] == [] and plan["conflicts"] == [] and plan["foreign"] == []
    assert plan["before"] == plan["after"]
    # the TTLs as a zone transfer and Ansible's options give them: equal numbers, separate objects
    assert plan_updates(SHOP, current, PUBLIC, int("3" + "00"))["updates"] == []


def published(wanted, ownership=PUBLIC, zone_records=None):
    """The zone after a complete run from ``zone_records`` (empty by default)."""
    return apply(zone_records or {}, plan_updates(wanted, zone_records or {}, ownership, 300)["updates"])


def test_changed_vip_replaces_the_rrset_and_the_ownership_value():
    current = published(SHOP)
    plan = plan_updates({"shop.example.com.": {"A": ["192.0.2.11"], "AAAA": []}}, current, PUBLIC, 300)
    assert plan["updates"] == [
        {"record": "_netzone-owner.shop.example.com.", "type": "TXT", "state": "present",
         "value": [sig("shop.example.com.", "192.0.2.10", pending=True), sig("shop.example.com.", pending=True),
                   sig("shop.example.com.", "192.0.2.11", pending=True)]},
        {"record": "shop.example.com.", "type": "A", "value": ["192.0.2.10"], "state": "absent"},
        {"record": "shop.example.com.", "type": "A", "value": ["192.0.2.11"], "state": "present"},
        {"record": "_netzone-owner.shop.example.com.", "type": "TXT", "state": "present",
         "value": [sig("shop.example.com.", "192.0.2.11")]}]


def test_growing_rrset_is_written_whole_and_ttl_change_rewrites():
    current = published(SHOP)
    grow = plan_updates({"shop.example.com.": {"A": ["192.0.2.10", "192.0.2.12"], "AAAA": []}}, current, PUBLIC, 300)
    assert [(u["record"], u["type"], u["state"], u["value"]) for u in grow["updates"]][1:] == [
        ("shop.example.com.", "A", "present", ["192.0.2.10", "192.0.2.12"]),
        ("_netzone-owner.shop.example.com.", "TXT", "present", [sig("shop.example.com.", "192.0.2.10,192.0.2.12")])]
    for new_ttl in (60, 3600):  # a TTL lowered or raised is rewritten
        ttl = plan_updates(SHOP, current, PUBLIC, new_ttl)
        assert [(u["record"], u["type"]) for u in ttl["updates"]] == [
            ("_netzone-owner.shop.example.com.", "TXT"), ("shop.example.com.", "A"),
            ("_netzone-owner.shop.example.com.", "TXT")], new_ttl


def test_removed_vhost_deletes_its_records_then_its_owner_record():
    current = published(SHOP)
    plan = plan_updates({}, current, PUBLIC, 300)
    assert [(u["record"], u["type"], u["state"]) for u in plan["updates"]] == [
        ("_netzone-owner.shop.example.com.", "TXT", "present"),
        ("shop.example.com.", "A", "absent"),
        ("_netzone-owner.shop.example.com.", "TXT", "absent")]
    assert plan["after"] == ""
    assert apply(current, plan["updates"]) == {}


def test_removed_wildcard_maps_back_to_its_name():
    wild = {"*.apps.example.com.": {"A": ["192.0.2.10"], "AAAA": []}}
    current = published(wild)
    assert "_netzone-owner._wildcard.apps.example.com." in current
    plan = plan_updates({}, current, PUBLIC, 300)
    assert plan["updates"][1] == {"record": "*.apps.example.com.", "type": "A", "value": ["192.0.2.10"],
                                  "state": "absent"}
    assert apply(current, plan["updates"]) == {}


# --- the attacks: someone who may write TXT records (an ACME key) but not A records -------------------------

VICTIM = {"victim.example.com.": rr("A", ["192.0.2.97"])}


def planted(text, at="victim.example.com.", base=None):
    zone_records = dict(base if base is not None else VICTIM)
    zone_records[owner_name(at)] = rr("TXT", ['"%s"' % text])
    return zone_records


@pytest.mark.parametrize("text", [
    "heritage=netzone,netzone/owner=netzone",                              # the old guessable value
    "heritage=netzone,netzone/owner=netzone,netzone/vhost=victim.example.com",
    "heritage=netzone,netzone/owner=netzone,netzone/exposure=public,netzone/sig=" + "0" * 64,
    "heritage=netzone,netzone/owner=netzone,netzone/exposure=public,netzone/pending=" + "f" * 64,
    sig("victim.example.com.", "192.0.2.97", secret="another-secret-of-at-least-32-chars!"),
    sig("shop.example.com.", "192.0.2.10"),                                 # a real value, copied from another name
    sig("victim.example.com.", "192.0.2.10"),                               # right name, other records
    sig("victim.example.com.", "192.0.2.97", exposure="internal"),          # the other exposure's
])
def test_a_planted_ownership_record_gets_no_foreign_record_deleted(text):
    zone_records = planted(text)
    plan = plan_updates({}, zone_records, PUBLIC, 300)
    assert plan["updates"] == []
    if "exposure=internal" not in text:
        assert [f["record"] for f in plan["foreign"]] == ["victim.example.com."]
        assert plan["foreign"][0]["message"].startswith("victim.example.com: ")
        assert plan["foreign"][0]["message"].endswith("; left alone")
    # Wanted by a vhost, it is not taken over either.
    wanted = {"victim.example.com.": {"A": ["192.0.2.10"], "AAAA": []}}
    claimed = plan_updates(wanted, zone_records, PUBLIC, 300)
    assert claimed["updates"] == []
    assert [c["record"] for c in claimed["conflicts"]] == ["victim.example.com."]


def test_the_forged_value_would_have_worked_without_the_secret():
    """The same zone with the value computed with the real secret: the name is ours and goes. The attack
    tests above fail for want of the secret, not for a planning gap."""
    zone_records = planted(sig("victim.example.com.", "192.0.2.97"))
    assert [(u["record"], u["state"]) for u in plan_updates({}, zone_records, PUBLIC, 300)["updates"]][1:] == [
        ("victim.example.com.", "absent"), ("_netzone-owner.victim.example.com.", "absent")]


def test_a_replayed_value_after_someone_else_took_the_name_does_not_verify():
    """We published shop, gave it up; someone else points shop elsewhere; the old (public) TXT value is
    planted again: the records changed since we wrote it, so it does not verify."""
    old = published(SHOP)
    replayed = dict(old)
    replayed["shop.example.com."] = rr("A", ["198.51.100.50"])
    plan = plan_updates({}, replayed, PUBLIC, 300)
    assert plan["updates"] == []
    assert "does not verify with this deployment's secret" in plan["foreign"][0]["message"]


@pytest.mark.parametrize("at, why", [
    ("_acme-challenge.shop.example.com.", "not a host name a vhost can have"),
    ("ns1.sub.example.com.", "at or below the delegation sub.example.com."),
    ("shop.example.org.", "not in zone example.com."),
])
def test_only_names_the_vhosts_could_produce_are_deleted(at, why):
    """Even a value that verifies (the secret leaked into a copy, or a name written by hand with it) never
    deletes a name outside the zone, a name with '_' labels, or glue below a delegation."""
    zone_records = {at: rr("A", ["192.0.2.53"]), "sub.example.com.": rr("NS", ["ns1.sub.example.com."]),
                    owner_name(at): rr("TXT", ['"%s"' % sig(at, "192.0.2.53")])}
    plan = plan_updates({}, zone_records, PUBLIC, 300)
    assert plan["updates"] == []
    assert why in plan["foreign"][0]["message"]


def test_a_wanted_name_below_a_delegation_is_left_alone():
    zone_records = {"sub.example.com.": rr("NS", ["ns1.sub.example.com."])}
    plan = plan_updates({"app.sub.example.com.": {"A": ["192.0.2.10"], "AAAA": []}}, zone_records, PUBLIC, 300)
    assert plan["updates"] == []
    assert "at or below the delegation sub.example.com." in plan["conflicts"][0]["message"]


# --- public and internal in one zone -----------------------------------------------------------------------

STAFF = {"staff.example.com.": {"A": ["198.51.100.7"], "AAAA": []}}


def test_both_exposures_in_one_zone_stay_stable():
    """Public, then internal, then both again: the second round plans nothing, and each exposure's names
    keep their records (without the exposure in the value, each run deleted the other's)."""
    zone_records = published(SHOP, PUBLIC)
    zone_records = published(STAFF, INTERNAL, zone_records)
    assert zone_records["shop.example.com."]["A"]["values"] == ["192.0.2.10"]
    assert zone_records["staff.example.com."]["A"]["values"] == ["198.51.100.7"]
    assert plan_updates(SHOP, zone_records, PUBLIC, 300)["updates"] == []
    assert plan_updates(STAFF, zone_records, INTERNAL, 300)["updates"] == []
    # The other exposure's records are not reported either: they are someone else's, as expected.
    assert plan_updates(SHOP, zone_records, PUBLIC, 300)["foreign"] == []
    # A name that both exposures want belongs to the first one that took it.
    both = plan_updates(dict(SHOP, **STAFF), zone_records, PUBLIC, 300)
    assert both["updates"] == []
    assert "holds another owner's or exposure's text" in both["conflicts"][0]["message"]


def test_another_owners_ownership_record_is_never_replaced():
    """A wanted name with no address records but another deployment's ownership record is not taken (it
    would replace that deployment's TXT)."""
    zone_records = {"_netzone-owner.shop.example.com.": rr("TXT", ['"heritage=netzone,netzone/owner=someone"'])}
    plan = plan_updates(SHOP, zone_records, PUBLIC, 300)
    assert plan["updates"] == [] and plan["conflicts"][0]["record"] == "shop.example.com."


def test_foreign_records_are_never_touched():
    current = {
        "legacy.example.com.": rr("A", ["192.0.2.99"]),  # no ownership record at all
        "other.example.com.": rr("A", ["192.0.2.98"]),   # another deployment's
        "_netzone-owner.other.example.com.": rr("TXT", ['"heritage=netzone,netzone/owner=someone"']),
        "cdn.example.com.": rr("CNAME", ["edge.example.net."]),  # a CNAME at a wanted name
    }
    wanted = {name: {"A": ["192.0.2.10"], "AAAA": []} for name in ("legacy.example.com.", "cdn.example.com.")}
    plan = plan_updates(wanted, current, PUBLIC, 300)
    assert plan["updates"] == []
    assert [c["record"] for c in plan["conflicts"]] == ["cdn.example.com.", "legacy.example.com."]
    assert plan["conflicts"][1]["message"] == ("legacy.example.com: has A record(s) and no ownership record "
                                               "_netzone-owner.legacy.example.com; left alone")
    assert plan_updates({}, current, PUBLIC, 300) == {"updates": [], "conflicts": [], "foreign": [],
                                                      "before": "", "after": ""}


def test_a_name_with_only_foreign_txt_at_the_name_itself_is_taken():
    current = {"shop.example.com.": rr("TXT", ['"v=spf1 -all"'])}
    plan = plan_updates(SHOP, current, PUBLIC, 300)
    assert [(u["record"], u["type"]) for u in plan["updates"]] == [
        ("_netzone-owner.shop.example.com.", "TXT"), ("shop.example.com.", "A"), ("_netzone-owner.shop.example.com.", "TXT")]


@pytest.mark.parametrize("owner", ["netzone-2", "netzon", "NETZONE"])
def test_ownership_is_matched_exactly(owner):
    """Another owner whose id starts with ours, a prefix of ours, or ours in other case: not ours."""
    other = Ownership(owner, "public", "example.com", SECRET)
    zone_records = published(SHOP, other)
    assert plan_updates({}, zone_records, PUBLIC, 300)["updates"] == []


# --- a run stopped half-way -------------------------------------------------------------------------------

CHANGES = [
    ({}, SHOP),
    (SHOP, {"shop.example.com.": {"A": ["192.0.2.11"], "AAAA": []}}),
    (SHOP, {"shop.example.com.": {"A": [], "AAAA": ["2001:db8::10"]}}),
    ({"shop.example.com.": {"A": ["192.0.2.10", "192.0.2.12"], "AAAA": ["2001:db8::10"]}}, SHOP),
    (SHOP, {}),
]


@pytest.mark.parametrize("start, end", CHANGES)
def test_a_run_stopped_after_any_update_leaves_the_names_owned(start, end):
    """Apply only the first k updates of a plan (a run that failed half-way), then plan again: the name is
    still owned (no conflict), the second plan reaches the same zone, and a third plans nothing."""
    zone_records = published(start)
    plan = plan_updates(end, zone_records, PUBLIC, 300)
    full = apply(zone_records, plan["updates"])
    assert plan_updates(end, full, PUBLIC, 300)["updates"] == []
    for stop in range(len(plan["updates"])):
        partial = apply(zone_records, plan["updates"][:stop])
        again = plan_updates(end, partial, PUBLIC, 300)
        assert again["conflicts"] == [] and again["foreign"] == [], (stop, again)
        assert apply(partial, again["updates"]) == full, stop


# --- migration from the unauthenticated value --------------------------------------------------------------

OLD = {"shop.example.com.": rr("A", ["192.0.2.10"]), "old.example.com.": rr("A", ["192.0.2.10"]),
       "_netzone-owner.shop.example.com.": rr("TXT", [LEGACY]),
       "_netzone-owner.old.example.com.": rr("TXT", [LEGACY])}


def test_legacy_records_are_foreign_until_adopted():
    plan = plan_updates(SHOP, OLD, PUBLIC, 300)
    assert plan["updates"] == []
    assert "unauthenticated value of earlier versions" in plan["conflicts"][0]["message"]
    assert "loadbalancer_dns_adopt_legacy" in plan["conflicts"][0]["message"]
    assert [f["record"] for f in plan["foreign"]] == ["old.example.com."]


def test_adoption_takes_the_wanted_names_only_and_never_deletes():
    plan = plan_updates(SHOP, OLD, PUBLIC, 300, adopt_legacy=True)
    assert plan["updates"] == [{"record": "_netzone-owner.shop.example.com.", "type": "TXT", "state": "present",
                                "value": [sig("shop.example.com.", "192.0.2.10")]}]
    assert [f["record"] for f in plan["foreign"]] == ["old.example.com."]
    assert "no vhost wants it: if it is yours, delete its records" in plan["foreign"][0]["message"]
    adopted = apply(OLD, plan["updates"])
    assert plan_updates(SHOP, adopted, PUBLIC, 300)["updates"] == []


@pytest.mark.parametrize("args, message", [
    (("a b", "public", "example.com", SECRET), "owner: 'a b' must be 1-63 letters, digits, '.', '_' or '-'"),
    (("x" * 64, "public", "example.com", SECRET),
     "owner: '%s' must be 1-63 letters, digits, '.', '_' or '-'" % ("x" * 64)),
    ((None, "public", "example.com", SECRET), "owner: None must be 1-63 letters, digits, '.', '_' or '-'"),
    (("netzone", "dmz", "example.com", SECRET), "exposure: must be one of public, internal, got 'dmz'"),
    (("netzone", "public", "..", SECRET), "zone: must be a DNS zone name, got '..'"),
    (("netzone", "public", None, SECRET), "zone: must be a DNS zone name, got None"),
    (("netzone", "public", "example.com", "   "),
     "owner_secret: must be a secret of at least 32 characters (loadbalancer_dns_owner_secret; generate one with "
     "`openssl rand -base64 32` and keep it in Ansible Vault)"),
    (("netzone", "public", "example.com", "x" * 31),
     "owner_secret: must be 32 to 1024 characters long, got 31 (loadbalancer_dns_owner_secret; generate one with "
     "`openssl rand -base64 32`)"),
])
def test_ownership_inputs_are_refused_with_the_whole_message(args, message):
    with pytest.raises(DnsError) as err:
        Ownership(*args)
    assert str(err.value) == message


def test_the_secret_bounds_are_inclusive():
    assert Ownership("netzone", "public", "example.com", "x" * 32).zone == "example.com."
    assert Ownership("netzone", "public", "Example.COM.", "x" * 1024).zone == "example.com."


def test_a_missing_internal_address_is_one_whole_message():
    with pytest.raises(DnsError) as err:
        desired_records(VHOSTS, with_vip([dict(LBS[0], internal_address="")]), "internal", "corp.example")
    assert str(err.value) == ("vhost intranet.corp.example (internal): load balancer lb1 has no internal address to "
                              "publish; set loadbalancer_internal_vip or loadbalancer_internal_address")


def test_content_of_reads_addresses_canonically_and_names_absolute():
    from ansible_collections.netzone.segmentation.plugins.module_utils._edge.dns_records import content_of  # pylint: disable=import-outside-toplevel

    zone = {"shop.example.com.": {"A": {"values": [" 192.0.2.10 ", "192.0.2.9", "192.0.2.10", "not-an-address"]},
                                  "AAAA": {"values": ["2001:DB8:0:0::1"]},
                                  "CNAME": {"values": ["Edge.Example.NET"]}},
            "www.example.com.": {"TXT": {"values": ["x"]}}}
    assert content_of(zone, "SHOP.example.com") == {"A": ["192.0.2.10", "192.0.2.9", "not-an-address"],
                                                    "AAAA": ["2001:db8::1"], "CNAME": ["edge.example.net."]}
    assert content_of(zone, "www.example.com.") == {"A": [], "AAAA": [], "CNAME": []}
    assert content_of(zone, "absent.example.com") == {"A": [], "AAAA": [], "CNAME": []}


def test_only_a_well_formed_value_of_this_owner_and_exposure_verifies():
    content = {"A": ["192.0.2.10"], "AAAA": [], "CNAME": []}
    good = PUBLIC.value("shop.example.com", content)
    mac = expected_mac("shop.example.com.", a="192.0.2.10")
    assert PUBLIC.verifies("shop.example.com", good, content)
    assert PUBLIC.verifies("shop.example.com", '"%s"' % good, content)                       # quoted as TXT data
    assert PUBLIC.verifies("shop.example.com", PUBLIC.value("shop.example.com", content, pending=True), content)
    prefix = "heritage=netzone,netzone/owner=netzone,netzone/exposure=public,"
    assert not PUBLIC.verifies("shop.example.com", prefix + "netzone/other=" + mac, content)
    assert not PUBLIC.verifies("shop.example.com", prefix + "netzone/sig=" + mac.upper(), content)
    assert not PUBLIC.verifies("shop.example.com", prefix + "netzone/sig=" + mac + "0", content)
    assert not PUBLIC.verifies("shop.example.com", INTERNAL.value("shop.example.com", content), content)
    assert not PUBLIC.verifies("shop.example.com", good, {"A": ["192.0.2.11"], "AAAA": [], "CNAME": []})
    assert not INTERNAL.verifies("shop.example.com", good, content)


@pytest.mark.parametrize("text, kind", [
    ("heritage=netzone,netzone/owner=netzone,netzone/exposure=public,netzone/sig=00", "ours"),
    ('"heritage=netzone,netzone/owner=netzone,netzone/exposure=public,"', "ours"),
    ("heritage=netzone,netzone/owner=netzone,netzone/exposure=internal,netzone/sig=00", "other"),
    ("heritage=netzone,netzone/owner=netzone", "legacy"),
    ('"heritage=netzone,netzone/owner=netzone,netzone/vhost=shop.example.com"', "legacy"),
    ("heritage=netzone,netzone/owner=netzone2", "other"),
    ("heritage=netzone,netzone/owner=other", "other"),
    ('"', "other"),
])
def test_ownership_kind_of_a_txt_value(text, kind):
    assert PUBLIC.kind(text) == kind


@pytest.mark.parametrize("name, expected", [
    ("_netzone-owner.shop.example.com.", "shop.example.com."),
    ("_NETZONE-owner.Shop.example.com", "shop.example.com."),
    ("_netzone-owner._wildcard.apps.example.com.", "*.apps.example.com."),
    ("_netzone-owner._wildcardx.example.com.", "_wildcardx.example.com."),
    ("shop.example.com.", None),
    ("_netzone-ownerx.shop.example.com.", None),
])
def test_owned_name_maps_an_ownership_record_back(name, expected):
    from ansible_collections.netzone.segmentation.plugins.module_utils._edge.dns_records import owned_name  # pylint: disable=import-outside-toplevel

    assert owned_name(name) == expected


@pytest.mark.parametrize("name, zone, expected", [
    ("example.com.", "example.com", True), ("a.example.com", "Example.com.", True), ("aexample.com.", "example.com.", False),
    ("example.com.", "a.example.com.", False), ("a.b.example.com.", "b.example.com", True),
])
def test_in_zone_is_the_zone_or_below_it(name, zone, expected):
    from ansible_collections.netzone.segmentation.plugins.module_utils._edge.dns_records import in_zone  # pylint: disable=import-outside-toplevel

    assert in_zone(name, zone) is expected


def test_delegations_are_the_ns_names_other_than_the_apex_in_order():
    from ansible_collections.netzone.segmentation.plugins.module_utils._edge.dns_records import delegations  # pylint: disable=import-outside-toplevel

    zone = {"example.com.": {"NS": {"values": ["ns1."]}}, "z.example.com.": {"NS": {"values": ["ns2."]}},
            "b.example.com.": {"NS": {"values": ["ns3."]}}, "c.example.com.": {"A": {"values": ["192.0.2.1"]}},
            "d.example.com.": {"NS": {}}}
    assert delegations(zone, "Example.com") == ["b.example.com.", "z.example.com."]


@pytest.mark.parametrize("given, text", [('"v=1 x"', "v=1 x"), ('""', ""), ('"', '"'), ("plain", "plain"), ('"a', '"a')])
def test_a_txt_value_loses_one_pair_of_surrounding_quotes(given, text):
    from ansible_collections.netzone.segmentation.plugins.module_utils._edge import dns_records as records  # pylint: disable=import-outside-toplevel

    assert records._unquote(given) == text
