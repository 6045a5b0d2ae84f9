"""Leader election on a coordination.k8s.io/v1 Lease, with client-go's semantics (tools/leaderelection).

`LeaderElector.try_acquire_or_renew` is client-go's `tryAcquireOrRenew`, step for step:
1. the leader whose observed lease is still valid updates it optimistically (with the resourceVersion it saw
   last; a 409 falls through to the slow path);
2. otherwise the Lease is read, and created if absent;
3. a record held by someone else is respected until `observed time + leaseDurationSeconds` has passed, where the
   observed time is *our* clock when we last saw the record change (never the holder's renewTime: clocks of
   two machines differ, their rates do not);
4. else it is taken over (leaseTransitions + 1) or renewed (acquireTime and transitions kept).

Fencing (what client-go leaves to the caller): `may_act()` holds only while the last successful renewal
started less than `renew_deadline` ago on a monotonic clock. A standby takes over no earlier than
`lease_duration` after it saw that renewal, so a leader that stops acting at `renew_deadline` is out
`lease_duration - renew_deadline` (5 s by default) before anyone else starts. A paused process (SIGSTOP) finds,
when resumed, that the monotonic clock moved on while it slept, and so may not act. Every clock is injected.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol

log = logging.getLogger("sreops.leader")

# client-go's defaults for controllers (kube-controller-manager, controller-runtime).
LEASE_DURATION = 15.0
RENEW_DEADLINE = 10.0
RETRY_PERIOD = 2.0
JITTER_FACTOR = 1.2  # client-go's JitterFactor for the acquire loop


class ElectionConfigError(ValueError):
    """Durations that cannot give a safe election (client-go refuses the same)."""


@dataclass(frozen=True)
class ElectionConfig:
    lease_name: str
    namespace: str
    identity: str
    lease_duration: float = LEASE_DURATION
    renew_deadline: float = RENEW_DEADLINE
    retry_period: float = RETRY_PERIOD

    def __post_init__(self) -> None:
        # client-go NewLeaderElector: leaseDuration > renewDeadline > JitterFactor * retryPeriod, all > 0.
        if self.lease_duration <= self.renew_deadline:
            raise ElectionConfigError("lease duration must be greater than the renew deadline")
        if self.renew_deadline <= JITTER_FACTOR * self.retry_period:
            raise ElectionConfigError(f"renew deadline must be greater than {JITTER_FACTOR} x the retry period")
        if self.retry_period <= 0 or self.lease_duration < 1:
            raise ElectionConfigError("retry period must be positive and the lease duration at least 1 s")
        if not self.identity:
            raise ElectionConfigError("identity must not be empty")


def default_identity(hostname: str) -> str:
    """client-go's convention: the host (the pod's name) and a random suffix, unique per process."""
    return f"{hostname}_{uuid.uuid4()}"


@dataclass(frozen=True)
class LeaderRecord:
    """A Lease's spec, as client-go's LeaderElectionRecord."""

    holder_identity: str
    lease_duration_seconds: int
    acquire_time: datetime | None
    renew_time: datetime | None
    lease_transitions: int = 0


@dataclass(frozen=True)
class Observed:
    record: LeaderRecord
    resource_version: str


class LeaseConflictError(Exception):
    """409: the Lease changed since it was read (or was created meanwhile)."""


class LeaseStore(Protocol):
    """The Lease lock (client-go's resourcelock.LeaseLock)."""

    def get(self) -> Observed | None: ...  # None: no Lease
    def create(self, record: LeaderRecord) -> str: ...  # the new resourceVersion
    def update(self, record: LeaderRecord, resource_version: str) -> str: ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


class LeaderElector:
    """One candidate's view of one Lease. Thread-safe: the election loop writes, handler threads read."""

    def __init__(
        self,
        config: ElectionConfig,
        store: LeaseStore,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.config = config
        self.store = store
        self._clock = clock
        self._wall = wall_clock
        self._lock = threading.Lock()
        self._observed: Observed | None = None
        self._observed_at = 0.0  # our monotonic clock when the observed record last changed
        self._renewed_at: float | None = None  # when our last successful acquire/renew was *sent*

    # -- what others ask ----------------------------------------------------------------------------
    @property
    def identity(self) -> str:
        return self.config.identity

    def is_leader(self) -> bool:
        with self._lock:
            return self._observed is not None and self._observed.record.holder_identity == self.identity

    def holder(self) -> str:
        with self._lock:
            return "" if self._observed is None else self._observed.record.holder_identity

    def may_act(self) -> bool:
        """Leader, and the last successful renewal started less than renew_deadline ago."""
        with self._lock:
            leading = self._observed is not None and self._observed.record.holder_identity == self.identity
            fresh = self._renewed_at is not None and self._clock() - self._renewed_at < self.config.renew_deadline
            return leading and fresh

    def seconds_since_renewal(self) -> float | None:
        with self._lock:
            return None if self._renewed_at is None else self._clock() - self._renewed_at

    # -- one step of client-go's tryAcquireOrRenew --------------------------------------------------
    def try_acquire_or_renew(self) -> bool:
        started = self._clock()
        now = self._wall()
        desired = LeaderRecord(
            holder_identity=self.identity,
            lease_duration_seconds=int(self.config.lease_duration),
            acquire_time=now,
            renew_time=now,
        )
        # 1. The fast path: renew the record we hold, assuming nobody changed it since.
        with self._lock:
            observed, valid = self._observed, self._valid(started)
        if observed is not None and observed.record.holder_identity == self.identity and valid:
            record = replace(
                desired,
                acquire_time=observed.record.acquire_time,
                lease_transitions=observed.record.lease_transitions,
            )
            try:
                rv = self.store.update(record, observed.resource_version)
            except Exception as exc:  # noqa: BLE001 - client-go logs and falls back to the slow path
                log.info("optimistic lease renewal failed (%s); reading the lease", exc)
            else:
                self._observe(Observed(record, rv), started, ours=True)
                return True
        # 2. Read (or create) the record.
        try:
            current = self.store.get()
        except Exception as exc:  # noqa: BLE001 - an unreachable API server is a failed attempt, not a crash
            log.warning("reading lease %s/%s failed: %s", self.config.namespace, self.config.lease_name, exc)
            return False
        if current is None:
            try:
                rv = self.store.create(desired)
            except Exception as exc:  # noqa: BLE001 - someone else created it first, or the server is away
                log.info("creating lease %s failed: %s", self.config.lease_name, exc)
                return False
            self._observe(Observed(desired, rv), started, ours=True)
            return True
        # 3. Someone's record: note when we saw it change, respect it while it is valid.
        with self._lock:
            if self._observed is None or self._observed.record != current.record:
                self._observed, self._observed_at = current, started
            else:
                self._observed = current  # same record, maybe a new resourceVersion
            holder = current.record.holder_identity
            if holder and holder != self.identity and self._valid(started):
                return False
        # 4. Take it over or renew it.
        if holder == self.identity:
            record = replace(
                desired,
                acquire_time=current.record.acquire_time,
                lease_transitions=current.record.lease_transitions,
            )
        else:
            record = replace(desired, lease_transitions=current.record.lease_transitions + 1)
        try:
            rv = self.store.update(record, current.resource_version)
        except Exception as exc:  # noqa: BLE001 - a 409 means someone else won this round
            log.info("updating lease %s failed: %s", self.config.lease_name, exc)
            return False
        if holder != self.identity:
            log.info("acquired lease %s/%s (was %r)", self.config.namespace, self.config.lease_name, holder or None)
        self._observe(Observed(record, rv), started, ours=True)
        return True

    def release(self) -> bool:
        """Gives the lease up (client-go ReleaseOnCancel): holder cleared, duration 1 s, so a standby takes it
        at its next retry. Only if we still hold it."""
        with self._lock:
            observed = self._observed
            self._renewed_at = None  # from now on we may not act, whatever the answer
        if observed is None or observed.record.holder_identity != self.identity:
            return False
        now = self._wall()
        record = LeaderRecord("", 1, now, now, observed.record.lease_transitions)
        try:
            rv = self.store.update(record, observed.resource_version)
        except Exception as exc:  # noqa: BLE001 - the lease then simply expires
            log.info("releasing lease %s failed: %s", self.config.lease_name, exc)
            return False
        with self._lock:
            self._observed, self._observed_at = Observed(record, rv), self._clock()
        return True

    def _valid(self, now: float) -> bool:
        """client-go isLeaseValid: observed time + the record's duration is after now (call with the lock)."""
        if self._observed is None:
            return False
        return self._observed_at + self._observed.record.lease_duration_seconds > now

    def _observe(self, observed: Observed, started: float, *, ours: bool) -> None:
        with self._lock:
            self._observed, self._observed_at = observed, started
            if ours:
                self._renewed_at = started
