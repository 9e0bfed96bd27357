# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lb_vhosts filter: what it returns, and that errors name the filter and the path."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.netzone.segmentation.plugins.filter.lb_vhosts import FilterModule, lb_vhosts


def test_filter_is_registered():
    assert FilterModule().filters()["lb_vhosts"] is lb_vhosts


def test_normalises_without_zone_check():
    [vhost] = lb_vhosts([{"name": "a.example.com", "service": "web", "zone": "anywhere"}])
    assert vhost["zone"] == "anywhere" and vhost["tls"]["mode"] == "selfsigned" and vhost["paths"][0]["path"] == "/"


def test_checks_zones_when_given():
    with pytest.raises(AnsibleFilterError, match=r"^netzone\.segmentation\.lb_vhosts: vhosts\[0\]\.zone: unknown zone 'dmz'"):
        lb_vhosts([{"name": "a.example.com", "service": "web", "zone": "dmz"}], zones=["frontend"])


def test_error_names_the_path():
    with pytest.raises(AnsibleFilterError, match=r"vhosts\[0\]\.tls\.key: is required"):
        lb_vhosts([{"name": "a.example.com", "service": "web", "tls": {"cert": "c.pem"}}])
