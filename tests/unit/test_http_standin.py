# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The labs' HTTP stand-in node (tests/support/http_standin.py) and its two users, the CRS lab's backend and the
edge lab's recording node, served on 127.0.0.1 and spoken to over raw sockets."""

from __future__ import annotations

import json
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "conformance"))
import crs_lab  # noqa: E402  pylint: disable=wrong-import-position,import-error
import edge_lab  # noqa: E402  pylint: disable=wrong-import-position,import-error
import http_standin  # noqa: E402  pylint: disable=wrong-import-position,import-error

CHUNKED = (b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n")
LENGTH = b"PUT /b HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nwxyz"
ODD_METHOD = b"PURGE /c HTTP/1.1\r\nHost: x\r\n\r\n"
HEAD = b"HEAD /d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def _exchange(port, requests):
    """Send ``requests`` one after the other on one keep-alive connection; the answers, as (status line, headers,
    body), read by their Content-Length (no body after a HEAD)."""
    answers = []
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        stream = conn.makefile("rb")
        for request in requests:
            conn.sendall(request)
            status = stream.readline().rstrip(b"\r\n")
            headers = {}
            for line in iter(stream.readline, b"\r\n"):
                name, _sep, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            length = 0 if request.startswith(b"HEAD ") else int(headers["content-length"])
            answers.append((status, headers, stream.read(length)))
        assert stream.read() == b""                       # after "Connection: close": closed, nothing more sent
    return answers


class _Echo(http_standin.AnyMethodHandler):
    def answer(self):
        body = self.read_body()
        self.reply(b"%s %s %s" % (self.command.encode(), self.path.encode(), body), "text/plain", status=201)


def test_any_method_any_body_on_one_connection():
    server = http_standin.StandinServer("127.0.0.1", 0, _Echo).start()
    try:
        assert server.port != 0
        answers = _exchange(server.port, [CHUNKED, LENGTH, ODD_METHOD, HEAD])
    finally:
        server.stop()
    assert [a[0] for a in answers] == [b"HTTP/1.1 201 Created"] * 4
    # the chunked body whole (extension and trailer dropped) and nothing of it left to spoil the next request
    assert [a[2] for a in answers] == [b"POST /a abcde", b"PUT /b wxyz", b"PURGE /c ", b""]
    assert answers[3][1]["content-length"] == str(len(b"HEAD /d "))   # HEAD: the length, no body
    assert answers[0][1]["content-type"] == "text/plain"


def test_the_crs_backend_answers_200_to_anything():
    backend = crs_lab.StandinBackend("127.0.0.1", 0).start()
    try:
        answers = _exchange(backend.port, [LENGTH, ODD_METHOD, HEAD])
    finally:
        backend.stop()
    assert [a[0] for a in answers] == [b"HTTP/1.1 200 OK"] * 3
    assert [a[2] for a in answers] == [b"netzone stand-in node\n"] * 2 + [b""]


def test_the_edge_node_records_every_request_but_health_checks():
    node = edge_lab.Node("127.0.0.1")
    try:
        check = b"OPTIONS / HTTP/1.1\r\nHost: netzone-lb-check\r\n\r\n"
        answers = _exchange(node.port, [check, CHUNKED, LENGTH, ODD_METHOD, HEAD])
        recorded = node.requests
        everything = node.server.requests
    finally:
        node.stop()
    assert [a[0] for a in answers] == [b"HTTP/1.1 200 OK"] * 5
    assert [json.loads(a[2]) for a in answers[:4]] == [{"path": p} for p in ("/", "/a", "/b", "/c")]
    assert len(everything) == 5
    assert [(r["line"], r["body"]) for r in recorded] == [
        ("POST /a HTTP/1.1", b"abcde"), ("PUT /b HTTP/1.1", b"wxyz"), ("PURGE /c HTTP/1.1", b""),
        ("HEAD /d HTTP/1.1", b"")]
    assert recorded[0]["headers"][:2] == [("Host", "x"), ("Transfer-Encoding", "chunked")]
