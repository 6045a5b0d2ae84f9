"""Where kopf keeps its bookkeeping: annotations under `kopf.sreops.io/`, off the `sreops.io/` prefix.

kopf ignores, when it compares an object with the last handled state, every annotation under a prefix it
manages. While its storage used `sreops.io/`, a change of `sreops.io/run-now` or `sreops.io/scan-now` never
reached an update or field handler. Its own prefix fixes that.

Objects handled by an earlier version carry the old keys (`sreops.io/last-handled-configuration`, one
progress annotation per handler, the `sreops.io/kopf-managed` marker). These storages read the new key
first and fall back to the old one, so an upgrade does not take every object for new and run its creation
handlers again; whenever they write, they write the new key and remove the old ones.
"""

from __future__ import annotations

from typing import Any

import kopf

PREFIX = "kopf.sreops.io"
LEGACY_PREFIX = "sreops.io"
DIFFBASE_KEY = "last-handled-configuration"
# Operator memory kept in annotations (not user intent): writing them must not count as a change.
LEGACY_MARKERS = ("kopf-managed", "touch-dummy")
MEMORY_ANNOTATIONS = ("sreops.io/run-now-handled", "sreops.io/seen-window-executions")


def handled_annotation(body: kopf.Body, key: str) -> str | None:
    """The value annotation `key` had when kopf last handled the object to the end (from its diff base), None
    if it had none or the object was never handled."""
    essence = _DIFFBASE.fetch(body=body) or {}
    value = ((essence.get("metadata") or {}).get("annotations") or {}).get(key)
    return None if value is None else str(value)


def _remove_annotation(body: kopf.Body, patch: kopf.Patch, key: str) -> None:
    if key in body.metadata.annotations and key not in patch.metadata.annotations:
        patch.metadata.annotations[key] = None


class DiffBaseStorage(kopf.AnnotationsDiffBaseStorage):
    def __init__(self) -> None:
        super().__init__(
            prefix=PREFIX,
            key=DIFFBASE_KEY,
            ignored_fields=[("metadata", "annotations", key) for key in MEMORY_ANNOTATIONS],
        )
        self.legacy = kopf.AnnotationsDiffBaseStorage(prefix=LEGACY_PREFIX, key=DIFFBASE_KEY)

    def fetch(self, *, body: kopf.Body) -> Any:
        return super().fetch(body=body) or self.legacy.fetch(body=body)

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: Any) -> None:
        super().store(body=body, patch=patch, essence=essence)
        legacy_keys = [
            *self.legacy.make_keys(DIFFBASE_KEY, body=body),
            *(f"{LEGACY_PREFIX}/{k}" for k in LEGACY_MARKERS),
        ]
        for key in legacy_keys:
            _remove_annotation(body, patch, key)


class ProgressStorage(kopf.AnnotationsProgressStorage):
    """Progress records per handler id. The legacy key of a handler id is `sreops.io/<id>`, so no handler id
    may be the name of one of our own annotations (`run-now`, `scan-now`, ...): purging would delete it."""

    def __init__(self) -> None:
        super().__init__(prefix=PREFIX)
        self.legacy = kopf.AnnotationsProgressStorage(prefix=LEGACY_PREFIX)

    def fetch(self, *, key: Any, body: kopf.Body) -> Any:
        return super().fetch(key=key, body=body) or self.legacy.fetch(key=key, body=body)

    def store(self, *, key: Any, record: Any, body: kopf.Body, patch: kopf.Patch) -> None:
        super().store(key=key, record=record, body=body, patch=patch)
        self.legacy.purge(key=key, body=body, patch=patch)

    def purge(self, *, key: Any, body: kopf.Body, patch: kopf.Patch) -> None:
        super().purge(key=key, body=body, patch=patch)
        self.legacy.purge(key=key, body=body, patch=patch)


_DIFFBASE = DiffBaseStorage()  # read for every watch event (references.request_pending): built once
