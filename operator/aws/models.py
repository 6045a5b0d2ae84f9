"""botocore's service models, trimmed to the operations the operator declares (permissions.py).

A client carries its service's whole model: EC2's is about 15 MiB parsed and each EC2 client defines some 700
methods, of which the operator calls one (DescribeTags). Trimming each service-2 model to the declared operations
and the shapes they reach (input, output, errors, recursively) takes that memory away, and a call that was not
declared fails at once with AttributeError, in tests as in production, instead of with AccessDenied under the
least-privilege policy the same declarations produce.

The endpoint data (endpoints.json, about 7 MB parsed, every service of every partition) is trimmed the same
way, to the declared services. And since a parse leaves the process holding most of the memory it touched
(the allocator keeps it: building the first SSM and EC2 clients grew the operator by 20 MiB, of which under
2 MiB was live afterwards), the operator parses and trims in a forked child (`trimmed_in_child`) and reads the
result, about 400 KB of JSON.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.exceptions
import botocore.loaders

from sreops.operator.aws.permissions import declared_actions

SERVICE_MODEL = "service-2"
ENDPOINTS = "endpoints"
CHILD_TIMEOUT_SECONDS = 60.0
log = logging.getLogger("sreops.aws")


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


def trim_endpoints(endpoints: dict[str, Any], services: Iterable[str]) -> None:
    """Trims parsed endpoint data in place to the entries of `services` (idempotent). The partitions' own data
    (regions, defaults, DNS suffixes) stays: it is what resolves an endpoint for any service. The keys are
    endpoint prefixes, which for the declared services are their names (a unit test keeps it so)."""
    keep = set(services)
    for partition in endpoints.get("partitions") or []:
        entries: dict[str, Any] = partition.get("services") or {}
        for name in [n for n in entries if n not in keep]:
            del entries[name]


@dataclass(frozen=True)
class TrimmedData:
    """The trimmed models (service -> (api version, service-2 model)) and endpoint data (data, path) that a
    DeclaredOperationsLoader serves instead of parsing its own."""

    models: dict[str, tuple[str, dict[str, Any]]]
    endpoints: tuple[dict[str, Any], str]


class DeclaredOperationsLoader(botocore.loaders.Loader):  # type: ignore[misc]  # botocore ships no types
    """A botocore loader whose service-2 models hold only the declared operations of the services in
    `operations`; other services and other model types load as botocore ships them. Shared by every session
    of a ClientFactory, so each model is parsed (and trimmed) once per process."""

    def __init__(self, operations: Mapping[str, frozenset[str]], trimmed: TrimmedData | None = None) -> None:
        # As botocore.loaders.create_loader does with AWS_DATA_PATH (botocore's own data path stays last).
        extra = os.environ.get("AWS_DATA_PATH")
        paths = [str(Path(os.path.expandvars(p)).expanduser()) for p in extra.split(os.pathsep)] if extra else None
        super().__init__(extra_search_paths=paths)
        self._operations = dict(operations)
        self._trimmed = trimmed

    def load_service_model(self, service_name: str, type_name: str, api_version: str | None = None) -> Any:
        if self._trimmed is not None and type_name == SERVICE_MODEL and service_name in self._trimmed.models:
            version, trimmed = self._trimmed.models[service_name]
            if api_version in (None, version):
                return trimmed
        # The parent caches the parsed model per instance; trimming that very dict in place leaves the cache
        # holding only the trimmed model, so the full one is garbage as soon as the first client is built. Later
        # calls (one per client created) trim the already trimmed model again, which removes nothing.
        model = super().load_service_model(service_name, type_name, api_version)
        keep = self._operations.get(service_name)
        if type_name == SERVICE_MODEL and keep is not None:
            trim(model, keep)
        return model

    def load_data_with_path(self, name: str) -> Any:
        if name != ENDPOINTS or not self._operations:
            return super().load_data_with_path(name)
        if self._trimmed is not None:
            return self._trimmed.endpoints
        # As with models: the parent caches per instance, so trimming its dict leaves only the trimmed one.
        data, path = super().load_data_with_path(name)
        trim_endpoints(data, self._operations)
        return data, path


def _trimmed_payload(operations: Mapping[str, frozenset[str]]) -> bytes:
    loader = DeclaredOperationsLoader(operations)
    models: dict[str, tuple[str, Any]] = {}
    for service in operations:
        try:
            version = loader.determine_latest_version(service, SERVICE_MODEL)
        except botocore.exceptions.DataNotFoundError:
            continue  # a declared action of a service botocore has no model for (none is called then)
        models[service] = (version, loader.load_service_model(service, SERVICE_MODEL, version))
    return json.dumps({"models": models, "endpoints": loader.load_data_with_path(ENDPOINTS)}).encode()


def trimmed_in_child(operations: Mapping[str, frozenset[str]]) -> TrimmedData | None:
    """The trimmed models and endpoint data of `operations`, parsed by a forked child so that the memory the
    parse touches goes with it. None (the loader then parses in-process, as before) when the child fails or
    takes longer than CHILD_TIMEOUT_SECONDS; the operator calls this before it starts threads of its own."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: parse, write, exit without running the parent's atexit or finally clauses
        status = 1
        try:
            os.close(read_end)
            with contextlib.suppress(ValueError):  # only the main thread may; the operator forks from it
                for sig in (signal.SIGTERM, signal.SIGINT):  # the parent's handlers write to its wakeup fd
                    signal.signal(sig, signal.SIG_DFL)
                signal.set_wakeup_fd(-1)
            payload = _trimmed_payload(operations)
            view = memoryview(payload)
            while view:
                view = view[os.write(write_end, view) :]
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    chunks: list[bytes] = []
    deadline = time.monotonic() + CHILD_TIMEOUT_SECONDS
    try:
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([read_end], [], [], left)[0]:
                continue
            chunk = os.read(read_end, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
        else:
            with contextlib.suppress(ProcessLookupError):  # it may have exited just now
                os.kill(pid, signal.SIGKILL)
    finally:
        os.close(read_end)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        log.warning("parsing the AWS models in a child failed (wait status %s); parsing them here instead", status)
        return None
    decoded = json.loads(b"".join(chunks))
    models = {service: (version, model) for service, (version, model) in decoded["models"].items()}
    data, path = decoded["endpoints"]
    return TrimmedData(models=models, endpoints=(data, path))
