"""The token bucket behind every 429 of the chat stand-ins, driven by a manual clock."""

from __future__ import annotations

import pytest

from sreops.sandbox.chat.ratelimit import KeyedRateLimiter, ManualClock, RateLimit


def test_burst_then_one_per_interval() -> None:
    """Slack: ~1 message/s per channel with short bursts; a refused call learns when to retry."""
    clock = ManualClock()
    limiter = KeyedRateLimiter(RateLimit(rate=1.0, burst=3), clock)
    assert [limiter.acquire("C1").allowed for _ in range(3)] == [True, True, True]
    refused = limiter.acquire("C1")
    assert not refused.allowed
    assert refused.retry_after == pytest.approx(1.0)
    assert refused.retry_after_header == "1"
    clock.advance(0.5)
    assert not limiter.acquire("C1").allowed
    clock.advance(0.5)
    assert limiter.acquire("C1").allowed


def test_keys_are_independent() -> None:
    """Slack's limit is per channel: a busy channel does not throttle another one."""
    limiter = KeyedRateLimiter(RateLimit(rate=1.0, burst=1), ManualClock())
    assert limiter.acquire("C1").allowed
    assert not limiter.acquire("C1").allowed
    assert limiter.acquire("C2").allowed


def test_retry_after_is_whole_seconds_and_at_least_one() -> None:
    """Retry-After carries whole seconds (HTTP delta-seconds); real services never send 0."""
    limiter = KeyedRateLimiter(RateLimit(rate=4.0, burst=4), ManualClock())
    for _ in range(4):
        limiter.acquire("hook")
    refused = limiter.acquire("hook")
    assert refused.retry_after == pytest.approx(0.25)
    assert refused.retry_after_header == "1"
    slow = KeyedRateLimiter(RateLimit(rate=0.4, burst=1), ManualClock())
    slow.acquire("k")
    assert slow.acquire("k").retry_after_header == "3"


def test_refill_is_capped_at_burst() -> None:
    """A long idle period allows one burst, not an unbounded backlog."""
    clock = ManualClock()
    limiter = KeyedRateLimiter(RateLimit(rate=1.0, burst=2), clock)
    clock.advance(3600)
    assert [limiter.acquire("k").allowed for _ in range(3)] == [True, True, False]


def test_invalid_limits_and_backwards_clock_are_refused() -> None:
    with pytest.raises(ValueError):
        RateLimit(rate=0, burst=1)
    with pytest.raises(ValueError):
        RateLimit(rate=1, burst=0)
    with pytest.raises(ValueError):
        ManualClock().advance(-1)
