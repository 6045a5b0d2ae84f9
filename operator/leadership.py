"""Running the election for the operator process: stand by until the Lease is ours, keep renewing it, and stop
the process the moment it may no longer act.

- Standby: the process is up (health and metrics answer) but kopf is not started, so nothing is watched,
  reconciled, written to AWS or sent.
- Leader: kopf runs; the Lease is renewed every retry period (client-go's renew loop) on a thread of its own.
- Fencing, twice: `Fence.check()` runs before every AWS call, every Kubernetes write of our client and every
  notification, and refuses (and ends the process) once `may_act()` is false; a watchdog thread checks the
  same every 100 ms, so a leader that cannot renew exits before renew_deadline has passed by more than that,
  whatever kopf is doing. A process resumed after SIGSTOP is stopped by whichever check runs first. Exiting
  (code 75) rather than stopping kopf in place: the supervisor (Deployment, or the sandbox) restarts it as a
  fresh standby, with no handler thread left half-way through a write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sreops.operator.leader_election import JITTER_FACTOR, LeaderElector

log = logging.getLogger("sreops.leader")
EXIT_LOST_LEADERSHIP = 75  # EX_TEMPFAIL: restart me
WATCHDOG_INTERVAL = 0.1


class NotLeaderError(RuntimeError):
    """A write was refused because this process does not hold a fresh lease."""


def hard_exit(reason: str) -> None:
    """Ends the process at once: no handler, thread or finalizer gets to write anything more."""
    log.critical("stopping: %s", reason)
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stderr.flush()
    os._exit(EXIT_LOST_LEADERSHIP)


class Fence:
    """The check before every side effect. Without an elector (leader election off) it always passes."""

    def __init__(self, elector: LeaderElector | None = None, on_stale: Callable[[str], None] = hard_exit) -> None:
        self.elector = elector
        self._on_stale = on_stale

    def check(self) -> None:
        if self.elector is None or self.elector.may_act():
            return
        since = self.elector.seconds_since_renewal()
        reason = (
            "not the leader"
            if since is None
            else f"lease last renewed {since:.1f}s ago (renew deadline {self.elector.config.renew_deadline:g}s)"
        )
        self._on_stale(f"refusing to act: {reason}")
        raise NotLeaderError(reason)


class Leadership:
    def __init__(
        self,
        elector: LeaderElector,
        on_lost: Callable[[str], None] = hard_exit,
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        self.elector = elector
        self._on_lost = on_lost
        self._on_change = on_change
        self._led = False
        self._stop = threading.Event()
        self._watchdog: threading.Thread | None = None
        self._renewer: threading.Thread | None = None
        self._elector_lock = threading.Lock()  # a renewal and the release never interleave
        # A thread of its own: kopf runs sync handlers on the loop's default executor, and a renewal queued
        # behind handlers busy with AWS would miss the renew deadline.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lease")

    async def _attempt(self) -> bool:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self.elector.try_acquire_or_renew)

    async def acquire(self, stop: asyncio.Event | None = None) -> bool:
        """Tries every retry period (jittered like client-go's JitterUntil) until the lease is ours; False if
        `stop` was set first."""
        config = self.elector.config
        log.info("standing by for lease %s/%s as %s", config.namespace, config.lease_name, self.elector.identity)
        while stop is None or not stop.is_set():
            if await self._attempt():
                self._led = True
                if self._on_change is not None:
                    self._on_change(True)
                log.info("leading: lease %s/%s", config.namespace, config.lease_name)
                return True
            wait = config.retry_period * random.uniform(1.0, JITTER_FACTOR)  # noqa: S311 - jitter, not security
            if stop is None:
                await asyncio.sleep(wait)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=wait)
        return False

    def start_renewing(self) -> None:
        """Renews every retry period on a thread of its own, and ends the process when the lease is someone
        else's or stale. Not an asyncio task: under load kopf's event loop (watch streams, its handler patches)
        got to a renewal too late, and a leader with work to do lost a lease nobody else wanted."""
        config = self.elector.config

        def renew() -> None:
            while not self._stop.wait(config.retry_period):
                with self._elector_lock:
                    if self._stop.is_set():
                        return  # released meanwhile
                    renewed = self.elector.try_acquire_or_renew()
                if not renewed and not self.elector.is_leader():
                    self._lost(f"lease {config.lease_name} is now held by {self.elector.holder()!r}")
                    return
                if not self.elector.may_act():
                    self._lost(f"could not renew lease {config.lease_name} within {config.renew_deadline:g}s")
                    return

        self._renewer = threading.Thread(target=renew, name="lease-renewal", daemon=True)
        self._renewer.start()

    def start_watchdog(self) -> None:
        def watch() -> None:
            while not self._stop.wait(WATCHDOG_INTERVAL):
                if self._led and not self.elector.may_act():
                    self._lost("lease not renewed within the renew deadline")
                    return

        self._watchdog = threading.Thread(target=watch, name="lease-watchdog", daemon=True)
        self._watchdog.start()

    def _lost(self, reason: str) -> None:
        if self._on_change is not None:
            self._on_change(False)
        self._on_lost(reason)

    def release(self) -> None:
        """A clean stop (SIGTERM) hands the lease over at once instead of letting it expire."""
        self._stop.set()
        self._led = False
        with self._elector_lock:
            released = self.elector.release()
        if released:
            log.info("released lease %s", self.elector.config.lease_name)
        self._executor.shutdown(wait=False)
