# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure parts of the real-cluster harness (tests/cluster/) and of its build (tools/build_cluster.py).

The harness itself runs in ``make cluster-proof``; these check what it computes without starting anything."""

from __future__ import annotations

import socket
import struct
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "cluster"))
sys.path.insert(0, str(ROOT / "tools"))

import build_cluster  # noqa: E402  pylint: disable=import-error,wrong-import-position
import cluster  # noqa: E402  pylint: disable=import-error,wrong-import-position
import contract  # noqa: E402  pylint: disable=import-error,wrong-import-position
import podnet  # noqa: E402  pylint: disable=import-error,wrong-import-position
import proof  # noqa: E402  pylint: disable=import-error,wrong-import-position


@pytest.mark.parametrize("namespace,pod,expected", [
    # The interface names Calico's own tests expect (libcalico-go conversion_test.go).
    ("default", "podA", "cali7f94ce7c295"),
    ("default", "podB", "cali92cf1f5e9f6"),
])
def test_veth_name_is_calicos(namespace, pod, expected):
    assert cluster.veth_name(namespace, pod) == expected
    assert len(cluster.veth_name("a-very-long-namespace-name", "and-a-long-pod-name-0123456789")) == 15


GOMOD = textwrap.dedent("""\
    module k8s.io/kubernetes

    go 1.25.0

    require (
    \tk8s.io/api v0.0.0
    \tgo.etcd.io/etcd/client/v3 v3.6.5
    )

    replace (
    \tk8s.io/api => ./staging/src/k8s.io/api
    \tk8s.io/client-go => ./staging/src/k8s.io/client-go
    \tgithub.com/example/x => github.com/example/x v1.2.3
    )

    replace k8s.io/kubectl => ./staging/src/k8s.io/kubectl
    """)


def test_staging_replaces_map_every_staging_module_to_its_published_release():
    got = build_cluster.staging_replaces(GOMOD, "v1.35.4")
    assert got == [("k8s.io/api", "v0.35.4"), ("k8s.io/client-go", "v0.35.4"), ("k8s.io/kubectl", "v0.35.4")]


def test_staging_replaces_refuse_a_go_mod_without_them_and_a_bad_version():
    with pytest.raises(SystemExit, match="no ./staging replace lines"):
        build_cluster.staging_replaces("module k8s.io/kubernetes\n", "v1.35.4")
    with pytest.raises(SystemExit, match="KUBERNETES_VERSION"):
        build_cluster.staging_replaces(GOMOD, "1.35")


def test_wrapper_module_lists_the_generated_replace_lines(tmp_path):
    work = tmp_path / "w"
    build_cluster.write_wrapper(work, [("k8s.io/kubernetes", "v1.35.4")], [("k8s.io/api", "v0.35.4")],
                                ["k8s.io/kubernetes/cmd/kube-apiserver"])
    gomod = (work / "go.mod").read_text()
    assert "\tk8s.io/kubernetes v1.35.4\n" in gomod
    assert "\tk8s.io/api => k8s.io/api v0.35.4\n" in gomod
    assert '_ "k8s.io/kubernetes/cmd/kube-apiserver"' in (work / "tools.go").read_text()


def test_versions_file_is_complete_and_errors_name_the_line(tmp_path):
    pins = build_cluster.read_versions()
    assert pins["KUBERNETES_VERSION"].startswith("v1.")
    bad = tmp_path / "versions.env"
    bad.write_text("KUBERNETES_VERSION=v1.35.4\nnot a pin\n")
    with pytest.raises(SystemExit, match=r"versions.env:2: expected KEY=VALUE"):
        build_cluster.read_versions(bad)
    bad.write_text("KUBERNETES_VERSION=v1.35.4\n")
    with pytest.raises(SystemExit, match="ETCD_VERSION is not set"):
        build_cluster.read_versions(bad)


def test_dns_answer_carries_the_identity_and_parses_back():
    query = podnet._dns_query(0x1234)  # pylint: disable=protected-access
    answer = podnet._dns_answer(query, "kube-system/coredns 53/UDP")  # pylint: disable=protected-access
    qid, flags, qd, an = struct.unpack("!HHHH", answer[:8])
    assert (qid, flags & 0x8000, qd, an) == (0x1234, 0x8000, 1, 1)
    assert podnet._dns_txt(answer) == "kube-system/coredns 53/UDP"  # pylint: disable=protected-access
    assert podnet._dns_answer(answer, "x") is None  # a response is not answered  # pylint: disable=protected-access


def test_probe_reports_a_refused_tcp_port_as_not_answered():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: refused
        got = podnet.probe_one({"id": 1, "addr": "127.0.0.1", "port": port, "proto": "TCP"}, 1.0)
    assert got["ok"] is False and got["answer"] == "ConnectionRefusedError"


def test_matrix_reading_of_the_proof():
    matrix = proof.normalize_matrix(proof.default_matrix(), proof.INVENTORY)
    allows = proof.matrix_allows
    assert allows(matrix, ("zone", "backend"), ("zone", "db"), 5432, "TCP")
    assert not allows(matrix, ("zone", "backend"), ("zone", "db"), 5433, "TCP")
    assert not allows(matrix, ("zone", "db"), ("zone", "backend"), 80, "TCP")
    assert allows(matrix, ("zone", "db"), ("dns",), 53, "UDP")
    assert not allows(matrix, ("zone", "db"), ("dns",), 54, "UDP")
    lbs = frozenset(proof.peers_of(matrix, proof.PEERS["lb1"]))
    assert lbs == {"load_balancers"}
    assert allows(matrix, ("peer", lbs), ("zone", "ingress"), 8080, "TCP")
    assert not allows(matrix, ("peer", lbs), ("zone", "frontend"), 80, "TCP")
    assert proof.peers_of(matrix, proof.PEERS["internet"]) == {"internet"}
    assert proof.peers_of(matrix, proof.PEERS["metadata"]) == set()
    # only the egress proxies of the proxy zone reach the internet; its other pods get nothing outside
    assert matrix["guards"]["internet_egress_pods"] == {"app.kubernetes.io/component": "egress"}
    assert allows(matrix, ("zone", "proxy", "egress"), ("peer", frozenset({"internet"})), 443, "TCP")
    assert not allows(matrix, ("zone", "proxy"), ("peer", frozenset({"internet"})), 443, "TCP")
    assert not allows(matrix, ("zone", "backend", "egress"), ("peer", frozenset({"internet"})), 443, "TCP")
    assert not allows(matrix, ("zone", "backend"), ("peer", frozenset({"internet"})), 443, "TCP")
    assert (16444, "TCP") in proof.probe_ports(matrix) and (54, "UDP") in proof.probe_ports(matrix)


def test_contract_differences_blank_only_what_differs_by_nature():
    real = {"code": 201, "object": {"metadata": {"uid": "a", "managedFields": [{"x": 1}], "generation": 1},
                                    "spec": {"policyTypes": ["Ingress"], "ports": [{"protocol": "TCP"}]}}}
    same = {"code": 201, "object": {"metadata": {"uid": "b", "generation": 1},
                                    "spec": {"policyTypes": ["Ingress"], "ports": [{"protocol": "TCP"}]}}}
    assert contract.differences(real, same) == []
    other = {"code": 201, "object": {"metadata": {"uid": "b"},
                                     "spec": {"policyTypes": ["Ingress", "Egress"], "ports": [{}]}}}
    assert contract.differences(real, other) == [
        ("object.metadata.generation", 1, "<absent>"), ("object.spec.policyTypes.1", "<absent>", "Egress"),
        ("object.spec.ports.0", "<absent>", {}), ("object.spec.ports.0.protocol", "TCP", "<absent>")]
    assert contract.differences({"code": 404, "reason": "NotFound"}, {"code": 409, "reason": "AlreadyExists"}) == [
        ("code", 404, 409), ("reason", "NotFound", "AlreadyExists")]
