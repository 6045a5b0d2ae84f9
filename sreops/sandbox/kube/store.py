"""In-memory object storage with one global, increasing resourceVersion and a bounded event history.

The history plays the part of kube-apiserver's watch cache: a watch from a resourceVersion still in
the window replays what happened after it; an older one gets 410 Gone. Persistence writes the
objects and the last resourceVersion to a JSON file (debounced), so a restarted stand-in continues
the sequence instead of reusing versions clients may have cached.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .resources import GroupResource

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace or "", name)

log = logging.getLogger(__name__)
WRITE_INTERVAL_MIN = 0.5  # seconds between dumps of the state file, at least
WRITE_COST_FACTOR = 10.0  # and at least this many times what the last dump took


@dataclass(frozen=True)
class Change:
    """One stored change: ADDED, MODIFIED or DELETED, with the previous version for selector moves."""

    rv: int
    type: str
    gr: GroupResource
    obj: Obj
    old: Obj | None


Listener = Callable[[Change], None]


def key_of(obj: Obj) -> Key:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


class Store:
    def __init__(self, history_limit: int = 20_000, path: Path | None = None) -> None:
        self._objects: dict[GroupResource, dict[Key, Obj]] = {}
        self._history: deque[Change] = deque(maxlen=history_limit)
        # Watches from a resourceVersion below this cannot be served (compacted, or before a restart).
        self.compacted_rv = 0
        self.rv = 0
        self._listeners: set[Listener] = set()
        self._path = path
        self._last_dump_seconds = 0.0
        self._dirty = False
        self._writer: asyncio.Task[None] | None = None
        if path is not None and path.exists():
            self._load(path)

    # -- reading ---------------------------------------------------------------------------
    def get(self, gr: GroupResource, namespace: str, name: str) -> Obj | None:
        return self._objects.get(gr, {}).get((namespace, name))

    def items(self, gr: GroupResource, namespace: str | None = None) -> list[Obj]:
        """Objects sorted by (namespace, name), the order kube-apiserver lists them in."""
        bucket = self._objects.get(gr, {})
        keys = sorted(k for k in bucket if namespace is None or k[0] == namespace)
        return [bucket[k] for k in keys]

    def count(self, gr: GroupResource) -> int:
        return len(self._objects.get(gr, {}))

    def resources(self) -> list[GroupResource]:
        return list(self._objects)

    def all_objects(self) -> Iterator[tuple[GroupResource, Obj]]:
        for gr, bucket in list(self._objects.items()):
            for obj in list(bucket.values()):
                yield gr, obj

    def history_since(self, rv: int, gr: GroupResource) -> list[Change]:
        """The changes of one resource after `rv` (the history holds every resource's changes)."""
        return [c for c in self._history if c.rv > rv and c.gr == gr]

    # -- writing ---------------------------------------------------------------------------
    def next_rv(self) -> str:
        self.rv += 1
        return str(self.rv)

    def save(self, gr: GroupResource, obj: Obj, old: Obj | None) -> None:
        """Stores `obj` (its metadata.resourceVersion already set by the caller) and notifies."""
        self._objects.setdefault(gr, {})[key_of(obj)] = obj
        self._record(Change(int(obj["metadata"]["resourceVersion"]), "MODIFIED" if old else "ADDED", gr, obj, old))

    def remove(self, gr: GroupResource, obj: Obj) -> None:
        """Drops the object; `obj` is its final state with a fresh resourceVersion."""
        bucket = self._objects.get(gr, {})
        old = bucket.pop(key_of(obj), None)
        self._record(Change(int(obj["metadata"]["resourceVersion"]), "DELETED", gr, obj, old))

    def drop_resource(self, gr: GroupResource) -> None:
        self._objects.pop(gr, None)

    def _record(self, change: Change) -> None:
        if len(self._history) == self._history.maxlen and self._history:
            self.compacted_rv = self._history[0].rv
        self._history.append(change)
        for listener in list(self._listeners):
            listener(change)
        self._mark_dirty()

    def subscribe(self, listener: Listener) -> None:
        self._listeners.add(listener)

    def unsubscribe(self, listener: Listener) -> None:
        self._listeners.discard(listener)

    # -- persistence -----------------------------------------------------------------------
    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable state file %s: %s", path, exc)
            return
        self.rv = int(data.get("resourceVersion", 0))
        self.compacted_rv = self.rv
        for entry in data.get("resources", []):
            gr = GroupResource(entry["group"], entry["resource"])
            bucket = self._objects.setdefault(gr, {})
            for obj in entry["items"]:
                bucket[key_of(obj)] = obj

    def _mark_dirty(self) -> None:
        if self._path is None:
            return
        self._dirty = True
        if self._writer is None or self._writer.done():
            with contextlib.suppress(RuntimeError):  # no running loop: flush() at stop writes it
                self._writer = asyncio.get_running_loop().create_task(self._write_soon())

    async def _write_soon(self) -> None:
        # Debounced: a burst of writes costs one dump per interval, not one per object. The dump is of the whole
        # store and blocks the loop, so the interval grows with what the last one cost (at most a tenth of the
        # loop's time): 5,000 PatchPolicies are a 22 MB dump of 0.66 s, and with one every half second the
        # stand-in answered little else (the likeliest reason four shards lost their leases at once in a bench).
        await asyncio.sleep(max(WRITE_INTERVAL_MIN, WRITE_COST_FACTOR * self._last_dump_seconds))
        self.flush()

    async def close(self) -> None:
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        self.flush()

    def flush(self) -> None:
        if self._path is None or not self._dirty:
            return
        self._dirty = False
        data = {
            "resourceVersion": self.rv,
            "resources": [
                {"group": gr.group, "resource": gr.resource, "items": list(bucket.values())}
                for gr, bucket in self._objects.items()
                if bucket
            ],
        }
        started = time.perf_counter()
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, separators=(",", ":")))
        tmp.replace(self._path)
        self._last_dump_seconds = time.perf_counter() - started
