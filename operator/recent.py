"""A bounded memory of what this process has done: it outlives kopf's lagging view of an object (its timers are
handed the body of the last watch event, which may predate our own write)."""

from __future__ import annotations

import threading
from collections import OrderedDict


class RecentValues:
    """The last `capacity` key -> value pairs set; the oldest are forgotten first. Thread-safe: kopf's handlers
    share it."""

    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self._values: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> object | None:
        with self._lock:
            return self._values.get(key)

    def set(self, key: str, value: object = True) -> None:
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.capacity:
                self._values.popitem(last=False)
