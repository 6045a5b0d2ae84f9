"""Periodic work runs on its own thread pool, as an async kopf handler (operator/controllers/periodic.py)."""

from __future__ import annotations

import asyncio
import contextvars
import threading

from kopf._core.actions.invocation import is_async_fn

from sreops.operator.controllers.periodic import on_periodic_pool

CURRENT = contextvars.ContextVar("current", default="unset")


def test_runs_on_the_periodic_threads_with_the_handlers_context_and_kwargs() -> None:
    seen: dict[str, object] = {}

    def resync(*, body: dict[str, str], **_: object) -> None:
        seen.update(thread=threading.current_thread().name, current=CURRENT.get(), body=body)

    handler = on_periodic_pool(resync)
    assert is_async_fn(handler)  # kopf awaits it on the loop instead of giving it one of its own threads
    assert handler.__name__ == "resync"

    async def main() -> None:
        CURRENT.set("pp-1")  # kopf sets its logging context in a context variable the same way
        await handler(body={"name": "pp-1"}, logger=None)

    asyncio.run(main())
    assert seen == {"thread": seen["thread"], "current": "pp-1", "body": {"name": "pp-1"}}
    assert str(seen["thread"]).startswith("sreops-periodic")
