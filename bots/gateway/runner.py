"""Where commands run: blocking action calls in a thread pool, and the work that outlives a request (Slack's
delayed replies), tracked so a graceful shutdown can wait for it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

log = logging.getLogger("sreops.gateway")
T = TypeVar("T")


class Runner:
    def __init__(self, workers: int = 16) -> None:
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gateway-action")
        self._tasks: set[asyncio.Task[None]] = set()

    async def call(self, fn: Callable[[], T]) -> T:
        """`fn()` in the pool (Kubernetes' client blocks)."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn)

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "background work failed", extra={"task": task.get_name(), "error": type(task.exception()).__name__}
            )

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def drain(self, timeout: float) -> None:
        """Waits up to `timeout` for background work, then cancels what is left."""
        if self._tasks:
            _, late = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in late:
                task.cancel()
            if late:
                log.warning("cancelled background work at shutdown", extra={"count": len(late)})
        self.executor.shutdown(wait=False, cancel_futures=True)
