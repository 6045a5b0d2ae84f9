"""Per-key request limits over sliding windows: at most N requests in any second and M in any day.

Exact sliding windows (the times of the requests admitted in each window are kept, at most N + M per
key): the 101st request within any one second is refused, and so is the 10,001st within any 24 hours,
however the requests fall around a clock boundary. A refused request does not count. Retry-After is
when the oldest admitted request leaves the full window, in whole seconds rounded up.

The clock is injectable (tests step a day without waiting for one). Limits are per gateway process.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

SECOND = 1.0
DAY = 86_400.0


@dataclass(frozen=True)
class Decision:
    allowed: bool
    window: str = ""  # "second" or "day" when refused
    retry_after: int = 0


@dataclass
class _Windows:
    second: deque[float] = field(default_factory=deque)
    day: deque[float] = field(default_factory=deque)


class RateLimiter:
    def __init__(self, per_second: int, per_day: int, clock: Callable[[], float] = time.time) -> None:
        self.per_second = per_second
        self.per_day = per_day
        self._clock = clock
        self._keys: dict[str, _Windows] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> Decision:
        now = self._clock()
        with self._lock:
            windows = self._keys.setdefault(key, _Windows())
            _expire(windows.second, now - SECOND)
            _expire(windows.day, now - DAY)
            if len(windows.day) >= self.per_day:
                return Decision(False, "day", _retry_after(windows.day[0] + DAY - now))
            if len(windows.second) >= self.per_second:
                return Decision(False, "second", _retry_after(windows.second[0] + SECOND - now))
            windows.second.append(now)
            windows.day.append(now)
            return Decision(True)


def _expire(times: deque[float], before: float) -> None:
    while times and times[0] <= before:
        times.popleft()


def _retry_after(seconds: float) -> int:
    return max(1, math.ceil(seconds))
