# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The object schemas of the test API server: the Kubernetes 1.31 OpenAPI schemas that ``kubernetes-validate``
carries (``kubernetes-json-schema/v1.31.0-local-strict``: every object closed with ``additionalProperties:
false``), used the way the real API server uses its own:

* :func:`unknown_fields` walks an object along its schema and lists (and removes) the fields the schema does
  not know, with the path the real server names them by (``spec.ingress[0].foo``): the server's decoder
  drops them, warns about them, or refuses them under ``fieldValidation=Strict``;
* :func:`schema_errors` validates what is left (types, required fields) with ``jsonschema`` and answers the
  causes the server would give: a wrong type is a decoding error (400), a missing required field is
  ``Required value`` (422).

``status`` is not validated: the real server takes it only through the status subresource, this double keeps
what a test seeds on create.
"""

from __future__ import annotations

import json
import re
import threading

import importlib_resources
import jsonschema
import referencing

SCHEMA_VERSION = "1.31.0"
_DIR = "kubernetes-json-schema/v%s-local-strict" % SCHEMA_VERSION
_LOCK = threading.Lock()
_CACHE = {}


def _load(name):
    ref = importlib_resources.files("kubernetes_validate").joinpath("%s/%s" % (_DIR, name))
    with ref.open("r", encoding="utf-8") as handle:
        return json.load(handle)


def _definitions():
    with _LOCK:
        if "defs" not in _CACHE:
            _CACHE["defs"] = _load("_definitions.json")
        return _CACHE["defs"]


def _schema_file(api_version, kind):
    # kubernetes-validate's file naming: networking.k8s.io/v1 -> networking-v1, v1 -> v1
    return "%s-%s.json" % (kind.lower(), re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version))


def kind_schema(api_version, kind):
    """The schema of one kind (None when kubernetes-validate has none)."""
    key = ("kind", api_version, kind)
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
    try:
        schema = _load(_schema_file(api_version, kind))
    except FileNotFoundError:
        schema = None
    with _LOCK:
        _CACHE[key] = schema
    return schema


def _validator(api_version, kind):
    key = ("validator", api_version, kind)
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
    schema = kind_schema(api_version, kind)
    if schema is None:
        return None
    defs = _definitions()
    registry = referencing.Registry().with_resources([
        (defs["$id"], referencing.Resource.from_contents(defs)),
    ])
    validator = jsonschema.validators.Draft202012Validator(schema, registry=registry)
    with _LOCK:
        _CACHE[key] = validator
    return validator


def _resolve(node):
    """Follow ``$ref`` into the definitions."""
    defs = _definitions()["$defs"]
    while isinstance(node, dict) and "$ref" in node:
        node = defs[node["$ref"].rsplit("/", 1)[-1]]
    return node


def field_path(parts):
    """('spec', 'ingress', 0, 'ports', 1) -> 'spec.ingress[0].ports[1]'"""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += "[%d]" % part
        else:
            out += ("." if out else "") + str(part)
    return out


def unknown_fields(obj, api_version, kind):
    """Remove from ``obj`` (in place) every field its schema does not know; return their paths, in order."""
    schema = kind_schema(api_version, kind)
    found = []
    if schema is not None:
        _walk(obj, schema, [], found, top=True)
    return found


def _walk(value, node, path, found, top=False):
    node = _resolve(node)
    if not isinstance(node, dict):
        return
    if isinstance(value, dict):
        props = node.get("properties")
        extra = node.get("additionalProperties")
        if props is not None:
            for key in list(value):
                if top and key == "status":
                    continue
                if key in props:
                    _walk(value[key], props[key], path + [key], found)
                elif isinstance(extra, dict):
                    _walk(value[key], extra, path + [key], found)
                elif not node.get("x-kubernetes-preserve-unknown-fields"):
                    found.append(field_path(path + [key]))
                    del value[key]
        elif isinstance(extra, dict):
            for key in list(value):
                _walk(value[key], extra, path + [key], found)
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        for index, item in enumerate(value):
            _walk(item, node["items"], path + [index], found)


_GO_TYPES = {"integer": "int32", "string": "string", "boolean": "bool", "array": "[]", "object": "map",
             "number": "float64"}


def schema_errors(obj, api_version, kind):
    """``(decoding_errors, causes)`` of ``obj`` (unknown fields already removed) against its schema.

    ``decoding_errors``: wrong JSON types, which the real server cannot decode (400 BadRequest);
    ``causes``: ``(field, reason, message)`` of other violations (422 Invalid), e.g. required fields.
    """
    validator = _validator(api_version, kind)
    if validator is None:
        return [], []
    body = {k: v for k, v in obj.items() if k != "status"}
    decoding, causes = [], []
    for error in sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path))):
        path = field_path(list(error.absolute_path))
        if error.validator == "required":
            missing = [f for f in error.validator_value if f not in (error.instance or {})]
            for name in missing:
                causes.append((field_path(list(error.absolute_path) + [name]), "FieldValueRequired", "Required value"))
        elif error.validator == "type":
            wanted = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
            wanted = [t for t in wanted if t != "null"]
            decoding.append("cannot unmarshal %s into Go struct field %s of type %s"
                            % (_json_type(error.instance), path or kind, _GO_TYPES.get(wanted[0], wanted[0])
                               if wanted else "?"))
        elif error.validator == "oneOf":  # IntOrString, Quantity
            decoding.append("cannot unmarshal %s into Go struct field %s of type intstr.IntOrString"
                            % (_json_type(error.instance), path))
        else:
            causes.append((path, "FieldValueInvalid", "Invalid value: %s: %s"
                           % (json.dumps(error.instance), error.message)))
    return decoding, causes


def _json_type(value):
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"
