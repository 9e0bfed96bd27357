# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DNS records of the vhosts and the RFC 2136 updates planned from a zone's content (ownership as external-dns)."""

from __future__ import annotations

import pytest

from ansible_collections.netzone.segmentation.plugins.module_utils._edge.dns_records import (
    DnsError, desired_records, owner_name, owner_value, plan_updates)
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
# Written out (not owner_value's output): the external-dns style ownership text for owner "netzone".
TAG = '"heritage=netzone,netzone/owner=netzone"'


def with_vip(lbs, public="", internal=""):
    return [dict(lb, public_vip=public, internal_vip=internal) for lb in lbs]


def zone(**names):
    """A zone as dns_plan reads it: names given as keyword args (dots as '__')."""
    out = {}
    for key, types in names.items():
        out[key.replace("__", ".") + "."] = {t: {"values": list(v[0]), "ttl": v[1]} for t, v in types.items()}
    return out


def test_without_vip_every_load_balancer_address():
    wanted = desired_records(VHOSTS, with_vip(LBS), "public", "example.com")
    assert wanted == {"shop.example.com.": {"A": ["203.0.113.10", "203.0.113.11"], "AAAA": []},
                      "www.example.com.": {"A": ["203.0.113.10", "203.0.113.11"], "AAAA": []},
                      "*.apps.example.com.": {"A": ["203.0.113.10", "203.0.113.11"], "AAAA": []}}


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
    assert owner_value("netzone") == "heritage=netzone,netzone/owner=netzone"


def test_empty_zone_creates_owner_record_before_each_name():
    wanted = {"shop.example.com.": {"A": ["192.0.2.10"], "AAAA": []}}
    plan = plan_updates(wanted, {}, "netzone", 300)
    assert plan["updates"] == [
        {"record": "_netzone-owner.shop.example.com.", "type": "TXT", "value": ["heritage=netzone,netzone/owner=netzone"], "state": "present"},
        {"record": "shop.example.com.", "type": "A", "value": ["192.0.2.10"], "state": "present"}]
    assert plan["before"] == ""
    assert "shop.example.com. 300 IN A 192.0.2.10" in plan["after"]


def test_in_sync_zone_plans_nothing():
    wanted = {"shop.example.com.": {"A": ["192.0.2.10"], "AAAA": []}}
    current = zone(shop__example__com={"A": (["192.0.2.10"], 300)},
                   _netzone_owner__shop__example__com={"TXT": ([TAG], 300)})
    current = {k.replace("_netzone_owner", "_netzone-owner"): v for k, v in current.items()}
    plan = plan_updates(wanted, current, "netzone", 300)
    assert plan["updates"] == [] and plan["conflicts"] == []
    assert plan["before"] == plan["after"]


def owned_zone(records):
    out = {}
    for name, (rtype, values, ttl) in records.items():
        out.setdefault(name, {})[rtype] = {"values": values, "ttl": ttl}
        out.setdefault("_netzone-owner." + name, {})["TXT"] = {"values": [TAG], "ttl": 300}
    return out


def test_changed_vip_replaces_the_rrset():
    plan = plan_updates({"shop.example.com.": {"A": ["192.0.2.11"], "AAAA": []}},
                        owned_zone({"shop.example.com.": ("A", ["192.0.2.10"], 300)}), "netzone", 300)
    assert plan["updates"] == [
        {"record": "shop.example.com.", "type": "A", "value": ["192.0.2.10"], "state": "absent"},
        {"record": "shop.example.com.", "type": "A", "value": ["192.0.2.11"], "state": "present"}]


def test_growing_rrset_is_written_whole_and_ttl_change_rewrites():
    current = owned_zone({"shop.example.com.": ("A", ["192.0.2.10"], 300)})
    grow = plan_updates({"shop.example.com.": {"A": ["192.0.2.10", "192.0.2.12"], "AAAA": []}}, current, "netzone", 300)
    assert grow["updates"] == [{"record": "shop.example.com.", "type": "A", "value": ["192.0.2.10", "192.0.2.12"],
                                "state": "present"}]
    ttl = plan_updates({"shop.example.com.": {"A": ["192.0.2.10"], "AAAA": []}}, current, "netzone", 60)
    assert ttl["updates"] == [{"record": "shop.example.com.", "type": "A", "value": ["192.0.2.10"], "state": "present"}]


def test_removed_vhost_deletes_its_records_then_its_owner_record():
    current = owned_zone({"old.example.com.": ("A", ["192.0.2.10"], 300)})
    plan = plan_updates({}, current, "netzone", 300)
    assert plan["updates"] == [
        {"record": "old.example.com.", "type": "A", "value": ["192.0.2.10"], "state": "absent"},
        {"record": "_netzone-owner.old.example.com.", "type": "TXT", "value": [TAG], "state": "absent"}]
    assert plan["after"] == ""


def test_removed_wildcard_maps_back_to_its_name():
    current = {"*.apps.example.com.": {"A": {"values": ["192.0.2.10"], "ttl": 300}},
               "_netzone-owner._wildcard.apps.example.com.": {"TXT": {"values": [TAG], "ttl": 300}}}
    plan = plan_updates({}, current, "netzone", 300)
    assert plan["updates"][0] == {"record": "*.apps.example.com.", "type": "A", "value": ["192.0.2.10"], "state": "absent"}


def test_foreign_records_are_never_touched():
    current = {
        # no ownership record at all
        "legacy.example.com.": {"A": {"values": ["192.0.2.99"], "ttl": 300}},
        # another deployment's
        "other.example.com.": {"A": {"values": ["192.0.2.98"], "ttl": 300}},
        "_netzone-owner.other.example.com.": {"TXT": {"values": ['"heritage=netzone,netzone/owner=someone"'], "ttl": 300}},
        # a CNAME at a wanted name
        "cdn.example.com.": {"CNAME": {"values": ["edge.example.net."], "ttl": 300}},
    }
    wanted = {name: {"A": ["192.0.2.10"], "AAAA": []} for name in ("legacy.example.com.", "cdn.example.com.")}
    plan = plan_updates(wanted, current, "netzone", 300)
    assert plan["updates"] == []
    assert [c["record"] for c in plan["conflicts"]] == ["cdn.example.com.", "legacy.example.com."]
    assert "legacy.example.com already has A record(s) that owner 'netzone' does not own" in plan["conflicts"][1]["message"]
    # Not wanted at all: still untouched (the other owner's name is not ours to delete).
    assert plan_updates({}, current, "netzone", 300)["updates"] == []


def test_a_name_with_only_foreign_txt_is_taken_without_touching_that_txt():
    current = {"shop.example.com.": {"TXT": {"values": ['"v=spf1 -all"'], "ttl": 300}}}
    plan = plan_updates({"shop.example.com.": {"A": ["192.0.2.10"], "AAAA": []}}, current, "netzone", 300)
    assert [(u["record"], u["type"]) for u in plan["updates"]] == [
        ("_netzone-owner.shop.example.com.", "TXT"), ("shop.example.com.", "A")]


def test_bad_owner():
    with pytest.raises(DnsError, match="owner: 'a b' must be"):
        plan_updates({}, {}, "a b", 300)


def test_a_planted_ownership_bug_is_caught():
    """Treating every heritage=netzone record as ours (ignoring the owner id) would delete another deployment's
    records: the owner check is what keeps other.example.com."""
    current = {"other.example.com.": {"A": {"values": ["192.0.2.98"], "ttl": 300}},
               "_netzone-owner.other.example.com.": {"TXT": {"values": ['"heritage=netzone,netzone/owner=x"'], "ttl": 300}}}
    assert plan_updates({}, current, "netzone", 300)["updates"] == []
    assert len(plan_updates({}, current, "x", 300)["updates"]) == 2


@pytest.mark.parametrize("txt", [
    '"heritage=netzone,netzone/owner=netzone-2"',     # another owner whose name starts with ours
    '"heritage=netzone,netzone/owner=netzon"',        # a prefix of ours
    '"heritage=netzone,netzone/owner=NETZONE"',       # not the same name
    '"heritage=external-dns,netzone/owner=netzone"',  # not our heritage
    '"netzone/owner=netzone"',                        # no heritage at all
    '"x heritage=netzone,netzone/owner=netzone"',     # ours inside a longer text
])
def test_ownership_is_matched_exactly(txt):
    """Only the exact ownership text (an optional ``,netzone/vhost=...`` after it) makes a name ours: a
    loose match would let one deployment delete another's records."""
    current = {"old.example.com.": {"A": {"values": ["192.0.2.7"], "ttl": 300}},
               "_netzone-owner.old.example.com.": {"TXT": {"values": [txt], "ttl": 300}}}
    assert plan_updates({}, current, "netzone", 300)["updates"] == []
    owned = dict(current, **{"_netzone-owner.old.example.com.": {"TXT": {
        "values": ['"heritage=netzone,netzone/owner=netzone,netzone/vhost=old.example.com"'], "ttl": 300}}})
    assert [(u["record"], u["type"], u["state"]) for u in plan_updates({}, owned, "netzone", 300)["updates"]] == [
        ("old.example.com.", "A", "absent"), ("_netzone-owner.old.example.com.", "TXT", "absent")]
