"""The operator's Kubernetes client budget, as client-go does it (rest.Config QPS/Burst and the 429 handling of
rest.Request): a token bucket in front of every request of our `kubernetes` ApiClient, and answers 429 (or 5xx)
with a Retry-After header waited out and retried, up to 10 times (client-go's maxRetries). A 429 without
Retry-After is returned to the caller, as client-go does. Writes (anything but GET) pass the fence first.

kopf's own requests (watches, its status and annotation patches) do not use this client: kopf waits out a 429's
Retry-After itself (`networking.enforce_retry_after`), and their rate is bounded by kopf's worker pool.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

log = logging.getLogger("sreops.kube")
MAX_RETRIES = 10  # client-go rest.Request maxRetries
MAX_RETRY_AFTER = 60.0  # never sleep longer than this on one answer
TOO_MANY_REQUESTS = 429


class TokenBucket:
    """client-go's flowcontrol.NewTokenBucketRateLimiter: `qps` tokens a second, at most `burst` saved."""

    def __init__(
        self,
        qps: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.qps = qps
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._at = clock()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Takes a token, possibly from the future: the seconds to wait before using it."""
        with self._lock:
            now = self._clock()
            self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.qps)
            self._at = now
            self._tokens -= 1
            return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    def wait(self) -> float:
        delay = self.reserve()
        if delay > 0:
            self._sleep(delay)
        return delay


def retry_after(exc: ApiException) -> float | None:
    """Seconds from a Retry-After header (integer seconds, as the API server sends), else None."""
    headers = exc.headers or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, min(float(value), MAX_RETRY_AFTER))
    except ValueError:
        return None


Observer = Callable[[str, float], None]  # event ("wait" | "retry_after"), seconds


def install(
    api: client.ApiClient,
    bucket: TokenBucket,
    guard: Callable[[], None] | None = None,
    observe: Observer | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Wraps the ApiClient's REST client in place (its GET/POST/... helpers all call `request`)."""
    rest = api.rest_client
    inner: Callable[..., Any] = rest.request

    def request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if guard is not None and method.upper() != "GET":
            guard()
        for attempt in range(MAX_RETRIES + 1):
            waited = bucket.wait()
            if waited and observe is not None:
                observe("wait", waited)
            try:
                return inner(method, url, *args, **kwargs)
            except ApiException as exc:
                delay = retry_after(exc)
                retryable = exc.status == TOO_MANY_REQUESTS or (exc.status or 0) >= 500
                if delay is None or not retryable or attempt == MAX_RETRIES:
                    raise
                log.info("Kubernetes API answered %s to %s %s; retrying in %.0fs", exc.status, method, url, delay)
                if observe is not None:
                    observe("retry_after", delay)
                sleep(delay)
        raise AssertionError("unreachable")

    rest.request = request  # type: ignore[method-assign]  # an instance attribute shadows the method
