# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in "internet" TLS servers for the egress scenario and benchmark, on loopback only.

    standin_tls.py PIDFILE NAME:ADDRESS:PORT:CERT:KEY[:CLIENT_CA] ...

Each listener answers every HTTP/1.1 request (keep-alive) with 200 and a body naming the listener, the SNI the
client sent and, when CLIENT_CA is given (the client must then present a certificate signed by it), the
client certificate's common name:  ``<name> sni=<sni> client=<cn>``.  Detaches, writes its PID to PIDFILE.
"""

import ipaddress
import os
import socket
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 - the http.server API
        sni = getattr(self.connection, "netzone_sni", None) or "-"
        client = "-"
        cert = self.connection.getpeercert() if isinstance(self.connection, ssl.SSLSocket) else None
        if cert:
            for rdn in cert.get("subject", ()):
                for key, value in rdn:
                    if key == "commonName":
                        client = value
        host = self.headers.get("Host", "-")
        body = ("%s sni=%s client=%s host=%s\n" % (self.server.netzone_name, sni, client, host)).encode()
        head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(body)
        self.wfile.write(head.encode("ascii") + body)   # head and body in one write

    def log_message(self, *args):  # quiet
        pass


class TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, name, address, port, context):
        self.netzone_name = name
        self.netzone_context = context
        super().__init__((address, port), Handler)

    def finish_request(self, request, client_address):
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)   # no Nagle stall between head and body
        try:
            tls = self.netzone_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            request.close()
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        except (ssl.SSLError, OSError):
            pass
        finally:
            try:
                tls.close()
            except OSError:
                pass


def _remember_sni(conn, server_name, _context):
    conn.netzone_sni = server_name


def listener(spec):
    parts = spec.split(":")
    name, address, port, cert, key = parts[:5]
    if not ipaddress.ip_address(address).is_loopback:
        raise SystemExit("refusing to listen on %s: loopback only" % address)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = _remember_sni
    if len(parts) > 5 and parts[5]:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(parts[5])
    return TLSServer(name, address, int(port), context)


def main():
    pidfile, specs = sys.argv[1], sys.argv[2:]
    servers = [listener(spec) for spec in specs]   # bind before detaching: errors show
    if os.fork():
        os._exit(0)
    os.setsid()
    os.chdir("/")   # a daemon holds no directory of the clone
    with open(pidfile, "w", encoding="ascii") as handle:
        handle.write("%d\n" % os.getpid())
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    socket.setdefaulttimeout(30)
    main()
