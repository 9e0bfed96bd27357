#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stand-in checked by the real one: the same requests to the test API server (tests/apiserver/) and to the
real kube-apiserver of the harness, and where their answers differ.

The requests: every object the zones role writes for the article's matrix (its namespaces created for real in
scratch namespaces ``contract-*``, everything else created with ``dryRun=All``, so the answer is the object as
the server would store it, with its defaults), and the answers a client meets: 404, 409 AlreadyExists, 409
Conflict on a stale resourceVersion, 400 for an unknown field under ``fieldValidation=Strict``, 422 for an
invalid object, 403 from Pod Security, 404 for a namespace that does not exist, paging with ``limit``, and a
namespace deletion. Status code and reason are compared; for a success, the whole object, once the fields
that differ by nature (uid, resourceVersion, timestamps, managedFields, allocated IPs) are blanked.

Every difference is listed. Those explained in ``contract_known.json`` (each with its reason) are accepted;
any other makes the run fail: a change on either side shows up here.

``contract.py --state DIR``: against a running harness (``cluster.py start --state DIR``); ``make cluster-proof``
runs it on its own cluster before the zones role.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests" / "apiserver"))
sys.path.insert(0, str(ROOT / "build" / "collections"))

import cluster as C  # noqa: E402  pylint: disable=wrong-import-position,import-error

from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import (  # noqa: E402
    default_matrix, normalize_matrix)
from ansible_collections.netzone.segmentation.plugins.module_utils._model.plan import build_plan  # noqa: E402

KNOWN = HERE / "contract_known.json"
PREFIX = "contract-"
INVENTORY = {"groups": {"loadbalancers": ["lb1", "lb2"], "microk8s": ["node1"]},
             "addresses": {"lb1": "203.0.113.10", "lb2": "203.0.113.11", "node1": "198.51.100.21"}}
#: Fields whose values differ by nature between two servers (or two runs of one): only their presence is compared.
VOLATILE = {"object.metadata.uid", "object.metadata.resourceVersion", "object.metadata.creationTimestamp",
            "object.metadata.deletionTimestamp", "object.spec.clusterIP", "object.spec.clusterIPs.0"}
#: Not compared at all: the server-side apply bookkeeping (the collection never uses server-side apply; the
#: stand-in does not keep it).
IGNORED = {"object.metadata.managedFields"}
PLURALS = {"Namespace": ("/api/v1", "namespaces", False), "NetworkPolicy": ("/apis/networking.k8s.io/v1", "networkpolicies", True),
           "ValidatingAdmissionPolicy": ("/apis/admissionregistration.k8s.io/v1", "validatingadmissionpolicies", False),
           "ValidatingAdmissionPolicyBinding": ("/apis/admissionregistration.k8s.io/v1",
                                                "validatingadmissionpolicybindings", False),
           "Ingress": ("/apis/networking.k8s.io/v1", "ingresses", True), "ConfigMap": ("/api/v1", "configmaps", True),
           "Secret": ("/api/v1", "secrets", True), "Service": ("/api/v1", "services", True),
           "Deployment": ("/apis/apps/v1", "deployments", True),
           "PodDisruptionBudget": ("/apis/policy/v1", "poddisruptionbudgets", True), "Pod": ("/api/v1", "pods", True),
           "AdminNetworkPolicy": ("/apis/policy.networking.k8s.io/v1alpha1", "adminnetworkpolicies", False)}


class StandIn:
    """The test API server in a thread of this process, asked like the real one."""

    def __init__(self):
        import harness  # pylint: disable=import-error,import-outside-toplevel
        self.running = harness.RunningServer()
        self._call = harness.call

    def request(self, method, path, body=None):
        path, _sep, query = path.partition("?")
        ctype = "application/merge-patch+json" if method == "PATCH" else "application/json"
        status, obj, _warning = self._call(self.running, method, path, body, ("?" + query) if query else "", ctype)
        return status, obj

    def stop(self):
        self.running.stop()


def _path(kind, namespace=None, name=None):
    prefix, plural, namespaced = PLURALS[kind]
    out = prefix + ("/namespaces/%s" % namespace if namespaced else "") + "/" + plural
    return out + ("/%s" % name if name else "")


def flatten(value, prefix=""):
    """{dotted path: leaf} of a JSON value (empty mappings and lists kept as leaves)."""
    if isinstance(value, dict) and value:
        out = {}
        for key, val in value.items():
            out.update(flatten(val, "%s.%s" % (prefix, key) if prefix else key))
        return out
    if isinstance(value, list) and value:
        out = {}
        for i, val in enumerate(value):
            out.update(flatten(val, "%s.%d" % (prefix, i)))
        return out
    return {prefix: value}


def differences(real, stand_in):
    """[(path, real value, stand-in value)] between two answers (volatile fields present on both sides ignored)."""
    a, b = flatten(real), flatten(stand_in)
    out = []
    for path in sorted(set(a) | set(b)):
        if any(path == v or path.startswith(v + ".") for v in IGNORED):
            continue
        if any(path == v or path.startswith(v + ".") for v in VOLATILE) and path in a and path in b:
            continue
        if a.get(path, "<absent>") != b.get(path, "<absent>"):
            out.append((path, a.get(path, "<absent>"), b.get(path, "<absent>")))
    return out


def _renamed(obj, names):
    """``obj`` moved into the scratch namespaces (its namespace, and the namespace names in its selectors)."""
    text = json.dumps(obj)
    for old, new in names.items():
        text = text.replace('"%s"' % old, '"%s"' % new)
    return json.loads(text)


def cases(matrix):
    """[(label, method, path, body, real_only_setup)] in order; the namespaces are created for real."""
    # What the zones role applies: the compiled objects and the proxy zone's egress workload.
    manifests = build_plan(default_matrix(), INVENTORY)["manifests"]
    names = {m["metadata"]["name"]: PREFIX + m["metadata"]["name"] for m in manifests if m["kind"] == "Namespace"}
    out = []
    for m in manifests:
        if m["kind"] == "Namespace":
            m = _renamed(m, names)
            out.append(("create Namespace %s" % m["metadata"]["name"], "POST", _path("Namespace"), m))
    for m in manifests:
        if m["kind"] == "Namespace":
            continue
        m = _renamed(m, names)
        if m["kind"] in ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "AdminNetworkPolicy"):
            m["metadata"]["name"] = PREFIX + m["metadata"]["name"]
        ns = m["metadata"].get("namespace")
        out.append(("dry-run create %s %s%s" % (m["kind"], (ns + "/") if ns else "", m["metadata"]["name"]), "POST",
                    _path(m["kind"], ns) + "?dryRun=All&fieldValidation=Strict", m))
    ns = PREFIX + sorted(matrix["zones"])[0]
    pol = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
           "metadata": {"name": "contract-np", "namespace": ns},
           "spec": {"podSelector": {}, "ingress": [{"ports": [{"port": 80}]}]}}
    out += [
        ("create a NetworkPolicy with defaults to fill", "POST", _path("NetworkPolicy", ns), pol),
        ("create it again", "POST", _path("NetworkPolicy", ns), pol),
        ("replace it with a stale resourceVersion", "PUT", _path("NetworkPolicy", ns, "contract-np"),
         dict(pol, metadata=dict(pol["metadata"], resourceVersion="1"))),
        ("get a missing object", "GET", _path("NetworkPolicy", ns, "missing"), None),
        ("an unknown field, fieldValidation=Strict", "POST", _path("NetworkPolicy", ns) + "?fieldValidation=Strict",
         dict(pol, metadata={"name": "contract-unknown", "namespace": ns}, spec=dict(pol["spec"], colour="red"))),
        ("an invalid port", "POST", _path("NetworkPolicy", ns),
         dict(pol, metadata={"name": "contract-invalid", "namespace": ns},
              spec={"podSelector": {}, "ingress": [{"ports": [{"port": 70000}]}]})),
        ("a namespace that does not exist", "POST", _path("NetworkPolicy", PREFIX + "nowhere"),
         dict(pol, metadata={"name": "contract-np", "namespace": PREFIX + "nowhere"})),
        ("a host-network pod under baseline (dry run)", "POST", _path("Pod", ns) + "?dryRun=All",
         {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "contract-host", "namespace": ns},
          "spec": {"hostNetwork": True, "containers": [{"name": "c", "image": "example.invalid/c:1"}]}}),
        ("a Service with defaults to fill (dry run)", "POST", _path("Service", ns) + "?dryRun=All",
         {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "contract-svc", "namespace": ns},
          "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}),
        ("list with limit=1", "GET", _path("NetworkPolicy", None).replace("/namespaces/None", "") + "?limit=1", None),
        # deletecollection by label (what the probe_pods module's cleanup sends): only the labelled one goes
        ("code: create a labelled NetworkPolicy", "POST", _path("NetworkPolicy", ns),
         dict(pol, metadata={"name": "contract-labelled", "namespace": ns, "labels": {"netzone.io/contract": "x"}})),
        ("list deleted by a labelSelector (deletecollection)", "DELETE",
         _path("NetworkPolicy", ns) + "?labelSelector=netzone.io%2Fcontract%3Dx&gracePeriodSeconds=0", None),
        ("list what the labelSelector finds after it", "GET",
         _path("NetworkPolicy", ns) + "?labelSelector=netzone.io%2Fcontract%3Dx", None),
        ("list what is left in the namespace", "GET", _path("NetworkPolicy", ns), None),
        ("delete a namespace", "DELETE", _path("Namespace", None, ns), None),
    ]
    return out


def _answer(status, obj, label):
    """What is compared of one answer."""
    if status >= 300 or not isinstance(obj, dict):
        return {"code": status, "reason": (obj or {}).get("reason")}
    if label.startswith("code"):
        return {"code": status}
    if label.startswith("list"):
        return {"code": status, "items": len(obj.get("items") or []),
                "continue": bool((obj.get("metadata") or {}).get("continue"))}
    return {"code": status, "object": obj}


def compare(real, stand_in, matrix):
    """Send every case to both; [{"case", "path", "real", "stand_in"}] and the count of requests."""
    diffs, count = [], 0
    # An earlier run's scratch namespaces may still be Terminating (the namespace controller empties them).
    deadline = time.monotonic() + 120
    while any(n["metadata"]["name"].startswith(PREFIX)
              for n in real.request("GET", "/api/v1/namespaces")[1].get("items", [])):
        if time.monotonic() > deadline:
            raise SystemExit("contract: namespaces %s* of an earlier run are still there after 120 s" % PREFIX)
        time.sleep(1)
    served = set()
    for kind, (prefix, plural, _ns) in PLURALS.items():
        status, obj = real.request("GET", prefix)
        if status == 200 and any(r.get("name") == plural for r in obj.get("resources") or []):
            served.add(kind)
    for label, method, path, body in cases(matrix):
        kind = (body or {}).get("kind")
        if kind and kind not in served:
            diffs.append({"case": label, "path": "(kind)", "real": "not served (no CRD in the harness)",
                          "stand_in": "served"})
            continue
        count += 1
        a = _answer(*real.request(method, path, copy.deepcopy(body)), label)
        b = _answer(*stand_in.request(method, path, copy.deepcopy(body)), label)
        for dpath, av, bv in differences(a, b):
            diffs.append({"case": label, "path": dpath, "real": av, "stand_in": bv})
    return diffs, count


def cleanup(real, matrix):
    for zone in matrix["zones"]:
        real.request("DELETE", _path("Namespace", None, PREFIX + matrix["zones"][zone]["namespace"]))


def run(real, out=print):
    """Compare, print, and return (requests, differences, unexplained)."""
    matrix = normalize_matrix(default_matrix(), INVENTORY)
    known = json.loads(KNOWN.read_text()) if KNOWN.exists() else {}
    stand_in = StandIn()
    try:
        diffs, count = compare(real, stand_in, matrix)
    finally:
        stand_in.stop()
        cleanup(real, matrix)
    unexplained, said = [], set()
    for d in diffs:
        key = "%s :: %s" % (d["case"], d["path"])
        reason = known.get(key) or known.get("* :: %s" % d["path"])
        out("   %s %s: real %s, stand-in %s%s" % (
            "known" if reason else "NEW  ", key, json.dumps(d["real"]), json.dumps(d["stand_in"]),
            (" (%s)" % reason) if reason and reason not in said else ""))
        said.add(reason)
        if not reason:
            unexplained.append(d)
    out("contract: %d requests to both servers, %d differences (%d explained in %s, %d not)"
        % (count, len(diffs), len(diffs) - len(unexplained), KNOWN.name, len(unexplained)))
    return count, diffs, unexplained


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--state", type=Path, default=C.DEFAULT_STATE)
    args = ap.parse_args(argv)
    tokens = (args.state / "pki" / "tokens.csv").read_text().splitlines()
    token = [line.split(",")[0] for line in tokens if ",netzone-harness," in line][0]
    real = C.Api("https://127.0.0.1:%d" % C.API_PORT, token, args.state / "pki" / "ca.crt")
    _count, _diffs, unexplained = run(real)
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
