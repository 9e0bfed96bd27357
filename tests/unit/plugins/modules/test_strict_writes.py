# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""zone_policies writes with fieldValidation=Strict: a typo in an object of one's own (an extra policy) is refused
with the field named, instead of being dropped by the API server and changing what the policy allows."""

from __future__ import annotations

import harness  # pylint: disable=import-error
import pytest

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import ObjectError, SyncError
from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.connection import connect
from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.sync import Syncer

from ansible_collections.netzone.segmentation.plugins.module_utils._model.plan import build_plan
from ansible_collections.netzone.segmentation.plugins.modules import zone_policies


def typo_policy():
    # "form" for "from": a real server in its default mode drops it and the rule allows every source
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "allow-metrics", "namespace": "backend"},
            "spec": {"podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Ingress"],
                     "ingress": [{"form": [{"namespaceSelector": {"matchLabels": {"zone": "monitoring"}}}],
                                  "ports": [{"port": 9100}]}]}}


def test_an_unknown_field_is_refused_not_dropped(apiserver, run_module):
    """The plan refuses the typo first (the proof parses every policy); behind it, the writes are Strict."""
    with pytest.raises(ObjectError, match=r"spec\.ingress\[0\]: unknown field 'form' \(expected one of: from, ports\)"):
        build_plan(None, harness.INVENTORY, extra_policies=[typo_policy()])
    platform = build_plan(None, harness.INVENTORY)
    assert not run_module(zone_policies.main, {"plan": platform, "kubeconfig": apiserver.kubeconfig})["failed"]
    manifests = platform["manifests"] + [typo_policy()]
    for dry_run in (True, False):  # the server's dry run refuses it too
        syncer = Syncer(connect({"kubeconfig": apiserver.kubeconfig}), dry_run=dry_run)
        with pytest.raises(SyncError) as refused:
            syncer.sync(manifests)
        assert refused.value.status == 400, refused.value.message
        assert "NetworkPolicy backend/allow-metrics failed: 400 BadRequest" in refused.value.message
        assert 'strict decoding error: unknown field "spec.ingress[0].form"' in refused.value.message
    assert ("backend", "allow-metrics") not in apiserver.objects("networkpolicies", "backend")
