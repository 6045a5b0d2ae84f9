"""Decoding of the protobuf request bodies kubectl sends for typed built-ins (`kubectl create ns`,
`kubectl create configmap|secret`, `kubectl auth can-i|whoami`): the `k8s\\0` envelope around
runtime.Unknown, then Namespace, ConfigMap, Secret (with their ObjectMeta), SelfSubjectAccessReview,
SelfSubjectRulesReview (`can-i --list`) or SelfSubjectReview.
Responses are always JSON (kubectl accepts that).

Only these kinds and the fields they use are decoded; anything else is 415, like a server that does
not offer protobuf for a type.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

from .errors import ApiError

Obj = dict[str, Any]
MAGIC = b"k8s\x00"
PROTOBUF = "application/vnd.kubernetes.protobuf"


class _MalformedError(ValueError):
    pass


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(data) or shift > 63:
            raise _MalformedError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) pairs: ints for varints, bytes for length-delimited; others skipped."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            yield number, value
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise _MalformedError("truncated field")
            yield number, data[pos : pos + length]
            pos += length
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise _MalformedError(f"unsupported wire type {wire}")


def _text(value: int | bytes) -> str:
    if not isinstance(value, bytes):
        raise _MalformedError("expected bytes")
    return value.decode()


def _message(value: int | bytes) -> bytes:
    if not isinstance(value, bytes):
        raise _MalformedError("expected a message")
    return value


def _map_entry(value: int | bytes) -> tuple[str, bytes]:
    key, val = "", b""
    for number, item in _fields(_message(value)):
        if number == 1:
            key = _text(item)
        elif number == 2:
            val = _message(item)
    return key, val


def _owner_reference(data: bytes) -> Obj:
    names = {1: "kind", 3: "name", 4: "uid", 5: "apiVersion"}
    ref: Obj = {}
    for number, value in _fields(data):
        if number in names:
            ref[names[number]] = _text(value)
        elif number == 6:
            ref["controller"] = bool(value)
        elif number == 7:
            ref["blockOwnerDeletion"] = bool(value)
    return ref


def _object_meta(data: bytes) -> Obj:
    strings = {1: "name", 2: "generateName", 3: "namespace", 5: "uid", 6: "resourceVersion"}
    md: Obj = {}
    for number, value in _fields(data):
        if number in strings:
            if text := _text(value):  # gogo-proto sends empty strings: they mean "unset"
                md[strings[number]] = text
        elif number in (11, 12):
            key, val = _map_entry(value)
            md.setdefault("labels" if number == 11 else "annotations", {})[key] = val.decode()
        elif number == 13:
            md.setdefault("ownerReferences", []).append(_owner_reference(_message(value)))
        elif number == 14:
            md.setdefault("finalizers", []).append(_text(value))
    return md


def _namespace(data: bytes) -> Obj:
    obj: Obj = {"apiVersion": "v1", "kind": "Namespace"}
    for number, value in _fields(data):
        if number == 1:
            obj["metadata"] = _object_meta(_message(value))
        elif number == 2:
            finalizers = [_text(v) for n, v in _fields(_message(value)) if n == 1]
            obj["spec"] = {"finalizers": finalizers} if finalizers else {}
    return obj


def _data_holder(kind: str, string_fields: dict[int, str], byte_maps: dict[int, str]) -> Callable[[bytes], Obj]:
    def decode(data: bytes) -> Obj:
        obj: Obj = {"apiVersion": "v1", "kind": kind}
        for number, value in _fields(data):
            if number == 1:
                obj["metadata"] = _object_meta(_message(value))
            elif number in string_fields:
                field = string_fields[number]
                if field in ("data", "stringData"):
                    key, val = _map_entry(value)
                    obj.setdefault(field, {})[key] = val.decode()
                else:
                    obj[field] = _text(value)
            elif number in byte_maps:
                key, val = _map_entry(value)
                obj.setdefault(byte_maps[number], {})[key] = base64.b64encode(val).decode()
            elif kind in ("ConfigMap", "Secret") and number == (4 if kind == "ConfigMap" else 5):
                obj["immutable"] = bool(value)
        return obj

    return decode


def _strings(data: bytes, names: dict[int, str]) -> Obj:
    return {names[n]: _text(v) for n, v in _fields(data) if n in names and _text(v)}


def _access_review(data: bytes) -> Obj:
    spec: Obj = {}
    for number, value in _fields(data):
        if number != 2:
            continue
        for inner, attrs in _fields(_message(value)):
            if inner == 1:
                names = {
                    1: "namespace",
                    2: "verb",
                    3: "group",
                    4: "version",
                    5: "resource",
                    6: "subresource",
                    7: "name",
                }
                spec["resourceAttributes"] = _strings(_message(attrs), names)
            elif inner == 2:
                spec["nonResourceAttributes"] = _strings(_message(attrs), {1: "path", 2: "verb"})
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": spec}


def _rules_review(data: bytes) -> Obj:
    spec: Obj = {}
    for number, value in _fields(data):
        if number == 2:
            spec = _strings(_message(value), {1: "namespace"})
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview", "spec": spec}


def _self_review(data: bytes) -> Obj:
    """SelfSubjectReview (`kubectl auth whoami`): nothing but metadata is sent."""
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}


_DECODERS: dict[str, Callable[[bytes], Obj]] = {
    "SelfSubjectAccessReview": _access_review,
    "SelfSubjectRulesReview": _rules_review,
    "SelfSubjectReview": _self_review,
    "Namespace": _namespace,
    "ConfigMap": _data_holder("ConfigMap", {2: "data"}, {3: "binaryData"}),
    "Secret": _data_holder("Secret", {3: "type", 4: "stringData"}, {2: "data"}),
}


def decode(raw: bytes) -> Obj:
    unsupported = ApiError(
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json, application/yaml",
    )
    if not raw.startswith(MAGIC):
        raise unsupported
    try:
        kind, payload = "", b""
        for number, value in _fields(raw[len(MAGIC) :]):
            if number == 1:
                kind = next((_text(v) for n, v in _fields(_message(value)) if n == 2), "")
            elif number == 2:
                payload = _message(value)
        decoder = _DECODERS.get(kind)
        if decoder is None:
            raise unsupported
        return decoder(payload)
    except (_MalformedError, UnicodeDecodeError) as exc:
        raise ApiError(400, "BadRequest", f"error decoding protobuf body: {exc}") from exc
