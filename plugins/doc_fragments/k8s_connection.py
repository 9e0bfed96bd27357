# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by every module that talks to the Kubernetes API.

Kept equal to ``plugins/module_utils/_k8s/connection.py:K8S_CONNECTION_ARGS`` (sanity checks the pair).
"""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to a kubeconfig file, or the kubeconfig itself as a mapping.
      - When neither O(kubeconfig) nor O(host) is set, the client's default applies (E(KUBECONFIG) or C(~/.kube/config)).
      - The MicroK8s role leaves one on the controller (its C(microk8s_kubeconfig_dest)).
    type: raw
  context:
    description:
      - The kubeconfig context to use; the kubeconfig's current context when not set.
    type: str
  host:
    description:
      - URL of the Kubernetes API server, for example C(https://10.0.0.10:16443). Overrides the kubeconfig.
    type: str
  api_key:
    description:
      - Bearer token sent to the API server.
    type: str
  validate_certs:
    description:
      - Whether to check the API server's TLS certificate. The kubeconfig's setting when not set.
    type: bool
    aliases: [verify_ssl]
  ca_cert:
    description:
      - CA certificate file that signed the API server's certificate.
    type: path
    aliases: [ssl_ca_cert]
  client_cert:
    description:
      - Client certificate file for TLS client authentication.
    type: path
    aliases: [cert_file]
  client_key:
    description:
      - Key file of O(client_cert).
    type: path
    aliases: [key_file]
  request_timeout:
    description:
      - Seconds to wait for each answer of the API server.
    type: float
    default: 30.0
requirements:
  - kubernetes >= 24.2.0 (the Python client)
"""
