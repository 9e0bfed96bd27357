# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real BIND 9 for the dns scenario, on loopback only.

``bind_lab.py start DIR`` writes a configuration into DIR and starts ``named`` (Debian's bind9 package) in the
foreground as a child of its own session, listening on 127.0.50.1 (view "public": zone example.com, key
netzone-public) and 127.0.50.2 (view "internal": zone corp.example, key netzone-internal), TCP/UDP port
PORT, authoritative only: ``recursion no``, no forwarders, no root hints used, DNSSEC validation off.
Each key may update and transfer its own zone only; a third key, "acme" (what an ACME client holds for its
DNS-01 challenges), may write TXT records in example.com and nothing else (``update-policy``). The public zone
starts with records nobody of ours owns (``legacy``, ``other`` with another owner's ownership record,
``victim`` and ``victim2``), which must survive every run. Prints the keys as JSON.
``bind_lab.py stop DIR`` ends that named by the PID it wrote, and nothing else.
"""

import base64
import json
import os
import signal
import subprocess
import sys
import time

PORT = 15353
VIEWS = {
    "public": {"address": "127.0.50.1", "zone": "example.com", "key": "netzone-public"},
    "internal": {"address": "127.0.50.2", "zone": "corp.example", "key": "netzone-internal"},
}
ZONE = """$TTL 300
@ IN SOA ns.{zone}. hostmaster.{zone}. 1 3600 600 86400 300
@ IN NS ns.{zone}.
ns IN A {address}
{extra}"""
FOREIGN = {"public": "legacy IN A 192.0.2.99\n_netzone-owner.other IN TXT \"heritage=netzone,netzone/owner=someone-else\"\n"
                     "other IN A 192.0.2.98\nvictim IN A 192.0.2.97\nvictim2 IN A 192.0.2.96\n", "internal": ""}
# The key an ACME client would hold: TXT records anywhere in the public zone, nothing else.
ACME_KEY = "acme"


def start(directory):
    os.makedirs(directory, exist_ok=True)
    secrets = {}
    conf = ['options {', '  directory "%s";' % directory, '  pid-file "%s/named.pid";' % directory,
            '  session-keyfile "%s/session.key";' % directory, '  managed-keys-directory "%s";' % directory,
            '  listen-on port %d { %s; };' % (PORT, "; ".join(v["address"] for v in VIEWS.values())),
            '  listen-on-v6 { none; };', '  recursion no;', '  allow-recursion { none; };', '  forwarders { };',
            '  dnssec-validation no;', '  notify no;', '  allow-query { 127.0.0.0/8; };', '};',
            'controls { };']
    for name, view in VIEWS.items():
        secret = base64.b64encode(os.urandom(32)).decode()
        secrets[name] = {"server": view["address"], "port": PORT, "zone": view["zone"], "key_name": view["key"],
                         "key_secret": secret}
        conf.append('key "%s" { algorithm hmac-sha256; secret "%s"; };' % (view["key"], secret))
    acme_secret = base64.b64encode(os.urandom(32)).decode()
    secrets[ACME_KEY] = {"server": VIEWS["public"]["address"], "port": PORT, "zone": VIEWS["public"]["zone"],
                         "key_name": ACME_KEY, "key_secret": acme_secret}
    conf.append('key "%s" { algorithm hmac-sha256; secret "%s"; };' % (ACME_KEY, acme_secret))
    for name, view in VIEWS.items():
        zone_file = os.path.join(directory, "%s.db" % view["zone"])
        with open(zone_file, "w", encoding="utf-8") as handle:
            handle.write(ZONE.format(zone=view["zone"], address=view["address"], extra=FOREIGN[name]))
        for stale in (zone_file + ".jnl",):
            if os.path.exists(stale):
                os.unlink(stale)
        if name == "public":
            updates = "update-policy { grant %s zonesub ANY; grant %s zonesub TXT; };" % (view["key"], ACME_KEY)
        else:
            updates = "allow-update { key %s; };" % view["key"]
        conf += ['view "%s" {' % name, '  match-destinations { %s; };' % view["address"],
                 '  zone "%s" { type primary; file "%s"; %s allow-transfer { key %s; }; };'
                 % (view["zone"], zone_file, updates, view["key"]), '};']
    conf_file = os.path.join(directory, "named.conf")
    with open(conf_file, "w", encoding="utf-8") as handle:
        handle.write("\n".join(conf) + "\n")
    subprocess.run(["named-checkconf", "-z", conf_file], check=True, stdout=subprocess.DEVNULL)
    # named listens only on addresses it finds on an interface: put ours on lo (as /32, removed by stop).
    added = []
    for view in VIEWS.values():
        if subprocess.run(["ip", "-4", "addr", "add", view["address"] + "/32", "dev", "lo"], check=False,
                          stderr=subprocess.DEVNULL).returncode == 0:
            added.append(view["address"])
    with open(os.path.join(directory, "lo-addresses"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(added))
    with open(os.path.join(directory, "named.log"), "ab") as log:
        proc = subprocess.Popen(["/usr/sbin/named", "-g", "-4", "-c", conf_file, "-n", "1"], stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True, cwd="/")
    with open(os.path.join(directory, "lab.pid"), "w", encoding="utf-8") as handle:
        handle.write(str(proc.pid))
    for _attempt in range(100):
        probe = subprocess.run(["dig", "+short", "+tcp", "-p", str(PORT), "@127.0.50.1", "ns.example.com", "A"],
                               capture_output=True, text=True, check=False)
        if probe.stdout.strip() == "127.0.50.1":
            break
        if proc.poll() is not None:
            sys.exit("named exited (%s); see %s/named.log" % (proc.returncode, directory))
        time.sleep(0.1)
    else:
        stop(directory)
        sys.exit("named did not answer on 127.0.50.1 port %d" % PORT)
    json.dump(secrets, sys.stdout)


def stop(directory):
    path = os.path.join(directory, "lab.pid")
    pid = 0
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            pid = int(handle.read().strip() or 0)
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            ours = os.path.join(directory, "named.conf").encode() in handle.read().split(b"\0")
    except OSError:
        ours = False
    if pid > 0 and ours:  # the PID still names our named (never another process that reused it)
        try:
            os.kill(pid, signal.SIGTERM)
            for _attempt in range(50):
                os.kill(pid, 0)
                time.sleep(0.1)
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if os.path.exists(path):
        os.unlink(path)
    addresses = os.path.join(directory, "lo-addresses")
    if os.path.exists(addresses):
        with open(addresses, encoding="utf-8") as handle:
            for address in handle.read().split():
                subprocess.run(["ip", "-4", "addr", "del", address + "/32", "dev", "lo"], check=False)
        os.unlink(addresses)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop"):
        sys.exit("usage: bind_lab.py start|stop DIR")
    (start if sys.argv[1] == "start" else stop)(sys.argv[2])
