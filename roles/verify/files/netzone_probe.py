# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The program of the verify role's probe pods (Python 3 standard library only; shipped in a ConfigMap).

``respond --identity NS/POD --tcp 80,8080 --udp 53``: answer every TCP connection and UDP datagram on those ports
with ``NS/POD PORT/PROTO``; exits after ``--lifetime`` seconds (the pod's activeDeadlineSeconds bounds it too).

``probe --targets FILE --result FILE``: FILE is a JSON list of ``{"id", "addr", "port", "proto", "ident", "dns"}``;
each target counts as reached only when the answer names ``ident`` (a DNS target: when a DNS answer comes back).
Writes ``netzone-probe/1`` and one character per target (``1`` reached, ``0`` not) to the result file (the
container's termination message) and to stdout. Every probe is bounded by ``--timeout`` seconds, at most
``--parallel`` at once.
"""

from __future__ import annotations

import argparse
import json
import socket
import struct
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

RESULT_MAGIC = "netzone-probe/1"


def _ports(text):
    return [int(p) for p in text.split(",") if p]


def _dns_query(qid):
    name = b"".join(bytes([len(p)]) + p for p in (b"kubernetes", b"default", b"svc", b"cluster", b"local")) + b"\x00"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + name + struct.pack("!HH", 1, 1)


def _tcp_server(port, identity, bind):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((bind, port))
    srv.listen(64)
    reply = ("%s %d/TCP\n" % (identity, port)).encode()
    while True:
        conn, _addr = srv.accept()
        try:
            conn.settimeout(2)
            conn.sendall(reply)
        except OSError:
            pass
        finally:
            conn.close()


def _udp_server(port, identity, bind):
    srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    srv.bind((bind, port))
    reply = ("%s %d/UDP\n" % (identity, port)).encode()
    while True:
        _data, addr = srv.recvfrom(2048)
        srv.sendto(reply, addr)


def respond(identity, tcp, udp, lifetime, bind="0.0.0.0"):
    for port in tcp:
        threading.Thread(target=_tcp_server, args=(port, identity, bind), daemon=True).start()
    for port in udp:
        threading.Thread(target=_udp_server, args=(port, identity, bind), daemon=True).start()
    print("ready", flush=True)
    time.sleep(lifetime)


def probe_one(target, timeout):
    """True when the target answered as itself."""
    addr, port, proto = target["addr"], int(target["port"]), target["proto"].upper()
    try:
        if proto == "TCP":
            with socket.create_connection((addr, port), timeout=timeout) as conn:
                if target.get("dns") or not target.get("ident"):
                    return True  # a DNS server over TCP: the connection is the answer
                conn.settimeout(timeout)
                return conn.recv(256).decode(errors="replace").startswith(target["ident"] + " ")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(timeout)
            qid = (target["id"] * 7919 + port) & 0xFFFF or 1
            sock.sendto(_dns_query(qid) if target.get("dns") else b"probe\n", (addr, port))
            data, _src = sock.recvfrom(2048)
            if target.get("dns"):
                return len(data) >= 12 and struct.unpack("!H", data[:2])[0] == qid and bool(data[2] & 0x80)
            return data.decode(errors="replace").startswith(target["ident"] + " ")
    except OSError:
        return False


def probe(targets_file, result_file, timeout, parallel, settle):
    with open(targets_file, encoding="utf-8") as handle:
        targets = json.load(handle)
    time.sleep(settle)  # the policy engine learns the new pods' addresses from the API server
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        oks = list(pool.map(lambda t: probe_one(t, timeout), targets))
    line = "%s %s" % (RESULT_MAGIC, "".join("1" if ok else "0" for ok in oks))
    with open(result_file, "w", encoding="utf-8") as handle:
        handle.write(line)
    print(line, flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="cmd")
    r = sub.add_parser("respond")
    r.add_argument("--identity", required=True)
    r.add_argument("--tcp", type=_ports, default=[])
    r.add_argument("--udp", type=_ports, default=[])
    r.add_argument("--lifetime", type=float, default=300)
    r.add_argument("--bind", default="0.0.0.0")
    p = sub.add_parser("probe")
    p.add_argument("--targets", required=True)
    p.add_argument("--result", default="/dev/termination-log")
    p.add_argument("--timeout", type=float, default=1.0)
    p.add_argument("--parallel", type=int, default=32)
    p.add_argument("--settle", type=float, default=3.0)
    args = parser.parse_args(argv)
    if args.cmd == "respond":
        respond(args.identity, args.tcp, args.udp, args.lifetime, args.bind)
    elif args.cmd == "probe":
        probe(args.targets, args.result, args.timeout, args.parallel, args.settle)
    else:
        parser.error("respond or probe")
    return 0


if __name__ == "__main__":
    sys.exit(main())
