"""The JSONPath subset of printer columns: `.a.b`, `[0]`, `[*]`, `['key']`, `[?(@.k=="v")].x`."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_TOKEN = re.compile(
    r"""\.(?P<field>[A-Za-z0-9_$-]+)
      | \[(?P<index>-?\d+)\]
      | \[(?P<star>\*)\]
      | \.(?P<dotstar>\*)
      | \[['"](?P<quoted>[^'"]+)['"]\]
      | \[\?\(@\.(?P<fpath>[A-Za-z0-9_.-]+)\s*(?P<op>==|!=)\s*
           (?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<num>[-\d.]+))\)\]""",
    re.VERBOSE,
)

Step = tuple[str, Any]


class JsonPathError(ValueError):
    pass


@lru_cache(maxsize=512)
def compile_path(path: str) -> tuple[Step, ...]:
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    text = text.removeprefix("$")
    steps: list[Step] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise JsonPathError(f"unrecognized JSONPath at {text[pos:]!r}")
        if m["field"] is not None:
            steps.append(("field", m["field"]))
        elif m["index"] is not None:
            steps.append(("index", int(m["index"])))
        elif m["star"] or m["dotstar"]:
            steps.append(("all", None))
        elif m["quoted"] is not None:
            steps.append(("field", m["quoted"]))
        else:
            literal: Any = m["dq"] if m["dq"] is not None else m["sq"]
            if literal is None:
                literal = float(m["num"]) if "." in m["num"] else int(m["num"])
            steps.append(("filter", (m["fpath"].split("."), m["op"], literal)))
        pos = m.end()
    return tuple(steps)


def find(obj: Any, path: str) -> list[Any]:
    nodes = [obj]
    for kind, arg in compile_path(path):
        out: list[Any] = []
        for node in nodes:
            if (kind == "field" and isinstance(node, dict) and arg in node) or (
                kind == "index" and isinstance(node, list) and -len(node) <= arg < len(node)
            ):
                out.append(node[arg])
            elif kind == "all":
                out.extend(node if isinstance(node, list) else node.values() if isinstance(node, dict) else [])
            elif kind == "filter" and isinstance(node, list):
                keys, op, literal = arg
                for item in node:
                    value: Any = item
                    for key in keys:
                        value = value.get(key) if isinstance(value, dict) else None
                    if (value == literal) == (op == "=="):
                        out.append(item)
        nodes = out
    return nodes
