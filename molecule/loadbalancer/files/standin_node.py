"""A stand-in cluster node for the load balancer tests: answers every request on ADDRESS:PORT with JSON that
names the node and echoes what the ingress controller would see (path, host, forwarded headers, body size,
and every header as received, in order, duplicates included). Each request is also appended as one JSON
line to NAME.requests.jsonl next to PIDFILE, so that a test can see a request that reached a node without
being answered to the client (a smuggled one). It also sends a forged X-Netzone-Node header (the header
the load balancer uses to log the node).

Usage: standin_node.py NAME ADDRESS PORT PIDFILE  (daemonises itself; stop it with the PID in PIDFILE)."""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _read_body(self):
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

    def _answer(self):
        body_data = self._read_body()
        length = len(body_data)
        record = {"node": self.server.node_name, "request_line": self.requestline,
                  "headers": [[k, v] for k, v in self.headers.items()], "body": body_data.decode("latin-1")}
        with open(self.server.request_log, "a", encoding="utf-8") as log:
            log.write(json.dumps(record) + "\n")
        body = json.dumps({
            "node": self.server.node_name,
            "path": self.path,
            "method": self.command,
            "host": self.headers.get("Host"),
            "x_forwarded_for": self.headers.get("X-Forwarded-For"),
            "x_forwarded_proto": self.headers.get("X-Forwarded-Proto"),
            "x_request_id": self.headers.get("X-Request-ID"),
            "body_length": length,
            "request_line": self.requestline,
            "headers": record["headers"],
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
    server.request_log = os.path.join(os.path.dirname(os.path.abspath(pidfile)), "%s.requests.jsonl" % name)
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
