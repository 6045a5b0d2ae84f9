"""Periodic work (the resync of every object, the run triggers of every policy) on its own small thread pool.

kopf runs sync handlers and timers on one FIFO thread pool. With every object's resync timer due each interval,
a round of resyncs that waits for the AWS request budget filled that pool's queue, and a change, a new run or a
deletion queued behind the whole round: in the fault suite, 400 policies resyncing against one region's budget
held 200 new PatchRuns without a first reconcile for minutes. A resync is the lowest-priority work there is (it
only catches drift), so it gets PERIODIC_THREADS threads of its own and waits for them on the event loop, where
waiting costs nothing; kopf's pool stays free for the work that objects' changes bring.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

PERIODIC_THREADS = 8
_pool = ThreadPoolExecutor(PERIODIC_THREADS, thread_name_prefix="sreops-periodic")


def on_periodic_pool(fn: Callable[..., None]) -> Callable[..., Awaitable[None]]:
    """An async kopf handler that runs the sync `fn` on the periodic pool, with the context kopf set up for the
    handler (its logger's object, the events queue): what kopf itself does for a sync handler on its own pool."""

    async def run(**kwargs: Any) -> None:
        context = contextvars.copy_context()
        await asyncio.get_running_loop().run_in_executor(_pool, functools.partial(context.run, fn, **kwargs))

    # Not functools.wraps: kopf follows __wrapped__ to decide whether a handler is async.
    run.__name__ = run.__qualname__ = getattr(fn, "__name__", "periodic")
    return run
