# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers shared by the unit tests, molecule and the benchmark: start the test API server in a thread,
build manifests of a given number of zones."""

from __future__ import annotations

import copy
import json
import os
import tempfile
import urllib.error
import urllib.request

from kube_test_api import ApiServerDouble, write_kubeconfig  # pylint: disable=import-error

INVENTORY = {"groups": {"loadbalancers": ["lb1", "lb2"], "microk8s": ["node1"]},
             "addresses": {"lb1": "127.0.0.2", "lb2": "127.0.0.3", "node1": "127.0.0.4"}}


class RunningServer:
    """A server on 127.0.0.1 in a thread of this process, with a kubeconfig file for it."""

    def __init__(self, page_cap=None):
        self.server = ApiServerDouble(page_cap=page_cap).start_background()
        self.tmpdir = tempfile.mkdtemp(prefix="netzone-apiserver-")
        self.kubeconfig = os.path.join(self.tmpdir, "kubeconfig")
        write_kubeconfig(self.kubeconfig, self.server.url)

    @property
    def url(self):
        return self.server.url

    @property
    def store(self):
        return self.server.store

    @property
    def recorder(self):
        return self.server.recorder

    def reset(self):
        self.server.store.seed()
        self.server.page_cap = self.server.default_page_cap
        rec = self.server.recorder
        with rec.lock:
            rec.fail_after, rec.fail_count, rec.fail_verbs, rec.writers = None, None, "write", {}
        rec.reset()

    def objects(self, plural, namespace=None):
        """What the store holds, {(namespace, name): object} (no request counted)."""
        with self.store.lock:
            return {(k[1], k[2]): copy.deepcopy(v) for k, v in self.store.objects.items()
                    if k[0] == plural and (namespace is None or k[1] == namespace)}

    def stop(self):
        self.server.stop()
        try:
            os.unlink(self.kubeconfig)
            os.rmdir(self.tmpdir)
        except OSError:
            pass


def zones_matrix(count, vhosts=True):
    """A matrix of ``count`` zones shaped like the article's: a chain of HTTP flows through the zones."""
    names = ["ingress"] + ["zone%03d" % i for i in range(1, count)]
    zones = {name: {} for name in names}
    zones["ingress"] = {"needs": ["api_server"]}
    flows = [{"from": "load_balancers", "to": "ingress", "services": ["http"]}]
    for src, dst in zip(names, names[1:]):
        flows.append({"from": src, "to": dst, "services": ["http"]})
    matrix = {
        "services": {"http": ["80/tcp", "8080/tcp"], "postgres": ["5432/tcp"]},
        "peers": {"load_balancers": {"from_group": "loadbalancers"},
                  "api_server": {"from_group": "microk8s", "services": ["kube_api"]}},
        "zones": zones,
        "flows": flows,
        "vhosts": [],
    }
    if vhosts and count > 1:
        matrix["vhosts"] = [{"name": "www%d.example.com" % i, "exposure": "public", "zone": names[1 + i % (count - 1)],
                             "service": "web", "port": 80, "tls": "selfsigned"} for i in range(min(count, 10))]
    return matrix


def _ds(namespace, name, host_network=False, ready=1, labels=None):
    pod_spec = {"containers": [{"name": name, "image": "example.invalid/%s:1" % name,
                                "ports": [] if host_network else [{"containerPort": 80, "hostPort": 80}]}]}
    if host_network:
        pod_spec["hostNetwork"] = True
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {"app": name}},
            "spec": {"selector": {"matchLabels": labels or {"app": name}},
                     "template": {"metadata": {"labels": labels or {"app": name}}, "spec": pod_spec}},
            "status": {"numberReady": ready, "desiredNumberScheduled": ready}}


def pod(namespace, name, ip, labels=None, ports=(80,)):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace,
                                                            "labels": labels or {"app": name}},
            "spec": {"containers": [{"name": "c", "image": "example.invalid/c:1",
                                     "ports": [{"containerPort": p} for p in ports]}]},
            "status": {"phase": "Running", "podIP": ip}}


def platform_objects():
    """What a MicroK8s cluster with Calico, CoreDNS and the ingress addon has (status included: the double keeps
    the status given on create, so tests can seed running workloads)."""
    return [
        _ds("kube-system", "calico-node"),
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ingress"}},
        _ds("ingress", "nginx-ingress-microk8s-controller"),
        pod("kube-system", "coredns-7d9b8c8d4-abcde", "10.1.0.2", {"k8s-app": "kube-dns"}, ports=(53,)),
    ]


def load(running, objects):
    """Create objects straight in the store (not counted as requests)."""
    from kube_test_api import _resource_for  # pylint: disable=import-error,import-outside-toplevel
    store = running.store
    with store.lock:
        for obj in objects:
            res = _resource_for(obj)
            namespace = obj["metadata"].get("namespace") if res.namespaced else None
            store.create(res, namespace, copy.deepcopy(obj), False, admit=False)


def call(server, method, path, body=None, query="", ctype=None):
    """``(status, body, Warning header)`` of one raw HTTP request to a running server (PATCH as a merge patch
    unless ``ctype`` says otherwise)."""
    data = json.dumps(body).encode() if body is not None else None
    ctype = ctype or ("application/merge-patch+json" if method == "PATCH" else "application/json")
    req = urllib.request.Request(server.url + path + query, data=data, method=method, headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read()), resp.headers.get("Warning")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), exc.headers.get("Warning")
