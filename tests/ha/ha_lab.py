# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Two load balancers and a client in network namespaces, with real keepalived and HAProxy: failover measured.

Namespaces (all named ``nzha-*``, removed on exit): ``nzha-br`` holds the bridge (nothing is added to the root
namespace), ``nzha-lb1`` and ``nzha-lb2`` the load balancers, ``nzha-cl`` the client, ``nzha-x`` an attacker. Addresses come from the
documentation ranges: public subnet 192.0.2.0/24 (lb1 .11, lb2 .12, client .100, virtual address .10) and
internal subnet 198.51.100.0/24 (same hosts, virtual address .10). No namespace has a default route; every
request is sent from inside ``nzha-cl``.

Each load balancer runs ``keepalived`` from the configuration the role rendered (``--conf-dir DIR`` holds
``lb1/keepalived.conf`` and ``lb2/keepalived.conf``, rendered by molecule/ha's converge; ``DIR/nopreempt/``
the same with ``loadbalancer_vrrp_preempt: false``), started with ``ip netns exec`` and its own PID files, and
an HAProxy that binds the virtual addresses with ``transparent`` on the backup too, answering with its own name.
keepalived's track_process sees every process of the machine, so the rendered configurations track each load
balancer's own HAProxy by its command line (``haproxy -f DIR/lbN/haproxy.cfg``, param_match partial).
keepalived is started from the root namespace with ``--namespace nzha-lbN``: under ``ip netns exec`` its
process-events connector fails (errno 111) and track_process never reaches quorum.

The role's host firewall (``lbN/netzone_lb.nft``, rendered by the converge) is loaded in each LB namespace.
A fifth namespace, ``nzha-x`` (192.0.2.66 and 198.51.100.66, no peer), forges priority-254 VRRP adverts:
lb1 must keep the address with ``check_unicast_src`` and the firewall, and with each alone, while the same
adverts with neither (the control) must take it away. A stand-in node in the client's namespace
(198.51.100.100:8080) must answer through HAProxy (user ``haproxy``) and reset a direct connection from the
LB's namespace (root, ``nobody``), and answer it with the table deleted (the control).

Run as root: ``ha_lab.py --conf-dir DIR [--work-dir DIR] [--json FILE]``. It prints each check and figure, and
exits 1 when a check fails. Every process it starts is ended by its PID; the namespaces are deleted on any exit.
The work directory (logs, PID files; a new temporary one by default) records each namespace the lab made
(``namespaces``) and each process it started (``pids``, every one the leader of its own session, started from
``/``): ``ha_lab.py --work-dir DIR --teardown`` ends those sessions by PID and deletes those namespaces, for
molecule's destroy after a run that was itself killed before its own teardown.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from sessions import end_sessions  # noqa: E402  pylint: disable=wrong-import-position,import-error

LBS = {"lb1": {"public": "192.0.2.11", "internal": "198.51.100.11"},
       "lb2": {"public": "192.0.2.12", "internal": "198.51.100.12"}}
CLIENT = {"public": "192.0.2.100", "internal": "198.51.100.100"}
# A host on both subnets that is no load balancer: it forges VRRP adverts.
ATTACKER = {"public": "192.0.2.66", "internal": "198.51.100.66"}
VIPS = {"public": "192.0.2.10", "internal": "198.51.100.10"}
ROUTER_IDS = {"public": 51, "internal": 52}
# The stand-in cluster node (in the client's namespace): the role's firewall lets only HAProxy's user reach it.
NODE = ("198.51.100.100", 8080)
NODE_FRONTEND_PORT = 8000
NAMESPACES = ["nzha-br", "nzha-lb1", "nzha-lb2", "nzha-cl", "nzha-x"]
HAPROXY = """global
\tmaxconn 1000
\tuser haproxy
\tgroup haproxy
defaults
\tmode http
\ttimeout connect 1s
\ttimeout client 5s
\ttimeout server 5s
frontend fe_public
\tbind {own_public}:80
\tbind {vip_public}:80 transparent
\thttp-request return status 200 content-type text/plain string "{name}"
frontend fe_internal
\tbind {own_internal}:80
\tbind {vip_internal}:80 transparent
\thttp-request return status 200 content-type text/plain string "{name}"
frontend fe_node
\tbind {own_internal}:{node_frontend_port}
\tdefault_backend be_node
backend be_node
\tserver node {node_address}:{node_port}
"""
# A forged VRRPv2 advert (RFC 3768 section 5.3: version 2, type 1, no authentication) for the public
# instance, from the attacker's own address, at the highest priority a backup can claim, TTL 255 as the
# RFC requires; sent to both load balancers and the VRRP group, every 0.1 s for a bounded time.
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
# The client loop: one request at a time to the public virtual address, each with a timeout, for a bounded
# time; prints one JSON line per request (start and end on CLOCK_MONOTONIC, shared by all processes).
CLIENT_LOOP = r"""
import json, socket, sys, time
url_host, seconds, gap = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
end = time.monotonic() + seconds
out = []
while time.monotonic() < end and len(out) < 20000:
    start = time.monotonic()
    who, ok = "", False
    try:
        with socket.create_connection((url_host, 80), timeout=0.5) as conn:
            conn.settimeout(0.5)
            conn.sendall(b"GET / HTTP/1.1\r\nHost: shop.example.com\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
        ok = data.startswith(b"HTTP/1.1 200")
        who = data.rsplit(b"\r\n\r\n", 1)[-1].decode(errors="replace").strip()
    except OSError as exc:
        who = type(exc).__name__
    out.append({"start": start, "end": time.monotonic(), "ok": ok, "who": who})
    time.sleep(gap)
print(json.dumps(out))
"""


def sh(*args, check=True, capture=False):
    result = subprocess.run(list(args), check=False, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(args), result.stderr.strip()))
    return result.stdout if capture else result.returncode


def ns(name, *args, **kwargs):
    return sh("ip", "netns", "exec", name, *args, **kwargs)


class Lab:
    def __init__(self, conf_dir, work):
        self.conf_dir = conf_dir
        self.work = work
        self.procs = {}  # key -> Popen (ours only)
        self.results = {"checks": [], "figures": {}}
        self.failed = False
        self.unchecked = set()  # LBs whose rendered configuration lacks check_unicast_src

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

    def teardown(self):
        for key in list(self.procs):
            self.stop(key)
        teardown_recorded(self.work)

    # --- processes -------------------------------------------------------------------------------------
    def start(self, key, namespace, argv, log):
        with open(os.path.join(self.work, log), "ab") as out:
            prefix = ["ip", "netns", "exec", namespace] if namespace else []
            self.procs[key] = subprocess.Popen(prefix + argv, stdout=out, stderr=subprocess.STDOUT,
                                               start_new_session=True, cwd="/")
        with open(os.path.join(self.work, "pids"), "a", encoding="ascii") as handle:
            handle.write("%d %s\n" % (self.procs[key].pid, argv[0]))

    def stop(self, key, sig=signal.SIGTERM):
        proc = self.procs.pop(key, None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def haproxy_cfg(self, lb):
        return os.path.join(self.conf_dir, lb, "haproxy.cfg")

    def start_haproxy(self, lb):
        path = self.haproxy_cfg(lb)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(HAPROXY.format(name=lb, own_public=LBS[lb]["public"], own_internal=LBS[lb]["internal"],
                                        vip_public=VIPS["public"], vip_internal=VIPS["internal"],
                                        node_frontend_port=NODE_FRONTEND_PORT, node_address=NODE[0],
                                        node_port=NODE[1]))
        ns("nzha-" + lb, "haproxy", "-c", "-q", "-f", path)
        # The command line keepalived's track_process matches: haproxy -f <this lb's cfg> ...
        self.start("haproxy-" + lb, "nzha-" + lb, ["haproxy", "-f", path, "-db"], "haproxy-%s.log" % lb)

    def start_keepalived(self, lb, variant=""):
        conf = os.path.join(self.conf_dir, variant, lb, "keepalived.conf")
        run = os.path.join(self.work, lb)
        os.makedirs(run, exist_ok=True)
        # Started in the root namespace with --namespace (not under `ip netns exec`): keepalived then opens
        # the process-events connector, which only works in the root namespace, before it enters the LB's.
        self.start("keepalived-" + lb, None,
                   ["keepalived", "-n", "-l", "-D", "-s", "nzha-" + lb, "-f", conf, "-p", run + "/keepalived.pid",
                    "-r", run + "/vrrp.pid", "-c", run + "/checkers.pid"], "keepalived-%s.log" % lb)

    def reload_keepalived(self, lb):
        self.procs["keepalived-" + lb].send_signal(signal.SIGHUP)

    # --- the role's host firewall ----------------------------------------------------------------------
    def firewall_file(self, lb):
        return os.path.join(self.conf_dir, lb, "netzone_lb.nft")

    def load_firewall(self, lb):
        """Load the file the role rendered for ``lb`` into its namespace (only the netzone_lb table)."""
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
        """Every LB's configuration with or without check_unicast_src (the role renders it on), reloaded."""
        for lb in LBS:
            conf = os.path.join(self.conf_dir, lb, "keepalived.conf")
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
                self.check("the role renders check_unicast_src (%s)" % lb, False, conf)
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
        url = "http://%s:%d/" % (LBS["lb1"]["internal"], NODE_FRONTEND_PORT)
        through = self.connect("nzha-cl", LBS["lb1"]["internal"], NODE_FRONTEND_PORT)
        self.check("through HAProxy (user haproxy) the node answers", through == "ok", "%s: %s" % (url, through))
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
        return subprocess.Popen(["ip", "netns", "exec", "nzha-cl", sys.executable, script, VIPS["public"],
                                 str(seconds), str(gap)], stdout=subprocess.PIPE, text=True)

    @staticmethod
    def collect(proc):
        out, _err = proc.communicate(timeout=120)
        return json.loads(out)

    def check(self, name, ok, detail):
        self.results["checks"].append({"name": name, "ok": bool(ok), "detail": detail})
        print("%s %s: %s" % ("ok  " if ok else "FAIL", name, detail), flush=True)
        self.failed |= not ok

    # --- the scenario ----------------------------------------------------------------------------------
    def failover(self, action, restore, label, client_seconds=8.0):
        """Holder lb1 → lb2 after ``action``: seconds until lb2 holds the address, requests failed."""
        loop = self.client(client_seconds)
        time.sleep(1.5)
        moved_at = time.monotonic()
        action()
        took = self.wait_holder("lb2", timeout=10)
        moved_done = time.monotonic()
        requests = self.collect(loop)
        failed = [r for r in requests if not r["ok"]]
        after = [r for r in failed if r["start"] > moved_done]
        self.results["figures"][label] = {"seconds": took, "failed": len(failed), "requests": len(requests),
                                          "failed_after_move": len(after)}
        self.check("%s: the address moves to lb2" % label, took is not None,
                   "%s s, %d of %d requests failed (%d started after the move)"
                   % ("%.2f" % took if took is not None else "never", len(failed), len(requests), len(after)))
        self.check("%s: requests after the move are served by lb2" % label,
                   all(r["who"] == "lb2" for r in requests if r["start"] > moved_done and r["ok"])
                   and any(r["start"] > moved_done and r["ok"] for r in requests), "lb2 answered")
        restore()
        return moved_at

    def run(self):
        self.setup()
        node = [sys.executable, "-m", "http.server", "--bind", NODE[0], "--directory", self.work, str(NODE[1])]
        self.start("node", "nzha-cl", node, "node.log")
        for lb in LBS:
            self.load_firewall(lb)
        for lb in LBS:
            self.start_haproxy(lb)
        for lb in LBS:
            self.start_keepalived(lb)
        took = self.wait_holder("lb1", timeout=15)
        self.check("start: lb1 (priority 150, preempt) holds the public address", took is not None,
                   "after %.2f s" % took if took is not None else "never")
        took = self.wait_holder("lb1", "internal", timeout=5)
        self.check("start: lb1 holds the internal address", took is not None, "instance NZ_INTERNAL")
        for exposure in ("public", "internal"):
            seen, single, changes = self.sample(5.0, exposure)
            self.check("steady state (%s): exactly one holder" % exposure, single == seen and changes == 0,
                       "%d of %d samples over 5 s with one holder, %d changes" % (single, seen, changes))
        # A request reaches the holder; the backup's HAProxy is up and bound to the address too.
        requests = self.collect(self.client(1.0, 0.1))
        self.check("the client reaches lb1 through the address", requests and all(r["ok"] and r["who"] == "lb1"
                                                                                  for r in requests),
                   "%d requests" % len(requests))
        listening = ns("nzha-lb2", "ss", "-Hltn", "src", VIPS["public"], capture=True)
        self.check("the backup's HAProxy is bound to the address it does not hold (transparent)",
                   ":80" in listening, listening.strip() or "not listening")

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
            self.stop("haproxy-lb1", signal.SIGKILL)

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
        conf = os.path.join(self.conf_dir, "lb1", "keepalived.conf")
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
            self.stop("keepalived-" + lb)
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
            self.stop("haproxy-" + holder, signal.SIGKILL)
            took = self.wait_holder(other, timeout=10)
            self.check("nopreempt: HAProxy killed on %s moves the address to %s" % (holder, other), took is not None,
                       "after %.2f s" % took if took is not None else "never")
            self.start_haproxy(holder)
            seen, single, changes = self.sample(4.0)
            self.check("nopreempt: %s returning does not take the address back" % holder,
                       self.holders() == [other] and changes == 0, "holder %s, %d changes" % (self.holders(), changes))


def teardown_recorded(work):
    """End every recorded session (SIGTERM, then SIGKILL after 5 s) and delete every recorded namespace."""
    pids = os.path.join(work, "pids")
    if os.path.exists(pids):
        with open(pids, encoding="ascii") as handle:
            sessions = [(int(line.split()[0]), line.split()[1]) for line in handle if line.strip()]
        end_sessions(sessions, 5.0)
        os.unlink(pids)
    names = os.path.join(work, "namespaces")
    if os.path.exists(names):
        with open(names, encoding="ascii") as handle:
            for name in handle.read().split():
                sh("ip", "netns", "delete", name, check=False)
        os.unlink(names)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--conf-dir")
    parser.add_argument("--work-dir")
    parser.add_argument("--teardown", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("ha_lab.py: needs root (network namespaces)")
    if args.teardown:
        if not args.work_dir:
            sys.exit("ha_lab.py: --teardown needs --work-dir")
        teardown_recorded(args.work_dir)
        return 0
    if not args.conf_dir:
        sys.exit("ha_lab.py: --conf-dir is required")
    if args.work_dir:
        os.makedirs(args.work_dir, exist_ok=True)
    work = os.path.abspath(args.work_dir) if args.work_dir else tempfile.mkdtemp(prefix="nzha-")
    lab = Lab(os.path.abspath(args.conf_dir), work)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt("signal %d" % signum)

    signal.signal(signal.SIGTERM, on_signal)
    try:
        lab.run()
    except (RuntimeError, KeyboardInterrupt) as exc:
        lab.check("lab", False, str(exc))
    finally:
        lab.teardown()
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(lab.results, handle, indent=1)
    print("logs: %s" % work)
    return 1 if lab.failed else 0


if __name__ == "__main__":
    sys.exit(main())
