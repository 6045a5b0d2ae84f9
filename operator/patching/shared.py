"""Reads that serve every PatchPolicy of an account x region, made once per interval and shared.

- `windows`: DescribeMaintenanceWindows, every window of the region by id. A policy's resync compares its
  window's entry with the spec (the cheap drift signal for the window), and the look for window executions
  reads each window's NextExecutionTime from it.
- `fleet`: the managed instances with their tags and patch states, from which each policy counts the
  compliance of the instances it targets.
- window executions: DescribeMaintenanceWindowExecutions is per window, so it is the one read that cannot be
  shared; it is made only when the window's NextExecutionTime in the listing differs from the one seen when its
  executions were last read (a scheduled time has passed, or the schedule changed). Each new value is followed
  by two reads one interval apart, so an execution that AWS records a moment after moving the time on is still
  found. Kept in memory: after a restart every window is read twice again.

Answers are kept for `ttl_seconds` (the resync interval), keyed by (account, region): the first policy that
needs one after it expires fetches it, with its own credentials, while the others wait for that fetch.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from sreops.operator.aws import ssm_patching as ssm_api
from sreops.operator.aws.cache import Clock, TtlCache
from sreops.operator.aws.clients import Access, ClientFactory
from sreops.operator.patching.compliance import ManagedInstance, read_fleet

Key = tuple[str, str]  # (account, region)
Windows = dict[str, dict[str, Any]]
LOOKS_PER_CHANGE = 2
_NOT_LISTED = "<not listed>"  # a window created after the listing was read, or deleted


@dataclass(frozen=True)
class ExecutionLook:
    """A due read of one window's executions; hand it back with `executions_read` once they are handled."""

    key: tuple[str, str, str]  # (account, region, window id)
    next_execution: str


@dataclass(frozen=True)
class _Looked:
    next_execution: str
    times: int


class SharedReads:
    def __init__(self, factory: ClientFactory, ttl_seconds: float, clock: Clock = time.monotonic) -> None:
        self._factory = factory
        self.clock = clock
        self._windows: TtlCache[Key, Windows] = TtlCache(ttl_seconds, self._now)
        self._fleets: TtlCache[Key, tuple[ManagedInstance, ...]] = TtlCache(ttl_seconds, self._now)
        self._lock = threading.Lock()
        self._looked: dict[tuple[str, str, str], _Looked] = {}

    def _now(self) -> float:
        return self.clock()  # looked up on each call, so a benchmark can swap the clock

    def windows(self, access: Access, account: str, region: str) -> Windows:
        ssm = self._factory.client("ssm", region, access)
        return self._windows.get((account, region), lambda: ssm_api.list_windows(ssm))

    def windows_reader(self, access: Access, account: str, region: str) -> Callable[[], Windows]:
        """`windows` for later: a resync reads the listing only once it needs it."""
        return partial(self.windows, access, account, region)

    def fleet(self, access: Access, account: str, region: str) -> tuple[ManagedInstance, ...]:
        def fetch() -> tuple[ManagedInstance, ...]:
            return read_fleet(self._factory.client("ssm", region, access), self._factory.client("ec2", region, access))

        return self._fleets.get((account, region), fetch)

    def executions_due(self, access: Access, account: str, region: str, window_id: str) -> ExecutionLook | None:
        """A look to make at the window's executions, or None when none can have started since the last ones."""
        listed = self.windows(access, account, region).get(window_id)
        next_execution = _NOT_LISTED if listed is None else str(listed.get("NextExecutionTime") or "")
        key = (account, region, window_id)
        with self._lock:
            looked = self._looked.get(key)
        if looked is not None and looked.next_execution == next_execution and looked.times >= LOOKS_PER_CHANGE:
            return None
        return ExecutionLook(key, next_execution)

    def executions_read(self, look: ExecutionLook) -> None:
        with self._lock:
            looked = self._looked.get(look.key)
            same = looked is not None and looked.next_execution == look.next_execution
            self._looked[look.key] = _Looked(look.next_execution, looked.times + 1 if looked and same else 1)
