"""Opaque pagination tokens, like AWS's: clients cannot forge or reuse them with other filters."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import TypeVar

from .errors import AwsError

T = TypeVar("T")


def fingerprint(*parts: object) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode(), usedforsecurity=False).hexdigest()[:12]


def make_token(position: int, fp: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"p": position, "f": fp}).encode()).decode()


def read_token(token: str | None, fp: str, code: str = "InvalidNextToken") -> int:
    """The position a token stands for; a token from other filters or garbage gets `code`."""
    if not token:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        pos = int(data["p"])
        ok = data["f"] == fp and pos >= 0
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        message = "The specified token is not valid." if code == "InvalidNextToken" else "Invalid nextToken"
        raise AwsError(code, message, 400, {"reason": "OTHER"} if code == "ValidationException" else {})
    return pos


def page(items: list[T], max_results: int, token: str | None, fp: str) -> tuple[list[T], str | None]:
    start = read_token(token, fp)
    chunk = items[start : start + max_results]
    end = start + len(chunk)
    return chunk, (make_token(end, fp) if end < len(items) else None)
