# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kubernetes connection of the collection's modules: ONE argspec (documented by ONE doc fragment,
``plugins/doc_fragments/k8s_connection.py``) and ONE transport over the official ``kubernetes`` client.

The transport sends raw JSON through ``kubernetes.client.ApiClient.call_api``: no discovery round trips,
one HTTP request per call, and it counts them (``transport.requests``).
"""

from __future__ import annotations

import json
import traceback

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import ApiError, K8sConnectionError

try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.client.rest import ApiException
    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError:  # reported by the module through missing_required_lib
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()

K8S_CONNECTION_ARGS = dict(
    kubeconfig=dict(type="raw"),
    context=dict(type="str"),
    host=dict(type="str"),
    api_key=dict(type="str", no_log=True),
    validate_certs=dict(type="bool", aliases=["verify_ssl"]),
    ca_cert=dict(type="path", aliases=["ssl_ca_cert"]),
    client_cert=dict(type="path", aliases=["cert_file"]),
    client_key=dict(type="path", aliases=["key_file"]),
    request_timeout=dict(type="float", default=30.0),
)


def api_client(params):
    """A ``kubernetes.client.ApiClient`` from the connection options."""
    if params.get("host"):
        configuration = k8s_client.Configuration()
        configuration.host = params["host"]
    else:
        configuration = k8s_client.Configuration()
        kubeconfig = params.get("kubeconfig")
        try:
            if isinstance(kubeconfig, dict):
                k8s_config.load_kube_config_from_dict(kubeconfig, context=params.get("context"),
                                                      client_configuration=configuration)
            else:
                k8s_config.load_kube_config(config_file=kubeconfig, context=params.get("context"),
                                            client_configuration=configuration)
        except Exception as exc:  # the client raises ConfigException, OSError, yaml errors...
            raise K8sConnectionError("cannot load kubeconfig %s: %s" % (kubeconfig or "(default)", exc)) from exc
    if params.get("api_key"):
        configuration.api_key = {"authorization": "Bearer %s" % params["api_key"]}
    if params.get("validate_certs") is not None:
        configuration.verify_ssl = params["validate_certs"]
    if params.get("ca_cert"):
        configuration.ssl_ca_cert = params["ca_cert"]
    if params.get("client_cert"):
        configuration.cert_file = params["client_cert"]
    if params.get("client_key"):
        configuration.key_file = params["client_key"]
    configuration.retries = 1
    return k8s_client.ApiClient(configuration)


class KubeTransport:
    """``request(method, path, query, body, content_type) -> dict`` over the kubernetes client."""

    def __init__(self, client, timeout=30.0):
        self.client = client
        self.timeout = timeout
        self.requests = 0

    def request(self, method, path, query=None, body=None, content_type=None):
        self.requests += 1
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
        try:
            data = self._send(method, path, list((query or {}).items()), headers, body)
        except ApiException as exc:
            reason, message = exc.reason or "", ""
            text = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else (exc.body or "")
            try:
                status = json.loads(text or "{}")
                reason, message = status.get("reason") or reason, status.get("message") or ""
            except ValueError:
                message = text[:200]
            raise ApiError(exc.status or 0, reason, message, text) from exc
        except Exception as exc:  # urllib3 connection errors, timeouts
            raise ApiError(0, "Unreachable", "the Kubernetes API at %s cannot be reached: %s"
                           % (self.client.configuration.host, exc)) from exc
        return json.loads(data) if data else {}

    def _send(self, method, path, query, headers, body):
        """One HTTP request through the client; the raw answer body (bytes) of a 2xx answer."""
        if hasattr(self.client, "param_serialize"):  # kubernetes >= 35 (the newer OpenAPI generator)
            request = self.client.param_serialize(method, path, query_params=query, header_params=headers,
                                                  body=body, auth_settings=["BearerToken"])
            response = self.client.call_api(*request, _request_timeout=self.timeout)
            response.read()
            if not 200 <= response.status <= 299:
                raise ApiException.from_response(http_resp=response, body=None, data=None)
            return response.data
        response = self.client.call_api(  # older clients
            path, method, query_params=query, header_params=headers, body=body, auth_settings=["BearerToken"],
            _preload_content=False, _return_http_data_only=True, _request_timeout=self.timeout)
        return response.data


def connect(params):
    """Transport from module params; raises :class:`K8sConnectionError`."""
    return KubeTransport(api_client(params), timeout=params.get("request_timeout") or 30.0)


#: Items asked for per LIST page (kubectl's default chunk size); the server may answer fewer.
PAGE_SIZE = 500


def list_all(transport, path, query=None, page_size=PAGE_SIZE):
    """Every item of a LIST, page by page (``limit`` and ``continue``): ``(items, requests)``.

    The server may answer fewer items than asked and gives a ``continue`` token while more are left; a
    server that does not page answers everything at once. Works with any ``transport`` (``request(method,
    path, query) -> dict``)."""
    items, token, requests = [], None, 0
    while True:
        page_query = dict(query or {}, limit=str(page_size))
        if token:
            page_query["continue"] = token
        answer = transport.request("GET", path, query=page_query)
        requests += 1
        items.extend(answer.get("items") or [])
        token = (answer.get("metadata") or {}).get("continue")
        if not token:
            return items, requests


def list_objects(transport, api_version, kind, plural, namespace=None, label_selector=None, page_size=PAGE_SIZE):
    """Every object of a kind (one LIST, paged); the items with ``apiVersion`` and ``kind`` filled in (a LIST
    answer leaves them out)."""
    base = "/api/%s" % api_version if "/" not in api_version else "/apis/%s" % api_version
    path = "%s/namespaces/%s/%s" % (base, namespace, plural) if namespace else "%s/%s" % (base, plural)
    items, _requests = list_all(transport, path, {"labelSelector": label_selector} if label_selector else None,
                                page_size=page_size)
    for item in items:
        item.setdefault("apiVersion", api_version)
        item.setdefault("kind", kind)
    return items
