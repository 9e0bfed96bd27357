# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers of the egress scenario (and benchmark), loopback only.

    egress_lab.py start PIDFILE LOGFILE USER CMD...   run CMD as USER in its own session, from / (a directory
                                                      every user may enter, never the clone), stdout+stderr
                                                      appended to LOGFILE, its PID in PIDFILE
    egress_lab.py stop PIDFILE WORD                   end the session of the PID of PIDFILE: every process of
                                                      that session whose command line has WORD gets SIGTERM,
                                                      then SIGKILL if it still runs after STOP_WAIT seconds;
                                                      returns once they are gone
    egress_lab.py probe JSON                          run the probes of the JSON list, print the results as JSON

A probe: {"name", "via": "proxy"|"direct"|"plain", "proxy": "addr:port", "target": "host:port", "ca": file,
"cert"/"key": client certificate (direct only)} -> {"name", "status" (CONNECT or HTTP status, or null),
"body" (first line of the answer through the tunnel), "error"}.
"""

import ipaddress
import json
import os
import pwd
import socket
import ssl
import subprocess
import sys

TIMEOUT = 10
STOP_WAIT = 5
# the labs' shared way of ending what they started (tests/support/sessions.py in this repository)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "tests", "support"))
from sessions import end_sessions  # noqa: E402  pylint: disable=wrong-import-position,import-error


def _loopback(host):
    addr = socket.gethostbyname(host) if not host.replace(".", "").isdigit() else host
    if not ipaddress.ip_address(addr).is_loopback:
        raise SystemExit("refusing to connect to %s (%s): loopback only" % (host, addr))
    return addr


def start(pidfile, logfile, user, cmd):
    entry = pwd.getpwnam(user)
    log = os.open(logfile, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.fchown(log, entry.pw_uid, entry.pw_gid)
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,  # noqa: S603
                            user=entry.pw_uid, group=entry.pw_gid, extra_groups=[], close_fds=True, cwd="/")
    with open(pidfile, "w", encoding="ascii") as handle:
        handle.write("%d\n" % proc.pid)


def stop(pidfile, word):
    try:
        with open(pidfile, encoding="ascii") as handle:
            pid = int(handle.read().strip())
    except (OSError, ValueError):
        pid = None
    if pid:
        end_sessions([(pid, word)], STOP_WAIT)
        print("stopped %d" % pid)
    if os.path.exists(pidfile):
        os.unlink(pidfile)


def _read_head(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def _status(head):
    try:
        return int(head.split(b"\r\n", 1)[0].split()[1])
    except (IndexError, ValueError):
        return None


def _get(tls, host):
    tls.sendall(("GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % host).encode())
    data = b""
    while True:
        chunk = tls.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _sep, body = data.partition(b"\r\n\r\n")
    return _status(head), body.decode(errors="replace").strip()


def probe(spec):
    out = {"name": spec["name"], "status": None, "body": None, "error": None}
    host, port = spec["target"].rsplit(":", 1)
    try:
        if spec["via"] == "direct":
            sock = socket.create_connection((_loopback(host if "addr" not in spec else spec["addr"]), int(port)),
                                            timeout=TIMEOUT)
            context = ssl.create_default_context(cafile=spec["ca"])
            if spec.get("cert"):
                context.load_cert_chain(spec["cert"], spec["key"])
            tls = context.wrap_socket(sock, server_hostname=host)
            out["status"], out["body"] = _get(tls, host)
            return out
        paddr, pport = spec["proxy"].rsplit(":", 1)
        sock = socket.create_connection((_loopback(paddr), int(pport)), timeout=TIMEOUT)
        if spec["via"] == "plain":   # an origination listener, or plain HTTP through the forward proxy
            path = spec.get("path", "/")
            sock.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, spec["target"])).encode())
            data = b""
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
            head, _sep, body = data.partition(b"\r\n\r\n")
            out["status"], out["body"] = _status(head), body.decode(errors="replace").strip()[:200]
            return out
        sock.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (spec["target"], spec["target"])).encode())
        out["status"] = _status(_read_head(sock))
        if out["status"] == 200:
            context = ssl.create_default_context(cafile=spec["ca"])
            tls = context.wrap_socket(sock, server_hostname=host)
            _code, out["body"] = _get(tls, host)
    except (OSError, ssl.SSLError) as exc:
        out["error"] = "%s: %s" % (type(exc).__name__, exc)
    return out


def main():
    cmd = sys.argv[1]
    if cmd == "start":
        start(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    elif cmd == "stop":
        stop(sys.argv[2], sys.argv[3])
    elif cmd == "probe":
        print(json.dumps([probe(spec) for spec in json.loads(sys.argv[2])]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
