"""The AWS request budget (per account x region x service x family, adaptive on throttling) and the Kubernetes
client budget (client-go's token bucket, 429 with Retry-After waited out), on injected clocks."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from sreops.operator import kube_budget
from sreops.operator.aws.clients import OWN_CREDENTIALS, ClientFactory
from sreops.operator.aws.ratelimit import (
    BACKGROUND_MAX_WAIT,
    MIN_RATE,
    AwsBudget,
    Rate,
    RateSpecError,
    family_of,
    parse_rates,
    scaled,
)


class Clock:
    def __init__(self) -> None:
        self.t = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


def budget(clock: Clock, rate: float = 10.0, burst: int = 5) -> AwsBudget:
    return AwsBudget({("ssm", "read"): Rate(rate, burst), ("ssm", "write"): Rate(1.0, 1)}, clock, clock.sleep)


def test_a_burst_passes_then_calls_are_spaced_at_the_rate() -> None:
    clock = Clock()
    b = budget(clock)
    waits = [b.acquire("111122223333", "us-west-2", "ssm", "DescribeMaintenanceWindows") for _ in range(8)]
    assert waits[:5] == [0.0] * 5
    assert waits[5:] == pytest.approx([0.1, 0.1, 0.1])
    assert b.waited() == pytest.approx(0.3)


class Waiter:
    """A change-driven caller, in a thread of its own, whose sleep for its token lasts until `release`."""

    def __init__(self, budget: AwsBudget) -> None:
        self.sleeping = threading.Event()
        self.release = threading.Event()
        self.thread = threading.Thread(target=budget.acquire, args=("a", "r", "ssm", "GetPatchBaseline"))

    def sleep(self) -> None:
        self.sleeping.set()
        self.release.wait(timeout=10)

    def start(self) -> None:
        self.thread.start()
        assert self.sleeping.wait(timeout=5)

    def finish(self) -> None:
        self.release.set()
        self.thread.join(timeout=5)


class Priority:
    """A read bucket of 10/s, burst 1, whose background flag is per thread; background sleeps advance the clock
    and are recorded in `pauses`, each then handed to `on_pause`; `waiter` is a change-driven caller."""

    def __init__(self, on_pause: Callable[[Priority], None] = lambda _: None) -> None:
        self.clock = Clock()
        self.role = threading.local()
        self.pauses: list[float] = []
        self.on_pause = on_pause
        self.budget = AwsBudget(
            {("ssm", "read"): Rate(10.0, 1)}, self.clock, self._sleep, is_background=self.background
        )
        self.waiter = Waiter(self.budget)

    def background(self) -> bool:
        return bool(getattr(self.role, "bg", False))

    def _sleep(self, seconds: float) -> None:
        if threading.current_thread() is self.waiter.thread:
            self.waiter.sleep()
            return
        self.pauses.append(seconds)
        self.clock.sleep(seconds)
        self.on_pause(self)

    def acquire(self) -> float:
        return self.budget.acquire("a", "r", "ssm", "GetPatchBaseline")

    def background_behind_a_waiting_change(self) -> float:
        """The burst spent, a change-driven call sleeping for the next token: a background call's wait."""
        self.acquire()
        self.waiter.start()
        self.role.bg = True
        try:
            return self.acquire()
        finally:
            self.waiter.finish()


def test_a_background_call_takes_no_token_while_a_change_driven_call_waits_for_one() -> None:
    def release_the_change_at_the_third(p: Priority) -> None:
        if len(p.pauses) == 3:
            p.waiter.finish()

    p = Priority(release_the_change_at_the_third)
    p.role.bg = True
    assert p.acquire() == 0.0  # a spare token: taken at once
    p.waiter.start()  # the burst is spent: the change-driven call sleeps for the next token
    waited = p.acquire()
    # It looked once per token's time while the change waited, and took the first spare one after it.
    assert p.pauses == pytest.approx([0.1, 0.1, 0.1])
    assert waited == pytest.approx(0.3)
    assert not p.waiter.thread.is_alive()


def test_a_background_call_waits_for_changes_at_most_a_bounded_time() -> None:
    p = Priority()
    waited = p.background_behind_a_waiting_change()
    # Then it queued with the change-driven calls: a token's time behind the one already waiting.
    assert BACKGROUND_MAX_WAIT <= waited <= BACKGROUND_MAX_WAIT + 0.3
    assert p.budget.waited() == pytest.approx(waited)


def test_a_background_call_whose_object_is_being_deleted_stops_yielding() -> None:
    def deleted(p: Priority) -> None:
        p.role.bg = False  # executor.expedite: its deletion waits for this call

    p = Priority(deleted)
    waited = p.background_behind_a_waiting_change()
    # One look, then in the queue with the change-driven calls (one token's time behind the one waiting).
    assert p.pauses[0] == pytest.approx(0.1) and waited < 1.0


def test_the_fence_is_checked_after_the_wait_for_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lease can be lost while an attempt waits for its token: that attempt is not sent."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    fenced: list[bool] = []
    sent: list[str] = []

    def lose_the_lease(_: float) -> None:
        fenced.append(True)

    def guard() -> None:
        if fenced:
            raise RuntimeError("fenced: not the leader")

    b = AwsBudget({("ssm", "read"): Rate(1.0, 1)}, sleep=lose_the_lease)
    factory = ClientFactory(sts_region="us-west-2", budget=b, guard=guard)
    ssm = factory.client("ssm", "us-west-2")

    def record(request: Any, **_: Any) -> AWSResponse:  # in place of the network
        sent.append(request.url)
        return AWSResponse(request.url, 200, {}, None)

    ssm.meta.events.register_last("before-send", record)
    b.acquire(factory.account_label(OWN_CREDENTIALS), "us-west-2", "ssm", "DescribePatchBaselines")  # the burst
    with pytest.raises(RuntimeError, match="fenced"):
        ssm.describe_patch_baselines()
    assert fenced and sent == []


def test_buckets_are_per_account_region_service_and_family() -> None:
    clock = Clock()
    b = budget(clock)
    for _ in range(5):
        b.acquire("111122223333", "us-west-2", "ssm", "GetPatchBaseline")
    # Another account, another region, and writes of the same account each have their own bucket.
    assert b.acquire("444455556666", "us-west-2", "ssm", "GetPatchBaseline") == 0.0
    assert b.acquire("111122223333", "us-east-1", "ssm", "GetPatchBaseline") == 0.0
    assert b.acquire("111122223333", "us-west-2", "ssm", "CreatePatchBaseline") == 0.0
    assert b.acquire("111122223333", "us-west-2", "ssm", "GetPatchBaseline") > 0


def test_a_throttle_cuts_the_rate_which_climbs_back_along_a_cubic_curve() -> None:
    clock = Clock()
    b = budget(clock)
    b.throttled("a", "r", "ssm", "ListTagsForResource")
    assert b.current_rate("a", "r", "ssm", "read") == pytest.approx(7.0)
    b.throttled("a", "r", "ssm", "ListTagsForResource")
    assert b.current_rate("a", "r", "ssm", "read") == pytest.approx(4.9)
    assert b.acquire("a", "r", "ssm", "ListTagsForResource") == pytest.approx(1 / 4.9)  # no saved burst after it
    # Back at the rate of the last throttle after K = cbrt(7 * 0.3 / 0.4) s, flat around it, then faster.
    k = (7.0 * 0.3 / 0.4) ** (1 / 3)
    clock.t += k - clock.slept[-1]
    assert b.current_rate("a", "r", "ssm", "read") == pytest.approx(7.0)
    clock.t += 0.5
    assert b.current_rate("a", "r", "ssm", "read") == pytest.approx(7.0 + 0.4 * 0.5**3)
    clock.t += 2.0
    assert b.current_rate("a", "r", "ssm", "read") == 10.0  # never above the configured rate
    # Scattered throttles (one every 2 s at this rate) keep it near the configured rate, not near the floor.
    for _ in range(30):
        b.throttled("a", "r", "ssm", "ListTagsForResource")
        clock.t += 2.0
        assert b.current_rate("a", "r", "ssm", "read") > 8.0


def test_families_and_overrides() -> None:
    assert family_of("DescribeInstancePatchStates") == "read"
    assert family_of("BatchGetAccountStatus") == "read"
    assert family_of("RegisterTaskWithMaintenanceWindow") == "write"
    rates = parse_rates("ssm:read=20/40, ec2:write=1/2")
    assert rates[("ssm", "read")] == Rate(20.0, 40) and rates[("ec2", "write")] == Rate(1.0, 2)
    for bad in ("ssm=1/2", "ssm:read=x/2", "ssm:other=1/1", "ssm:read=0/1"):
        with pytest.raises(RateSpecError):
            parse_rates(bad)


def test_kube_token_bucket_matches_client_go() -> None:
    clock = Clock()
    bucket = kube_budget.TokenBucket(qps=5, burst=2, clock=clock, sleep=clock.sleep)
    assert [bucket.wait() for _ in range(4)] == pytest.approx([0.0, 0.0, 0.2, 0.2])


class FakeRest:
    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(method)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def too_many(retry_after: str | None) -> ApiException:
    exc = ApiException(status=429, reason="Too Many Requests")
    exc.headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return exc


def install(answers: list[Any], guard: Any = None) -> tuple[FakeRest, Clock, list[tuple[str, float]]]:
    api = client.ApiClient()
    rest = FakeRest(answers)
    api.rest_client = rest
    clock = Clock()
    seen: list[tuple[str, float]] = []
    bucket = kube_budget.TokenBucket(100, 100, clock=clock, sleep=clock.sleep)
    kube_budget.install(api, bucket, guard=guard, observe=lambda r, s: seen.append((r, s)), sleep=clock.sleep)
    return rest, clock, seen


def test_a_429_with_retry_after_is_waited_out_and_retried() -> None:
    rest, clock, seen = install([too_many("3"), too_many("1"), "ok"])
    assert rest.request("GET", "https://k/api/v1/secrets") == "ok"
    assert clock.slept == [3.0, 1.0]
    assert seen == [("retry_after", 3.0), ("retry_after", 1.0)]


def test_a_429_without_retry_after_goes_back_to_the_caller_like_client_go() -> None:
    rest, _, _ = install([too_many(None), "ok"])
    with pytest.raises(ApiException):
        rest.request("GET", "https://k/api/v1/secrets")
    assert rest.calls == ["GET"]


def test_writes_pass_the_fence_first_reads_do_not() -> None:
    def refuse() -> None:
        raise RuntimeError("not the leader")

    rest, _, _ = install(["read"], guard=refuse)
    assert rest.request("GET", "https://k/x") == "read"
    with pytest.raises(RuntimeError):
        rest.request("PATCH", "https://k/x")
    assert rest.calls == ["GET"]


def test_a_budget_share_scales_every_rate_and_burst_for_one_of_several_processes() -> None:
    rates = {("ssm", "read"): Rate(10.0, 20), ("ssm", "write"): Rate(5.0, 10), ("sts", "read"): Rate(0.8, 1)}
    quarter = scaled(rates, 0.25)
    assert quarter[("ssm", "read")] == Rate(2.5, 5)
    assert quarter[("ssm", "write")] == Rate(1.25, 2)
    assert quarter[("sts", "read")] == Rate(MIN_RATE, 1)  # never below the floor, never a burst of 0
    assert scaled(rates, 1.0) == rates
    for wrong in (0.0, -1.0, 1.5):
        with pytest.raises(RateSpecError):
            scaled(rates, wrong)
