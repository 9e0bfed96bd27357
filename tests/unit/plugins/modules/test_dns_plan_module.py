# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dns_plan module's own code against a real BIND 9 (``named`` on 127.0.0.1, a free port, one zone, one
TSIG key; skipped when bind9 is not installed): how it reads the zone by AXFR (the record types it keeps), each
failure's whole message (a wrong key, a key the server does not know, nobody listening, no answer), the
warnings, the diff, the same answer in check mode. The planning itself is tested in test_dns_records.py."""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from unittest import mock

import pytest
from ansible.module_utils import basic

from ansible_collections.netzone.segmentation.plugins.modules import dns_plan

NAMED = "/usr/sbin/named"
SECRET = base64.b64encode(b"k" * 32).decode()
OWNER_SECRET = "s3cr3t-0123456789-abcdefghijklmnopq"
ZONE = """$TTL 300
@ IN SOA ns.example.com. hostmaster.example.com. 1 3600 600 86400 300
@ IN NS ns.example.com.
ns IN A 127.0.0.1
victim 600 IN A 192.0.2.97
victim IN AAAA 2001:db8::97
alias IN CNAME victim.example.com.
note IN TXT "hello" "world"
mail IN MX 10 victim.example.com.
Upper IN A 192.0.2.5
"""
LBS = [{"name": "lb1", "host_address": "203.0.113.10", "public_address": "*", "internal_address": "10.20.0.10"}]
VHOSTS = [{"name": "shop.example.com", "exposure": "public", "aliases": [], "service": "web"}]


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def named(tmp_path_factory):
    if not os.access(NAMED, os.X_OK) or not shutil.which("named-checkconf"):
        pytest.skip("bind9 (named) is not installed")
    directory = tmp_path_factory.mktemp("named")
    port = _free_port()
    (directory / "example.com.db").write_text(ZONE)
    conf = directory / "named.conf"
    conf.write_text("\n".join([
        'options {', '  directory "%s";' % directory, '  pid-file "%s/named.pid";' % directory,
        '  session-keyfile "%s/session.key";' % directory, '  managed-keys-directory "%s";' % directory,
        '  listen-on port %d { 127.0.0.1; };' % port, '  listen-on-v6 { none; };', '  recursion no;',
        '  dnssec-validation no;', '  notify no;', '  allow-query { 127.0.0.1; };', '};', 'controls { };',
        'key "netzone-public" { algorithm hmac-sha256; secret "%s"; };' % SECRET,
        'key "other" { algorithm hmac-sha256; secret "%s"; };' % base64.b64encode(b"o" * 32).decode(),
        'zone "example.com" { type primary; file "%s/example.com.db"; allow-transfer { key netzone-public; }; };'
        % directory]) + "\n")
    subprocess.run(["named-checkconf", "-z", str(conf)], check=True, stdout=subprocess.DEVNULL)
    with open(directory / "named.log", "ab") as log:
        proc = subprocess.Popen([NAMED, "-g", "-4", "-c", str(conf), "-n", "1"], stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, cwd="/")
    try:
        for _attempt in range(100):
            probe = subprocess.run(["dig", "+short", "+tcp", "+time=1", "-p", str(port), "@127.0.0.1", "ns.example.com",
                                    "A"], capture_output=True, text=True, check=False)
            if probe.stdout.strip() == "127.0.0.1":
                break
            assert proc.poll() is None, (directory / "named.log").read_text()
            time.sleep(0.1)
        else:
            pytest.fail("named did not answer on 127.0.0.1 port %d" % port)
        yield port
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def _args(port, **changes):
    args = {"server": "127.0.0.1", "port": port, "zone": "example.com", "key_name": "netzone-public",
            "key_secret": SECRET, "exposure": "public", "vhosts": VHOSTS, "loadbalancers": LBS,
            "owner_secret": OWNER_SECRET, "timeout": 3}
    args.update(changes)
    return args


def test_read_zone_keeps_the_five_types_with_their_ttl(named):
    params = dict(_args(named), key_algorithm="hmac-sha256")
    assert dns_plan.read_zone(params) == {
        # names inside the zone come relative to it (dnspython's from_xfr relativizes)
        "example.com.": {"NS": {"values": ["ns"], "ttl": 300}},
        "ns.example.com.": {"A": {"values": ["127.0.0.1"], "ttl": 300}},
        "victim.example.com.": {"A": {"values": ["192.0.2.97"], "ttl": 600},
                                "AAAA": {"values": ["2001:db8::97"], "ttl": 300}},
        "alias.example.com.": {"CNAME": {"values": ["victim"], "ttl": 300}},
        "note.example.com.": {"TXT": {"values": ['"hello" "world"'], "ttl": 300}},
        "upper.example.com.": {"A": {"values": ["192.0.2.5"], "ttl": 300}},
    }


def test_a_new_name_is_planned_the_same_in_check_mode_with_its_diff(run_module, named):
    with mock.patch.object(dns_plan, "plan_updates", wraps=dns_plan.plan_updates) as spy:
        result = run_module(dns_plan.main, _args(named, ttl=120))
        checked = run_module(dns_plan.main, _args(named, ttl=120), check_mode=True, diff=True)
    assert spy.call_args_list[0][0][3] == 120 and spy.call_args_list[0][1] == {"adopt_legacy": False}
    assert result == checked
    assert (result["changed"], result["failed"], result["conflicts"], result["foreign"]) == (False, False, [], [])
    assert result["records"] == {"shop.example.com.": {"A": ["203.0.113.10"], "AAAA": []}}
    assert [(u["record"], u["type"], u["state"]) for u in result["updates"]] == [
        ("_netzone-owner.shop.example.com.", "TXT", "present"), ("shop.example.com.", "A", "present"),
        ("_netzone-owner.shop.example.com.", "TXT", "present")]
    assert result["updates"][1]["value"] == ["203.0.113.10"]
    diff = result["diff"]
    assert (diff["before_header"], diff["after_header"]) == ("example.com (owned records)", "example.com (owned records)")
    assert diff["before"] == ""
    lines = diff["after"].splitlines()
    assert lines[0] == "shop.example.com. 120 IN A 203.0.113.10" and len(lines) == 2
    assert lines[1].startswith('_netzone-owner.shop.example.com. 120 IN TXT "heritage=netzone,netzone/owner=netzone,'
                               'netzone/exposure=public,netzone/sig=')


def test_adopt_legacy_is_passed_on(run_module, named):
    with mock.patch.object(dns_plan, "plan_updates", wraps=dns_plan.plan_updates) as spy:
        run_module(dns_plan.main, _args(named, adopt_legacy=True))
    assert spy.call_args_list[0][0][3] == 300 and spy.call_args_list[0][1] == {"adopt_legacy": True}


def test_a_wanted_name_that_is_not_ours_is_a_conflict_and_a_warning(run_module, named):
    vhosts = VHOSTS + [{"name": "victim.example.com", "exposure": "public", "aliases": [], "service": "web"}]
    with mock.patch.object(basic.AnsibleModule, "warn", autospec=True) as warn:
        result = run_module(dns_plan.main, _args(named, vhosts=vhosts))
        quiet = run_module(dns_plan.main, _args(named))
    assert result["failed"] is False and len(result["conflicts"]) == 1 and quiet["conflicts"] == []
    assert result["conflicts"][0]["record"] == "victim.example.com."
    assert [c[0][1] for c in warn.call_args_list] == [result["conflicts"][0]["message"]]
    assert result["conflicts"][0]["message"] == ("victim.example.com: has A/AAAA record(s) and no ownership record "
                                                 "_netzone-owner.victim.example.com; left alone")
    assert all(u["record"] not in ("victim.example.com.", "_netzone-owner.victim.example.com.")
               for u in result["updates"])


def test_a_wrong_secret_is_refused_by_the_server(run_module, named):
    wrong = base64.b64encode(b"x" * 32).decode()
    result = run_module(dns_plan.main, _args(named, key_secret=wrong))
    assert result == {"failed": True, "msg": "zone transfer of example.com from 127.0.0.1 port %d with key netzone-public "
                                             "failed: the server rejected the TSIG key (PeerBadSignature): check "
                                             "key_name, key_secret and key_algorithm" % named}


def test_a_key_the_server_does_not_know_is_refused(run_module, named):
    result = run_module(dns_plan.main, _args(named, key_name="stranger"))
    assert result == {"failed": True, "msg": "zone transfer of example.com from 127.0.0.1 port %d with key stranger "
                                             "failed: the server rejected the TSIG key (PeerBadKey): check key_name, "
                                             "key_secret and key_algorithm" % named}


def test_the_defaults_port_53_and_10_seconds(run_module):
    with mock.patch.object(dns_plan.dns.query, "xfr", side_effect=ConnectionRefusedError(111, "Connection refused")) \
            as xfr:
        result = run_module(dns_plan.main, {k: v for k, v in _args(0).items() if k not in ("port", "timeout")})
    assert result == {"failed": True, "msg": "zone transfer of example.com from 127.0.0.1 port 53 with key "
                                             "netzone-public: cannot connect (Connection refused)"}
    assert xfr.call_args[0] == ("127.0.0.1", "example.com")
    assert {k: v for k, v in xfr.call_args[1].items() if k != "keyring"} == {
        "port": 53, "keyname": "netzone-public", "keyalgorithm": "hmac-sha256", "lifetime": 10, "timeout": 10}


def test_a_key_not_allowed_to_transfer_is_refused(run_module, named):
    result = run_module(dns_plan.main, _args(named, key_name="other", key_secret=base64.b64encode(b"o" * 32).decode()))
    assert result == {"failed": True, "msg": "zone transfer of example.com from 127.0.0.1 port %d with key other was "
                                             "refused (REFUSED): the key is wrong or the server does not allow it to "
                                             "transfer the zone (allow-transfer { key other; })" % named}


def test_a_secret_that_is_not_base64(run_module):
    result = run_module(dns_plan.main, _args(9, key_secret="not base64!"))
    assert result["failed"] is True
    assert result["msg"].startswith("key_secret of key netzone-public is not a valid base64 TSIG secret (")


def test_nobody_listening(run_module):
    port = _free_port()
    result = run_module(dns_plan.main, _args(port))
    assert result == {"failed": True, "msg": "zone transfer of example.com from 127.0.0.1 port %d with key "
                                             "netzone-public: cannot connect (Connection refused)" % port}


def test_no_answer_within_the_timeout(run_module):
    with socket.socket() as silent:  # accepts the connection (the kernel does), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        began = time.monotonic()
        result = run_module(dns_plan.main, _args(port, timeout=1))
        assert time.monotonic() - began < 10
    assert result == {"failed": True, "msg": "zone transfer of example.com from 127.0.0.1 port %d with key "
                                             "netzone-public: no answer within 1 s" % port}


def test_a_garbled_answer_is_one_message(run_module):
    """A server that answers 3 bytes (fault injection: no real one does): dnspython's ShortHeader."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]

        def answer():
            conn, _addr = server.accept()
            with conn:
                conn.recv(4096)
                conn.sendall(b"\x00\x03abc")

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        result = run_module(dns_plan.main, _args(port, timeout=3))
        thread.join(5)
    assert result == {"failed": True, "msg": "zone transfer of example.com from 127.0.0.1 port %d with key "
                                             "netzone-public failed: The DNS packet passed to from_wire() is too short." % port}


@pytest.mark.parametrize("name", ["server", "zone", "key_name", "key_secret", "exposure", "vhosts", "loadbalancers",
                                  "owner_secret"])
def test_each_required_argument(run_module, name):
    args = _args(9)
    del args[name]
    assert run_module(dns_plan.main, args) == {"failed": True, "msg": "missing required arguments: %s" % name}


def test_both_secrets_are_kept_out_of_the_logs(run_module, named):
    made = []

    class Recording(basic.AnsibleModule):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    with mock.patch.object(dns_plan, "AnsibleModule", Recording):
        run_module(dns_plan.main, _args(named))
    assert {SECRET, OWNER_SECRET} <= made[0].no_log_values


def test_bad_vhost_input_fails_before_any_transfer(run_module):
    with mock.patch.object(dns_plan, "read_zone") as read:
        result = run_module(dns_plan.main, _args(9, zone="example.org"))
    assert read.call_args_list == []
    assert result["failed"] is True and result["msg"]


def test_without_dnspython_the_module_says_so(run_module):
    with mock.patch.object(dns_plan, "HAS_DNSPYTHON", False), mock.patch.object(dns_plan, "DNSPYTHON_ERROR", "tb"):
        result = run_module(dns_plan.main, _args(9))
    assert result["failed"] is True and result["exception"] == "tb"
    assert result["msg"].startswith("Failed to import the required Python library (dnspython) on ")


def test_runs_as_a_script(run_script):
    args = _args(9)
    del args["vhosts"]
    assert run_script(dns_plan, args) == (1, {"failed": True, "msg": "missing required arguments: vhosts"})


def test_without_dnspython_the_module_names_the_library_and_touches_nothing(load_without, run_module):
    """The module file loaded again with ``dns`` unimportable (as on a host without python3-dnspython)."""
    import platform  # pylint: disable=import-outside-toplevel
    import sys  # pylint: disable=import-outside-toplevel

    bare = load_without(dns_plan, "dns")
    assert bare.HAS_DNSPYTHON is False
    result = run_module(bare.main, {"vhosts": [], "loadbalancers": [], "zone": "example.com", "server": "127.0.0.1",
                                    "key_name": "k", "key_secret": base64.b64encode(b"k" * 32).decode(),
                                    "exposure": "public", "owner_secret": "s" * 32})
    assert result["failed"] is True
    assert result["msg"] == (
        "Failed to import the required Python library (dnspython) on %s's Python %s. Please read the module "
        "documentation and install it in the appropriate location. If the required library is installed, but "
        "Ansible is using the wrong Python interpreter, please consult the documentation on "
        "ansible_python_interpreter" % (platform.node(), sys.executable))
