# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lockout guard: before anything is applied, find the plans that would lock the platform out.

Plain Python over already-read objects (no Ansible, no I/O).  Each check returns a list of problems, each a
sentence that says what is wrong, what it would do, and what to do about it:

* ``cni`` - no policy-enforcing CNI runs (Calico and the others in :data:`POLICY_CNIS`): NetworkPolicies
  would be accepted by the API and silently ignored;
* ``ingress_host_network`` - the ingress controller runs on the host network: a namespaced NetworkPolicy
  cannot select it, so the ingress zone's policies would not protect it;
* ``dns_pods`` - no pod matches the DNS peer of the compiled policies: every zone would lose DNS;
* ``plan`` - the computed policies cut DNS from a zone, or the API server from a zone that needs it
  (evaluated with the collection's own NetworkPolicy engine over a representative cluster);
* ``load_balancers`` - the addresses the ingress zone admits and the load balancers of the inventory
  differ: a load balancer that could not reach the cluster, or an address no load balancer has (every range
  is checked, whatever its size; peers named in ``guards.ingress_exemptions`` aside);
* ``pod_security`` - pods already running in a zone namespace, and pod templates of its workloads, that the
  zone's Pod Security level refuses (or, in the ingress zone, its pod admission policy): admission control
  never looks at running pods again, so a host-network pod admitted before the labels keeps bypassing every
  NetworkPolicy, and a workload whose next pod would be refused stops being able to replace its pods;
* ``host_network`` - pods, DaemonSets and Deployments of any namespace on the host network or with a hostPort
  that the cluster-wide admission policy ``netzone-host-network`` does not admit (not controlled by a DaemonSet
  of ``guards.host_network_allowed``): in its ``deny`` stage their next pod is refused; in its ``warn`` stage
  they are reported only.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.netzone.segmentation.plugins.module_utils._model import coverage
from ansible_collections.netzone.segmentation.plugins.module_utils._model import pod_security as ps

CHECKS = ("cni", "ingress_host_network", "dns_pods", "plan", "load_balancers", "pod_security", "host_network")

#: DaemonSet name -> the policy-enforcing CNI it belongs to.
POLICY_CNIS = {
    "calico-node": "Calico",
    "canal": "Canal",
    "cilium": "Cilium",
    "kube-router": "kube-router",
    "antrea-agent": "Antrea",
    "weave-net": "Weave Net",
}


def _name(obj):
    meta = obj.get("metadata") or {}
    return "%s/%s" % (meta.get("namespace"), meta.get("name"))


def check_cni(daemonsets):
    """``daemonsets``: every DaemonSet of the cluster (all namespaces)."""
    found = [d for d in daemonsets if (d.get("metadata") or {}).get("name") in POLICY_CNIS]
    if not found:
        return ["no policy-enforcing CNI is running (looked for the DaemonSets %s): the NetworkPolicies would be "
                "accepted and silently ignored; enable Calico first (MicroK8s: it is the default CNI)"
                % ", ".join(sorted(POLICY_CNIS))]
    ready = [d for d in found if ((d.get("status") or {}).get("numberReady") or 0) > 0]
    if not ready:
        return ["%s (%s) has no ready pod: the NetworkPolicies would not be enforced until it runs"
                % (", ".join(_name(d) for d in found), ", ".join(sorted({POLICY_CNIS[d["metadata"]["name"]]
                                                                        for d in found})))]
    return []


def check_ingress_host_network(workloads, namespace):
    """``workloads``: DaemonSets and Deployments of the ingress zone's namespace."""
    problems = []
    for obj in workloads:
        if (obj.get("metadata") or {}).get("namespace") != namespace:
            continue
        pod_spec = (((obj.get("spec") or {}).get("template") or {}).get("spec") or {})
        if pod_spec.get("hostNetwork"):
            problems.append("%s %s runs on the host network: host-network pods are not selected by namespaced "
                            "NetworkPolicies, so the ingress zone %r would not protect it; run the ingress "
                            "controller with hostPort instead (MicroK8s' ingress addon does)"
                            % (obj.get("kind", "workload"), _name(obj), namespace))
    return problems


def check_dns_pods(matrix, pods):
    """``pods``: the pods of the DNS namespace."""
    dns = matrix["cluster"]["dns"]
    wanted = dns["pod_labels"]
    matching = [p for p in pods if (p.get("metadata") or {}).get("namespace") == dns["namespace"]
                and all(((p.get("metadata") or {}).get("labels") or {}).get(k) == v for k, v in wanted.items())]
    if not matching:
        return ["no pod in namespace %r has the labels %s that the DNS egress policies allow: every zone would lose "
                "DNS; enable the DNS addon or set cluster.dns.pod_labels to its labels"
                % (dns["namespace"], ", ".join("%s=%s" % kv for kv in sorted(wanted.items())))]
    return []


def api_server_zones(matrix):
    """Zones that always need the API server: the ingress zone (its controller watches Ingress objects)."""
    zones = set()
    ingress = matrix["guards"].get("ingress_zone")
    if ingress:
        zones.add(ingress)
    return zones


def check_plan(matrix, verify_result, api_peer="api_server", api_zones=None):
    """``verify_result``: :func:`verify.verify_matrix` over the computed manifests."""
    from ansible_collections.netzone.segmentation.plugins.module_utils._model.proof import DNS_ENDPOINT

    problems = []
    for mismatch in verify_result["mismatches"]:
        if mismatch["kind"] != "missing":
            continue
        if mismatch["to"] == DNS_ENDPOINT:
            problems.append("zone %r would lose DNS (%d/%s to the DNS pods is denied): %s"
                            % (mismatch["from"], mismatch["port"], mismatch["protocol"], mismatch["explanation"]))
        elif mismatch["to"] == api_peer:
            problems.append("zone %r would lose the API server (%d/%s is denied): %s"
                            % (mismatch["from"], mismatch["port"], mismatch["protocol"], mismatch["explanation"]))
    if api_peer in matrix["peers"]:
        port = matrix["cluster"]["api_server_port"]
        flows = {(f["from"], f["to"]) for f in matrix["flows"]}
        for zone in sorted(api_zones if api_zones is not None else api_server_zones(matrix)):
            if zone in matrix["zones"] and (zone, api_peer) not in flows:
                problems.append("zone %r needs the API server (port %d) but no flow opens it: add %r to the zone's "
                                "needs" % (zone, port, api_peer))
    elif api_zones:
        problems.append("zones %s need the API server, but the matrix has no peer %r"
                        % (", ".join(map(repr, sorted(api_zones))), api_peer))
    return problems


def _addresses(inventory, group):
    hosts = (inventory.get("groups") or {}).get(group) or []
    addresses = inventory.get("addresses") or {}
    out = []
    for host in hosts:
        addr = addresses.get(host, host)
        try:
            out.append((host, ipaddress.ip_address(addr)))
        except ValueError:
            out.append((host, None))
    return out


def check_load_balancers(matrix, inventory, group="loadbalancers"):
    """The peers admitted into the ingress zone vs the hosts of the inventory's load balancer group."""
    problems = []
    peers = [p for p in matrix["guards"].get("ingress_from") or [] if p in matrix["peers"]]
    hosts = _addresses(inventory or {}, group)
    if not peers:
        return problems
    if not hosts:
        return ["the inventory has no host in group %r: the load balancer addresses admitted into the ingress zone "
                "(%s) cannot be checked against real hosts" % (group, ", ".join(
                    b["cidr"] for p in peers for b in matrix["peers"][p]["cidrs"]))]
    nets = []
    for peer in peers:
        for block in matrix["peers"][peer]["cidrs"]:
            net = ipaddress.ip_network(block["cidr"], strict=False)
            excluded = [ipaddress.ip_network(e, strict=False) for e in block["except"]]
            nets.append((peer, net, excluded))
    for host, addr in hosts:
        if addr is None:
            problems.append("inventory host %r of group %r has no IP address (set ansible_host)" % (host, group))
            continue
        if not any(addr in net and not any(addr in e for e in ex) for _p, net, ex in nets):
            problems.append("load balancer %s (%s) is not admitted into the ingress zone (%s): it could not reach "
                            "the cluster" % (host, addr, ", ".join(sorted({p for p, _n, _e in nets}))))
    # Every range, whatever its size: what a peer admits beyond the load balancers' own addresses is a hole in
    # the rule "only the load balancers reach the ingress zone" (a named exemption in the matrix aside).
    exempt = {e["peer"] for e in matrix["guards"].get("ingress_exemptions") or ()}
    lb_space = coverage.networks_space([ipaddress.ip_network(a) for _h, a in hosts if a is not None])
    for peer in peers:
        if peer in exempt:
            continue
        beyond = coverage.networks(coverage.minus(coverage.peer_space(matrix["peers"][peer]), lb_space))
        if beyond:
            problems.append("peer %r admits %s into the ingress zone, where no host of inventory group %r has an "
                            "address: addresses that are not the load balancers' (narrow the peer, or name it in "
                            "guards.ingress_exemptions with its reason)"
                            % (peer, ", ".join(str(n) for n in beyond[:4]) + (", ..." if len(beyond) > 4 else ""),
                               group))
    return problems


#: The baseline checks the ingress zone's pod admission policy enforces (hostPorts: only outside the allowed ones).
INGRESS_POD_CHECKS = ("capabilities_baseline", "hostNamespaces", "hostPathVolumes", "privileged")


def _ingress_violations(spec, allowed_ports):
    """What the ingress pod admission policy (compile.compile_ingress_pod_admission) refuses in a pod spec."""
    found = [v for v in ps.evaluate("baseline", "latest", {}, spec) if v[0] in INGRESS_POD_CHECKS]
    ports = sorted({str(p.get("hostPort")) for c in ps._containers(spec)  # pylint: disable=protected-access
                    for p in c.get("ports") or [] if isinstance(p, dict)
                    and p.get("hostPort") and p.get("hostPort") not in allowed_ports})
    if ports:
        found.append(("hostPorts", "hostPort", "%s %s outside %s" % (
            "hostPort" if len(ports) == 1 else "hostPorts", ", ".join(ports),
            "guards.ingress_host_ports (%s)" % ", ".join(str(p) for p in allowed_ports))))
    return sorted(found)


def pod_security_violations(matrix, objects):
    """Pods, and pod templates of workloads, in zone namespaces that their zone's Pod Security would refuse.

    ``objects``: Pods and workloads (Deployments, DaemonSets, ...) of any namespace; others are ignored.  Each
    finding: ``{zone, namespace, kind, name, policy, violations}`` where ``policy`` is ``baseline:v1.33`` (the
    zone's enforce level) or ``netzone-ingress-pods`` (the ingress zone's admission policy) and ``violations``
    reads like the API server's refusal.  Sorted by namespace, kind and name.
    """
    zones = {spec["namespace"]: (name, spec["pod_security"]) for name, spec in matrix["zones"].items()}
    ingress = matrix["guards"].get("ingress_zone")
    allowed = matrix["guards"].get("ingress_host_ports") or []
    out = []
    for obj in objects:
        meta = obj.get("metadata") or {}
        if meta.get("namespace") not in zones:
            continue
        template = ps.pod_template(obj)
        if template is None:
            continue
        zone, settings = zones[meta["namespace"]]
        found = ps.evaluate(settings["enforce"], settings["version"], template[0], template[1])
        if found:
            out.append({"zone": zone, "namespace": meta["namespace"], "kind": obj.get("kind"), "name": meta.get("name"),
                        "policy": ps.level_version(settings["enforce"], settings["version"]),
                        "violations": ps.detail(found)})
        elif zone == ingress:
            found = _ingress_violations(template[1], allowed)
            if found:
                out.append({"zone": zone, "namespace": meta["namespace"], "kind": obj.get("kind"),
                            "name": meta.get("name"), "policy": "netzone-ingress-pods", "violations": ps.detail(found)})
    return sorted(out, key=lambda f: (f["namespace"], f["kind"] != "Pod", f["kind"], f["name"]))


def check_pod_security(matrix, objects):
    """One sentence per pod or workload of :func:`pod_security_violations`."""
    problems = []
    for finding in pod_security_violations(matrix, objects):
        if finding["kind"] == "Pod":
            what = "is running although the zone's Pod Security (%s) refuses it: %s; admission control does not look " \
                   "at running pods again, so it stays until it is removed" % (finding["policy"], finding["violations"])
        else:
            what = "has a pod template that the zone's Pod Security (%s) refuses: %s; its next pod will not be " \
                   "admitted" % (finding["policy"], finding["violations"])
        problems.append("%s %s/%s in zone %r %s (fix or remove it, or set zones.%s.pod_security)"
                        % (finding["kind"], finding["namespace"], finding["name"], finding["zone"], what,
                           finding["zone"]))
    return problems


def _uses_host_network(spec):
    if spec.get("hostNetwork"):
        return "hostNetwork"
    ports = sorted({str(p.get("hostPort")) for c in ps._containers(spec)  # pylint: disable=protected-access
                    for p in c.get("ports") or [] if isinstance(p, dict) and p.get("hostPort")})
    return "hostPort %s" % ", ".join(ports) if ports else None


def host_network_violations(matrix, objects):
    """Pods and workloads (DaemonSets, Deployments, ...) of any namespace that use the host network or a hostPort
    and that the admission policy ``netzone-host-network`` (compile.compile_host_network_admission) does not
    admit: ``{namespace, kind, name, uses}``, sorted.  A DaemonSet of ``guards.host_network_allowed``, and a pod
    it controls, are admitted."""
    allowed = set(matrix["guards"]["host_network_allowed"])
    out = []
    for obj in objects:
        meta = obj.get("metadata") or {}
        template = ps.pod_template(obj)
        if template is None:
            continue
        uses = _uses_host_network(template[1])
        if not uses:
            continue
        namespace = meta.get("namespace")
        if obj.get("kind") == "DaemonSet" and "%s/%s" % (namespace, meta.get("name")) in allowed:
            continue
        if obj.get("kind") == "Pod" and any(
                r.get("kind") == "DaemonSet" and r.get("controller") and "%s/%s" % (namespace, r.get("name")) in allowed
                for r in meta.get("ownerReferences") or [] if isinstance(r, dict)):
            continue
        out.append({"namespace": namespace, "kind": obj.get("kind"), "name": meta.get("name"), "uses": uses})
    return sorted(out, key=lambda f: (f["namespace"] or "", f["kind"] != "Pod", f["kind"] or "", f["name"] or ""))


def check_host_network(matrix, objects):
    """One sentence per finding of :func:`host_network_violations`."""
    stage = matrix["guards"]["host_network"]
    problems = []
    for finding in host_network_violations(matrix, objects):
        if finding["kind"] == "Pod":
            what = "runs with %s although netzone-host-network admits that only for the DaemonSets of " \
                   "guards.host_network_allowed; admission control does not look at running pods again, so it " \
                   "stays until it is removed" % finding["uses"]
        else:
            what = "has a pod template with %s that netzone-host-network %s" % (
                finding["uses"], "will refuse (guards.host_network: deny): its next pod will not be admitted"
                if stage == "deny" else "warns about and audits (guards.host_network: warn)")
        where = "%s/%s" % (finding["namespace"], finding["name"])
        if finding["kind"] == "DaemonSet":
            fix = "add '%s' to guards.host_network_allowed if it must stay on the host, or move it off the host" % where
        else:
            fix = "move it off the host, or run it from a DaemonSet listed in guards.host_network_allowed: the list " \
                  "admits DaemonSets only"
        problems.append("%s %s %s (%s)" % (finding["kind"], where, what, fix))
    return problems
