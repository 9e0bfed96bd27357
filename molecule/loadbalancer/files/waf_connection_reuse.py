"""Check that HAProxy keeps its connections to the WAF (nginx) for the client connection they serve.

Three times over, client A sends 3 requests on one keep-alive connection and closes it, then client B sends
REQUESTS requests on one keep-alive connection; all go through the WAF. The WAF backend's connection count
(stats CSV, field ``connect``) may grow by one per client connection, not per request. (The connections
carry the client's address in a PROXY protocol header, so they cannot serve another client; HAProxy's
default connection pooling left the closed clients' connections in its idle pool and from then on opened a
new connection for every request.) Prints the figures as JSON; exit 1 if
more connections were opened than client connections, or if any request did not answer 200.

Usage: waf_connection_reuse.py ADDRESS HOSTNAME STATS_URL [REQUESTS]"""
import base64
import csv
import http.client
import io
import json
import ssl
import sys
import urllib.parse
import urllib.request

ROUNDS = 3


def waf_connects(stats_url):
    """The be_waf backend's connection count from the stats page (STATS_URL may carry user:password@)."""
    parts = urllib.parse.urlsplit(stats_url)
    headers = {}
    if parts.username:
        token = "%s:%s" % (urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password or ""))
        headers["Authorization"] = "Basic " + base64.b64encode(token.encode()).decode()
    url = urllib.parse.urlunsplit((parts.scheme, parts.hostname + (":%d" % parts.port if parts.port else ""),
                                   parts.path, parts.query, parts.fragment))
    with urllib.request.urlopen(urllib.request.Request(url + ";csv", headers=headers), timeout=10) as answer:
        text = answer.read().decode("utf-8").lstrip("# ")
    for row in csv.DictReader(io.StringIO(text)):
        if row["pxname"] == "be_waf" and row["svname"] == "BACKEND":
            return int(row["connect"] or 0)
    raise SystemExit("no be_waf backend in %s" % stats_url)


def client(address, hostname, requests):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection(address, 443, timeout=10, context=context)
    statuses = []
    for number in range(requests):
        conn.request("GET", "/reuse-check?n=%d" % number, headers={"Host": hostname})
        answer = conn.getresponse()
        answer.read()
        statuses.append(answer.status)
    conn.close()
    return statuses


def main(address, hostname, stats_url, requests=30):
    before = waf_connects(stats_url)
    statuses = []
    for _round in range(ROUNDS):
        statuses += client(address, hostname, 3) + client(address, hostname, int(requests))
    opened = waf_connects(stats_url) - before
    result = {"requests": len(statuses), "not_200": sum(1 for status in statuses if status != 200),
              "client_connections": 2 * ROUNDS, "waf_connections_opened": opened}
    print(json.dumps(result))
    return 0 if result["not_200"] == 0 and opened <= result["client_connections"] else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
