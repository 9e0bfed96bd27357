# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""port_conflicts: which wanted ports another program holds, from listen_ports_facts' tcp_listen."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.netzone.segmentation.plugins.filter.port_conflicts import port_conflicts as conflicts_filter
from ansible_collections.netzone.segmentation.plugins.module_utils._edge.ports import port_conflicts

LISTENING = [
    {"address": "0.0.0.0", "port": 22, "name": "sshd", "pid": 10, "protocol": "tcp"},
    {"address": "127.0.0.1", "port": 8081, "name": "nginx", "pid": 20, "protocol": "tcp"},
    {"address": "192.0.2.10", "port": 443, "name": "apache2", "pid": 30, "protocol": "tcp"},
    {"address": "::", "port": 8404, "name": "grafana", "pid": 40, "protocol": "tcp"},
    {"address": "fe80::1%eth0", "port": 80, "name": "", "pid": None, "protocol": "tcp"},
]
WANTED = [
    {"address": "*", "port": 443, "what": "public HTTPS frontend", "var": "loadbalancer_public_https_port"},
    {"address": "192.0.2.11", "port": 443, "what": "internal HTTPS frontend", "var": "loadbalancer_internal_https_port"},
    {"address": "127.0.0.1", "port": 8081, "what": "the WAF hop", "var": "loadbalancer_waf_port"},
    {"address": "127.0.0.1", "port": 8404, "what": "HAProxy stats", "var": "loadbalancer_stats_port"},
    {"address": "127.0.0.1", "port": 0, "what": "nothing", "var": "x"},
]


def test_conflicts_in_wanted_order_with_owner_and_setting():
    found = port_conflicts(LISTENING, WANTED, ("haproxy", "nginx"))
    assert found == [
        {"want": "*:443", "what": "public HTTPS frontend", "var": "loadbalancer_public_https_port",
         "local": "192.0.2.10:443", "owner": "'apache2' (pid 30)"},
        {"want": "127.0.0.1:8404", "what": "HAProxy stats", "var": "loadbalancer_stats_port",
         "local": ":::8404", "owner": "'grafana' (pid 40)"},
    ]


def test_own_programs_may_hold_their_ports_and_others_may_not():
    assert port_conflicts(LISTENING, WANTED[2:3], ("haproxy", "nginx")) == []
    assert [c["owner"] for c in port_conflicts(LISTENING, WANTED[2:3])] == ["'nginx' (pid 20)"]


def test_addresses_overlap_only_when_equal_or_wildcard():
    assert port_conflicts(LISTENING, [{"address": "192.0.2.11", "port": 443}]) == []
    assert port_conflicts(LISTENING, [{"address": "fe80::1", "port": 80}])[0]["owner"] == "an unknown program"
    assert port_conflicts(LISTENING, [{"address": "[fe80::1]", "port": 80}]) != []
    assert port_conflicts(LISTENING, [{"address": "[2001:db8::5]", "port": 80}]) == []   # brackets are not a wildcard


def test_filter_turns_bad_input_into_one_error():
    with pytest.raises(AnsibleFilterError, match="port_conflicts: .*needs the list of listeners"):
        conflicts_filter(None, WANTED)


@pytest.mark.parametrize("held", ["", "*", "0.0.0.0", "::", "[::]", None])
def test_every_wildcard_listener_holds_the_port_on_every_address(held):
    listening = [{"address": held, "port": 9000, "name": "other", "pid": 7}]
    assert port_conflicts(listening, [{"address": "192.0.2.1", "port": 9000, "what": "w", "var": "v"}]) == [
        {"want": "192.0.2.1:9000", "what": "w", "var": "v", "local": "%s:9000" % held, "owner": "'other' (pid 7)"}]


@pytest.mark.parametrize("wanted", ["", "*", "0.0.0.0", "::", "[::]"])
def test_a_wildcard_setting_wants_the_port_on_every_address(wanted):
    listening = [{"address": "198.51.100.4", "port": 9000, "name": "other", "pid": 7}]
    assert [c["local"] for c in port_conflicts(listening, [{"address": wanted, "port": 9000}])] == ["198.51.100.4:9000"]


def test_one_conflict_per_wanted_port_the_first_listener_named():
    listening = [{"address": "0.0.0.0", "port": "9000", "name": "first", "pid": 1},
                 {"address": "::", "port": 9000, "name": "second", "pid": 2}]
    # the port compared as text ("9000" == 9000); the first holder only, then the next wanted port
    assert port_conflicts(listening, [{"address": "127.0.0.1", "port": 9000}]) == [
        {"want": "127.0.0.1:9000", "what": "", "var": "", "local": "0.0.0.0:9000", "owner": "'first' (pid 1)"}]


def test_an_unnamed_program_with_a_pid_is_named_by_its_pid():
    listening = [{"address": "127.0.0.1", "port": 9000, "name": "", "pid": 99}]
    assert [c["owner"] for c in port_conflicts(listening, [{"address": "127.0.0.1", "port": 9000}])] == [
        "'an unknown program' (pid 99)"]


def test_only_a_fully_bracketed_address_loses_its_brackets():
    listening = [{"address": "192.0.2.10", "port": 9000, "name": "other", "pid": 7}]
    # "*]" and "[*" are not wildcards: only "[...]" is unwrapped
    assert port_conflicts(listening, [{"address": "*]", "port": 9000}]) == []
    assert port_conflicts(listening, [{"address": "[*", "port": 9000}]) == []
    assert port_conflicts(listening, [{"address": "[192.0.2.10]", "port": 9000}]) != []
    assert port_conflicts(listening, [{"address": " 192.0.2.10 ", "port": 9000}]) != []
