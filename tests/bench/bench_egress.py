# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: the proxy zone's egress proxies vs direct, side by side in one run, on loopback only.

Squid and HAProxy run the configurations the collection compiles (with the addresses and resolver of the test
overlay, as in ``molecule/egress``) as this process's children on 127.0.40.21 (Squid) and 127.0.40.22 (HAProxy);
the stand-in TLS servers listen on 127.0.40.20:443 (internet) and 127.0.40.23:8443 (a provider that requires a
client certificate); they are a separate HAProxy answering every request itself (``http-request return``), so
that neither side of the comparison is limited by a slow stand-in.  Measured with the same client threads, each phase bounded in requests
and in time:

* TLS requests over long-lived CONNECT tunnels through Squid vs over long-lived direct TLS connections to the
  same stand-in: ``egress connect ratio: X`` (through / direct; target >= 0.7);
* new tunnels per second (CONNECT + TLS handshake + one request) vs new direct TLS connections per second;
* the origination path (plain HTTP keep-alive to HAProxy, which speaks TLS with the client certificate to the
  provider) in requests/s, next to direct TLS with the client certificate from the client.

Each pair (direct, then through the proxy) runs back to back in every round, and the ratios printed are the
medians over the rounds (the machine may be busy with other work).

Usage: ``python tests/bench/bench_egress.py [--requests 20000] [--connections 16] [--seconds 4] [--rounds 3]``.
Needs Debian's squid and haproxy (``make deps``) and root (the daemons run as the proxy and haproxy users).
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import os
import pwd
import re
import shutil
import signal
import statistics
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "build" / "collections"))

from ansible_collections.netzone.segmentation.plugins.module_utils._model.egress_workload import (  # noqa: E402
    haproxy_config,
    squid_config,
)
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import (  # noqa: E402
    default_matrix,
    normalize_matrix,
)

STANDIN_CFG = """global
    maxconn 2000
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend internet
    bind {internet}:443 ssl crt {pki}/internet.pem
    http-request return status 200 content-type text/plain string "internet"
frontend provider
    bind {provider}:8443 ssl crt {pki}/provider.pem verify required ca-file {pki}/client-ca.crt
    http-request return status 200 content-type text/plain string "provider"
"""
INTERNET, SQUID, HAPROXY, PROVIDER, DNS = "127.0.40.20", "127.0.40.21", "127.0.40.22", "127.0.40.23", "127.0.40.53"
HOST, PROVIDER_HOST = "api.example.com", "pay.example.net"
INVENTORY = {"groups": {"loadbalancers": ["127.0.0.2"], "microk8s": ["127.0.0.4"]}, "addresses": {}}


# --- certificates -------------------------------------------------------------------------------
def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _cert(subject_cn, key, issuer_cn, issuer_key, ca=False, names=(), client=False):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn)]))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
    if not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path, *objs, mode=0o644):
    data = b""
    for obj in objs:
        if isinstance(obj, x509.Certificate):
            data += obj.public_bytes(serialization.Encoding.PEM)
        else:
            data += obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())
    path.write_bytes(data)
    os.chmod(path, mode)


def make_pki(pki):
    pki.mkdir(parents=True)
    out = {}
    for ca in ("internet-ca", "provider-ca", "client-ca"):
        key = _key()
        out[ca] = (key, _cert(ca, key, ca, key, ca=True))
        _write(pki / (ca + ".crt"), out[ca][1])
    for name, ca, names, client in (("internet", "internet-ca", [HOST], False),
                                    ("provider", "provider-ca", [PROVIDER_HOST], False),
                                    ("client", "client-ca", ["netzone-egress-client"], True)):
        key = _key()
        cert = _cert(names[0], key, ca, out[ca][0], names=names, client=client)
        _write(pki / (name + ".crt"), cert)
        _write(pki / (name + ".key"), key)
        _write(pki / (name + ".pem"), cert, key)
    return pki


# --- the proxies ----------------------------------------------------------------------------------
def configs(workdir):
    raw = default_matrix()
    raw["egress"]["originations"] = [{"name": "payments", "from": ["backend"], "port": 8080,
                                      "upstream": "https://%s:8443" % PROVIDER_HOST, "ca": "provider-ca.crt",
                                      "client_cert": {"cert": "client.crt", "key": "client.key"}}]
    egress = normalize_matrix(raw, INVENTORY)["egress"]
    squid = squid_config(egress)
    squid = re.sub(r"(?m)^http_port (\d+) ", r"http_port %s:\1 " % SQUID, squid)
    squid = re.sub(r"(?m)^acl netzone_special dst 127\.0\.0\.0/8 .*$", "acl netzone_special dst 127.0.41.0/24", squid)
    squid += "hosts_file %s/hosts\ndns_nameservers %s\n" % (workdir, DNS)
    # the bench measures the proxy, not its logging to a file
    squid = squid.replace("access_log stdio:/dev/stdout", "access_log none")
    squid = re.sub(r"(?m)^access_log none logformat=\S+ ", "access_log none ", squid)
    haproxy = haproxy_config(egress)
    haproxy = re.sub(r"(?m)^    bind :(\d+)$", r"    bind %s:\1" % HAPROXY, haproxy)
    haproxy = haproxy.replace("    parse-resolv-conf", "    nameserver none %s:53" % DNS)
    haproxy = haproxy.replace("server provider %s:" % PROVIDER_HOST, "server provider %s:" % PROVIDER)
    haproxy = haproxy.replace("/etc/netzone/origination/", "%s/origination/" % workdir)
    haproxy = haproxy.replace("    option httplog", "    option httplog\n    no log")
    return squid, haproxy


def check_loopback(*addresses):
    for addr in addresses:
        route = subprocess.run(["ip", "-o", "route", "get", addr], capture_output=True, text=True, check=True).stdout
        if " dev lo " not in route or not ipaddress.ip_address(addr).is_loopback:
            raise SystemExit("%s is not on the loopback interface: %s" % (addr, route))


def run_as(user, cmd, log):
    entry = pwd.getpwnam(user)
    handle = open(log, "ab")  # pylint: disable=consider-using-with
    return subprocess.Popen(cmd, stdout=handle, stderr=handle, stdin=subprocess.DEVNULL,  # noqa: S603
                            user=entry.pw_uid, group=entry.pw_gid, extra_groups=[], start_new_session=True)


def wait_port(addr, port, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection((addr, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("nothing listens on %s:%d" % (addr, port))


# --- clients ----------------------------------------------------------------------------------------
def _response(conn):
    """Read one HTTP/1.1 response with Content-Length; return its status."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(16384)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    head, _sep, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
    while len(body) < length:
        chunk = conn.recv(16384)
        if not chunk:
            raise ConnectionError("closed")
        body += chunk
    return int(head.split()[1])


def _request(conn, host):
    conn.sendall(("GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % host).encode())
    if _response(conn) != 200:
        raise ConnectionError("not 200")


def _tunnel(ctx, via_proxy, host=HOST, addr=INTERNET, port=443):
    if via_proxy:
        sock = socket.create_connection((SQUID, 3128), timeout=10)
        sock.sendall(("CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (host, port, host, port)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError("proxy closed")
            head += chunk
        if int(head.split()[1]) != 200:
            raise ConnectionError("CONNECT refused: %r" % head[:40])
    else:
        sock = socket.create_connection((addr, port), timeout=10)
    return ctx.wrap_socket(sock, server_hostname=host)


def phase(threads, total, seconds, work):
    """Run ``work(stop)`` in threads until ``total`` operations or ``seconds``; return operations/s."""
    done, lock, stop = [0], threading.Lock(), threading.Event()
    errors = []
    deadline = time.monotonic() + seconds

    def count():
        with lock:
            done[0] += 1
            if done[0] >= total or time.monotonic() > deadline:
                stop.set()

    def runner():
        try:
            work(stop, count)
        except (OSError, ssl.SSLError, ConnectionError) as exc:
            errors.append(exc)
            stop.set()

    pool = [threading.Thread(target=runner) for _index in range(threads)]
    start = time.monotonic()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.monotonic() - start
    if errors:
        raise SystemExit("a phase failed: %s" % errors[0])
    return done[0] / elapsed, done[0]


def long_lived(ctx, via_proxy):
    def work(stop, count):
        conn = _tunnel(ctx, via_proxy)
        while not stop.is_set():
            _request(conn, HOST)
            count()
        conn.close()
    return work


def new_tunnels(ctx, via_proxy):
    def work(stop, count):
        while not stop.is_set():
            conn = _tunnel(ctx, via_proxy)
            _request(conn, HOST)
            conn.close()
            count()
    return work


def origination(via_haproxy, ctx=None):
    def work(stop, count):
        if via_haproxy:
            conn = socket.create_connection((HAPROXY, 8080), timeout=10)
        else:
            conn = ctx.wrap_socket(socket.create_connection((PROVIDER, 8443), timeout=10), server_hostname=PROVIDER_HOST)
        while not stop.is_set():
            _request(conn, PROVIDER_HOST)
            count()
        conn.close()
    return work


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--requests", type=int, default=20000, help="requests per phase (bound)")
    parser.add_argument("--connections", type=int, default=16, help="client threads / long-lived connections")
    parser.add_argument("--seconds", type=float, default=4.0, help="time bound per phase")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (medians are printed)")
    args = parser.parse_args()
    if not shutil.which("squid") or not shutil.which("haproxy"):
        print("egress bench skipped: Debian's squid and haproxy are not installed (make deps)")
        return 0
    check_loopback(INTERNET, SQUID, HAPROXY, PROVIDER, DNS)
    workdir = Path(tempfile.mkdtemp(prefix="netzone-egress-bench-"))
    os.chmod(workdir, 0o755)
    procs = []
    try:
        pki = make_pki(workdir / "pki")
        (workdir / "hosts").write_text("%s %s\n%s %s\n" % (INTERNET, HOST, PROVIDER, PROVIDER_HOST))
        orig = workdir / "origination" / "payments"
        orig.mkdir(parents=True)
        shutil.copy(pki / "provider-ca.crt", orig / "ca.crt")
        (orig / "client.pem").write_bytes((pki / "client.crt").read_bytes() + (pki / "client.key").read_bytes())
        os.chmod(orig / "client.pem", 0o644)
        squid, haproxy = configs(workdir)
        (workdir / "squid.conf").write_text(squid)
        (workdir / "haproxy.cfg").write_text(haproxy)
        for cmd in (["squid", "-k", "parse", "-f", str(workdir / "squid.conf")],
                    ["haproxy", "-c", "-q", "-f", str(workdir / "haproxy.cfg")]):
            subprocess.run(cmd, check=True, capture_output=True)
        (workdir / "standin.cfg").write_text(STANDIN_CFG.format(internet=INTERNET, provider=PROVIDER, pki=pki))
        # root: it binds port 443 (the allow-lists' default port)
        procs.append(run_as("root", ["haproxy", "-db", "-f", str(workdir / "standin.cfg")], workdir / "standin.log"))
        procs.append(run_as("proxy", ["squid", "-N", "-f", str(workdir / "squid.conf")], workdir / "squid.log"))
        procs.append(run_as("haproxy", ["haproxy", "-W", "-db", "-f", str(workdir / "haproxy.cfg")],
                            workdir / "haproxy.log"))
        for addr, port in ((INTERNET, 443), (PROVIDER, 8443), (SQUID, 3128), (HAPROXY, 8080)):
            wait_port(addr, port)

        ctx = ssl.create_default_context(cafile=str(pki / "internet-ca.crt"))
        pctx = ssl.create_default_context(cafile=str(pki / "provider-ca.crt"))
        pctx.load_cert_chain(str(pki / "client.crt"), str(pki / "client.key"))
        n, bound, secs = args.connections, args.requests, args.seconds
        print("egress bench: %d client threads, %d rounds, each phase at most %d operations or %.0f s, loopback only"
              % (n, args.rounds, bound, secs))
        pairs = (("long-lived", "direct long-lived TLS", long_lived(ctx, False),
                  "squid long-lived CONNECT tunnels", long_lived(ctx, True), bound),
                 ("new", "direct new TLS connections", new_tunnels(ctx, False),
                  "squid new CONNECT tunnels", new_tunnels(ctx, True), max(1, bound // 10)),
                 ("origination", "direct TLS with client certificate", origination(False, pctx),
                  "origination via haproxy", origination(True), bound))
        rates, ratios = {}, {}
        for rnd in range(args.rounds):   # the two sides of a pair run back to back: same load on the machine
            for key, dname, dwork, pname, pwork, total in pairs:
                direct, _count = phase(n, total, secs, dwork)
                proxied, _count = phase(n, total, secs, pwork)
                rates.setdefault(dname, []).append(direct)
                rates.setdefault(pname, []).append(proxied)
                ratios.setdefault(key, []).append(proxied / direct)
                print("  round %d  %-36s %8.0f /s   %-36s %8.0f /s   ratio %.2f"
                      % (rnd + 1, dname, direct, pname, proxied, proxied / direct))
        med = {name: statistics.median(values) for name, values in rates.items()}
        print("egress connect ratio: %.2f  (median of %d rounds: TLS requests over long-lived tunnels through "
              "squid / direct; target >= 0.7)" % (statistics.median(ratios["long-lived"]), args.rounds))
        print("egress new tunnels per second: %.0f through squid, %.0f direct new TLS connections (ratio %.2f)"
              % (med["squid new CONNECT tunnels"], med["direct new TLS connections"],
                 statistics.median(ratios["new"])))
        print("egress origination: %.0f req/s via haproxy, %.0f req/s direct TLS with the client certificate "
              "(ratio %.2f)" % (med["origination via haproxy"], med["direct TLS with client certificate"],
                                statistics.median(ratios["origination"])))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
