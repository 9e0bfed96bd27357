# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One probe run on a live cluster: probe pods made, waited for, read, and always deleted.

Per zone namespace: a ConfigMap with the probe program, a responder pod, then (once every responder has an
address) a ConfigMap with the prober's targets and a prober pod. Everything carries the run id
(:data:`live_probe.RUN_LABEL`), ``activeDeadlineSeconds`` and ``restartPolicy: Never``, runs as non-root with no
capability, and is deleted in a ``finally`` (a run that died is bounded by the deadline; the next run of the
module deletes what an earlier one left, by the managed-by label).
"""

from __future__ import annotations

import json
import time

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import ApiError, NetzoneError
from ansible_collections.netzone.segmentation.plugins.module_utils._model import live_probe as lp

PROGRAM_KEY = "netzone_probe.py"
TARGETS_KEY = "targets.json"
PROGRAM_DIR = "/netzone"
TARGETS_DIR = "/netzone-targets"


class ProbeError(NetzoneError):
    """The run could not complete (a pod did not start or report in time); the message says which and why."""


def _labels(run_id, role):
    return {lp.MANAGED_BY[0]: lp.MANAGED_BY[1], lp.RUN_LABEL: run_id, lp.ROLE_LABEL: role}


def _pod(namespace, name, labels, image, command, volumes, deadline, ports=()):
    mounts = [{"name": v, "mountPath": path, "readOnly": True} for v, path, _cm in volumes]
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "restartPolicy": "Never", "activeDeadlineSeconds": int(deadline), "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": 0, "enableServiceLinks": False,
            "securityContext": {"runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534,
                                "seccompProfile": {"type": "RuntimeDefault"},
                                # a safe sysctl (baseline): a non-root responder may listen on ports below 1024
                                "sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}]},
            "containers": [{
                "name": "probe", "image": image, "command": command,
                "ports": [{"containerPort": p, "protocol": proto} for p, proto in ports],
                "volumeMounts": mounts, "terminationMessagePolicy": "File",
                "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}},
                "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                    "capabilities": {"drop": ["ALL"]}}}],
            "volumes": [{"name": v, "configMap": {"name": cm}} for v, _path, cm in volumes],
        }}


class ProbeRun:
    """``run()`` returns the judged results; ``transport.request(method, path, query, body)`` is the API."""

    def __init__(self, transport, matrix, program, image, run_id, timeout, probe_timeout, settle,
                 clock=time.monotonic, sleep=time.sleep):
        self.transport = transport
        self.matrix = matrix
        self.program = program
        self.image = image
        self.run_id = run_id
        self.timeout = timeout
        self.probe_timeout = probe_timeout
        self.settle = settle
        self.clock = clock
        self.sleep = sleep
        self.zones = {zone: spec["namespace"] for zone, spec in matrix["zones"].items()}
        self.deadline = None

    # -- the API --

    def _pods_path(self, namespace):
        return "/api/v1/namespaces/%s/pods" % namespace

    def _cm_path(self, namespace):
        return "/api/v1/namespaces/%s/configmaps" % namespace

    def _create_cm(self, namespace, name, role, data):
        self.transport.request("POST", self._cm_path(namespace), body={
            "apiVersion": "v1", "kind": "ConfigMap", "data": data,
            "metadata": {"name": name, "namespace": namespace, "labels": _labels(self.run_id, role)}})

    def _selector(self, run_id=None):
        sel = "%s=%s" % lp.MANAGED_BY
        return sel + (",%s=%s" % (lp.RUN_LABEL, run_id) if run_id else "")

    def cleanup(self, run_id=None):
        """Delete the run's pods and ConfigMaps in every zone namespace (every run's when ``run_id`` is None)."""
        errors = []
        for namespace in sorted(set(self.zones.values())):
            for path in (self._pods_path(namespace), self._cm_path(namespace)):
                try:
                    self.transport.request("DELETE", path, query={"labelSelector": self._selector(run_id),
                                                                  "gracePeriodSeconds": "0"})
                except ApiError as exc:
                    if exc.status != 404:
                        errors.append("%s: %s" % (path, exc))
        return errors

    def leftovers(self):
        """The probe objects (of any run) in the zone namespaces, as sorted ``"Kind namespace/name"``: what a diff
        shows before and after a run."""
        found = []
        for namespace in sorted(set(self.zones.values())):
            for kind, path in (("Pod", self._pods_path(namespace)), ("ConfigMap", self._cm_path(namespace))):
                try:
                    listing = self.transport.request("GET", path, query={"labelSelector": self._selector()})
                except ApiError as exc:
                    if exc.status == 404:      # no such namespace (yet): nothing of ours in it
                        continue
                    raise
                found.extend("%s %s/%s" % (kind, namespace, item["metadata"]["name"])
                             for item in listing.get("items") or [])
        return sorted(found)

    def diff(self, before):
        """The diff of a run (Ansible's ``before``/``after``): the probe objects ``before`` it (from
        :meth:`leftovers`) and those left now; this run's own objects, deleted before it returns, are in
        neither."""
        return {"before": {"probe_objects": before}, "after": {"probe_objects": self.leftovers()}}

    def _wait_pods(self, what, done):
        """Poll the run's pods of every zone until ``done(pods)`` returns true; ProbeError at the deadline."""
        while True:
            pods = {}
            for zone, namespace in self.zones.items():
                listing = self.transport.request("GET", self._pods_path(namespace),
                                                 query={"labelSelector": self._selector(self.run_id)})
                for pod in listing.get("items") or []:
                    pods[(zone, pod["metadata"]["labels"].get(lp.ROLE_LABEL))] = pod
            if done(pods):
                return pods
            if self.clock() >= self.deadline:
                raise ProbeError("the probe pods did not %s within %ss: %s" % (what, self.timeout, _states(pods)))
            self.sleep(1)

    # -- the run --

    def responders(self):
        ports = lp.probe_ports(self.matrix)
        tcp = ",".join(str(p) for p, proto in ports if proto == "TCP")
        udp = ",".join(str(p) for p, proto in ports if proto == "UDP")
        for zone, namespace in sorted(self.zones.items()):
            cm = "netzone-probe-%s" % self.run_id
            self._create_cm(namespace, cm, "program", {PROGRAM_KEY: self.program})
            name = "netzone-probe-%s-r" % self.run_id
            command = ["python3", "%s/%s" % (PROGRAM_DIR, PROGRAM_KEY), "respond", "--identity",
                       "%s/%s" % (namespace, name), "--tcp", tcp, "--udp", udp, "--lifetime", str(self.timeout)]
            self.transport.request("POST", self._pods_path(namespace), body=_pod(
                namespace, name, _labels(self.run_id, "responder"), self.image, command,
                [("program", PROGRAM_DIR, cm)], self.timeout, ports))

        def running(pods):
            return all((pods.get((z, "responder")) or {}).get("status", {}).get("podIP")
                       and pods[(z, "responder")]["status"].get("phase") == "Running" for z in self.zones)
        pods = self._wait_pods("run", running)
        return {z: {"namespace": self.zones[z], "name": pods[(z, "responder")]["metadata"]["name"],
                    "ip": pods[(z, "responder")]["status"]["podIP"]} for z in self.zones}

    def dns_pods(self):
        dns = self.matrix["cluster"]["dns"]
        selector = ",".join("%s=%s" % kv for kv in sorted(dns["pod_labels"].items()))
        listing = self.transport.request("GET", self._pods_path(dns["namespace"]), query={"labelSelector": selector})
        return [{"namespace": dns["namespace"], "name": p["metadata"]["name"], "ip": p["status"]["podIP"]}
                for p in listing.get("items") or []
                if (p.get("status") or {}).get("phase") == "Running" and p["status"].get("podIP")]

    def probers(self, plan):
        for zone, namespace in sorted(self.zones.items()):
            cm = "netzone-probe-%s-targets" % self.run_id
            self._create_cm(namespace, cm, "targets", {TARGETS_KEY: json.dumps(lp.wire_targets(plan[zone]))})
            name = "netzone-probe-%s-p" % self.run_id
            command = ["python3", "%s/%s" % (PROGRAM_DIR, PROGRAM_KEY), "probe", "--targets",
                       "%s/%s" % (TARGETS_DIR, TARGETS_KEY), "--result", "/dev/termination-log",
                       "--timeout", str(self.probe_timeout), "--settle", str(self.settle)]
            self.transport.request("POST", self._pods_path(namespace), body=_pod(
                namespace, name, _labels(self.run_id, "prober"), self.image, command,
                [("program", PROGRAM_DIR, "netzone-probe-%s" % self.run_id), ("targets", TARGETS_DIR, cm)],
                self.timeout))

        def finished(pods):
            return all((pods.get((z, "prober")) or {}).get("status", {}).get("phase") in ("Succeeded", "Failed")
                       for z in self.zones)
        pods = self._wait_pods("finish", finished)
        results, problems = {}, []
        for zone in sorted(self.zones):
            pod = pods[(zone, "prober")]
            state = ((pod["status"].get("containerStatuses") or [{}])[0].get("state") or {}).get("terminated") or {}
            try:
                results[zone] = lp.decode_results(state.get("message"), len(plan[zone]))
            except ValueError as exc:
                problems.append("%s/%s (%s, exit %s): %s" % (self.zones[zone], pod["metadata"]["name"],
                                                             pod["status"].get("phase"), state.get("exitCode"), exc))
        if problems:
            raise ProbeError("probe pods did not report: %s" % "; ".join(problems))
        return results

    def run(self):
        started = self.clock()
        self.deadline = started + self.timeout
        try:
            responders = self.responders()
            plan = lp.plan_probes(self.matrix, responders, self.dns_pods())
            result = lp.judge(plan, self.probers(plan))
        finally:
            errors = self.cleanup(self.run_id)
        result["seconds"] = round(self.clock() - started, 1)
        result["cleanup_errors"] = errors
        result["run_id"] = self.run_id
        return result


def _states(pods):
    return ", ".join("%s %s: %s" % (zone, role, (pod.get("status") or {}).get("phase", "?"))
                     for (zone, role), pod in sorted(pods.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))) or "none"
