"""TtlCache (reads shared between handler threads) and the per-access account id it keeps for STS."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from sreops.operator.aws import sts
from sreops.operator.aws.cache import TtlCache
from sreops.operator.aws.clients import OWN_CREDENTIALS, Access, ClientFactory


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Fetches:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> str:
        self.count += 1
        return f"answer {self.count}"


def test_one_fetch_serves_every_caller_until_the_ttl_passes() -> None:
    clock, fetch = Clock(), Fetches()
    cache: TtlCache[tuple[str, str], str] = TtlCache(ttl_seconds=300, clock=clock)
    assert cache.get(("a", "us-west-2"), fetch) == "answer 1"
    clock.now += 299
    assert cache.get(("a", "us-west-2"), fetch) == "answer 1"
    assert fetch.count == 1
    assert cache.get(("a", "us-east-1"), fetch) == "answer 2"  # another key is another read
    clock.now += 1
    assert cache.get(("a", "us-west-2"), fetch) == "answer 3"
    assert fetch.count == 3


def test_errors_are_not_kept() -> None:
    cache: TtlCache[str, str] = TtlCache(ttl_seconds=300, clock=Clock())
    fetch = Fetches()

    def failing() -> str:
        raise RuntimeError("throttled")

    with pytest.raises(RuntimeError, match="throttled"):
        cache.get("k", failing)
    assert cache.get("k", fetch) == "answer 1"  # the next caller fetches again


def test_concurrent_callers_wait_for_the_one_fetch_in_flight() -> None:
    cache: TtlCache[str, str] = TtlCache(ttl_seconds=300, clock=Clock())
    started, release = threading.Event(), threading.Event()
    fetch = Fetches()

    def slow() -> str:
        started.set()
        release.wait(10)
        return fetch()

    answers: list[str] = []
    leader = threading.Thread(target=lambda: answers.append(cache.get("k", slow)))
    leader.start()
    assert started.wait(10)
    waiters = [threading.Thread(target=lambda: answers.append(cache.get("k", slow))) for _ in range(5)]
    for t in waiters:
        t.start()
    release.set()
    for t in [leader, *waiters]:
        t.join(10)
    assert answers == ["answer 1"] * 6
    assert fetch.count == 1


def test_callers_waiting_on_a_failed_fetch_get_its_error_and_the_next_one_fetches() -> None:
    cache: TtlCache[str, str] = TtlCache(ttl_seconds=300, clock=Clock())
    started, release = threading.Event(), threading.Event()

    def failing() -> str:
        started.set()
        release.wait(10)
        raise RuntimeError("throttled")

    errors: list[str] = []

    def call() -> None:
        try:
            cache.get("k", failing)
        except RuntimeError as exc:
            errors.append(str(exc))

    leader = threading.Thread(target=call)
    leader.start()
    assert started.wait(10)
    waiter = threading.Thread(target=call)
    waiter.start()
    release.set()
    for t in (leader, waiter):
        t.join(10)
    assert errors == ["throttled", "throttled"]
    assert cache.get("k", Fetches()) == "answer 1"


class FakeSts:
    def __init__(self) -> None:
        self.calls = 0

    def get_caller_identity(self) -> dict[str, str]:
        self.calls += 1
        return {"Account": "111122223333"}


class Factory(ClientFactory):
    """A client factory whose STS client is a fake (one per access, as the real one caches them)."""

    def __init__(self) -> None:
        super().__init__(sts_region="us-west-2")
        self.fakes: dict[Access, FakeSts] = {}

    def client(self, service: str, region: str, access: Access = OWN_CREDENTIALS) -> Any:
        assert service == "sts"
        return self.fakes.setdefault(access, FakeSts())


def test_the_account_id_is_asked_once_per_access_and_forgotten_with_its_clients() -> None:
    factory = Factory()
    role = Access(role_arn="arn:aws:iam::111122223333:role/sreops", external_id="x")
    for _ in range(3):
        assert sts.account_id(factory, OWN_CREDENTIALS, "us-west-2") == "111122223333"
        assert sts.account_id(factory, role, "us-east-1") == "111122223333"
    assert (factory.fakes[OWN_CREDENTIALS].calls, factory.fakes[role].calls) == (1, 1)
    factory.forget(role)
    sts.account_id(factory, role, "us-east-1")
    assert (factory.fakes[OWN_CREDENTIALS].calls, factory.fakes[role].calls) == (1, 2)
    # A caller that verifies the credentials (the AWSAccount controller) asks every time.
    sts.account_id(factory, role, "us-east-1", fresh=True)
    assert factory.fakes[role].calls == 3
