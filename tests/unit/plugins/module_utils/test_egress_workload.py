# -*- coding: utf-8 -*-
"""The proxy zone's workload: Squid and HAProxy configurations, Kubernetes objects, strict schema validation."""

from __future__ import annotations

import base64
import copy
import re
import shutil
import subprocess

import kubernetes_validate
import pytest

from ansible_collections.netzone.segmentation.plugins.module_utils._model.egress_workload import (
    CHECKSUM_ANNOTATION,
    compile_egress,
    egress_files,
    egress_report,
    haproxy_config,
    squid_config,
)
from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import MatrixError, NetzoneError
from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.sync import clean, fill_secrets, prepare_desired
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import normalize_matrix

from test_egress import INVENTORY, matrix_with, two_zones

PEM_CA = "-----BEGIN CERTIFICATE-----\nMIIca\n-----END CERTIFICATE-----\n"
PEM_CERT = "-----BEGIN CERTIFICATE-----\nMIIcert\n-----END CERTIFICATE-----\n"
PEM_KEY = "-----BEGIN PRIVATE KEY-----\nMIIkey\n-----END PRIVATE KEY-----\n"
FILES = {"files/pay-ca.pem": PEM_CA, "files/c.pem": PEM_CERT, "files/c.key": PEM_KEY}
VERSIONS = ("1.30.0", "1.31.0", "1.32.0", "1.33.0")


@pytest.fixture(name="matrix")
def fixture_matrix():
    return normalize_matrix(two_zones(), INVENTORY)


def by_kind_name(objs):
    return {(o["kind"], o["metadata"]["name"]): o for o in objs}


def test_squid_config_one_named_port_per_zone_allow_lists_and_deny_all_last(matrix):
    conf = squid_config(matrix["egress"])
    lines = [line.split("  #")[0] for line in conf.splitlines() if line and not line.startswith("#")]
    assert "http_port 3128 name=backend" in lines and "http_port 3129 name=frontend" in lines
    assert "acl netzone_zone_backend myportname backend" in lines
    assert "acl netzone_names_backend dstdomain -n api.example.com" in lines
    assert r"acl netzone_subdomains_backend dstdom_regex -n -i \.example\.org$" in lines
    assert "acl netzone_ports_backend port 80 443" in lines and "acl netzone_ports_frontend port 443" in lines
    access = [line for line in lines if line.startswith("http_access")]
    assert access == ["http_access deny netzone_ip_literal",
                      "http_access allow netzone_zone_backend netzone_listed_backend !netzone_special",
                      "http_access allow netzone_zone_frontend netzone_listed_frontend !netzone_special",
                      "http_access allow netzone_zone_frontend !netzone_special",   # report-only
                      "http_access deny all"]
    special = [line.split()[3] for line in lines if line.startswith("acl netzone_special dst")]
    for cidr in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "127.0.0.0/8", "fc00::/7",
                 "100.64.0.0/10"):
        assert cidr in special
    assert "::ffff:0:0/96" not in special    # Squid keeps IPv4 as mapped IPv6: this would refuse all of IPv4
    assert "255.255.255.255/32" not in special  # inside 240.0.0.0/4 (Squid ignores nested entries, noisily)
    logs = [line for line in lines if line.startswith("logformat")]
    assert all(" zone=" in line for line in logs) and len(logs) == 4


def test_a_zone_without_domains_is_refused_everything_and_logged_as_unlisted():
    egress = normalize_matrix(matrix_with({"zones": {"backend": {"port": 3128}}}), INVENTORY)["egress"]
    lines = [line.split("  #")[0] for line in squid_config(egress).splitlines()]
    assert not [line for line in lines if "netzone_listed_" in line or "netzone_domains_" in line]
    assert [line for line in lines if line.startswith("http_access")] == [
        "http_access deny netzone_ip_literal", "http_access deny all"]
    assert [line for line in lines if line.startswith(("logformat", "access_log"))] == [
        "logformat netzone_backend_unlisted %ts.%03tu zone=backend mode=enforce listed=no client=%>a "
        "%Ss/%03>Hs %<st %rm %ru peer=%<a",
        "access_log stdio:/dev/stdout logformat=netzone_backend_unlisted netzone_zone_backend"]


def test_haproxy_config_verifies_the_provider_sends_sni_and_the_client_certificate(matrix):
    conf = haproxy_config(matrix["egress"])
    assert "    bind :8080" in conf
    server = [line.strip() for line in conf.splitlines() if line.strip().startswith("server ")]
    assert server == ["server provider pay.example.com:8443 ssl verify required "
                      "ca-file /etc/netzone/origination/payments/ca.crt sni str(pay.example.com) "
                      "verifyhost pay.example.com crt /etc/netzone/origination/payments/client.pem "
                      "resolvers netzone_dns resolve-prefer ipv4 init-addr last,libc,none"]
    assert "http-request set-header Host pay.example.com:8443" in conf


@pytest.mark.parametrize("port, header", [(443, "pay.example.com"), (442, "pay.example.com:442"),
                                          (8443, "pay.example.com:8443")])
def test_the_host_header_carries_the_port_unless_it_is_https_default(matrix, port, header):
    egress = copy.deepcopy(matrix["egress"])
    egress["originations"][0]["upstream"]["port"] = port
    assert [line.strip() for line in haproxy_config(egress).splitlines() if "set-header Host" in line] == [
        "http-request set-header Host %s" % header]


def test_workload_objects(matrix):
    objs = by_kind_name(compile_egress(matrix, FILES))
    assert sorted(objs) == sorted([
        ("ConfigMap", "egress-proxy"), ("Deployment", "egress-proxy"), ("Service", "egress-proxy"),
        ("PodDisruptionBudget", "egress-proxy"), ("ConfigMap", "egress-origination"),
        ("Secret", "egress-origination-payments"), ("Deployment", "egress-origination"), ("Service", "payments"),
        ("PodDisruptionBudget", "egress-origination")])
    assert all(o["metadata"]["namespace"] == "proxy" for o in objs.values())
    squid = objs[("Deployment", "egress-proxy")]["spec"]
    pod = squid["template"]["spec"]
    container = pod["containers"][0]
    assert squid["replicas"] == 2
    assert container["securityContext"]["runAsNonRoot"] and container["securityContext"]["readOnlyRootFilesystem"]
    assert container["readinessProbe"] and container["livenessProbe"] and container["resources"]["limits"]
    assert [p["containerPort"] for p in container["ports"]] == [3128, 3129]
    assert pod["topologySpreadConstraints"][0]["topologyKey"] == "kubernetes.io/hostname"
    assert objs[("Service", "egress-proxy")]["spec"]["type"] == "ClusterIP"
    assert [p["port"] for p in objs[("Service", "payments")]["spec"]["ports"]] == [8080]
    secret = objs[("Secret", "egress-origination-payments")]["data"]
    assert base64.b64decode(secret["ca.crt"]).decode() == PEM_CA
    assert base64.b64decode(secret["client.pem"]).decode() == PEM_CERT + PEM_KEY
    assert objs[("ConfigMap", "egress-proxy")]["data"]["squid.conf"] == squid_config(matrix["egress"])
    assert objs[("PodDisruptionBudget", "egress-proxy")]["spec"]["minAvailable"] == 1
    # PEM files without their last newline get it back (HAProxy reads a certificate file to its end)
    assert PEM_CA.endswith("-----\n") and PEM_KEY.endswith("-----\n")
    bare = {path: text.rstrip("\n") for path, text in FILES.items()}
    secret = by_kind_name(compile_egress(matrix, bare))[("Secret", "egress-origination-payments")]["data"]
    assert base64.b64decode(secret["ca.crt"]).decode() == PEM_CA
    assert base64.b64decode(secret["client.pem"]).decode() == PEM_CERT + PEM_KEY


def test_checksum_rolls_the_pods_when_a_configuration_or_a_secret_changes(matrix):
    def checksums(files, m):
        objs = by_kind_name(compile_egress(m, files))
        return tuple(objs[("Deployment", n)]["spec"]["template"]["metadata"]["annotations"][CHECKSUM_ANNOTATION]
                     for n in ("egress-proxy", "egress-origination"))
    before = checksums(FILES, matrix)
    assert checksums(FILES, matrix) == before
    rotated = dict(FILES, **{"files/c.pem": PEM_CERT.replace("cert", "cert2")})
    assert checksums(rotated, matrix)[0] == before[0] and checksums(rotated, matrix)[1] != before[1]
    raw = two_zones()
    raw["egress"]["zones"]["backend"]["domains"].append("new.example.com")
    changed = checksums(FILES, normalize_matrix(raw, INVENTORY))
    assert changed[0] != before[0] and changed[1] == before[1]


def test_files_are_listed_and_required(matrix):
    assert egress_files(matrix) == ["files/c.key", "files/c.pem", "files/pay-ca.pem"]
    with pytest.raises(MatrixError, match=r"^egress\.originations\[0\]\.client_cert\.key: the file 'files/c.key' "
                                          r"was not read"):
        compile_egress(matrix, {k: v for k, v in FILES.items() if k != "files/c.key"})
    with pytest.raises(MatrixError, match=r"^egress\.originations\[0\]\.ca: the file 'files/pay-ca.pem' is not PEM"):
        compile_egress(matrix, dict(FILES, **{"files/pay-ca.pem": "hello"}))


def test_no_section_no_workload():
    raw = two_zones()
    del raw["egress"]
    assert compile_egress(normalize_matrix(raw, INVENTORY)) == []


def test_images_and_replicas_are_options(matrix):
    objs = by_kind_name(compile_egress(matrix, FILES, {"squid_image": "registry.local/squid:1", "replicas": 3}))
    assert objs[("Deployment", "egress-proxy")]["spec"]["template"]["spec"]["containers"][0]["image"] == \
        "registry.local/squid:1"
    assert objs[("Deployment", "egress-proxy")]["spec"]["replicas"] == 3
    assert objs[("Deployment", "egress-origination")]["spec"]["template"]["spec"]["containers"][0]["image"] \
        .startswith("docker.io/library/haproxy:")


@pytest.mark.parametrize("version", VERSIONS)
def test_every_workload_manifest_passes_strict_schema_validation(matrix, version):
    for obj in prepare_desired(compile_egress(matrix, FILES)).values():
        kubernetes_validate.validate(obj, version, strict=True)


@pytest.mark.skipif(shutil.which("squid") is None, reason="Debian's squid is not installed (make deps)")
def test_squid_parses_the_generated_configuration(matrix, tmp_path):
    path = tmp_path / "squid.conf"
    path.write_text(squid_config(matrix["egress"]))
    run = subprocess.run(["squid", "-k", "parse", "-f", str(path)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert "WARNING" not in run.stderr and "ERROR" not in run.stderr, run.stderr


def test_filter_wraps_the_core_and_names_itself(matrix):
    from ansible.errors import AnsibleFilterError
    from ansible_collections.netzone.segmentation.plugins.filter.egress_workload import FilterModule
    egress_workload = FilterModule().filters()["egress_workload"]
    kinds = [o["kind"] for o in egress_workload(matrix, secrets="omit")]
    assert "Secret" not in kinds and "Deployment" in kinds           # rendering: no key material
    # the word as a template hands it over (a string made at run time, not this file's constant), with the files
    omit = "".join(["om", "it"])
    assert [o["kind"] for o in egress_workload(matrix, files=FILES, secrets=omit)] == kinds
    assert [o["kind"] for o in egress_workload(matrix, files=FILES)].count("Secret") == 1
    apart = egress_workload(matrix, files=FILES, secrets="".join(["ap", "art"]))   # made at run time too
    secret = [o for o in apart["manifests"] if o["kind"] == "Secret"][0]
    assert "data" not in secret
    assert sorted(apart["secret_data"]["proxy/egress-origination-payments"]) == ["ca.crt", "client.pem"]
    assert fill_secrets(apart["manifests"], apart["secret_data"]) == egress_workload(matrix, files=FILES)
    with pytest.raises(NetzoneError, match=r"Secret proxy/egress-origination-payments has no data"):
        fill_secrets(apart["manifests"], {})
    with pytest.raises(AnsibleFilterError, match="secrets must be include, apart or omit"):
        egress_workload(matrix, secrets=False)
    with pytest.raises(AnsibleFilterError, match=r"^netzone\.segmentation\.egress_workload: egress\.originations"
                                                 r"\[0\]\.ca: the file 'files/pay-ca.pem' was not read"):
        egress_workload(matrix, files={})
    with pytest.raises(AnsibleFilterError, match="expects a normalised matrix"):
        egress_workload({"egress": {}})
    with pytest.raises(AnsibleFilterError, match="replicas must be a positive integer"):
        egress_workload(matrix, secrets='omit', replicas=0)


def test_a_diff_never_shows_secret_values(matrix):
    secret = [o for o in compile_egress(matrix, FILES) if o["kind"] == "Secret"][0]
    shown = clean(secret)
    assert sorted(shown["data"]) == ["ca.crt", "client.pem"]
    assert all(re.fullmatch(r"<redacted sha256:[0-9a-f]{12}>", value) for value in shown["data"].values())
    assert secret["data"]["ca.crt"] not in repr(shown)


def test_report_section_lists_zones_ports_domains_and_originations(matrix):
    from ansible_collections.netzone.segmentation.plugins.module_utils._report.sections import report_sections
    section = {s["title"]: s for s in report_sections(matrix)}["Egress"]
    assert "| backend | http://egress-proxy.proxy.svc:3128 | api.example.com, *.example.org | 80, 443 | enforce |" \
        in section["markdown"]
    assert "| frontend | http://egress-proxy.proxy.svc:3129 | cdn.example.net | 443 | report-only" in section["markdown"]
    assert "| payments | backend | http://payments.proxy.svc:8080/ | https://pay.example.com:8443 | files/pay-ca.pem" \
        in section["markdown"]
    assert 'id="egress-zones"' in section["html"]


def test_the_pods_mount_what_the_configurations_read(matrix):
    """Every file path in the configurations is a key of a mounted ConfigMap or Secret, and the commands read
    the mounted configuration."""
    objs = by_kind_name(compile_egress(matrix, FILES))
    for deployment, config_map, key in (("egress-proxy", "egress-proxy", "squid.conf"),
                                        ("egress-origination", "egress-origination", "haproxy.cfg")):
        pod = objs[("Deployment", deployment)]["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        mounted = {}
        for mount in pod["containers"][0]["volumeMounts"]:
            volume = volumes[mount["name"]]
            if "configMap" in volume:
                source = objs[("ConfigMap", volume["configMap"]["name"])]["data"]
            elif "secret" in volume:
                source = objs[("Secret", volume["secret"]["secretName"])]["data"]
            else:
                continue
            for name in source:
                mounted[mount["mountPath"] + "/" + name] = source[name]
        command = pod["containers"][0]["command"]
        assert command[-1] in mounted and command[-2] == "-f"
        conf = objs[("ConfigMap", config_map)]["data"][key]
        assert mounted[command[-1]] == conf
        for path in re.findall(r"(?:ca-file|crt) (\S+)", conf):
            assert path in mounted, path
        probe = pod["containers"][0]["readinessProbe"]
        port = (probe.get("tcpSocket") or probe.get("httpGet"))["port"]
        assert re.search(r"(?m)^(http_port %d |    bind :%d$)" % (port, port), conf), port


def test_squid_zone_sections_in_port_order_with_only_wildcards_or_no_domains():
    matrix = normalize_matrix(matrix_with({"zones": {
        "backend": {"port": 3130, "domains": ["*.example.org", "*.cdn-1.example.com"], "ports": [443]},
        "frontend": {"port": 3129, "domains": [], "report_only": True}}}), INVENTORY)
    conf = squid_config(matrix["egress"])
    fmt = "%ts.%03tu zone={z} mode={m} listed={l} client=%>a %Ss/%03>Hs %<st %rm %ru peer=%<a"
    assert conf[conf.index("# zone "):].splitlines() == [
        "# zone frontend: port 3129, report-only",
        "acl netzone_zone_frontend myportname frontend",
        "acl netzone_ports_frontend port 443",
        "",
        "# zone backend: port 3130",
        "acl netzone_zone_backend myportname backend",
        "acl netzone_ports_backend port 443",
        r"acl netzone_subdomains_backend dstdom_regex -n -i \.example\.org$ \.cdn-1\.example\.com$",
        "acl netzone_domains_backend any-of netzone_subdomains_backend",
        "acl netzone_listed_backend all-of netzone_ports_backend netzone_domains_backend",
        "",
        "http_access deny netzone_ip_literal",
        "http_access allow netzone_zone_frontend !netzone_special  # report-only: logged as unlisted",
        "http_access allow netzone_zone_backend netzone_listed_backend !netzone_special",
        "http_access deny all",
        "",
        "# One line per request: the zone, whether it was listed, the outcome (TCP_DENIED/403: refused).",
        "logformat netzone_frontend_unlisted " + fmt.format(z="frontend", m="report-only", l="no"),
        "access_log stdio:/dev/stdout logformat=netzone_frontend_unlisted netzone_zone_frontend",
        "logformat netzone_backend_listed " + fmt.format(z="backend", m="enforce", l="yes"),
        "access_log stdio:/dev/stdout logformat=netzone_backend_listed netzone_zone_backend netzone_listed_backend",
        "logformat netzone_backend_unlisted " + fmt.format(z="backend", m="enforce", l="no"),
        "access_log stdio:/dev/stdout logformat=netzone_backend_unlisted netzone_zone_backend !netzone_listed_backend"]
    assert egress_report(matrix)["zones"] == [
        {"zone": "backend", "proxy": "http://egress-proxy.proxy.svc:3130", "domains": ["*.example.org", "*.cdn-1.example.com"],
         "ports": [443], "mode": "enforce"},
        {"zone": "frontend", "proxy": "http://egress-proxy.proxy.svc:3129", "domains": ["(none)"], "ports": [443],
         "mode": "report-only (unlisted allowed and logged)"}]
    deployment = by_kind_name(compile_egress(matrix, {}, None, False))[("Deployment", "egress-proxy")]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["ports"] == [
        {"name": "proxy-3129", "containerPort": 3129, "protocol": "TCP"},
        {"name": "proxy-3130", "containerPort": 3130, "protocol": "TCP"}]


def test_originations_without_zones_and_without_client_certificates():
    matrix = normalize_matrix(matrix_with({"zones": {}, "originations": [
        {"name": "payments", "from": ["backend"], "upstream": "https://pay.example.com", "ca": "files/z-ca.pem",
         "port": 8080},
        {"name": "billing", "from": ["backend"], "upstream": "https://bill.example.com", "ca": "files/a-ca.pem",
         "port": 8081}]}), INVENTORY)
    assert egress_files(matrix) == ["files/a-ca.pem", "files/z-ca.pem"]
    objs = compile_egress(matrix, {"files/z-ca.pem": PEM_CA, "files/a-ca.pem": PEM_CA}, None, True)
    assert [(o["kind"], o["metadata"]["name"]) for o in objs] == [
        ("ConfigMap", "egress-origination"), ("Secret", "egress-origination-payments"),
        ("Secret", "egress-origination-billing"), ("Deployment", "egress-origination"), ("Service", "payments"),
        ("Service", "billing"), ("PodDisruptionBudget", "egress-origination")]
    assert egress_report(matrix) == {"zones": [], "originations": [
        {"name": "payments", "from": ["backend"], "url": "http://payments.proxy.svc:8080/",
         "upstream": "https://pay.example.com", "ca": "files/z-ca.pem", "client_cert": "(none)"},
        {"name": "billing", "from": ["backend"], "url": "http://billing.proxy.svc:8081/",
         "upstream": "https://bill.example.com", "ca": "files/a-ca.pem", "client_cert": "(none)"}]}


def test_the_root_filesystem_is_read_only_and_what_the_daemons_write_is_an_empty_dir(matrix):
    """Squid writes its PID file, cache swap state and logs, HAProxy its temporary files: with a read-only root,
    each of those directories is a size-limited emptyDir of its own."""
    objs = by_kind_name(compile_egress(matrix, FILES))
    for deployment, wanted in (("egress-proxy", {"/tmp", "/var/run/squid", "/var/spool/squid", "/var/log/squid"}),
                               ("egress-origination", {"/tmp"})):
        pod = objs[("Deployment", deployment)]["spec"]["template"]["spec"]
        assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True
        volumes = {v["name"]: v for v in pod["volumes"]}
        scratch = {m["mountPath"]: volumes[m["name"]] for m in pod["containers"][0]["volumeMounts"]
                   if "emptyDir" in volumes[m["name"]]}
        assert set(scratch) == wanted, deployment
        assert all(v["emptyDir"] == {"sizeLimit": "64Mi"} for v in scratch.values())
        assert len({v["name"] for v in scratch.values()}) == len(wanted)
