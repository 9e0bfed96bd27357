# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ValidatingAdmissionPolicy evaluation for the test API server, with a real CEL implementation (cel-python).

What it models, after the Kubernetes API server's ``validating`` policy plugin (admissionregistration.k8s.io/v1):

* a policy applies to a request when one of its ``matchConstraints.resourceRules`` matches (apiGroups,
  apiVersions, resources, operations, ``*`` wildcards) and no ``excludeResourceRules`` does, and its
  ``namespaceSelector`` and ``objectSelector`` match (``matchLabels`` and ``matchExpressions``; for a
  cluster-scoped object the namespace selector only matters for Namespace objects, which are matched on their own
  labels);
* a policy is enforced only through a binding (``policyName``); the binding's ``matchResources`` narrows it the
  same way; a binding that names no existing policy does nothing;
* ``matchConditions`` (CEL, all must be true), ``variables`` (CEL, in order, as ``variables.<name>``) and
  ``validations`` (``expression``, ``message``, ``messageExpression``, ``reason``) over ``object``,
  ``oldObject``, ``request`` and ``namespaceObject``;
* a false validation is a violation; an evaluation error follows ``failurePolicy`` (``Fail``: a violation whose
  message is the error; ``Ignore``: admitted);
* each violation goes to the binding's ``validationActions``: ``Deny`` refuses the request with the server's
  message (``<plural> "<name>" is forbidden: ValidatingAdmissionPolicy '<p>' with binding '<b>' denied request:
  <message>``) and the code of the validation's ``reason`` (``Invalid`` (the default) 422, ``Forbidden`` 403,
  ``Unauthorized`` 401, ``RequestEntityTooLarge`` 413); ``Warn`` admits and adds a ``Warning`` header
  (``Validation failed for ValidatingAdmissionPolicy '<p>' with binding '<b>': <message>``); ``Audit`` admits and
  records the violation (``Store.audit``);
* a policy whose expressions do not parse is refused on create/update (422), as the real server does.

Not modelled: ``paramKind``/``paramRef`` (a policy with ``paramKind`` is treated as an evaluation error),
``auditAnnotations``, the ``authorizer`` variable, CEL type checking against the OpenAPI schema (the real server
reports type errors in the policy's status; here they surface at evaluation), cost limits.
"""

from __future__ import annotations

import json

import celpy  # pylint: disable=import-error
from celpy import celtypes  # pylint: disable=import-error

REASON_CODES = {"Invalid": 422, "Forbidden": 403, "Unauthorized": 401, "RequestEntityTooLarge": 413}

_ENV = celpy.Environment()
_PROGRAMS = {}


class CelError(Exception):
    """An expression did not compile or its evaluation failed."""


def program(expression):
    """Compile once, cache by text; :class:`CelError` when it does not parse."""
    prog = _PROGRAMS.get(expression)
    if prog is None:
        try:
            prog = _ENV.program(_ENV.compile(expression))
        except Exception as exc:  # celpy raises CELParseError and lark errors
            raise CelError("compilation failed: %s" % str(exc).strip().splitlines()[0]) from exc
        _PROGRAMS[expression] = prog
    return prog


def to_cel(value):
    return celpy.json_to_cel(json.loads(json.dumps(value))) if value is not None else None


def from_cel(value):
    """CEL value -> plain Python (for messageExpression results and variables)."""
    if isinstance(value, celtypes.BoolType):
        return bool(value)
    if isinstance(value, (celtypes.IntType, celtypes.UintType)):
        return int(value)
    if isinstance(value, celtypes.StringType):
        return str(value)
    return value


def evaluate(expression, activation):
    """Run one expression; the CEL result, or :class:`CelError` with the server's wording."""
    prog = program(expression)
    try:
        result = prog.evaluate(activation)
    except Exception as exc:  # CELEvalError and friends
        raise CelError("expression '%s' resulted in error: %s" % (expression, _err(exc))) from exc
    if isinstance(result, Exception):
        raise CelError("expression '%s' resulted in error: %s" % (expression, _err(result)))
    return result


def _err(exc):
    args = getattr(exc, "args", ())
    return str(args[0]) if args else str(exc)


def compile_errors(policy):
    """``[(field, message)]`` for expressions of a policy that do not parse (refused on create/update)."""
    spec = policy.get("spec") or {}
    errors = []
    for section, fields in (("validations", ("expression", "messageExpression")), ("matchConditions", ("expression",)),
                            ("variables", ("expression",))):
        for i, item in enumerate(spec.get(section) or []):
            for field in fields:
                text = (item or {}).get(field)
                if not text:
                    continue
                try:
                    program(text)
                except CelError as exc:
                    errors.append(("spec.%s[%d].%s" % (section, i, field), "Invalid value: %r: %s" % (text, exc)))
    return errors


# --- matching ------------------------------------------------------------------------------------
def selector_matches(selector, labels):
    """A metav1.LabelSelector over ``labels``; an absent or empty selector matches everything."""
    if not selector:
        return True
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _in(values, value):
    return "*" in (values or []) or value in (values or [])


def rule_matches(rule, req):
    if not _in(rule.get("apiGroups"), req["group"]) or not _in(rule.get("apiVersions"), req["version"]):
        return False
    if not _in(rule.get("operations"), req["operation"]):
        return False
    resources = rule.get("resources") or []
    if not ("*" in resources or "*/*" in resources or req["resource"] in resources):
        return False
    scope = rule.get("scope", "*")
    return scope == "*" or scope == ("Namespaced" if req["namespaced"] else "Cluster")


def resources_match(match, req):
    """A MatchResources (policy matchConstraints or binding matchResources) against a request."""
    if not match:
        return True
    rules = match.get("resourceRules")
    if rules is not None and not any(rule_matches(r, req) for r in rules):
        return False
    if any(rule_matches(r, req) for r in match.get("excludeResourceRules") or []):
        return False
    ns_selector = match.get("namespaceSelector")
    if req["namespaced"]:
        if not selector_matches(ns_selector, req["namespace_labels"]):
            return False
    elif req["kind"] == "Namespace" and not selector_matches(ns_selector, _labels(req["object"] or req["old"])):
        return False
    obj_selector = match.get("objectSelector")
    if obj_selector and not (selector_matches(obj_selector, _labels(req["object"]))
                             or selector_matches(obj_selector, _labels(req["old"]))):
        return False
    return True


def _labels(obj):
    return ((obj or {}).get("metadata") or {}).get("labels") or {}


# --- evaluation ----------------------------------------------------------------------------------
class Decision:
    def __init__(self, policy, binding, message, reason):
        self.policy = policy
        self.binding = binding
        self.message = message
        self.reason = reason or "Invalid"


def _activation(req):
    request = {
        "operation": req["operation"], "name": req["name"], "namespace": req["namespace"] or "",
        "kind": {"group": req["group"], "version": req["version"], "kind": req["kind"]},
        "resource": {"group": req["group"], "version": req["version"], "resource": req["resource"]},
        "userInfo": {"username": req.get("username", "netzone-test")}, "dryRun": req.get("dry_run", False),
    }
    return {"object": to_cel(req["object"]), "oldObject": to_cel(req["old"]), "request": to_cel(request),
            "namespaceObject": to_cel(req.get("namespace_object")), "params": None}


def _policy_decisions(policy, req):
    """Violations of one policy for one request: ``[(message, reason)]``; errors follow failurePolicy."""
    spec = policy.get("spec") or {}
    fail = spec.get("failurePolicy", "Fail") == "Fail"
    activation = _activation(req)
    try:
        if spec.get("paramKind"):
            raise CelError("policy %s has paramKind: parameters are not supported by the test API server"
                           % policy["metadata"]["name"])
        variables = {}
        for var in spec.get("variables") or []:
            activation["variables"] = to_cel(variables)
            variables[var["name"]] = _plain(evaluate(var["expression"], activation))
        activation["variables"] = to_cel(variables)
        for cond in spec.get("matchConditions") or []:
            if not bool(evaluate(cond["expression"], activation)):
                return []
    except CelError as exc:
        return [(str(exc), None)] if fail else []
    out = []
    for validation in spec.get("validations") or []:
        try:
            result = evaluate(validation["expression"], activation)
        except CelError as exc:
            if fail:
                out.append((str(exc), None))
            continue
        if not isinstance(result, (bool, celtypes.BoolType)):
            if fail:
                out.append(("expression '%s' resulted in a %s, not a bool" % (validation["expression"],
                                                                              type(result).__name__), None))
            continue
        if bool(result):
            continue
        message = None
        if validation.get("messageExpression"):
            try:
                text = evaluate(validation["messageExpression"], activation)
                if isinstance(text, str) and text.strip():
                    message = str(text).strip()
            except CelError:
                message = None
        if message is None:
            message = (validation.get("message") or "").strip() or \
                "failed expression: %s" % validation["expression"].strip()
        out.append((message, validation.get("reason")))
    return out


def _plain(value):
    """A CEL value back to JSON-able Python (for variables).  celpy answers some operations (list ``+``) with
    plain Python lists of CEL values, so plain containers are walked too (a ``BoolType`` inside would otherwise
    come back as the integer 1)."""
    if isinstance(value, (celtypes.MapType, dict)):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (celtypes.ListType, list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, celtypes.BoolType):
        return bool(value)
    if isinstance(value, (celtypes.IntType, celtypes.UintType)):
        return int(value)
    if isinstance(value, celtypes.DoubleType):
        return float(value)
    if isinstance(value, celtypes.StringType):
        return str(value)
    return value


def admit(policies, bindings, req):
    """Evaluate every bound policy for ``req``.

    Returns ``(denied, warnings, audits)``: ``denied`` is the first Deny decision (or None), ``warnings`` the
    ``Warning`` header texts, ``audits`` the audited violations.
    """
    by_name = {p["metadata"]["name"]: p for p in policies}
    denied, warnings, audits = None, [], []
    for policy in sorted(policies, key=lambda p: p["metadata"]["name"]):
        if not resources_match((policy.get("spec") or {}).get("matchConstraints"), req):
            continue
        for binding in sorted(bindings, key=lambda b: b["metadata"]["name"]):
            bspec = binding.get("spec") or {}
            if bspec.get("policyName") != policy["metadata"]["name"] or bspec.get("policyName") not in by_name:
                continue
            if not resources_match(bspec.get("matchResources"), req):
                continue
            for message, reason in _policy_decisions(policy, req):
                decision = Decision(policy["metadata"]["name"], binding["metadata"]["name"], message, reason)
                actions = bspec.get("validationActions") or []
                if "Deny" in actions and denied is None:
                    denied = decision
                if "Warn" in actions:
                    warnings.append("Validation failed for ValidatingAdmissionPolicy '%s' with binding '%s': %s"
                                    % (decision.policy, decision.binding, decision.message))
                if "Audit" in actions:
                    audits.append({"policy": decision.policy, "binding": decision.binding,
                                   "message": decision.message, "operation": req["operation"],
                                   "resource": req["resource"], "namespace": req["namespace"],
                                   "name": req["name"]})
    return denied, warnings, audits


def denial_status(decision, req):
    """The ``Status`` body and code of a Deny, as the real server words it."""
    resource = req["resource"] + ("." + req["group"] if req["group"] else "")
    message = "ValidatingAdmissionPolicy '%s' with binding '%s' denied request: %s" % (
        decision.policy, decision.binding, decision.message)
    code = REASON_CODES.get(decision.reason, 422)
    return code, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": '%s "%s" is forbidden: %s' % (resource, req["name"], message),
        "reason": decision.reason, "code": code,
        "details": {"name": req["name"], "group": req["group"], "kind": req["resource"],
                    "causes": [{"message": message}]},
    }


def warning_header(text):
    """RFC 7234 warning value (code 299, agent ``-``), quoted as the API server quotes it."""
    return '299 - "%s"' % text.replace("\\", "\\\\").replace('"', '\\"')
