"""Attack tests of the load balancer's edge, with raw requests over TLS (Python ssl sockets).

What reached the cluster is read from the stand-in nodes' request logs (NAME.requests.jsonl in LOGDIR, one
JSON line per request with every header as received), so a test sees what the node saw, including a
request that was smuggled past the client's view. Every request carries a fresh marker so that its traces
can be told apart.

Usage: edge_attacks.py CONFIG.json   (prints PASS/FAIL per check; exit status 1 when any check fails)

CONFIG: {"public": addr, "internal": addr, "public_host": name, "internal_host": name, "default_host": name,
         "static_prefix": "/static/", "bounded_host": name, "bounded_prefix": "/assets", "logdir": dir,
         "stats": "127.0.0.1:port", "stats_credentials": "user:password", "inner_port": int,
         "inner_socket": path, "audit_log": path, "modsecurity_conf": path, "only": [prefixes]}
"""
import base64
import glob
import json
import os
import pwd
import re
import socket
import ssl
import sys
import time
import urllib.error
import urllib.request
import uuid

CONFIG = {}
RESULTS = []

# Headers that claim identity or routing: the node must see none of them from a client, in any spelling.
FORGED = ["X-Real-IP", "Forwarded", "X-Forwarded-Host", "X-Forwarded-Port", "X-Forwarded-Prefix",
          "X-Forwarded-Server", "X-Original-URL", "X-Rewrite-URL", "X-HTTP-Method-Override", "True-Client-IP",
          "X-Forwarded-User", "X-Remote-User", "X-Auth-Request-Email", "X-Forwarded-Client-Cert", "X-Forwarded-Uri"]
UNDERSCORED = [name.replace("-", "_") for name in FORGED if "-" in name] + [
    "X_Forwarded_For", "X_Forwarded_Proto", "X_Request_ID"]


def marker():
    return "m" + uuid.uuid4().hex[:16]


def exchange(address, payload, sni=None, port=443, tls=True, idle=1.5, total=8.0):
    """Send raw bytes, return every byte the server sent until it closed or was idle for ``idle`` seconds."""
    sock = socket.create_connection((address, port), timeout=idle)
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["http/1.1"])
        sock = ctx.wrap_socket(sock, server_hostname=sni or CONFIG["public_host"])
    data = b""
    try:
        sock.sendall(payload)
        deadline = time.time() + total
        while time.time() < deadline:
            try:
                chunk = sock.recv(65536)
            except (socket.timeout, ssl.SSLError, ConnectionResetError):
                break
            if not chunk:
                break
            data += chunk
    finally:
        sock.close()
    return data


def responses(data):
    """Parse a byte stream into complete HTTP/1.x responses: [{"status", "headers", "body"}]; an incomplete
    or unparsable tail is a response with status None."""
    out = []
    rest = data
    while rest:
        end = rest.find(b"\r\n\r\n")
        if end < 0 or not rest.startswith(b"HTTP/1."):
            out.append({"status": None, "headers": {}, "body": rest})
            break
        lines = rest[:end].decode("latin-1").split("\r\n")
        try:
            status = int(lines[0].split()[1])
        except (IndexError, ValueError):
            out.append({"status": None, "headers": {}, "body": rest})
            break
        headers = {}
        for line in lines[1:]:
            name, _sep, value = line.partition(":")
            headers.setdefault(name.strip().lower(), []).append(value.strip())
        body_start = end + 4
        if "chunked" in ",".join(headers.get("transfer-encoding", [])).lower():
            body, pos = b"", body_start
            while True:
                eol = rest.find(b"\r\n", pos)
                if eol < 0:
                    return out + [{"status": None, "headers": headers, "body": rest[body_start:]}]
                size = int(rest[pos:eol].split(b";")[0] or b"0", 16)
                if size == 0:
                    pos = rest.find(b"\r\n\r\n", eol) + 4
                    break
                body += rest[eol + 2:eol + 2 + size]
                pos = eol + 2 + size + 2
            rest = rest[pos:]
        elif "content-length" in headers:
            length = int(headers["content-length"][0])
            body, rest = rest[body_start:body_start + length], rest[body_start + length:]
        elif status in (204, 304) or 100 <= status < 200:
            body, rest = b"", rest[body_start:]
        else:
            body, rest = rest[body_start:], b""
        out.append({"status": status, "headers": headers, "body": body})
    return out


def echo(resp):
    """The stand-in node's JSON answer, or None when the answer did not come from a node."""
    try:
        return json.loads(resp["body"].decode())
    except (ValueError, UnicodeDecodeError, KeyError):
        return None


def node_records(mark):
    """Every request a stand-in node received whose request line, headers or body contain ``mark``."""
    found = []
    for path in glob.glob(os.path.join(CONFIG["logdir"], "*.requests.jsonl")):
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if mark in line:
                    found.append(json.loads(line))
    return found


def header_values(record, name):
    return [v for k, v in record["headers"] if k.lower() == name.lower()]


def request(method, target, host, headers=(), body=None, version="HTTP/1.1", close=True):
    lines = ["%s %s %s" % (method, target, version)]
    if host is not None:
        lines.append("Host: %s" % host)
    lines += ["%s: %s" % h for h in headers]
    if body is not None and not any(h[0].lower() in ("content-length", "transfer-encoding") for h in headers):
        lines.append("Content-Length: %d" % len(body))
    if close:
        lines.append("Connection: close")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return raw + (body.encode("latin-1") if isinstance(body, str) else (body or b""))


def check(name, ok, detail=""):
    RESULTS.append((name, bool(ok), detail))
    print("%s %s%s" % ("PASS" if ok else "FAIL", name, (": " + detail) if detail else ""), flush=True)


def wanted(group):
    only = CONFIG.get("only") or []
    return not only or any(group.startswith(p) for p in only)


# --- 1. the static bypass route -----------------------------------------------------------------------
def test_bypass():
    pub, host, prefix = CONFIG["public"], CONFIG["public_host"], CONFIG["static_prefix"]
    xss = "q=%3Cscript%3Ealert(1)%3C%2Fscript%3E"
    mark = marker()
    first = responses(exchange(pub, request("GET", prefix + "a.css?m=" + mark, host)))
    check("bypass/control: a plain static GET is served", first and first[0]["status"] == 200 and node_records(mark),
          "status %s" % (first[0]["status"] if first else None))

    for kind in ("content-length", "chunked"):
        mark = marker()
        body = "%s&mark=%s" % (xss, mark)
        if kind == "chunked":
            payload = request("GET", prefix + "a.css", host, [("Content-Type", "application/x-www-form-urlencoded"),
                                                              ("Transfer-Encoding", "chunked")],
                              "%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        else:
            payload = request("GET", prefix + "a.css", host, [("Content-Type", "application/x-www-form-urlencoded")], body)
        got = responses(exchange(pub, payload))
        seen = node_records(mark)
        check("bypass/body (%s): an attack in the body of a static GET never reaches a node uninspected" % kind,
              not seen and got and got[0]["status"] in (400, 403, 411, 413),
              "status %s, node saw the body %d time(s)" % (got[0]["status"] if got else None, len(seen)))

    for label, extra in (("h2c", [("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c"),
                                  ("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA")]),
                         ("websocket", [("Connection", "Upgrade"), ("Upgrade", "websocket"),
                                        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                                        ("Sec-WebSocket-Version", "13")])):
        mark = marker()
        payload = request("GET", prefix + "a.css?m=" + mark, host, extra, close=False)
        got = responses(exchange(pub, payload))
        upgraded = [r for r in node_records(mark) if header_values(r, "Upgrade")]
        check("bypass/upgrade (%s): no protocol upgrade is carried by the bypass route" % label,
              not upgraded and got and got[0]["status"] != 101,
              "status %s, node saw Upgrade %d time(s)" % (got[0]["status"] if got else None, len(upgraded)))

    for path in (".git/config", ".env", "db/dump.sql", "site.bak", ".htaccess", "app.ini", "x/.svn/entries",
                 "settings.config", "users.mdb", "web.config"):
        mark = marker()
        got = responses(exchange(pub, request("GET", prefix + path + "?m=" + mark, host)))
        seen = node_records(mark)
        check("bypass/restricted file %s%s is refused" % (prefix, path),
              not seen and got and got[0]["status"] == 403,
              "status %s, reached a node %d time(s)" % (got[0]["status"] if got else None, len(seen)))

    bounded, bprefix = CONFIG["bounded_host"], CONFIG["bounded_prefix"]
    for path, bypass in ((bprefix, True), (bprefix + "/app.js", True), (bprefix + "admin/x.js", False),
                         (bprefix + "-private/x.js", False), (bprefix + ".js", False)):
        mark = marker()
        got = responses(exchange(pub, request("GET", "%s?m=%s" % (path, mark), bounded,
                                              [("User-Agent", "sqlmap/1.5.2#stable (http://sqlmap.org)")]),
                                 sni=bounded))
        status = got[0]["status"] if got else None
        # The bypass inspects no header (a scanner's User-Agent passes it); the WAF refuses it (CRS 913100).
        expected = 200 if bypass else 403
        check("bypass/prefix %s is bounded at '/': %s is %s" % (bprefix, path, "bypassed" if bypass else "inspected"),
              status == expected, "status %s, expected %s" % (status, expected))

    mark = marker()
    got = responses(exchange(pub, request("GET", prefix + "a.css?m=" + mark, host,
                                          [("Cookie", "session=1' OR '1'='1"), ("Authorization", "Basic " + mark)])))
    seen = node_records(mark)
    leaked = [r for r in seen if header_values(r, "Cookie") or header_values(r, "Authorization")]
    check("bypass/cookies and credentials are removed on the bypass route", seen and not leaked,
          "status %s, node saw Cookie/Authorization %d time(s)" % (got[0]["status"] if got else None, len(leaked)))

    mark = marker()
    payload = request("GET", prefix + "a.css?m=" + mark, host, close=False) + request(
        "GET", "/search?%s&m=%s" % (xss, mark), host)
    got = responses(exchange(pub, payload))
    statuses = [r["status"] for r in got]
    check("bypass/pipelined: an attack pipelined after a bypassed request is still inspected",
          statuses == [200, 403] and len(node_records(mark)) == 1, "statuses %s" % statuses)


# --- 2. public and internal never cross ---------------------------------------------------------------
def _crossing(label, address, payload, forbidden, expect_host, sni):
    mark = marker()
    data = payload.replace(b"MARK", mark.encode())
    got = responses(exchange(address, data, sni=sni))
    seen = node_records(mark)
    bad = [r for r in seen if any(v.lower().rstrip(".").split(":")[0] == forbidden for v in header_values(r, "Host"))
           or forbidden in r["request_line"].lower()]
    hosts = [header_values(r, "Host") for r in seen]
    ok = not bad and (not seen or all(h == [expect_host] for h in hosts))
    check("crossing/%s" % label, ok and got and got[0]["status"] is not None,
          "status %s, node saw Host %s" % (got[0]["status"] if got else None, hosts))


def test_crossing():
    pub, internal = CONFIG["public"], CONFIG["internal"]
    pub_host, int_host, default = CONFIG["public_host"], CONFIG["internal_host"], CONFIG["default_host"]
    for side, address, foreign, own, expect in (("public", pub, int_host, pub_host, default),
                                                ("internal", internal, pub_host, int_host, None)):
        cases = [
            ("Host %s" % foreign, request("GET", "/?m=MARK", foreign)),
            ("Host upper case", request("GET", "/?m=MARK", foreign.upper())),
            ("Host trailing dot", request("GET", "/?m=MARK", foreign + ".")),
            ("Host trailing dot and port", request("GET", "/?m=MARK", foreign + ".:443")),
            ("Host mixed case, trailing dot", request("GET", "/?m=MARK", foreign.title() + ".")),
            ("absolute-form URI to %s, own Host" % foreign, request("GET", "https://%s/?m=MARK" % foreign, own)),
            ("absolute-form URI to %s" % foreign, request("GET", "https://%s/?m=MARK" % foreign, foreign)),
            ("HTTP/1.0 without Host", request("GET", "/?m=MARK", None, version="HTTP/1.0")),
            ("duplicated Host (own, then foreign)", request("GET", "/?m=MARK", own, [("Host", foreign)])),
            ("duplicated Host (foreign, then own)", request("GET", "/?m=MARK", foreign, [("Host", own)])),
        ]
        for label, payload in cases:
            _crossing("%s: %s" % (side, label), address, payload, foreign, expect, own)
    # An unmatched request served by the default vhost goes on under the default vhost's name.
    mark = marker()
    got = responses(exchange(pub, request("GET", "/?m=" + mark, "unknown.example")))
    seen = node_records(mark)
    check("crossing/default vhost: the node sees the default vhost's name, not the client's Host",
          seen and all(header_values(r, "Host") == [default] for r in seen),
          "status %s, node saw %s" % (got[0]["status"] if got else None, [header_values(r, "Host") for r in seen]))


# --- 3. identity and routing headers -------------------------------------------------------------------
def test_headers():
    pub, host = CONFIG["public"], CONFIG["public_host"]
    forged = [(name, "203.0.113.66" if "IP" in name.upper() or "FOR" in name.upper() else "evil.example")
              for name in FORGED + UNDERSCORED]
    forged += [("X-Forwarded-For", "203.0.113.66"), ("X-Forwarded-Proto", "http"), ("X-Request-ID", "forged")]
    for route, path in (("WAF route", "/hello"), ("bypass route", CONFIG["static_prefix"] + "a.css")):
        mark = marker()
        got = responses(exchange(pub, request("GET", "%s?m=%s" % (path, mark), host, forged)))
        seen = node_records(mark)
        names = {k.lower() for r in seen for k, _v in r["headers"]}
        left = sorted(n for n, _v in forged if n.lower() in names and n.lower() not in
                      ("x-forwarded-for", "x-forwarded-proto", "x-request-id"))
        fwd = [(header_values(r, "X-Forwarded-For"), header_values(r, "X-Forwarded-Proto"),
                header_values(r, "X-Request-ID")) for r in seen]
        ok = seen and not left and all(f[0] == ["127.0.0.1"] and f[1] == ["https"] and len(f[2]) == 1
                                       and f[2][0] != "forged" for f in fwd)
        check("headers/%s: the node sees only what the load balancer set" % route, ok,
              "status %s, left: %s, forwarded: %s" % (got[0]["status"] if got else None, left, fwd))


# --- 4. bodies, WAF files, audit log, CVE-2024-1019 ----------------------------------------------------
def test_waf():
    pub, host = CONFIG["public"], CONFIG["public_host"]
    attack = '{"comment": "<script>alert(document.cookie)</script>", "id": "1 UNION SELECT password FROM users--"}'
    for ctype in ("text/plain", "application/octet-stream", None):
        mark = marker()
        headers = [("Content-Type", ctype)] if ctype else []
        got = responses(exchange(pub, request("POST", "/comment?m=" + mark, host, headers, attack)))
        check("waf/body: an attack in a body sent as %s is refused" % (ctype or "no Content-Type"),
              got and got[0]["status"] in (400, 403, 415) and not node_records(mark),
              "status %s" % (got[0]["status"] if got else None))

    conf = open(CONFIG["modsecurity_conf"], encoding="utf-8").read()
    for directive in ("SecTmpDir", "SecDataDir"):
        found = re.search(r"^\s*%s\s+(\S+)" % directive, conf, re.M)
        path = found.group(1).rstrip("/") if found else None
        if path and os.path.isdir(path):
            info = os.stat(path)
            owner = pwd.getpwuid(info.st_uid).pw_name
            ok = not path.startswith("/tmp") and owner == "www-data" and info.st_mode & 0o077 == 0
            detail = "%s owner %s mode %o" % (path, owner, info.st_mode & 0o777)
        else:
            ok, detail = False, "%s: %s is not a directory" % (directive, path)
        check("waf/%s is private to the WAF" % directive, ok, detail)

    secret_cookie, secret_auth, case = marker(), marker(), marker()
    # For a request with a Cookie or Authorization header the audit log keeps part A only (its request id, time
    # and addresses): no rule message, which would carry a matched value. The request id comes from HAProxy's
    # log line of the request (the case marker is in its path).
    got = responses(exchange(pub, request("GET", "/search-%s?q=%%3Cscript%%3Ealert(1)%%3C%%2Fscript%%3E" % case, host,
                                          [("Cookie", "session=" + secret_cookie + "%3Cscript%3E"),
                                           ("Authorization", "Bearer " + secret_auth)])))
    rid = None
    for _attempt in range(50):
        time.sleep(0.2)
        with open(CONFIG.get("haproxy_log", "/var/log/haproxy.log"), encoding="utf-8", errors="replace") as log:
            found = [line for line in log if case in line and " rid=" in line]
        if found:
            rid = found[-1].rsplit(" rid=", 1)[1].strip()
            break
    audit = open(CONFIG["audit_log"], encoding="utf-8", errors="replace").read()
    logged = bool(rid) and ("] %s " % rid) in audit
    check("waf/audit log keeps the blocked request but no Cookie or Authorization value",
          got and got[0]["status"] == 403 and logged and secret_cookie not in audit and secret_auth not in audit,
          "status %s, rid %s logged %s, cookie in clear %s, authorization in clear %s" % (
              got[0]["status"] if got else None, rid, logged, secret_cookie in audit, secret_auth in audit))

    for label, path in (("xss", "/x%3F%3Cscript%3Ealert(1)%3C%2Fscript%3E"),
                        ("sqli", "/products/x%3F1%27%20UNION%20SELECT%20password%20FROM%20users--"),
                        ("lower case", "/x%3f%3Cscript%3Ealert(1)%3C%2Fscript%3E")):
        mark = marker()
        got = responses(exchange(pub, request("GET", path + "?m=" + mark, host)))
        check("waf/CVE-2024-1019: %%3F in the path does not hide a payload (%s)" % label,
              got and got[0]["status"] in (400, 403) and not node_records(mark),
              "status %s" % (got[0]["status"] if got else None))


# --- 5. internal surfaces --------------------------------------------------------------------------------
def test_surfaces():
    pub, host = CONFIG["public"], CONFIG["public_host"]
    for path in ("/netzone-waf-health", "/%6eetzone-waf-health", "/netzone-waf-health?x=1", "//netzone-waf-health"):
        got = responses(exchange(pub, request("GET", path, host)))
        body = got[0]["body"] if got else b""
        check("surfaces/the WAF health endpoint does not answer clients (%s)" % path,
              got and b"waf ok" not in body, "status %s, body %r" % (got[0]["status"] if got else None, body[:40]))

    stats = CONFIG["stats"]
    for path in ("/metrics", "/stats", "/stats;csv"):
        try:
            with urllib.request.urlopen("http://%s%s" % (stats, path), timeout=5) as answer:
                status = answer.status
        except urllib.error.HTTPError as err:
            status = err.code
        check("surfaces/stats listener %s needs a credential" % path, status == 401, "status %s" % status)
        req = urllib.request.Request("http://%s%s" % (stats, path), headers={
            "Authorization": "Basic " + base64.b64encode(CONFIG["stats_credentials"].encode()).decode()})
        try:
            with urllib.request.urlopen(req, timeout=5) as answer:
                status = answer.status
        except urllib.error.HTTPError as err:
            status = err.code
        check("surfaces/stats listener %s answers with the credential" % path, status == 200, "status %s" % status)

    try:
        socket.create_connection(("127.0.0.1", CONFIG["inner_port"]), timeout=2).close()
        tcp_open = True
    except OSError:
        tcp_open = False
    check("surfaces/the inner listener takes no TCP connection", not tcp_open,
          "127.0.0.1:%s %s" % (CONFIG["inner_port"], "accepts connections" if tcp_open else "refuses"))
    path = CONFIG["inner_socket"]
    pid = os.fork()
    if pid == 0:  # another local process: nobody
        code = 3
        try:
            nobody = pwd.getpwnam("nobody")
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            sock = socket.socket(socket.AF_UNIX)
            sock.settimeout(2)
            sock.connect(path)
            code = 0
        except PermissionError:
            code = 1
        except OSError:
            code = 2
        os._exit(code)
    _pid, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    outcome = {0: "accepted", 1: "permission denied", 2: "other error", 3: "setup failed"}.get(code, code)
    check("surfaces/the inner listener's socket refuses other local users", os.path.exists(path) and code == 1,
          "%s exists: %s, nobody's connect: %s" % (path, os.path.exists(path), outcome))


# --- 6. request smuggling -----------------------------------------------------------------------------
def test_smuggling():
    pub, host = CONFIG["public"], CONFIG["public_host"]

    def smuggled(mark):
        return "GET /smuggled-%s HTTP/1.1\r\nHost: %s\r\n\r\n" % (mark, host)

    def cases(method, path, mark):
        tail = smuggled(mark)
        head = "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n" % (method, path, host)
        chunked_end = "0\r\n\r\n"
        return [
            ("CL+TE", head + "Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n" % len(chunked_end + tail)
             + chunked_end + tail),
            ("TE+CL (short CL)", head + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
             + "%x\r\n%s\r\n0\r\n\r\n" % (len(tail), tail)),
            ("duplicated CL, different", head + "Content-Length: 0\r\nContent-Length: %d\r\n\r\n" % len(tail) + tail),
            ("duplicated CL, one list", head + "Content-Length: 0, %d\r\n\r\n" % len(tail) + tail),
            ("empty CL", head + "Content-Length:\r\n\r\n" + tail),
            ("CL with sign", head + "Content-Length: +%d\r\n\r\n" % len(tail) + tail),
            ("TE chunked, identity", head + "Transfer-Encoding: chunked, identity\r\nContent-Length: %d\r\n\r\n"
             % len(tail) + tail),
            ("TE identity then chunked headers", head + "Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n"
             "\r\n" + chunked_end + tail),
            ("TE xchunked", head + "Transfer-Encoding: xchunked\r\nContent-Length: %d\r\n\r\n" % len(tail) + tail),
            ("TE space before colon", head + "Transfer-Encoding : chunked\r\nContent-Length: %d\r\n\r\n"
             % len(chunked_end + tail) + chunked_end + tail),
            ("TE obs-fold", head + "Transfer-Encoding:\r\n chunked\r\nContent-Length: %d\r\n\r\n"
             % len(chunked_end + tail) + chunked_end + tail),
            ("obs-fold into TE", head + "X-Pad: x\r\n Transfer-Encoding: chunked\r\nContent-Length: %d\r\n\r\n"
             % len(chunked_end + tail) + chunked_end + tail),
            ("chunk extensions", head + "Transfer-Encoding: chunked\r\n\r\n" + "3;ext=1;q=\"a b\"\r\nabc\r\n0;x\r\n\r\n"
             + tail),
            ("chunk extension ended by a bare LF", head + "Transfer-Encoding: chunked\r\n\r\n" + "3;ext\nabc\r\n0\r\n\r\n"
             + tail),
            ("oversized chunk size", head + "Transfer-Encoding: chunked\r\n\r\n" + "1" + "0" * 17 + "3\r\nabc\r\n0\r\n\r\n"
             + tail),
            ("bare LF in headers", head.replace("\r\n", "\n") + "Content-Length: %d\n\n" % len(tail) + tail),
            ("bare LF in chunks", head + "Transfer-Encoding: chunked\r\n\r\n" + "3\nabc\n0\n\n" + tail),
        ]

    for route, method, path in (("WAF route", "POST", "/hello"), ("bypass route", "GET", CONFIG["static_prefix"] + "a.css")):
        for index in range(len(cases(method, path, ""))):
            mark = marker()  # each case with its own marker, built in (the lengths in its headers count it)
            label, payload = cases(method, path, mark)[index]
            got = responses(exchange(pub, payload.encode("latin-1")))
            statuses = [r["status"] for r in got]
            # A smuggled request is one that a node received as a request (a body that carries its text is not).
            reached = [r for r in node_records(mark) if ("/smuggled-" + mark) in r["request_line"]]
            clean = not reached and (statuses[:1] == [400] or (len(statuses) == 1 and statuses[0] is not None))
            check("smuggling/%s: %s gets a 400 or exactly one clean response" % (route, label), clean,
                  "statuses %s, smuggled request reached a node %d time(s)" % (statuses, len(reached)))


GROUPS = (("bypass", test_bypass), ("crossing", test_crossing), ("headers", test_headers), ("waf", test_waf),
          ("surfaces", test_surfaces), ("smuggling", test_smuggling))


def main(path):
    CONFIG.update(json.load(open(path, encoding="utf-8")))
    for group, func in GROUPS:
        if wanted(group):
            try:
                func()
            except Exception as exc:  # one broken group must not hide the others
                check("%s/(the group stopped)" % group, False, "%s: %s" % (type(exc).__name__, exc))
    failed = [r for r in RESULTS if not r[1]]
    print("%d checks, %d failed" % (len(RESULTS), len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
