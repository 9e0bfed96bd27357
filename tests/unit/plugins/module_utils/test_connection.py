# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The transport's paging loop and its path for kubernetes clients older than 35 (the one the pinned client
never takes; the real paging against a server is in test_paging.py and the cluster proof)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import K8sConnectionError
from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.connection import KubeTransport, api_client, connect, list_all


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


def test_connect_takes_the_request_timeout_or_thirty_seconds():
    """The modules' documented default (request_timeout: 30), also when the option is unset or empty."""
    params = {"host": "https://127.0.0.2:16443", "api_key": "t0ken"}
    assert connect(params).timeout == 30.0
    assert connect(dict(params, request_timeout=None)).timeout == 30.0
    assert connect(dict(params, request_timeout=4.5)).timeout == 4.5


class Failing(OldClient):
    """An old client whose call raises what the kubernetes client raises."""

    def __init__(self, exc):
        super().__init__(b"")
        self.exc = exc

    def call_api(self, path, method, **kwargs):
        raise self.exc


def _api_exception(status, reason, body):
    from kubernetes.client.exceptions import ApiException  # pylint: disable=import-outside-toplevel
    exc = ApiException(status=status, reason=reason)
    exc.body = body
    return exc


def test_api_answers_become_one_api_error_with_the_servers_reason_and_message():
    from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import ApiError  # pylint: disable=import-outside-toplevel

    status = b'{"kind": "Status", "reason": "Forbidden", "message": "namespaces is forbidden: User cannot list"}'
    with pytest.raises(ApiError) as err:
        KubeTransport(Failing(_api_exception(403, "Forbidden by proxy", status))).request("GET", "/api/v1/namespaces")
    assert (err.value.status, err.value.reason, err.value.message, str(err.value)) == (
        403, "Forbidden", "namespaces is forbidden: User cannot list",
        "403 Forbidden: namespaces is forbidden: User cannot list")
    with pytest.raises(ApiError) as err:
        KubeTransport(Failing(_api_exception(502, "Bad Gateway", "<html>" + "x" * 300))).request("GET", "/api")
    assert (err.value.status, err.value.reason, err.value.message) == (502, "Bad Gateway", "<html>" + "x" * 194)
    with pytest.raises(ApiError) as err:
        KubeTransport(Failing(_api_exception(None, None, None))).request("GET", "/api")
    assert (err.value.status, err.value.reason, err.value.message) == (0, "", "")
    with pytest.raises(ApiError) as err:
        KubeTransport(Failing(ConnectionRefusedError("[Errno 111] refused"))).request("GET", "/api")
    assert (err.value.status, err.value.reason, err.value.message) == (
        0, "Unreachable", "the Kubernetes API at https://127.0.0.1:6443 cannot be reached: [Errno 111] refused")


def test_a_kubeconfig_given_as_a_mapping_and_its_context():
    kubeconfig = {"apiVersion": "v1", "kind": "Config", "current-context": "b",
                  "clusters": [{"name": "a", "cluster": {"server": "https://127.0.0.1:1"}},
                               {"name": "b", "cluster": {"server": "https://127.0.0.1:2"}}],
                  "contexts": [{"name": "a", "context": {"cluster": "a", "user": "u"}},
                               {"name": "b", "context": {"cluster": "b", "user": "u"}}],
                  "users": [{"name": "u", "user": {"token": "abc"}}]}
    assert api_client({"kubeconfig": kubeconfig}).configuration.host == "https://127.0.0.1:2"
    conf = api_client({"kubeconfig": kubeconfig, "context": "a", "validate_certs": True}).configuration
    assert (conf.host, conf.verify_ssl) == ("https://127.0.0.1:1", True)


def test_without_the_kubernetes_client_the_connection_module_still_loads_and_says_why(load_without):
    """On a host without python3-kubernetes the modules must load, to report the missing library themselves."""
    from ansible_collections.netzone.segmentation.plugins.module_utils._k8s import connection  # pylint: disable=import-outside-toplevel

    bare = load_without(connection, "kubernetes")
    assert bare.HAS_KUBERNETES is False
    assert bare.KUBERNETES_IMPORT_ERROR.rstrip().splitlines()[-1] == (
        "ModuleNotFoundError: import of kubernetes halted; None in sys.modules")
    assert bare.K8S_CONNECTION_ARGS == connection.K8S_CONNECTION_ARGS
