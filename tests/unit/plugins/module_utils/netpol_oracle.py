# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A deliberately naive NetworkPolicy v1 oracle, for tests only.

One connection at a time, read straight from the NetworkPolicy v1 API reference
(https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/) and the concepts
page (https://kubernetes.io/docs/concepts/services-networking/network-policies/): no grouping, no caching,
no index, and no code shared with ``plugins/module_utils/evaluate*.py`` or ``netpol_model.py``.  It trusts
its input (the engine validates; the oracle only answers).

    allowed(namespaces, pods, policies, src, dst, port, protocol) -> bool

``namespaces``: {name: labels}; ``pods``: [{namespace, name, labels, ip, ports}]; ``policies``: raw
NetworkPolicy dicts; ``src``/``dst``: ``"ns/name"`` or ``"ip:addr"``.
"""

from __future__ import annotations

import ipaddress


def _selector_matches(selector, labels):
    """LabelSelector: matchLabels and matchExpressions are ANDed; an empty selector matches everything."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, operator, values = expr["key"], expr["operator"], expr.get("values") or []
        if operator == "In" and not (key in labels and labels[key] in values):
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def _policy_types(spec):
    """policyTypes; when not specified: Ingress, plus Egress if the policy has any egress rule."""
    if spec.get("policyTypes"):
        return spec["policyTypes"]
    return ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]


def _in_ip_block(block, address):
    """ipBlock: inside cidr (a cidr with host bits set means its network) and outside every except."""
    if address is None:
        return False
    ip = ipaddress.ip_address(address)
    cidr = ipaddress.ip_network(block["cidr"], strict=False)
    if ip.version != cidr.version or ip not in cidr:
        return False
    for exc in block.get("except") or []:
        if ip in ipaddress.ip_network(exc, strict=False):
            return False
    return True


def _peer_matches(peer, policy_namespace, other, namespaces):
    """NetworkPolicyPeer: ipBlock alone; or namespaceSelector and/or podSelector (ANDed).  podSelector alone
    selects pods in the policy's namespace; a selector never matches an address outside the cluster."""
    if "ipBlock" in peer and peer["ipBlock"] is not None:
        return _in_ip_block(peer["ipBlock"], other["ip"])
    if other["pod"] is None:
        return False
    pod = other["pod"]
    if peer.get("namespaceSelector") is not None:
        if not _selector_matches(peer["namespaceSelector"], namespaces[pod["namespace"]]):
            return False
    elif pod["namespace"] != policy_namespace:
        return False
    if peer.get("podSelector") is not None:
        return _selector_matches(peer["podSelector"], pod.get("labels") or {})
    return True


def _port_matches(entry, port, protocol, dst):
    """NetworkPolicyPort: protocol (default TCP); no port = every port; a number, up to endPort inclusive;
    a name = a container port of the destination pod with that name and protocol."""
    if (entry.get("protocol") or "TCP") != protocol:
        return False
    if entry.get("port") is None:
        return True
    if isinstance(entry["port"], str):
        if dst["pod"] is None:
            return False
        for cport in dst["pod"].get("ports") or []:
            if (cport.get("name") == entry["port"] and (cport.get("protocol") or "TCP") == protocol
                    and cport["containerPort"] == port):
                return True
        return False
    if entry.get("endPort") is not None:
        return entry["port"] <= port <= entry["endPort"]
    return entry["port"] == port


def _side_allows(direction, subject, other, port, protocol, dst, namespaces, policies):
    """Is the connection allowed at ``subject`` (the source for egress, the destination for ingress)?
    ``policies``: the policies of the subject's namespace."""
    if subject["pod"] is None:
        return True  # an address outside the cluster has no policy
    pod = subject["pod"]
    kind = "Ingress" if direction == "ingress" else "Egress"
    isolated = False
    for policy in policies:
        spec = policy.get("spec") or {}
        if kind not in _policy_types(spec):
            continue
        if not _selector_matches(spec.get("podSelector"), pod.get("labels") or {}):
            continue
        isolated = True
        for rule in spec.get(direction) or []:
            peers = rule.get("from" if direction == "ingress" else "to") or []
            if peers and not any(_peer_matches(p, pod["namespace"], other, namespaces) for p in peers):
                continue
            ports = rule.get("ports") or []
            if ports and not any(_port_matches(e, port, protocol, dst) for e in ports):
                continue
            return True
    return not isolated


class Oracle(object):
    """The cluster state, looked up by name only: pods by ``ns/name``, policies by namespace."""

    def __init__(self, namespaces, pods, policies):
        self.namespaces = namespaces
        self.pods = dict(("%s/%s" % (p["namespace"], p["name"]), p) for p in pods)
        self.policies = {}
        for policy in policies:
            self.policies.setdefault(policy["metadata"]["namespace"], []).append(policy)

    def _endpoint(self, text):
        if text.startswith("ip:"):
            return {"pod": None, "ip": text[3:]}
        pod = self.pods[text]
        return {"pod": pod, "ip": pod.get("ip") or None}

    def allowed(self, src, dst, port, protocol="TCP"):
        """The verdict for one new connection: egress allowed at the source and ingress at the destination."""
        source, target = self._endpoint(src), self._endpoint(dst)
        src_pols = self.policies.get(source["pod"]["namespace"], []) if source["pod"] else []
        dst_pols = self.policies.get(target["pod"]["namespace"], []) if target["pod"] else []
        return (_side_allows("egress", source, target, port, protocol, target, self.namespaces, src_pols)
                and _side_allows("ingress", target, source, port, protocol, target, self.namespaces, dst_pols))

    def side_allowed(self, side, src, dst, port, protocol="TCP"):
        """One side alone, the other taken as allowing everything: ``egress`` at the source or ``ingress``
        at the destination."""
        source, target = self._endpoint(src), self._endpoint(dst)
        if side == "egress":
            pols = self.policies.get(source["pod"]["namespace"], []) if source["pod"] else []
            return _side_allows("egress", source, target, port, protocol, target, self.namespaces, pols)
        pols = self.policies.get(target["pod"]["namespace"], []) if target["pod"] else []
        return _side_allows("ingress", target, source, port, protocol, target, self.namespaces, pols)


def allowed(namespaces, pods, policies, src, dst, port, protocol="TCP"):
    """One verdict without keeping the lookup tables."""
    return Oracle(namespaces, pods, policies).allowed(src, dst, port, protocol)
