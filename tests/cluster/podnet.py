#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What runs inside a pod's or a peer's network namespace (started with ``ip netns exec``), stdlib only.

``respond IDENTITY --tcp 80,8080 --udp 53``: answer every TCP connection and UDP datagram on those ports
with ``IDENTITY port/proto``; a UDP datagram that parses as a DNS query gets a DNS answer carrying the
identity in a TXT record. Runs until killed (the harness stops it by PID).

``probe`` reads a JSON list of ``{"id", "addr", "port", "proto"}`` on stdin and prints a JSON list of
``{"id", "ok", "answer"}``: ``ok`` is true when the target answered (TCP: connected and read the identity;
UDP: a reply came). Every probe is bounded by ``--timeout`` seconds; at most ``--parallel`` run at once.
"""

from __future__ import annotations

import argparse
import json
import socket
import struct
import sys
import threading
from concurrent.futures import ThreadPoolExecutor


def _dns_answer(query: bytes, identity: str) -> bytes | None:
    """A DNS response to ``query`` with one TXT answer (the identity), or None if it is not a query."""
    if len(query) < 12:
        return None
    qid, flags, qdcount = struct.unpack("!HHH", query[:6])
    if flags & 0x8000 or qdcount != 1:
        return None
    end = 12
    while end < len(query) and query[end] != 0:
        end += query[end] + 1
    end += 5  # the root label, QTYPE, QCLASS
    if end > len(query):
        return None
    question = query[12:end]
    txt = identity.encode()[:255]
    answer = (b"\xc0\x0c" + struct.pack("!HHIH", 16, 1, 5, len(txt) + 1) + bytes([len(txt)]) + txt)
    header = struct.pack("!HHHHHH", qid, 0x8180 | (flags & 0x0100), 1, 1, 0, 0)
    return header + question + answer


def _tcp_server(port: int, identity: str) -> None:
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
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


def _udp_server(port: int, identity: str) -> None:
    srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    srv.bind(("0.0.0.0", port))
    plain = ("%s %d/UDP\n" % (identity, port)).encode()
    while True:
        data, addr = srv.recvfrom(2048)
        dns = _dns_answer(data, "%s %d/UDP" % (identity, port))
        srv.sendto(dns if dns is not None else plain, addr)


def respond(identity: str, tcp: list[int], udp: list[int]) -> None:
    threads = [threading.Thread(target=_tcp_server, args=(p, identity), daemon=True) for p in tcp]
    threads += [threading.Thread(target=_udp_server, args=(p, identity), daemon=True) for p in udp]
    for t in threads:
        t.start()
    print("ready", flush=True)
    for t in threads:
        t.join()


def _dns_query(qid: int) -> bytes:
    name = b"".join(bytes([len(p)]) + p for p in (b"probe", b"netzone", b"test")) + b"\x00"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + name + struct.pack("!HH", 16, 1)


def _dns_txt(data: bytes) -> str:
    """The first TXT answer of a DNS response made by :func:`_dns_answer` ('' if there is none)."""
    end = 12
    while end < len(data) and data[end] != 0:
        end += data[end] + 1
    end += 5 + 12  # root label, QTYPE, QCLASS; answer name pointer, TYPE, CLASS, TTL, RDLENGTH
    if end >= len(data) or struct.unpack("!H", data[6:8])[0] < 1:
        return ""
    return data[end + 1:end + 1 + data[end]].decode(errors="replace")


def probe_one(target: dict, timeout: float) -> dict:
    addr, port, proto = target["addr"], int(target["port"]), target["proto"].upper()
    out = {"id": target["id"], "ok": False, "answer": ""}
    try:
        if proto == "TCP":
            with socket.create_connection((addr, port), timeout=timeout) as conn:
                conn.settimeout(timeout)
                data = conn.recv(256)
                out["ok"] = True
                out["answer"] = data.decode(errors="replace").strip()
        else:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.settimeout(timeout)
                qid = (hash((addr, port)) & 0xFFFF) or 1
                sock.sendto(_dns_query(qid) if target.get("dns") else b"probe\n", (addr, port))
                data, _src = sock.recvfrom(2048)
                out["ok"] = True
                out["answer"] = (_dns_txt(data) if target.get("dns") else data.decode(errors="replace")).strip()
    except OSError as exc:
        out["answer"] = type(exc).__name__
    return out


def probe(timeout: float, parallel: int) -> None:
    targets = json.load(sys.stdin)
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        results = list(pool.map(lambda t: probe_one(t, timeout), targets))
    json.dump(results, sys.stdout)


def _ports(text: str) -> list[int]:
    return [int(p) for p in text.split(",") if p]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("respond")
    r.add_argument("identity")
    r.add_argument("--tcp", type=_ports, default=[])
    r.add_argument("--udp", type=_ports, default=[])
    p = sub.add_parser("probe")
    p.add_argument("--timeout", type=float, default=1.0)
    p.add_argument("--parallel", type=int, default=32)
    args = ap.parse_args(argv)
    if args.cmd == "respond":
        respond(args.identity, args.tcp, args.udp)
    else:
        probe(args.timeout, args.parallel)
    return 0


if __name__ == "__main__":
    sys.exit(main())
