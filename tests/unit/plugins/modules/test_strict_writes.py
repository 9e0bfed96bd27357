# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""zone_policies writes with fieldValidation=Strict: a typo in an object of one's own (an extra policy) is refused
with the field named, instead of being dropped by the API server and changing what the policy allows."""

from __future__ import annotations

import harness  # pylint: disable=import-error

from ansible_collections.netzone.segmentation.plugins.module_utils._model.compile import compile_manifests
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import normalize_matrix
from ansible_collections.netzone.segmentation.plugins.modules import zone_policies


def typo_policy():
    # "form" for "from": a real server in its default mode drops it and the rule allows every source
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "allow-metrics", "namespace": "backend"},
            "spec": {"podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Ingress"],
                     "ingress": [{"form": [{"namespaceSelector": {"matchLabels": {"zone": "monitoring"}}}],
                                  "ports": [{"port": 9100}]}]}}


def test_an_unknown_field_is_refused_not_dropped(apiserver, run_module):
    platform = compile_manifests(normalize_matrix(None, harness.INVENTORY))
    assert not run_module(zone_policies.main, {"manifests": platform, "kubeconfig": apiserver.kubeconfig})["failed"]
    manifests = platform + [typo_policy()]
    for check_mode in (True, False):  # the server's dry run refuses it too
        result = run_module(zone_policies.main, {"manifests": manifests, "kubeconfig": apiserver.kubeconfig},
                            check_mode=check_mode)
        assert result["failed"] and result["status"] == 400, result
        assert "NetworkPolicy backend/allow-metrics failed: 400 BadRequest" in result["msg"], result["msg"]
        assert 'strict decoding error: unknown field "spec.ingress[0].form"' in result["msg"], result["msg"]
    assert ("backend", "allow-metrics") not in apiserver.objects("networkpolicies", "backend")
