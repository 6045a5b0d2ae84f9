"""A bounded set of keys this process has acted on: a memory that outlives kopf's lagging view of an object
(its timers are handed the body of the last watch event, which may predate our own write)."""

from __future__ import annotations

import threading
from collections import OrderedDict


class RecentKeys:
    """The last `capacity` keys added; the oldest are forgotten first. Thread-safe: kopf's handlers share it."""

    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, key: str) -> None:
        with self._lock:
            self._keys[key] = None
            self._keys.move_to_end(key)
            while len(self._keys) > self.capacity:
                self._keys.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._keys

    def __len__(self) -> int:
        with self._lock:
            return len(self._keys)


class RecentValues:
    """The last `capacity` key -> value pairs set; the oldest are forgotten first. Thread-safe."""

    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self._values: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> object | None:
        with self._lock:
            return self._values.get(key)

    def set(self, key: str, value: object) -> None:
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.capacity:
                self._values.popitem(last=False)
