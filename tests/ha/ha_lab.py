# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Two load balancers converged with the whole loadbalancer role, each in network namespaces of its own: failover
measured through the WAF path.

Namespaces (all named ``nzha-*``; none has a default route): ``nzha-br`` holds the bridge (nothing is added to the
root namespace), ``nzha-lb1`` and ``nzha-lb2`` the load balancers, ``nzha-cl`` the client and the stand-in cluster
node, ``nzha-x`` an attacker. Addresses come from the documentation ranges: public subnet 192.0.2.0/24 (lb1 .11,
lb2 .12, client .100, virtual address .10) and internal subnet 198.51.100.0/24 (same hosts, virtual address .10;
the node is 198.51.100.100:8080).

``--setup`` makes each load balancer a host of its own on this one machine: its network namespace, a mount
namespace in which ``/etc`` is a copy of this machine's (``WORK/hosts/lbN/etc``), ``/var`` an overlay whose
changes stay in ``WORK/hosts/lbN/var-upper``, ``/run`` a new tmpfs, and its own host name. A holder process keeps
those namespaces; ``WORK/hosts/lbN/python`` runs the system's Python in them (``nsenter``), and molecule/ha's
inventory gives it to Ansible as the host's interpreter, so every module of the role (and every init script,
HAProxy, nginx, rsyslog and nftables it starts or loads) runs on that host and nowhere else. Two changes to the
copied system, nothing in the role: the host's rsyslog gets a configuration without ``/dev/log`` and the kernel
log (both belong to this machine), and the host's ``/etc/init.d/haproxy`` starts HAProxy with ``-L lbN`` (its
peer name), so that keepalived, which sees every process of the machine, tracks each host's own HAProxy
(``loadbalancer_keepalived_track_process: haproxy -L lbN``).

keepalived runs the configuration the role installed (``/etc/keepalived/keepalived.conf`` of the host), started
by ``--start-keepalived`` from the root namespace with ``--namespace nzha-lbN``: the kernel's process-events
connector, which its track_process needs, exists only in the root network namespace (under ``ip netns exec``
keepalived gets errno 111 and never reaches quorum).

Without an action the lab verifies: requests from the client through the virtual address, HAProxy, the WAF
(nginx + ModSecurity + CRS) and HAProxy's inner listener to the node, which answers with the address that
connected to it (so each answer names the load balancer that carried it); an attack refused by the WAF; the
role's host firewall against forged VRRP adverts (with controls) and against local processes reaching the node;
failover when HAProxy is killed on the holder, when its link goes down and on a planned switchover, each with a
request loop bounded in count and time and its failed requests counted; nopreempt. It prints each check and
figure, and exits 1 when a check fails.

Every process the lab starts is recorded (``pids``); ``--teardown`` ends every process in the namespaces it
recorded making (the lab's own and the daemons the role started there; each one by its PID) and deletes those
namespaces. Run as root: ``ha_lab.py --work-dir DIR (--setup | --start-keepalived [--variant nopreempt] |
--teardown | [--json FILE])``.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
# pylint: disable-next=wrong-import-position,import-error
from sessions import end_namespace_members, end_sessions  # noqa: E402

LBS = {"lb1": {"public": "192.0.2.11", "internal": "198.51.100.11"},
       "lb2": {"public": "192.0.2.12", "internal": "198.51.100.12"}}
CLIENT = {"public": "192.0.2.100", "internal": "198.51.100.100"}
# A host on both subnets that is no load balancer: it forges VRRP adverts.
ATTACKER = {"public": "192.0.2.66", "internal": "198.51.100.66"}
VIPS = {"public": "192.0.2.10", "internal": "198.51.100.10"}
ROUTER_IDS = {"public": 51, "internal": 52}
# The stand-in cluster node (in the client's namespace): the role's firewall lets only HAProxy's user reach it.
NODE = ("198.51.100.100", 8080)
# The vhosts molecule/ha's converge gives the role.
HOSTS = {"public": "shop.example.com", "internal": "intra.example.com"}
NAMESPACES = ["nzha-br", "nzha-lb1", "nzha-lb2", "nzha-cl", "nzha-x"]
# The holder of a load balancer's namespaces (run by `unshare --mount --uts` inside `ip netns exec nzha-lbN`).
HOLDER = r"""
import os, signal, socket, subprocess, sys
name, root = sys.argv[1], sys.argv[2]

def mount(*args):
    subprocess.run(["mount"] + list(args), check=True)

mount("--bind", root + "/etc", "/etc")
mount("-t", "overlay", "overlay", "-o",
      "lowerdir=/var,upperdir=%s/var-upper,workdir=%s/var-work" % (root, root), "/var")
mount("-t", "tmpfs", "-o", "mode=0755,size=64m", "tmpfs", "/run")
os.mkdir("/run/lock")
os.chmod("/run/lock", 0o1777)
socket.sethostname(name)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
with open(root + "/holder.pid.tmp", "w") as handle:
    handle.write("%d\n" % os.getpid())
os.rename(root + "/holder.pid.tmp", root + "/holder.pid")
while True:
    signal.pause()
"""
# The host's rsyslog: only the inputs in /etc/rsyslog.d (the role's), never /dev/log or the kernel log.
RSYSLOG_CONF = """# ha lab host: the role's inputs only; /dev/log and the kernel log belong to the machine.
global(workDirectory="/var/spool/rsyslog")
$IncludeConfig /etc/rsyslog.d/*.conf
"""
# The stand-in node: 200 for every path (the health check too), the body naming the address that connected.
NODE_SERVER = r"""
import http.server, sys

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = ("node %s\n" % self.client_address[0]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, *args):
        pass

http.server.ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), Handler).serve_forever()
"""
FORGE = r"""
import socket, struct, sys, time
vrid, priority, vip, seconds = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
source, targets = sys.argv[5], sys.argv[6:]

def checksum(data):
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF

def advert():
    body = struct.pack("!BBBBBBH4s8s", 0x21, vrid, priority, 1, 0, 1, 0, socket.inet_aton(vip), bytes(8))
    return body[:6] + struct.pack("!H", checksum(body)) + body[8:]

sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 255)
sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
sock.bind((source, 0))
sent, end = 0, time.monotonic() + seconds
while time.monotonic() < end and sent < 10000:
    for target in targets:
        sock.sendto(advert(), (target, 0))
        sent += 1
    time.sleep(0.1)
print(sent)
"""
# One TCP connection from inside a namespace (as whatever user runs it): prints ok or the error's name.
CONNECT = r"""
import socket, sys
try:
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2) as conn:
        conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
        print("ok" if conn.recv(12).startswith(b"HTTP/1.") else "no answer")
except OSError as exc:
    print(type(exc).__name__)
"""
# What both request scripts below start with: one GET (Connection: close) on a connection the script opened,
# its answer read until the server closes it (at most 64 KiB), and the answer's body as the scripts print it.
GET = r"""
def get(conn, host, path):
    conn.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: ha-lab\r\nAccept: */*\r\nConnection: close\r\n\r\n"
                  % (path, host)).encode())
    data = b""
    while len(data) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def body(data):
    return data.split(b"\r\n\r\n", 1)[-1].decode(errors="replace").strip()[:80]
"""
# The client loop: one HTTPS request at a time (a new connection each) through the public virtual address
# (HAProxy, the WAF, the node), each with a timeout, for a bounded time and count; prints one JSON line per
# request (start and end on CLOCK_MONOTONIC, shared by all processes; ``body``: the node's answer, naming the
# load balancer that carried it).
CLIENT_LOOP = GET + r"""
import json, socket, ssl, sys, time
address, host, seconds, gap = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE   # the role's self-signed certificate
end = time.monotonic() + seconds
out = []
while time.monotonic() < end and len(out) < 20000:
    start = time.monotonic()
    text, ok = "", False
    try:
        with context.wrap_socket(socket.create_connection((address, 443), timeout=0.5),
                                 server_hostname=host) as conn:
            conn.settimeout(0.5)
            data = get(conn, host, "/shop/item?id=7")
        ok = data.startswith(b"HTTP/1.1 200")
        text = body(data)
    except OSError as exc:
        text = type(exc).__name__
    out.append({"start": start, "end": time.monotonic(), "ok": ok, "body": text})
    time.sleep(gap)
print(json.dumps(out))
"""
# One request from the client's namespace: prints the status code and the body (or the error's name).
REQUEST = GET + r"""
import socket, ssl, sys
address, port, host, path, tls = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5] == "tls"
try:
    conn = socket.create_connection((address, port), timeout=5)
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE   # the role's self-signed certificate
        conn = context.wrap_socket(conn, server_hostname=host)
    conn.settimeout(5)
    data = get(conn, host, path)
    conn.close()
    status = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/") else "none"
    print(status, body(data))
except OSError as exc:
    print("error", type(exc).__name__)
"""


def sh(*args, check=True, capture=False):
    result = subprocess.run(list(args), check=False, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(args), (result.stderr or result.stdout).strip()[-400:]))
    return result.stdout if capture else result.returncode


def ns(name, *args, **kwargs):
    return sh("ip", "netns", "exec", name, *args, **kwargs)


def who(body):
    """The load balancer that carried a request, from the node's answer (the address that connected to it)."""
    for lb, addresses in LBS.items():
        if body == "node %s" % addresses["internal"]:
            return lb
    return ""


class Lab:
    def __init__(self, work):
        self.work = work
        self.procs = {}  # key -> Popen (ours only)
        self.results = {"checks": [], "figures": {}}
        self.failed = False
        self.unchecked = set()  # LBs whose installed configuration lacks check_unicast_src

    # --- the hosts ---------------------------------------------------------------------------------------
    def root(self, lb, *parts):
        """A path of ``lb``'s own files, as the root namespace sees them (its /etc is WORK/hosts/lb/etc)."""
        return os.path.join(self.work, "hosts", lb, *parts)

    def holder(self, lb):
        with open(self.root(lb, "holder.pid"), encoding="ascii") as handle:
            pid = int(handle.read().strip())
        if os.stat("/proc/%d/ns/net" % pid).st_ino != os.stat("/run/netns/nzha-" + lb).st_ino:
            raise RuntimeError("the holder of %s (pid %d) is not in nzha-%s; run --setup again" % (lb, pid, lb))
        return pid

    def on(self, lb, *argv, **kwargs):
        """Run a command on the host ``lb`` (its network, mount and UTS namespaces)."""
        return sh("nsenter", "--target", str(self.holder(lb)), "--net", "--mount", "--uts", "--", *argv, **kwargs)

    def make_host(self, lb):
        root = self.root(lb)
        os.makedirs(root)
        sh("cp", "-a", "/etc", os.path.join(root, "etc"))
        # A host that never ran the role: none of this machine's own netzone files.
        for stale in ("haproxy/netzone", "nginx/netzone", "nginx/netzone-staging", "keepalived/keepalived.conf",
                      "nftables.d/netzone_lb.nft", "rsyslog.d/48-netzone-haproxy.conf"):
            sh("rm", "-rf", os.path.join(root, "etc", stale))
        init = os.path.join(root, "etc", "init.d", "haproxy")
        with open(init, encoding="utf-8") as handle:
            text = handle.read()
        start, reload_ = '-- -f "$CONFIG" -D -p "$PIDFILE"', '$HAPROXY -f "$CONFIG" -p $PIDFILE -sf'
        if text.count(start) != 1 or text.count(reload_) != 1:
            raise RuntimeError("%s: the start or reload command line is not the one expected" % init)
        text = text.replace(start, '-- -L %s -f "$CONFIG" -D -p "$PIDFILE"' % lb)
        text = text.replace(reload_, '$HAPROXY -L %s -f "$CONFIG" -p $PIDFILE -sf' % lb)
        with open(init, "w", encoding="utf-8") as handle:
            handle.write(text)
        with open(os.path.join(root, "etc", "rsyslog.conf"), "w", encoding="utf-8") as handle:
            handle.write(RSYSLOG_CONF)
        for sub in ("var-upper", "var-work"):
            os.makedirs(os.path.join(root, sub))
        self.start("holder-" + lb, "nzha-" + lb,
                   ["unshare", "--mount", "--uts", "--propagation", "private", "/usr/bin/python3",
                    self.script("holder.py", HOLDER), lb, root], "holder-%s.log" % lb)
        deadline = time.monotonic() + 15
        while not os.path.exists(self.root(lb, "holder.pid")):
            if time.monotonic() > deadline or self.procs["holder-" + lb].poll() is not None:
                raise RuntimeError("the namespaces of %s did not come up (see %s)"
                                   % (lb, os.path.join(self.work, "holder-%s.log" % lb)))
            time.sleep(0.1)
        pid = self.holder(lb)
        with open(self.root(lb, "python"), "w", encoding="utf-8") as handle:
            handle.write("#!/bin/sh\n# The system's Python on the ha lab's host %s (its network, mount and UTS "
                         "namespaces).\nexec nsenter --target %d --net --mount --uts -- /usr/bin/python3 \"$@\"\n"
                         % (lb, pid))
        os.chmod(self.root(lb, "python"), 0o755)

    # --- setup / teardown ------------------------------------------------------------------------------
    def setup(self):
        for name in NAMESPACES:
            if name in sh("ip", "netns", "list", capture=True).split():
                raise RuntimeError("namespace %s exists already (another run?); delete it first" % name)
        for name in NAMESPACES:
            sh("ip", "netns", "add", name)
            with open(os.path.join(self.work, "namespaces"), "a", encoding="ascii") as handle:
                handle.write(name + "\n")
        sh("ip", "-n", "nzha-br", "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", "nzha-br", "link", "set", "br0", "up")
        hosts = dict(LBS, cl=CLIENT, x=ATTACKER)
        for host, addresses in hosts.items():
            peer = "nzha-" + host
            sh("ip", "-n", "nzha-br", "link", "add", "v" + host, "type", "veth", "peer", "name", "eth0", "netns", peer)
            sh("ip", "-n", "nzha-br", "link", "set", "v" + host, "master", "br0", "up")
            sh("ip", "-n", peer, "link", "set", "lo", "up")
            sh("ip", "-n", peer, "addr", "add", addresses["public"] + "/24", "dev", "eth0")
            sh("ip", "-n", peer, "addr", "add", addresses["internal"] + "/24", "dev", "eth0")
            sh("ip", "-n", peer, "link", "set", "eth0", "up")
        for name in NAMESPACES:
            routes = sh("ip", "-n", name, "route", "show", "default", capture=True).strip()
            if routes:
                raise RuntimeError("namespace %s has a default route: %s" % (name, routes))
        self.start("node", "nzha-cl", ["/usr/bin/python3", self.script("node.py", NODE_SERVER), NODE[0], str(NODE[1])],
                   "node.log")
        for lb in LBS:
            self.make_host(lb)
        print(json.dumps({lb: self.root(lb, "python") for lb in LBS}))

    # --- processes -------------------------------------------------------------------------------------
    def start(self, key, namespace, argv, log):
        with open(os.path.join(self.work, log), "ab") as out:
            prefix = ["ip", "netns", "exec", namespace] if namespace else []
            self.procs[key] = subprocess.Popen(prefix + argv, stdout=out, stderr=subprocess.STDOUT,
                                               start_new_session=True, cwd="/")
        with open(os.path.join(self.work, "pids"), "a", encoding="ascii") as handle:
            handle.write("%d %s\n" % (self.procs[key].pid, argv[0]))

    def keepalived_pid(self, lb):
        """The PID of the keepalived this lab started for ``lb`` (from its PID file), or None."""
        try:
            with open(self.root(lb, "keepalived.pid"), encoding="ascii") as handle:
                pid = int(handle.read().strip())
            with open("/proc/%d/cmdline" % pid, "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError):
            return None
        return pid if cmdline.startswith("keepalived ") and self.root(lb, "keepalived.pid") in cmdline else None

    def start_keepalived(self, lb, variant="keepalived"):
        """keepalived for ``lb`` with the configuration the role installed on it (``variant``.conf), from the
        root namespace with --namespace (its process-events connector only works there); False if it runs."""
        if self.keepalived_pid(lb):
            return False
        conf = self.root(lb, "etc", "keepalived", variant + ".conf")
        if not os.path.exists(conf):
            raise RuntimeError("%s is missing: converge first" % conf)
        self.start("keepalived-" + lb, None,
                   ["keepalived", "-n", "-l", "-D", "-s", "nzha-" + lb, "-f", conf,
                    "-p", self.root(lb, "keepalived.pid"), "-r", self.root(lb, "vrrp.pid"),
                    "-c", self.root(lb, "checkers.pid")], "keepalived-%s.log" % lb)
        deadline = time.monotonic() + 10
        while not self.keepalived_pid(lb) and time.monotonic() < deadline:
            time.sleep(0.1)
        return True

    def stop_keepalived(self, lb):
        pid = self.keepalived_pid(lb)
        if pid:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while self.keepalived_pid(lb) and time.monotonic() < deadline:
                time.sleep(0.1)

    def reload_keepalived(self, lb):
        os.kill(self.keepalived_pid(lb), signal.SIGHUP)

    def haproxy_pid(self, lb):
        """The PID of the HAProxy the role started on ``lb`` (its init script's PID file, checked)."""
        with open("/proc/%d/root/run/haproxy.pid" % self.holder(lb), encoding="ascii") as handle:
            pid = int(handle.read().split()[0])
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            argv = handle.read().split(b"\0")
        if argv[:3] != [b"/usr/sbin/haproxy", b"-L", lb.encode()]:
            raise RuntimeError("pid %d is not the HAProxy of %s: %r" % (pid, lb, argv))
        return pid

    def kill_haproxy(self, lb):
        pid = self.haproxy_pid(lb)
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while os.path.exists("/proc/%d" % pid) and time.monotonic() < deadline:
            time.sleep(0.01)

    def start_haproxy(self, lb):
        """Start HAProxy again on ``lb`` with the host's init script, as the role's service task does."""
        self.on(lb, "/etc/init.d/haproxy", "start")

    # --- the role's host firewall ----------------------------------------------------------------------
    def firewall_file(self, lb):
        return self.root(lb, "etc", "nftables.d", "netzone_lb.nft")

    def load_firewall(self, lb):
        """Load the file the role installed on ``lb`` into its namespace (only the netzone_lb table)."""
        ns("nzha-" + lb, "nft", "-f", self.firewall_file(lb))

    @staticmethod
    def unload_firewall(lb):
        ns("nzha-" + lb, "nft", "delete", "table", "inet", "netzone_lb")

    def script(self, name, text):
        path = os.path.join(self.work, name)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        return path

    def connect(self, namespace, address, port, user=None):
        """One TCP connection from ``namespace`` (as ``user`` when given): 'ok' or the error's class name."""
        argv = ["ip", "netns", "exec", namespace]
        if user:
            argv += ["setpriv", "--reuid", user, "--regid", "nogroup", "--clear-groups"]
        # The system's Python and the script on the command line: the user may read neither this run's work
        # directory nor a virtualenv under /root.
        argv += ["/usr/bin/python3", "-c", CONNECT, address, str(port)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
        return done.stdout.strip() or done.stderr.strip()[-200:]

    def request(self, exposure="public", path="/", tls=False, host=None):
        """One request from the client to an exposure's virtual address: (status, body)."""
        out = ns("nzha-cl", "/usr/bin/python3", "-c", REQUEST, VIPS[exposure], "443" if tls else "80",
                 host or HOSTS[exposure], path, "tls" if tls else "plain", capture=True).strip()
        status, _sep, body = out.partition(" ")
        return status, body

    def forge(self, seconds, exposure="public", priority=254):
        """Forged adverts from the attacker's namespace (to both LBs and the VRRP group) while the holder is
        sampled: (samples, samples in which lb1 holds the address, samples in which lb1 alone holds it, adverts
        sent)."""
        targets = [LBS["lb1"][exposure], LBS["lb2"][exposure], "224.0.0.18"]
        proc = subprocess.Popen(["ip", "netns", "exec", "nzha-x", sys.executable, self.script("forge.py", FORGE),
                                 str(ROUTER_IDS[exposure]), str(priority), VIPS[exposure], str(seconds),
                                 ATTACKER[exposure]] + targets, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        seen = kept = alone = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            now = self.holders(exposure)
            seen += 1
            kept += "lb1" in now
            alone += now == ["lb1"]
            time.sleep(0.05)
        out, err = proc.communicate(timeout=30)
        if proc.returncode != 0:
            raise RuntimeError("forged adverts: %s" % err.strip())
        return seen, kept, alone, int(out.strip() or 0)

    def set_check_unicast_src(self, on):
        """Every LB's configuration with or without check_unicast_src (the role installs it on), reloaded."""
        for lb in LBS:
            conf = self.root(lb, "etc", "keepalived", "keepalived.conf")
            with open(conf, encoding="utf-8") as handle:
                text = handle.read()
            backup = os.path.join(self.work, lb + "-keepalived.conf.rendered")
            if not os.path.exists(backup):
                with open(backup, "w", encoding="utf-8") as handle:
                    handle.write(text)
            with open(backup, encoding="utf-8") as handle:
                rendered = handle.read()
            if on and "\tcheck_unicast_src\n" not in rendered and lb not in self.unchecked:
                self.unchecked.add(lb)
                self.check("the role installs check_unicast_src (%s)" % lb, False, conf)
            with open(conf, "w", encoding="utf-8") as handle:
                handle.write(rendered if on else rendered.replace("\tcheck_unicast_src\n", ""))
            self.reload_keepalived(lb)
        time.sleep(1.0)

    def vrrp_attack(self):
        """A host that is no peer forges higher-priority adverts. Each defence alone keeps the address on lb1;
        with neither (the control) the address leaves lb1, so the attack itself is real."""
        for exposure in ("public", "internal"):
            with open(self.firewall_file("lb1"), encoding="utf-8") as handle:
                text = handle.read()
            self.check("firewall (%s): the role's table admits VRRP from the peer only" % exposure,
                       LBS["lb2"][exposure] in text and ATTACKER[exposure] not in text, self.firewall_file("lb1"))
        phases = [("check_unicast_src and the firewall", True, True),
                  ("check_unicast_src alone", True, False),
                  ("the firewall alone", False, True)]
        for label, source_check, firewall in phases:
            self.set_check_unicast_src(source_check)
            for lb in LBS:
                if firewall:
                    self.load_firewall(lb)
                else:
                    self.unload_firewall(lb)
            if self.wait_holder("lb1", timeout=10) is None:
                raise RuntimeError("lb1 does not hold the address before the attack (%s)" % label)
            seen, kept, alone, sent = self.forge(4.0)
            self.results["figures"]["forged adverts, " + label] = {"samples": seen, "lb1_holds": kept,
                                                                   "lb1_alone": alone, "sent": sent}
            # With both layers nothing changes at all; with one, lb1 must keep the address (keepalived alone
            # may let the backup miss a peer's advert under the flood: a transient second holder, counted).
            whole = source_check and firewall
            self.check("forged priority-254 adverts from %s (no peer), %s: lb1 keeps the address%s"
                       % (ATTACKER["public"], label, ", alone" if whole else ""),
                       seen > 0 and sent > 0 and kept == seen and (alone == seen or not whole),
                       "%d adverts sent; lb1 held it in %d of %d samples over 4 s, alone in %d"
                       % (sent, kept, seen, alone))
        # The control: neither defence. The same adverts must take the address away, or the test proves nothing.
        self.set_check_unicast_src(False)
        for lb in LBS:
            self.unload_firewall(lb)
        self.wait_holder("lb1", timeout=10)
        seen, kept, alone, sent = self.forge(4.0)
        self.results["figures"]["forged adverts, no defence (control)"] = {
            "samples": seen, "lb1_holds": kept, "lb1_alone": alone, "sent": sent}
        self.check("control: without check_unicast_src and the firewall the forged adverts take the address",
                   kept < seen, "lb1 held it in %d of %d samples (holders at the end: %s)"
                   % (kept, seen, self.holders()))
        self.set_check_unicast_src(True)
        for lb in LBS:
            self.load_firewall(lb)
        took = self.wait_holder("lb1", timeout=15)
        self.check("after the attack lb1 holds the address again", took is not None,
                   "after %.2f s" % took if took is not None else "never")

    def node_guard(self):
        """Only HAProxy's user reaches the node's ingress port from a load balancer; other tables stay."""
        ns("nzha-lb1", "nft", "add", "table", "inet", "other_rules")
        ns("nzha-lb1", "nft", "add chain inet other_rules c { type filter hook input priority 10 ; }")
        self.load_firewall("lb1")
        self.load_firewall("lb1")   # a second load replaces the table, never adds to it
        others = ns("nzha-lb1", "nft", "list", "tables", capture=True).split("\n")
        self.check("the role's table leaves other tables alone",
                   "table inet other_rules" in others and others.count("table inet netzone_lb") == 1,
                   "; ".join(line for line in others if line))
        status, body = self.request(tls=True)
        self.check("through HAProxy (user haproxy) and the WAF the node answers",
                   status == "200" and who(body) == "lb1",
                   "https://%s/ SNI and Host %s: %s %s" % (VIPS["public"], HOSTS["public"], status, body))
        for user in (None, "nobody"):
            got = self.connect("nzha-lb1", NODE[0], NODE[1], user)
            self.check("a local process (%s) on lb1 connecting to the node's port is refused" % (user or "root"),
                       got == "ConnectionRefusedError", "%s:%d: %s" % (NODE[0], NODE[1], got))
        self.unload_firewall("lb1")
        got = self.connect("nzha-lb1", NODE[0], NODE[1])
        self.check("control: without the table root on lb1 reaches the node directly", got == "ok", got)
        self.load_firewall("lb1")

    # --- observation -----------------------------------------------------------------------------------
    @staticmethod
    def holders(exposure="public"):
        vip = VIPS[exposure]
        out = []
        for lb in LBS:
            text = sh("ip", "-n", "nzha-" + lb, "-4", "-o", "addr", "show", "dev", "eth0", capture=True)
            if " %s/" % vip in text:
                out.append(lb)
        return out

    def wait_holder(self, want, exposure="public", timeout=15.0):
        """Seconds until exactly [want] holds the address (None on timeout)."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.holders(exposure) == [want]:
                return time.monotonic() - start
            time.sleep(0.02)
        return None

    def sample(self, seconds, exposure="public"):
        """Holder samples every 50 ms: (samples, samples with exactly one holder, holder changes)."""
        seen, single, changes, last = 0, 0, 0, None
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            now = self.holders(exposure)
            seen += 1
            single += len(now) == 1
            if last is not None and now != last:
                changes += 1
            last = now
            time.sleep(0.05)
        return seen, single, changes

    def client(self, seconds, gap=0.02):
        script = os.path.join(self.work, "client.py")
        with open(script, "w", encoding="utf-8") as handle:
            handle.write(CLIENT_LOOP)
        return subprocess.Popen(["ip", "netns", "exec", "nzha-cl", "/usr/bin/python3", script, VIPS["public"],
                                 HOSTS["public"], str(seconds), str(gap)], stdout=subprocess.PIPE, text=True)

    @staticmethod
    def collect(proc):
        out, _err = proc.communicate(timeout=120)
        requests = json.loads(out)
        for entry in requests:
            entry["who"] = who(entry["body"])
        return requests

    def check(self, name, ok, detail):
        self.results["checks"].append({"name": name, "ok": bool(ok), "detail": detail})
        print("%s %s: %s" % ("ok  " if ok else "FAIL", name, detail), flush=True)
        self.failed |= not ok

    # --- the scenario ----------------------------------------------------------------------------------
    def failover(self, action, restore, label, client_seconds=8.0):
        """Holder lb1 → lb2 after ``action``: seconds until lb2 holds the address, and the requests of a loop
        through the whole path (HAProxy, the WAF, the node), one every 20 ms, that failed."""
        loop = self.client(client_seconds)
        time.sleep(1.5)
        moved_at = time.monotonic()
        action()
        took = self.wait_holder("lb2", timeout=10)
        moved_done = time.monotonic()
        requests = self.collect(loop)
        failed = [r for r in requests if not r["ok"]]
        after = [r for r in failed if r["start"] > moved_done]
        window = (failed[-1]["end"] - failed[0]["start"]) if failed else 0.0
        self.results["figures"][label] = {"seconds": took, "failed": len(failed), "requests": len(requests),
                                          "failed_after_move": len(after), "failed_window_seconds": round(window, 3)}
        self.check("%s: the address moves to lb2" % label, took is not None,
                   "%s s, %d of %d requests failed (%d started after the move; first to last failure %.2f s)"
                   % ("%.2f" % took if took is not None else "never", len(failed), len(requests), len(after), window))
        self.check("%s: requests after the move are served by lb2" % label,
                   all(r["who"] == "lb2" for r in requests if r["start"] > moved_done and r["ok"])
                   and any(r["start"] > moved_done and r["ok"] for r in requests), "lb2 answered")
        restore()
        return moved_at

    def run(self):
        for lb in LBS:
            self.holder(lb)
            if not self.keepalived_pid(lb):
                raise RuntimeError("keepalived does not run on %s: run the converge (--start-keepalived) first" % lb)
        took = self.wait_holder("lb1", timeout=15)
        self.check("start: lb1 (priority 150, preempt) holds the public address", took is not None,
                   "after %.2f s" % took if took is not None else "never")
        took = self.wait_holder("lb1", "internal", timeout=5)
        self.check("start: lb1 holds the internal address", took is not None, "instance NZ_INTERNAL")
        for exposure in ("public", "internal"):
            seen, single, changes = self.sample(3.0, exposure)
            self.check("steady state (%s): exactly one holder" % exposure, single == seen and changes == 0,
                       "%d of %d samples over 3 s with one holder, %d changes" % (single, seen, changes))

        # The whole path: the virtual address, HAProxy, the WAF, HAProxy's inner listener, the node.
        status, body = self.request("public", "/shop/item?id=7")
        self.check("HTTP %s through the public virtual address: redirected to HTTPS by lb1's HAProxy" % HOSTS["public"],
                   status == "301", status)
        for exposure, tls in (("public", True), ("internal", True)):
            status, body = self.request(exposure, "/shop/item?id=7", tls)
            self.check("%s %s through the %s virtual address: the node answers, carried by lb1"
                       % ("HTTPS" if tls else "HTTP", HOSTS[exposure], exposure),
                       status == "200" and who(body) == "lb1", "%s %s" % (status, body))
        status, body = self.request("public", "/shop/item?id=%3Cscript%3Ealert(1)%3C%2Fscript%3E", True)
        self.check("an XSS attack through the virtual address is refused by the WAF (never reaches the node)",
                   status == "403" and not body.startswith("node "), "%s %s" % (status, body[:40]))
        requests = self.collect(self.client(1.0, 0.1))
        self.check("the request loop reaches the node through lb1", requests and all(r["ok"] and r["who"] == "lb1"
                                                                                     for r in requests),
                   "%d requests" % len(requests))
        listening = ns("nzha-lb2", "ss", "-Hltn", "src", VIPS["public"], capture=True)
        self.check("the backup's HAProxy is bound to the address it does not hold (transparent)",
                   ":80 " in listening and ":443 " in listening, " | ".join(listening.split("\n")).strip())

        # The role's host firewall: forged adverts from a host that is no peer; local processes and the nodes.
        self.vrrp_attack()
        self.node_guard()

        # Reload (SIGHUP, same configuration): the address stays.
        self.reload_keepalived("lb1")
        seen, single, changes = self.sample(3.0)
        self.check("reload keeps the address", single == seen and changes == 0 and self.holders() == ["lb1"],
                   "%d of %d samples with one holder, %d changes, holder %s" % (single, seen, changes, self.holders()))

        # 1. HAProxy killed on the holder.
        def kill_haproxy():
            self.kill_haproxy("lb1")

        def restore_haproxy():
            self.start_haproxy("lb1")

        self.failover(kill_haproxy, restore_haproxy, "haproxy killed")
        took = self.wait_holder("lb1", timeout=10)
        self.check("preempt: lb1 takes the address back once its HAProxy runs again", took is not None,
                   "after %.2f s" % took if took is not None else "never")

        # 2. The holder's link down (its port on the bridge).
        def link_down():
            sh("ip", "-n", "nzha-br", "link", "set", "vlb1", "down")

        def link_up():
            sh("ip", "-n", "nzha-br", "link", "set", "vlb1", "up")

        self.failover(link_down, link_up, "link down", client_seconds=10.0)
        took = self.wait_holder("lb1", timeout=15)
        self.check("preempt: lb1 takes the address back when its link returns", took is not None,
                   "after %.2f s" % took if took is not None else "never")
        seen, single, changes = self.sample(3.0)
        self.check("no split brain after the link returns", single == seen and changes == 0,
                   "%d of %d samples with one holder" % (single, seen))

        # 3. Planned switchover: lb1's priority lowered below lb2's, then a reload.
        conf = self.root("lb1", "etc", "keepalived", "keepalived.conf")
        with open(conf, encoding="utf-8") as handle:
            original = handle.read()
        lowered = original.replace("priority 150", "priority 100")

        def lower_priority():
            with open(conf, "w", encoding="utf-8") as handle:
                handle.write(lowered)
            self.reload_keepalived("lb1")

        def restore_priority():
            with open(conf, "w", encoding="utf-8") as handle:
                handle.write(original)
            self.reload_keepalived("lb1")

        self.failover(lower_priority, restore_priority, "planned switchover")
        figure = self.results["figures"]["planned switchover"]
        self.check("planned switchover: no failed request started after the move", figure["failed_after_move"] == 0,
                   "%d failed after the move" % figure["failed_after_move"])
        took = self.wait_holder("lb1", timeout=10)
        self.check("preempt: lb1 takes the address back with its priority restored", took is not None,
                   "after %.2f s" % took if took is not None else "never")

        # 4. nopreempt: both start BACKUP; the returning lb1 does not take the address back.
        for lb in LBS:
            self.stop_keepalived(lb)
        time.sleep(0.5)
        for lb in LBS:
            self.start_keepalived(lb, "nopreempt")
        took = None
        start = time.monotonic()
        while time.monotonic() - start < 15 and len(self.holders()) != 1:
            time.sleep(0.05)
        first = self.holders()
        self.check("nopreempt: one node takes the address", len(first) == 1, "holder %s" % first)
        if len(first) == 1:
            holder = first[0]
            other = "lb2" if holder == "lb1" else "lb1"
            self.kill_haproxy(holder)
            took = self.wait_holder(other, timeout=10)
            self.check("nopreempt: HAProxy killed on %s moves the address to %s" % (holder, other), took is not None,
                       "after %.2f s" % took if took is not None else "never")
            self.start_haproxy(holder)
            seen, single, changes = self.sample(4.0)
            self.check("nopreempt: %s returning does not take the address back" % holder,
                       self.holders() == [other] and changes == 0, "holder %s, %d changes" % (self.holders(), changes))
        # Back to the configuration the role installed (preempt): lb1 holds the addresses again.
        for lb in LBS:
            self.stop_keepalived(lb)
        time.sleep(0.5)
        for lb in LBS:
            self.start_keepalived(lb)
        took = self.wait_holder("lb1", timeout=15)
        self.check("back to the installed configuration: lb1 holds the address", took is not None,
                   "after %.2f s" % took if took is not None else "never")


def teardown_recorded(work):
    """End every process in the recorded namespaces and every recorded session (SIGTERM, then SIGKILL after
    5 s), then delete the recorded namespaces."""
    names = os.path.join(work, "namespaces")
    recorded = []
    if os.path.exists(names):
        with open(names, encoding="ascii") as handle:
            recorded = handle.read().split()
    end_namespace_members(recorded, 5.0)
    pids = os.path.join(work, "pids")
    if os.path.exists(pids):
        with open(pids, encoding="ascii") as handle:
            sessions = [(int(line.split()[0]), line.split()[1]) for line in handle if line.strip()]
        end_sessions(sessions, 5.0)
        os.unlink(pids)
    for name in recorded:
        sh("ip", "netns", "delete", name, check=False)
    if os.path.exists(names):
        os.unlink(names)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--work-dir", required=True)
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--setup", action="store_true", help="make the namespaces, the hosts and the node")
    action.add_argument("--start-keepalived", action="store_true",
                        help="start keepalived on both hosts unless it runs; wait until lb1 holds the addresses")
    action.add_argument("--teardown", action="store_true")
    parser.add_argument("--variant", default="keepalived", choices=["keepalived", "nopreempt"])
    parser.add_argument("--json")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("ha_lab.py: needs root (network namespaces)")
    work = os.path.abspath(args.work_dir)
    if args.teardown:
        teardown_recorded(work)
        return 0
    os.makedirs(work, exist_ok=True)
    lab = Lab(work)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt("signal %d" % signum)

    signal.signal(signal.SIGTERM, on_signal)
    if args.setup:
        try:
            lab.setup()
        except (RuntimeError, OSError, KeyboardInterrupt) as exc:
            print("ha_lab.py --setup: %s" % exc, file=sys.stderr)
            teardown_recorded(work)
            return 1
        return 0
    if args.start_keepalived:
        try:
            started = [lb for lb in LBS if lab.start_keepalived(lb, args.variant)]
            holds = {exposure: lab.wait_holder("lb1", exposure, timeout=20) for exposure in VIPS}
        except (RuntimeError, OSError) as exc:
            print("ha_lab.py --start-keepalived: %s" % exc, file=sys.stderr)
            return 1
        print("keepalived: %s" % ("started on " + ", ".join(started) if started else "running on lb1, lb2"))
        for exposure, took in holds.items():
            print("%s address %s: %s" % (exposure, VIPS[exposure], "held by lb1" if took is not None
                                         else "holders %s" % lab.holders(exposure)))
        return 0 if all(took is not None for took in holds.values()) else 1
    try:
        lab.run()
    except (RuntimeError, OSError, KeyboardInterrupt) as exc:
        lab.check("lab", False, str(exc))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(lab.results, handle, indent=1)
    print("logs: %s" % work)
    return 1 if lab.failed else 0


if __name__ == "__main__":
    sys.exit(main())
