"""Validates objects against our CRDs the way the API server does, with independent, real validators.

Defaults are applied first (the API server defaults before it validates), then the structural schema is
checked with `jsonschema` (x-kubernetes-* keys removed), then `x-kubernetes-list-type: set` uniqueness and
the CEL `x-kubernetes-validations` rules with cel-python. Errors carry the API server's field paths
(`spec.window.cutoffHours`, `spec.regions[0]`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import celpy
import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[1]
CRD_DIR = ROOT / "crds"


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


def load_crds() -> dict[str, dict[str, Any]]:
    crds = {}
    for path in sorted(CRD_DIR.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        crds[crd["spec"]["names"]["kind"]] = crd
    return crds


def version_schema(crd: dict[str, Any]) -> dict[str, Any]:
    (version,) = crd["spec"]["versions"]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


def _path(base: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{base}[{key}]"
    return f"{base}.{key}" if base else key


def apply_defaults(schema: dict[str, Any], value: Any) -> Any:
    if isinstance(value, dict):
        for name, sub in (schema.get("properties") or {}).items():
            if name not in value and "default" in sub:
                value[name] = copy.deepcopy(sub["default"])
            if name in value:
                value[name] = apply_defaults(sub, value[name])
    elif isinstance(value, list) and "items" in schema:
        return [apply_defaults(schema["items"], v) for v in value]
    return value


def to_json_schema(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: to_json_schema(v) for k, v in schema.items() if not k.startswith("x-kubernetes-")}
    if isinstance(schema, list):
        return [to_json_schema(v) for v in schema]
    return schema


def _structural_errors(schema: dict[str, Any], obj: dict[str, Any]) -> list[FieldError]:
    validator = jsonschema.Draft7Validator(to_json_schema(schema), format_checker=jsonschema.FormatChecker())
    errors = []
    for err in validator.iter_errors(obj):
        field = ""
        for key in err.absolute_path:
            field = _path(field, key)
        if err.validator == "required":
            missing = [name for name in err.validator_value if name not in err.instance]
            field = _path(field, missing[0])
        errors.append(FieldError(field, err.message))
    return errors


_CEL = celpy.Environment()


def _rule_errors(schema: dict[str, Any], value: Any, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if schema.get("x-kubernetes-list-type") == "set" and isinstance(value, list):
        for i, item in enumerate(value):
            if item in value[:i]:
                errors.append(FieldError(_path(path, i), f"Duplicate value: {item!r}"))
    for rule in schema.get("x-kubernetes-validations") or []:
        if "oldSelf" in rule["rule"]:
            continue  # transition rules apply to updates only
        program = _CEL.program(_CEL.compile(rule["rule"]))
        if not bool(program.evaluate({"self": celpy.json_to_cel(value)})):
            field = path + rule.get("fieldPath", "")
            errors.append(FieldError(field, rule.get("message", rule["rule"])))
    if isinstance(value, dict):
        for name, sub in (schema.get("properties") or {}).items():
            if name in value:
                errors += _rule_errors(sub, value[name], _path(path, name))
    elif isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            errors += _rule_errors(schema["items"], item, _path(path, i))
    return errors


def validate(crd: dict[str, Any], obj: dict[str, Any]) -> list[FieldError]:
    """All errors the API server would report on create, in its field-path form."""
    schema = version_schema(crd)
    defaulted = apply_defaults(schema, copy.deepcopy(obj))
    errors = _structural_errors(schema, defaulted)
    if errors:  # like the API server, CEL rules run only on structurally valid objects
        return errors
    return _rule_errors(schema, defaulted, "")
