"""Periodic work runs on its own thread pool, as an async kopf handler (operator/controllers/periodic.py)."""

from __future__ import annotations

import asyncio
import contextvars
import threading

from kopf._cogs.aiokits.aioenums import FlagSetter
from kopf._core.actions.invocation import is_async_fn
from kopf._core.intents.stoppers import DaemonStoppingReason

from sreops.operator.controllers.periodic import PERIODIC_THREADS, on_periodic_pool

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


def test_a_timer_waiting_for_a_thread_exits_when_kopf_stops_it_and_the_slots_stay_whole() -> None:
    # kopf never cancels a timer: it sets `stopped` and keeps a deleted object's finalizer until the timer exits.
    release = threading.Event()
    ran: list[str] = []

    def busy(**_: object) -> None:
        release.wait(10)

    def resync(*, name: str, **_: object) -> None:
        ran.append(name)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        holders = [asyncio.ensure_future(on_periodic_pool(busy)()) for _ in range(PERIODIC_THREADS)]
        await asyncio.sleep(0.1)  # every slot is taken
        stopper: FlagSetter[DaemonStoppingReason] = FlagSetter()
        waiting = asyncio.ensure_future(on_periodic_pool(resync)(name="deleted", stopped=stopper.async_waiter))
        await asyncio.sleep(0.1)
        assert not waiting.done()
        stopper.set(DaemonStoppingReason.RESOURCE_DELETED)
        await asyncio.wait_for(waiting, timeout=2)  # out at once, though every thread is still busy
        release.set()
        await asyncio.gather(*holders)
        # All PERIODIC_THREADS slots are free again: as many timers run at once as there are threads.
        started = threading.Barrier(PERIODIC_THREADS + 1, timeout=5)
        batch = [asyncio.ensure_future(on_periodic_pool(lambda **_: started.wait())()) for _ in range(PERIODIC_THREADS)]
        await loop.run_in_executor(None, started.wait)
        await asyncio.gather(*batch)
        await on_periodic_pool(resync)(name="live", stopped=FlagSetter().async_waiter)

    asyncio.run(main())
    assert ran == ["live"]
