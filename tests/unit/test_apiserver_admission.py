# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The compiled admission policy, evaluated by the test API server with cel-python, over real HTTP."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "apiserver"))

import admission  # noqa: E402  pylint: disable=import-error,wrong-import-position
import harness  # noqa: E402  pylint: disable=import-error,wrong-import-position
from harness import call  # noqa: E402  pylint: disable=import-error,wrong-import-position

from ansible_collections.netzone.segmentation.plugins.module_utils._model.compile import compile_admission  # noqa: E402
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import (  # noqa: E402
    default_matrix,
    normalize_matrix,
)

NODE_PORT_MSG = "NodePort and LoadBalancer Services are not allowed"
EXTERNAL_IPS_MSG = "Services with spec.externalIPs are not allowed"
EXEMPT = "legacy"


def policy_objects(mode="deny", exempt=(EXEMPT,)):
    raw = default_matrix()
    raw["guards"] = dict(raw.get("guards") or {}, nodeports=mode, nodeport_exempt_namespaces=list(exempt))
    matrix = normalize_matrix(raw, harness.INVENTORY)
    return compile_admission(matrix)


@pytest.fixture
def api(server):
    server.reset()
    for name in ("shop", EXEMPT):
        call(server, "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                    "metadata": {"name": name}})
    return server


def install(server, objects):
    for obj in objects:
        plural = "validatingadmissionpolicies" if obj["kind"] == "ValidatingAdmissionPolicy" else \
            "validatingadmissionpolicybindings"
        code, body, _w = call(server, "POST", "/apis/admissionregistration.k8s.io/v1/" + plural, obj)
        assert code == 201, body


PORTS = [{"port": 80, "targetPort": 8080}]


def service(name, spec, namespace="shop"):
    """A Service; one port unless the shape says (the server refuses a non-headless Service without ports)."""
    if "ports" not in spec and spec.get("clusterIP") != "None" and spec.get("type") != "ExternalName":
        spec = dict(spec, ports=PORTS)
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace},
            "spec": spec}


# (name, spec, namespace, expected): expected is None (admitted), "nodeport", "external" or "schema".
SHAPES = [
    ("plain", {"ports": PORTS}, "shop", None),
    ("no-ports-headless", {"clusterIP": "None", "selector": {"app": "x"}}, "shop", None),
    ("clusterip", {"type": "ClusterIP", "ports": PORTS}, "shop", None),
    ("headless", {"type": "ClusterIP", "clusterIP": "None", "ports": PORTS}, "shop", None),
    ("externalname", {"type": "ExternalName", "externalName": "db.example.com"}, "shop", None),
    ("affinity", {"ports": PORTS, "sessionAffinity": "ClientIP"}, "shop", None),
    ("two-ports", {"ports": [{"name": "a", "port": 80}, {"name": "b", "port": 443}]}, "shop", None),
    ("internal-local", {"ports": PORTS, "internalTrafficPolicy": "Local"}, "shop", None),
    ("empty-external-ips", {"ports": PORTS, "externalIPs": []}, "shop", None),
    ("nodeport", {"type": "NodePort", "ports": PORTS}, "shop", "nodeport"),
    ("nodeport-fixed", {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}, "shop", "nodeport"),
    ("nodeport-local", {"type": "NodePort", "ports": PORTS, "externalTrafficPolicy": "Local"}, "shop", "nodeport"),
    ("lb", {"type": "LoadBalancer", "ports": PORTS}, "shop", "nodeport"),
    ("lb-no-nodeports", {"type": "LoadBalancer", "ports": PORTS, "allocateLoadBalancerNodePorts": False},
     "shop", "nodeport"),
    ("lb-class", {"type": "LoadBalancer", "ports": PORTS, "loadBalancerClass": "example.com/lb"}, "shop", "nodeport"),
    ("lb-source-ranges", {"type": "LoadBalancer", "ports": PORTS, "loadBalancerSourceRanges": ["192.0.2.0/24"]},
     "shop", "nodeport"),
    ("external-ip", {"ports": PORTS, "externalIPs": ["192.0.2.10"]}, "shop", "external"),
    ("external-ips", {"type": "ClusterIP", "ports": PORTS, "externalIPs": ["192.0.2.10", "192.0.2.11"]},
     "shop", "external"),
    ("headless-external-ip", {"clusterIP": "None", "ports": PORTS, "externalIPs": ["198.51.100.1"]},
     "shop", "external"),
    ("externalname-external-ip", {"type": "ExternalName", "externalName": "x.example.com",
                                  "externalIPs": ["192.0.2.1"]}, "shop", "external"),
    ("nodeport-external-ip", {"type": "NodePort", "ports": PORTS, "externalIPs": ["192.0.2.1"]}, "shop", "nodeport"),
    ("kube-system-nodeport", {"type": "NodePort", "ports": PORTS}, "kube-system", "nodeport"),
    ("default-lb", {"type": "LoadBalancer", "ports": PORTS}, "default", "nodeport"),
    ("exempt-nodeport", {"type": "NodePort", "ports": PORTS}, EXEMPT, None),
    ("exempt-lb", {"type": "LoadBalancer", "ports": PORTS}, EXEMPT, None),
    ("exempt-clusterip", {"ports": PORTS}, EXEMPT, None),
    ("lowercase-type", {"type": "nodeport", "ports": PORTS}, "shop", "schema"),
]


def expect_answer(name, namespace, expected, code, body):
    if expected is None:
        assert code == 201, (name, body)
        return
    assert code == 422, (name, code, body)
    if expected == "schema":
        assert "Unsupported value" in body["message"]
        return
    text = NODE_PORT_MSG if expected == "nodeport" else EXTERNAL_IPS_MSG
    assert body["reason"] == "Invalid" and body["kind"] == "Status"
    assert body["message"].startswith(
        'services "%s" is forbidden: ValidatingAdmissionPolicy \'netzone-deny-node-ports\' with binding '
        '\'netzone-deny-node-ports\' denied request: %s' % (name, text)), body["message"]
    assert body["details"]["causes"][0]["message"].startswith("ValidatingAdmissionPolicy 'netzone-deny-node-ports'")
    assert namespace


def test_table_of_service_shapes_through_the_compiled_policy(api):
    assert len(SHAPES) >= 20
    install(api, policy_objects())
    for name, spec, namespace, expected in SHAPES:
        code, body, _w = call(api, "POST", "/api/v1/namespaces/%s/services" % namespace, service(name, spec, namespace))
        expect_answer(name, namespace, expected, code, body)
    stored = api.objects("services")
    assert sorted(n for (_ns, n) in stored) == sorted(s[0] for s in SHAPES if s[3] is None)


def test_an_inverted_expression_fails_the_table(api):
    """A planted bug in the CEL (the first test inverted) is caught by the same table."""
    objects = policy_objects()
    vap = objects[0]
    vap["spec"]["validations"][0]["expression"] = "!(%s)" % vap["spec"]["validations"][0]["expression"]
    install(api, objects)
    wrong = []
    for name, spec, namespace, expected in SHAPES:
        code, body, _w = call(api, "POST", "/api/v1/namespaces/%s/services" % namespace, service(name, spec, namespace))
        try:
            expect_answer(name, namespace, expected, code, body)
        except AssertionError:
            wrong.append(name)
    assert "nodeport" in wrong and "lb" in wrong and "plain" in wrong


def test_update_to_nodeport_is_refused_and_delete_is_not_matched(api):
    install(api, policy_objects())
    code, created, _w = call(api, "POST", "/api/v1/namespaces/shop/services", service("web", {"ports": PORTS}))
    assert code == 201
    changed = copy.deepcopy(created)
    changed["spec"]["type"] = "NodePort"
    code, body, _w = call(api, "PUT", "/api/v1/namespaces/shop/services/web", changed)
    assert code == 422 and NODE_PORT_MSG in body["message"]
    code, body, _w = call(api, "PATCH", "/api/v1/namespaces/shop/services/web", {"spec": {"externalIPs": ["192.0.2.7"]}})
    assert code == 422 and EXTERNAL_IPS_MSG in body["message"]
    harness.load(api, [service("old", {"type": "NodePort", "ports": PORTS})])
    code, body, _w = call(api, "DELETE", "/api/v1/namespaces/shop/services/old")
    assert code == 200, body


def test_dry_run_is_admitted_or_refused_like_a_write(api):
    install(api, policy_objects())
    code, body, _w = call(api, "POST", "/api/v1/namespaces/shop/services", service("np", {"type": "NodePort"}),
                          query="?dryRun=All")
    assert code == 422 and NODE_PORT_MSG in body["message"]


def test_warn_mode_admits_with_warning_headers_and_audit_records(api):
    install(api, policy_objects(mode="warn"))
    code, body, warning = call(api, "POST", "/api/v1/namespaces/shop/services", service("np", {"type": "NodePort"}))
    assert code == 201, body
    assert warning == ('299 - "Validation failed for ValidatingAdmissionPolicy \'netzone-deny-node-ports\' with '
                       'binding \'netzone-deny-node-ports\': %s' % NODE_PORT_MSG) + warning.split(NODE_PORT_MSG)[1]
    code, body, warning = call(api, "POST", "/api/v1/namespaces/shop/services", service("ok", {"ports": PORTS}))
    assert code == 201 and warning is None
    events = call(api, "GET", "/_test/audit")[1]["audit"]
    assert [(e["name"], e["policy"]) for e in events] == [("np", "netzone-deny-node-ports")]


def test_both_violations_warn(api):
    install(api, policy_objects(mode="warn"))
    _c, _b, warning = call(api, "POST", "/api/v1/namespaces/shop/services",
                           service("both", {"type": "NodePort", "externalIPs": ["192.0.2.1"]}))
    assert NODE_PORT_MSG in warning and EXTERNAL_IPS_MSG in warning and warning.count('299 - "') == 2


def _custom(expression="true", failure="Fail", conditions=None, ns_selector=None, match_resources=None,
            actions=("Deny",), operations=("CREATE",)):
    vap = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
           "metadata": {"name": "custom"},
           "spec": {"failurePolicy": failure, "validations": [{"expression": expression}],
                    "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                                                            "operations": list(operations),
                                                            "resources": ["services"]}]}}}
    if conditions:
        vap["spec"]["matchConditions"] = [{"name": "c%d" % i, "expression": c} for i, c in enumerate(conditions)]
    if ns_selector:
        vap["spec"]["matchConstraints"]["namespaceSelector"] = ns_selector
    binding = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
               "metadata": {"name": "custom-binding"},
               "spec": {"policyName": "custom", "validationActions": list(actions)}}
    if match_resources:
        binding["spec"]["matchResources"] = match_resources
    return [vap, binding]


def post_plain(api, name="web", namespace="shop"):
    return call(api, "POST", "/api/v1/namespaces/%s/services" % namespace, service(name, {"ports": PORTS}, namespace))


def test_evaluation_error_follows_failure_policy(api):
    install(api, _custom("object.spec.noSuchField == 1"))
    code, body, _w = post_plain(api)
    assert code == 422
    assert "expression 'object.spec.noSuchField == 1' resulted in error" in body["message"]
    call(api, "POST", "/_test/reset")
    call(api, "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    install(api, _custom("object.spec.noSuchField == 1", failure="Ignore"))
    assert post_plain(api)[0] == 201


def test_default_message_reason_and_code(api):
    objects = _custom("object.metadata.name != 'web'")
    objects[0]["spec"]["validations"][0]["reason"] = "Forbidden"
    install(api, objects)
    code, body, _w = post_plain(api)
    assert code == 403 and body["reason"] == "Forbidden"
    assert body["message"].endswith("denied request: failed expression: object.metadata.name != 'web'")
    assert post_plain(api, "other")[0] == 201


def test_message_expression(api):
    objects = _custom("false")
    objects[0]["spec"]["validations"][0]["messageExpression"] = "'no ' + object.metadata.name"
    install(api, objects)
    assert post_plain(api)[1]["message"].endswith("denied request: no web")


def test_match_conditions_namespace_selector_operations_and_binding_scope(api):
    install(api, _custom("false", conditions=["object.metadata.name == 'web'"]))
    assert post_plain(api)[0] == 422 and post_plain(api, "other")[0] == 201
    for case in ({"ns_selector": {"matchLabels": {"kubernetes.io/metadata.name": "elsewhere"}}},
                 {"match_resources": {"namespaceSelector": {"matchLabels": {"never": "matches"}}}},
                 {"match_resources": {"objectSelector": {"matchLabels": {"never": "matches"}}}},
                 {"operations": ["UPDATE"]},
                 {"actions": ["Audit"]}):
        call(api, "POST", "/_test/reset")
        call(api, "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                 "metadata": {"name": "shop"}})
        install(api, _custom("false", **case))
        assert post_plain(api)[0] == 201, case
    call(api, "POST", "/_test/reset")
    call(api, "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    install(api, _custom("false", match_resources={"excludeResourceRules": [{
        "apiGroups": [""], "apiVersions": ["*"], "operations": ["*"], "resources": ["services"]}]}))
    assert post_plain(api)[0] == 201
    call(api, "DELETE", "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/custom-binding")
    install(api, [dict(_custom("false")[1], metadata={"name": "dangling"},
                       spec={"policyName": "absent", "validationActions": ["Deny"]})])
    assert post_plain(api, "x")[0] == 201


def test_a_policy_without_a_binding_does_nothing(api):
    install(api, _custom("false")[:1])
    assert post_plain(api)[0] == 201


def test_a_policy_that_does_not_parse_is_refused(api):
    objects = _custom("object.spec.type ==")
    code, body, _w = call(api, "POST", "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies", objects[0])
    assert code == 422 and "spec.validations[0].expression" in body["message"]
    assert "compilation failed" in body["message"]


def test_compile_errors_helper_reports_every_bad_expression():
    vap = _custom("true")[0]
    vap["spec"]["matchConditions"] = [{"name": "x", "expression": "(("}]
    assert [f for f, _m in admission.compile_errors(vap)] == ["spec.matchConditions[0].expression"]
