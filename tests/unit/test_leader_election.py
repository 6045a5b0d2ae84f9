"""The election state machine (client-go's tryAcquireOrRenew) and its fencing, on an injected clock and an
in-memory Lease with the API server's optimistic concurrency (a write at a stale resourceVersion is a 409)."""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import UTC, datetime, timedelta

import pytest

from sreops.operator.leader_election import (
    ElectionConfig,
    ElectionConfigError,
    LeaderElector,
    LeaderRecord,
    LeaseConflictError,
    Observed,
)
from sreops.operator.leadership import Fence, Leadership, NotLeaderError
from sreops.operator.main import stand_by, stop_on_signals


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def wall(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=self.t)


class MemoryLease:
    """One Lease: get/create/update with resourceVersions; `down` makes every call fail like a lost server."""

    def __init__(self) -> None:
        self.record: LeaderRecord | None = None
        self.rv = 0
        self.down = False
        self.writes = 0

    def _check(self) -> None:
        if self.down:
            raise ConnectionError("API server unreachable")

    def get(self) -> Observed | None:
        self._check()
        return None if self.record is None else Observed(self.record, str(self.rv))

    def create(self, record: LeaderRecord) -> str:
        self._check()
        if self.record is not None:
            raise LeaseConflictError("exists")
        self.record, self.rv = record, self.rv + 1
        self.writes += 1
        return str(self.rv)

    def update(self, record: LeaderRecord, resource_version: str) -> str:
        self._check()
        if resource_version != str(self.rv):
            raise LeaseConflictError("stale resourceVersion")
        self.record, self.rv = record, self.rv + 1
        self.writes += 1
        return str(self.rv)


def elector(name: str, lease: MemoryLease, clock: Clock) -> LeaderElector:
    config = ElectionConfig("sreops-operator", "sreops", name)  # 15 s / 10 s / 2 s
    return LeaderElector(config, lease, clock=clock, wall_clock=clock.wall)


def test_the_first_candidate_creates_the_lease_and_the_second_waits() -> None:
    lease, clock = MemoryLease(), Clock()
    a, b = elector("a", lease, clock), elector("b", lease, clock)
    assert a.try_acquire_or_renew()
    assert lease.record is not None
    assert (lease.record.holder_identity, lease.record.lease_duration_seconds, lease.record.lease_transitions) == (
        "a",
        15,
        0,
    )
    assert lease.record.acquire_time == lease.record.renew_time == clock.wall()
    assert a.is_leader() and a.may_act()
    assert not b.try_acquire_or_renew()
    assert b.holder() == "a" and not b.may_act()


def test_renewal_keeps_acquire_time_and_transitions_and_moves_renew_time() -> None:
    lease, clock = MemoryLease(), Clock()
    a = elector("a", lease, clock)
    a.try_acquire_or_renew()
    acquired = clock.wall()
    clock.t += 2
    assert a.try_acquire_or_renew()
    assert lease.record is not None
    assert lease.record.acquire_time == acquired
    assert lease.record.renew_time == clock.wall()
    assert lease.record.lease_transitions == 0


def test_a_standby_takes_over_only_a_full_lease_duration_after_it_last_saw_the_record_change() -> None:
    lease, clock = MemoryLease(), Clock()
    a, b = elector("a", lease, clock), elector("b", lease, clock)
    a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()  # b sees a's record at t0
    clock.t += 14.9
    assert not b.try_acquire_or_renew()  # still valid: observed + 15 s is after now
    clock.t += 0.2
    assert b.try_acquire_or_renew()
    assert lease.record is not None
    assert lease.record.holder_identity == "b"
    assert lease.record.lease_transitions == 1
    assert lease.record.acquire_time == clock.wall()


def test_the_observed_time_is_the_standbys_own_clock_not_the_holders_renew_time() -> None:
    """A holder whose clock is an hour behind still holds: only changes of the record count, timed locally."""
    lease, clock = MemoryLease(), Clock()
    b = elector("b", lease, clock)
    lease.record = LeaderRecord("a", 15, clock.wall() - timedelta(hours=1), clock.wall() - timedelta(hours=1))
    lease.rv = 7
    assert not b.try_acquire_or_renew()
    clock.t += 10
    assert not b.try_acquire_or_renew()


def test_a_stale_write_loses_the_race_with_a_409() -> None:
    lease, clock = MemoryLease(), Clock()
    a, b = elector("a", lease, clock), elector("b", lease, clock)
    a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    clock.t += 16
    # Both see the expired lease at the same resourceVersion; b writes first, a's write is then stale.
    assert b.try_acquire_or_renew()
    lease_rv_after_b = lease.rv
    assert not a.try_acquire_or_renew()  # fast path 409, then slow path: held by b and valid
    assert lease.rv == lease_rv_after_b
    assert not a.is_leader() and not a.may_act()


def test_the_leader_may_act_only_until_the_renew_deadline_after_its_last_successful_renewal() -> None:
    lease, clock = MemoryLease(), Clock()
    a = elector("a", lease, clock)
    a.try_acquire_or_renew()
    lease.down = True
    clock.t += 2
    assert not a.try_acquire_or_renew()
    assert a.may_act()  # 2 s since the last renewal
    clock.t += 7.9
    assert a.may_act()
    clock.t += 0.2
    assert not a.may_act()  # 10.1 s: past the renew deadline, before anyone could take over (15 s)
    assert a.is_leader()  # it still believes the record is its own; fencing does not need to ask


def test_a_paused_leader_cannot_act_when_resumed_and_finds_the_lease_taken() -> None:
    """SIGSTOP: no code runs, the monotonic clock moves on; on resume the first check fails."""
    lease, clock = MemoryLease(), Clock()
    a, b = elector("a", lease, clock), elector("b", lease, clock)
    a.try_acquire_or_renew()
    b.try_acquire_or_renew()
    clock.t += 30  # paused for 30 s; b takes over meanwhile
    assert b.try_acquire_or_renew()
    assert not a.may_act()
    stale: list[str] = []
    fence = Fence(a, on_stale=stale.append)
    with pytest.raises(NotLeaderError):
        fence.check()
    assert stale and "30.0s ago" in stale[0]
    assert not a.try_acquire_or_renew()
    assert not a.is_leader() and a.holder() == "b"


def test_release_hands_over_at_the_next_retry() -> None:
    lease, clock = MemoryLease(), Clock()
    a, b = elector("a", lease, clock), elector("b", lease, clock)
    a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    assert a.release()
    assert lease.record is not None
    assert (lease.record.holder_identity, lease.record.lease_duration_seconds) == ("", 1)
    assert not a.may_act()
    clock.t += 1.1  # one second after b saw the released record (it sees it now)
    assert b.try_acquire_or_renew()  # an empty holder is free at once
    assert lease.record.holder_identity == "b" and lease.record.lease_transitions == 1


def test_a_fence_without_election_always_passes() -> None:
    Fence().check()


@pytest.mark.parametrize(
    ("duration", "deadline", "retry"),
    [(10, 10, 2), (15, 2.4, 2), (15, 10, 0), (0.5, 0.4, 0.1)],
)
def test_unsafe_durations_are_refused_like_client_go(duration: float, deadline: float, retry: float) -> None:
    with pytest.raises(ElectionConfigError):
        ElectionConfig("l", "ns", "me", duration, deadline, retry)


def test_a_sigterm_during_the_winning_lease_request_is_kept_for_the_caller() -> None:
    """The process's SIGTERM handler lives from its start (main.stop_on_signals): a signal that lands while the
    request that wins the lease is in flight is kept in the stop event, which main checks before it starts kopf
    and hands to kopf as its stop flag: the process stops either way. (Handlers installed only while standing by
    were removed as acquire() returned, before the loop had run them: the signal was lost, and kopf, started
    without it, ran until the kubelet's SIGKILL.)"""

    async def scenario() -> bool:
        stop = stop_on_signals()
        lease = MemoryLease()
        create = lease.create

        def create_while_terminated(record: LeaderRecord) -> str:
            os.kill(os.getpid(), signal.SIGTERM)  # the kubelet's SIGTERM, mid-request
            return create(record)

        lease.create = create_while_terminated  # type: ignore[method-assign]
        leadership = Leadership(elector("a", lease, Clock()), on_lost=lambda reason: None)
        await stand_by(leadership, stop)
        await asyncio.sleep(0.05)  # kopf's start-up: the loop gets control and runs the handler
        leadership.release()
        return stop.is_set()

    assert asyncio.run(scenario())
