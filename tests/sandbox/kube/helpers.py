"""Shared pieces of the stand-in tests: a test CRD, raw HTTPS access, server start-up."""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sreops.sandbox.kube import KubeServer, ThreadHandle

# A small CRD with the schema features our real CRDs use: enums, ranges, patterns, required,
# maxItems, list-type set/map, defaults, CEL (incl. fieldPath and a transition rule), printer columns.
WIDGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.test.sreops.io"},
    "spec": {
        "group": "test.sreops.io",
        "scope": "Namespaced",
        "names": {
            "kind": "Widget",
            "plural": "widgets",
            "singular": "widget",
            "shortNames": ["wd"],
            "categories": ["testing"],
        },
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                    {"name": "Ready", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
                    {"name": "Mode", "type": "string", "jsonPath": ".spec.mode", "priority": 1},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                ],
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "description": "A Widget for tests.",
                        "required": ["spec"],
                        "properties": {
                            "apiVersion": {"type": "string"},
                            "kind": {"type": "string"},
                            "metadata": {"type": "object"},
                            "spec": {
                                "type": "object",
                                "description": "What the widget should be.",
                                "required": ["size"],
                                "properties": {
                                    "size": {"type": "integer", "minimum": 1, "maximum": 10, "description": "How big."},
                                    "mode": {"type": "string", "enum": ["Fast", "Slow"], "default": "Slow"},
                                    "code": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 8},
                                    "tags": {
                                        "type": "array",
                                        "maxItems": 3,
                                        "x-kubernetes-list-type": "set",
                                        "items": {"type": "string"},
                                    },
                                    "labelsMap": {"type": "object", "additionalProperties": {"type": "string"}},
                                    "immutableId": {
                                        "type": "string",
                                        "x-kubernetes-validations": [
                                            {"rule": "self == oldSelf", "message": "immutableId is immutable"}
                                        ],
                                    },
                                    "window": {
                                        "type": "object",
                                        "description": "A time window.",
                                        "properties": {
                                            "durationHours": {"type": "integer", "minimum": 1, "maximum": 24},
                                            "cutoffHours": {"type": "integer", "minimum": 0, "maximum": 23},
                                        },
                                        "x-kubernetes-validations": [
                                            {
                                                "rule": "self.cutoffHours < self.durationHours",
                                                "message": "cutoffHours must be less than durationHours",
                                                "fieldPath": ".cutoffHours",
                                            }
                                        ],
                                    },
                                },
                            },
                            "status": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                                "properties": {
                                    "conditions": {
                                        "type": "array",
                                        "x-kubernetes-list-type": "map",
                                        "x-kubernetes-list-map-keys": ["type"],
                                        "items": {
                                            "type": "object",
                                            "required": ["type", "status"],
                                            "properties": {
                                                "type": {"type": "string"},
                                                "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
                                                "reason": {"type": "string"},
                                                "message": {"type": "string"},
                                            },
                                        },
                                    },
                                    "observedGeneration": {"type": "integer"},
                                },
                            },
                        },
                    }
                },
            }
        ],
    },
}

GROUP, VERSION, PLURAL = "test.sreops.io", "v1", "widgets"


def widget(name: str, namespace: str = "default", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Widget",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"size": 3, **spec},
    }


@dataclass
class Response:
    status: int
    body: Any
    headers: dict[str, str]


class Http:
    """Raw HTTPS requests with the kubeconfig's token and CA (for what the clients hide)."""

    def __init__(self, handle: ThreadHandle) -> None:
        self.base = handle.url
        self.token = handle.token
        self.context = ssl.create_default_context(cafile=str(handle.server.state_dir / "ca.crt"))

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        token: str | None = "default",
        raw: bytes | None = None,
    ) -> Response:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", content_type)
        if token is not None:
            req.add_header("Authorization", f"Bearer {self.token if token == 'default' else token}")
        for key, value in (headers or {}).items():
            req.add_header(key, value)
        try:
            with urllib.request.urlopen(req, context=self.context, timeout=30) as resp:
                text = resp.read().decode()
                return Response(resp.status, _decode(text), dict(resp.headers))
        except urllib.error.HTTPError as err:
            text = err.read().decode()
            return Response(err.code, _decode(text), dict(err.headers))

    def stream(self, path: str, headers: dict[str, str] | None = None) -> Any:
        """Opens a streaming GET (watch); iterate the returned response's lines."""
        req = urllib.request.Request(self.base + path, method="GET")
        req.add_header("Authorization", f"Bearer {self.token}")
        for key, value in (headers or {}).items():
            req.add_header(key, value)
        return urllib.request.urlopen(req, context=self.context, timeout=30)


def _decode(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def start_server(state_dir: Path, **kwargs: Any) -> ThreadHandle:
    return KubeServer(state_dir, port=0, **kwargs).start_in_thread()


def to_yaml(*docs: dict[str, Any]) -> str:
    return yaml.safe_dump_all(list(docs))


# Same plural and kind as WIDGET_CRD in another group: the two must never be mixed up.
OTHER_GROUP = "other.sreops.io"
OTHER_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": f"widgets.{OTHER_GROUP}"},
    "spec": {
        "group": OTHER_GROUP,
        "scope": "Namespaced",
        "names": {"kind": "Widget", "plural": "widgets", "singular": "widget"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
            }
        ],
    },
}


def eventually(check: Callable[[], bool], timeout: float = 5.0, interval: float = 0.05) -> None:
    """Polls `check` until it holds; fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise AssertionError("condition not reached in time")
