# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers shared by the unit tests, molecule and the benchmark: start the test API server in a thread,
build manifests of a given number of zones."""

from __future__ import annotations

import copy
import os
import tempfile

from kube_test_api import ApiServerDouble, write_kubeconfig  # pylint: disable=import-error

INVENTORY = {"groups": {"loadbalancers": ["lb1", "lb2"], "microk8s": ["node1"]},
             "addresses": {"lb1": "127.0.0.2", "lb2": "127.0.0.3", "node1": "127.0.0.4"}}


class RunningServer:
    """A server on 127.0.0.1 in a thread of this process, with a kubeconfig file for it."""

    def __init__(self):
        self.server = ApiServerDouble().start_background()
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
        rec = self.server.recorder
        with rec.lock:
            rec.fail_after, rec.fail_count, rec.writers = None, None, {}
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
