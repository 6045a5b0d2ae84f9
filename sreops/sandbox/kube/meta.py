"""Helpers for object metadata: timestamps, names, generated suffixes, label checks."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any

from .errors import Cause

Obj = dict[str, Any]

# kube-apiserver's name generator alphabet: no vowels (no words), no look-alike characters.
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_LABEL_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def generated_name(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(5))


def human_age(timestamp: str | None) -> str:
    """kubectl's/apimachinery's HumanDuration: 45s, 5m10s, 3h, 2d5h, 400d, 3y."""
    parsed = parse_time(timestamp) if isinstance(timestamp, str) else None
    if parsed is None:
        return "<unknown>"
    seconds = int((dt.datetime.now(dt.UTC) - parsed).total_seconds())
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        years = hours // 24 // 365
        days = hours // 24 % 365
        return f"{years}y{days}d" if days else f"{years}y"
    return f"{hours // 24 // 365}y"


def check_name(name: str, *, label: bool) -> Cause | None:
    pattern, what = (DNS_LABEL, "RFC 1123 label") if label else (DNS_SUBDOMAIN, "RFC 1123 subdomain")
    limit = 63 if label else 253
    if len(name) <= limit and pattern.fullmatch(name):
        return None
    return Cause(
        "FieldValueInvalid",
        f'Invalid value: "{name}": a lowercase {what} must consist of lower case alphanumeric characters, '
        f"'-' or '.', and must start and end with an alphanumeric character",
        "metadata.name",
    )


def check_labels(labels: Any) -> list[Cause]:
    if labels is None:
        return []
    if not isinstance(labels, dict):
        return [Cause("FieldValueTypeInvalid", "Invalid value: labels must be a map of strings", "metadata.labels")]
    causes = []
    for key, value in labels.items():
        name = key.rsplit("/", 1)[-1]
        if not (isinstance(key, str) and len(name) <= 63 and _LABEL_NAME.fullmatch(name)):
            causes.append(
                Cause("FieldValueInvalid", f'Invalid value: "{key}": name part must be valid', "metadata.labels")
            )
        if not (isinstance(value, str) and len(value) <= 63 and _LABEL_VALUE.fullmatch(value)):
            causes.append(
                Cause(
                    "FieldValueInvalid",
                    f'Invalid value: "{value}": a valid label must be an empty string or consist of alphanumeric '
                    "characters, '-', '_' or '.', and must start and end with an alphanumeric character",
                    "metadata.labels",
                )
            )
    return causes


def _is_str_map(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def check_metadata_shape(md: Any) -> str | None:
    """What a typed decoder would reject in metadata (the real server answers 400 for it), or None."""
    if not isinstance(md, dict):
        return "metadata must be an object"
    for key in ("name", "generateName", "namespace", "resourceVersion", "uid"):
        if key in md and md[key] is not None and not isinstance(md[key], str):
            return f"metadata.{key} must be a string"
    for key in ("labels", "annotations"):
        if md.get(key) is not None and not _is_str_map(md[key]):
            return f"metadata.{key} must be a map of strings"
    finalizers = md.get("finalizers")
    if finalizers is not None and not (isinstance(finalizers, list) and all(isinstance(f, str) for f in finalizers)):
        return "metadata.finalizers must be a list of strings"
    refs = md.get("ownerReferences")
    if refs is not None and not (
        isinstance(refs, list) and all(isinstance(r, dict) and isinstance(r.get("uid"), str) for r in refs)
    ):
        return "metadata.ownerReferences must be a list of objects with a uid"
    return None


# Top-level fields of the built-ins that must be maps of strings (ConfigMap, Secret).
STRING_MAPS = {"ConfigMap": ("data", "binaryData"), "Secret": ("data", "stringData")}


def check_builtin_shape(kind: str, obj: Obj) -> str | None:
    for key in STRING_MAPS.get(kind, ()):
        if obj.get(key) is not None and not _is_str_map(obj[key]):
            return f"{key} must be a map of strings"
    for key in ("spec", "status"):
        if obj.get(key) is not None and not isinstance(obj[key], dict) and kind != "Event":
            return f"{key} must be an object"
    return None
