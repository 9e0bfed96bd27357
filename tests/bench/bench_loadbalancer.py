# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load balancer benchmark: wrk on loopback, the setups side by side in one run.

  role-static        the role's HAProxy, a WAF-bypassed static path (TLS -> HAProxy -> node), with the
                     role's logging (every request through HAProxy's log ring to the local rsyslog)
  bare-haproxy       a bare HAProxy TLS listener (same certificate and TLS settings) -> the same node, no logs
  bare-haproxy-logs  the same bare listener logging every request the way the role does (ring -> rsyslog)
  role-waf           the role's full WAF path (TLS -> HAProxy -> nginx+ModSecurity+CRS -> HAProxy inner -> node)
  direct-waf         nginx + ModSecurity + CRS with TLS, hit directly (same rules), proxying to the same node

The node is a small nginx answering 200 (fast, so that it is not the bottleneck), on 127.0.41.2 for the role
(whose host firewall, on as by default, lets only HAProxy's user reach it) and 127.0.41.6 for the baselines.
Everything listens on 127.0.41.x and is stopped (by PID) and restored at the end. The setups take turns for
--rounds rounds of --duration seconds (so that a slow spell of this shared machine hits all of them; every other
round in reverse order), each after rsyslog has written the previous one's log lines. Each figure is the median of
its rounds, and each ratio the median of the rounds' ratios. Only answers with a 2xx or 3xx status count as
served requests: every requests/s figure is (requests - non-2xx/3xx answers) / seconds. Prints requests/s, p50
and p99 for each setup, role-static / bare-haproxy (a bare HAProxy that logs nothing), the two ratios round by
round, and ends with ``lb static path ratio: X`` (role-static / bare-haproxy-logs: the same logging on both
sides, since logging every request with its id is part of the role; target >= 0.95) and ``lb waf path ratio:
Y`` (role-waf / direct-waf).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "conformance"))
from crs_lab import LbLab  # noqa: E402  pylint: disable=wrong-import-position

ROLE_FRONT = "127.0.41.1"
NODE = ("127.0.41.2", 8080)
# The same node on a second address for the baselines: the role's host firewall (on, as the role's default)
# lets only HAProxy's user connect to its nodes' port, so the bare HAProxy (root) and nginx (nobody) could not.
BASE_NODE = ("127.0.41.6", 8080)
BARE = "127.0.41.3"
DIRECT = "127.0.41.4"
BARE_LOGS = "127.0.41.5"
VHOST = "bench.test"
CERT = "/etc/haproxy/netzone/certs/%s.pem" % VHOST

ROLE_VARS = {
    "loadbalancer_public_address": ROLE_FRONT,
    "loadbalancer_public_http_port": 0,
    "loadbalancer_backend_nodes": [{"name": "benchnode", "address": NODE[0]}],
    "loadbalancer_backend_port": NODE[1],
    "loadbalancer_backend_check_path": "/",
    "loadbalancer_waf_port": 18281,
    "loadbalancer_stats_port": 18604,
    "loadbalancer_vhosts": [{"name": VHOST, "service": "bench", "waf": {"bypass_paths": ["/static/"]}}],
}

NODE_CONF = """
worker_processes 1;
pid {dir}/node.pid;
error_log {dir}/node-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    server {{
        listen {addr}:{port} backlog=4096;
        listen {base_addr}:{port} backlog=4096;
        location / {{ default_type text/plain; return 200 "netzone bench node\\n"; }}
    }}
}}
"""

DIRECT_CONF = """
worker_processes auto;
pid {dir}/direct.pid;
error_log {dir}/direct-error.log warn;
load_module /usr/lib/nginx/modules/ngx_http_modsecurity_module.so;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    underscores_in_headers on;
    ignore_invalid_headers off;
    modsecurity on;
    modsecurity_rules_file /etc/nginx/netzone/waf-rules.conf;
    upstream node {{ server {node_addr}:{node_port}; keepalive 64; }}
    server {{
        # reuseport: the kernel spreads wrk's connections over both workers (without it one worker
        # sometimes accepts them all and the baseline halves).
        listen {addr}:443 ssl backlog=4096 reuseport;
        ssl_certificate {cert};
        ssl_certificate_key {cert};
        ssl_protocols TLSv1.2 TLSv1.3;
        location / {{
            proxy_pass http://node;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
        }}
    }}
}}
"""

BARE_CONF = """
global
    daemon
    maxconn 4096
    pidfile {dir}/{name}.pid
{tls}
{log}
defaults
    mode http
{defaults_log}
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend {name}
    bind {addr}:443 ssl crt {cert} alpn h2,http/1.1
    default_backend node
backend node
    server node {node_addr}:{node_port}
"""


def role_log_settings(config):
    """The role's log settings, taken from its converged haproxy.cfg: the global ``log`` lines and its ring."""
    lines = config.splitlines()
    glob = [line.strip() for line in lines if line.strip().startswith(("log ring@", "log-send-hostname"))]
    start = next(i for i, line in enumerate(lines) if line.startswith("ring "))
    end = next(i for i in range(start + 1, len(lines)) if lines[i] and not lines[i][0].isspace())
    ring = [lines[start]] + ["    " + line.strip() for line in lines[start + 1:end] if line.strip()]
    return "\n".join(["    " + line for line in glob] + ring) + "\n"


BARE_DEFAULTS_LOG = """    log global
    option httplog
"""


def wrk(url, duration, connections, threads=2):
    """Run wrk; return (served requests/s, p50 ms, p99 ms, non-2xx/3xx count, socket errors): only 2xx and 3xx
    answers count as served."""
    out = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", "%ds" % duration, "--latency",
         "-H", "Host: %s" % VHOST, url],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=True, timeout=duration + 60).stdout
    total, seconds = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", out).groups()[:2]
    unit = re.search(r"\d+ requests in [\d.]+(us|ms|s|m)", out).group(1)
    seconds = float(seconds) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]

    def pct(name):
        value, unit = re.search(r"^\s*%s%%\s+([\d.]+)(us|ms|s)\s*$" % name, out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    bad = int(bad.group(1)) if bad else 0
    errors = re.search(r"Socket errors:.*", out)
    rps = (int(total) - bad) / seconds
    return rps, pct("50"), pct("99"), bad, (errors.group(0) if errors else "")


def paired_ratios(mine, theirs):
    """requests/s of one setup over another's, round by round."""
    return [run[0] / other[0] for run, other in zip(mine, theirs)]


def _wait_port(addr, port, timeout=10.0):
    import socket
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((addr, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("nothing listens on %s:%d" % (addr, port))


def _settle(path="/var/log/haproxy.log", quiet=0.6, limit=15.0):
    """Wait until rsyslog has written the previous setup's log lines (so that it does not eat into the next)."""
    deadline = time.monotonic() + limit
    last, still = -1, 0.0
    while time.monotonic() < deadline and still < quiet:
        size = os.path.getsize(path) if os.path.exists(path) else 0
        still = still + 0.2 if size == last else 0.0
        last = size
        time.sleep(0.2)


def _stop(pidfile, sig=signal.SIGTERM):
    try:
        with open(pidfile, encoding="ascii") as handle:
            pid = int(handle.read().split()[0])
        os.kill(pid, sig)
    except (OSError, ValueError, IndexError):
        pass


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--duration", type=int, default=6)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--haproxy-threads", default="auto",
                        help="the role's loadbalancer_haproxy_threads (default: auto, the role's default)")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian package wrk, in bindep.txt)")
    work = tempfile.mkdtemp(prefix="netzone-bench-lb-")
    fmt = {"dir": work, "addr": NODE[0], "port": NODE[1], "base_addr": BASE_NODE[0], "node_addr": BASE_NODE[0],
           "node_port": BASE_NODE[1], "cert": CERT}
    lab = LbLab(dict(ROLE_VARS, loadbalancer_haproxy_threads=args.haproxy_threads), name="bench")
    started = []
    try:
        lab.setup()  # installs haproxy and nginx too, on a fresh machine
        with open(os.path.join(work, "node.conf"), "w", encoding="utf-8") as handle:
            handle.write(NODE_CONF.format(**fmt))
        subprocess.run(["nginx", "-c", os.path.join(work, "node.conf")], check=True)
        started.append((os.path.join(work, "node.pid"), signal.SIGQUIT))
        _wait_port(*BASE_NODE)  # the role's address of the node is for HAProxy's user only
        with open("/etc/haproxy/haproxy.cfg", encoding="utf-8") as handle:
            role_config = handle.read()
        threads = re.search(r"^\s*nbthread\s+(\d+)", role_config, re.M)
        threads = "%s (nbthread %s)" % (args.haproxy_threads, threads.group(1) if threads else "not set")
        tls = "\n".join("    " + line.strip() for line in role_config.splitlines()
                        if line.strip().startswith(("ssl-default-bind", "ssl-dh-param-file")))
        for name, addr, log, defaults_log in (("bare", BARE, "", ""),
                                              ("bare-logs", BARE_LOGS, role_log_settings(role_config), BARE_DEFAULTS_LOG)):
            params = dict(fmt)
            params.update(name=name, addr=addr, tls=tls, defaults_log=defaults_log,
                          log=log)
            with open(os.path.join(work, name + ".cfg"), "w", encoding="utf-8") as handle:
                handle.write(BARE_CONF.format(**params))
            subprocess.run(["haproxy", "-f", os.path.join(work, name + ".cfg")], check=True)
            started.append((os.path.join(work, name + ".pid"), signal.SIGTERM))
        with open(os.path.join(work, "direct.conf"), "w", encoding="utf-8") as handle:
            params = dict(fmt)
            params.update(addr=DIRECT)
            handle.write(DIRECT_CONF.format(**params))
        subprocess.run(["nginx", "-c", os.path.join(work, "direct.conf")], check=True)
        started.append((os.path.join(work, "direct.pid"), signal.SIGQUIT))
        for addr in (ROLE_FRONT, BARE, BARE_LOGS, DIRECT):
            _wait_port(addr, 443)
        time.sleep(2)  # health checks

        setups = [
            ("role-static", "https://%s/static/app.css" % ROLE_FRONT),
            ("bare-haproxy", "https://%s/static/app.css" % BARE),
            ("bare-haproxy-logs", "https://%s/static/app.css" % BARE_LOGS),
            ("role-waf", "https://%s/shop/item?id=42&q=blue+shoes" % ROLE_FRONT),
            ("direct-waf", "https://%s/shop/item?id=42&q=blue+shoes" % DIRECT),
        ]
        for _name, url in setups:  # warm up every path (TLS sessions, connection pools)
            wrk(url, 1, 4, threads=1)
        rounds = {name: [] for name, _url in setups}
        for number in range(args.rounds):
            # Every other round runs the setups in reverse order, so that a slow spell that builds up or eases
            # off during a round favours neither side of a ratio.
            for name, url in (setups if number % 2 == 0 else setups[::-1]):
                _settle()
                rounds[name].append(wrk(url, args.duration, args.connections))
            print("round %d: %s" % (number + 1, ", ".join(
                "%s %.0f" % (name, rounds[name][-1][0]) for name, _url in setups)), flush=True)
        print("%-18s %12s %10s %10s %8s" % ("setup", "served/s", "p50 ms", "p99 ms", "non-2xx/3xx"))
        for name, _url in setups:
            runs = rounds[name]
            rps, p50, p99 = (statistics.median(run[i] for run in runs) for i in range(3))
            errors = "; ".join(sorted({run[4] for run in runs if run[4]}))
            print("%-18s %12.0f %10.2f %10.2f %8d %s" % (name, rps, p50, p99, sum(run[3] for run in runs), errors))
        print("wrk: %d rounds of %d s per setup (medians), %d connections, 2 threads, keep-alive, TLS; "
              "nginx WAF workers: auto (%d CPUs); role's HAProxy threads: %s"
              % (args.rounds, args.duration, args.connections, os.cpu_count(), threads))
        print("ratios: medians of the rounds' ratios of served requests/s (2xx/3xx only)")
        static = paired_ratios(rounds["role-static"], rounds["bare-haproxy-logs"])
        waf = paired_ratios(rounds["role-waf"], rounds["direct-waf"])
        print("role-static / bare-haproxy (a bare HAProxy that logs nothing): %.2f"
              % statistics.median(paired_ratios(rounds["role-static"], rounds["bare-haproxy"])))
        print("static path, per round: %s" % " ".join("%.2f" % ratio for ratio in static))
        print("waf path, per round: %s" % " ".join("%.2f" % ratio for ratio in waf))
        print("lb static path ratio: %.2f" % statistics.median(static))
        print("lb waf path ratio: %.2f" % statistics.median(waf))
    finally:
        for pidfile, sig in started:
            _stop(pidfile, sig)
        lab.teardown()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
