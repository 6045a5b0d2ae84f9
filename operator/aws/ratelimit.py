"""The AWS request budget: one token bucket per account x region x service x API family, shared by every
controller of the process (it lives in the ClientFactory), taken before every attempt botocore sends
(retries included), and adaptive: a throttling answer cuts that bucket's rate to 0.7 of what it was, which then
climbs back along a cubic curve (CUBIC, RFC 8312, with its constants, as botocore's adaptive mode does): near
the rate that was throttled within a couple of seconds, cautiously around it, then faster, never above the
configured rate. An earlier additive recovery (the configured rate over 30 s) collapsed under scattered
throttles: the full fault suite's 10% random throttling held every SSM bucket near 1 call/s, and 200 policies
took 17 minutes to apply.

Why not botocore's `adaptive` retry mode alone (measured in bench/bench_shards.py): its limiter is per client
object and starts unlimited, so it only slows down after AWS has already throttled; it has no configured
ceiling, cannot be shared across our per-account clients, and reports nothing. We keep `standard` retries
and put this budget in front.

Families: `read` (Describe*, Get*, List*, BatchGet*) and `write` (everything else). Defaults sit below AWS's
published quotas: EC2's request token buckets (docs: "Request throttling for the Amazon EC2 API") refill
non-mutating actions at 20/s (burst 100) and mutating ones at 5/s (burst 200); SSM and Inspector publish
per-API quotas in Service Quotas whose lowest common defaults are tens a second; STS's AssumeRole allows
600/s per account. Overrides: `SREOPS_AWS_RATES`, e.g. `ssm:read=20/40,ssm:write=5/10` (rate/burst).

Drift checks wait behind changes here too, as they do for a thread (executor.py): a call made from background
work takes a token only when no change-driven call of its bucket is waiting for one, or once it has waited
BACKGROUND_MAX_WAIT: 200 Ready policies' resyncs should not take turns in every bucket while the last policies
of an apply are still being created (the fault suite's throttled apply; docs/design.md says what was measured).

AWS's quotas are per account and region, but this budget is per process: N shards acting in the same account
and region would spend N budgets against one quota. `--aws-budget-share` (SREOPS_AWS_BUDGET_SHARE) scales every
rate and burst of a process; the chart sets it to 1/(number of shards) for each shard, the sandbox likewise.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

MIN_RATE = 0.5
CUBIC_SCALE = 0.4  # C of RFC 8312 (requests/s per s^3)
CUBIC_BETA = 0.7  # the rate kept at a throttle
READ_PREFIXES = ("Describe", "Get", "List", "BatchGet")
# A background call waits at most this long for change-driven callers before it queues with them: it may hold
# its object's lock (base.ObjectLocks), and that object's own change would otherwise wait on a stream of others.
BACKGROUND_MAX_WAIT = 30.0


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: int


DEFAULT_RATES: dict[tuple[str, str], Rate] = {
    ("ssm", "read"): Rate(10.0, 20),
    ("ssm", "write"): Rate(5.0, 10),
    ("ec2", "read"): Rate(15.0, 50),
    ("ec2", "write"): Rate(4.0, 20),
    ("inspector2", "read"): Rate(8.0, 16),
    ("inspector2", "write"): Rate(4.0, 8),
    ("sts", "read"): Rate(50.0, 100),
    ("sts", "write"): Rate(50.0, 100),
}
FALLBACK_RATE = Rate(5.0, 10)


class RateSpecError(ValueError):
    pass


def parse_rates(text: str) -> dict[tuple[str, str], Rate]:
    """`service:family=rate/burst,...` over the defaults."""
    rates = dict(DEFAULT_RATES)
    for item in (i.strip() for i in text.split(",")):
        if not item:
            continue
        try:
            key, value = item.split("=", 1)
            service, family = key.split(":", 1)
            per_second, burst = value.split("/", 1)
            rate = Rate(float(per_second), int(burst))
        except ValueError:
            raise RateSpecError(f"AWS rate {item!r}: want service:read|write=RATE/BURST, e.g. ssm:read=20/40") from None
        if family not in ("read", "write") or rate.per_second <= 0 or rate.burst < 1:
            raise RateSpecError(f"AWS rate {item!r}: family read or write, rate > 0, burst >= 1")
        rates[(service, family)] = rate
    return rates


def scaled(rates: Mapping[tuple[str, str], Rate], share: float) -> dict[tuple[str, str], Rate]:
    """Each rate and burst times `share` (0 < share <= 1): the part of an account and region's quota one of
    several processes acting there may use (the shards of one installation, `--aws-budget-share`)."""
    if not 0 < share <= 1:
        raise RateSpecError(f"AWS budget share {share:g}: want a fraction in (0, 1]")
    return {k: Rate(max(r.per_second * share, MIN_RATE), max(1, round(r.burst * share))) for k, r in rates.items()}


def family_of(operation: str) -> str:
    return "read" if operation.startswith(READ_PREFIXES) else "write"


class _Bucket:
    def __init__(self, rate: Rate, now: float) -> None:
        self.base = rate
        self.rate = rate.per_second
        self.tokens = float(rate.burst)
        self.at = now
        self.throttled_at: float | None = None
        self.rate_at_throttle = rate.per_second  # W_max of RFC 8312
        self.k = 0.0  # seconds after the throttle at which the curve is back at rate_at_throttle
        self.waiting = 0  # change-driven callers sleeping for a token of this bucket

    def take_time(self, now: float) -> None:
        """Tokens and rate as of `now`."""
        self.tokens = min(float(self.base.burst), self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.throttled_at is not None:
            cubic = CUBIC_SCALE * (now - self.throttled_at - self.k) ** 3 + self.rate_at_throttle
            self.rate = min(self.base.per_second, max(MIN_RATE, cubic))
            if self.rate >= self.base.per_second:
                self.throttled_at = None

    def take(self, now: float) -> float:
        self.take_time(now)
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate

    def throttled(self, now: float) -> None:
        self.take_time(now)
        self.rate_at_throttle = self.rate
        self.k = (self.rate_at_throttle * (1 - CUBIC_BETA) / CUBIC_SCALE) ** (1 / 3)
        self.rate = max(MIN_RATE, self.rate * CUBIC_BETA)  # multiplicative decrease
        self.tokens = min(self.tokens, 0.0)  # and no saved burst
        self.throttled_at = now


Key = tuple[str, str, str, str]  # account, region, service, family
WaitObserver = Callable[[str, str, float], None]  # service, account, seconds


class AwsBudget:
    def __init__(
        self,
        rates: Mapping[tuple[str, str], Rate] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: WaitObserver | None = None,
        is_background: Callable[[], bool] = lambda: False,
    ) -> None:
        self.rates = dict(DEFAULT_RATES if rates is None else rates)
        self._clock = clock
        self._sleep = sleep
        self._on_wait = on_wait
        self._is_background = is_background
        self._lock = threading.Lock()
        self._buckets: dict[Key, _Bucket] = {}
        self._local = threading.local()  # seconds waited by the current thread since reset_waited()

    def _bucket(self, key: Key, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self.rates.get((key[2], key[3]), FALLBACK_RATE), now)
        return bucket

    def acquire(self, account: str, region: str, service: str, operation: str) -> float:
        """Waits for a token of the call's bucket; returns the seconds waited."""
        key = (account, region, service, family_of(operation))
        if self._is_background():
            delay = self._behind_changes(key)
        else:
            with self._lock:
                now = self._clock()
                bucket = self._bucket(key, now)
                delay = bucket.take(now)
                if delay > 0:
                    bucket.waiting += 1
            if delay > 0:
                try:
                    self._sleep(delay)
                finally:
                    with self._lock:
                        bucket.waiting -= 1
        if delay > 0:
            self._local.waited = getattr(self._local, "waited", 0.0) + delay
            if self._on_wait is not None:
                self._on_wait(service, account, delay)
        return delay

    def _behind_changes(self, key: Key) -> float:
        """A background call's token: a spare one (none waited for by a change-driven call), looked for once
        per token's time, or after BACKGROUND_MAX_WAIT one in the queue with the others. Returns the wait."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                bucket = self._bucket(key, now)
                bucket.take_time(now)
                # Or no longer background: its object is being deleted (executor.expedite).
                spare = bucket.waiting == 0 and bucket.tokens >= 1
                if spare or waited >= BACKGROUND_MAX_WAIT or not self._is_background():
                    delay = bucket.take(now)
                    break
                pause = 1.0 / bucket.rate
            self._sleep(pause)
            waited += pause
        if delay > 0:
            self._sleep(delay)
        return waited + delay

    def throttled(self, account: str, region: str, service: str, operation: str) -> None:
        key = (account, region, service, family_of(operation))
        with self._lock:
            self._bucket(key, self._clock()).throttled(self._clock())

    def current_rate(self, account: str, region: str, service: str, family: str) -> float:
        with self._lock:
            now = self._clock()
            bucket = self._bucket((account, region, service, family), now)
            bucket.take_time(now)
            return bucket.rate

    def reset_waited(self) -> None:
        self._local.waited = 0.0

    def waited(self) -> float:
        """Seconds the current thread waited for tokens since reset_waited()."""
        return float(getattr(self._local, "waited", 0.0))
