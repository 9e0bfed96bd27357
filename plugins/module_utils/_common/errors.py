# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every error the collection raises on purpose, in one place (plain Python, no Ansible).

Each is a :class:`NetzoneError`, so that a module or filter turns any of them into one clear failure and
never a traceback. They come in three families:

* input: :class:`InputError` and its kinds (:class:`MatrixError` for the traffic matrix and its vhosts,
  :class:`ObjectError` for Kubernetes objects given to the proof) -- the message names the path of what is
  wrong (``flows[3].to: ...``); :class:`MessageError` and its kinds (:class:`ReportError`,
  :class:`DnsError`, :class:`KeepalivedError`, :class:`FirewallError`), whose one message names what and where; and
  :class:`Microk8sError`;
* API: :class:`ApiError`, an answer of the Kubernetes API that is not 2xx (status 0: no answer), and
  :class:`SyncError`, a synchronisation stopped by one;
* connection: :class:`K8sConnectionError`, connection options that cannot be used (bad kubeconfig...).
"""

from __future__ import annotations

import re

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_./-]+")


def key_path(path, key):
    """``path.key``, or ``path['odd key']`` for a key (a newline, a colon, not a string) that would make the
    path ambiguous in a message."""
    text = key if isinstance(key, str) and _PLAIN_KEY.fullmatch(key) else "[%r]" % (key,)
    if not path:
        return text
    return "%s%s%s" % (path, "" if text.startswith("[") else ".", text)


class NetzoneError(Exception):
    """Base class of every error the collection raises on purpose (never a traceback for users)."""


# --- input ---------------------------------------------------------------------------------------------------
class InputError(NetzoneError):
    """Bad input: ``path`` names where (``flows[3].to``; may be empty), ``message`` what is wrong."""

    def __init__(self, path, message):
        self.path = path
        self.message = message
        super().__init__("%s: %s" % (path, message) if path else message)


class MatrixError(InputError):
    """An invalid ``netzone_matrix`` (or list of vhosts)."""


class ObjectError(InputError):
    """A Kubernetes object (NetworkPolicy, Pod, Namespace) or endpoint that the proof cannot use."""


class MessageError(NetzoneError):
    """Bad input whose message names both what is wrong and where (no separate path)."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self):
        return self.message


class ReportError(MessageError):
    """Bad input to the report sections (a message that names what is wrong)."""


class DnsError(MessageError):
    """Bad DNS record input, or a zone the collection must not change (the message names what and where)."""


class KeepalivedError(MessageError):
    """Bad VRRP input (the message names the variable, and the host when it is host-specific)."""


class FirewallError(MessageError):
    """Bad input to the load balancer's host firewall (the message names the variable and the value)."""


class Microk8sError(NetzoneError):
    """Something the user must change on a MicroK8s node; the message says what."""


# --- API -----------------------------------------------------------------------------------------------------
class ApiError(NetzoneError):
    """A non-2xx answer of the Kubernetes API: ``status`` (int, 0 when unreachable), ``reason``, ``message``."""

    def __init__(self, status, reason="", message="", body=None):
        super().__init__("%s %s: %s" % (status, reason, message))
        self.status = status
        self.reason = reason
        self.message = message
        self.body = body


class SyncError(NetzoneError):
    """A synchronisation stopped: ``done`` lists the actions applied before it did, ``status`` the API's."""

    def __init__(self, message, done=None, status=None):
        super().__init__(message)
        self.message = message
        self.done = done or []
        self.status = status


# --- connection ----------------------------------------------------------------------------------------------
class K8sConnectionError(NetzoneError):
    """The connection options are unusable (bad kubeconfig, unknown context...)."""
