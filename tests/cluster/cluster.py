#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real single-node Kubernetes control plane and a real policy dataplane, on loopback and in network namespaces.

    etcd                     127.0.0.1:23790 (peer 23800), data in the state directory
    kube-apiserver           https://127.0.0.1:26443, RBAC, a static token for the tests, service-account keys
    kube-controller-manager  namespace, garbage collector, service accounts (and their tokens), endpoint slices,
                             the ValidatingAdmissionPolicy type checker (status.typeChecking)
    node namespace nzc-node  kube-proxy (iptables mode) and the policy engine (kube-router's network policy
                             controller), each started with ``ip netns exec`` so that they program that
                             namespace's netfilter, never the machine's; a relay in that namespace forwards
                             127.0.0.1:26443 to the API server (both ends are sockets of one process)
    pods                     the agent binds unscheduled pods to node1 (a one-node scheduler) and plays the
                             kubelet: for each Pod bound to node1 a namespace nzc-p<hash>,
                             the host-side veth named as Calico names it (cali + sha1(namespace.pod)[:11]),
                             the pod address, routes and proxy ARP as Calico's CNI plugin sets them, a
                             responder on the container ports, status Running/Ready with the podIP
    peers                    namespaces nzc-<name> on documentation ranges, attached to the node namespace like
                             pods (a /32 and a link route), with no default route

Every process is started by this module, its PID written to the state directory, and stopped by that PID;
every namespace is named nzc-* and removed by :meth:`Cluster.stop`, also after a failed start.

CLI: ``cluster.py start [--for SECONDS]`` runs in the foreground (the pod agent is a thread of it) and stops
everything on Ctrl-C, SIGTERM or after SECONDS (default 3600); ``cluster.py stop`` cleans up after a killed run
(processes by their recorded PIDs, nzc-* namespaces); ``cluster.py status`` lists both.
"""

from __future__ import annotations

import argparse
import base64
import ctypes
import fcntl
import hashlib
import ipaddress
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PODNET = HERE / "podnet.py"
DEFAULT_STATE = Path(os.environ.get("NETZONE_CLUSTER_STATE", "/var/tmp/netzone-cluster"))

ETCD_PORT, ETCD_PEER_PORT, API_PORT = 23790, 23800, 26443
NODE = "node1"
NODE_NS = "nzc-node"
NODE_IP = "198.51.100.1"        # the Node's InternalIP (on the node namespace's loopback)
POD_CIDR = "10.1.0.0/16"        # MicroK8s' defaults
SERVICE_CIDR = "10.152.183.0/24"
DNS_SERVICE_IP = "10.152.183.10"
GATEWAY = "169.254.1.1"         # Calico's dummy next hop inside every workload namespace
CALICO_MAC = "ee:ee:ee:ee:ee:ee"
NS_PREFIX = "nzc-"
#: Held (flock) by the running harness: only one runs per machine (fixed ports, nzc-* namespaces).
LOCK_FILE = "/var/tmp/netzone-cluster.lock"
#: The test user's writes, as the API server's audit log records them (tests count the writes of a run there).
AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": ["RequestReceived"],
    "rules": [{"level": "Metadata", "users": ["netzone-test-admin"],
               "verbs": ["create", "update", "patch", "delete", "deletecollection"]},
              {"level": "None"}],
}
#: With ``Cluster(audit_reads=True)`` (the benchmarks count every request of a run): the test user's reads too.
AUDIT_POLICY_ALL = dict(AUDIT_POLICY, rules=[{"level": "Metadata", "users": ["netzone-test-admin"]}, {"level": "None"}])


# ip, iptables-save, ipset and sysctl live in the sbin directories, which a non-login PATH may lack; the
# processes started from here (kube-proxy, kube-router) inherit this PATH.
for _sbin in ("/usr/sbin", "/sbin"):
    if _sbin not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.environ.get("PATH", "") + os.pathsep + _sbin


class ClusterError(RuntimeError):
    pass


# --- small helpers -------------------------------------------------------------------------------------------

def run(cmd: list[str], check: bool = True, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, **kw)
    if check and proc.returncode != 0:
        raise ClusterError("%s: exit %d: %s" % (" ".join(cmd), proc.returncode, (proc.stderr or proc.stdout).strip()))
    return proc


def nsexec(ns: str, cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return run(["ip", "netns", "exec", ns, *cmd], **kw)


def veth_name(namespace: str, pod: str) -> str:
    """The host-side interface name Calico gives a pod (libcalico-go VethNameForWorkload)."""
    return "cali" + hashlib.sha1(("%s.%s" % (namespace, pod)).encode()).hexdigest()[:11]


def netns_list() -> list[str]:
    out = run(["ip", "netns", "list"], check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_pid(pid: int, grace: float = 10) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; only the PID given."""
    if not pid_alive(pid):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            done, _status = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                return
        except ChildProcessError:
            if not pid_alive(pid):
                return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


# --- the relay: 127.0.0.1:API_PORT in the node namespace -> 127.0.0.1:API_PORT on the machine ----------------

def relay_main(ns: str, port: int) -> None:
    """Listen on 127.0.0.1:port inside ``ns`` and forward every connection to 127.0.0.1:port here."""
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open("/run/netns/%s" % ns, os.O_RDONLY)
    _setns(target)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(128)
    _setns(own)

    def pump(a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    while True:
        conn, _addr = srv.accept()
        try:
            up = socket.create_connection(("127.0.0.1", port), timeout=5)
            up.settimeout(None)
        except OSError:
            conn.close()
            continue
        threading.Thread(target=pump, args=(conn, up), daemon=True).start()
        threading.Thread(target=pump, args=(up, conn), daemon=True).start()


# --- the API client -----------------------------------------------------------------------------------------

class Api:
    """A minimal JSON client for the test token (urllib, CA-verified)."""

    def __init__(self, url: str, token: str, ca: Path):
        self.url, self.token = url, token
        self.ctx = ssl.create_default_context(cafile=str(ca))

    def request(self, method: str, path: str, body=None, content_type: str = "application/json", timeout: float = 15):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + self.token)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=timeout) as resp:
                raw = resp.read()
                try:
                    return resp.status, (json.loads(raw) if raw else {})
                except ValueError:
                    return resp.status, {"text": raw.decode(errors="replace")}
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                return exc.code, json.loads(raw)
            except ValueError:
                return exc.code, {"message": raw.decode(errors="replace")}

    def ok(self, method: str, path: str, body=None, **kw):
        status, obj = self.request(method, path, body, **kw)
        if status >= 300:
            raise ClusterError("%s %s: %d %s" % (method, path, status, obj.get("message", obj)))
        return obj

    def apply(self, path: str, obj: dict):
        """Create, or replace if it exists (``path`` is the collection path)."""
        status, got = self.request("POST", path, obj)
        if status == 409:
            name = obj["metadata"]["name"]
            _s, cur = self.request("GET", "%s/%s" % (path, name))
            obj = dict(obj, metadata=dict(obj["metadata"], resourceVersion=cur["metadata"]["resourceVersion"]))
            return self.ok("PUT", "%s/%s" % (path, name), obj)
        if status >= 300:
            raise ClusterError("POST %s: %d %s" % (path, status, got.get("message", got)))
        return got


# --- the cluster --------------------------------------------------------------------------------------------

class Cluster:
    def __init__(self, state: Path = DEFAULT_STATE, bindir: Path | None = None, audit_reads: bool = False):
        self.state = Path(state)
        self.audit_reads = audit_reads  # the audit log records the test user's reads as well as its writes
        self.bindir = Path(bindir) if bindir else None
        self.token = None
        self.api: Api | None = None
        self._agent_stop = threading.Event()
        self._agent: threading.Thread | None = None
        self.pods: dict[tuple[str, str], dict] = {}  # (ns, name) -> {"netns", "veth", "ip", "pid"}
        self._next_ip = 2
        self.agent_errors: list[str] = []
        self._lock = None
        self.procs: dict[str, subprocess.Popen] = {}

    # -- paths and processes --

    @property
    def kubeconfig(self) -> Path:
        return self.state / "kubeconfig"

    @property
    def audit_log(self) -> Path:
        """The API server's audit log: one JSON line per write of the test user (AUDIT_POLICY)."""
        return self.state / "audit.log"

    @property
    def ca(self) -> Path:
        return self.state / "pki" / "ca.crt"

    def _pidfile(self, name: str) -> Path:
        return self.state / "pids" / name

    def spawn(self, name: str, cmd: list[str], netns: str | None = None, env: dict | None = None) -> int:
        (self.state / "pids").mkdir(parents=True, exist_ok=True)
        (self.state / "logs").mkdir(parents=True, exist_ok=True)
        if netns:
            cmd = ["ip", "netns", "exec", netns, *cmd]
        log = open(self.state / "logs" / (name + ".log"), "ab")  # pylint: disable=consider-using-with
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env=env)
        log.close()
        self._pidfile(name).write_text(str(proc.pid))
        self.procs[name] = proc  # kept: its exit status is read with poll() (the pod agent's finished pods)
        return proc.pid

    def stop_process(self, name: str) -> None:
        pidfile = self._pidfile(name)
        if pidfile.exists():
            stop_pid(int(pidfile.read_text()))
            pidfile.unlink()

    def wait_for(self, what: str, check, timeout: float = 60, interval: float = 0.3, proc: str | None = None):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                got = check()
                if got:
                    return got
            except Exception as exc:  # pylint: disable=broad-except
                last = exc
            if proc and not pid_alive(int(self._pidfile(proc).read_text())):
                raise ClusterError("%s exited while waiting for %s; see %s" % (proc, what, self.state / "logs" / (proc + ".log")))
            time.sleep(interval)
        raise ClusterError("timed out after %ss waiting for %s%s" % (timeout, what, (": %s" % last) if last else ""))

    # -- certificates and credentials --

    def _pki(self) -> None:
        pki = self.state / "pki"
        pki.mkdir(parents=True, exist_ok=True)
        ossl = ["openssl"]
        run(ossl + ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=netzone-test-ca",
                    "-keyout", str(pki / "ca.key"), "-out", str(pki / "ca.crt"),
                    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        run(ossl + ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=kube-apiserver",
                    "-keyout", str(pki / "apiserver.key"), "-out", str(pki / "apiserver.csr")])
        ext = pki / "apiserver.ext"
        ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc,IP:10.152.183.1\n"
                       "extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n")
        run(ossl + ["x509", "-req", "-in", str(pki / "apiserver.csr"), "-CA", str(pki / "ca.crt"), "-CAkey",
                    str(pki / "ca.key"), "-CAcreateserial", "-days", "2", "-extfile", str(ext),
                    "-out", str(pki / "apiserver.crt")])
        run(ossl + ["genrsa", "-out", str(pki / "sa.key"), "2048"])
        run(ossl + ["rsa", "-in", str(pki / "sa.key"), "-pubout", "-out", str(pki / "sa.pub")])
        tokens = {name: base64.b32encode(os.urandom(20)).decode().lower() for name in
                  ("admin", "harness", "controller-manager", "kube-proxy", "policy")}
        (pki / "tokens.csv").write_text("\n".join([
            # The tests' identity (the kubeconfig): the audit log records its writes (AUDIT_POLICY).
            '%s,netzone-test-admin,uid-admin,"system:masters"' % tokens["admin"],
            # The harness's own (bootstrap, the pod agent's status updates): kept out of the tests' write counts.
            '%s,netzone-harness,uid-harness,"system:masters"' % tokens["harness"],
            "%s,system:kube-controller-manager,uid-kcm" % tokens["controller-manager"],
            "%s,system:kube-proxy,uid-kube-proxy" % tokens["kube-proxy"],
            # kube-router ships its own ClusterRole; the harness grants the equivalent (see _policy_rbac).
            "%s,system:serviceaccount:kube-system:kube-router,uid-kube-router" % tokens["policy"],
        ]) + "\n")
        os.chmod(pki / "tokens.csv", 0o600)
        for name, token in tokens.items():
            self._write_kubeconfig(self.state / ("kubeconfig" if name == "admin" else "%s.kubeconfig" % name), token)
        self.token = tokens["harness"]

    def _write_kubeconfig(self, path: Path, token: str) -> None:
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "netzone-test",
            "clusters": [{"name": "netzone-test", "cluster": {"server": "https://127.0.0.1:%d" % API_PORT,
                                                              "certificate-authority": str(self.ca)}}],
            "users": [{"name": "netzone-test", "user": {"token": token}}],
            "contexts": [{"name": "netzone-test", "context": {"cluster": "netzone-test", "user": "netzone-test"}}],
        }, indent=1) + "\n")
        os.chmod(path, 0o600)

    # -- start --

    def busy(self) -> str:
        """Why another harness seems to hold the machine's one slot ('' when free): the lock, a port, a namespace."""
        for port in (ETCD_PORT, ETCD_PEER_PORT, API_PORT):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return "127.0.0.1:%d is already in use (another harness running? `%s stop`)" % (port, __file__)
        leftovers = [n for n in netns_list() if n.startswith(NS_PREFIX)]
        if leftovers:
            return "network namespaces %s are left from an earlier run: run `%s stop`" % (leftovers, __file__)
        return ""

    def _take_lock(self, wait: float) -> None:
        """One harness per machine (fixed ports, nzc-* namespaces): hold LOCK_FILE while running, and wait up to
        ``wait`` seconds for the lock, the ports and the namespaces to be free (another run's, never ended here)."""
        deadline = time.monotonic() + wait
        self._lock = open(LOCK_FILE, "a+", encoding="utf-8")  # pylint: disable=consider-using-with
        said = False
        while True:
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                why = self.busy()
                if not why:
                    return
                fcntl.flock(self._lock, fcntl.LOCK_UN)
            except BlockingIOError:
                why = "another harness holds %s" % LOCK_FILE
            if time.monotonic() >= deadline:
                self._lock.close()
                self._lock = None
                raise ClusterError(why + ("" if not wait else " (waited %ds)" % wait))
            if not said:
                print("waiting (at most %ds) for the harness slot: %s" % (wait, why), flush=True)
                said = True
            time.sleep(5)

    def start(self, wait: float = 0) -> "Cluster":
        if self.bindir is None:
            raise ClusterError("no binary directory (run tools/build_cluster.py)")
        self._take_lock(wait)
        if self.state.exists():
            subprocess.run(["rm", "-rf", str(self.state)], check=True)
        self.state.mkdir(parents=True)
        t0 = time.monotonic()
        try:
            self._pki()
            self._start_control_plane()
            self._bootstrap_objects()
            self._start_node()
            self.start_agent()
        except BaseException:
            self.stop()
            raise
        self.start_seconds = round(time.monotonic() - t0, 1)
        (self.state / "started").write_text(json.dumps({"seconds": self.start_seconds}))
        return self

    def _start_control_plane(self) -> None:
        b = self.bindir
        pki = self.state / "pki"
        policy = AUDIT_POLICY_ALL if self.audit_reads else AUDIT_POLICY
        (self.state / "audit-policy.json").write_text(json.dumps(policy, indent=1) + "\n")
        self.spawn("etcd", [str(b / "etcd"), "--name", "netzone-test", "--data-dir", str(self.state / "etcd"),
                            "--listen-client-urls", "http://127.0.0.1:%d" % ETCD_PORT,
                            "--advertise-client-urls", "http://127.0.0.1:%d" % ETCD_PORT,
                            "--listen-peer-urls", "http://127.0.0.1:%d" % ETCD_PEER_PORT,
                            "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % ETCD_PEER_PORT,
                            "--initial-cluster", "netzone-test=http://127.0.0.1:%d" % ETCD_PEER_PORT,
                            "--unsafe-no-fsync", "--log-level", "warn"])
        self.wait_for("etcd", lambda: urllib.request.urlopen(
            "http://127.0.0.1:%d/health" % ETCD_PORT, timeout=2).status == 200, 60, proc="etcd")
        self.spawn("kube-apiserver", [
            str(b / "kube-apiserver"),
            "--etcd-servers", "http://127.0.0.1:%d" % ETCD_PORT,
            "--bind-address", "127.0.0.1", "--secure-port", str(API_PORT), "--advertise-address", "127.0.0.1",
            "--endpoint-reconciler-type", "none",
            "--tls-cert-file", str(pki / "apiserver.crt"), "--tls-private-key-file", str(pki / "apiserver.key"),
            "--client-ca-file", str(pki / "ca.crt"),
            "--token-auth-file", str(pki / "tokens.csv"), "--authorization-mode", "RBAC",
            "--service-account-issuer", "https://kubernetes.default.svc",
            "--service-account-key-file", str(pki / "sa.pub"),
            "--service-account-signing-key-file", str(pki / "sa.key"),
            "--service-cluster-ip-range", SERVICE_CIDR, "--allow-privileged=true",
            "--enable-priority-and-fairness=false", "--profiling=false",
            "--audit-policy-file", str(self.state / "audit-policy.json"), "--audit-log-path", str(self.audit_log),
            "--audit-log-format", "json", "--audit-log-mode", "blocking",
            "--cert-dir", str(pki), "--v", "1"])
        self.api = Api("https://127.0.0.1:%d" % API_PORT, self.token, self.ca)
        self.wait_for("kube-apiserver /readyz", lambda: self.api.request("GET", "/readyz")[0] == 200, 120,
                      interval=0.5, proc="kube-apiserver")
        self.spawn("kube-controller-manager", [
            str(b / "kube-controller-manager"),
            "--kubeconfig", str(self.state / "controller-manager.kubeconfig"),
            "--controllers", "namespace,garbagecollector,serviceaccount,serviceaccount-token,endpointslice,"
            # type-checks every ValidatingAdmissionPolicy and writes status.typeChecking (without it, no warning)
            "validatingadmissionpolicy-status-controller",
            "--service-account-private-key-file", str(pki / "sa.key"), "--root-ca-file", str(pki / "ca.crt"),
            "--use-service-account-credentials=true", "--leader-elect=false", "--secure-port", "0",
            "--profiling=false", "--v", "1"])
        self.wait_for("the default ServiceAccount", lambda: self.api.request(
            "GET", "/api/v1/namespaces/default/serviceaccounts/default")[0] == 200, 60, proc="kube-controller-manager")

    def _bootstrap_objects(self) -> None:
        api = self.api
        api.apply("/api/v1/nodes", {
            "apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE, "labels": {
                "kubernetes.io/hostname": NODE, "kubernetes.io/os": "linux"}},
            "spec": {"podCIDR": "10.1.0.0/24", "podCIDRs": ["10.1.0.0/24"]}})
        node_status = {"status": {
            "addresses": [{"type": "InternalIP", "address": NODE_IP}, {"type": "Hostname", "address": NODE}],
            "conditions": [{"type": "Ready", "status": "True", "reason": "NetzoneHarness",
                            "lastHeartbeatTime": _now(), "lastTransitionTime": _now()}]}}
        api.ok("PATCH", "/api/v1/nodes/%s/status" % NODE, node_status, content_type="application/merge-patch+json")
        self._policy_rbac()
        api.apply("/api/v1/namespaces/kube-system/services", {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "kube-dns", "namespace": "kube-system",
                                                                "labels": {"k8s-app": "kube-dns"}},
            "spec": {"clusterIP": DNS_SERVICE_IP, "selector": {"k8s-app": "kube-dns"},
                     "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                               {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53}]}})

    def _policy_rbac(self) -> None:
        """The ClusterRole kube-router's own manifest grants its service account (network policy part)."""
        api = self.api
        api.apply("/apis/rbac.authorization.k8s.io/v1/clusterroles", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "kube-router"},
            "rules": [
                {"apiGroups": [""], "resources": ["namespaces", "pods", "services", "nodes", "endpoints"],
                 "verbs": ["list", "get", "watch"]},
                {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["list", "get", "watch"]},
                {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "get", "watch"]},
                {"apiGroups": ["extensions"], "resources": ["networkpolicies"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "update"]},
                {"apiGroups": [""], "resources": ["services/status"], "verbs": ["update"]},
            ]})
        api.apply("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "kube-router"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "kube-router"},
            "subjects": [{"kind": "User", "name": "system:serviceaccount:kube-system:kube-router"}]})

    def _start_node(self) -> None:
        run(["ip", "netns", "add", NODE_NS])
        nsexec(NODE_NS, ["ip", "link", "set", "lo", "up"])
        nsexec(NODE_NS, ["ip", "addr", "add", NODE_IP + "/32", "dev", "lo"])  # no dummy driver in this kernel
        # Calico's hosts answer the workloads' ARP for 169.254.1.1 by proxy ARP because they have a default
        # route; the node namespace has none (nothing may leave it), so the gateway address is local instead.
        nsexec(NODE_NS, ["ip", "addr", "add", GATEWAY + "/32", "dev", "lo"])
        for key, val in (("net.ipv4.ip_forward", "1"), ("net.ipv4.conf.all.rp_filter", "0"),
                         ("net.ipv4.conf.default.rp_filter", "0")):
            nsexec(NODE_NS, ["sysctl", "-qw", "%s=%s" % (key, val)])
        self.spawn("relay", [sys.executable, __file__, "_relay", NODE_NS, str(API_PORT)])
        self.wait_for("the relay in %s" % NODE_NS, lambda: nsexec(
            NODE_NS, ["python3", "-c", "import socket; socket.create_connection(('127.0.0.1', %d), 2)" % API_PORT],
            check=False).returncode == 0, 30, proc="relay")
        b = self.bindir
        self.spawn("kube-proxy", [
            str(b / "kube-proxy"), "--kubeconfig", str(self.state / "kube-proxy.kubeconfig"),
            "--hostname-override", NODE, "--proxy-mode", "iptables", "--cluster-cidr", POD_CIDR,
            "--conntrack-max-per-core", "0", "--conntrack-tcp-timeout-established", "0",
            "--conntrack-tcp-timeout-close-wait", "0",
            "--healthz-bind-address", "127.0.0.1:10256", "--metrics-bind-address", "127.0.0.1:10249", "--v", "1"],
            netns=NODE_NS)
        self.spawn("kube-router", [
            str(b / "kube-router"), "--kubeconfig", str(self.state / "policy.kubeconfig"),
            "--hostname-override", NODE, "--run-firewall=true", "--run-router=false", "--run-service-proxy=false",
            "--enable-cni=false", "--enable-ipv4=true", "--enable-ipv6=false",
            "--service-cluster-ip-range", SERVICE_CIDR,
            "--iptables-sync-period", "5m", "--health-port", "20244", "--metrics-port", "0", "--v", "1"],
            netns=NODE_NS)
        self.wait_for("kube-proxy's KUBE-SERVICES chain", lambda: "KUBE-SERVICES" in nsexec(
            NODE_NS, ["iptables-save", "-t", "nat"], check=False).stdout, 60, proc="kube-proxy")
        self.wait_for("kube-router's KUBE-ROUTER-FORWARD chain", lambda: "KUBE-ROUTER-FORWARD" in nsexec(
            NODE_NS, ["iptables-save", "-t", "filter"], check=False).stdout, 60, proc="kube-router")
        # The policy engine's DaemonSet, as the platform guard looks for it (status set from the running process).
        self.api.apply("/apis/apps/v1/namespaces/kube-system/daemonsets", {
            "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "kube-router", "namespace": "kube-system"},
            "spec": {"selector": {"matchLabels": {"k8s-app": "kube-router"}}, "template": {
                "metadata": {"labels": {"k8s-app": "kube-router"}},
                "spec": {"hostNetwork": True, "serviceAccountName": "kube-router",
                         "containers": [{"name": "kube-router", "image": "docker.io/cloudnativelabs/kube-router"}]}}}})
        self.api.ok("PATCH", "/apis/apps/v1/namespaces/kube-system/daemonsets/kube-router/status", {"status": {
            "currentNumberScheduled": 1, "desiredNumberScheduled": 1, "numberAvailable": 1, "numberReady": 1,
            "numberMisscheduled": 0, "updatedNumberScheduled": 1, "observedGeneration": 1}},
            content_type="application/merge-patch+json")

    # -- peers --

    def add_peer(self, name: str, address: str, tcp: list[int] = (), udp: list[int] = ()) -> str:
        """A namespace nzc-<name> holding ``address``/32, linked to the node namespace, no default route."""
        ns = NS_PREFIX + name
        host_if = ("nzx" + hashlib.sha1(name.encode()).hexdigest())[:15]
        self._attach(ns, host_if, address)
        if tcp or udp:
            self.spawn("peer-" + name, [sys.executable, str(PODNET), "respond", "peer/%s" % name,
                                        "--tcp", ",".join(map(str, tcp)), "--udp", ",".join(map(str, udp))], netns=ns)
        return ns

    def _attach(self, ns: str, host_if: str, address: str, default_route: bool = False) -> None:
        """Calico's workload wiring: veth, /32 in the namespace, 169.254.1.1 on link, proxy ARP host side."""
        ipaddress.ip_address(address)
        run(["ip", "netns", "add", ns])
        nsexec(ns, ["ip", "link", "set", "lo", "up"])
        run(["ip", "link", "add", host_if, "netns", NODE_NS, "type", "veth", "peer", "name", "eth0", "netns", ns])
        nsexec(NODE_NS, ["ip", "link", "set", host_if, "address", CALICO_MAC])
        for key, val in (("proxy_arp", "1"), ("forwarding", "1"), ("rp_filter", "0")):
            nsexec(NODE_NS, ["sysctl", "-qw", "net.ipv4.conf.%s.%s=%s" % (host_if, key, val)])
        nsexec(NODE_NS, ["sysctl", "-qw", "net.ipv4.neigh.%s.proxy_delay=0" % host_if])
        nsexec(NODE_NS, ["ip", "link", "set", host_if, "up"])
        nsexec(NODE_NS, ["ip", "route", "add", address + "/32", "dev", host_if, "scope", "link"])
        nsexec(ns, ["ip", "addr", "add", address + "/32", "dev", "eth0"])
        nsexec(ns, ["ip", "link", "set", "eth0", "up"])
        nsexec(ns, ["ip", "route", "add", GATEWAY, "dev", "eth0", "scope", "link"])
        if default_route:
            nsexec(ns, ["ip", "route", "add", "default", "via", GATEWAY, "dev", "eth0"])
        else:
            # Peers: only the cluster's ranges and the node, never a default route.
            for dst in (POD_CIDR, SERVICE_CIDR, NODE_IP + "/32"):
                nsexec(ns, ["ip", "route", "add", dst, "via", GATEWAY, "dev", "eth0", "onlink"])

    # -- the agent (the kubelet's part) --

    def start_agent(self) -> None:
        self._agent_stop.clear()
        self._agent = threading.Thread(target=self._agent_loop, name="pod-agent", daemon=True)
        self._agent.start()

    def _agent_loop(self) -> None:
        while not self._agent_stop.is_set():
            try:
                self.sync_pods()
            except Exception as exc:  # pylint: disable=broad-except
                self.agent_errors.append(str(exc))
            self._agent_stop.wait(0.5)

    def sync_pods(self) -> None:
        self._schedule()
        _s, pods = self.api.request("GET", "/api/v1/pods?fieldSelector=spec.nodeName%3D" + NODE)
        self._reap_pods()
        seen = set()
        for pod in pods.get("items", []):
            meta = pod["metadata"]
            key = (meta["namespace"], meta["name"])
            seen.add(key)
            if meta.get("deletionTimestamp"):
                self._pod_down(key)
                self.api.request("DELETE", "/api/v1/namespaces/%s/pods/%s" % key,
                                 {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0})
                continue
            if key not in self.pods:
                self._pod_up(pod)
        for key in list(self.pods):
            if key not in seen:
                self._pod_down(key)

    def _pod_up(self, pod: dict) -> None:
        meta = pod["metadata"]
        key = (meta["namespace"], meta["name"])
        ip = str(ipaddress.ip_network("10.1.0.0/24")[self._next_ip])
        self._next_ip += 1
        ns = NS_PREFIX + "p" + hashlib.sha1(("%s.%s" % key).encode()).hexdigest()[:10]
        veth = veth_name(*key)
        self._attach(ns, veth, ip, default_route=True)
        tcp, udp = set(), set()
        for c in pod["spec"].get("containers", []):
            for p in c.get("ports", []) or []:
                (udp if p.get("protocol") == "UDP" else tcp).add(int(p["containerPort"]))
        command, term_file = self._pod_command(pod, key)
        if command is None:
            command = [sys.executable, str(PODNET), "respond", "%s/%s" % key,
                       "--tcp", ",".join(map(str, sorted(tcp))), "--udp", ",".join(map(str, sorted(udp)))]
        pid = self.spawn("pod-%s-%s" % key, command, netns=ns)
        deadline = pod["spec"].get("activeDeadlineSeconds")
        self.pods[key] = {"netns": ns, "veth": veth, "ip": ip, "pid": pid, "term_file": term_file,
                          "deadline": time.monotonic() + deadline if deadline else None, "done": False,
                          "container": (pod["spec"].get("containers") or [{}])[0].get("name", "")}
        containers = [{"name": c["name"], "ready": True, "restartCount": 0, "image": c.get("image", ""),
                       "imageID": "", "started": True, "state": {"running": {"startedAt": _now()}}}
                      for c in pod["spec"].get("containers", [])]
        status = {"status": {
            "phase": "Running", "hostIP": NODE_IP, "hostIPs": [{"ip": NODE_IP}], "podIP": ip, "podIPs": [{"ip": ip}],
            "startTime": _now(), "containerStatuses": containers,
            "conditions": [{"type": t, "status": "True", "lastTransitionTime": _now()}
                           for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")]}}
        self.api.ok("PATCH", "/api/v1/namespaces/%s/pods/%s/status" % key, status,
                    content_type="application/merge-patch+json")

    def _schedule(self) -> None:
        """The scheduler's part, for one node: bind every pod that has no node yet to node1 (pods/binding)."""
        _s, pending = self.api.request("GET", "/api/v1/pods?fieldSelector=spec.nodeName%3D")
        for pod in pending.get("items", []):
            meta = pod["metadata"]
            if meta.get("deletionTimestamp"):
                continue
            self.api.request("POST", "/api/v1/namespaces/%s/pods/%s/binding" % (meta["namespace"], meta["name"]), {
                "apiVersion": "v1", "kind": "Binding", "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
                "target": {"apiVersion": "v1", "kind": "Node", "name": NODE}})

    def _pod_command(self, pod: dict, key) -> tuple:
        """The container's own command, when it is a Python program from one of the pod's ConfigMap volumes (the
        verify role's probe pods): the ConfigMaps are written under the state directory, the paths under their
        mount points (and the termination message path) mapped there, and the program run with this Python inside
        the pod's namespace, as a kubelet would run it in the container. Anything else gets the responder:
        ``(None, None)``."""
        spec = pod["spec"]
        container = (spec.get("containers") or [{}])[0]
        command = list(container.get("command") or []) + list(container.get("args") or [])
        if len(command) < 2 or command[0] not in ("python3", "python"):
            return None, None
        poddir = self.state / "pods" / ("%s_%s" % key)
        mapping = {}
        volumes = {v["name"]: v for v in spec.get("volumes") or []}
        for mount in container.get("volumeMounts") or []:
            volume = volumes.get(mount["name"]) or {}
            if "configMap" not in volume:
                continue
            status, cm = self.api.request("GET", "/api/v1/namespaces/%s/configmaps/%s"
                                          % (key[0], volume["configMap"]["name"]))
            if status != 200:
                raise ClusterError("pod %s/%s: ConfigMap %s: %s" % (key + (volume["configMap"]["name"], status)))
            target = poddir / mount["name"]
            target.mkdir(parents=True, exist_ok=True)
            for name, data in (cm.get("data") or {}).items():
                (target / name).write_text(data)
            mapping[mount["mountPath"].rstrip("/")] = str(target)
        term_path = container.get("terminationMessagePath") or "/dev/termination-log"
        poddir.mkdir(parents=True, exist_ok=True)
        term_file = poddir / "termination-log"
        mapping[term_path] = str(term_file)

        def mapped(arg):
            for path, local in mapping.items():
                if arg == path or arg.startswith(path + "/"):
                    return local + arg[len(path):]
            return arg
        program = mapped(command[1])
        if program == command[1] or not Path(program).is_file():
            return None, None  # only a program shipped in the pod's own ConfigMaps is run
        return [sys.executable] + [mapped(a) for a in command[1:]], term_file

    def _reap_pods(self) -> None:
        """A pod whose program ended gets phase Succeeded or Failed, its exit code and its termination message;
        one past its activeDeadlineSeconds is stopped and Failed (DeadlineExceeded), as a kubelet does."""
        for key, info in list(self.pods.items()):
            if info.get("done"):
                continue
            proc = self.procs.get("pod-%s-%s" % key)
            code = proc.poll() if proc is not None else None
            reason = None
            if code is None and info.get("deadline") and time.monotonic() > info["deadline"]:
                self.stop_process("pod-%s-%s" % key)
                code, reason = 137, "DeadlineExceeded"
            if code is None:
                continue
            info["done"] = True
            term = info.get("term_file")
            message = term.read_text()[:4096] if term is not None and term.exists() else ""
            status = {"status": {
                "phase": "Succeeded" if code == 0 and not reason else "Failed",
                "containerStatuses": [{"name": info["container"], "ready": False, "restartCount": 0, "image": "", "imageID": "",
                                       "started": False, "state": {"terminated": {
                                           "exitCode": code, "reason": reason or ("Completed" if code == 0 else "Error"),
                                           "message": message, "startedAt": _now(), "finishedAt": _now()}}}]}}
            if reason:
                status["status"]["reason"] = reason
            self.api.request("PATCH", "/api/v1/namespaces/%s/pods/%s/status" % key, status,
                             content_type="application/merge-patch+json")

    def _pod_down(self, key) -> None:
        info = self.pods.pop(key, None)
        if info is None:
            return
        self.stop_process("pod-%s-%s" % key)
        self.procs.pop("pod-%s-%s" % key, None)
        run(["ip", "netns", "del", info["netns"]], check=False)  # the veth goes with it

    def wait_pods_ready(self, keys, timeout: float = 60) -> None:
        def ready():
            return all(k in self.pods for k in keys)
        self.wait_for("pods %s" % sorted(keys), ready, timeout)

    # -- stop --

    def stop(self, force: bool = False) -> None:
        """Stop what this harness started and remove the nzc-* namespaces. Does nothing unless this object took
        the machine's harness slot (a start that found it busy must not end the other run), or ``force`` (the CLI's
        ``stop`` after a killed run, which takes the lock itself)."""
        if self._lock is None and not force:
            return
        self._agent_stop.set()
        if self._agent is not None:
            self._agent.join(timeout=10)
        piddir = self.state / "pids"
        order = ["kube-router", "kube-proxy", "relay", "kube-controller-manager", "kube-apiserver", "etcd"]
        if piddir.exists():
            names = sorted(p.name for p in piddir.iterdir())
            for name in [n for n in names if n not in order] + [n for n in order if n in names]:
                self.stop_process(name)
        for ns in netns_list():
            if ns.startswith(NS_PREFIX) and ns != NODE_NS:
                run(["ip", "netns", "del", ns], check=False)
        if NODE_NS in netns_list():
            run(["ip", "netns", "del", NODE_NS], check=False)
        if self._lock is not None:
            self._lock.close()  # releases the flock
            self._lock = None


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def read_pins() -> dict:
    """tests/cluster/versions.env as a dict (the same reader as the build)."""
    sys.path.insert(0, str(ROOT / "tools"))
    import build_cluster  # pylint: disable=import-error,import-outside-toplevel
    return build_cluster.read_versions()


def default_bindir() -> Path:
    out = run([sys.executable, str(ROOT / "tools" / "build_cluster.py"), "--print-bindir"]).stdout.strip()
    return Path(out)


def main(argv=None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] == "_relay":
        relay_main(argv[1], int(argv[2]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("action", choices=("start", "stop", "status"))
    ap.add_argument("--state", type=Path, default=DEFAULT_STATE)
    ap.add_argument("--bindir", type=Path)
    ap.add_argument("--for", dest="seconds", type=float, default=3600, help="start: stop after this many seconds")
    ap.add_argument("--wait", type=float, default=0,
                    help="start: wait at most this many seconds for another harness to end (one per machine)")
    ap.add_argument("--ready-file", type=Path,
                    help="start: write 'up <seconds>' here once ready, or 'failed: <why>' if the start failed")
    args = ap.parse_args(argv)
    if args.action == "stop":
        # After a killed run only: never while a harness holds the lock (its namespaces are nzc-* too).
        with open(LOCK_FILE, "a+", encoding="utf-8") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                print("a harness is running (it holds %s): stop it by its PID, not with `stop`" % LOCK_FILE)
                return 1
            Cluster(args.state).stop(force=True)
        return 0
    if args.action == "status":
        pids = args.state / "pids"
        for p in sorted(pids.iterdir()) if pids.exists() else []:
            print(p.name, p.read_text(), "up" if pid_alive(int(p.read_text())) else "down")
        print("namespaces:", " ".join(n for n in netns_list() if n.startswith(NS_PREFIX)))
        return 0
    # start: runs in the foreground (the pod agent is a thread of this process) until SIGINT or SIGTERM,
    # or --for seconds, then stops everything it started. A SIGTERM during the start ends it through the
    # start's own clean-up.
    stop = threading.Event()

    def on_signal(*_a):
        if not stop.is_set() and getattr(on_signal, "starting", False):
            stop.set()
            raise KeyboardInterrupt
        stop.set()
    on_signal.starting = True
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    cluster = Cluster(args.state, args.bindir or default_bindir())
    try:
        cluster.start(wait=args.wait)
    except (Exception, KeyboardInterrupt) as exc:  # pylint: disable=broad-except
        if args.ready_file:
            args.ready_file.write_text("failed: %s\n" % (exc or "interrupted"))
        print("cluster start failed: %s" % (exc or "interrupted"), file=sys.stderr, flush=True)
        return 1
    on_signal.starting = False
    if args.ready_file:
        args.ready_file.write_text("up %s\n" % cluster.start_seconds)
    print("cluster up in %ss; kubeconfig %s; stop with Ctrl-C or SIGTERM to PID %d"
          % (cluster.start_seconds, cluster.kubeconfig, os.getpid()), flush=True)
    try:
        stop.wait(args.seconds)
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
