"""The handler pool: queued changes run before queued background resyncs, through kopf's own invocation."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import kopf
import pytest
from kopf._core.actions.invocation import invoke

from sreops.operator.executor import (
    PriorityExecutor,
    background,
    expedite,
    forget_deleted,
    is_background,
    running_background,
)


def _blocked(executor: PriorityExecutor, workers: int) -> threading.Event:
    """Occupies every worker until the returned event is set."""
    release = threading.Event()
    started = threading.Barrier(workers + 1)

    def hold() -> None:
        started.wait()
        release.wait()

    for _ in range(workers):
        executor.submit(hold)
    started.wait(timeout=5)
    return release


def _recorders(order: list[str]) -> tuple[Callable[[str], None], Callable[[str], None]]:
    """A background handler and a change handler, each appending its argument to `order`."""

    @background
    def resync(name: str) -> None:
        order.append(name)

    def change(name: str) -> None:
        order.append(name)

    return resync, change


def test_queued_changes_run_before_queued_background_work_each_in_arrival_order() -> None:
    executor = PriorityExecutor(max_workers=1)
    order: list[str] = []
    resync, change = _recorders(order)

    release = _blocked(executor, 1)
    futures = [
        executor.submit(resync, "resync-1"),
        executor.submit(change, "change-1"),
        executor.submit(resync, "resync-2"),
        executor.submit(change, "change-2"),
    ]
    assert executor.queued() == (2, 2)
    release.set()
    for f in futures:
        f.result(timeout=5)
    assert order == ["change-1", "change-2", "resync-1", "resync-2"]
    executor.shutdown()


def test_kopfs_own_wrapping_is_seen_through() -> None:
    """kopf wraps a sync handler in functools.partial twice (kwargs, then its contextvars) before submitting it
    to settings.execution.executor: the mark must survive that, or every resync would count as a change."""
    executor = PriorityExecutor(max_workers=1)
    settings = kopf.OperatorSettings()
    settings.execution.executor = executor
    order: list[str] = []

    @background
    def resync(**_: Any) -> None:
        order.append("resync")

    def change(**_: Any) -> None:
        order.append("change")

    async def main() -> None:
        release = _blocked(executor, 1)
        first = asyncio.create_task(invoke(resync, settings=settings, kwargs={"x": 1}))
        await asyncio.sleep(0.05)
        second = asyncio.create_task(invoke(change, settings=settings, kwargs={"x": 1}))
        await asyncio.sleep(0.05)
        assert executor.queued() == (1, 1)
        release.set()
        await asyncio.gather(first, second)

    asyncio.run(main())
    assert order == ["change", "resync"]
    executor.shutdown()


def test_results_and_exceptions_reach_the_caller_and_threads_are_capped() -> None:
    executor = PriorityExecutor(max_workers=3)
    assert executor.submit(lambda a, b=0: a + b, 2, b=3).result(timeout=5) == 5

    def fail() -> None:
        raise LookupError("boom")

    with pytest.raises(LookupError, match="boom"):
        executor.submit(fail).result(timeout=5)
    release = _blocked(executor, 3)
    extra = executor.submit(lambda: threading.current_thread().name)
    assert executor.queued() == (1, 0)  # a fourth thread is not started
    release.set()
    assert extra.result(timeout=5).startswith("handler-")
    assert len(executor._threads) == 3
    executor.shutdown()
    with pytest.raises(RuntimeError):
        executor.submit(lambda: None)


def test_cancelled_work_does_not_run_and_shutdown_can_cancel_the_queue() -> None:
    executor = PriorityExecutor(max_workers=1)
    ran: list[int] = []
    release = _blocked(executor, 1)
    cancelled = executor.submit(ran.append, 1)
    assert cancelled.cancel()
    kept = executor.submit(ran.append, 2)
    dropped = executor.submit(ran.append, 3)
    release.set()
    kept.result(timeout=5)
    assert ran == [2] or ran == [2, 3]
    executor.shutdown(cancel_futures=True)
    assert ran in ([2], [2, 3]) and (dropped.done())


def test_marks() -> None:
    @background
    def marked() -> None: ...

    def plain() -> None: ...

    assert is_background(marked) and not is_background(plain)
    assert not is_background(lambda: None)


def test_a_thread_knows_it_runs_background_work_while_it_does() -> None:
    @background
    def resync() -> bool:
        return running_background()

    def change() -> bool:
        return running_background()

    executor = PriorityExecutor(max_workers=1)
    try:
        assert executor.submit(resync).result(timeout=5) is True
        assert executor.submit(change).result(timeout=5) is False  # the same thread, after the background work
    finally:
        executor.shutdown()
    assert not running_background()


def test_one_freed_thread_in_four_takes_background_work_while_changes_wait() -> None:
    """A long stream of changes does not starve resyncs (nor a deleted object's queued resync, which holds its
    finalizer until it has run)."""
    executor = PriorityExecutor(max_workers=1)
    order: list[str] = []
    resync, change = _recorders(order)

    release = _blocked(executor, 1)
    futures = [executor.submit(resync, f"r{n}") for n in range(3)]
    futures += [executor.submit(change, f"c{n}") for n in range(8)]
    release.set()
    for f in futures:
        f.result(timeout=5)
    assert order == ["c0", "c1", "c2", "r0", "c3", "c4", "c5", "r1", "c6", "c7", "r2"]
    executor.shutdown()


def _until(predicate: Callable[[], bool]) -> None:
    for _ in range(500):
        if predicate():
            return
        threading.Event().wait(0.01)
    raise AssertionError("not reached in 5 s")


def test_background_work_leaves_a_share_of_the_threads_to_changes() -> None:
    """Resyncs waiting for the AWS budget hold their threads far longer than changes do: picks alone would fill
    the pool with them."""
    executor = PriorityExecutor(max_workers=8)
    release = threading.Event()
    started: list[int] = []

    @background
    def resync(n: int) -> None:
        started.append(n)
        release.wait(timeout=5)

    futures = [executor.submit(resync, n) for n in range(8)]
    _until(lambda: len(started) == 6)
    # Two threads of eight are kept for changes: one runs at once, and the two resyncs left stay queued.
    assert executor.submit(lambda: "change").result(timeout=5) == "change"
    assert executor.queued() == (0, 2) and executor.background_running() == 6 and len(started) == 6
    release.set()
    for f in futures:
        f.result(timeout=5)
    assert sorted(started) == list(range(8))
    executor.shutdown()


def test_while_changes_wait_background_work_runs_on_at_most_a_quarter_of_the_threads() -> None:
    executor = PriorityExecutor(max_workers=4)
    hold_resync, hold_changes = threading.Event(), threading.Event()
    running = threading.Barrier(5)
    seen: list[tuple[int, int]] = []

    @background
    def long_resync() -> None:
        running.wait(timeout=5)
        hold_resync.wait(timeout=5)

    def long_change() -> None:
        running.wait(timeout=5)
        hold_changes.wait(timeout=5)

    @background
    def resync() -> None:
        seen.append(executor.queued())

    first = [executor.submit(long_resync)] + [executor.submit(long_change) for _ in range(3)]
    running.wait(timeout=5)
    queued = [executor.submit(resync)] + [executor.submit(lambda: None) for _ in range(8)]
    hold_changes.set()
    for f in queued[1:]:
        f.result(timeout=5)
    # One thread of four already runs a resync: the freed ones take every change first, whatever the picks.
    queued[0].result(timeout=5)
    assert seen == [(0, 0)]
    hold_resync.set()
    for f in first:
        f.result(timeout=5)
    executor.shutdown()


def test_a_deleted_objects_queued_timer_calls_go_first_and_no_longer_yield() -> None:
    """kopf keeps a deleted object's finalizer until its timers' calls have ended: queued behind other objects'
    resyncs (each waiting for the AWS budget), they held the fault suite's deletions for many minutes."""
    executor = PriorityExecutor(max_workers=1)
    settings = kopf.OperatorSettings()
    settings.execution.executor = executor
    seen: list[tuple[str, bool]] = []

    @background
    def resync(body: dict[str, Any], **_: Any) -> None:
        seen.append((body["metadata"]["name"], running_background()))

    def change(**_: Any) -> None:
        seen.append(("change", running_background()))

    def body(name: str) -> dict[str, Any]:
        return {"metadata": {"name": name, "uid": f"uid-{name}"}}

    async def main() -> None:
        release = _blocked(executor, 1)
        calls = [
            asyncio.create_task(invoke(resync, settings=settings, kwargs={"body": body(f"p{n}")})) for n in range(3)
        ]
        await asyncio.sleep(0.05)
        calls.append(asyncio.create_task(invoke(change, settings=settings, kwargs={})))
        await asyncio.sleep(0.05)
        expedite("uid-p2")  # p2 is being deleted
        assert executor.queued() == (2, 2)
        release.set()
        await asyncio.gather(*calls)

    try:
        asyncio.run(main())
    finally:
        forget_deleted("uid-p2")
        executor.shutdown()
    assert seen[0] == ("p2", False)  # first, and as change-driven work for the AWS budget
    assert seen[1:] == [("change", False), ("p0", True), ("p1", True)]
