"""A stand-in cluster node for the load balancer tests: answers every request on ADDRESS:PORT with JSON that
names the node and echoes what the ingress controller would see (path, host, forwarded headers, body size).
It also sends a forged X-Netzone-Node header (the header the load balancer uses to log the node).

Usage: standin_node.py NAME ADDRESS PORT PIDFILE  (daemonises itself; stop it with the PID in PIDFILE)."""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = json.dumps({
            "node": self.server.node_name,
            "path": self.path,
            "method": self.command,
            "host": self.headers.get("Host"),
            "x_forwarded_for": self.headers.get("X-Forwarded-For"),
            "x_forwarded_proto": self.headers.get("X-Forwarded-Proto"),
            "x_request_id": self.headers.get("X-Request-ID"),
            "body_length": length,
        }).encode() + b"\n"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        # A node cannot name another one in the load balancer's log: this is replaced, and never reaches the client.
        self.send_header("X-Netzone-Node", "forged-by-node")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = do_PATCH = _answer

    def log_message(self, *args):
        pass


def main(name, address, port, pidfile):
    server = ThreadingHTTPServer((address, int(port)), Handler)
    server.daemon_threads = True
    server.node_name = name
    if os.fork():
        os._exit(0)
    os.setsid()
    if os.fork():
        os._exit(0)
    with open(pidfile, "w", encoding="ascii") as handle:
        handle.write("%d\n" % os.getpid())
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    server.serve_forever()


if __name__ == "__main__":
    main(*sys.argv[1:5])
