"""botocore's service models, trimmed to the operations the operator declares (permissions.py).

A client carries its service's whole model: EC2's is about 15 MiB parsed and each EC2 client defines some 700
methods, of which the operator calls one (DescribeTags). Trimming each service-2 model to the declared operations
and the shapes they reach (input, output, errors, recursively) takes that memory away, and a call that was not
declared fails at once with AttributeError, in tests as in production, instead of with AccessDenied under the
least-privilege policy the same declarations produce.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import botocore.loaders

from sreops.operator.aws.permissions import declared_actions

SERVICE_MODEL = "service-2"


def declared_operations() -> dict[str, frozenset[str]]:
    """The declared IAM actions by botocore service name: for the services the operator calls, IAM's action
    names are the API's operation names (ssm:SendCommand is SendCommand)."""
    by_service: dict[str, set[str]] = {}
    for action in declared_actions():
        service, _, name = action.partition(":")
        by_service.setdefault(service, set()).add(name)
    return {service: frozenset(names) for service, names in by_service.items()}


def reachable_shapes(shapes: Mapping[str, Any], roots: Iterable[str]) -> set[str]:
    """Every shape name reachable from roots through structure members, list members and map keys/values."""
    seen: set[str] = set()
    pending = [r for r in roots if r in shapes]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        shape = shapes[name]
        refs = [m.get("shape") for m in (shape.get("members") or {}).values()]
        refs += [shape.get(k, {}).get("shape") for k in ("member", "key", "value")]
        pending.extend(r for r in refs if r and r in shapes and r not in seen)
    return seen


def trim(model: dict[str, Any], keep: frozenset[str]) -> None:
    """Trims a parsed service-2 model in place to the operations in keep (idempotent)."""
    operations: dict[str, Any] = model.get("operations") or {}
    for name in [n for n in operations if n not in keep]:
        del operations[name]
    roots: list[str] = []
    for operation in operations.values():
        roots += [operation.get(k, {}).get("shape") for k in ("input", "output")]
        roots += [error.get("shape") for error in operation.get("errors") or []]
    shapes: dict[str, Any] = model.get("shapes") or {}
    used = reachable_shapes(shapes, [r for r in roots if r])
    for name in [n for n in shapes if n not in used]:
        del shapes[name]


class DeclaredOperationsLoader(botocore.loaders.Loader):  # type: ignore[misc]  # botocore ships no types
    """A botocore loader whose service-2 models hold only the declared operations of the services in
    `operations`; other services and other model types load as botocore ships them. Shared by every session
    of a ClientFactory, so each model is parsed (and trimmed) once per process."""

    def __init__(self, operations: Mapping[str, frozenset[str]]) -> None:
        # As botocore.loaders.create_loader does with AWS_DATA_PATH (botocore's own data path stays last).
        extra = os.environ.get("AWS_DATA_PATH")
        paths = [str(Path(os.path.expandvars(p)).expanduser()) for p in extra.split(os.pathsep)] if extra else None
        super().__init__(extra_search_paths=paths)
        self._operations = dict(operations)

    def load_service_model(self, service_name: str, type_name: str, api_version: str | None = None) -> Any:
        # The parent caches the parsed model per instance; trimming that very dict in place leaves the cache
        # holding only the trimmed model, so the full one is garbage as soon as the first client is built. Later
        # calls (one per client created) trim the already trimmed model again, which removes nothing.
        model = super().load_service_model(service_name, type_name, api_version)
        keep = self._operations.get(service_name)
        if type_name == SERVICE_MODEL and keep is not None:
            trim(model, keep)
        return model
