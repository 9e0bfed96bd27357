# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Two load balancers and a client in network namespaces, with real keepalived and HAProxy: failover measured.

Namespaces (all named ``nzha-*``, removed on exit): ``nzha-br`` holds the bridge (nothing is added to the root
namespace), ``nzha-lb1`` and ``nzha-lb2`` the load balancers, ``nzha-cl`` the client. Addresses come from the
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

LBS = {"lb1": {"public": "192.0.2.11", "internal": "198.51.100.11"},
       "lb2": {"public": "192.0.2.12", "internal": "198.51.100.12"}}
CLIENT = {"public": "192.0.2.100", "internal": "198.51.100.100"}
VIPS = {"public": "192.0.2.10", "internal": "198.51.100.10"}
NAMESPACES = ["nzha-br", "nzha-lb1", "nzha-lb2", "nzha-cl"]
HAPROXY = """global
\tmaxconn 1000
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
        hosts = dict(LBS, cl=CLIENT)
        for host, addresses in hosts.items():
            peer = "nzha-cl" if host == "cl" else "nzha-" + host
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
                                        vip_public=VIPS["public"], vip_internal=VIPS["internal"]))
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


def _session(sid, word):
    """The processes of session SID (started by us as its leader) whose command line has WORD."""
    out = []
    for entry in os.listdir("/proc"):
        try:
            with open("/proc/%s/stat" % entry, encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid and fields[0] != "Z" and word in cmdline:
            out.append(int(entry))
    return out


def teardown_recorded(work):
    """End every recorded session (SIGTERM, then SIGKILL after 5 s) and delete every recorded namespace."""
    pids = os.path.join(work, "pids")
    if os.path.exists(pids):
        with open(pids, encoding="ascii") as handle:
            sessions = [(int(line.split()[0]), line.split()[1]) for line in handle if line.strip()]
        for sig in (signal.SIGTERM, signal.SIGKILL):
            members = [pid for sid, word in sessions for pid in _session(sid, word)]
            for pid in members:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            end = time.monotonic() + 5
            while time.monotonic() < end and any(_session(sid, word) for sid, word in sessions):
                time.sleep(0.1)
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
