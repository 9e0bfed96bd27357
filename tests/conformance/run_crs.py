# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""OWASP CRS regression tests through the load balancer's whole path.

Usage: run_crs.py [--verbose] [--direct] [--isolated] [--min-pass-rate PERCENT] DIR [DIR...]

Converges the loadbalancer role on this machine with a test profile (ModSecurity DetectionOnly, paranoia
level 4, one vhost ``localhost`` that also takes unknown hosts, a stand-in node answering 200), sends every
test of the given folders of CRS regression YAML files (ftw format) raw over TLS to HAProxy (HAProxy TLS ->
nginx + ModSecurity + CRS -> HAProxy inner listener -> node), and checks the WAF's log (nginx's error log,
where ModSecurity writes each matched rule with its id) and the status. Each test's log lines are found
between marker requests (header X-CRS-Test, logged by rule 999999) and by ModSecurity's unique_id. Tears
down what it set up and ends with ``N passed, M failed``. Needs root and the checkout's .venv.

``--direct`` also runs the same tests against nginx + ModSecurity + CRS alone (a second nginx that terminates
TLS itself on 127.0.31.3 and runs the rules the role rendered, in front of the same node; no HAProxy) and
lists the tests that pass there but fail through the whole path: what the path loses. The pass rate and the
exit status stay those of the whole path.

``--isolated`` leaves this machine's HAProxy and nginx alone: instead of converging the role, it runs the same
path from the role's templates, rendered with the same test profile, as foreground daemons on their own ports
and files (tests/support/edge_lab.py, as the edge path tests do).
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import socket
import ssl
import sys
import time
import uuid

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from crs_lab import DirectWaf, LbLab, StandinBackend  # noqa: E402  pylint: disable=wrong-import-position

FRONT = "127.0.31.1"
NODE = ("127.0.31.2", 8080)
DIRECT = "127.0.31.3"
DIRECT_PEM = "/etc/haproxy/netzone/certs/localhost.pem"
ERROR_LOG = "/var/log/nginx/error.log"
MARKER_HEADER = "X-CRS-Test"
MARKER_RULE = ('SecRule REQUEST_HEADERS:%s "@rx ^.*$" "id:999999,phase:1,log,pass,t:none,'
               "msg:'crs-test-marker %%{MATCHED_VAR}'\"" % MARKER_HEADER)
UNIQUE_ID = re.compile(r'\[unique_id "([^"]*)"\]')

ROLE_VARS = {
    "loadbalancer_public_address": FRONT,
    "loadbalancer_public_https_port": 443,
    "loadbalancer_public_http_port": 0,
    "loadbalancer_backend_nodes": [{"name": "crsnode", "address": NODE[0]}],
    "loadbalancer_backend_port": NODE[1],
    "loadbalancer_backend_check_path": "/",
    "loadbalancer_waf_mode": "detection",
    "loadbalancer_waf_paranoia_level": 4,
    "loadbalancer_waf_workers": "1",
    "loadbalancer_waf_error_log_level": "info",
    "loadbalancer_waf_port": 18181,
    "loadbalancer_stats_port": 18504,
    "loadbalancer_deny_path_traversal": False,
    "loadbalancer_waf_inspect_path_sqli": False,
    "loadbalancer_default_vhost": "localhost",
    "loadbalancer_waf_extra_rules": [MARKER_RULE],
    "loadbalancer_vhosts": [{"name": "localhost", "service": "crs", "redirect_http": False, "hsts": False}],
}


# --- the tests -------------------------------------------------------------------------------------

def load_tests(dirs):
    """Every enabled test of the YAML files under ``dirs``: (title, [stage input/output dicts])."""
    tests = []
    for top in dirs:
        files = []
        for base, _subdirs, names in os.walk(top):
            files.extend(os.path.join(base, n) for n in names if n.endswith((".yaml", ".yml")))
        for path in sorted(files):
            with open(path, encoding="utf-8") as handle:
                doc = yaml.safe_load(handle) or {}
            if not doc.get("meta", {}).get("enabled", True):
                continue
            for test in doc.get("tests") or []:
                stages = [s.get("stage", s) for s in test.get("stages") or []]
                tests.append((str(test.get("test_title")), stages))
    return tests


def _to_bytes(value):
    return value.encode("utf-8", "surrogateescape") if isinstance(value, str) else bytes(value)


def build_request(spec):
    """The raw bytes of one ftw test request (as ftw 1.x builds it)."""
    if spec.get("encoded_request"):
        return base64.b64decode(spec["encoded_request"])
    if spec.get("raw_request"):
        raw = spec["raw_request"]
        return _to_bytes(raw if isinstance(raw, str) else "".join(raw))
    method = str(spec.get("method", "GET"))
    uri = str(spec.get("uri", "/"))
    version = spec.get("version", "HTTP/1.1")
    headers = spec.get("headers") or {}
    data = spec.get("data", "")
    if isinstance(data, list):
        data = "\r\n".join(str(line) for line in data)
    data = "" if data is None else str(data)
    stop_magic = bool(spec.get("stop_magic", False))
    if data and not stop_magic:
        data = re.sub(r"(?<!\r)\n", "\r\n", data)
    line = "%s %s %s" % (method, uri, version) if version else "%s %s" % (method, uri)
    lines = [line]
    names = {str(k).lower() for k in headers}
    for name, value in headers.items():
        lines.append("%s: %s" % (name, value))
    if data and not stop_magic and "content-type" not in names:
        lines.append("Content-Type: application/x-www-form-urlencoded")
    if data and not stop_magic and "content-length" not in names and "transfer-encoding" not in names:
        lines.append("Content-Length: %d" % len(_to_bytes(data)))
    return _to_bytes("\r\n".join(lines) + "\r\n\r\n" + data)


# --- the wire --------------------------------------------------------------------------------------

class Client:
    """Raw HTTP/1.x over TLS to the frontend."""

    def __init__(self, address, port=443, timeout=3.0):
        self.address, self.port, self.timeout = address, port, timeout
        self.context = ssl.create_default_context()
        self.context.check_hostname = False
        self.context.verify_mode = ssl.CERT_NONE

    def send(self, raw, server_name="localhost"):
        """Send ``raw``; return (status or None, response bytes, error text or None)."""
        try:
            sock = socket.create_connection((self.address, self.port), timeout=self.timeout)
            tls = self.context.wrap_socket(sock, server_hostname=server_name)
        except OSError as exc:
            return None, b"", "connect: %s" % exc
        try:
            tls.sendall(raw)
            response = self._read(tls)
        except OSError as exc:
            return None, b"", "io: %s" % exc
        finally:
            try:
                tls.close()
            except OSError:
                pass
        match = re.match(rb"HTTP/\d\.\d (\d{3})", response)
        return (int(match.group(1)) if match else None), response, None

    def _read(self, tls):
        buf = b""
        deadline = time.monotonic() + self.timeout
        while b"\r\n\r\n" not in buf and time.monotonic() < deadline:
            try:
                chunk = tls.recv(65536)
            except socket.timeout:
                return buf
            if not chunk:
                return buf
            buf += chunk
        head, _sep, body = buf.partition(b"\r\n\r\n")
        length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        chunked = re.search(rb"(?im)^transfer-encoding:\s*chunked", head)
        while time.monotonic() < deadline:
            if length and len(body) >= int(length.group(1)):
                break
            if chunked and body.endswith(b"0\r\n\r\n"):
                break
            if not length and not chunked and re.match(rb"HTTP/\d\.\d (1\d\d|204|304)", head):
                break
            try:
                chunk = tls.recv(65536)
            except (socket.timeout, ssl.SSLError):
                break
            if not chunk:
                break
            body += chunk
        return head + b"\r\n\r\n" + body


class WafLog:
    """Reads what ModSecurity writes to nginx's error log, from a byte offset on."""

    def __init__(self, path):
        self.path = path
        self.offset = os.path.getsize(path) if os.path.exists(path) else 0
        self.marker_ids = set()

    def read_until_marker(self, marker, timeout=3.0):
        """Return the lines since the last call up to the line of ``marker`` (None if it never came)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                text = handle.read().decode("utf-8", "replace")
            position = text.find(marker)
            if position >= 0:
                end = text.find("\n", position)
                end = len(text) if end < 0 else end + 1
                self.offset += len(text[:end].encode("utf-8"))
                lines = text[:end].splitlines()
                found = UNIQUE_ID.search(lines[-1])
                if found:
                    self.marker_ids.add(found.group(1))
                return lines[:-1]
            time.sleep(0.01)
        return None

    def without_markers(self, lines):
        kept = []
        for line in lines:
            found = UNIQUE_ID.search(line)
            if found and found.group(1) in self.marker_ids:
                continue
            kept.append(line)
        return kept


def marker_request(marker):
    return ("GET /crs-marker HTTP/1.1\r\nHost: localhost\r\nUser-Agent: netzone-crs-runner\r\n"
            "Accept: */*\r\n%s: %s\r\nConnection: close\r\n\r\n" % (MARKER_HEADER, marker)).encode()


# --- checking --------------------------------------------------------------------------------------

def check_stage(output, status, response, error, log_text):
    """Return None if the stage's expectations hold, else the reason it failed."""
    reasons = []
    if output.get("log_contains") and not re.search(str(output["log_contains"]), log_text):
        reasons.append("log lacks %s" % output["log_contains"])
    if output.get("no_log_contains") and re.search(str(output["no_log_contains"]), log_text):
        reasons.append("log has %s" % output["no_log_contains"])
    if "status" in output:
        wanted = output["status"] if isinstance(output["status"], list) else [output["status"]]
        if status not in [int(s) for s in wanted]:
            reasons.append("status %s not in %s" % (status, wanted))
    if output.get("response_contains") and not re.search(
            _to_bytes(str(output["response_contains"])), response):
        reasons.append("response lacks %s" % output["response_contains"])
    if output.get("expect_error") and error is None and status is not None and status < 400:
        reasons.append("expected an error, got %s" % status)
    return "; ".join(reasons) or None


def run(tests, client, waflog, verbose=False):
    passed, failed, missing_markers = 0, [], 0
    for title, stages in tests:
        reason = None
        for stage in stages:
            raw = build_request(stage.get("input") or {})
            status, response, error = client.send(raw)
            marker = uuid.uuid4().hex
            client.send(marker_request(marker))
            lines = waflog.read_until_marker(marker)
            if lines is None:
                reason = "marker not logged (WAF log unreadable or WAF down)"
                missing_markers += 1
                if missing_markers >= 5 and passed == 0:
                    raise SystemExit("the WAF logs no marker: is something else converging this machine?")
                break
            log_text = "\n".join(waflog.without_markers(lines))
            reason = check_stage(stage.get("output") or {}, status, response, error, log_text)
            if reason:
                break
        if reason:
            failed.append((title, reason))
            if verbose:
                print("FAIL %s: %s" % (title, reason))
        else:
            passed += 1
    return passed, failed


def _warm_up(client, what):
    deadline = time.monotonic() + 30
    while client.send(marker_request("warmup"))[0] != 200:
        if time.monotonic() > deadline:
            raise SystemExit("%s never answered 200" % what)
        time.sleep(0.5)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("dirs", nargs="+", help="folders of CRS regression test YAML files")
    parser.add_argument("--verbose", action="store_true", help="print every failure as it happens")
    parser.add_argument("--direct", action="store_true",
                        help="also run the tests against nginx + ModSecurity + CRS alone and list what passes there "
                             "but fails through the whole path")
    parser.add_argument("--isolated", action="store_true",
                        help="run the path from the role's templates on its own ports and files (tests/support/"
                             "edge_lab.py) instead of converging the role on this machine")
    parser.add_argument("--min-pass-rate", type=float, default=100.0, metavar="PERCENT",
                        help="exit 0 when at least this share of the tests pass (default 100: every test); "
                             "the shared suite has known failures from library and rule versions")
    args = parser.parse_args(argv)
    tests = load_tests(args.dirs)
    if not tests:
        print("no tests found in %s" % ", ".join(args.dirs))
        print("0 passed, 0 failed")
        return 1
    if args.isolated:
        import edge_lab  # pylint: disable=import-outside-toplevel,import-error
        placed = ("loadbalancer_public_address", "loadbalancer_public_https_port", "loadbalancer_public_http_port",
                  "loadbalancer_backend_nodes", "loadbalancer_backend_port", "loadbalancer_waf_port",
                  "loadbalancer_stats_port", "loadbalancer_vhosts")
        lab = edge_lab.EdgeLab(ROLE_VARS["loadbalancer_vhosts"], front=FRONT, node=NODE[0],
                               overrides={k: v for k, v in ROLE_VARS.items() if k not in placed})
        backend = lab.node
        lab.setup, lab.teardown = lab.start, lab.stop
        node, front_port, error_log, pem, rules = ((lab.node.address, lab.node.port), lab.https_port,
                                                   lab.error_log, lab.pem, os.path.join(lab.workdir, "waf-rules.conf"))
    else:
        backend = StandinBackend(*NODE).start()
        lab = LbLab(ROLE_VARS, name="crs")
        node, front_port, error_log, pem, rules = NODE, 443, ERROR_LOG, DIRECT_PEM, "/etc/nginx/netzone/waf-rules.conf"
    direct = None
    direct_failed = None
    started = time.monotonic()
    try:
        lab.setup()
        client = Client(FRONT, front_port)
        _warm_up(client, "the WAF path")
        waflog = WafLog(error_log)
        passed, failed = run(tests, client, waflog, verbose=args.verbose)
        if args.direct:
            direct = DirectWaf(DIRECT, 443, node, pem, rules=rules).start()
            direct_client = Client(DIRECT)
            _warm_up(direct_client, "the direct WAF")
            direct_passed, direct_failed = run(tests, direct_client, WafLog(direct.error_log))
    finally:
        if direct is not None:
            direct.stop()
        lab.teardown()
        if not args.isolated:
            backend.stop()
    classes = {}
    for title, reason in failed:
        classes.setdefault(title.split("-")[0], []).append((title, reason))
    if failed and not args.verbose:
        for title, reason in failed:
            print("FAIL %s: %s" % (title, reason))
    print("%d tests in %.0f s; failures by rule: %s" % (
        len(tests), time.monotonic() - started,
        ", ".join("%s=%d" % (k, len(v)) for k, v in sorted(classes.items())) or "none"))
    rate = 100.0 * passed / (passed + len(failed))
    if direct_failed is not None:
        lost = sorted(set(title for title, _reason in failed) - set(title for title, _reason in direct_failed))
        print("direct (nginx + ModSecurity + CRS alone): %d passed, %d failed (%.1f%%)" % (
            direct_passed, len(direct_failed), 100.0 * direct_passed / (direct_passed + len(direct_failed))))
        reasons = dict(failed)
        for title in lost:
            print("LOST %s: passes direct, fails through the path: %s" % (title, reasons[title]))
        print("%d tests pass direct but fail through the path" % len(lost))
    print("pass rate %.1f%% (required: %.1f%%)" % (rate, args.min_pass_rate))
    print("%d passed, %d failed" % (passed, len(failed)))
    return 0 if rate >= args.min_pass_rate else 1


if __name__ == "__main__":
    sys.exit(main())
