# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ha lab's request scripts (tests/ha/ha_lab.py: REQUEST and CLIENT_LOOP, both built on its GET part), run as
the lab runs them (python3 -c / a file) against a stand-in server on 127.0.0.1, plain and over TLS."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
sys.path.insert(0, os.path.join(HERE, "..", "ha"))
import ha_lab  # noqa: E402  pylint: disable=wrong-import-position,import-error
import http_standin  # noqa: E402  pylint: disable=wrong-import-position,import-error

BIG = b"x" * 100000   # more than the scripts read (64 KiB), in many recv()s


class _Node(http_standin.AnyMethodHandler):
    def answer(self):
        if self.path == "/big":
            self.reply(BIG, "text/plain")
        else:   # 200 to the client loop's request, 403 to any other
            text = b"  node %s %s %s\n" % (self.command.encode(), self.path.encode(), self.headers["Host"].encode())
            self.reply(text, "text/plain", status=200 if self.path == "/shop/item?id=7" else 403)


@pytest.fixture(name="server", params=["plain", "tls"])
def _server(request, tmp_path):
    server = http_standin.StandinServer("127.0.0.1", 0, _Node)
    if request.param == "tls":
        pem = str(tmp_path / "lab.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",  # noqa: S603,S607
                        "-subj", "/CN=shop.example.com", "-keyout", pem, "-out", pem],
                       check=True, capture_output=True)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pem)
        server.server.socket = context.wrap_socket(server.server.socket, server_side=True)
    server.start()
    yield request.param, server
    server.stop()


def _request(tls, port, path):
    done = subprocess.run([sys.executable, "-c", ha_lab.REQUEST, "127.0.0.1", str(port), "shop.example.com",  # noqa: S603
                           path, tls], capture_output=True, text=True, timeout=30, check=True)
    return done.stdout


def test_request_prints_the_status_and_the_body(server):
    tls, standin = server
    assert _request(tls, standin.port, "/admin?id=7") == "403 node GET /admin?id=7 shop.example.com\n"


def test_request_reads_the_answer_up_to_64_kib(server):
    tls, standin = server
    # the first 80 characters of what was read: the body starts right after the head, so 80 x's
    assert _request(tls, standin.port, "/big") == "200 %s\n" % ("x" * 80)


def test_request_names_the_error_when_nothing_listens():
    server = http_standin.StandinServer("127.0.0.1", 0, _Node)
    port = server.port
    server.server.server_close()                          # bound, then closed (never served): nothing listens
    assert _request("plain", port, "/") == "error ConnectionRefusedError\n"


def test_get_reads_until_close_and_stops_at_64_kib():
    scope = {}
    exec(ha_lab.GET, scope)  # noqa: S102  pylint: disable=exec-used

    class Conn:
        def __init__(self, answer):
            self.answer, self.sent, self.reads = answer, b"", 0

        def sendall(self, data):
            self.sent += data

        def recv(self, size):
            self.reads += 1
            chunk, self.answer = self.answer[:size], self.answer[size:]
            return chunk

    short = Conn(b"HTTP/1.1 200 OK\r\nX: y\r\n\r\n  hello  ")
    assert scope["get"](short, "h.example", "/p?q=1") == b"HTTP/1.1 200 OK\r\nX: y\r\n\r\n  hello  "
    assert short.sent == (b"GET /p?q=1 HTTP/1.1\r\nHost: h.example\r\nUser-Agent: ha-lab\r\nAccept: */*\r\n"
                          b"Connection: close\r\n\r\n")
    assert short.reads == 2                               # the answer, then the close (b"")
    long = Conn(b"HTTP/1.1 200 OK\r\n\r\n" + BIG)
    assert len(scope["get"](long, "h", "/")) == 65536 and long.reads == 16   # 16 full recv()s, then it stops
    assert scope["body"](b"HTTP/1.1 200 OK\r\n\r\n  node 1 \n") == "node 1"
    assert scope["body"](b"no head at all") == "no head at all"


def test_client_loop_records_each_request(tmp_path):
    """CLIENT_LOOP as the lab writes and runs it, on port 443 of an address of its own on loopback, over TLS."""
    pem = str(tmp_path / "lab.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",  # noqa: S603,S607
                    "-subj", "/CN=shop.example.com", "-keyout", pem, "-out", pem], check=True, capture_output=True)
    try:
        server = http_standin.StandinServer("127.0.93.1", 443, _Node)
    except OSError as exc:
        pytest.skip("127.0.93.1:443 is not free here: %s" % exc)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pem)
    server.server.socket = context.wrap_socket(server.server.socket, server_side=True)
    server.start()
    script = tmp_path / "client.py"
    script.write_text(ha_lab.CLIENT_LOOP, encoding="utf-8")
    try:
        done = subprocess.run([sys.executable, str(script), "127.0.93.1", "shop.example.com", "0.5", "0.05"],  # noqa: S603
                              capture_output=True, text=True, timeout=30, check=True)
    finally:
        server.stop()
    requests = json.loads(done.stdout)
    assert 1 <= len(requests) <= 20000
    for entry in requests:
        assert entry["body"] == "node GET /shop/item?id=7 shop.example.com"
        assert entry["ok"] is True
        assert entry["start"] <= entry["end"]
