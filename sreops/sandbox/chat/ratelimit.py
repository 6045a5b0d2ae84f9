"""Token-bucket rate limiting for the chat stand-ins, with an injectable clock.

Every limit the stand-ins enforce (Slack's ~1 message/s per channel, Teams Workflows' ~4 requests/s,
the Bot Framework's 50 requests/s per app) is a token bucket: ``burst`` requests may go through at
once, then one more every ``1 / rate`` seconds. A refused request does not consume a token and is
told how long to wait (``Retry-After``).

The clock is a plain ``Callable[[], float]`` (monotonic seconds), so tests can use a
:class:`ManualClock` and never sleep.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]


class ManualClock:
    """A clock that only moves when told to: ``clock()`` reads it, ``advance(s)`` moves it."""

    def __init__(self, start: float = 1_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        with self._lock:
            self._now += seconds


@dataclass(frozen=True)
class RateLimit:
    """``rate`` requests per second on average, with bursts of up to ``burst`` requests."""

    rate: float
    burst: int

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError(f"invalid rate limit: rate={self.rate}, burst={self.burst}")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: float = 0.0

    @property
    def retry_after_header(self) -> str:
        """The ``Retry-After`` value real services send: whole seconds, at least 1."""
        return str(max(1, math.ceil(self.retry_after)))


class KeyedRateLimiter:
    """One token bucket per key (a channel, a webhook, an app id). Thread-safe."""

    def __init__(self, limit: RateLimit, clock: Clock = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill time)
        self._lock = threading.Lock()

    def acquire(self, key: str) -> Decision:
        """Take one token for ``key`` if there is one; else say how long until there will be."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.limit.burst), now))
            tokens = min(float(self.limit.burst), tokens + max(0.0, now - last) * self.limit.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return Decision(allowed=True)
            self._buckets[key] = (tokens, now)
            return Decision(allowed=False, retry_after=(1.0 - tokens) / self.limit.rate)

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
