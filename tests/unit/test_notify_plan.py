"""What a Notifier sends next: unsettled events of selected resources, singles within the rate limit, the rest
folded into one digest; a burst of 500 is all delivered, none twice."""

from __future__ import annotations

import copy
import logging
from typing import Any

from sreops.operator.api import NotifierSpec, parse_spec
from sreops.operator.notify.delivery import Delivery, Destinations
from sreops.operator.notify.ledger import Entry, Ledger
from sreops.operator.notify.plan import DIGEST_EVENTS, RateLimiter, all_keys, batch, digest_lines, due


def _notifier(**spec: Any) -> NotifierSpec:
    return parse_spec(NotifierSpec, {"slack": {"channel": "#sre", "tokenSecretRef": {"name": "s", "key": "t"}}, **spec})


def _failed_run(n: int, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "kind": "PatchRun",
        "metadata": {"name": f"run-{n}", "namespace": "prod", "uid": f"u-{n}", "labels": labels or {}},
        "status": {
            "startedAt": "2026-12-01T10:00:00Z",
            "finishedAt": "2026-12-01T10:05:00Z",
            "conditions": [
                {"type": "Failed", "status": "True", "reason": "Failed", "lastTransitionTime": "2026-12-01T10:05:00Z"}
            ],
        },
    }


def test_baseline_then_only_new_events_are_due() -> None:
    spec = _notifier(events=["RunFailed"])
    old = [_failed_run(n) for n in range(3)]
    ledger = Ledger()
    ledger.baseline(all_keys(spec, old), "t")
    assert due(spec, old, ledger) == []
    new = _failed_run(9)
    assert [o.key for o in due(spec, [*old, new], ledger)] == ["u-9/RunFailed/end"]
    ledger.set("u-9/RunFailed/end", Entry("pending", "t"))
    assert [o.key for o in due(spec, [*old, new], ledger)] == ["u-9/RunFailed/end"]  # pending: checked, then resent
    ledger.set("u-9/RunFailed/end", Entry("sent", "t", ts="1.0"))
    assert due(spec, [*old, new], ledger) == []


def test_a_burst_of_500_is_all_delivered_none_twice() -> None:
    spec = _notifier(events=["RunFailed"], rateLimit={"perMinute": 20})
    runs = [_failed_run(n) for n in range(500)]
    ledger = Ledger()
    limiter = RateLimiter(spec.rate_limit.per_minute)
    delivered: list[str] = []
    messages_per_minute: dict[int, int] = {}
    now = 0.0
    while pending := due(spec, runs, ledger):
        b = batch(pending, limiter, now)
        sent = b.single + [o for d in b.digests for o in d]
        assert all(len(d) <= DIGEST_EVENTS for d in b.digests)  # each digest shows every event it holds
        for o in sent:
            ledger.set(o.key, Entry("sent", str(now)))
        delivered += [o.key for o in sent]
        minute = int(now // 60)
        messages_per_minute[minute] = messages_per_minute.get(minute, 0) + len(b.single) + len(b.digests)
        now = limiter.next_free(now + 1)
    assert sorted(delivered) == sorted(f"u-{n}/RunFailed/end" for n in range(500))
    assert len(set(delivered)) == 500
    assert max(messages_per_minute.values()) <= 20
    assert sum(messages_per_minute.values()) == 20  # 20 digests of 25, in the first minute


def test_just_over_the_limit_sends_singles_and_one_small_digest() -> None:
    runs = [_failed_run(n) for n in range(21)]
    b = batch(due(_notifier(events=["RunFailed"]), runs, Ledger()), RateLimiter(20), 0.0)
    assert (len(b.single), [len(d) for d in b.digests]) == (19, [2])


def test_progress_updates_are_not_limited_and_digest_lines_are_bounded() -> None:
    limiter = RateLimiter(1)
    running = {
        "kind": "PatchRun",
        "metadata": {"name": "r", "namespace": "prod", "uid": "u", "labels": {}},
        "status": {"startedAt": "2026-12-01T10:00:00Z", "instances": {"total": 2, "inProgress": 2}},
    }
    pending = due(_notifier(), [running], Ledger())
    b = batch(pending, limiter, 0.0)
    assert [o.type for o in b.single] == ["RunStarted"] and [o.type for o in b.updates] == ["RunProgress"]
    b2 = batch(pending, limiter, 1.0)
    assert b2.single == [] and [o.type for o in b2.updates] == ["RunProgress"]
    many = due(_notifier(), [_failed_run(n) for n in range(30)], Ledger())
    lines = digest_lines(many)
    assert len(lines) == 21 and lines[-1].startswith("and ")


class _MemoryStore:
    """The ledger ConfigMap's contract (load, save at a version) in memory."""

    namespace, notifier = "prod", "sre"

    def __init__(self) -> None:
        self.saved: Ledger | None = None
        self.writes = 0

    def load(self) -> tuple[Ledger, str | None]:
        if self.saved is None:
            return Ledger(), None
        return copy.deepcopy(self.saved), str(self.writes)

    def save(self, ledger: Ledger, version: str | None) -> str:
        self.writes += 1
        self.saved = copy.deepcopy(ledger)
        return str(self.writes)


def test_changing_what_a_notifier_selects_takes_a_new_baseline_but_keeps_sending_news() -> None:
    """Widening a selector (here: a label dropped) does not replay what the newly selected resources already
    show; an event after the change is sent. A ledger is the same whatever the destinations are."""
    store = _MemoryStore()
    web = [_failed_run(n, {"team": "web"}) for n in range(2)]
    db = [_failed_run(n, {"team": "db"}) for n in range(2, 4)]
    narrow = _notifier(events=["RunFailed"], selector={"kinds": ["PatchRun"], "matchLabels": {"team": "web"}})
    log = logging.getLogger("test")
    Delivery(store, narrow, Destinations(), log).step([*web, *db])  # type: ignore[arg-type]
    late = _failed_run(8, {"team": "web"})
    assert Delivery(store, narrow, Destinations(), log).step([*web, *db, late]).sent == 1  # type: ignore[arg-type]

    wide = _notifier(events=["RunFailed"], selector={"kinds": ["PatchRun"]})
    wider = Delivery(store, wide, Destinations(), log)  # type: ignore[arg-type]
    assert wider.step([*web, *db, late]).sent == 0  # the db runs' failures are history to this Notifier
    assert wider.step([*web, *db, late, _failed_run(9, {"team": "db"})]).sent == 1
    again = Delivery(store, wide, Destinations(), log)  # type: ignore[arg-type]  # a restart: same selection
    assert again.step([*web, *db, late, _failed_run(9, {"team": "db"}), _failed_run(10)]).sent == 1


def test_totals_live_in_the_ledger_so_a_crash_before_the_status_write_loses_no_count() -> None:
    """status.sent is shown from the ledger's totals, saved in the same write as the entries they count: a
    process killed after confirming an event but before writing status still counts it once."""
    store = _MemoryStore()
    spec = _notifier(events=["RunFailed"], selector={"kinds": ["PatchRun"]})
    log = logging.getLogger("test")
    Delivery(store, spec, Destinations(), log, carried=(5, 1)).step([])  # type: ignore[arg-type]
    first = Delivery(store, spec, Destinations(), log, carried=(5, 1))  # type: ignore[arg-type]
    assert first.step([_failed_run(1)]).sent == 1
    assert first.totals == (6, 1) and first.last_sent is not None
    # Killed here: status still says 5. The next process reads 6 from the ledger, and sends nothing again.
    again = Delivery(store, spec, Destinations(), log, carried=(5, 1))  # type: ignore[arg-type]
    assert again.totals == (6, 1)
    assert again.step([_failed_run(1)]).sent == 0 and again.totals == (6, 1)
