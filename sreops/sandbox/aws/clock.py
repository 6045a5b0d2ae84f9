"""The simulated clock: real time scaled by `speed`, plus what tests add with `advance`."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class SimClock:
    """Seconds since the epoch in simulated time.

    `speed=0` freezes time (only `advance` moves it): the tests use that, so nothing depends on
    how fast the machine is.
    """

    def __init__(self, start: datetime | None = None, speed: float = 1.0) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self._lock = threading.Lock()
        self._base = (start or datetime.now(UTC)).timestamp()
        self._real0 = time.monotonic()
        self._speed = speed
        self._offset = 0.0

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> float:
        with self._lock:
            return self._base + (time.monotonic() - self._real0) * self._speed + self._offset

    def now_dt(self) -> datetime:
        return datetime.fromtimestamp(self.now(), UTC)

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds
        return self.now()

    def set_speed(self, speed: float) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        with self._lock:
            # Rebase so that changing speed does not make time jump.
            now_real = time.monotonic()
            self._base += (now_real - self._real0) * self._speed
            self._real0 = now_real
            self._speed = speed
