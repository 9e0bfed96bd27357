# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""lb_settings: the load balancer role's settings, every problem at once, one message per wrong setting."""

from __future__ import annotations

import os

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.netzone.segmentation.plugins.filter.lb_settings import lb_settings as settings_filter
from ansible_collections.netzone.segmentation.plugins.module_utils._edge.lb_settings import check_settings

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
PROFILES = ("intermediate", "modern")
NODES = [{"name": "node1", "address": "192.0.2.10"}, {"name": "node2", "address": "192.0.2.11"}]


def _defaults():
    """The role's own defaults (the settings a user starts from), with one vhost."""
    with open(os.path.join(ROOT, "roles", "loadbalancer", "defaults", "main.yml"), encoding="utf-8") as handle:
        defaults = yaml.safe_load(handle)
    settings = {key: value for key, value in defaults.items() if key.startswith("loadbalancer_")}
    settings["loadbalancer_vhosts"] = [{"name": "shop.example.com", "service": "web"}]
    return settings


def _listeners(settings):
    return {exposure: {"address": settings["loadbalancer_%s_address" % exposure],
                       "https_port": settings["loadbalancer_%s_https_port" % exposure],
                       "http_port": settings["loadbalancer_%s_http_port" % exposure],
                       "vip": settings["loadbalancer_%s_vip" % exposure]}
            for exposure in ("public", "internal")}


def _check(nodes=None, group=None, **changes):
    settings = _defaults()
    settings.update(changes)
    return check_settings(settings, NODES if nodes is None else nodes, group, PROFILES, _listeners(settings))


def test_the_defaults_with_a_vhost_and_nodes_are_right():
    checked = _check()
    assert checked["problems"] == []
    assert [vhost["name"] for vhost in checked["vhosts"]] == ["shop.example.com"]
    assert checked["vhosts"][0]["exposure"] == "public"


def test_every_wrong_setting_gets_its_own_message_all_at_once():
    checked = _check(loadbalancer_tls_profile="moden", loadbalancer_waf_mode="blockng",
                     loadbalancer_waf_paranoia_level=5, loadbalancer_stats_port=8081,
                     loadbalancer_stats_user="net zone", loadbalancer_haproxy_threads="two",
                     loadbalancer_log_ring_size=1024, loadbalancer_public_http_port=443,
                     loadbalancer_log_server="logs.example.com")
    assert checked["problems"] == [
        "loadbalancer_tls_profile: expected one of 'intermediate', 'modern', got 'moden' (did you mean 'modern'?)",
        "loadbalancer_waf_mode: expected one of 'blocking', 'detection', got 'blockng' (did you mean 'blocking'?)",
        "loadbalancer_waf_paranoia_level: expected an integer from 1 to 4 (the CRS paranoia level), got 5",
        "loadbalancer_stats_port: port 8081 is also loadbalancer_waf_port; the WAF hop (loadbalancer_waf_port), the "
        "stats page (loadbalancer_stats_port) and the syslog input (loadbalancer_syslog_port) each need their own port",
        "loadbalancer_stats_user: expected a user name of letters, digits, '.', '_' and '-', got 'net zone'",
        "loadbalancer_haproxy_threads: 'two' is neither auto nor a number of threads (1-999)",
        "loadbalancer_log_server: expected a syslog server as host:port (TCP), [IPv6]:port for an IPv6 address, "
        "got 'logs.example.com'",
        "loadbalancer_log_ring_size: 1024 bytes is too small; it must be at least 16384",
        "loadbalancer_public_http_port: port 443 serves plain HTTP here and HTTPS as loadbalancer_public_https_port; "
        "the WAF tells a request's scheme by the port its client connected to, so they must differ",
    ]
    # The vhosts were right: they are returned normalised even though other settings are wrong.
    assert [vhost["name"] for vhost in checked["vhosts"]] == ["shop.example.com"]


def test_a_bad_vhost_is_one_message_beside_the_others():
    checked = _check(loadbalancer_vhosts=[{"name": "shop.example.com"}], loadbalancer_waf_mode="on")
    assert checked["problems"] == [
        "loadbalancer_vhosts[0].service: is required (the Kubernetes Service the Ingress points to)",
        "loadbalancer_waf_mode: expected one of 'blocking', 'detection', got 'on'",
    ]
    assert checked["vhosts"] == []


def test_no_vhost_and_no_node():
    checked = _check(nodes=[], group="microk8s", loadbalancer_vhosts=[])
    assert checked["problems"] == [
        "loadbalancer_vhosts: no virtual host to serve: give at least one (or define netzone_matrix with its vhosts)",
        "loadbalancer_backend_group: group 'microk8s' has no host: add the cluster nodes to it, or list them in "
        "loadbalancer_backend_nodes (each a name and an address)",
    ]


@pytest.mark.parametrize("nodes, problems", [
    ([{"name": "node 1", "address": "192.0.2.10"}],
     ["loadbalancer_backend_nodes[0].name: expected a node name of letters, digits, '.', '_' and '-', got 'node 1'"]),
    ([{"name": "n", "address": "192.0.2.10"}, {"name": "n", "address": "192.0.2.11"}],
     ["loadbalancer_backend_nodes[1].name: duplicate node name 'n' (already used by loadbalancer_backend_nodes[0])"]),
    ([{"name": "n", "address": "192.0.2.10/24"}, {"name": "m"}],
     ["loadbalancer_backend_nodes[0].address: expected an IP address or host name, got '192.0.2.10/24'",
      "loadbalancer_backend_nodes[1].address: expected an IP address or host name, got null"]),
    (["node1"], ["loadbalancer_backend_nodes[0]: expected an object with name and address, got a string"]),
    (["node1", {"name": "n 2", "address": "192.0.2.12"}],
     ["loadbalancer_backend_nodes[0]: expected an object with name and address, got a string",
      "loadbalancer_backend_nodes[1].name: expected a node name of letters, digits, '.', '_' and '-', got 'n 2'"]),
    ({"name": "node1"}, ["loadbalancer_backend_nodes: expected a list of nodes (each a name and an address), "
                         "got an object"]),
    ([], ["loadbalancer_backend_nodes: no backend node: list the cluster nodes (each a name and an address)"]),
])
def test_explicit_nodes(nodes, problems):
    assert _check(nodes=nodes)["problems"] == problems


def test_a_node_of_the_group_names_the_inventory_variables():
    checked = _check(nodes=[{"name": "k8s-1", "address": "10.0.0.1 # old"}], group="microk8s")
    assert checked["problems"] == [
        "loadbalancer_backend_group: host 'k8s-1' of group 'microk8s' has the address '10.0.0.1 # old', not an IP "
        "address or host name: set its netzone_address or ansible_host"]


def test_internal_vhosts_need_the_internal_address():
    vhosts = [{"name": "shop.example.com", "service": "web"},
              {"name": "intranet.example.com", "service": "wiki", "exposure": "internal"}]
    assert _check(loadbalancer_vhosts=vhosts)["problems"] == [
        "loadbalancer_internal_address: is empty, but the vhost(s) intranet.example.com are exposure: internal; set "
        "it to the load balancer's address on the internal network, or make them public"]
    # With its own address and the public frontend on another one, the same vhosts are right.
    assert _check(loadbalancer_vhosts=vhosts, loadbalancer_public_address="192.0.2.1",
                  loadbalancer_internal_address="198.51.100.1")["problems"] == []


def test_an_internal_frontend_on_the_public_listener_is_refused_by_the_routing():
    vhosts = [{"name": "shop.example.com", "service": "web"},
              {"name": "intranet.example.com", "service": "wiki", "exposure": "internal"}]
    problems = _check(loadbalancer_vhosts=vhosts, loadbalancer_internal_address="198.51.100.1")["problems"]
    assert len(problems) == 1
    assert problems[0].startswith("loadbalancer_internal_address: the public HTTPS frontend "), problems
    assert "share a listener" in problems[0]


def test_logs_must_go_somewhere():
    assert _check(loadbalancer_syslog=False)["problems"] == [
        "loadbalancer_log_server: is empty and loadbalancer_syslog is false, so HAProxy's logs would go nowhere: give a "
        "syslog server as host:port (TCP), or set loadbalancer_syslog to true (the local rsyslog)"]
    assert _check(loadbalancer_syslog=False, loadbalancer_log_server="logs.example.com:6514")["problems"] == []
    assert _check(loadbalancer_log_server="[2001:db8::5]:514")["problems"] == []


@pytest.mark.parametrize("changes", [
    {"loadbalancer_haproxy_threads": 4}, {"loadbalancer_haproxy_threads": "999"},
    {"loadbalancer_waf_paranoia_level": 1}, {"loadbalancer_waf_paranoia_level": 2},
    {"loadbalancer_waf_paranoia_level": 3}, {"loadbalancer_waf_paranoia_level": 4}, {"loadbalancer_tls_profile": "modern"},
    {"loadbalancer_waf_mode": "detection"}, {"loadbalancer_public_http_port": 0},
    {"loadbalancer_log_ring_size": 16384}, {"loadbalancer_stats_user": "ops.team_1-a"},
])
def test_what_the_role_accepted_it_still_accepts(changes):
    assert _check(**changes)["problems"] == []


@pytest.mark.parametrize("changes, start", [
    ({"loadbalancer_haproxy_threads": "1000"}, "loadbalancer_haproxy_threads: '1000'"),
    ({"loadbalancer_haproxy_threads": 0}, "loadbalancer_haproxy_threads: '0'"),
    ({"loadbalancer_waf_paranoia_level": True}, "loadbalancer_waf_paranoia_level: "),
    ({"loadbalancer_waf_paranoia_level": "2"}, "loadbalancer_waf_paranoia_level: "),
    ({"loadbalancer_log_ring_size": "big"}, "loadbalancer_log_ring_size: expected an integer (bytes), got 'big'"),
    ({"loadbalancer_syslog_port": 8404}, "loadbalancer_syslog_port: port 8404 is also loadbalancer_stats_port"),
])
def test_what_the_role_refused_it_still_refuses(changes, start):
    problems = _check(**changes)["problems"]
    assert len(problems) == 1 and problems[0].startswith(start), problems


def test_the_filter_is_the_core_and_names_itself_on_bad_input():
    settings = _defaults()
    assert settings_filter(settings, NODES, tls_profiles=list(PROFILES), listeners=_listeners(settings)) == \
        check_settings(settings, NODES, None, PROFILES, _listeners(settings))
    with pytest.raises(AnsibleFilterError) as refused:
        settings_filter(["loadbalancer_waf_mode"], NODES)
    assert str(refused.value) == ("netzone.segmentation.lb_settings: settings: expected an object of the role's "
                                  "variables, got a list")


def test_a_public_vhost_without_tls_is_warned_about_once_written_out_it_is_not():
    checked = _check(loadbalancer_vhosts=[{"name": "shop.example.com", "service": "web"},
                                          {"name": "api.example.com", "service": "api", "tls": "selfsigned"},
                                          {"name": "wiki.example.com", "service": "wiki", "exposure": "internal"}],
                     loadbalancer_public_address="192.0.2.1", loadbalancer_internal_address="198.51.100.1")
    assert checked["problems"] == []
    assert checked["warnings"] == [
        "loadbalancer_vhosts[0].tls: not set, so the public vhost 'shop.example.com' gets a self-signed certificate, "
        "which browsers refuse: give tls: {cert, key} (PEM files on the controller), or write tls: selfsigned if "
        "that is meant"]
    # The plan's vhosts (already normalised, tls filled in) are not warned about again by the role.
    assert _check(loadbalancer_vhosts=checked["vhosts"], loadbalancer_public_address="192.0.2.1",
                  loadbalancer_internal_address="198.51.100.1")["warnings"] == []
