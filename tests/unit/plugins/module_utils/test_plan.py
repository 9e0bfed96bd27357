# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan: built once from what the user wrote, proven, checked offline, sealed by a digest."""

from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.netzone.segmentation.plugins.module_utils._common import fileset
from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import MatrixError
from ansible_collections.netzone.segmentation.plugins.module_utils._model.compile import compile_manifests
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import default_matrix, normalize_matrix
from ansible_collections.netzone.segmentation.plugins.module_utils._model.plan import (
    PlanError, build_plan, check_digest, check_plan, compact, matrix_from_params)

INVENTORY = {"groups": {"loadbalancers": ["lb1"], "microk8s": ["n1"]},
             "addresses": {"lb1": "10.0.0.11", "n1": "10.0.0.21"}}
CA = "-----BEGIN CERTIFICATE-----\nMIIca\n-----END CERTIFICATE-----\n"
OPEN_DB = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "open", "namespace": "db"},
           "spec": {"podSelector": {}, "ingress": [{}]}}


def test_the_plan_of_the_default_matrix_is_proven_and_checked():
    plan = build_plan(None, INVENTORY)
    assert plan["matrix"] == normalize_matrix(None, INVENTORY)
    assert plan["manifests"][:len(compile_manifests(plan["matrix"]))] == compile_manifests(plan["matrix"])
    assert {m["kind"] for m in plan["manifests"]} >= {"Namespace", "NetworkPolicy", "Ingress", "ConfigMap", "Deployment"}
    assert plan["proof"]["mismatches"] == [] and plan["proof"]["summary"]["cells"] > 100
    assert plan["checks"] == {"plan": [], "load_balancers": []} and plan["problems"] == []
    assert plan["guardrail"]["ok"] and plan["guardrail"]["stage"] == "warn" and plan["guardrail"]["problems"] == []
    assert plan["digest"].startswith("sha256:") and len(plan["digest"]) == 7 + 64
    assert check_plan(plan) is plan


def test_a_plan_whose_guardrail_does_not_hold_is_refused(monkeypatch):
    """The guardrail is proven on the plan's own manifests when the plan is built; here the compiled manifests are
    handed to the proof without their AdminNetworkPolicy (as a compiler that forgot it would), in the deny stage."""
    from ansible_collections.netzone.segmentation.plugins.module_utils._model import cluster_policy, plan as plan_mod

    def without_admin_policy(matrix, manifests):
        return cluster_policy.guardrail_proof(matrix, [m for m in manifests if m["kind"] != "AdminNetworkPolicy"])
    monkeypatch.setattr(plan_mod, "guardrail_proof", without_admin_policy)
    raw = default_matrix()
    raw.setdefault("guards", {})["unmanaged_internet"] = "deny"
    plan = build_plan(raw, INVENTORY)
    assert plan["guardrail"]["problems"] == [
        "the cluster-wide guardrail against direct internet does not hold (guards.unmanaged_internet: deny): "
        "default get allowed where denied by the guardrail was expected"]
    check_digest(plan)
    with pytest.raises(PlanError, match=r"^plan\.guardrail: refused: the cluster-wide guardrail against direct "
                                        r"internet does not hold \(guards\.unmanaged_internet: deny\): default get"):
        check_plan(plan)
    changed = copy.deepcopy(plan)
    changed["guardrail"]["problems"] = []                # hiding the problem breaks the seal
    with pytest.raises(PlanError, match=r"^plan\.digest: "):
        check_plan(changed)


def test_the_digest_survives_json_and_sees_any_change():
    plan = build_plan(None, INVENTORY)
    check_plan(json.loads(json.dumps(plan)))          # what a module gets through Ansible
    for change in (lambda p: p["manifests"].append(OPEN_DB),
                   lambda p: p["manifests"][5]["spec"].update(podSelector={"matchLabels": {"x": "y"}}),
                   lambda p: p["matrix"]["flows"].pop(),
                   lambda p: p["proof"]["mismatches"].append({"explanation": "x"}),
                   lambda p: p["checks"]["plan"].append("x")):
        changed = copy.deepcopy(plan)
        change(changed)
        with pytest.raises(PlanError, match=r"^plan\.digest: the plan changed after it was built and proven"):
            check_plan(changed)


def test_the_compact_plan_drops_only_the_report_rows_and_is_accepted_as_the_whole_one():
    plan = build_plan(None, INVENTORY)
    small = compact(json.loads(json.dumps(plan)))
    assert sorted(plan["proof"]) == ["cells", "mismatches", "summary"]
    assert sorted(small["proof"]) == ["mismatches", "summary"]
    assert sorted(plan["guardrail"]) == ["ok", "problems", "rows", "stage"]
    assert sorted(small["guardrail"]) == ["ok", "problems", "stage"]
    assert {k: v for k, v in small.items() if k not in ("proof", "guardrail")} == \
        {k: v for k, v in json.loads(json.dumps(plan)).items() if k not in ("proof", "guardrail")}
    assert check_plan(small) is small and "cells" in plan["proof"]       # the whole plan is left as it was
    assert len(json.dumps(small)) < len(json.dumps(plan))
    small["manifests"].append(OPEN_DB)
    with pytest.raises(PlanError, match=r"^plan\.digest: the plan changed after it was built and proven"):
        check_plan(small)
    with pytest.raises(PlanError, match=r"^zones_plan: not a plan"):
        compact({"matrix": {}}, "zones_plan")


def test_unproven_or_refused_plans_are_refused():
    extra = build_plan(None, INVENTORY, extra_policies=[OPEN_DB])
    assert extra["proof"]["mismatches"] and OPEN_DB in extra["manifests"]
    with pytest.raises(PlanError, match=r"^plan\.proof: the policies do not allow exactly the matrix \(\d+ mismatch"):
        check_plan(extra)
    check_digest(extra)                               # sealed as built: the report may still show it
    refused = build_plan(None, INVENTORY, guard_settings={"load_balancer_group": "nobody"})
    assert refused["problems"] and refused["problems"][0].startswith("load_balancers: the inventory has no host in "
                                                                     "group 'nobody'")
    with pytest.raises(PlanError, match=r"^plan\.checks: refused, it would lock the platform out: load_balancers: "):
        check_plan(refused)
    skipped = build_plan(None, INVENTORY, guard_settings={"load_balancer_group": "nobody", "skip": ["load_balancers"]})
    assert skipped["checks"] == {"plan": []} and check_plan(skipped)
    with pytest.raises(PlanError, match=r"^plan: not a plan"):
        check_plan({"manifests": []})


def test_a_matrix_that_renders_is_refused_at_render_too_when_apply_would():
    """The API server check of the guard (a zone that needs the API server with no peer for it) is offline: the
    plan has it, so rendering refuses what applying would."""
    raw = {"services": {"http": ["80/tcp"]}, "peers": {"load_balancers": {"from_group": "loadbalancers"}},
           "zones": {"ingress": {}, "web": {}},
           "flows": [{"from": "load_balancers", "to": "ingress", "services": ["http"]},
                     {"from": "ingress", "to": "web", "services": ["http"]}]}
    plan = build_plan(raw, INVENTORY)
    assert plan["proof"]["mismatches"] == []
    assert plan["problems"] == ["plan: zones 'ingress' need the API server, but the matrix has no peer 'api_server'"]


def test_extra_policies_and_inputs_are_checked_with_their_path():
    with pytest.raises(PlanError, match=r"^extra_policies\[1\]: must be a NetworkPolicy"):
        build_plan(None, INVENTORY, extra_policies=[OPEN_DB, {"kind": "Service"}])
    with pytest.raises(PlanError, match=r"^egress: unknown key 'secret'"):
        build_plan(None, INVENTORY, egress={"secret": "omit"})
    with pytest.raises(PlanError, match=r"^egress\.secrets: must be omit or apart"):
        build_plan(None, INVENTORY, egress={"secrets": "include"})
    raw = default_matrix()
    raw["flows"].append({"from": "frontend", "to": "bakend", "services": ["http"]})
    with pytest.raises(MatrixError, match=r"^flows\[6\]\.to: unknown zone or peer 'bakend'"):
        build_plan(raw, INVENTORY)


def test_overrides_go_in_before_validation():
    plan = build_plan(None, INVENTORY, overrides={"guards": {"nodeports": "warn"}})
    assert plan["matrix"]["guards"]["nodeports"] == "warn"
    with pytest.raises(MatrixError, match=r"^guards\.nodeports"):
        build_plan(None, INVENTORY, overrides={"guards": {"nodeports": "sometimes"}})


def test_reuse_only_for_the_same_inputs_and_an_unchanged_plan():
    plan = build_plan(None, INVENTORY)
    assert build_plan({}, INVENTORY, reuse=plan) is plan          # {} and None are both the article's model
    assert build_plan(None, INVENTORY, extra_policies=[OPEN_DB], reuse=plan) is not plan
    assert build_plan(None, INVENTORY, egress={"replicas": 3}, reuse=plan) is not plan
    changed = copy.deepcopy(plan)
    changed["manifests"].append(OPEN_DB)
    rebuilt = build_plan(None, INVENTORY, reuse=changed)
    assert rebuilt is not changed and rebuilt["digest"] == plan["digest"]
    # The same inputs written in another key order (as another play or a re-read file gives them) are the same.
    egress = build_plan(None, INVENTORY, egress={"replicas": 3, "squid_image": "squid:6"})
    assert build_plan(None, INVENTORY, egress={"squid_image": "squid:6", "replicas": 3}, reuse=egress) is egress
    reordered = dict(reversed(list(INVENTORY.items())))
    assert build_plan(None, reordered, reuse=plan) is plan


def test_secrets_apart_leave_no_key_material_in_the_plan():
    raw = default_matrix()
    raw["egress"]["originations"] = [{"name": "payments", "from": ["backend"], "upstream": "https://pay.example.com",
                                      "ca": "ca.pem", "port": 8080}]
    plan = build_plan(raw, INVENTORY, egress={"secrets": "apart", "files": {"ca.pem": CA}})
    secrets = [m for m in plan["manifests"] if m["kind"] == "Secret"]
    assert [s["metadata"]["name"] for s in secrets] == ["egress-origination-payments"] and "data" not in secrets[0]
    assert "MIIca" not in json.dumps(plan)
    # only the Secret loses its data: the proxies' configuration stays in the plan, to be applied
    configs = {m["metadata"]["name"]: m.get("data") for m in plan["manifests"] if m["kind"] == "ConfigMap"}
    assert sorted(configs) == ["egress-origination", "egress-proxy"]
    assert "http_port 3128" in configs["egress-proxy"]["squid.conf"]
    assert "pay.example.com" in configs["egress-origination"]["haproxy.cfg"]
    rendered = build_plan(raw, INVENTORY)                        # omit: no Secret, no file needed
    assert not [m for m in rendered["manifests"] if m["kind"] == "Secret"]


def test_modules_take_the_plans_matrix_without_normalising_again():
    plan = build_plan(None, INVENTORY)
    assert matrix_from_params({"plan": plan}) == (plan["matrix"], INVENTORY)
    assert matrix_from_params({"matrix": {}, "inventory": INVENTORY})[0] == plan["matrix"]
    with pytest.raises(PlanError, match=r"^plan\.digest"):
        matrix_from_params({"plan": dict(plan, matrix=default_matrix())})


def test_fileset_diff_shows_content(tmp_path):
    (tmp_path / "old.yaml").write_text("a: 1\n")
    (tmp_path / "keep.yaml").write_text("b: 1\n")
    (tmp_path / fileset.INDEX).write_text("old.yaml\nkeep.yaml\n")
    files = {"keep.yaml": "b: 2\n", "new.yaml": "c: 3\n"}
    planned = fileset.plan(str(tmp_path), files)
    diff = {d["after_header"]: d for d in fileset.diff(str(tmp_path), files, planned)}
    assert diff[str(tmp_path / "keep.yaml")]["before"] == "b: 1\n" and diff[str(tmp_path / "keep.yaml")]["after"] == "b: 2\n"
    assert diff[str(tmp_path / "new.yaml")]["before"] == "" and diff[str(tmp_path / "new.yaml")]["after"] == "c: 3\n"
    assert diff["%s (removed)" % (tmp_path / "old.yaml")]["before"] == "a: 1\n"


def test_messages_name_json_types_not_ansibles_tagged_classes():
    """What Ansible passes is tagged (_AnsibleTaggedStr, _AnsibleTaggedDict...): messages name the JSON type.
    Tags came with ansible-core 2.19; before it, Ansible passes plain values (make compat runs 2.17)."""
    tags = pytest.importorskip("ansible._internal._datatag._tags")

    tag = tags.Origin(path="/inventory/group_vars/all.yml")
    for key, value, message in (("flows", tag.tag("x"), "flows: expected a list, got a string"),
                                ("vhosts", [tag.tag("x")], "vhosts[0]: expected an object, got a string"),
                                ("egress", tag.tag("x"), "egress: expected an object, got a string"),
                                ("services", tag.tag(["80/tcp"]), "services: expected an object, got a list"),
                                ("peers", {"p": tag.tag(3)}, "peers.p: expected an object, got an integer")):
        raw = default_matrix()
        raw[key] = value
        with pytest.raises(MatrixError) as error:
            build_plan(raw, INVENTORY)
        assert str(error.value) == message


def test_hints_a_port_where_a_service_belongs_a_close_name_and_host_bits():
    def refused(change):
        raw = default_matrix()
        change(raw)
        with pytest.raises(MatrixError) as error:
            build_plan(raw, INVENTORY)
        return str(error.value)

    assert refused(lambda r: r["flows"][0].update(services=["80/tcp"])) == (
        "flows[0].services[0]: unknown service '80/tcp' ('80/tcp' is a port: flows name services; 'http' has it)")
    assert refused(lambda r: r["flows"][0].update(services=[5432])).endswith(
        "expected a service name, got an integer (5432 is a port: flows name services; 'postgres' has it)")
    assert refused(lambda r: r["flows"][0].update(services=["7777"])).endswith(
        "('7777' is a port: flows name services; define one under 'services', for example app: [7777/tcp])")
    assert refused(lambda r: r["vhosts"][0].update(zone="frontnd")) == (
        "vhosts[0].zone: unknown zone 'frontnd' (did you mean 'frontend'?)")
    assert refused(lambda r: r["egress"].update(zone="proxi")) == (
        "egress.zone: unknown zone 'proxi' (did you mean 'proxy'?)")
    raw = default_matrix()
    raw["peers"]["backup"] = {"cidrs": ["192.0.2.7/24", {"cidr": "198.51.100.0/24", "except": ["198.51.100.9/28"]}]}
    raw["flows"].append({"from": "db", "to": "backup", "services": ["postgres"]})
    assert build_plan(raw, INVENTORY)["warnings"] == [
        "peers.backup.cidrs[0]: 192.0.2.7/24 has host bits set; it is taken as 192.0.2.0/24",
        "peers.backup.cidrs[1].except[0]: 198.51.100.9/28 has host bits set; it is taken as 198.51.100.0/28"]
    assert build_plan(None, INVENTORY)["warnings"] == []
    # A public vhost without tls silently gets a self-signed certificate: said, once; an internal one is not.
    raw = default_matrix()
    del raw["vhosts"][0]["tls"]
    raw["vhosts"].append({"name": "wiki.example.com", "exposure": "internal", "service": "wiki"})
    assert build_plan(raw, INVENTORY)["warnings"] == [
        "vhosts[0].tls: not set, so the public vhost 'shop.example.com' gets a self-signed certificate, which "
        "browsers refuse: give tls: {cert, key} (PEM files on the controller), or write tls: selfsigned if that is "
        "meant"]


def test_host_bits_are_warned_for_a_peers_cidr_and_its_except_entries():
    raw = default_matrix()
    raw["peers"]["partner"] = {"cidr": "203.0.113.5/24", "except": ["203.0.113.128/25", "203.0.113.130/26"]}
    raw["flows"].append({"from": "backend", "to": "partner", "services": ["https"]})
    assert build_plan(raw, INVENTORY)["warnings"] == [
        "peers.partner.cidr: 203.0.113.5/24 has host bits set; it is taken as 203.0.113.0/24",
        "peers.partner.except[1]: 203.0.113.130/26 has host bits set; it is taken as 203.0.113.128/26"]


def test_a_plan_of_another_version_is_refused_by_name():
    for version in (99, 0, "1"):     # newer, older, and the right number as a string
        plan = copy.deepcopy(build_plan(None, INVENTORY))
        plan["version"] = version
        with pytest.raises(PlanError) as err:
            check_digest(plan)
        assert str(err.value) == "plan.version: plan version %r, this collection reads 1" % (version,)


def test_api_server_zones_given_add_to_the_ingress_zone_never_cancel_it():
    from ansible_collections.netzone.segmentation.plugins.module_utils._model.plan import offline_checks  # pylint: disable=import-outside-toplevel
    from ansible_collections.netzone.segmentation.plugins.module_utils._model.proof import verify_matrix  # pylint: disable=import-outside-toplevel

    raw = default_matrix()
    raw["zones"]["ingress"]["needs"] = []
    matrix = normalize_matrix(raw, INVENTORY)
    proof = verify_matrix(matrix)
    problem = ("zone 'ingress' needs the API server (port 16443) but no flow opens it: add 'api_server' to the "
               "zone's needs")
    assert offline_checks(matrix, proof, INVENTORY)["plan"] == [problem]
    assert offline_checks(matrix, proof, INVENTORY, {"api_server_zones": ["ingress"]})["plan"] == [problem]


def test_a_value_that_is_not_json_is_named_by_its_type():
    plan = copy.deepcopy(build_plan(None, INVENTORY))
    plan["manifests"][0]["metadata"]["when"] = object()
    with pytest.raises(TypeError) as err:
        check_digest(plan)
    assert str(err.value) == "object is not JSON"


def test_a_peer_that_is_exactly_the_pod_cidr_keeps_it_whole():
    """The cluster's own ranges are cut out of a peer that contains them, never out of a peer that is one."""
    raw = default_matrix()
    raw["peers"]["pods"] = {"cidr": "10.1.0.0/16"}
    raw["peers"]["wide"] = {"cidr": "10.0.0.0/8"}
    peers = normalize_matrix(raw, INVENTORY)["peers"]
    assert peers["pods"]["cidrs"] == [{"cidr": "10.1.0.0/16", "except": []}]
    assert peers["wide"]["cidrs"] == [{"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16", "10.152.183.0/24"]}]


def test_egress_replicas_must_be_a_positive_integer():
    for bad in (0, -1, True, "2"):
        with pytest.raises(PlanError) as err:
            build_plan(None, INVENTORY, egress={"replicas": bad})
        assert str(err.value) == "egress.replicas: must be a positive integer, got %r" % (bad,)


def test_a_port_inside_a_services_range_names_that_service():
    raw = default_matrix()
    raw["services"]["metrics"] = ["9100-9110/tcp"]
    raw["flows"][0]["services"] = [9105]
    with pytest.raises(MatrixError) as error:
        build_plan(raw, INVENTORY)
    assert str(error.value).endswith("(9105 is a port: flows name services; 'metrics' has it)"), str(error.value)


@pytest.mark.parametrize("kwargs, message", [
    ({"egress": "omit"}, "egress: must be a mapping, got a string"),
    ({"guard_settings": ["skip"]}, "guard: must be a mapping, got a list"),
    ({"egress": {"secret": "omit", "file": {}}},
     "egress: unknown key 'file', 'secret' (expected one of: files, secrets, squid_image, haproxy_image, replicas)"),
    ({"guard_settings": {"skips": []}},
     "guard: unknown key 'skips' (expected one of: skip, load_balancer_group, api_server_peer, api_server_zones)"),
    ({"egress": {"secrets": "include"}}, "egress.secrets: must be omit or apart, got 'include'"),
    ({"egress": {"files": ["ca.pem"]}}, "egress.files: must be a mapping of path to file content"),
    ({"extra_policies": [OPEN_DB, {"kind": "Service"}]},
     "extra_policies[1]: must be a NetworkPolicy (kind: NetworkPolicy); other kinds would be applied without being "
     "proven"),
    ({"extra_policies": ["NetworkPolicy"]},
     "extra_policies[0]: must be a NetworkPolicy (kind: NetworkPolicy); other kinds would be applied without being "
     "proven"),
])
def test_bad_plan_inputs_are_one_whole_message(kwargs, message):
    with pytest.raises(PlanError) as err:
        build_plan(None, INVENTORY, **kwargs)
    assert str(err.value) == message


def test_a_plan_without_a_proof_summary_is_refused_and_a_changed_digest_names_both():
    plan = copy.deepcopy(build_plan(None, INVENTORY))
    plan["proof"]["summary"] = None                 # not in the digest: the digest still holds
    with pytest.raises(PlanError) as err:
        check_plan(plan)
    assert str(err.value) == "plan.proof: the plan carries no proof"
    plan = copy.deepcopy(build_plan(None, INVENTORY))
    real = plan["digest"]
    plan["digest"] = "sha256:" + "0" * 64
    with pytest.raises(PlanError) as err:
        check_digest(plan, "site")
    assert str(err.value) == (
        "site.digest: the plan changed after it was built and proven (digest sha256:%s, content %s): build it again "
        "with the netzone.segmentation.plan filter" % ("0" * 64, real))
    plan["version"] = 2
    with pytest.raises(PlanError) as err:
        check_digest(plan)
    assert str(err.value) == "plan.version: plan version 2, this collection reads 1"


def test_matrix_warnings_skip_what_validation_names_and_go_peer_by_peer_in_name_order():
    from ansible_collections.netzone.segmentation.plugins.module_utils._model.plan import matrix_warnings  # pylint: disable=import-outside-toplevel

    raw = {"peers": {"zeta": {"cidr": "198.51.100.7/24"},
                     "alpha": {"cidrs": ["192.0.2.1/30", "not-a-cidr", 7,
                                         {"cidr": "203.0.113.9/29", "except": "203.0.113.9/30"}]},
                     "mid": "a string where a mapping belongs",
                     "beta": {"cidr": "2001:db8::1/64", "except": ["2001:db8::/96", " 2001:db8::5/120 "]}}}
    assert matrix_warnings(raw) == [
        "peers.alpha.cidrs[0]: 192.0.2.1/30 has host bits set; it is taken as 192.0.2.0/30",
        "peers.alpha.cidrs[3].cidr: 203.0.113.9/29 has host bits set; it is taken as 203.0.113.8/29",
        "peers.beta.cidr: 2001:db8::1/64 has host bits set; it is taken as 2001:db8::/64",
        "peers.beta.except[1]: 2001:db8::5/120 has host bits set; it is taken as 2001:db8::/120",
        "peers.zeta.cidr: 198.51.100.7/24 has host bits set; it is taken as 198.51.100.0/24"]
    assert matrix_warnings({"peers": ["p"]}) == [] and matrix_warnings("not a matrix") == []


def test_the_digest_reads_sets_as_lists():
    from ansible_collections.netzone.segmentation.plugins.module_utils._model.plan import plan_digest  # pylint: disable=import-outside-toplevel

    assert plan_digest({"version": 1, "checks": {"plan": {3}}}) == plan_digest({"version": 1, "checks": {"plan": [3]}})
    assert plan_digest({"version": 1, "checks": {"plan": (3,)}}) == plan_digest({"version": 1, "checks": {"plan": [3]}})
    assert plan_digest({"version": 1, "checks": {"plan": [3]}}) != plan_digest({"version": 1, "checks": {"plan": [4]}})
