"""Request-parameter checks that answer like AWS's own validation (`ValidationException`, field named)."""

from __future__ import annotations

from typing import Any

from .errors import AwsError

Params = dict[str, Any]


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _fail(name: str, value: object, constraint: str) -> AwsError:
    shown = "null" if value is None else repr(value) if not isinstance(value, str) else f"'{value}'"
    return AwsError(
        "ValidationException",
        f"1 validation error detected: Value {shown} at '{_camel(name)}' failed to satisfy constraint: {constraint}",
    )


def req_str(p: Params, name: str, max_len: int = 2048) -> str:
    v = p.get(name)
    if v is None:
        raise _fail(name, None, "Member must not be null")
    if not isinstance(v, str) or not v:
        raise _fail(name, v, "Member must have length greater than or equal to 1")
    if len(v) > max_len:
        raise _fail(name, v, f"Member must have length less than or equal to {max_len}")
    return v


def opt_str(p: Params, name: str, default: str | None = None, choices: tuple[str, ...] = ()) -> str | None:
    v = p.get(name, default)
    if v is None:
        return None
    if not isinstance(v, str):
        raise _fail(name, v, "Member must be a string")
    if choices and v not in choices:
        raise _fail(name, v, f"Member must satisfy enum value set: [{', '.join(choices)}]")
    return v


def opt_int(p: Params, name: str, lo: int, hi: int, default: int | None = None) -> int | None:
    v = p.get(name, default)
    if v is None:
        return None
    if not isinstance(v, int) or isinstance(v, bool):
        raise _fail(name, v, "Member must be an integer")
    if v < lo:
        raise _fail(name, v, f"Member must have value greater than or equal to {lo}")
    if v > hi:
        raise _fail(name, v, f"Member must have value less than or equal to {hi}")
    return v


def req_int(p: Params, name: str, lo: int, hi: int) -> int:
    v = opt_int(p, name, lo, hi)
    if v is None:
        raise _fail(name, None, "Member must not be null")
    return v


def opt_list(p: Params, name: str, max_len: int | None = None, min_len: int = 0) -> list[Any]:
    v = p.get(name)
    if v is None:
        return []
    if not isinstance(v, list):
        raise _fail(name, v, "Member must be a list")
    if max_len is not None and len(v) > max_len:
        raise _fail(name, v, f"Member must have length less than or equal to {max_len}")
    if len(v) < min_len:
        raise _fail(name, v, f"Member must have length greater than or equal to {min_len}")
    return v


def max_results(p: Params, lo: int, hi: int, default: int, name: str = "MaxResults") -> int:
    v = opt_int(p, name, lo, hi, default)
    assert v is not None
    return v


def tags_to_dict(tags: list[Any], name: str = "Tags") -> dict[str, str]:
    out: dict[str, str] = {}
    for t in tags:
        if not isinstance(t, dict) or not isinstance(t.get("Key"), str) or not isinstance(t.get("Value"), str):
            raise _fail(name, t, "Member must have Key and Value")
        out[t["Key"]] = t["Value"]
    return out
