# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checks of names, labels and protocols that the matrix, its vhosts and the proof's input share.

Each is a predicate (or a normaliser returning ``None`` for a bad value): the caller raises its own error,
naming the path of the value, with its own wording.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ansible_collections.netzone.segmentation.plugins.module_utils._common.constants import PROTOCOLS

# RFC 1123 label (namespace names, zone names, labels of a host name): lowercase letters, digits, '-'.
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# RFC 1035 label (Service names): as above but starting with a letter.
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
# Kubernetes label key: an optional DNS subdomain prefix and '/', then a name of at most 63 characters.
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
# A container port name (IANA_SVC_NAME): at most 15 lowercase letters, digits and '-', one letter at least.
_PORT_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


def is_dns_label(value, max_length=63):
    """An RFC 1123 label of at most ``max_length`` characters (a namespace or zone name)."""
    return isinstance(value, str) and len(value) <= max_length and bool(_DNS_LABEL.fullmatch(value))


def is_dns1035_label(value):
    """An RFC 1035 label (a Kubernetes Service name)."""
    return isinstance(value, str) and len(value) <= 63 and bool(_DNS1035_LABEL.fullmatch(value))


def is_label_key(key):
    """A Kubernetes label key: ``[prefix/]name``, the prefix a DNS subdomain, the name at most 63 characters."""
    if not isinstance(key, str) or not key:
        return False
    prefix, sep, name = key.rpartition("/")
    if sep and (not prefix or len(prefix) > 253 or not all(_DNS_LABEL.fullmatch(part) for part in prefix.split("."))):
        return False
    return len(name) <= 63 and bool(_LABEL_NAME.fullmatch(name))


def is_label_value(value):
    """A Kubernetes label value: at most 63 letters, digits, '-', '_' and '.', alphanumeric at both ends."""
    return isinstance(value, str) and len(value) <= 63 and bool(_LABEL_VALUE.fullmatch(value))


def is_port_name(value):
    """A named container port (IANA service name)."""
    return (isinstance(value, str) and len(value) <= 15 and bool(_PORT_NAME.fullmatch(value)) and "--" not in value
            and bool(re.search("[a-z]", value)))


def protocol(value, case_insensitive=False):
    """``TCP``, ``UDP`` or ``SCTP`` for ``value`` (any case when ``case_insensitive``), else ``None``."""
    if not isinstance(value, str):
        return None
    text = value.upper() if case_insensitive else value
    return text if text in PROTOCOLS else None


def json_type(value):
    """The JSON type of ``value`` as messages name it: ``an object``, ``a list``, ``a string``, ``an integer``,
    ``a number``, ``a boolean``, ``null``.  Checked with ``isinstance``, so that the values Ansible hands over (its
    tagged subclasses of str, dict, int...) are named by what they are, never by their class name."""
    if value is None:
        return "null"
    for kind, name in ((bool, "a boolean"), (int, "an integer"), (float, "a number"), (str, "a string"),
                       (Mapping, "an object"), ((list, tuple), "a list")):
        if isinstance(value, kind):
            return name
    return "a value of type %s" % type(value).__name__


def did_you_mean(name, known):
    """`` (did you mean 'x'?)`` for the closest of ``known`` within two edits of ``name``, else ``""``: every
    message about an unknown name ends with it."""
    if not isinstance(name, str):
        return ""
    close = [k for k in sorted(known) if _distance(name, k) <= 2]
    return " (did you mean %r?)" % close[0] if close else ""


def _distance(a, b):
    if abs(len(a) - len(b)) > 2:
        return 3
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


_PORT_TEXT = re.compile(r"^\s*(\d+)(?:\s*-\s*\d+)?\s*(?:/\s*[A-Za-z]+)?\s*$")


def port_instead_of_name(value, services):
    """A hint for a port written where a service name belongs (``80``, ``'80/tcp'``): which services have that
    port, or how to name one.  ``services``: the normalised ``{name: [{port, end_port, protocol}]}``."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return ""
    match = _PORT_TEXT.match(str(value))
    if not match:
        return ""
    port = int(match.group(1))
    having = sorted(name for name, ports in services.items()
                    if any(p["port"] <= port <= (p["end_port"] or p["port"]) for p in ports))
    if having:
        return " (%r is a port: flows name services; %s %s it)" % (
            value, " or ".join(repr(n) for n in having), "has" if len(having) == 1 else "have")
    return " (%r is a port: flows name services; define one under 'services', for example app: [%s/tcp])" % (
        value, port)
