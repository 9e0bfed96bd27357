# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which of the ports a service needs are already held by another program (plain Python, no Ansible).

Input is what ``community.general.listen_ports_facts`` gathers (``tcp_listen``: ``address``, ``port``,
``name``, ``pid``); the load balancer role checks its frontends and loopback listeners with it before it
installs or starts anything.
"""

from __future__ import annotations

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import InputError

#: Addresses that mean "every address" in a listener or in a setting.
WILDCARDS = ("", "*", "0.0.0.0", "::", "[::]")


def _address(text):
    text = str(text or "").strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return text.split("%", 1)[0]  # fe80::1%eth0 -> fe80::1


def _overlap(held, wanted):
    held, wanted = _address(held), _address(wanted)
    return held in WILDCARDS or wanted in WILDCARDS or held == wanted


def port_conflicts(listening, wanted, own_programs=()):
    """The wanted ports another program already listens on, in the order of ``wanted``.

    :param listening: ``tcp_listen`` of ``listen_ports_facts``: mappings with ``address``, ``port``, ``name``
        and ``pid``.
    :param wanted: mappings with ``address``, ``port``, ``what`` (what needs it) and ``var`` (the setting to
        change); a false ``port`` (0, empty) is not wanted.
    :param own_programs: names of the programs that may hold the ports (the service's own, on a re-run).
    :returns: one mapping per conflict: ``want`` (``address:port``), ``what``, ``var``, ``local`` (the address
        and port the other program listens on) and ``owner`` (``'name' (pid N)``).
    """
    if not isinstance(listening, list) or not isinstance(wanted, list):
        raise InputError("port_conflicts", "needs the list of listeners and the list of wanted ports")
    found = []
    for want in wanted:
        port = want.get("port")
        if not port:
            continue
        for held in listening:
            if str(held.get("port")) != str(port) or held.get("name") in own_programs:
                continue
            if not _overlap(held.get("address"), want.get("address")):
                continue
            name = held.get("name") or "an unknown program"
            found.append({
                "want": "%s:%s" % (want.get("address"), port),
                "what": want.get("what", ""),
                "var": want.get("var", ""),
                "local": "%s:%s" % (held.get("address"), held.get("port")),
                "owner": "'%s' (pid %s)" % (name, held["pid"]) if held.get("pid") else name,
            })
            break
    return found
