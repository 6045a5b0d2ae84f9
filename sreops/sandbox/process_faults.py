"""Process faults: the operator (or any supervised child) killed at random moments, or stopped with SIGTERM
while it has work in flight, then started again as a kubelet would.

Spec (the `--faults` grammar of fault_rules.py): `process:NAME=ACTION`, ACTION `kill:Nx` (SIGKILL N times, at
random moments of the window given to the schedule: what an OOM kill or a node failure does, no clean-up
runs) or `term:Nx` (SIGTERM: what `kubectl delete pod` or a rollout does; the process gets its grace period,
then SIGKILL). `ProcessFaults.schedule(window_s)` turns the rules into moments; `tick()`, called from the
thread that started the child (its PR_SET_PDEATHSIG is tied to that thread), fires what is due and restarts a
child that has exited.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from dataclasses import dataclass, field
from typing import Protocol

from .fault_rules import FaultRule, FaultSpecError, parse

KINDS = ("kill", "term")
TERM_GRACE_SECONDS = 30.0  # the kubelet's default terminationGracePeriodSeconds

__all__ = ["FaultSpecError", "ProcessFaults"]


class Restartable(Protocol):
    name: str

    def spawn(self) -> None: ...
    def returncode(self) -> int | None: ...
    @property
    def pid(self) -> int | None: ...


def _check_scope(left: str, right: str) -> str | None:
    return None if left == "process" else f"scope must be process:NAME, not {left}:{right}"


def parse_spec(spec: str) -> list[FaultRule]:
    rules = parse(spec, KINDS, check_scope=_check_scope)
    for rule in rules:
        if rule.remaining is None:
            raise FaultSpecError(f"{rule.describe()!r}: process faults are counts (kill:3x), not probabilities")
    return rules


@dataclass
class Fired:
    kind: str
    pid: int
    at: float
    exit_code: int | None = None


@dataclass
class ProcessFaults:
    child: Restartable
    spec: str
    seed: int = 0
    restart_delay_s: float = 1.0
    moments: list[tuple[float, str]] = field(default_factory=list)
    fired: list[Fired] = field(default_factory=list)
    _terminating: Fired | None = None
    _down_since: float | None = None

    def __post_init__(self) -> None:
        self.rules = [r for r in parse_spec(self.spec) if r.right in ("*", self.child.name)]

    def schedule(self, window_s: float, start: float | None = None) -> None:
        """Spread the rules' faults at random moments over the next `window_s` seconds."""
        rng = random.Random(self.seed)  # noqa: S311 - simulation, not security
        begin = time.monotonic() if start is None else start
        for rule in self.rules:
            for _ in range(rule.remaining or 0):
                self.moments.append((begin + rng.uniform(0, window_s), rule.kind))
        self.moments.sort()

    @property
    def pending(self) -> int:
        return len(self.moments)

    def tick(self) -> None:
        now = time.monotonic()
        code = self.child.returncode()
        if self._terminating is not None:
            if code is None and now - self._terminating.at > TERM_GRACE_SECONDS:
                self._signal(signal.SIGKILL)
            elif code is not None:
                self._terminating.exit_code = code
                self._terminating = None
        if code is not None and self._terminating is None:
            if self._down_since is None:
                self._down_since = now
            if now - self._down_since >= self.restart_delay_s:
                self._down_since = None
                self.child.spawn()
            return
        if self.moments and self.moments[0][0] <= now and code is None and self._terminating is None:
            _, kind = self.moments.pop(0)
            pid = self.child.pid
            if pid is None:
                return
            fired = Fired(kind, pid, now)
            self.fired.append(fired)
            if kind == "kill":
                self._signal(signal.SIGKILL)
                fired.exit_code = -signal.SIGKILL
            else:
                self._signal(signal.SIGTERM)
                self._terminating = fired

    def _signal(self, sig: signal.Signals) -> None:
        pid = self.child.pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
