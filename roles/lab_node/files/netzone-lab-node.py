# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A STAND-IN for a cluster node's ingress controller, for the lab only (there is no Kubernetes there).

It answers every request with a short text that says who answered and which virtual host was asked for,
and /healthz with "ok", so the load balancer in front of it has a real backend to check and forward to.
Usage: netzone-lab-node.py ADDRESS PORT
"""

import http.server
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "netzone-lab-node"

    def _answer(self, body_wanted):
        if self.path.split("?")[0] == "/healthz":
            text = "ok\n"
        else:
            text = ("Hello from %s (path %s)\nServed by the lab's STAND-IN cluster node %s:%d (no Kubernetes in this lab;\n"
                    "a real cluster's ingress controller answers here). The request passed the load balancer and\n"
                    "its WAF: X-Forwarded-For=%s X-Forwarded-Proto=%s\n"
                    % (self.headers.get("Host", "?"), self.path, self.server.server_address[0],
                       self.server.server_address[1], self.headers.get("X-Forwarded-For", "-"),
                       self.headers.get("X-Forwarded-Proto", "-")))
        data = text.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body_wanted:
            self.wfile.write(data)

    def do_GET(self):  # noqa: N802 - http.server's naming
        self._answer(True)

    def do_HEAD(self):  # noqa: N802
        self._answer(False)

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(min(length, 1 << 20))
        self._answer(True)

    def log_message(self, *args):
        pass


def main():
    address, port = sys.argv[1], int(sys.argv[2])
    http.server.ThreadingHTTPServer.allow_reuse_address = True
    http.server.ThreadingHTTPServer((address, port), Handler).serve_forever()


if __name__ == "__main__":
    main()
