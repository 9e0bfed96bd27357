#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: dns_plan
short_description: Plan the RFC 2136 updates that publish the virtual hosts' DNS records
version_added: 0.2.0
author:
  - netzone maintainers (@netzone)
description:
  - Reads a zone by a TSIG-signed zone transfer (AXFR over TCP) and returns the updates that bring the records
    of the virtual hosts of one exposure to the wanted addresses, for M(community.general.nsupdate) to apply.
  - Each vhost name and alias points to the exposure's virtual address of the load balancers, or to every load
    balancer's own address when there is none (the records of the report's "DNS records to publish" table).
  - "Ownership as in external-dns's TXT registry, with a value that cannot be forged: beside every name it
    publishes there is a TXT record C(_netzone-owner.<name>) holding
    C(heritage=netzone,netzone/owner=<owner>,netzone/exposure=<exposure>,netzone/sig=<hmac>), the HMAC-SHA256
    keyed with O(owner_secret) over the owner, the exposure, the zone, the name and the name's records as they
    are (A, AAAA, CNAME)."
  - "A name is changed or deleted only when one value of its ownership record verifies against what the zone
    holds now, and only when it is a host name a vhost could have in O(zone) (no C(_) labels, not at or below a
    delegation). A TXT record planted by whoever may write TXT records, a value copied from another name, or the
    other exposure's records in the same zone never verify: a wanted name that carries them is returned in
    RV(conflicts), an unwanted one that claims this owner in RV(foreign), both with a warning, and left alone."
  - "While a name's records change, its ownership record holds C(netzone/pending=<hmac>) values for every state
    it passes through (each update is applied on its own), so a run stopped half-way leaves the name owned."
  - Records that carry the unauthenticated value of earlier versions (C(heritage=netzone,netzone/owner=<owner>))
    are foreign unless O(adopt_legacy) is set, which takes over those of them that a vhost wants (never deletes
    one).
  - Changes nothing itself; the same answer in check mode. Its diff shows the owned records before and after.
extends_documentation_fragment:
  - netzone.segmentation.attributes
attributes:
  check_mode:
    support: full
    details: It only reads, in check mode too.
  diff_mode:
    support: full
    details: The diff is the planned change of the owned records.
  idempotent:
    support: full
options:
  server:
    description: Address of the DNS server that is primary for O(zone).
    type: str
    required: true
  port:
    description: TCP port of O(server).
    type: int
    default: 53
  zone:
    description: The zone to read and update (explicit, never guessed).
    type: str
    required: true
  key_name:
    description: Name of the TSIG key; the server must allow it to transfer and update O(zone).
    type: str
    required: true
  key_secret:
    description: The TSIG key's secret (base64).
    type: str
    required: true
  key_algorithm:
    description: The TSIG algorithm.
    type: str
    choices: [hmac-sha256, hmac-sha384, hmac-sha512]
    default: hmac-sha256
  exposure:
    description: Which vhosts to publish in O(zone).
    type: str
    choices: [public, internal]
    required: true
  vhosts:
    description: The normalised virtual hosts (the output of the netzone.segmentation.lb_vhosts filter).
    type: list
    elements: dict
    required: true
  loadbalancers:
    description:
      - The load balancers, each with C(name), C(host_address), C(public_address), C(internal_address) and the
        virtual addresses C(public_vip) and C(internal_vip) (empty when there is none).
    type: list
    elements: dict
    required: true
  owner:
    description: The owner id in the ownership TXT records; deployments that share a zone need distinct ones.
    type: str
    default: netzone
  owner_secret:
    description:
      - The secret that authenticates the ownership records (HMAC-SHA256 key), 32 to 1024 characters, e.g. from
        C(openssl rand -base64 32) kept in Ansible Vault. Without it nobody can write a value that makes a name
        this deployment's. Changing it makes every record written with the old one foreign.
    type: str
    required: true
  adopt_legacy:
    description:
      - Take over wanted names whose ownership record holds this owner's unauthenticated value of earlier
        versions (migration; check the names with check mode and diff first). Unwanted names with such a value
        are never deleted; they are returned in RV(foreign).
    type: bool
    default: false
  ttl:
    description: TTL of the records.
    type: int
    default: 300
  timeout:
    description: Seconds to wait for the server.
    type: int
    default: 10
requirements:
  - dnspython (on the host that runs the module, usually the controller)
seealso:
  - module: community.general.nsupdate
"""

EXAMPLES = r"""
- name: Plan the public records
  netzone.segmentation.dns_plan:
    server: 192.0.2.53
    zone: example.com
    key_name: netzone-public
    key_secret: "{{ vault_dns_public_key }}"
    exposure: public
    owner_secret: "{{ vault_dns_owner_secret }}"
    vhosts: "{{ netzone_matrix.vhosts | netzone.segmentation.lb_vhosts }}"
    loadbalancers:
      - {name: lb-1, host_address: 203.0.113.10, public_address: "*", internal_address: "", public_vip: 203.0.113.5,
         internal_vip: ""}
  delegate_to: localhost
  register: plan

- name: Apply it
  community.general.nsupdate:
    server: 192.0.2.53
    zone: example.com
    key_name: netzone-public
    key_secret: "{{ vault_dns_public_key }}"
    key_algorithm: hmac-sha256
    protocol: tcp
    record: "{{ item.record }}"
    type: "{{ item.type }}"
    value: "{{ item.value }}"
    state: "{{ item.state }}"
    ttl: 300
  loop: "{{ plan.updates }}"
  delegate_to: localhost
"""

RETURN = r"""
updates:
  description:
    - The updates in the order to apply them (ownership record first for a new name, last for a removed one).
  returned: success
  type: list
  elements: dict
  contains:
    record: {description: "Absolute record name.", type: str}
    type: {description: "Record type: A, AAAA or TXT.", type: str}
    value: {description: "The record's values.", type: list, elements: str}
    state: {description: "V(present) or V(absent).", type: str}
conflicts:
  description:
    - Wanted names that are not this deployment's (records without a verifying ownership record, another
      owner's or exposure's, or below a delegation), left alone, each with C(record) and C(message).
  returned: success
  type: list
  elements: dict
foreign:
  description:
    - Names no vhost wants whose ownership record claims this owner and exposure but does not verify (planted,
      copied, unauthenticated, or a name the vhosts could not produce), left alone, each with C(record) and
      C(message).
  returned: success
  type: list
  elements: dict
records:
  description: "The wanted records: for each absolute name, its C(A) and C(AAAA) addresses."
  returned: success
  type: dict
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.netzone.segmentation.plugins.module_utils._edge.dns_records import (
    DnsError, Ownership, desired_records, plan_updates)

try:
    import dns.exception
    import dns.name
    import dns.query
    import dns.rcode
    import dns.rdatatype
    import dns.tsig
    import dns.tsigkeyring
    import dns.zone
except ImportError:
    HAS_DNSPYTHON = False
    DNSPYTHON_ERROR = traceback.format_exc()
else:
    HAS_DNSPYTHON = True
    DNSPYTHON_ERROR = None


def read_zone(params):
    """The zone as ``{fqdn: {TYPE: {"values": [...], "ttl": int}}}`` (A, AAAA, CNAME, TXT and NS only)."""
    where = "%s port %d" % (params["server"], params["port"])
    what = "zone transfer of %s from %s with key %s" % (params["zone"], where, params["key_name"])
    try:
        keyring = dns.tsigkeyring.from_text({params["key_name"]: params["key_secret"]})
    except Exception as exc:  # binascii.Error and friends: a secret that is not base64
        raise DnsError("key_secret of key %s is not a valid base64 TSIG secret (%s)" % (params["key_name"], exc))
    try:
        zone = dns.zone.from_xfr(dns.query.xfr(
            params["server"], params["zone"], port=params["port"], keyring=keyring, keyname=params["key_name"],
            keyalgorithm=params["key_algorithm"], lifetime=params["timeout"], timeout=params["timeout"]))
    except (dns.tsig.PeerBadKey, dns.tsig.PeerBadSignature, dns.tsig.PeerBadTime, dns.tsig.BadSignature) as exc:
        raise DnsError("%s failed: the server rejected the TSIG key (%s): check key_name, key_secret and "
                       "key_algorithm" % (what, type(exc).__name__))
    except dns.query.TransferError as exc:
        raise DnsError("%s was refused (%s): the key is wrong or the server does not allow it to transfer the zone "
                       "(allow-transfer { key %s; })" % (what, dns.rcode.to_text(exc.rcode), params["key_name"]))
    except dns.exception.Timeout:
        raise DnsError("%s: no answer within %d s" % (what, params["timeout"]))
    except OSError as exc:
        raise DnsError("%s: cannot connect (%s)" % (what, exc.strerror or exc))
    except dns.exception.DNSException as exc:
        raise DnsError("%s failed: %s" % (what, exc))
    records = {}
    for name, ttl, rdata in zone.iterate_rdatas():
        rtype = dns.rdatatype.to_text(rdata.rdtype)
        if rtype not in ("A", "AAAA", "CNAME", "TXT", "NS"):
            continue
        fqdn = name.derelativize(zone.origin).to_text().lower()
        entry = records.setdefault(fqdn, {}).setdefault(rtype, {"values": [], "ttl": ttl})
        entry["values"].append(rdata.to_text())
    return records


def main():
    module = AnsibleModule(
        argument_spec=dict(
            server=dict(type="str", required=True),
            port=dict(type="int", default=53),
            zone=dict(type="str", required=True),
            key_name=dict(type="str", required=True),
            key_secret=dict(type="str", required=True, no_log=True),
            key_algorithm=dict(type="str", default="hmac-sha256", choices=["hmac-sha256", "hmac-sha384", "hmac-sha512"]),
            exposure=dict(type="str", required=True, choices=["public", "internal"]),
            vhosts=dict(type="list", elements="dict", required=True),
            loadbalancers=dict(type="list", elements="dict", required=True),
            owner=dict(type="str", default="netzone"),
            owner_secret=dict(type="str", required=True, no_log=True),
            adopt_legacy=dict(type="bool", default=False),
            ttl=dict(type="int", default=300),
            timeout=dict(type="int", default=10),
        ),
        supports_check_mode=True,
    )
    if not HAS_DNSPYTHON:
        module.fail_json(msg=missing_required_lib("dnspython"), exception=DNSPYTHON_ERROR)
    params = module.params
    try:
        wanted = desired_records(params["vhosts"], params["loadbalancers"], params["exposure"], params["zone"])
        ownership = Ownership(params["owner"], params["exposure"], params["zone"], params["owner_secret"])
        plan = plan_updates(wanted, read_zone(params), ownership, params["ttl"], adopt_legacy=params["adopt_legacy"])
    except DnsError as exc:
        module.fail_json(msg=str(exc))
    for item in plan["conflicts"] + plan["foreign"]:
        module.warn(item["message"])
    module.exit_json(changed=False, updates=plan["updates"], conflicts=plan["conflicts"], foreign=plan["foreign"],
                     records=wanted,
                     diff={"before": plan["before"], "after": plan["after"],
                           "before_header": "%s (owned records)" % params["zone"],
                           "after_header": "%s (owned records)" % params["zone"]})


if __name__ == "__main__":
    main()
