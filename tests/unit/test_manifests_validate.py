# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every compiled manifest, as the zones role applies it (labels and fingerprint annotation included),
passes kubernetes-validate --strict for Kubernetes 1.30 to 1.33 (an AdminNetworkPolicy, a CRD's kind it has no
schema for, passes the strict parser of module_utils/_model/cluster_policy.py instead)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import kubernetes_validate

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "apiserver"))

import harness  # noqa: E402  pylint: disable=import-error,wrong-import-position

from ansible_collections.netzone.segmentation.plugins.module_utils._model.cluster_policy import parse_admin_policy  # noqa: E402
from ansible_collections.netzone.segmentation.plugins.module_utils._model.compile import compile_manifests  # noqa: E402
from ansible_collections.netzone.segmentation.plugins.module_utils._model.egress_workload import compile_egress  # noqa: E402
from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.sync import prepare_desired  # noqa: E402
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import (  # noqa: E402
    default_matrix,
    normalize_matrix,
)

VERSIONS = ("1.30.0", "1.31.0", "1.32.0", "1.33.0")


def matrices():
    warn = default_matrix()
    warn["guards"] = {"nodeports": "warn", "nodeport_exempt_namespaces": ["ingress", "monitoring"]}
    return {"article": None, "staged-warn": warn, "6-zones-chain": harness.zones_matrix(6)}


@pytest.mark.parametrize("name", sorted(matrices()))
@pytest.mark.parametrize("version", VERSIONS)
def test_compiled_manifests_pass_strict_schema_validation(name, version):
    matrix = normalize_matrix(matrices()[name], harness.INVENTORY)
    manifests = compile_manifests(matrix) + compile_egress(matrix)
    applied = list(prepare_desired(manifests).values())
    kinds = {obj["kind"] for obj in applied}
    assert kinds >= {"Namespace", "NetworkPolicy", "Ingress", "ValidatingAdmissionPolicy",
                     "ValidatingAdmissionPolicyBinding", "AdminNetworkPolicy"}
    if matrix["egress"]:  # the article's model carries the egress section: the proxy zone's workload
        assert kinds >= {"ConfigMap", "Deployment", "Service", "PodDisruptionBudget"}
    for obj in applied:  # the compiled objects plus the label and annotation the sync adds
        if obj["kind"] == "AdminNetworkPolicy":
            # a CRD's kind, which kubernetes-validate has no schema for: the cluster policy parser is strict
            parse_admin_policy(obj)
            continue
        kubernetes_validate.validate(obj, version, strict=True)


def test_strict_validation_does_catch_a_bad_manifest():
    manifests = compile_manifests(normalize_matrix(None, harness.INVENTORY))
    bad = [m for m in manifests if m["kind"] == "NetworkPolicy"][0]
    bad = dict(bad, spec=dict(bad["spec"], podSelectr={}))
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, "1.33.0", strict=True)
