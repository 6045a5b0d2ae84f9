"""Label and field selectors with the syntax and the 400 errors of kube-apiserver."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .errors import bad_request

Obj = dict[str, Any]
Predicate = Callable[[Obj], bool]

_REQUIREMENT = re.compile(
    r"""\s*(?P<neg>!)?\s*(?P<key>[A-Za-z0-9_./-]+)\s*
        (?:(?P<op>==|=|!=|\s+in\s+|\s+notin\s+)\s*
           (?:\((?P<set>[^)]*)\)|(?P<value>[A-Za-z0-9_.-]*)))?\s*""",
    re.VERBOSE,
)


def _split_top_level(text: str) -> list[str]:
    """Splits on commas outside parentheses (`a in (x,y),b=c`)."""
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p for p in parts if p.strip()]


def label_selector(text: str | None) -> Predicate:
    if not text:
        return lambda _obj: True
    checks: list[Callable[[dict[str, str]], bool]] = []
    for part in _split_top_level(text):
        m = _REQUIREMENT.fullmatch(part)
        if m is None:
            raise bad_request(f"unable to parse requirement: found '{part.strip()}', expected: key and operator")
        key, neg, op = m["key"], bool(m["neg"]), (m["op"] or "").strip()
        if neg and op:
            raise bad_request(f"unable to parse requirement: '!' cannot be combined with an operator: {part}")
        values = {v.strip() for v in m["set"].split(",")} if m["set"] is not None else {m["value"] or ""}
        if op in ("in", "notin") and m["set"] is None:
            raise bad_request(f"unable to parse requirement: found '{part.strip()}', expected: '('")
        checks.append(_label_check(key, neg, op, values))
    return lambda obj: all(check((obj.get("metadata") or {}).get("labels") or {}) for check in checks)


def _label_check(key: str, neg: bool, op: str, values: set[str]) -> Callable[[dict[str, str]], bool]:
    if not op:
        return (lambda labels: key not in labels) if neg else (lambda labels: key in labels)
    if op in ("=", "=="):
        return lambda labels: key in labels and labels[key] in values
    if op == "in":
        return lambda labels: labels.get(key) in values
    # != and notin also match objects without the label, as on the real server.
    return lambda labels: labels.get(key) not in values


def _get_path(obj: Obj, path: str) -> str:
    node: Any = obj
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if node is None:
        return ""
    if isinstance(node, bool):
        return "true" if node else "false"
    return str(node)


# Field labels each kind supports beyond metadata.name/metadata.namespace (kube-apiserver rejects others).
EXTRA_FIELDS: dict[str, tuple[str, ...]] = {
    "Event": (
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
        "regarding.kind",
        "regarding.name",
        "regarding.namespace",
    ),
    "Secret": ("type",),
    "Namespace": ("status.phase",),
}


def _field_check(path: str, value: str, *, negate: bool) -> Predicate:
    def check(obj: Obj) -> bool:
        return (_get_path(obj, path) == value) != negate

    return check


def field_selector(text: str | None, kind: str) -> Predicate:
    if not text:
        return lambda _obj: True
    allowed = ("metadata.name", "metadata.namespace", *EXTRA_FIELDS.get(kind, ()))
    checks: list[Predicate] = []
    for part in _split_top_level(text):
        m = re.fullmatch(r"\s*([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*?)\s*", part)
        if m is None:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        path, op, value = m.groups()
        if path not in allowed:
            raise bad_request(f"field label not supported: {path}")
        checks.append(_field_check(path, value, negate=op == "!="))
    return lambda obj: all(check(obj) for check in checks)
