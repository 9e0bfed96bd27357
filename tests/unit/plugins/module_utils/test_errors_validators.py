# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""errors: every deliberate error is a NetzoneError, in three families; validators: names, labels, protocols."""

from __future__ import annotations

import pytest

from ansible_collections.netzone.segmentation.plugins.module_utils._common import errors
from ansible_collections.netzone.segmentation.plugins.module_utils._common import validators
from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.connection import K8sConnectionError, connect
from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.sync import ApiFailure, SyncError, prepare_desired
from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.microk8s import Microk8sError
from ansible_collections.netzone.segmentation.plugins.module_utils._model.objects import cluster_state
from ansible_collections.netzone.segmentation.plugins.module_utils._report.sections import ReportError


def test_every_error_is_a_netzone_error_and_still_importable_where_it_was():
    assert K8sConnectionError is errors.K8sConnectionError and ApiFailure is errors.ApiError
    assert SyncError is errors.SyncError and Microk8sError is errors.Microk8sError and ReportError is errors.ReportError
    for cls in (errors.InputError, errors.MatrixError, errors.ObjectError, errors.ApiError, errors.SyncError,
                errors.K8sConnectionError, errors.ReportError, errors.Microk8sError):
        assert issubclass(cls, errors.NetzoneError), cls
    assert issubclass(errors.MatrixError, errors.InputError) and issubclass(errors.ObjectError, errors.InputError)
    assert not issubclass(errors.ObjectError, errors.MatrixError)


def test_input_errors_name_their_path():
    assert str(errors.ObjectError("pods[2].metadata", "needs name and namespace")) == "pods[2].metadata: needs name and namespace"
    assert str(errors.InputError("", "bare")) == "bare"


def test_bad_objects_are_object_errors_not_matrix_errors():
    with pytest.raises(errors.ObjectError, match=r"^objects\[0\]: must be a Kubernetes object"):
        cluster_state(["not an object"])
    with pytest.raises(errors.ObjectError, match=r"^manifests\[0\]\.metadata\.name: is required"):
        prepare_desired([{"apiVersion": "v1", "kind": "Namespace", "metadata": {}}])


def test_a_bad_kubeconfig_is_a_connection_error(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(errors.K8sConnectionError, match="cannot load kubeconfig"):
        connect({"kubeconfig": str(missing)})


@pytest.mark.parametrize("value, expected", [("frontend", True), ("a", True), ("a" * 63, True), ("a" * 64, False),
                                             ("-a", False), ("a-", False), ("A", False), ("a_b", False), (3, False)])
def test_dns_label(value, expected):
    assert validators.is_dns_label(value) is expected


@pytest.mark.parametrize("value, expected", [("web", True), ("w3b-1", True), ("1web", False), ("a" * 63, True),
                                             ("a" * 64, False)])
def test_dns1035_label(value, expected):
    assert validators.is_dns1035_label(value) is expected


@pytest.mark.parametrize("key, expected", [("app", True), ("netzone.io/zone", True), ("a.b-c/x_y.z", True),
                                           ("Bad.Prefix/x", False), ("/x", False), ("x/", False), ("a" * 64, False),
                                           ("p/" + "a" * 63, True), ("", False), (1, False)])
def test_label_key(key, expected):
    assert validators.is_label_key(key) is expected


@pytest.mark.parametrize("value, expected", [("", True), ("v1.2_3-x", True), ("-v", False), ("a" * 63, True), ("a" * 64, False),
                                             (None, False)])
def test_label_value(value, expected):
    assert validators.is_label_value(value) is expected


def test_port_name_and_protocol():
    assert validators.is_port_name("http") and validators.is_port_name("h2c-1")
    assert not validators.is_port_name("80") and not validators.is_port_name("a--b") and not validators.is_port_name("x" * 16)
    assert validators.is_port_name("x" * 15) and validators.is_port_name("metrics-https-1")   # 15 characters
    assert validators.protocol("UDP") == "UDP" and validators.protocol("udp") is None
    assert validators.protocol("sctp", case_insensitive=True) == "SCTP" and validators.protocol("icmp", True) is None


def test_cluster_state_takes_namespaces_from_objects_pods_and_policies_but_never_an_empty_name():
    objects = [
        {"kind": "Namespace", "metadata": {"name": "db", "labels": {"tier": "data"}}},
        {"kind": "Pod", "metadata": {"name": "p", "namespace": "web"}, "spec": {}, "status": {"podIP": "10.1.0.5"}},
        {"kind": "NetworkPolicy", "metadata": {"name": "a", "namespace": "api"}, "spec": {}},
        {"kind": "NetworkPolicy", "metadata": {"name": "b", "namespace": ""}, "spec": {}},
        {"kind": "NetworkPolicy", "metadata": {"name": "c"}, "spec": {}},
        {"kind": "Service", "metadata": {"name": "s", "namespace": "svc"}},
        {"kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "svc"}},
        {"kind": "Deployment", "metadata": {"name": "d", "namespace": "svc"}, "spec": {}},
    ]
    namespaces, pods, policies = cluster_state(objects)
    assert namespaces == {"db": {"tier": "data", "kubernetes.io/metadata.name": "db"},
                          "web": {"kubernetes.io/metadata.name": "web"},
                          "api": {"kubernetes.io/metadata.name": "api"}}
    assert pods == [{"namespace": "web", "name": "p", "labels": {}, "ip": "10.1.0.5", "ports": []}]
    assert [p["metadata"]["name"] for p in policies] == ["a", "b", "c"]


def test_cluster_state_reads_parsed_json_and_names_a_pod_without_namespace():
    import json  # pylint: disable=import-outside-toplevel

    # kinds as a JSON parser makes them (new string objects, not the literals of the code)
    parsed = json.loads('[{"kind": "NetworkPolicy", "metadata": {"name": "a", "namespace": "api"}, "spec": {}},'
                        ' {"kind": "Pod", "metadata": {"name": "p", "namespace": "web"}, "spec": {}}]')
    namespaces, pods, policies = cluster_state(parsed)
    assert [p["metadata"]["name"] for p in policies] == ["a"] and [p["name"] for p in pods] == ["p"]
    assert sorted(namespaces) == ["api", "web"]
    with pytest.raises(errors.ObjectError) as err:
        cluster_state([{"kind": "Pod", "metadata": {"name": "p"}}])
    assert str(err.value) == "objects[0].metadata: needs name and namespace"


@pytest.mark.parametrize("value, expected", [(None, "null"), (True, "a boolean"), (0, "an integer"), (1.5, "a number"),
                                             ("x", "a string"), ({}, "an object"), ([], "a list"), ((1,), "a list"),
                                             (b"x", "a value of type bytes"), ({1}, "a value of type set")])
def test_json_type_names_the_json_kind(value, expected):
    assert validators.json_type(value) == expected


@pytest.mark.parametrize("name, known, expected", [
    ("bakend", ["backend", "frontend"], " (did you mean 'backend'?)"),
    ("db", ["dba", "db1"], " (did you mean 'db1'?)"),            # the first in sorted order of the close ones
    ("abc", ["abxyz"], ""),                                      # three edits away
    ("ab", ["abcd"], " (did you mean 'abcd'?)"),                 # two inserts
    ("ab", ["abcde"], ""),                                       # three longer
    ("web", [], ""),
    (3, ["web"], ""),
])
def test_did_you_mean_offers_the_first_name_within_two_edits(name, known, expected):
    assert validators.did_you_mean(name, known) == expected


SERVICES = {"http": [{"port": 80, "end_port": None, "protocol": "TCP"}],
            "web": [{"port": 8000, "end_port": 8100, "protocol": "TCP"}],
            "alt": [{"port": 8080, "end_port": None, "protocol": "TCP"}]}


@pytest.mark.parametrize("value, expected", [
    (80, " (80 is a port: flows name services; 'http' has it)"),
    ("80/tcp", " ('80/tcp' is a port: flows name services; 'http' has it)"),
    (" 8080 - 8090 / TCP ", " (' 8080 - 8090 / TCP ' is a port: flows name services; 'alt' or 'web' have it)"),
    (8000, " (8000 is a port: flows name services; 'web' has it)"),
    (8100, " (8100 is a port: flows name services; 'web' has it)"),
    (8101, " (8101 is a port: flows name services; define one under 'services', for example app: [8101/tcp])"),
    (7999, " (7999 is a port: flows name services; define one under 'services', for example app: [7999/tcp])"),
    ("web", ""), (True, ""), (None, ""), (8.0, ""),
])
def test_a_port_where_a_service_name_belongs_gets_a_hint(value, expected):
    assert validators.port_instead_of_name(value, SERVICES) == expected


PREFIX_253 = ".".join(["a" * 61] * 4 + ["b" * 5])   # a DNS subdomain of 253 characters


@pytest.mark.parametrize("key, expected", [(PREFIX_253 + "/x", True), (PREFIX_253 + "b/x", False),
                                           ("a." + "b" * 63 + "/x", True), ("a..b/x", False)])
def test_label_key_prefix_up_to_253_characters(key, expected):
    assert validators.is_label_key(key) is expected


def test_cluster_state_messages_are_whole():
    def refused(objects):
        with pytest.raises(errors.ObjectError) as err:
            cluster_state(objects)
        return str(err.value)

    assert refused({"kind": "Pod"}) == "objects: must be a list of Kubernetes objects"
    assert refused([{"kind": "Namespace", "metadata": {}}]) == "objects[0].metadata.name: is required"
    assert refused([{"kind": "Namespace"}, "x"]) == "objects[0].metadata.name: is required"
    assert refused([{"kind": "Service"}, 3]) == "objects[1]: must be a Kubernetes object (a mapping)"


def test_pod_record_keeps_numbered_ports_of_every_container():
    from ansible_collections.netzone.segmentation.plugins.module_utils._model.objects import pod_record  # pylint: disable=import-outside-toplevel

    pod = {"metadata": {"name": "p", "namespace": "web", "labels": {"app": "w"}},
           "spec": {"containers": [{"name": "a", "ports": [{"name": "http", "containerPort": 80},
                                                           {"name": "none", "containerPort": 0}]},
                                   {"name": "b", "ports": [{"containerPort": 53, "protocol": "UDP"}]},
                                   {"name": "c"}]},
           "status": {"podIP": ""}}
    assert pod_record(pod) == {"namespace": "web", "name": "p", "labels": {"app": "w"}, "ip": None,
                               "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"},
                                         {"name": None, "containerPort": 53, "protocol": "UDP"}]}
    with pytest.raises(errors.ObjectError) as err:
        pod_record(["p"], "pods[3]")
    assert str(err.value) == "pods[3]: must be a Pod object (a mapping)"
    with pytest.raises(errors.ObjectError) as err:
        pod_record({"metadata": {"namespace": "web"}})
    assert str(err.value) == "pod.metadata: needs name and namespace"


@pytest.mark.parametrize("path, key, expected", [("", "zones", "zones"), ("", 3, "[3]"), ("peers", "lb", "peers.lb"),
                                                 ("peers", "a b", "peers['a b']"), ("peers", "a:b", "peers['a:b']"),
                                                 ("x", None, "x[None]")])
def test_key_path_quotes_keys_that_would_make_the_path_ambiguous(path, key, expected):
    assert errors.key_path(path, key) == expected
