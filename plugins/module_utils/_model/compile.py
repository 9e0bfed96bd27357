# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compile a normalised matrix into Kubernetes manifests (plain Python, no Ansible, no I/O).

For every zone: its Namespace (zone label, managed-by label), a default-deny NetworkPolicy (Ingress and
Egress, no rules), a DNS egress policy to the cluster DNS pods, and for each flow the egress rule at the
source zone and the ingress rule at the destination zone.  Peers outside the cluster become ipBlocks; in an
internet-egress zone (the proxy zone) the egress rules to them select only the egress proxies' pods
(``guards.internet_egress_pods``), so that no other pod there reaches outside.  Plus
the ValidatingAdmissionPolicy (and binding) that refuses NodePort and LoadBalancer Services, the one that keeps
the ingress zone's pods off the host, the cluster-wide guardrails (an AdminNetworkPolicy against direct internet
from namespaces the matrix does not manage, an admission policy against host network pods outside an allow-list),
and one Ingress per vhost in its zone's namespace.  Namespaces carry the
zone's Pod Security Admission labels.  Nothing is ever written in the DNS namespace (kube-system).

The output is deterministic: the same matrix gives the same list, in the same order, with the same keys.
"""

from __future__ import annotations

import copy
import ipaddress

from ansible_collections.netzone.segmentation.plugins.module_utils._common.constants import (
    ADMISSION_POLICY_NAME,
    INGRESS_POD_POLICY_NAME,
    DEFAULT_DENY_NAME,
    DNS_POLICY_NAME,
    HOST_NETWORK_POLICY_NAME,
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    NAMESPACE_NAME_LABEL,
    POLICY_ROLE_ALLOW,
    POLICY_ROLE_DEFAULT_DENY,
    POLICY_ROLE_LABEL,
    UNMANAGED_INTERNET_POLICY_NAME,
    UNMANAGED_INTERNET_PRIORITY,
    ZONE_LABEL,
)
from ansible_collections.netzone.segmentation.plugins.module_utils._common.netranges import special_purpose
from ansible_collections.netzone.segmentation.plugins.module_utils._model.pod_security import (
    BASELINE_CAPABILITIES,
    namespace_labels,
)

#: CEL of the admission policy (run by the test API server with cel-python, see tests/apiserver/admission.py).
NODE_PORT_EXPRESSION = ("!has(object.spec.type) || (object.spec.type != 'NodePort' && "
                        "object.spec.type != 'LoadBalancer')")
EXTERNAL_IPS_EXPRESSION = "!has(object.spec.externalIPs) || size(object.spec.externalIPs) == 0"


def _meta(name, namespace=None, labels=None):
    meta = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    merged = {MANAGED_BY_LABEL: MANAGED_BY_VALUE}
    merged.update(labels or {})
    meta["labels"] = dict(sorted(merged.items()))
    return meta


def _k8s_ports(matrix, service_names):
    ports = {}
    for name in service_names:
        for entry in matrix["services"][name]:
            ports[(entry["protocol"], entry["port"], entry["end_port"] or 0)] = entry
    out = []
    for key in sorted(ports):
        entry = ports[key]
        port = {"protocol": entry["protocol"], "port": entry["port"]}
        if entry["end_port"]:
            port["endPort"] = entry["end_port"]
        out.append(port)
    return out


def _peer_selectors(matrix, name, own_zone):
    """NetworkPolicy peers for a zone or an outside peer, seen from ``own_zone``."""
    if name in matrix["zones"]:
        if name == own_zone:
            return [{"podSelector": {}}]
        namespace = matrix["zones"][name]["namespace"]
        return [{"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: namespace}}, "podSelector": {}}]
    out = []
    for block in matrix["peers"][name]["cidrs"]:
        ip_block = {"cidr": block["cidr"]}
        if block["except"]:
            ip_block["except"] = list(block["except"])
        out.append({"ipBlock": ip_block})
    return out


def outside_pod_labels(matrix, zone, other):
    """The labels of the only pods of ``zone`` that reach the outside peer ``other``: in an internet-egress
    zone (the proxy zone) the egress proxies' (``guards.internet_egress_pods``), elsewhere None (every pod)."""
    guards = matrix["guards"]
    if other in matrix["zones"] or zone not in (guards.get("internet_egress_zones") or ()):
        return None
    return guards.get("internet_egress_pods") or None


def policy_name(direction, other):
    """Stable name of the policy of one zone for one direction and one other endpoint."""
    return "netzone-%s-%s-%s" % (direction, "to" if direction == "egress" else "from", other.replace("_", "-"))


def _policy(name, namespace, zone, role, policy_types, ingress=None, egress=None, pod_labels=None):
    spec = {"podSelector": {"matchLabels": dict(pod_labels)} if pod_labels else {}, "policyTypes": list(policy_types)}
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(name, namespace, {ZONE_LABEL: zone, POLICY_ROLE_LABEL: role}),
        "spec": spec,
    }


def compile_zone(matrix, zone, flows=None):
    """Return the Namespace and NetworkPolicies of one zone (``flows``: the flows that touch it, default all)."""
    spec = matrix["zones"][zone]
    namespace = spec["namespace"]
    labels = dict(spec["labels"])
    labels.update(namespace_labels(spec["pod_security"]))
    labels[ZONE_LABEL] = zone
    out = [{"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(namespace, labels=labels)}]
    dns = matrix["cluster"]["dns"]
    dns_peer = {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: dns["namespace"]}},
                "podSelector": {"matchLabels": dict(sorted(dns["pod_labels"].items()))}}
    dns_ports = [{"protocol": p["protocol"], "port": p["port"]} if not p["end_port"] else
                 {"protocol": p["protocol"], "port": p["port"], "endPort": p["end_port"]} for p in dns["ports"]]
    out.append(_policy(DNS_POLICY_NAME, namespace, zone, POLICY_ROLE_ALLOW, ["Egress"],
                       egress=[{"to": [dns_peer], "ports": dns_ports}]))
    for flow in matrix["flows"] if flows is None else flows:
        if zone not in (flow["from"], flow["to"]):
            continue
        ports = _k8s_ports(matrix, flow["services"])
        if flow["from"] == zone:
            out.append(_policy(policy_name("egress", flow["to"]), namespace, zone, POLICY_ROLE_ALLOW, ["Egress"],
                               egress=[{"to": _peer_selectors(matrix, flow["to"], zone), "ports": ports}],
                               pod_labels=outside_pod_labels(matrix, zone, flow["to"])))
        if flow["to"] == zone:
            out.append(_policy(policy_name("ingress", flow["from"]), namespace, zone, POLICY_ROLE_ALLOW, ["Ingress"],
                               ingress=[{"from": _peer_selectors(matrix, flow["from"], zone), "ports": ports}]))
    out.append(_policy(DEFAULT_DENY_NAME, namespace, zone, POLICY_ROLE_DEFAULT_DENY, ["Ingress", "Egress"]))
    return out


def compile_admission(matrix):
    """The ValidatingAdmissionPolicy and binding that refuse NodePort and LoadBalancer Services and Services with
    ``spec.externalIPs`` (a 422 with the policy's message, as the API server answers a Deny of reason Invalid)."""
    guards = matrix["guards"]
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": _meta(ADMISSION_POLICY_NAME),
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{
                "apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                "resources": ["services"]}]},
            "validations": [{
                "expression": NODE_PORT_EXPRESSION,
                "message": "NodePort and LoadBalancer Services are not allowed: they bypass the load balancer "
                           "entry point (netzone.segmentation).",
                "reason": "Invalid",
            }, {
                "expression": EXTERNAL_IPS_EXPRESSION,
                "message": "Services with spec.externalIPs are not allowed: kube-proxy answers on those addresses "
                           "on every node, around the load balancer entry point, and they allow the traffic "
                           "interception of CVE-2020-8554 (netzone.segmentation).",
                "reason": "Invalid",
            }],
        },
    }
    actions = ["Deny", "Audit"] if guards["nodeports"] == "deny" else ["Warn", "Audit"]
    binding_spec = {"policyName": ADMISSION_POLICY_NAME, "validationActions": actions}
    if guards["nodeport_exempt_namespaces"]:
        binding_spec["matchResources"] = {"namespaceSelector": {"matchExpressions": [{
            "key": NAMESPACE_NAME_LABEL, "operator": "NotIn",
            "values": list(guards["nodeport_exempt_namespaces"])}]}}
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": _meta(ADMISSION_POLICY_NAME),
        "spec": binding_spec,
    }
    return [policy, binding]


#: CEL over a Pod: its init and regular containers (one type, Container), and apart its ephemeral containers (another
#: type, EphemeralContainer: a typed CEL environment does not add lists of two types), for the ingress pod policy.
INGRESS_POD_CONTAINERS = ("(has(object.spec.initContainers) ? object.spec.initContainers : []) + "
                          "(has(object.spec.containers) ? object.spec.containers : [])")
INGRESS_POD_EPHEMERAL = "has(object.spec.ephemeralContainers) ? object.spec.ephemeralContainers : []"


def _every_container(predicate):
    """CEL: ``predicate`` (over ``c``) holds for every container, ephemeral ones included."""
    return "variables.containers.all(c, %s) && variables.ephemeral.all(c, %s)" % (predicate, predicate)


INGRESS_POD_HOST_NAMESPACES = ("!(has(object.spec.hostNetwork) && object.spec.hostNetwork) && "
                               "!(has(object.spec.hostPID) && object.spec.hostPID) && "
                               "!(has(object.spec.hostIPC) && object.spec.hostIPC)")
INGRESS_POD_PRIVILEGED = _every_container("!has(c.securityContext) || !has(c.securityContext.privileged) || "
                                          "!c.securityContext.privileged")
INGRESS_POD_HOST_PATH = "!has(object.spec.volumes) || object.spec.volumes.all(v, !has(v.hostPath))"


def ingress_pod_host_ports_expression(ports):
    """CEL: every hostPort of every container is 0 (none) or one of ``ports``."""
    return _every_container("!has(c.ports) || c.ports.all(p, !has(p.hostPort) || p.hostPort == 0 || "
                            "p.hostPort in [%s])" % ", ".join(str(p) for p in ports))


def ingress_pod_capabilities_expression():
    """CEL: no container adds a capability outside Pod Security's baseline set."""
    return _every_container("!has(c.securityContext) || !has(c.securityContext.capabilities) || "
                            "!has(c.securityContext.capabilities.add) || c.securityContext.capabilities.add.all(x, "
                            "x in [%s])" % ", ".join("'%s'" % c for c in sorted(BASELINE_CAPABILITIES)))


def _pod_admission_policy(name, validations):
    """A ValidatingAdmissionPolicy over Pod create and update (the ``pods/ephemeralcontainers`` subresource too:
    ``kubectl debug`` adds containers through it), failing closed, with the ``containers`` and ``ephemeral``
    variables its expressions use."""
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": _meta(name),
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{
                "apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                "resources": ["pods", "pods/ephemeralcontainers"]}]},
            "variables": [{"name": "containers", "expression": INGRESS_POD_CONTAINERS},
                          {"name": "ephemeral", "expression": INGRESS_POD_EPHEMERAL}],
            "validations": validations,
        },
    }


def compile_ingress_pod_admission(matrix):
    """The ValidatingAdmissionPolicy and binding that keep the ingress zone's pods off the host.

    The ingress zone is Pod Security ``privileged`` by default because its controller needs hostPorts (MicroK8s'
    ingress addon: a DaemonSet with hostPort 80 and 443); this policy admits there only the hostPorts of
    ``guards.ingress_host_ports`` and refuses host namespaces (hostNetwork, hostPID, hostIPC), privileged
    containers, hostPath volumes and capabilities beyond baseline's, on Pod create and update (the
    ``pods/ephemeralcontainers`` subresource too: ``kubectl debug`` adds containers through it).  Empty without an
    ingress zone."""
    zone = matrix["guards"].get("ingress_zone")
    if not zone:
        return []
    namespace = matrix["zones"][zone]["namespace"]
    ports = matrix["guards"]["ingress_host_ports"]
    suffix = " in the ingress zone (namespace %s, netzone.segmentation)." % namespace
    policy = _pod_admission_policy(INGRESS_POD_POLICY_NAME, [{
        "expression": INGRESS_POD_HOST_NAMESPACES,
        "message": "pods may not use the host's network, PID or IPC namespace (hostNetwork, hostPID, "
                   "hostIPC)" + suffix,
        "reason": "Forbidden",
    }, {
        "expression": INGRESS_POD_PRIVILEGED,
        "message": "privileged containers are not allowed" + suffix,
        "reason": "Forbidden",
    }, {
        "expression": ingress_pod_host_ports_expression(ports),
        "message": "hostPorts other than %s are not allowed%s" % (
            ", ".join(str(p) for p in ports) or "none", suffix),
        "reason": "Forbidden",
    }, {
        "expression": INGRESS_POD_HOST_PATH,
        "message": "hostPath volumes are not allowed" + suffix,
        "reason": "Forbidden",
    }, {
        "expression": ingress_pod_capabilities_expression(),
        "message": "capabilities beyond Pod Security's baseline set are not allowed" + suffix,
        "reason": "Forbidden",
    }])
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": _meta(INGRESS_POD_POLICY_NAME),
        "spec": {"policyName": INGRESS_POD_POLICY_NAME, "validationActions": ["Deny", "Audit"],
                 "matchResources": {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: namespace}}}},
    }
    return [policy, binding]


#: AdminNetworkPolicy v1alpha1 (network-policy-api v0.1.1, the CRD that Calico 3.29 ships): at most 25
#: networks in one egress peer.
ANP_NETWORKS_PER_PEER = 25
ANP_API_VERSION = "policy.networking.k8s.io/v1alpha1"


def not_internet_networks(matrix):
    """The networks that are not "the internet" for the cluster-wide guardrail, sorted: every IANA special-purpose
    range, the cluster's pod and service CIDRs, the addresses of the inventory's hosts (``from_group`` peers and
    the internet peers' exclusions)."""
    nets = [ipaddress.ip_network(c) for c in special_purpose(4) + special_purpose(6)]
    nets += [ipaddress.ip_network(matrix["cluster"][k]) for k in ("pod_cidr", "service_cidr") if matrix["cluster"].get(k)]
    for peer in matrix["peers"].values():
        nets += [ipaddress.ip_network(e["cidr"]) for e in peer.get("exclusions") or []]
        if peer.get("from_group"):
            nets += [ipaddress.ip_network(b["cidr"]) for b in peer["cidrs"]]
    return nets


def internet_networks(matrix):
    """The internet as CIDRs (IPv4 then IPv6): all of each address space less :func:`not_internet_networks`."""
    out = []
    excluded = not_internet_networks(matrix)
    for everything in (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")):
        left = [everything]
        for cut in ipaddress.collapse_addresses(n for n in excluded if n.version == everything.version):
            nxt = []
            for net in left:
                if cut.subnet_of(net):
                    nxt.extend(net.address_exclude(cut) if cut != net else [])
                elif not net.subnet_of(cut):
                    nxt.append(net)
            left = nxt
        out.extend(sorted(ipaddress.collapse_addresses(left)))
    return [str(n) for n in out]


def unmanaged_namespaces_selector(matrix):
    """The namespaces the guardrail applies to: not a zone's, not kube-system, not one of
    ``guards.unmanaged_exempt_namespaces``."""
    managed = {spec["namespace"] for spec in matrix["zones"].values()}
    managed.update(matrix["guards"]["unmanaged_exempt_namespaces"])
    return {"matchExpressions": [{"key": NAMESPACE_NAME_LABEL, "operator": "NotIn", "values": sorted(managed)}]}


def compile_unmanaged_internet(matrix):
    """The AdminNetworkPolicy that refuses direct internet to every pod of a namespace the matrix does not manage.

    One egress rule to the internet's networks (:func:`internet_networks`); its action is ``Deny`` with
    ``guards.unmanaged_internet: deny`` and ``Pass`` (no effect: the namespace's own NetworkPolicies decide, as
    without it) in the ``warn`` stage, so the object can be reviewed in place before it is switched on."""
    action = "Deny" if matrix["guards"]["unmanaged_internet"] == "deny" else "Pass"
    nets = internet_networks(matrix)
    peers = [{"networks": nets[i:i + ANP_NETWORKS_PER_PEER]} for i in range(0, len(nets), ANP_NETWORKS_PER_PEER)]
    return {
        "apiVersion": ANP_API_VERSION,
        "kind": "AdminNetworkPolicy",
        "metadata": _meta(UNMANAGED_INTERNET_POLICY_NAME),
        "spec": {
            "priority": UNMANAGED_INTERNET_PRIORITY,
            "subject": {"namespaces": unmanaged_namespaces_selector(matrix)},
            "egress": [{"name": "no-direct-internet", "action": action, "to": peers}],
        },
    }


#: CEL over a Pod: it uses the host's network, or a container (init, regular, ephemeral) has a hostPort.
HOST_NETWORK_USE = ("(has(object.spec.hostNetwork) && object.spec.hostNetwork) || "
                    "!(%s)" % _every_container("!has(c.ports) || c.ports.all(p, !has(p.hostPort) || p.hostPort == 0)"))


def host_network_expression(allowed):
    """CEL: the pod is off the host network, or a DaemonSet of ``allowed`` (``namespace/name``) controls it."""
    owned = ("has(object.metadata.ownerReferences) && object.metadata.ownerReferences.exists(r, "
             "r.kind == 'DaemonSet' && has(r.controller) && r.controller && "
             "(request.namespace + '/' + r.name) in [%s])" % ", ".join("'%s'" % a for a in allowed))
    return "!(%s) || (%s)" % (HOST_NETWORK_USE, owned) if allowed else "!(%s)" % HOST_NETWORK_USE


def compile_host_network_admission(matrix):
    """The ValidatingAdmissionPolicy and binding that refuse, cluster-wide, pods on the host network or with a
    hostPort (a host network pod is outside every NetworkPolicy; a hostPort opens a port on its node), except
    those a DaemonSet of ``guards.host_network_allowed`` controls.  ``guards.host_network: warn`` (the first
    stage) warns and audits, ``deny`` refuses, as for NodePorts."""
    guards = matrix["guards"]
    allowed = guards["host_network_allowed"]
    policy = _pod_admission_policy(HOST_NETWORK_POLICY_NAME, [{
        "expression": host_network_expression(allowed),
        "message": "pods on the host network or with a hostPort are allowed only when one of these "
                   "DaemonSets controls them: %s (guards.host_network_allowed, netzone.segmentation)."
                   % (", ".join(allowed) or "none"),
        "reason": "Forbidden",
    }])
    actions = ["Deny", "Audit"] if guards["host_network"] == "deny" else ["Warn", "Audit"]
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": _meta(HOST_NETWORK_POLICY_NAME),
        "spec": {"policyName": HOST_NETWORK_POLICY_NAME, "validationActions": actions},
    }
    return [policy, binding]


def compile_guardrails(matrix):
    """The cluster-wide guardrails: the AdminNetworkPolicy against direct internet from namespaces the matrix does
    not manage, then the host network admission policy and its binding."""
    return [compile_unmanaged_internet(matrix)] + compile_host_network_admission(matrix)


def ingress_name(vhost_name):
    """Stable Ingress name for a vhost (DNS-1123: dots are allowed, case folded)."""
    return "netzone-" + vhost_name.lower()


def compile_ingress(matrix, vhost):
    """One Ingress object for a normalised vhost, in its zone's namespace, with MicroK8s' ingress class."""
    namespace = matrix["zones"][vhost["zone"]]["namespace"]
    paths = []
    for entry in vhost.get("paths") or [{"path": "/"}]:
        paths.append({
            "path": entry["path"],
            "pathType": "Prefix",
            "backend": {"service": {"name": entry.get("service") or vhost["service"],
                                    "port": {"number": entry.get("port") or vhost["port"]}}},
        })
    rules = [{"host": host, "http": {"paths": copy.deepcopy(paths)}}
             for host in [vhost["name"]] + list(vhost.get("aliases") or [])]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": _meta(ingress_name(vhost["name"]), namespace, {ZONE_LABEL: vhost["zone"]}),
        "spec": {"ingressClassName": matrix["cluster"]["ingress_class"], "rules": rules},
    }


def compile_manifests(matrix):
    """Every manifest of a normalised matrix, zone by zone (namespace, allow policies, default deny), then
    the Ingress objects and the admission policy and binding."""
    out = []
    touching = {}
    for flow in matrix["flows"]:
        touching.setdefault(flow["from"], []).append(flow)
        if flow["to"] != flow["from"]:
            touching.setdefault(flow["to"], []).append(flow)
    for zone in sorted(matrix["zones"]):
        out.extend(compile_zone(matrix, zone, touching.get(zone, [])))
    for vhost in sorted(matrix["vhosts"], key=lambda v: v["name"]):
        out.append(compile_ingress(matrix, vhost))
    out.extend(compile_admission(matrix))
    out.extend(compile_ingress_pod_admission(matrix))
    out.extend(compile_guardrails(matrix))
    return out


def group_manifests(manifests, by="kind"):
    """Group manifests for writing files: ``by="kind"`` → {kind: [...]}, ``by="zone"`` → {zone or "cluster": [...]}."""
    groups = {}
    for obj in manifests:
        if by == "zone":
            key = obj["metadata"].get("labels", {}).get(ZONE_LABEL, "cluster")
        else:
            key = obj["kind"]
        groups.setdefault(key, []).append(obj)
    return groups
