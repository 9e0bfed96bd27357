# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pod_security against upstream's own test data: every pod of kubernetes/pod-security-admission's
``test/testdata/<level>/<version>/{pass,fail}`` for twelve versions (tests/fixtures/pod_security/README.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.netzone.segmentation.plugins.module_utils._model import pod_security as ps

DATA = json.loads((Path(__file__).resolve().parents[3] / "fixtures" / "pod_security" / "testdata.json").read_text())
REPLACED = {replaced.lower(): check[0].lower() for check in ps.CHECKS for replaced in check[4]}


def _case_ok(level, version, expect, name, pod, checks=None):
    found = ps.evaluate(level, version, pod.get("metadata"), pod.get("spec")) if checks is None else \
        _evaluate_with(checks, level, version, pod)
    if expect == "pass":
        return not found
    ids = [check_id.lower() for check_id, _reason, _detail in found]
    prefix = name.rstrip("0123456789")
    # a fail fixture is named after the check it trips (or after a baseline check that restricted replaces)
    return bool(found) and (prefix in ids or REPLACED.get(prefix) in ids)


def _evaluate_with(checks, level, version, pod):
    saved = ps.CHECKS
    ps.CHECKS = checks
    try:
        return ps.evaluate(level, version, pod.get("metadata"), pod.get("spec"))
    finally:
        ps.CHECKS = saved


def test_the_fixtures_are_upstreams_and_cover_both_levels_and_every_check():
    assert DATA["commit"] == "8f84a87c7f617f64a4ddc1aea24aeeb7a2e07cb8"
    assert len(DATA["cases"]) == 1534
    assert {c[0] for c in DATA["cases"]} == {"baseline", "restricted"}
    prefixes = {c[3].rstrip("0123456789") for c in DATA["cases"] if c[2] == "fail"}
    assert {check[0].lower() for check in ps.CHECKS} <= prefixes


@pytest.mark.parametrize("version", DATA["versions"])
def test_every_upstream_case_of_a_version(version):
    wrong = [(level, expect, name) for level, ver, expect, name, digest in DATA["cases"]
             if ver == version and not _case_ok(level, ver, expect, name, DATA["pods"][digest])]
    assert wrong == []


@pytest.mark.parametrize("check_id", [c[0] for c in ps.CHECKS])
def test_without_any_one_check_upstream_cases_fail(check_id):
    """A planted bug: drop one check, and upstream's fail fixtures for it pass."""
    checks = tuple(c for c in ps.CHECKS if c[0] != check_id)
    wrong = [name for level, ver, expect, name, digest in DATA["cases"]
             if not _case_ok(level, ver, expect, name, DATA["pods"][digest], checks)]
    assert wrong


@pytest.mark.parametrize("check_id", ["allowPrivilegeEscalation", "capabilities_restricted", "seccompProfile_restricted"])
def test_a_wrong_version_gate_fails_upstream_cases(check_id):
    """Planted bug: a restricted check that applies before the version that brought it."""
    checks = tuple(c if c[0] != check_id else (c[0], c[1], (1, 0), c[3], c[4]) for c in ps.CHECKS)
    wrong = [(level, ver, name) for level, ver, expect, name, digest in DATA["cases"]
             if not _case_ok(level, ver, expect, name, DATA["pods"][digest], checks)]
    assert wrong and all(level == "restricted" and ver in ("v1.0", "v1.18", "v1.19", "v1.22") for level, ver, _n in wrong)


def _pod(**spec):
    spec.setdefault("containers", [{"name": "c", "image": "example.invalid/c:1"}])
    return {"metadata": {"name": "p"}, "spec": spec}


@pytest.mark.parametrize("spec, level, expected", [
    ({"hostNetwork": True}, "baseline", "host namespaces (hostNetwork=true)"),
    ({"hostNetwork": True, "hostPID": True, "hostIPC": True}, "baseline",
     "host namespaces (hostNetwork=true, hostPID=true, hostIPC=true)"),
    ({"containers": [{"name": "a", "securityContext": {"privileged": True}},
                     {"name": "b", "ports": [{"containerPort": 80, "hostPort": 80}]}]}, "baseline",
     'hostPort (container "b" uses hostPort 80), privileged (container "a" must not set securityContext.privileged=true)'),
    ({"containers": [{"name": "a", "ports": [{"containerPort": 80, "hostPort": 80}, {"containerPort": 443, "hostPort": 443}]}]},
     "baseline", 'hostPort (container "a" uses hostPorts 443, 80)'),
    ({"volumes": [{"name": "root", "hostPath": {"path": "/"}}]}, "baseline", 'hostPath volumes (volume "root")'),
    ({"containers": [{"name": "a", "securityContext": {"capabilities": {"add": ["NET_ADMIN", "CHOWN", "SYS_ADMIN"]}}}]},
     "baseline", 'non-default capabilities (container "a" must not include "NET_ADMIN", "SYS_ADMIN" in '
                 'securityContext.capabilities.add)'),
    ({"securityContext": {"seccompProfile": {"type": "Unconfined"}}}, "baseline",
     'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")'),
    ({"securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"}]}}, "baseline",
     "forbidden sysctls (kernel.msgmax)"),
    ({}, "restricted",
     'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), '
     'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), '
     'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), '
     'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or '
     '"Localhost")'),
])
def test_messages_read_like_the_api_servers(spec, level, expected):
    pod = _pod(**spec)
    assert ps.detail(ps.evaluate(level, "v1.33", pod["metadata"], pod["spec"])) == expected


@pytest.mark.parametrize("version", ["v1.0", "v1.30", "v1.31", "v1.32", "latest"])
def test_the_container_engine_selinux_type_is_allowed_from_1_31_on(version):
    # Pod Security baseline allows the SELinux type container_engine_t from policy version 1.31 on.
    pod = _pod(securityContext={"seLinuxOptions": {"type": "container_engine_t"}})
    found = ps.detail(ps.evaluate("baseline", version, pod["metadata"], pod["spec"]))
    if version in ("v1.0", "v1.30"):
        assert found == 'seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: type "container_engine_t")'
    else:
        assert found == ""


@pytest.mark.parametrize("version, expected", [
    ("v1.26", "forbidden sysctls (net.ipv4.ip_local_reserved_ports)"), ("v1.27", ""), ("latest", "")])
def test_the_reserved_ports_sysctl_is_allowed_from_1_27_on(version, expected):
    pod = _pod(securityContext={"sysctls": [{"name": "net.ipv4.ip_local_reserved_ports", "value": "30000"}]})
    assert ps.detail(ps.evaluate("baseline", version, pod["metadata"], pod["spec"])) == expected


@pytest.mark.parametrize("version, expected", [
    ("v1.0", 'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true)'),  # runAsUser: 1.23
    ("v1.34", 'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), '
              'runAsUser=0 (pod must not set runAsUser=0)'),
    ("v1.35", ""), ("latest", "")])
def test_a_pod_in_a_user_namespace_may_run_as_root_from_1_35_on(version, expected):
    """hostUsers: false maps root in the pod to an unprivileged user on the node: restricted stops asking for
    runAsNonRoot and refusing runAsUser=0 from policy version 1.35 on, and not before."""
    container = {"name": "c", "image": "example.invalid/c:1",
                 "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}
    pod = _pod(hostUsers=False, containers=[container],
               securityContext={"runAsUser": 0, "seccompProfile": {"type": "RuntimeDefault"}})
    assert ps.detail(ps.evaluate("restricted", version, pod["metadata"], pod["spec"])) == expected


@pytest.mark.parametrize("sysctl, since, before", [
    ("net.ipv4.tcp_keepalive_time", "v1.29", "v1.28"), ("net.ipv4.tcp_fin_timeout", "v1.29", "v1.28"),
    ("net.ipv4.tcp_keepalive_intvl", "v1.29", "v1.28"), ("net.ipv4.tcp_keepalive_probes", "v1.29", "v1.28"),
    ("net.ipv4.tcp_rmem", "v1.32", "v1.31"), ("net.ipv4.tcp_wmem", "v1.32", "v1.31")])
def test_each_safe_sysctl_is_allowed_from_the_version_that_added_it(sysctl, since, before):
    pod = _pod(securityContext={"sysctls": [{"name": sysctl, "value": "1"}]})
    assert [ps.detail(ps.evaluate("baseline", v, pod["metadata"], pod["spec"])) for v in (before, since, "latest")] == [
        "forbidden sysctls (%s)" % sysctl, "", ""]


def test_a_windows_pod_needs_no_seccomp_profile_from_1_25_on():
    def seccomp(version):
        pod = _pod(os={"name": "windows"})
        return [check_id for check_id, _r, _d in ps.evaluate("restricted", version, pod["metadata"], pod["spec"])
                if check_id == "seccompProfile_restricted"]
    assert [seccomp(v) for v in ("v1.24", "v1.25", "v1.26")] == [["seccompProfile_restricted"], [], []]


def test_a_windows_pod_is_spared_the_linux_only_restricted_checks_from_1_25_on():
    """From policy version 1.25 a pod with spec.os.name=windows skips allowPrivilegeEscalation, capabilities and
    seccomp (Linux-only fields); runAsNonRoot still applies."""
    pod = _pod(os={"name": "windows"})
    assert [ps.detail(ps.evaluate("restricted", v, pod["metadata"], pod["spec"])) for v in ("v1.24", "v1.25")] == [
        'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), '
        'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), '
        'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), '
        'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or '
        '"Localhost")',
        'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true)']


def test_restricted_capabilities_name_every_container_after_one_without_any():
    common = {"allowPrivilegeEscalation": False, "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    pod = _pod(containers=[{"name": "a", "image": "x", "securityContext": dict(common)},
                           {"name": "b", "image": "x", "securityContext": dict(
                               common, capabilities={"drop": ["ALL"], "add": ["NET_ADMIN"]})}])
    assert ps.detail(ps.evaluate("restricted", "latest", pod["metadata"], pod["spec"])) == (
        'unrestricted capabilities (container "a" must set securityContext.capabilities.drop=["ALL"]; container "b" '
        'must not include "NET_ADMIN" in securityContext.capabilities.add)')


def test_privileged_allows_everything_and_a_plain_pod_passes_baseline():
    pod = _pod(hostNetwork=True, volumes=[{"name": "v", "hostPath": {"path": "/"}}])
    assert ps.evaluate("privileged", "latest", pod["metadata"], pod["spec"]) == []
    assert ps.evaluate("baseline", "latest", {}, _pod()["spec"]) == []


def test_the_ingress_controller_shapes():
    """MicroK8s' ingress addon: Traefik (chart values at canonical/microk8s-core-addons f689811, hostPort 80/443)
    and the older nginx DaemonSet (06a5696: hostPort 80/443/10254, NET_BIND_SERVICE): baseline refuses both
    for the hostPorts only."""
    traefik = {"containers": [{"name": "traefik", "ports": [
        {"name": "web", "containerPort": 8000, "hostPort": 80}, {"name": "websecure", "containerPort": 8443, "hostPort": 443}],
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                            "readOnlyRootFilesystem": True}}],
        "securityContext": {"runAsNonRoot": True, "runAsUser": 65532, "seccompProfile": {"type": "RuntimeDefault"}}}
    found = ps.evaluate("baseline", "v1.33", {}, traefik)
    assert [f[0] for f in found] == ["hostPorts"]
    assert [f[0] for f in ps.evaluate("restricted", "v1.33", {}, traefik)] == ["hostPorts"]
    nginx = {"containers": [{"name": "nginx-ingress-microk8s", "ports": [
        {"containerPort": 80, "hostPort": 80}, {"containerPort": 443, "hostPort": 443},
        {"containerPort": 10254, "hostPort": 10254}],
        "securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}, "runAsUser": 101}}]}
    assert ps.detail(ps.evaluate("baseline", "v1.33", {}, nginx)) == \
        'hostPort (container "nginx-ingress-microk8s" uses hostPorts 10254, 443, 80)'


@pytest.mark.parametrize("version, expected", [
    ("latest", ps.LATEST), ("v1.0", (1, 0)), ("v1.33", (1, 33)), ("v1.99", ps.LATEST)])
def test_versions(version, expected):
    assert ps.parse_version(version) == expected


@pytest.mark.parametrize("version", ["1.33", "v2.0", "v1.033", "", None, "v1.x"])
def test_bad_versions(version):
    with pytest.raises(ps.PodSecurityError, match="is not a Pod Security version"):
        ps.parse_version(version)


def test_bad_level():
    with pytest.raises(ps.PodSecurityError, match="'strict' is not a Pod Security level"):
        ps.evaluate("strict", "latest", {}, {})


def test_labels_round_trip_and_unparseable_labels_fail_closed():
    settings = {"enforce": "baseline", "warn": "restricted", "audit": "restricted", "version": "v1.33"}
    labels = ps.namespace_labels(settings)
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert labels["pod-security.kubernetes.io/warn-version"] == "v1.33"
    assert ps.policy_from_labels(labels) == {"enforce": ("baseline", "v1.33"), "warn": ("restricted", "v1.33"),
                                             "audit": ("restricted", "v1.33")}
    assert ps.policy_from_labels({"pod-security.kubernetes.io/enforce": "baseline"}) == \
        {"enforce": ("baseline", "latest")}
    assert ps.policy_from_labels({"pod-security.kubernetes.io/enforce": "bogus"}) == \
        {"enforce": ("restricted", "latest")}
    assert ps.level_version("baseline", "v1.33") == "baseline:v1.33"
    assert ps.level_version("baseline", "latest") == "baseline:latest"


def test_pod_templates_of_workloads():
    template = {"metadata": {"labels": {"a": "b"}}, "spec": {"hostNetwork": True}}
    for kind in ("Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job"):
        expected = ({"labels": {"a": "b"}}, {"hostNetwork": True})
        assert ps.pod_template({"kind": kind, "spec": {"template": template}}) == expected
    assert ps.pod_template({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": template}}}})[1] == \
        {"hostNetwork": True}
    assert ps.pod_template({"kind": "Service"}) is None
    # As the API server's JSON gives them (strings made while reading, not this file's constants):
    pod = json.loads('{"kind": "Pod", "metadata": {"name": "p"}, "spec": {"hostPID": true}}')
    assert ps.pod_template(pod) == ({"name": "p"}, {"hostPID": True})
    deployment = json.loads('{"kind": "Deployment", "spec": {"template": {"metadata": {}, "spec": {"hostIPC": true}}}}')
    assert ps.pod_template(deployment) == ({}, {"hostIPC": True})


def test_an_unconfined_apparmor_profile_field_names_the_container():
    """The securityContext.appArmorProfile field (Kubernetes 1.30+; the shared fixtures predate it)."""
    spec = {"containers": [{"name": "a", "image": "x", "securityContext": {"appArmorProfile": {"type": "Unconfined"}}},
                           {"name": "b", "image": "x", "securityContext": {"appArmorProfile": {"type": "RuntimeDefault"}}}]}
    found = ps.evaluate("baseline", "latest", {}, spec)
    assert ps.detail(found) == ('forbidden AppArmor profile (container "a" must not set AppArmor profile type to '
                                '"Unconfined")')


def test_an_apparmor_profile_set_on_the_pod_its_containers_and_annotations_is_named_by_each_setter():
    spec = {"securityContext": {"appArmorProfile": {"type": "Unconfined"}},
            "containers": [{"name": "a", "image": "x", "securityContext": {"appArmorProfile": {}}},
                           {"name": "b", "image": "x", "securityContext": {"appArmorProfile": {"type": "Localhost"}}},
                           {"name": "c", "image": "x", "securityContext": {"appArmorProfile": {"type": "Unconfined"}}}]}
    meta = {"annotations": {"container.apparmor.security.beta.kubernetes.io/c": "unconfined",
                            "container.apparmor.security.beta.kubernetes.io/b": "localhost/mine",
                            "container.apparmor.security.beta.kubernetes.io/a": "runtime/default",
                            "other.example.com/x": "unconfined"}}
    assert ps.detail(ps.evaluate("baseline", "v1.33", meta, spec)) == (
        'forbidden AppArmor profiles (pod and containers "a", "c" and annotation must not set AppArmor profile type '
        'to "", "Unconfined", "container.apparmor.security.beta.kubernetes.io/c="unconfined"")')
    # the pod's own profile alone; an allowed one on the pod is no violation
    unconfined = {"securityContext": {"appArmorProfile": {"type": "Unconfined"}}, "containers": [{"name": "a"}]}
    assert ps.detail(ps.evaluate("baseline", "v1.33", {}, unconfined)) == (
        'forbidden AppArmor profile (pod must not set AppArmor profile type to "Unconfined")')
    runtime = {"securityContext": {"appArmorProfile": {"type": "RuntimeDefault"}}, "containers": [{"name": "a"}]}
    assert ps.evaluate("baseline", "v1.33", {}, runtime) == []


def test_pod_templates_of_every_kind_and_what_is_not_a_pod():
    template = {"metadata": {"labels": {"a": "b"}}, "spec": {"hostPID": True}}
    assert ps.pod_template({"kind": "PodTemplate", "template": template}) == ({"labels": {"a": "b"}}, {"hostPID": True})
    assert ps.pod_template({"kind": "ReplicationController", "spec": {"template": template}}) == (
        {"labels": {"a": "b"}}, {"hostPID": True})
    assert ps.pod_template({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"hostIPC": True}}) == (
        {"name": "p"}, {"hostIPC": True})
    assert ps.pod_template({"kind": "Pod"}) == ({}, {})
    assert ps.pod_template({"kind": "PodTemplate"}) == ({}, {})
    assert ps.pod_template({"kind": "Deployment", "spec": {}}) == ({}, {})
    assert ps.pod_template({"kind": "CronJob", "spec": {"jobTemplate": {}}}) == ({}, {})
    assert ps.pod_template(["Pod"]) is None and ps.pod_template({"kind": "pod"}) is None


def test_level_and_version_messages_are_whole():
    with pytest.raises(ps.PodSecurityError) as err:
        ps.evaluate("strict", "latest", {}, {})
    assert str(err.value) == "'strict' is not a Pod Security level (expected one of: privileged, baseline, restricted)"
    with pytest.raises(ps.PodSecurityError) as err:
        ps.parse_version("1.33")
    assert str(err.value) == "'1.33' is not a Pod Security version (expected 'latest' or 'v1.N', e.g. 'v1.33')"
    assert ps.level_version("restricted", "v1.99") == "restricted:v%d.%d" % ps.LATEST


def test_probe_and_lifecycle_hosts_are_a_baseline_check_from_1_34_on():
    """Kubernetes 1.34 added the check (the host of an httpGet or tcpSocket probe or hook); 1.33 has none."""
    spec = {"containers": [{"name": "a", "image": "x",
                            "livenessProbe": {"httpGet": {"host": "example.com", "port": 80, "path": "/"}}}]}
    assert ps.evaluate("baseline", "v1.33", {}, spec) == []
    assert ps.detail(ps.evaluate("baseline", "v1.34", {}, spec)) == (
        'probe or lifecycle host (container "a" uses probe or lifecycle host "example.com")')
