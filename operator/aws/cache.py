"""A small thread-safe cache for AWS reads that many handlers share.

kopf runs sync handlers in a thread pool, so many policies can ask for the same read at once: the first caller
for a key fetches it, every other caller for that key waits for that fetch (one in-flight fetch per key) and
gets its answer, or its error. Answers are kept for `ttl_seconds`; errors are not kept, so the next caller
after a failure fetches again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
Clock = Callable[[], float]


@dataclass(frozen=True)
class _Entry(Generic[V]):
    value: V
    expires: float


class TtlCache(Generic[K, V]):
    def __init__(self, ttl_seconds: float, clock: Clock = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._entries: dict[K, _Entry[V]] = {}
        self._in_flight: dict[K, Future[V]] = {}

    def peek(self, key: K) -> V | None:
        """The cached answer for `key` if there is a fresh one; never fetches."""
        with self._lock:
            entry = self._entries.get(key)
            return entry.value if entry is not None and self.clock() < entry.expires else None

    def get(self, key: K, fetch: Callable[[], V]) -> V:
        """The cached answer for `key`, or what `fetch()` returns (called by one caller at a time per key)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and self.clock() < entry.expires:
                return entry.value
            flight = self._in_flight.get(key)
            leader = flight is None
            if flight is None:
                flight = self._in_flight[key] = Future()
        if not leader:
            return flight.result()  # raises the leader's error, as concurrent.futures does for every waiter
        try:
            value = fetch()
        except BaseException as exc:
            with self._lock:
                del self._in_flight[key]
            flight.set_exception(exc)
            raise
        with self._lock:
            self._entries[key] = _Entry(value, self.clock() + self.ttl_seconds)
            del self._in_flight[key]
        flight.set_result(value)
        return value

    def forget(self, key: K) -> None:
        """Drops the cached answer for `key` (a fetch in flight still completes and is kept)."""
        with self._lock:
            self._entries.pop(key, None)
