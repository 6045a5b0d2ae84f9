"""Structural-schema validation, pruning and defaulting of custom resources, as kube-apiserver does it.

Order per request, like the real server: prune unknown fields, apply defaults, validate the OpenAPI
constraints, then the CEL `x-kubernetes-validations` of every node whose subtree passed the
structural checks. Field paths and message texts follow the real server's (`spec.window.cutoffHours:
Invalid value: 30: spec.window.cutoffHours in body should be less than or equal to 23`), so clients
and tests that read `details.causes[].field` see the same values.

CEL support: whatever cel-python implements (the standard CEL language and macros: has, all,
exists, size, matches, string functions), with `self` and, for transition rules, `oldSelf`
(evaluated on update only when the old object has the field, like the real server). Kubernetes'
extension libraries (quantity, url, ip, lists/sets extras) are not available.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import celpy
from celpy.adapter import json_to_cel
from celpy.celtypes import BoolType

from .errors import Cause

Obj = dict[str, Any]
_MISSING = object()


@dataclass
class Outcome:
    causes: list[Cause] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)  # dotted paths of unknown fields removed


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _shown(value: Any) -> str:
    """How the real server prints a value in `Invalid value: ...`."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return f'"{_type_name(value)}"'


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# CEL is pure: a rule gives the same answer for the same self (and oldSelf). Remembering answers keeps a status
# write, whose spec did not change, from evaluating every spec rule again in celpy (an interpreter, thousands of
# times slower than the API server's cel-go): with 3,000 policies it held the stand-in's loop for seconds.
@lru_cache(maxsize=50_000)
def _evaluate(expression: str, self_json: str, old_json: str | None) -> tuple[bool, str | None]:
    activation = {"self": json_to_cel(json.loads(self_json))}
    if old_json is not None:
        activation["oldSelf"] = json_to_cel(json.loads(old_json))
    try:
        result = _program(expression).evaluate(activation)
    except Exception as exc:  # noqa: BLE001 - any evaluation failure is the client's rule/data
        return False, str(exc)
    return isinstance(result, BoolType) and bool(result), None if isinstance(result, BoolType) else str(result)


@lru_cache(maxsize=1024)
def _program(expression: str) -> celpy.Runner:
    env = celpy.Environment()
    return env.program(env.compile(expression))


def _type_ok(schema: Obj, value: Any) -> bool:
    if schema.get("x-kubernetes-int-or-string"):
        return isinstance(value, int | str) and not isinstance(value, bool)
    expected = schema.get("type")
    if not expected:
        return True
    actual = _type_name(value)
    return actual == expected or (expected == "number" and actual == "integer")


def _format_ok(fmt: str | None, value: str) -> bool:
    if fmt == "date-time":
        try:
            dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return False
    elif fmt == "date":
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return False
    return True


class Validator:
    """Validates one object against one openAPIV3Schema; mutates it (prune, defaults)."""

    def __init__(self, root_schema: Obj) -> None:
        self.root = root_schema

    def run(self, obj: Obj, old: Obj | None) -> Outcome:
        out = Outcome()
        props = self.root.get("properties") or {}
        for name in list(obj):
            if name in ("apiVersion", "kind", "metadata"):
                continue
            if name not in props and not self.root.get("x-kubernetes-preserve-unknown-fields"):
                out.pruned.append(name)
                del obj[name]
        self._defaults(self.root, obj)
        for name, sub in props.items():
            if name in ("apiVersion", "kind", "metadata"):
                continue
            if name in obj:
                old_value = old.get(name, _MISSING) if old is not None else _MISSING
                self._node(sub, obj[name], old_value, name, out)
        for name in self.root.get("required") or []:
            if name not in obj:
                out.causes.append(Cause("FieldValueRequired", "Required value", name))
        if not out.causes:
            self._cel(self.root, obj, old if old is not None else _MISSING, "", out)
        return out

    # -- pruning and defaults -----------------------------------------------------------------
    def _defaults(self, schema: Obj, value: Any) -> None:
        if isinstance(value, dict):
            for name, sub in (schema.get("properties") or {}).items():
                if (name not in value and "default" in sub) or (
                    value.get(name, _MISSING) is None and "default" in sub and not sub.get("nullable")
                ):
                    value[name] = copy.deepcopy(sub["default"])

    def _prune(self, schema: Obj, value: Obj, path: str, out: Outcome) -> None:
        if schema.get("x-kubernetes-preserve-unknown-fields") or "additionalProperties" in schema:
            return
        props = schema.get("properties") or {}
        embedded = schema.get("x-kubernetes-embedded-resource")
        for name in list(value):
            if name in props or (embedded and name in ("apiVersion", "kind", "metadata")):
                continue
            out.pruned.append(_join(path, name))
            del value[name]

    # -- structural checks --------------------------------------------------------------------
    def _node(self, schema: Obj, value: Any, old: Any, path: str, out: Outcome) -> None:
        before = len(out.causes)
        if value is None:
            if not schema.get("nullable"):
                out.causes.append(
                    Cause(
                        "FieldValueTypeInvalid",
                        f'Invalid value: "null": {path} in body must be of type {schema.get("type", "object")}: "null"',
                        path,
                    )
                )
            return
        if not _type_ok(schema, value):
            actual = _type_name(value)
            out.causes.append(
                Cause(
                    "FieldValueTypeInvalid",
                    f'Invalid value: "{actual}": {path} in body must be of type {schema.get("type")}: "{actual}"',
                    path,
                )
            )
            return
        if isinstance(value, dict):
            self._object(schema, value, old, path, out)
        elif isinstance(value, list):
            self._array(schema, value, old, path, out)
        else:
            self._scalar(schema, value, path, out)
        if len(out.causes) == before:
            self._cel(schema, value, old, path, out)

    def _object(self, schema: Obj, value: Obj, old: Any, path: str, out: Outcome) -> None:
        self._prune(schema, value, path, out)
        self._defaults(schema, value)
        old_map = old if isinstance(old, dict) else {}
        props = schema.get("properties") or {}
        for name, sub in props.items():
            if name in value:
                self._node(sub, value[name], old_map.get(name, _MISSING), _join(path, name), out)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for name, item in value.items():
                self._node(extra, item, old_map.get(name, _MISSING), f"{path}[{name}]", out)
        for name in schema.get("required") or []:
            if name not in value:
                out.causes.append(Cause("FieldValueRequired", "Required value", _join(path, name)))
        if "maxProperties" in schema and len(value) > schema["maxProperties"]:
            out.causes.append(
                Cause(
                    "FieldValueTooMany",
                    f"Too many: {len(value)}: must have at most {schema['maxProperties']} items",
                    path,
                )
            )
        if "minProperties" in schema and len(value) < schema["minProperties"]:
            out.causes.append(
                Cause(
                    "FieldValueInvalid",
                    f"Invalid value: {len(value)}: {path} in body should have at least "
                    f"{schema['minProperties']} properties",
                    path,
                )
            )
        if "enum" in schema and value not in schema["enum"]:
            out.causes.append(Cause("FieldValueNotSupported", "Unsupported value: object", path))

    def _array(self, schema: Obj, value: list[Any], old: Any, path: str, out: Outcome) -> None:
        items = schema.get("items")
        keys = schema.get("x-kubernetes-list-map-keys") or []
        old_by_key: dict[tuple[Any, ...], Any] = {}
        if keys and isinstance(old, list):
            old_by_key = {tuple(o.get(k) for k in keys): o for o in old if isinstance(o, dict)}
        if isinstance(items, dict):
            for index, item in enumerate(value):
                # Only map-type lists correlate items with the old list (as the real server does).
                old_item = (
                    old_by_key.get(tuple(item.get(k) for k in keys), _MISSING)
                    if keys and isinstance(item, dict)
                    else _MISSING
                )
                self._node(items, item, old_item, f"{path}[{index}]", out)
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            out.causes.append(
                Cause(
                    "FieldValueTooMany", f"Too many: {len(value)}: must have at most {schema['maxItems']} items", path
                )
            )
        if "minItems" in schema and len(value) < schema["minItems"]:
            out.causes.append(
                Cause(
                    "FieldValueInvalid",
                    f"Invalid value: {len(value)}: {path} in body should have at least {schema['minItems']} items",
                    path,
                )
            )
        list_type = schema.get("x-kubernetes-list-type")
        if list_type == "set" or schema.get("uniqueItems"):
            seen: list[Any] = []
            for index, item in enumerate(value):
                if item in seen:
                    out.causes.append(
                        Cause("FieldValueDuplicate", f"Duplicate value: {_shown(item)}", f"{path}[{index}]")
                    )
                seen.append(item)
        elif list_type == "map" and keys:
            seen_keys: set[tuple[Any, ...]] = set()
            for index, item in enumerate(value):
                if not isinstance(item, dict):
                    continue
                item_key = tuple(item.get(k) for k in keys)
                if item_key in seen_keys:
                    shown = ", ".join(f'"{k}":{_shown(v)}' for k, v in zip(keys, item_key, strict=True))
                    out.causes.append(
                        Cause(
                            "FieldValueDuplicate",
                            f"Duplicate value: map[string]interface {{}}{{{shown}}}",
                            f"{path}[{index}]",
                        )
                    )
                seen_keys.add(item_key)

    def _scalar(self, schema: Obj, value: Any, path: str, out: Outcome) -> None:
        if "enum" in schema and value not in schema["enum"]:
            supported = ", ".join(_shown(v) for v in schema["enum"])
            out.causes.append(
                Cause(
                    "FieldValueNotSupported", f"Unsupported value: {_shown(value)}: supported values: {supported}", path
                )
            )
        if isinstance(value, str):
            self._string(schema, value, path, out)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            self._number(schema, value, path, out)

    def _string(self, schema: Obj, value: str, path: str, out: Outcome) -> None:
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            out.causes.append(
                Cause("FieldValueTooLong", f"Too long: may not be more than {schema['maxLength']} bytes", path)
            )
        if "minLength" in schema and len(value) < schema["minLength"]:
            out.causes.append(
                Cause(
                    "FieldValueInvalid",
                    f"Invalid value: {_shown(value)}: {path} in body should be at least "
                    f"{schema['minLength']} chars long",
                    path,
                )
            )
        pattern = schema.get("pattern")
        if isinstance(pattern, str) and not _regex(pattern).search(value):
            out.causes.append(
                Cause(
                    "FieldValueInvalid",
                    f"Invalid value: {_shown(value)}: {path} in body should match '{pattern}'",
                    path,
                )
            )
        fmt = schema.get("format")
        if not _format_ok(fmt, value):
            out.causes.append(
                Cause(
                    "FieldValueInvalid",
                    f"Invalid value: {_shown(value)}: {path} in body must be of type {fmt}: {_shown(value)}",
                    path,
                )
            )

    def _number(self, schema: Obj, value: float, path: str, out: Outcome) -> None:
        maximum, minimum = schema.get("maximum"), schema.get("minimum")
        if maximum is not None:
            if schema.get("exclusiveMaximum") and value >= maximum:
                text = f"should be less than {maximum}"
            elif value > maximum:
                text = f"should be less than or equal to {maximum}"
            else:
                text = ""
            if text:
                out.causes.append(Cause("FieldValueInvalid", f"Invalid value: {value}: {path} in body {text}", path))
        if minimum is not None:
            if schema.get("exclusiveMinimum") and value <= minimum:
                text = f"should be greater than {minimum}"
            elif value < minimum:
                text = f"should be greater than or equal to {minimum}"
            else:
                text = ""
            if text:
                out.causes.append(Cause("FieldValueInvalid", f"Invalid value: {value}: {path} in body {text}", path))
        multiple = schema.get("multipleOf")
        if multiple and value % multiple:
            out.causes.append(
                Cause(
                    "FieldValueInvalid",
                    f"Invalid value: {value}: {path} in body should be a multiple of {multiple}",
                    path,
                )
            )

    # -- CEL ----------------------------------------------------------------------------------
    def _cel(self, schema: Obj, value: Any, old: Any, path: str, out: Outcome) -> None:
        for rule in schema.get("x-kubernetes-validations") or []:
            expression = str(rule.get("rule", ""))
            transition = "oldSelf" in expression
            if transition and old is _MISSING and not rule.get("optionalOldSelf"):
                continue  # transition rules only apply to updates of an existing value
            old_json = _canonical(None if old is _MISSING else old) if transition else None
            passed, error = _evaluate(expression, _canonical(value), old_json)
            if passed:
                continue
            activation = {"self": json_to_cel(value)}
            if transition:
                activation["oldSelf"] = json_to_cel(None if old is _MISSING else old)
            message = self._message(rule, activation, expression, error)
            where = path
            if rule.get("fieldPath"):
                where = path + str(rule["fieldPath"]) if path else str(rule["fieldPath"]).lstrip(".")
            reason = str(rule.get("reason") or "FieldValueInvalid")
            text = {
                "FieldValueForbidden": f"Forbidden: {message}",
                "FieldValueRequired": f"Required value: {message}",
                "FieldValueDuplicate": f"Duplicate value: {message}",
            }.get(reason, f"Invalid value: {_shown(value)}: {message}")
            out.causes.append(Cause(reason, text, where))

    @staticmethod
    def _message(rule: Obj, activation: dict[str, Any], expression: str, error: str | None) -> str:
        if error is not None:
            return f"rule evaluation error: {error}"
        if rule.get("messageExpression"):
            try:
                text = _program(str(rule["messageExpression"])).evaluate(activation)
                if isinstance(text, str) and text:
                    return str(text)
            except Exception:  # noqa: BLE001, S110 - fall back to the static message like the real server
                pass
        return str(rule.get("message") or f"failed rule: {expression}")
