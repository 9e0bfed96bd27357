# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan: one value that says what the zones are, built once and consumed by every path.

:func:`build_plan` takes what the user wrote (the raw matrix, a role's overrides, its extra policies, the
egress settings) and the inventory, and does every offline step once: normalise, compile (zones, extra
policies, the proxy zone's workload), prove, and the cluster guard's offline checks (the DNS and API server
needs, the load balancer addresses).  The result carries a ``digest`` (SHA-256 over a canonical JSON of what
is applied and what it was proven against), so a consumer can check that the value it got is the value that
was proven: :func:`check_plan` refuses a plan with mismatches, with an offline check's problem, with a
cluster-wide guardrail that does not hold (its proof on the same manifests is part of the plan), or whose content
no longer matches its digest.  Rendering, applying and reporting all take the same plan, so what is rendered is
what is applied.

The digest detects a plan changed after it was built (by a task, a variable, a hand edit); it is not a
signature: whoever can run the collection's code can build a plan.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Mapping

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import InputError
from ansible_collections.netzone.segmentation.plugins.module_utils._model import guard
from ansible_collections.netzone.segmentation.plugins.module_utils._model.cluster_policy import (
    guardrail_problems,
    guardrail_proof,
)
from ansible_collections.netzone.segmentation.plugins.module_utils._model.compile import compile_manifests
from ansible_collections.netzone.segmentation.plugins.module_utils._model.egress_workload import compile_egress
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import normalize_matrix, with_overrides
from ansible_collections.netzone.segmentation.plugins.module_utils._model.proof import verify_matrix
from ansible_collections.netzone.segmentation.plugins.module_utils._edge.vhosts import vhost_warnings
from ansible_collections.netzone.segmentation.plugins.module_utils._common.validators import json_type

PLAN_VERSION = 1
#: The guard checks that need no cluster; the plan runs them, so rendering refuses what applying would.
OFFLINE_CHECKS = ("plan", "load_balancers")
SECRET_MODES = ("omit", "apart")
EGRESS_KEYS = ("files", "secrets", "squid_image", "haproxy_image", "replicas")
GUARD_KEYS = ("skip", "load_balancer_group", "api_server_peer", "api_server_zones")


class PlanError(InputError):
    """A plan that cannot be built, or a plan that must not be used (unproven, refused, or changed)."""


def _options(value, path, allowed):
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise PlanError(path, "must be a mapping, got %s" % json_type(value))
    unknown = sorted(str(k) for k in value if k not in allowed)
    if unknown:
        raise PlanError(path, "unknown key %s (expected one of: %s)" % (", ".join(map(repr, unknown)), ", ".join(allowed)))
    return dict(value)


def _extra_policies(extra):
    extra = list(extra or [])
    for index, obj in enumerate(extra):
        if not isinstance(obj, Mapping) or obj.get("kind") != "NetworkPolicy":
            raise PlanError("extra_policies[%d]" % index, "must be a NetworkPolicy (kind: NetworkPolicy); other kinds "
                                                          "would be applied without being proven")
    return extra


def _egress(matrix, settings):
    secrets = settings.get("secrets") or "omit"
    if secrets not in SECRET_MODES:
        raise PlanError("egress.secrets", "must be omit or apart, got %r" % (secrets,))
    files = settings.get("files")
    if files is not None and not isinstance(files, Mapping):
        raise PlanError("egress.files", "must be a mapping of path to file content")
    replicas = settings.get("replicas")
    if replicas is not None and (isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1):
        raise PlanError("egress.replicas", "must be a positive integer, got %r" % (replicas,))
    options = {"squid_image": settings.get("squid_image"), "haproxy_image": settings.get("haproxy_image"),
               "replicas": replicas}
    return [{k: v for k, v in obj.items() if k != "data"} if obj["kind"] == "Secret" else obj
            for obj in compile_egress(matrix, files, options, secrets != "omit")]


def offline_checks(matrix, proof, inventory, settings=None):
    """The cluster guard's checks that need no cluster: ``{check: [problem, ...]}`` (skipped ones left out)."""
    settings = settings or {}
    skip = set(settings.get("skip") or ())
    checks = {}
    if "plan" not in skip:
        api_zones = guard.api_server_zones(matrix) | set(settings.get("api_server_zones") or ())
        checks["plan"] = guard.check_plan(matrix, proof, settings.get("api_server_peer") or "api_server", api_zones)
    if "load_balancers" not in skip:
        checks["load_balancers"] = guard.check_load_balancers(matrix, inventory or {},
                                                              settings.get("load_balancer_group") or "loadbalancers")
    return checks


def _host_bits(value, path):
    if not isinstance(value, str):
        return []
    try:
        written = ipaddress.ip_interface(value.strip())
    except ValueError:
        return []  # the matrix's validation names it
    if written.ip == written.network.network_address:
        return []
    return ["%s: %s has host bits set; it is taken as %s" % (path, value.strip(), written.network)]


def matrix_warnings(raw):
    """What is valid but probably not meant: a peer CIDR with host bits set (``192.0.2.5/24`` is 192.0.2.0/24),
    a public vhost that silently gets a self-signed certificate (:func:`vhosts.vhost_warnings`)."""
    out = []
    peers = raw.get("peers") if isinstance(raw, Mapping) else None
    for name, spec in sorted((peers or {}).items(), key=lambda kv: str(kv[0])) if isinstance(peers, Mapping) else ():
        if not isinstance(spec, Mapping):
            continue
        path = "peers.%s" % name
        out += _host_bits(spec.get("cidr"), path + ".cidr")
        for j, exc in enumerate(spec.get("except") or [] if isinstance(spec.get("except"), list) else []):
            out += _host_bits(exc, "%s.except[%d]" % (path, j))
        cidrs = spec.get("cidrs") if isinstance(spec.get("cidrs"), list) else []
        for i, entry in enumerate(cidrs):
            epath = "%s.cidrs[%d]" % (path, i)
            if isinstance(entry, Mapping):
                out += _host_bits(entry.get("cidr"), epath + ".cidr")
                excepts = entry.get("except") if isinstance(entry.get("except"), list) else []
                for j, exc in enumerate(excepts):
                    out += _host_bits(exc, "%s.except[%d]" % (epath, j))
            else:
                out += _host_bits(entry, epath)
    return out + vhost_warnings(raw.get("vhosts") if isinstance(raw, Mapping) else None)


def plan_digest(plan):
    """SHA-256 over a canonical JSON (sorted keys, no spaces) of what the plan applies and was proven against."""
    content = {key: plan.get(key) for key in ("version", "matrix", "manifests", "checks")}
    content["guardrail"] = (plan.get("guardrail") or {}).get("problems")
    content["mismatches"] = (plan.get("proof") or {}).get("mismatches")
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=_json_default)
    return "sha256:" + hashlib.sha256(text.encode("ascii")).hexdigest()


def _json_default(value):
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError("%s is not JSON" % type(value).__name__)


def _plain(value):
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def inputs_digest(raw=None, inventory=None, overrides=None, extra_policies=None, egress=None, guard_settings=None):
    """SHA-256 over what a plan is built from, so that a plan built earlier in a run can be reused when the
    inputs are the same (:func:`build_plan`'s ``reuse``)."""
    content = _plain({"version": PLAN_VERSION, "raw": raw or None, "inventory": inventory or None,
                      "overrides": overrides or None, "extra_policies": extra_policies or None, "egress": egress or None,
                      "guard": guard_settings or None})
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=_json_default)
    return "sha256:" + hashlib.sha256(text.encode("ascii")).hexdigest()


def build_plan(raw=None, inventory=None, overrides=None, extra_policies=None, egress=None, guard_settings=None,
               reuse=None):
    """Normalise, compile, prove and check, once.

    :param raw: the matrix as written (None or empty: the article's model).
    :param inventory: ``{"groups", "addresses"}`` (``from_group`` peers, the load balancer check).
    :param overrides: ``{section: {key: value}}`` put into the raw matrix before validation.
    :param extra_policies: NetworkPolicies applied with the computed ones (and proven with them).
    :param egress: the proxy zone's settings: ``files`` ({path: PEM}), ``secrets`` (``omit``: no Secret objects,
        for rendering; ``apart``: the Secrets without their data), ``squid_image``, ``haproxy_image``, ``replicas``.
    :param guard_settings: ``skip``, ``load_balancer_group``, ``api_server_peer``, ``api_server_zones``.
    :param reuse: a plan built before (in the same run); returned as it is when it was built from the same
        inputs and is unchanged since, so nothing is normalised or proven twice.
    :returns: ``{version, inputs, matrix, inventory, manifests, proof, guardrail, checks, problems, digest}``;
        ``guardrail`` is the cluster-wide guardrail's proof on the same manifests (``cluster_policy.guardrail_proof``)
        with its ``problems``.  With
        ``egress.secrets=apart`` the Secrets are there without their data: the data goes to the API apart
        (``egress_workload(secrets='apart')``), so a plan never carries key material and can be logged.
    """
    egress = _options(egress, "egress", EGRESS_KEYS)
    guard_settings = _options(guard_settings, "guard", GUARD_KEYS)
    inputs = inputs_digest(raw, inventory, overrides, extra_policies, egress, guard_settings)
    if isinstance(reuse, Mapping) and reuse.get("inputs") == inputs and reuse.get("digest") == plan_digest(reuse):
        return reuse
    if overrides:
        raw = with_overrides(raw, overrides)
    matrix = normalize_matrix(raw or None, inventory or None)
    manifests = compile_manifests(matrix) + _extra_policies(extra_policies)
    manifests += _egress(matrix, egress)
    proof = verify_matrix(matrix, manifests)
    checks = offline_checks(matrix, proof, inventory, guard_settings)
    guardrail = guardrail_proof(matrix, manifests)
    guardrail["problems"] = guardrail_problems(guardrail)
    plan = {"version": PLAN_VERSION, "inputs": inputs, "warnings": matrix_warnings(raw or {}), "matrix": matrix,
            "inventory": inventory or {}, "manifests": manifests, "proof": proof, "guardrail": guardrail,
            "checks": checks,
            "problems": ["%s: %s" % (name, problem) for name, found in sorted(checks.items()) for problem in found]}
    plan["digest"] = plan_digest(plan)
    return plan


#: What only a report reads, left out by :func:`compact`: the proof's rows, one per cell, and the guardrail's.
REPORT_ONLY = {"proof": ("cells",), "guardrail": ("rows",)}


def compact(plan, where="plan"):
    """The plan without what only a report reads (:data:`REPORT_ONLY`): what a module that checks or applies it
    needs.  The digest does not cover those rows, so the compact plan still passes :func:`check_plan`; at 100
    zones it is a fifth of the size, and Ansible hands a module's arguments over at a cost that grows with
    their size.  Raises :class:`PlanError` for a value that is not a plan."""
    check_digest(plan, where)
    out = dict(plan)
    for key, dropped in REPORT_ONLY.items():
        if isinstance(plan.get(key), Mapping):
            out[key] = {name: value for name, value in plan[key].items() if name not in dropped}
    return out


def check_digest(plan, where="plan"):
    """Return ``plan`` if it is a plan unchanged since :func:`build_plan` built it, else raise :class:`PlanError`."""
    keys = ("version", "matrix", "manifests", "proof", "checks", "digest")
    if not isinstance(plan, Mapping) or any(key not in plan for key in keys):
        raise PlanError(where, "not a plan: build it with the netzone.segmentation.plan filter")
    if plan["version"] != PLAN_VERSION:
        raise PlanError(where + ".version", "plan version %r, this collection reads %d" % (plan["version"], PLAN_VERSION))
    digest = plan_digest(plan)
    if plan["digest"] != digest:
        raise PlanError(where + ".digest", "the plan changed after it was built and proven (digest %s, content %s): "
                                           "build it again with the netzone.segmentation.plan filter"
                        % (plan["digest"], digest))
    return plan


def check_plan(plan, where="plan"):
    """Return ``plan`` if it may be applied: built by :func:`build_plan`, unchanged since, proven, and with no
    problem found by the offline checks.  Otherwise raise :class:`PlanError` saying which."""
    check_digest(plan, where)
    mismatches = (plan["proof"] or {}).get("mismatches")
    if mismatches is None or (plan["proof"] or {}).get("summary") is None:
        raise PlanError(where + ".proof", "the plan carries no proof")
    if mismatches:
        raise PlanError(where + ".proof", "the policies do not allow exactly the matrix (%d mismatch(es)); first: %s"
                        % (len(mismatches), mismatches[0].get("explanation")))
    problems = ["%s: %s" % (name, problem) for name, found in sorted(plan["checks"].items()) for problem in found]
    if problems:
        raise PlanError(where + ".checks", "refused, it would lock the platform out: %s" % "; ".join(problems))
    if (plan.get("guardrail") or {}).get("problems"):
        raise PlanError(where + ".guardrail", "refused: %s" % "; ".join(plan["guardrail"]["problems"]))
    return plan


def matrix_from_params(params):
    """The normalised matrix of a module that checks a cluster: the plan's (``plan``; normalised once, when the
    plan was built) or the ``matrix`` option normalised here, with ``inventory``.  Returns ``(matrix, inventory)``."""
    if params.get("plan") is not None:
        plan = check_digest(params["plan"])
        return plan["matrix"], plan.get("inventory") or {}
    return normalize_matrix(params.get("matrix") or None, params.get("inventory") or None), params.get("inventory") or {}
