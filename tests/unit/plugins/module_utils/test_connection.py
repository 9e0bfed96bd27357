# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The transport's paging loop and its path for kubernetes clients older than 35 (the one the pinned client
never takes; the real paging against a server is in test_paging.py and the cluster proof)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import K8sConnectionError
from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.connection import KubeTransport, api_client, list_all


class Pages:
    """A server of five items, two per page, with continue tokens."""

    def __init__(self):
        self.queries = []

    def request(self, method, path, query=None):
        self.queries.append((method, path, dict(query or {})))
        start = int((query or {}).get("continue") or 0)
        token = str(start + 2) if start + 2 < 5 else None
        return {"items": [{"n": n} for n in range(start, min(start + 2, 5))],
                "metadata": {"continue": token} if token else {}}


def test_list_all_follows_the_tokens_and_counts_its_requests():
    server = Pages()
    items, requests = list_all(server, "/api/v1/namespaces", {"labelSelector": "a=b"}, page_size=2)
    assert items == [{"n": 0}, {"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}] and requests == 3
    assert server.queries == [
        ("GET", "/api/v1/namespaces", {"labelSelector": "a=b", "limit": "2"}),
        ("GET", "/api/v1/namespaces", {"labelSelector": "a=b", "limit": "2", "continue": "2"}),
        ("GET", "/api/v1/namespaces", {"labelSelector": "a=b", "limit": "2", "continue": "4"})]


class OldClient:
    """kubernetes < 35's ApiClient.call_api as it answers: with _preload_content=False the raw urllib3 response
    (its body in ``.data``), and only with _return_http_data_only=True that alone, else ``(data, status,
    headers)``; no ``param_serialize``."""

    def __init__(self, body):
        self.body = body
        self.calls = []
        self.configuration = SimpleNamespace(host="https://127.0.0.1:6443")

    def call_api(self, path, method, **kwargs):
        self.calls.append((method, path, kwargs))
        data = SimpleNamespace(data=self.body, status=200) if not kwargs.get("_preload_content", True) else None
        return data if kwargs.get("_return_http_data_only") else (data, 200, {})


def test_an_older_client_answers_the_raw_body():
    client = OldClient(b'{"kind": "Namespace", "metadata": {"name": "db"}}')
    transport = KubeTransport(client, timeout=7)
    assert transport.request("GET", "/api/v1/namespaces/db") == {"kind": "Namespace", "metadata": {"name": "db"}}
    (method, path, kwargs), = client.calls
    assert (method, path, kwargs["_request_timeout"], kwargs["auth_settings"]) == (
        "GET", "/api/v1/namespaces/db", 7, ["BearerToken"])


def test_connection_options_reach_the_clients_configuration(tmp_path):
    client = api_client({"host": "https://127.0.0.2:16443", "api_key": "t0ken", "validate_certs": False,
                         "ca_cert": "/etc/ca.crt", "client_cert": "/etc/c.crt", "client_key": "/etc/c.key"})
    conf = client.configuration
    assert (conf.host, conf.api_key, conf.verify_ssl, conf.ssl_ca_cert, conf.cert_file, conf.key_file, conf.retries) == (
        "https://127.0.0.2:16443", {"authorization": "Bearer t0ken"}, False, "/etc/ca.crt", "/etc/c.crt", "/etc/c.key", 1)
    assert client.configuration.get_api_key_with_prefix("authorization") == "Bearer t0ken"
    missing = tmp_path / "nothing"
    with pytest.raises(K8sConnectionError) as err:
        api_client({"kubeconfig": str(missing)})
    assert str(err.value).startswith("cannot load kubeconfig %s: " % missing)
