# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cluster_access: the kubeconfig chain, the render directory and why there is no cluster, each one rule."""

from __future__ import annotations

from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.cluster_access import (
    kubeconfig_path,
    no_cluster_reason,
    render_dir,
)


def test_kubeconfig_chain():
    assert kubeconfig_path("/k/netzone", "/k/microk8s", "/p") == "/k/netzone"
    assert kubeconfig_path("", "/k/microk8s", "/p") == "/k/microk8s"
    assert kubeconfig_path(None, None, "/p") == "/p/microk8s-kubeconfig.yaml"


def test_render_dir(tmp_path):
    checkout = tmp_path / "checkout"
    (checkout / "playbooks").mkdir(parents=True)
    assert render_dir(None, str(checkout / "playbooks")) == "build"
    (checkout / "galaxy.yml").write_text("namespace: netzone\n")
    assert render_dir(None, str(checkout / "playbooks")) == str(checkout / "build")
    assert render_dir("out/", str(checkout / "playbooks")) == "out/"


def test_the_first_reason_that_applies():
    assert no_cluster_reason("microk8s", False, "/k", False, "refused") == "the inventory has no host in group 'microk8s'"
    assert no_cluster_reason("microk8s", True, "/k", False, "refused") == (
        "no kubeconfig at /k (the cluster stage writes it; or set netzone_kubeconfig)")
    assert no_cluster_reason("microk8s", True, "/k", True, "0 Unreachable:\n  connection   refused") == (
        "the API server did not answer: 0 Unreachable: connection refused")
    assert no_cluster_reason("microk8s", True, "/k", True, None) == ""
    long = no_cluster_reason("microk8s", True, "/k", True, "x" * 500)
    assert long == "the API server did not answer: " + "x" * 197 + "..."
    # up to 200 characters the message is whole; from 201 on, cut to 197 and "..."
    assert no_cluster_reason("microk8s", True, "/k", True, "y" * 200) == "the API server did not answer: " + "y" * 200
    assert no_cluster_reason("microk8s", True, "/k", True, "z" * 201) == "the API server did not answer: " + "z" * 197 + "..."
