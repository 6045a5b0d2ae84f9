"""Objects that left this process's view without being deleted: relabelled to another shard.

The API server ends a label-selected watch's view of an object that stops matching with a DELETED event (the
object is not deleted). kopf then forgets the object but keeps its timers and daemons running on the last body
it saw (it stops them only for a deletionTimestamp), so without this the old shard would go on resyncing a
policy the new shard now owns. A watch handler on every sharded kind records such departures by uid; every
reconcile, the run-triggers timer and the notifier's delivery loop ask `gone()` first and do nothing for a
departed object. An object that comes back (relabelled again) is an ADDED event and is ours again.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any


class Departures:
    def __init__(self) -> None:
        self._uids: set[str] = set()
        self._lock = threading.Lock()

    def observe(self, event_type: str | None, body: Mapping[str, Any]) -> None:
        meta = body.get("metadata") or {}
        uid = str(meta.get("uid") or "")
        if not uid:
            return
        with self._lock:
            if event_type == "DELETED" and not meta.get("deletionTimestamp"):
                self._uids.add(uid)
            elif event_type == "DELETED":
                self._uids.discard(uid)  # really deleted: nothing of it runs any more
            else:
                self._uids.discard(uid)

    def gone(self, body: Mapping[str, Any]) -> bool:
        uid = str((body.get("metadata") or {}).get("uid") or "")
        with self._lock:
            return uid in self._uids
