"""Periodic work (the resync of every object, the run triggers of every policy) on its own small thread pool.

kopf runs sync handlers and timers on one FIFO thread pool. With every object's resync timer due each interval,
a round of resyncs that waits for the AWS request budget filled that pool's queue, and a change, a new run or a
deletion queued behind the whole round: in the fault suite, 400 policies resyncing against one region's budget
held 200 new PatchRuns without a first reconcile for minutes. A resync is the lowest-priority work there is (it
only catches drift), so it gets PERIODIC_THREADS threads of its own and waits for one on the event loop, where
waiting costs nothing; kopf's pool stays free for the work that objects' changes bring.

A timer waiting for a thread gives up as soon as kopf stops it: kopf never cancels a timer, it sets the timer's
`stopped` flag and keeps a deleted object's finalizer until the timer has exited.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from weakref import WeakKeyDictionary

PERIODIC_THREADS = 8
_pool = ThreadPoolExecutor(PERIODIC_THREADS, thread_name_prefix="sreops-periodic")
# One semaphore per event loop (tests run several loops in one process); it keeps waiters off the pool's queue.
_slots: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = WeakKeyDictionary()


def on_periodic_pool(fn: Callable[..., None]) -> Callable[..., Awaitable[None]]:
    """An async kopf handler that runs the sync `fn` on the periodic pool, with the context kopf set up for the
    handler (its logger's object, the events queue): what kopf itself does for a sync handler on its own pool."""

    async def run(**kwargs: Any) -> None:
        loop = asyncio.get_running_loop()
        slots = _slots.setdefault(loop, asyncio.Semaphore(PERIODIC_THREADS))
        if not await _slot_unless_stopped(slots, kwargs.get("stopped")):
            return
        try:
            context = contextvars.copy_context()
            await loop.run_in_executor(_pool, functools.partial(context.run, fn, **kwargs))
        finally:
            slots.release()

    # Not functools.wraps: kopf follows __wrapped__ to decide whether a handler is async.
    run.__name__ = run.__qualname__ = getattr(fn, "__name__", "periodic")
    return run


async def _slot_unless_stopped(slots: asyncio.Semaphore, stopped: Any) -> bool:
    """Takes a slot (True), or gives up when kopf's `stopped` flag is set first (False)."""
    if stopped is None:
        await slots.acquire()
        return True
    if stopped:
        return False
    acquiring = asyncio.ensure_future(slots.acquire())
    stopping = asyncio.ensure_future(_until(stopped))
    try:
        await asyncio.wait({acquiring, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not acquiring.done():
            acquiring.cancel()  # asyncio's Semaphore passes a slot it had granted on to the next waiter
    if acquiring.done() and not acquiring.cancelled():
        if stopped:
            slots.release()
            return False
        return True
    return False


async def _until(stopped: Any) -> None:
    await stopped.wait()  # kopf's async flag: a promise that resolves when the flag is set
