# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The load balancer's request path as the role renders it, run by a test on loopback: HAProxy (haproxy.cfg.j2)
-> nginx + ModSecurity + CRS (nginx.conf.j2, modsecurity.conf.j2, crs-setup.conf.j2, waf-rules.conf.j2) ->
HAProxy's inner listener -> a recording stand-in node. The templates are rendered with the role's defaults and
the routing that ``haproxy_routing`` computes; only what would clash with the host's own services is moved
(pid files, logs, the stats and admin sockets, the WAF's port, the inner socket) and the daemons run in the
foreground, started and ended by PID. Needs root, haproxy, nginx and libnginx-mod-http-modsecurity.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

import jinja2
import yaml

from ansible_collections.netzone.segmentation.plugins.module_utils._edge.vhosts import haproxy_routing, normalize_vhosts
from http_standin import AnyMethodHandler, StandinServer  # pylint: disable=import-error

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ROLE = os.path.join(ROOT, "roles", "loadbalancer")
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
MODSEC_MODULE = "/usr/share/nginx/modules/ngx_http_modsecurity_module.so"
CRS_RULES = "/usr/share/modsecurity-crs/rules"


def available():
    """Why the lab cannot run here (a reason for pytest.skip), or None."""
    if os.geteuid() != 0:
        return "needs root (HAProxy and nginx drop to their users)"
    for path in (HAPROXY, NGINX, MODSEC_MODULE, CRS_RULES):
        if not os.path.exists(path):
            return "%s is not installed" % path
    return None


def free_port(address="127.0.0.1"):
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def wait_port(address, port, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((address, port), timeout=0.3).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on %s:%d" % (address, port))


def render(template, variables):
    """One of the role's templates, rendered as Ansible's template module does (trim_blocks)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.join(ROLE, "templates")), trim_blocks=True,
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    return env.get_template(template).render(**variables)


def role_defaults():
    with open(os.path.join(ROLE, "defaults", "main.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def tls_profile(name="intermediate"):
    """The TLS profile as vars/main.yml defines it (a plain mapping there)."""
    with open(os.path.join(ROLE, "vars", "main.yml"), encoding="utf-8") as handle:
        profiles = yaml.safe_load(handle)["__loadbalancer_tls_profiles"]
    return profiles[name]


class _Recorder(AnyMethodHandler):

    def answer(self):
        body = self.read_body()
        self.server.requests.append({"line": self.requestline, "headers": list(self.headers.items()),
                                     "body": body})
        self.reply(json.dumps({"path": self.path}).encode(), "application/json")


class Node(StandinServer):
    """A cluster node stand-in that records every request it got (line, headers in order, body)."""

    def __init__(self, address):
        super().__init__(address, 0, _Recorder)
        self.server.requests = []
        self.start()

    @property
    def requests(self):
        """What reached the node, health checks left out."""
        return [r for r in self.server.requests if dict(r["headers"]).get("Host") != "netzone-lb-check"]


class EdgeLab:
    """HAProxy and the WAF as the role renders them, in front of a recording :class:`Node`.

    The files and logs are in ``workdir`` (a new directory, removed by :meth:`stop`). ``front`` is the public
    address (plain HTTP on ``http_port``, HTTPS with ALPN h2 on ``https_port``);
    ``overrides`` are role variables over the defaults (``loadbalancer_waf_mode``, ...); ``waf_access_log``
    turns on the WAF's access log (``access_log``, one line per request with its ``rid=``)."""

    def __init__(self, vhosts, front="127.0.79.1", node="127.0.79.2", overrides=None, waf_access_log=False):
        # Its own directory under /tmp (pytest's are private to root): the WAF's workers (www-data) reach the
        # inner socket in here.
        self.workdir = tempfile.mkdtemp(prefix="netzone-edge-lab-")
        os.chmod(self.workdir, 0o755)
        self.front = front
        self.node = Node(node)
        self.http_port, self.https_port = free_port(front), free_port(front)
        self.waf_port = free_port()
        self.procs = []
        variables = role_defaults()
        variables.update({
            "ansible_managed": "edge lab",
            "loadbalancer_config_dir": self.workdir,
            "loadbalancer_public_address": front,
            "loadbalancer_public_https_port": self.https_port,
            "loadbalancer_public_http_port": self.http_port,
            "loadbalancer_backend_port": self.node.port,
            "loadbalancer_backend_check_path": "/",
            "loadbalancer_backend_check_interval": "1s",
            "loadbalancer_waf_port": self.waf_port,
            "loadbalancer_waf_workers": "1",
            "loadbalancer_stats_port": free_port(),
            "loadbalancer_inner_socket": os.path.join(self.workdir, "inner.sock"),
            "loadbalancer_waf_audit_log": os.path.join(self.workdir, "audit.log"),
            "loadbalancer_waf_error_log_level": "info",
        })
        variables.update(overrides or {})
        self.access_log = os.path.join(self.workdir, "access.log") if waf_access_log else None
        if self.access_log:
            variables["loadbalancer_waf_access_log"] = self.access_log
        normalized = normalize_vhosts(vhosts, None)
        listeners = {"public": {"address": front, "https_port": self.https_port, "http_port": self.http_port}}
        variables.update({
            "__loadbalancer_tls": tls_profile(variables.get("loadbalancer_tls_profile", "intermediate")),
            "__loadbalancer_haproxy_routing": haproxy_routing(normalized, listeners,
                                                              variables.get("loadbalancer_default_vhost", ""),
                                                              *([variables["loadbalancer_request_headers"]]
                                                                if variables.get("loadbalancer_request_headers")
                                                                else [])),
            "__loadbalancer_crtlist_dir": self.workdir,
            "__loadbalancer_haproxy_nbthread": 1,
            "__loadbalancer_log_server": "127.0.0.1:9",
            "__loadbalancer_stats_hash": "$6$lab$x",
            "__loadbalancer_waf_user": "www-data",
            "__loadbalancer_waf_health_path": "/netzone-waf-health",
            "__loadbalancer_waf_state_dir": self.workdir,
            "__loadbalancer_nginx_dir": self.workdir,
            "__loadbalancer_nodes": [{"name": "node1", "address": node}],
            "__loadbalancer_https_ports": [self.https_port],
        })
        self.variables = variables
        self.error_log = os.path.join(self.workdir, "error.log")
        self.audit_log = variables["loadbalancer_waf_audit_log"]
        try:
            self._write(normalized)
        except BaseException:
            self.stop()
            raise

    def _write(self, vhosts):
        work = self.workdir
        for sub in ("tmp", "data"):
            os.makedirs(os.path.join(work, sub), exist_ok=True)
            shutil.chown(os.path.join(work, sub), "www-data", "www-data")
        pem = self.pem = os.path.join(work, "lab.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                        "/CN=%s" % vhosts[0]["name"], "-keyout", pem, "-out", pem + ".crt"],
                       check=True, capture_output=True)
        with open(pem, "a", encoding="ascii") as out, open(pem + ".crt", encoding="ascii") as crt:
            out.write(crt.read())
        with open(os.path.join(work, "public.crtlist"), "w", encoding="ascii") as handle:
            handle.write("%s %s\n" % (pem, " ".join([v["name"] for v in vhosts])))
        shutil.copy(os.path.join(ROLE, "files", "ffdhe2048.pem"), os.path.join(work, "ffdhe2048.pem"))
        cfg = render("haproxy.cfg.j2", self.variables)
        # What would clash with the host's HAProxy (its chroot, admin socket, log ring) stays out; the rest is
        # the role's configuration line for line.
        skip = ("\tchroot ", "\tstats socket ", "\tstats timeout ", "\tdaemon", "\tlog ring@", "\tlog-send-hostname")
        lines, in_ring = [], False
        for line in cfg.splitlines():
            if line.startswith("ring "):
                in_ring = True
                continue
            if in_ring:
                if line.startswith("\t") or not line.strip():
                    continue
                in_ring = False
            if line.startswith(skip) or line == "\tlog global":
                continue
            lines.append(line)
        self.haproxy_cfg = os.path.join(work, "haproxy.cfg")
        with open(self.haproxy_cfg, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        for name in ("modsecurity.conf", "crs-setup.conf", "waf-rules.conf"):
            with open(os.path.join(work, name), "w", encoding="utf-8") as handle:
                handle.write(render(name + ".j2", self.variables))
        nginx = render("nginx.conf.j2", self.variables)
        nginx = nginx.replace("pid /run/nginx.pid;", "pid %s/nginx.pid;" % work)
        nginx = nginx.replace("error_log /var/log/nginx/error.log", "error_log %s" % self.error_log)
        nginx = nginx.replace("load_module modules/", "load_module /usr/share/nginx/modules/")
        self.nginx_conf = os.path.join(work, "nginx.conf")
        with open(self.nginx_conf, "w", encoding="utf-8") as handle:
            handle.write(nginx)
        if not os.path.exists(self.audit_log):
            open(self.audit_log, "a", encoding="ascii").close()
            shutil.chown(self.audit_log, "www-data", "adm")
            os.chmod(self.audit_log, 0o640)

    def check(self):
        """haproxy -c and nginx -t on the rendered files: (ok, output)."""
        out = []
        for cmd in ([HAPROXY, "-c", "-q", "-f", self.haproxy_cfg], [NGINX, "-t", "-q", "-c", self.nginx_conf]):
            result = subprocess.run(cmd, capture_output=True, text=True, check=False)
            out.append(result.stdout + result.stderr)
            if result.returncode != 0:
                return False, "\n".join(out)
        return True, "\n".join(out)

    def start(self):
        """Start nginx and HAProxy and wait until the path answers; on any failure, stop what was started."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self):
        ok, output = self.check()
        if not ok:
            raise RuntimeError("the rendered configuration does not load:\n" + output)
        self.procs.append(subprocess.Popen([NGINX, "-c", self.nginx_conf, "-g", "daemon off;"],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port("127.0.0.1", self.waf_port)
        self.procs.append(subprocess.Popen([HAPROXY, "-db", "-f", self.haproxy_cfg],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(self.front, self.http_port)
        # Both the WAF and the node are up in HAProxy's health checks before a test sends anything.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            status, _body = self.get("/netzone-lab-warmup")
            if status == 200:
                return self
            time.sleep(0.2)
        raise RuntimeError("the path never answered 200")

    def stop(self):
        for proc in reversed(self.procs):
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self.procs = []
        self.node.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    # --- clients --------------------------------------------------------------------------------------

    def raw(self, data, port=None, timeout=5.0):
        """Send raw bytes to the plain-HTTP frontend; return everything read until the server closes."""
        with socket.create_connection((self.front, port or self.http_port), timeout=timeout) as conn:
            conn.sendall(data)
            chunks = b""
            try:
                while True:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    chunks += chunk
            except socket.timeout:
                pass
        return chunks

    def get(self, path, host=None, headers=()):
        host = host or self.variables["__loadbalancer_haproxy_routing"]["exposures"][0]["vhosts"][0]["name"]
        head = "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n" % (path, host)
        head += "".join("%s: %s\r\n" % pair for pair in headers)
        answer = self.raw((head + "\r\n").encode("latin-1"))
        status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else None
        return status, answer.partition(b"\r\n\r\n")[2]


def h2_request(address, port, headers, body=None, tls=True, server_name="localhost", timeout=5.0, pause=0.0):
    """One HTTP/2 request (h2 over TLS with ALPN, or h2c with prior knowledge) with the ``h2`` library:
    ``headers`` as sent (pseudo-headers first), ``body`` (bytes) in DATA frames after a HEADERS frame that
    does not end the stream, with no content-length unless ``headers`` has one; ``pause`` seconds between the
    HEADERS and the DATA. Returns (status, response headers, response body)."""
    import ssl  # pylint: disable=import-outside-toplevel

    import h2.config  # pylint: disable=import-outside-toplevel
    import h2.connection  # pylint: disable=import-outside-toplevel
    import h2.events  # pylint: disable=import-outside-toplevel

    sock = socket.create_connection((address, port), timeout=timeout)
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.set_alpn_protocols(["h2"])
        sock = context.wrap_socket(sock, server_hostname=server_name)
        if sock.selected_alpn_protocol() != "h2":
            raise RuntimeError("the server did not choose h2 (ALPN %r)" % sock.selected_alpn_protocol())
    config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8", validate_outbound_headers=False,
                                       normalize_outbound_headers=False)
    conn = h2.connection.H2Connection(config=config)
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    stream = conn.get_next_available_stream_id()
    conn.send_headers(stream, list(headers), end_stream=body is None)
    sock.sendall(conn.data_to_send())
    if body is not None:
        if pause:
            time.sleep(pause)
        conn.send_data(stream, body, end_stream=True)
        sock.sendall(conn.data_to_send())
    status, response_headers, data, done = None, [], b"", False
    deadline = time.monotonic() + timeout
    try:
        while not done and time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            for event in conn.receive_data(chunk):
                if isinstance(event, h2.events.ResponseReceived) and event.stream_id == stream:
                    response_headers = list(event.headers)
                    status = int(dict(response_headers)[":status"])
                elif isinstance(event, h2.events.DataReceived) and event.stream_id == stream:
                    data += event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, stream)
                elif isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)) and event.stream_id == stream:
                    done = True
                elif isinstance(event, h2.events.ConnectionTerminated):
                    done = True
            sock.sendall(conn.data_to_send())
    except socket.timeout:
        pass
    finally:
        sock.close()
    return status, response_headers, data
