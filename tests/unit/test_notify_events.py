"""The notification Event: pure data filled by the caller, validated, round-tripped through JSON."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from sreops.bots.notify.events import (
    ACTION_NAMES,
    EVENT_TYPES,
    Action,
    Event,
    Item,
    digest_event,
    kubectl_get,
    one_line,
    parse_time,
)
from sreops.operator.api.notifier import EVENT_TYPES as SPEC_EVENT_TYPES
from tests.unit.test_notify_samples import LONGEST, SAMPLES


def minimal(**kw: Any) -> Event:
    fields: dict[str, Any] = {
        "type": "RunFailed",
        "key": "uid/RunFailed/end",
        "kind": "PatchRun",
        "namespace": "prod",
        "name": "web-fleet-x7k2",
        "title": "t",
        "summary": "s",
        "time": "2026-11-29T11:09:31Z",
    }
    return Event(**{**fields, **kw})


def test_event_types_cover_every_type_a_notifier_can_ask_for() -> None:
    """Every event a Notifier's spec.events may name can be built, plus the Digest and Test messages."""
    assert set(SPEC_EVENT_TYPES) <= set(EVENT_TYPES)
    assert set(EVENT_TYPES) - set(SPEC_EVENT_TYPES) == {"Digest", "Test"}


def test_lists_become_tuples_and_the_event_is_hashable() -> None:
    event = minimal(facts=[("Policy", "web-fleet")], counts=[("Failed", 1)], items=[Item("i-1", "x")])
    assert event.facts == (("Policy", "web-fleet"),)
    assert event.counts == (("Failed", 1),)
    assert event.items == (Item("i-1", "x"),)
    assert hash(event) == hash(minimal(facts=(("Policy", "web-fleet"),), counts=(("Failed", 1),), items=event.items))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("type", "RunExploded", "unknown event type"),
        ("key", "", "needs a key"),
        ("time", "yesterday", "RFC 3339"),
        ("time", "2026-11-29T11:09:31", "needs Z or an offset"),
        ("time", "2026-11-29", "RFC 3339"),
    ],
)
def test_invalid_events_are_refused(field: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        minimal(**{field: value})


def test_actions_name_a_known_button_and_a_policy() -> None:
    assert ACTION_NAMES == ("pause", "resume", "run-now")
    with pytest.raises(ValueError, match="unknown action"):
        Action("reboot", "web-fleet")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="names the PatchPolicy"):
        Action("pause", "")


def test_severity_is_upper_case() -> None:
    assert minimal(severity="high").severity == "HIGH"


@pytest.mark.parametrize("event", [*SAMPLES.values(), *LONGEST.values()], ids=[*SAMPLES, *LONGEST])
def test_to_dict_is_json_and_from_dict_gives_the_same_event(event: Event) -> None:
    data = json.loads(json.dumps(event.to_dict()))
    assert Event.from_dict(data) == event


def test_times_are_read_as_rfc3339_in_utc() -> None:
    assert parse_time("2026-11-29T11:09:31Z").isoformat() == "2026-11-29T11:09:31+00:00"
    assert parse_time("2026-11-29T12:09:31.5+01:00").isoformat() == "2026-11-29T11:09:31.500000+00:00"
    assert parse_time("2026-11-29t11:09:31z").isoformat() == "2026-11-29T11:09:31+00:00"


def test_kubectl_get_quotes_what_needs_it() -> None:
    assert kubectl_get("PatchRun", "prod", "web-fleet-x7k2") == "kubectl -n prod get patchrun web-fleet-x7k2 -o yaml"
    assert kubectl_get("PatchPolicy", "", "a b", output="") == "kubectl get patchpolicy 'a b'"


def test_one_line_collapses_whitespace() -> None:
    assert one_line("  a\n\tb  c\r\n") == "a b c"


def test_resource_and_list_title() -> None:
    assert minimal().resource == "prod/web-fleet-x7k2"
    assert minimal(namespace="").resource == "web-fleet-x7k2"
    assert minimal().list_title == "Failed instances"
    assert minimal(items_title="Stragglers").list_title == "Stragglers"


# --- digests -----------------------------------------------------------------------------------------


def test_digest_key_is_deterministic_and_order_free() -> None:
    events = [SAMPLES["RunFailed"], SAMPLES["NewFindings"], SAMPLES["RunSucceeded"]]
    one = digest_event(events)
    other = digest_event(list(reversed(events)))
    assert one.key == other.key
    assert one.key.startswith("digest/") and one.key.endswith("/3")
    assert digest_event(events, total_dropped=1).key != one.key
    assert digest_event(events, key="mine").key == "mine"


def test_digest_counts_by_type_and_lists_every_event() -> None:
    events = [SAMPLES["RunFailed"], SAMPLES["NewFindings"], replace(SAMPLES["RunFailed"], key="other")]
    digest = digest_event(events, total_dropped=4)
    assert digest.type == "Digest"
    assert digest.total == 7
    assert digest.title == "7 more events in prod"
    assert digest.counts == (("RunFailed", 2), ("NewFindings", 1), ("not kept", 4))
    assert [i.label for i in digest.items] == [
        "RunFailed PatchRun prod/web-fleet-x7k2",
        "NewFindings ScanSchedule prod/prod-hourly",
        "RunFailed PatchRun prod/web-fleet-x7k2",
    ]
    assert digest.time == "2026-11-29T13:00:12Z"  # the newest event's
    assert digest.kubectl == "kubectl -n prod get sreops"


def test_digest_across_namespaces() -> None:
    digest = digest_event([SAMPLES["RunFailed"], SAMPLES["Test"]])
    assert digest.namespace == ""
    assert digest.title == "2 more events"
    assert digest.kubectl == "kubectl get sreops -A"


def test_digest_needs_something_to_fold() -> None:
    with pytest.raises(ValueError, match="at least one event"):
        digest_event([])
    assert digest_event([], total_dropped=3, time="2026-11-29T00:00:00Z").title == "3 more events"
