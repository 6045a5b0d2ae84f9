"""PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902), strategic merge, server-side apply.

Strategic merge is served for built-in kinds only (custom resources answer 415, as on the real
server). It follows the directives kubectl emits (`$patch`, `$retainKeys`,
`$deleteFromPrimitiveList/`, `$setElementOrder/`) and merges the lists of the built-ins served here
by their merge keys; other lists are replaced.

Server-side apply is a simplification: the applied configuration is merged into the live object
(maps merged, lists of `x-kubernetes-list-type: map` merged by key, other lists replaced), and
fields this field manager applied before but has now dropped are removed. Conflicts between managers
are not detected and `managedFields` is not written.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml

from .errors import ApiError, bad_request

Obj = dict[str, Any]

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"
APPLY_CBOR = "application/apply-patch+cbor"

# Lists of the built-ins served here that strategic merge merges by a key (others are replaced).
_MERGE_KEYS = {
    "ownerReferences": "uid",
    "conditions": "type",
    # Pod specs (core/v1 types.go patchMergeKey); container and Service ports are left replaced.
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "imagePullSecrets": "name",
}


def parse_body(content_type: str, raw: bytes) -> Any:
    try:
        if content_type == APPLY:
            return yaml.safe_load(raw.decode())
        return json.loads(raw)
    except (ValueError, yaml.YAMLError) as exc:
        raise bad_request(f"error decoding patch: {exc}") from exc


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# -- RFC 6902 -------------------------------------------------------------------------------------
def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise _patch_error(f'the path "{path}" must start with a slash')
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _patch_error(message: str) -> ApiError:
    # kube-apiserver answers failed JSON patches with 422 (kopf relies on that for its `test` op).
    return ApiError(422, "Invalid", message)


def _parent(doc: Any, parts: list[str], path: str) -> tuple[Any, str]:
    node = doc
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise _patch_error(f"doc is missing path: {path}: missing value")
    return node, parts[-1]


def _get(doc: Any, path: str) -> Any:
    node = doc
    for part in _pointer(path):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise _patch_error(f"doc is missing path: {path}: missing value")
    return node


def _add(doc: Any, path: str, value: Any) -> Any:
    parts = _pointer(path)
    if not parts:
        return value
    parent, last = _parent(doc, parts, path)
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        elif last.isdigit() and int(last) <= len(parent):
            parent.insert(int(last), value)
        else:
            raise _patch_error(f"add operation does not apply: doc is missing path: {path}")
    else:
        raise _patch_error(f"add operation does not apply: doc is missing path: {path}")
    return doc


def _remove(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    parent, last = _parent(doc, parts, path)
    if isinstance(parent, dict) and last in parent:
        del parent[last]
    elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        del parent[int(last)]
    else:
        raise _patch_error(f"remove operation does not apply: doc is missing path: {path}")
    return doc


def json_patch(doc: Obj, ops: Any) -> Obj:
    if not isinstance(ops, list):
        raise bad_request("json patch must be a list of operations")
    result: Any = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise bad_request(f"invalid JSON patch operation: {op!r}")
        kind, path = op["op"], str(op["path"])
        if kind == "add":
            result = _add(result, path, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            result = _remove(result, path)
        elif kind == "replace":
            _get(result, path)
            result = _add(_remove(result, path), path, copy.deepcopy(op.get("value"))) if path else op.get("value")
        elif kind in ("move", "copy"):
            value = copy.deepcopy(_get(result, str(op.get("from", ""))))
            if kind == "move":
                result = _remove(result, str(op.get("from", "")))
            result = _add(result, path, value)
        elif kind == "test":
            if _get(result, path) != op.get("value"):
                raise _patch_error(f"testing value {path} failed: test operation does not apply")
        else:
            raise bad_request(f"Unexpected kind: {kind}")
    if not isinstance(result, dict):
        raise bad_request("the patched object is not a JSON object")
    return result


# -- strategic merge ------------------------------------------------------------------------------
def strategic_merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = dict(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys") or key.startswith("$setElementOrder/"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            if isinstance(result.get(name), list):
                result[name] = [v for v in result[name] if v not in value]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and key in _MERGE_KEYS and isinstance(result.get(key), list):
            result[key] = _merge_list(result[key], value, _MERGE_KEYS[key])
        elif key == "finalizers" and isinstance(value, list) and isinstance(result.get(key), list):
            # metadata.finalizers is a merging primitive list (patchStrategy: merge).
            result[key] = result[key] + [v for v in value if v not in result[key]]
        else:
            merged = strategic_merge(result.get(key), value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(live: list[Any], patch: list[Any], merge_key: str) -> list[Any]:
    out = [copy.deepcopy(item) for item in live]
    for item in patch:
        if not isinstance(item, dict):
            continue
        index = next(
            (i for i, o in enumerate(out) if isinstance(o, dict) and o.get(merge_key) == item.get(merge_key)), None
        )
        if item.get("$patch") == "delete":
            if index is not None:
                del out[index]
        elif index is None:
            out.append({k: v for k, v in item.items() if k != "$patch"})
        else:
            out[index] = strategic_merge(out[index], item)
    return out


# -- server-side apply (simplified) ---------------------------------------------------------------
def apply_merge(live: Any, applied: Any, schema: Obj | None) -> Any:
    """Merges an applied configuration into the live object (see the module docstring)."""
    schema = schema or {}
    if isinstance(applied, dict) and isinstance(live, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        result = dict(live)
        for key, value in applied.items():
            sub = props.get(key) or (extra if isinstance(extra, dict) else None)
            result[key] = apply_merge(live.get(key), value, sub)
        return result
    keys = schema.get("x-kubernetes-list-map-keys")
    if isinstance(applied, list) and isinstance(live, list) and schema.get("x-kubernetes-list-type") == "map" and keys:
        result_list = [copy.deepcopy(item) for item in live]
        for item in applied:
            if not isinstance(item, dict):
                continue
            ident = [item.get(k) for k in keys]
            index = next(
                (i for i, o in enumerate(result_list) if isinstance(o, dict) and [o.get(k) for k in keys] == ident),
                None,
            )
            if index is None:
                result_list.append(copy.deepcopy(item))
            else:
                result_list[index] = apply_merge(result_list[index], item, schema.get("items"))
        return result_list
    return copy.deepcopy(applied)


def remove_dropped(obj: Any, previous: Any, current: Any) -> None:
    """Deletes from `obj` the map fields present in `previous` applied config but absent from `current`."""
    if not (isinstance(obj, dict) and isinstance(previous, dict)):
        return
    current = current if isinstance(current, dict) else {}
    for key, value in previous.items():
        if key not in current:
            obj.pop(key, None)
        elif isinstance(value, dict):
            remove_dropped(obj.get(key), value, current.get(key))
