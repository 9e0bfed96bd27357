# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Attacks on the request path as the role renders it, against the real HAProxy 2.6 and nginx + libmodsecurity
3.0.9 + CRS 3.3 on loopback (tests/support/edge_lab.py): the static bypass carries only plain requests
(no body in any HTTP version, kept headers of a plain shape), what reaches a node is an allow-list of headers
on both routes, and the WAF's audit log keeps no cookie value and survives its rotation.

Which route a request took is read from the WAF's access log: a request id that the node received and the WAF
logged went through the WAF; one the WAF never logged took the bypass.
"""

from __future__ import annotations

import os
import pwd
import re
import stat
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import edge_lab  # noqa: E402  pylint: disable=wrong-import-position,import-error

REASON = edge_lab.available()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")

HOST = "shop.example.com"
VHOSTS = [{"name": HOST, "service": "web", "redirect_http": False, "hsts": False,
           "waf": {"bypass_paths": ["/static/"]}}]
CHROME = [
    ("Accept", "text/css,*/*;q=0.1"),
    ("Accept-Encoding", "gzip, deflate, br"),
    ("Accept-Language", "en-GB,en;q=0.9"),
    ("Cache-Control", "no-cache"),
    ("If-None-Match", 'W/"5e-18c1f2a0b5e"'),
    ("If-Modified-Since", "Tue, 05 Dec 2026 10:00:00 GMT"),
    ("Referer", "https://shop.example.com/products?page=2&sort=price"),
    ("Sec-CH-UA", '"Not_A Brand";v="8", "Chromium";v="120", "Google Chrome";v="120"'),
    ("Sec-CH-UA-Mobile", "?0"),
    ("Sec-CH-UA-Platform", '"Linux"'),
    ("Sec-Fetch-Dest", "style"),
    ("Sec-Fetch-Mode", "no-cors"),
    ("Sec-Fetch-Site", "same-origin"),
    ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
                   "Safari/537.36"),
]
#: Headers that claim an identity or a route, or that no rule lists: none may reach a node.
CLAIMS = [
    ("X-Forwarded-User", "admin"), ("X-Remote-User", "root"), ("X-Auth-Request-Email", "ceo@example.com"),
    ("X-Forwarded-Client-Cert", "Hash=abc;Subject=\"CN=admin\""), ("X-Forwarded-Uri", "/admin"),
    ("X-Forwarded-Host", "internal.example.com"), ("Forwarded", "for=10.0.0.1"), ("X-Real-IP", "10.0.0.1"),
    ("X_Forwarded_For", "10.0.0.1"), ("X-Custom-Thing", "1"), ("Remote-User", "admin"),
]
SQLI = "' UNION SELECT password FROM users--"
#: Rules of the test that refuse what only the client's own spelling has: they fire only if the WAF sees the
#: Host header and the request line as the client sent them.
PROBES = [
    'SecRule REQUEST_HEADERS:Host "@rx ^SHOP\\.Example\\.com:80\\.$" "id:999991,phase:1,deny,status:403,log,'
    "msg:'probe: the client Host'\"",
    'SecRule REQUEST_LINE "@rx ^GET /app/line-probe\\?q=%41 HTTP/1\\.0$" '
    "\"id:999992,phase:1,deny,status:403,log,msg:'probe: the client request line'\"",
]


@pytest.fixture(scope="module")
def lab():
    edge = edge_lab.EdgeLab(VHOSTS, overrides={"loadbalancer_waf_error_log_level": "warn",
                                               "loadbalancer_waf_extra_rules": PROBES}, waf_access_log=True)
    edge.start()
    yield edge
    edge.stop()


def _reached(lab, marker):
    """The requests the node got whose request line has ``marker``, after a moment for the path to finish."""
    time.sleep(0.2)
    return [r for r in lab.node.requests if marker in r["line"]]


def _through_waf(lab, request):
    """Whether the node's ``request`` went through the WAF (its request id is in the WAF's access log)."""
    rid = dict((k.lower(), v) for k, v in request["headers"])["x-request-id"]
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:  # nginx writes its access log in buffers, flushed every second
        with open(lab.access_log, encoding="utf-8", errors="replace") as handle:
            if "rid=" + rid in handle.read():
                return True
        time.sleep(0.3)
    return False


def _names(request):
    return sorted(k.lower() for k, _v in request["headers"])


# --- the bypass: no body in any HTTP version --------------------------------------------------------------

@pytest.mark.parametrize("tls", [True, False], ids=["h2-tls", "h2c"])
def test_h2_get_with_a_body_in_data_frames_goes_through_the_waf(lab, tls):
    """A GET on a bypass path whose body comes in HTTP/2 DATA frames, with no content-length: the WAF sees the
    body (and blocks the attack in it); before, HAProxy sent it to the node on the bypass, body and all."""
    port = lab.https_port if tls else lab.http_port
    path = "/static/h2body-%s.css" % tls
    headers = [(":method", "GET"), (":scheme", "https" if tls else "http"), (":authority", HOST), (":path", path),
               ("user-agent", "Mozilla/5.0")]
    status, _headers, _body = edge_lab.h2_request(lab.front, port, headers, body=b"q=" + SQLI.encode(), tls=tls,
                                                  server_name=HOST)
    assert status == 403
    assert _reached(lab, path) == []


@pytest.mark.parametrize("tls", [True, False], ids=["h2-tls", "h2c"])
def test_h2_get_with_a_late_body_is_refused(lab, tls):
    """Headers first, the DATA frames only after the bypass's one-second wait: refused (408), nothing reaches a
    node (the bypass never carries a body that arrives after the routing decision)."""
    port = lab.https_port if tls else lab.http_port
    path = "/static/late-%s.css" % tls
    headers = [(":method", "GET"), (":scheme", "https" if tls else "http"), (":authority", HOST), (":path", path)]
    status, _headers, _body = edge_lab.h2_request(lab.front, port, headers, body=b"q=" + SQLI.encode(), tls=tls,
                                                  server_name=HOST, pause=2.0)
    assert status == 408
    assert _reached(lab, path) == []


def test_h2_plain_get_takes_the_bypass(lab):
    path = "/static/h2plain.css"
    headers = [(":method", "GET"), (":scheme", "https"), (":authority", HOST), (":path", path)] + [
        (k.lower(), v) for k, v in CHROME]
    status, _headers, _body = edge_lab.h2_request(lab.front, lab.https_port, headers, server_name=HOST)
    assert status == 200
    [request] = _reached(lab, path)
    assert not _through_waf(lab, request)


# --- the bypass: kept headers of a plain shape ------------------------------------------------------------

def test_a_browser_request_takes_the_bypass_with_only_its_plain_headers(lab):
    credentials = [("Cookie", "session=abc"), ("Authorization", "Bearer abc")]
    status, _body = lab.get("/static/browser.css", headers=CHROME + CLAIMS + credentials)
    assert status == 200
    [request] = _reached(lab, "/static/browser.css")
    assert not _through_waf(lab, request)
    assert _names(request) == sorted([k.lower() for k, _v in CHROME] + [
        "host", "x-request-id", "x-forwarded-for", "x-forwarded-proto"])


@pytest.mark.parametrize("name,value", [
    ("User-Agent", "<script>alert(1)</script>"),
    ("Referer", "https://shop.example.com/?q=%s" % SQLI),
    ("Accept-Language", "en;q=0.9'; DROP TABLE users;--"),
    ("If-None-Match", '"x" `id`'),
], ids=["ua-xss", "referer-sqli", "accept-language-sqli", "etag-backtick"])
def test_a_kept_header_outside_the_plain_shape_goes_through_the_waf(lab, name, value):
    """Before, the bypass kept User-Agent, Referer, ... as sent: an attack in them reached the node uninspected.
    Now the WAF sees it: it blocks what the CRS knows (403, nothing reaches the node) and lets the rest on."""
    path = "/static/odd-%s.css" % name.lower()
    status, _body = lab.get(path, headers=[(name, value)])
    reached = _reached(lab, path)
    if status == 403:
        assert reached == []
    else:
        assert status == 200 and len(reached) == 1 and _through_waf(lab, reached[0])


@pytest.mark.parametrize("headers", [
    [("User-Agent", "curl/8"), ("User-Agent", "Mozilla/5.0")],
    [("User-Agent", "Mozilla/5.0 " + "x" * 600)],
    [("Referer", "https://shop.example.com/a%20b")],
], ids=["twice", "long", "percent"])
def test_a_harmless_odd_header_is_inspected_not_refused(lab, headers):
    """Odd but harmless: the request goes through the WAF and is served (never refused for its shape)."""
    path = "/static/harmless-%d.css" % len(str(headers))
    status, _body = lab.get(path, headers=headers)
    assert status == 200
    [request] = _reached(lab, path)
    assert _through_waf(lab, request)


# --- what reaches a node: an allow-list, on both routes ---------------------------------------------------

@pytest.mark.parametrize("path", ["/static/claims.css", "/app/claims"], ids=["bypass", "waf"])
def test_only_allow_listed_headers_reach_a_node(lab, path):
    status, _body = lab.get(path, headers=CLAIMS + [("User-Agent", "Mozilla/5.0"), ("Cookie", "session=abc")])
    assert status == 200
    [request] = _reached(lab, path)
    allowed = {  # written out (README, "What reaches a node"), not the code's list
        "host", "x-request-id", "x-forwarded-for", "x-forwarded-proto", "accept", "accept-encoding",
        "accept-language", "accept-charset", "cache-control", "pragma", "content-type", "content-length",
        "content-encoding", "content-language", "transfer-encoding", "cookie", "authorization", "if-match",
        "if-none-match", "if-modified-since", "if-unmodified-since", "if-range", "range", "origin", "referer",
        "user-agent", "dnt", "upgrade-insecure-requests", "priority", "access-control-request-method",
        "access-control-request-headers", "sec-fetch-dest", "sec-fetch-mode", "sec-fetch-site", "sec-fetch-user",
        "sec-ch-ua", "sec-ch-ua-mobile", "sec-ch-ua-platform", "traceparent", "tracestate", "x-requested-with",
        "x-csrf-token", "x-xsrf-token"}
    names = set(_names(request))
    assert names <= allowed, names - allowed
    assert not names & {k.lower() for k, _v in CLAIMS}
    assert ("cookie" in names) == path.startswith("/app/")
    assert dict(request["headers"])["x-forwarded-for"] == "127.0.0.1"


# --- the audit log ----------------------------------------------------------------------------------------

def _audit_entry(lab, rid):
    """The audit log's entry (its sections' text) of request id ``rid``, or None."""
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        with open(lab.audit_log, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
        for entry in re.split(r"\n(?=---\w+---A--\n)", text):
            lines = entry.split("\n")
            if len(lines) > 1 and " %s " % rid in lines[1]:
                return entry
        time.sleep(0.2)
    return None


def _blocked_rid(lab, path, headers):
    """Send a request the WAF blocks; return its request id (nginx's access log has it with the status)."""
    status, _body = lab.get(path, headers=headers)
    assert status == 403
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        with open(lab.access_log, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if '"GET %s HTTP/1.1" 403' % path in line:
                    return line.rsplit("rid=", 1)[1].strip()
        time.sleep(0.3)
    raise AssertionError("the WAF logged no 403 for %s" % path)


def test_the_audit_log_keeps_no_cookie_value_that_a_rule_matched(lab):
    secret = "S3cr3tSess10n"
    rid = _blocked_rid(lab, "/app/cookie", [("Cookie", "session=%s%s" % (secret, SQLI))])
    entry = _audit_entry(lab, rid)
    assert entry is not None
    assert secret not in entry
    with open(lab.audit_log, encoding="utf-8", errors="replace") as handle:
        assert secret not in handle.read()
    with open(lab.error_log, encoding="utf-8", errors="replace") as handle:
        assert secret not in handle.read()


def test_the_audit_log_keeps_the_rule_ids_of_a_request_without_cookie(lab):
    rid = _blocked_rid(lab, "/app/args?q=1%27%20UNION%20SELECT%20password%20FROM%20users--", [])
    entry = _audit_entry(lab, rid)
    assert entry is not None and '[id "942100"]' in entry


def test_the_audit_log_is_rotated_and_written_anew(lab, tmp_path):
    """The role's logrotate snippet, run by the real logrotate: the next blocked request lands in the audit
    log under its name, which keeps its owner and mode 0640. (libmodsecurity 3.0.9 never reopens its audit
    log: with a rename and `nginx -s reopen` it would go on writing to the rotated file.)"""
    _blocked_rid(lab, "/app/before?q=%3Cscript%3Ealert(1)%3C/script%3E", [])
    conf = tmp_path / "netzone-waf"
    conf.write_text(edge_lab.render("netzone-waf.logrotate.j2", lab.variables), encoding="utf-8")
    os.chmod(str(conf), 0o644)
    result = subprocess.run(["logrotate", "-f", "-s", str(tmp_path / "state"), str(conf)], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert os.path.getsize(lab.audit_log + ".1") > 0
    rid = _blocked_rid(lab, "/app/after?q=%3Cscript%3Ealert(2)%3C/script%3E", [])
    assert _audit_entry(lab, rid) is not None
    info = os.stat(lab.audit_log)
    assert stat.S_IMODE(info.st_mode) == 0o640
    assert pwd.getpwuid(info.st_uid).pw_name == "www-data"


# --- what the WAF sees: the client's Host and request line; the node: the vhost's name -------------------

def test_the_waf_sees_the_host_as_sent_and_the_node_the_vhost_name(lab):
    status, _body = lab.get("/app/host-as-sent", host="SHOP.Example.com:80.")
    assert status == 403  # probe 999991: before, the WAF saw "shop.example.com"
    assert _reached(lab, "/app/host-as-sent") == []
    status, _body = lab.get("/app/host-normal", host="Shop.Example.Com.", headers=[("X-Netzone-Host", "other.test")])
    assert status == 200
    [request] = _reached(lab, "/app/host-normal")
    assert [v for k, v in request["headers"] if k.lower() == "host"] == [HOST]
    assert "x-netzone-host" not in _names(request)


def test_the_waf_sees_the_request_line_as_sent(lab):
    """Method, URI (its path as ModSecurity-nginx reads it, for an absolute-form request too: nginx alone
    sees the same) and HTTP version as the client sent them; the node gets the origin form."""
    raw = "GET http://%s/app/line-probe?q=%%41 HTTP/1.0\r\nHost: %s\r\n\r\n" % (HOST, HOST)
    assert lab.raw(raw.encode()).startswith(b"HTTP/1.1 403")  # probe 999992
    raw = "GET http://%s/app/absolute-ok HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (HOST, HOST)
    assert lab.raw(raw.encode()).startswith(b"HTTP/1.1 200")
    [request] = _reached(lab, "/app/absolute-ok")
    assert request["line"] == "GET /app/absolute-ok HTTP/1.1"
