# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The test API server is as strict as a real one where the collection meets it: objects validated against the
Kubernetes 1.31 OpenAPI schemas (kubernetes-validate) and the server's own checks, unknown fields dropped with a
warning or refused under fieldValidation=Strict, and the server-side defaults of the kinds the collection
writes filled in (so that a second run of the modules writes nothing against them too)."""

from __future__ import annotations

import pytest
# tests/apiserver is put on the path by tests/unit/conftest.py
from harness import call  # pylint: disable=import-error

NP = "/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies"
SVC = "/api/v1/namespaces/shop/services"


@pytest.fixture
def api(server):
    server.reset()
    assert call(server, "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                       "metadata": {"name": "shop"}})[0] == 201
    return server


def netpol(name="allow-web", **spec):
    body = {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"ports": [{"port": 80}]}]}
    body.update(spec)
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": "shop"}, "spec": body}


def service(name="web", **spec):
    body = {"selector": {"app": "web"}, "ports": [{"port": 80}]}
    body.update(spec)
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "shop"}, "spec": body}


# --- validation --------------------------------------------------------------------------------
def test_invalid_port_is_refused_with_the_servers_status(api):
    code, body, _w = call(api, "POST", NP, netpol(ingress=[{"ports": [{"port": 0}]}]))
    assert code == 422 and body["reason"] == "Invalid"
    assert body["message"] == ('NetworkPolicy.networking.k8s.io "allow-web" is invalid: spec.ingress[0].ports[0].port: '
                               'Invalid value: 0: must be between 1 and 65535, inclusive')
    assert body["details"]["causes"] == [{"field": "spec.ingress[0].ports[0].port", "reason": "FieldValueInvalid",
                                          "message": "Invalid value: 0: must be between 1 and 65535, inclusive"}]
    assert body["details"]["kind"] == "NetworkPolicy" and body["details"]["group"] == "networking.k8s.io"
    assert api.objects("networkpolicies", "shop") == {}


@pytest.mark.parametrize("spec, field, text", [
    ({"podSelector": None}, "spec.podSelector", "Required value"),                                   # schema: required
    ({"ingress": [{"ports": [{"protocol": "ICMP", "port": 1}]}]}, "spec.ingress[0].ports[0].protocol",
     'Unsupported value: "ICMP"'),
    ({"ingress": [{"ports": [{"port": 80, "endPort": 70}]}]}, "spec.ingress[0].ports[0].endPort",
     "must be greater than or equal to `port`"),
    ({"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/33"}}]}]}, "spec.ingress[0].from[0].ipBlock.cidr",
     "must be a valid CIDR value"),
    ({"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["192.168.0.0/16"]}}]}]},
     "spec.ingress[0].from[0].ipBlock.except[0]", "must be a strict subset of `cidr`"),
    ({"ingress": [{"from": [{}]}]}, "spec.ingress[0].from[0]", "Required value: must specify a peer"),
    ({"podSelector": {"matchLabels": {"app": "bad value!"}}}, "spec.podSelector.matchLabels", "a valid label"),
    ({"podSelector": {"matchExpressions": [{"key": "app", "operator": "In"}]}},
     "spec.podSelector.matchExpressions[0].values", "Required value"),
    ({"policyTypes": ["Ingress", "Sideways"]}, "spec.policyTypes[1]", 'Unsupported value: "Sideways"'),
])
def test_network_policy_checks_of_the_real_server(api, spec, field, text):
    obj = netpol(**spec)
    if obj["spec"].get("podSelector") is None:
        del obj["spec"]["podSelector"]
    code, body, _w = call(api, "POST", NP, obj)
    assert code == 422, body
    assert any(c["field"] == field and text in c["message"] for c in body["details"]["causes"]), body


@pytest.mark.parametrize("obj, field, text", [
    (dict(netpol(), metadata={"name": "Allow_Web", "namespace": "shop"}), "metadata.name", "RFC 1123 subdomain"),
    (dict(service(), metadata={"name": "1web", "namespace": "shop"}), "metadata.name", "DNS-1035 label"),
    (dict(netpol(), metadata={"name": "x", "namespace": "shop", "labels": {"zone": "-front"}}), "metadata.labels",
     "a valid label"),
    (dict(netpol(), metadata={"name": "x", "namespace": "shop", "labels": {"bad key/x/y": "a"}}), "metadata.labels",
     "prefix part"),
    (service(ports=[{"port": 80}, {"port": 81}]), "spec.ports[0].name", "Required value"),
    (service(ports=[{"name": "p", "port": 70000}]), "spec.ports[0].port", "must be between 1 and 65535"),
    (service(type="Bridge"), "spec.type", 'Unsupported value: "Bridge"'),
    (service(ports=[{"targetPort": 80}]), "spec.ports[0].port", "Required value"),                    # schema: required
])
def test_names_labels_and_services_checked(api, obj, field, text):
    path = SVC if obj["kind"] == "Service" else NP
    code, body, _w = call(api, "POST", path, obj)
    assert code == 422, body
    assert any(c["field"] == field and text in c["message"] for c in body["details"]["causes"]), body
    assert body["message"].startswith('%s "%s" is invalid: ' % (
        "Service" if obj["kind"] == "Service" else "NetworkPolicy.networking.k8s.io", obj["metadata"]["name"]))


def test_a_value_of_the_wrong_type_cannot_be_decoded(api):
    code, body, _w = call(api, "POST", NP, netpol(policyTypes="Ingress"))
    assert code == 400 and body["reason"] == "BadRequest"
    assert body["message"].startswith('NetworkPolicy in version "v1" cannot be handled as a NetworkPolicy: json: '
                                      "cannot unmarshal string into Go struct field spec.policyTypes")


def test_several_causes_are_listed_in_brackets(api):
    code, body, _w = call(api, "POST", NP, netpol(ingress=[{"ports": [{"port": 0}, {"port": 70000}]}]))
    assert code == 422 and len(body["details"]["causes"]) == 2
    assert ' is invalid: [spec.ingress[0].ports[0].port: Invalid value: 0: ' in body["message"]


def test_a_merge_patch_is_validated_after_the_merge(api):
    assert call(api, "POST", NP, netpol())[0] == 201
    code, body, _w = call(api, "PATCH", NP + "/allow-web", {"spec": {"ingress": [{"ports": [{"port": -1}]}]}})
    assert code == 422 and body["details"]["causes"][0]["field"] == "spec.ingress[0].ports[0].port"
    assert api.objects("networkpolicies", "shop")[("shop", "allow-web")]["spec"]["ingress"][0]["ports"][0]["port"] == 80


def test_ingress_path_type_is_required_in_networking_v1(api):
    ing = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web", "namespace": "shop"},
           "spec": {"rules": [{"host": "a.example.com", "http": {"paths": [
               {"path": "/", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}}
    code, body, _w = call(api, "POST", "/apis/networking.k8s.io/v1/namespaces/shop/ingresses", ing)
    assert code == 422 and body["details"]["causes"][0]["field"] == "spec.rules[0].http.paths[0].pathType"


# --- unknown fields ----------------------------------------------------------------------------
def test_unknown_fields_are_dropped_with_a_warning_by_default(api):
    obj = netpol()
    obj["spec"]["podSelectr"] = {}
    obj["spec"]["ingress"][0]["ports"][0]["prot"] = "TCP"
    code, body, warning = call(api, "POST", NP, obj)
    assert code == 201, body
    assert warning == '299 - "unknown field \\"spec.ingress[0].ports[0].prot\\"", 299 - "unknown field \\"spec.podSelectr\\""'
    stored = api.objects("networkpolicies", "shop")[("shop", "allow-web")]
    assert "podSelectr" not in stored["spec"] and "prot" not in stored["spec"]["ingress"][0]["ports"][0]
    assert "podSelectr" not in body["spec"]


def test_unknown_fields_are_refused_under_strict_field_validation(api):
    obj = netpol()
    obj["spec"]["podSelectr"] = {}
    obj["metadata"]["lables"] = {"a": "b"}
    code, body, _w = call(api, "POST", NP, obj, query="?fieldValidation=Strict")
    assert code == 400 and body["reason"] == "BadRequest"
    assert body["message"] == 'strict decoding error: unknown field "metadata.lables", unknown field "spec.podSelectr"'
    assert api.objects("networkpolicies", "shop") == {}
    code, body, warning = call(api, "POST", NP, obj, query="?fieldValidation=Ignore")
    assert code == 201 and warning is None and "podSelectr" not in body["spec"]
    assert call(api, "POST", NP, netpol("x"), query="?fieldValidation=Sloppy")[0] == 400


def test_unknown_fields_of_an_update_and_a_patch(api):
    assert call(api, "POST", NP, netpol())[0] == 201
    code, body, _w = call(api, "PATCH", NP + "/allow-web", {"spec": {"egres": []}}, query="?fieldValidation=Strict")
    assert code == 400 and 'unknown field "spec.egres"' in body["message"]
    current = call(api, "GET", NP + "/allow-web")[1]
    current["spec"]["egres"] = []
    code, body, warning = call(api, "PUT", NP + "/allow-web", current)
    assert code == 200 and 'unknown field \\"spec.egres\\"' in warning and "egres" not in body["spec"]


# --- defaults ----------------------------------------------------------------------------------
def test_service_defaults_of_the_real_server(api):
    code, body, _w = call(api, "POST", SVC, service())
    assert code == 201, body
    spec = body["spec"]
    assert spec["type"] == "ClusterIP" and spec["sessionAffinity"] == "None"
    assert spec["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
    assert spec["internalTrafficPolicy"] == "Cluster"
    assert spec["ipFamilies"] == ["IPv4"] and spec["ipFamilyPolicy"] == "SingleStack"
    assert spec["clusterIPs"] == [spec["clusterIP"]]
    # an update that leaves the allocated values out keeps them (the Service REST storage), a changed IP is refused
    update = dict(service(), metadata=body["metadata"])
    code, again, _w = call(api, "PUT", SVC + "/web", update)
    assert code == 200 and again["spec"]["clusterIP"] == spec["clusterIP"]
    assert again["metadata"]["resourceVersion"] == body["metadata"]["resourceVersion"]   # nothing changed
    update = dict(service(clusterIP="10.152.183.250"), metadata=again["metadata"])
    code, refused, _w = call(api, "PUT", SVC + "/web", update)
    assert code == 422 and "field is immutable" in refused["message"]
    # a headless Service without selector: no IP, RequireDualStack (alloc.go initIPFamilyFields)
    code, headless, _w = call(api, "POST", SVC, dict(service("peers", clusterIP="None"),
                                                     spec={"clusterIP": "None", "ports": [{"port": 7000}]}))
    assert code == 201 and headless["spec"]["clusterIPs"] == ["None"]
    assert headless["spec"]["ipFamilyPolicy"] == "RequireDualStack" and headless["spec"]["ipFamilies"] == ["IPv4", "IPv6"]


def test_secret_deployment_and_namespace_defaults(api):
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "shop"},
              "data": {"a": "Yg=="}}
    assert call(api, "POST", "/api/v1/namespaces/shop/secrets", secret)[1]["type"] == "Opaque"
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "shop"},
              "spec": {"selector": {"matchLabels": {"app": "d"}},
                       "template": {"metadata": {"labels": {"app": "d"}},
                                    "spec": {"containers": [{"name": "c", "image": "example.invalid/c:1",
                                                             "ports": [{"containerPort": 80}]}]}}}}
    code, body, _w = call(api, "POST", "/apis/apps/v1/namespaces/shop/deployments", deploy)
    assert code == 201, body
    spec = body["spec"]
    assert (spec["replicas"], spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (1, 10, 600)
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    pod = spec["template"]["spec"]
    assert (pod["dnsPolicy"], pod["restartPolicy"], pod["schedulerName"], pod["terminationGracePeriodSeconds"]) == \
        ("ClusterFirst", "Always", "default-scheduler", 30)
    container = pod["containers"][0]
    assert container["imagePullPolicy"] == "IfNotPresent" and container["ports"][0]["protocol"] == "TCP"
    assert container["terminationMessagePath"] == "/dev/termination-log"
    namespace = call(api, "GET", "/api/v1/namespaces/shop")[1]
    assert namespace["metadata"]["labels"]["kubernetes.io/metadata.name"] == "shop"
    assert namespace["spec"]["finalizers"] == ["kubernetes"] and namespace["status"]["phase"] == "Active"
