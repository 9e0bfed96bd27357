# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTTP stand-in a lab puts where a cluster node would be: a handler that takes any method, and a quiet
threaded server run in a thread of its own (the CRS lab's backend, tests/conformance/crs_lab.py, and the edge
lab's recording node, tests/support/edge_lab.py).

A lab subclasses :class:`AnyMethodHandler` and writes its ``answer()`` with :meth:`AnyMethodHandler.read_body`
and :meth:`AnyMethodHandler.reply`; :class:`StandinServer` serves it on ``address:port`` (0: a free port).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class AnyMethodHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 (keep-alive); every method, whatever its name, goes to ``answer()``; nothing is logged."""

    protocol_version = "HTTP/1.1"

    def answer(self):
        raise NotImplementedError

    def read_body(self):
        """The request's body: a chunked one (its trailers read and dropped), or Content-Length bytes, or b""."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def reply(self, body, content_type, status=200):
        """``status`` with ``body`` (bytes) and its length; no body to a HEAD request."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def __getattr__(self, name):
        if name.startswith("do_"):
            return self.answer
        raise AttributeError(name)

    def log_message(self, *args):
        pass


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """Clients (health checks, aborted tests) that close early are no error worth a traceback."""


class StandinServer:
    """``handler`` served on ``address:port`` (0: a free one, then in ``port``) by a daemon thread."""

    def __init__(self, address, port, handler):
        self.server = _QuietServer((address, port), handler)
        self.address, self.port = address, self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
