# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one schema toolkit of the matrix, its ``egress`` section and its ``vhosts``: the same checks, the same words.

Every check raises :class:`~errors.MatrixError` with the path of the value and one wording per fault, named
with JSON types (:func:`validators.json_type`):

* a wrong type: ``expected a list, got an object``;
* a key that is not a string: ``expected string keys, got an integer (1)``;
* an unknown key: ``unknown key (expected one of: a, b) (did you mean 'a'?)``;
* a value outside a fixed set: ``expected one of 'public', 'internal', got 'publc' (did you mean 'public'?)``;
* a number outside its bounds: ``70000 out of range 1-65535`` (``port 70000 out of range 1-65535`` for a port);
* an empty list that must hold something: ``must list at least one port``;
* a missing key: ``is required``.

The model modules keep the checks that only they make (a CIDR, a port spec, a host name...) and word them
around these.
"""

from __future__ import annotations

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import MatrixError, key_path
from ansible_collections.netzone.segmentation.plugins.module_utils._common.validators import did_you_mean, json_type

#: What a message calls each Python type it expects (JSON names).
TYPE_NAMES = {dict: "an object", list: "a list", str: "a string", int: "an integer", bool: "a boolean"}


def fail(path, message):
    """Raise the one input error of the matrix, its egress section and its vhosts."""
    raise MatrixError(path, message)


def got(value):
    """What a message says was given: the JSON type, ``an empty string`` or ``an empty list``."""
    if isinstance(value, str) and not value:
        return "an empty string"
    if isinstance(value, list) and not value:
        return "an empty list"
    return json_type(value)


def expected(what, value):
    """``expected <what>, got <the JSON type of value>``."""
    return "expected %s, got %s" % (what, got(value))


def is_int(value):
    """An integer, not a boolean (``True`` is an ``int`` in Python, never in a matrix)."""
    return isinstance(value, int) and not isinstance(value, bool)


def expect(value, kind, path, what=None):
    """``value`` when it is a ``kind`` (``dict``, ``list``, ``str``, ``int`` (no boolean) or ``bool``), else fail
    with ``expected <what>, got <type>``; ``what`` defaults to the type's JSON name."""
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        fail(path, expected(what or TYPE_NAMES.get(kind, kind.__name__), value))
    return value


def string_keys(value, path):
    """Fail on the first key of the mapping ``value`` that is not a string."""
    for key in value:
        if not isinstance(key, str):
            fail(path, "expected string keys, got %s (%r)" % (json_type(key), key))
    return value


def unknown_keys(value, allowed, path):
    """Fail on the first key of ``value`` (sorted) that is not in ``allowed``, with the keys there are."""
    extra = sorted(key for key in value if key not in allowed)
    if extra:
        fail(key_path(path, extra[0]), "unknown key (expected one of: %s)%s"
             % (", ".join(sorted(allowed)), did_you_mean(extra[0], allowed)))


def mapping(value, path, allowed=None, what=None):
    """An object with string keys (and only ``allowed`` ones when given)."""
    expect(value, dict, path, what)
    string_keys(value, path)
    if allowed is not None:
        unknown_keys(value, allowed, path)
    return value


def optional_list(value, path, what=None):
    """A list, ``[]`` for a missing (``None``) one."""
    if value is None:
        return []
    return expect(value, list, path, what)


def one_of(value, choices, path, note=""):
    """``value`` when it is one of ``choices``, else ``expected one of 'a', 'b'<note>, got ...``."""
    if isinstance(value, (str, int)) and not isinstance(value, bool) and value in choices:
        return value
    shown = "%r" % (value,) if isinstance(value, (str, int)) and not isinstance(value, bool) else got(value)
    hint = did_you_mean(value, [str(c) for c in choices])
    fail(path, "expected one of %s%s, got %s%s" % (", ".join(repr(c) for c in choices), note, shown, hint))


def in_range(value, low, high, path, what=""):
    """``value`` (an integer) within ``low``-``high``, else ``<what> <value> out of range <low>-<high>``."""
    if not low <= value <= high:
        fail(path, "%s%d out of range %d-%d" % (what + " " if what else "", value, low, high))
    return value


def integer(value, path, default=None, low=None, high=None):
    """An integer (``default`` when missing) within ``low``-``high``."""
    if value is None:
        return default
    expect(value, int, path)
    if low is not None:
        in_range(value, low, high, path)
    return value


def boolean(value, path, default):
    """A boolean (``default`` when missing)."""
    if value is None:
        return default
    return expect(value, bool, path)


def port(value, path, what="a port number"):
    """A TCP/UDP port number, 1-65535."""
    expect(value, int, path, what)
    return in_range(value, 1, 65535, path, "port")


def non_empty_string(value, path, what="a non-empty string"):
    """A string that is not empty."""
    if not isinstance(value, str) or not value:
        fail(path, expected(what, value))
    return value


def non_empty(items, path, what):
    """Fail with ``must list at least one <what>`` when ``items`` is empty."""
    if not items:
        fail(path, "must list at least one %s" % what)
    return items
