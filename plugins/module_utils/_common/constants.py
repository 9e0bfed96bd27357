# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The labels, annotations and fixed names the collection puts on cluster objects, in one place.

Address ranges live in ``netranges``; everything here is what the compiler writes and the synchroniser, the
audit and the report read back.
"""

from __future__ import annotations

#: Every object the collection owns carries this label with this value; live objects are read by it.
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "netzone.segmentation"
MANAGED_SELECTOR = "%s=%s" % (MANAGED_BY_LABEL, MANAGED_BY_VALUE)

#: The zone an object belongs to (on namespaces and policies).
ZONE_LABEL = "netzone.io/zone"
#: The label the API server sets on every namespace (its name); policies select namespaces by it.
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"

#: What a NetworkPolicy is for: ``allow`` (one flow, or DNS) or ``default-deny`` (applied after the allows,
#: removed after them).
POLICY_ROLE_LABEL = "netzone.io/policy-role"
POLICY_ROLE_ALLOW = "allow"
POLICY_ROLE_DEFAULT_DENY = "default-deny"

#: Annotations the synchroniser keeps: the fingerprint of what it applied, and "this namespace was adopted".
HASH_ANNOTATION = "netzone.io/applied-hash"
ADOPTED_ANNOTATION = "netzone.io/adopted"

#: Names of the objects every zone gets, and of the admission policy against NodePort/LoadBalancer Services.
DEFAULT_DENY_NAME = "netzone-default-deny"
DNS_POLICY_NAME = "netzone-allow-dns"
ADMISSION_POLICY_NAME = "netzone-deny-node-ports"
#: The admission policy that keeps the ingress zone's pods off the host (but for the allowed hostPorts).
INGRESS_POD_POLICY_NAME = "netzone-ingress-pods"
#: The cluster-wide guardrails: the AdminNetworkPolicy that keeps namespaces the matrix does not manage off the
#: internet, its priority (0 is the highest of 0-1000), and the admission policy against host network pods.
UNMANAGED_INTERNET_POLICY_NAME = "netzone-unmanaged-no-internet"
UNMANAGED_INTERNET_PRIORITY = 10
HOST_NETWORK_POLICY_NAME = "netzone-host-network"

#: The protocols of a NetworkPolicy port (and of a matrix service).
PROTOCOLS = ("TCP", "UDP", "SCTP")

#: The pods that alone reach outside the cluster from an internet-egress zone (the proxy zone): the labels every pod
#: of the egress workload carries (egress_workload.py); ``guards.internet_egress_pods`` overrides them.
EGRESS_POD_LABELS = {"app.kubernetes.io/component": "egress"}
#: The inventory group of the load balancers: their addresses are the only ones admitted into the ingress zone.
LOAD_BALANCER_GROUP = "loadbalancers"
