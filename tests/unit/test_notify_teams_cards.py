"""Teams Adaptive Cards: a snapshot of every card type, and every card a valid Workflows message under 28 KB.

The shape check is the stand-in's own (``adaptive_card_envelope_error``); the size is measured on the bytes
the sender sends (``teams_cards.encode``). Refresh the snapshots after a deliberate change:

    SREOPS_UPDATE_SNAPSHOTS=1 .venv/bin/python -P -m pytest -q -p no:cacheprovider \
        tests/unit/test_notify_teams_cards.py
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from sreops.bots.notify.events import EVENT_TYPES, Event, Item
from sreops.bots.notify.teams_cards import (
    ADAPTIVE_CARD_CONTENT_TYPE,
    MAX_PAYLOAD_BYTES,
    PAYLOAD_BUDGET_BYTES,
    card,
    digest,
    encode,
)
from sreops.sandbox.chat.teams_webhook import MAX_PAYLOAD_BYTES as STAND_IN_MAX_BYTES
from sreops.sandbox.chat.teams_webhook import adaptive_card_envelope_error
from tests.unit.test_notify_samples import LONGEST, SAMPLES, assert_snapshot

ELEMENTS = {"TextBlock", "FactSet", "Container"}
CONTAINER_STYLES = {"default", "emphasis", "good", "attention", "warning", "accent"}


def content_of(payload: dict[str, Any]) -> dict[str, Any]:
    content: dict[str, Any] = payload["attachments"][0]["content"]
    return content


def texts(payload: dict[str, Any]) -> list[str]:
    out: list[str] = []

    def walk(elements: list[dict[str, Any]]) -> None:
        for element in elements:
            if element["type"] == "TextBlock":
                out.append(element["text"])
            elif element["type"] == "Container":
                walk(element["items"])

    walk(content_of(payload)["body"])
    return out


def card_problems(payload: dict[str, Any]) -> list[str]:
    """What Teams would not render, beyond the stand-in's envelope check (empty: all is well)."""
    problems: list[str] = []
    size = len(encode(payload))
    if size > PAYLOAD_BUDGET_BYTES:
        problems.append(f"{size} bytes")
    content = content_of(payload)
    if content["version"] != "1.4":
        problems.append(f"version {content['version']}")

    def walk(elements: list[dict[str, Any]], where: str) -> None:
        for i, element in enumerate(elements):
            at = f"{where}[{i}]"
            kind = element.get("type")
            if kind not in ELEMENTS:
                problems.append(f"{at}: {kind}")
            elif kind == "TextBlock":
                if not isinstance(element.get("text"), str) or not element["text"]:
                    problems.append(f"{at}: empty TextBlock")
                if element.get("wrap") is not True:
                    problems.append(f"{at}: TextBlock without wrap")
            elif kind == "FactSet":
                facts = element.get("facts")
                if not facts or not all(isinstance(f.get("title"), str) and f.get("value") for f in facts):
                    problems.append(f"{at}: bad facts")
            elif kind == "Container":
                if element.get("style", "default") not in CONTAINER_STYLES:
                    problems.append(f"{at}: style {element.get('style')}")
                walk(element.get("items", []), f"{at}.items")

    walk(content["body"], "body")
    for action in content.get("actions", []):
        if action.get("type") != "Action.OpenUrl" or not str(action.get("url", "")).startswith("https://"):
            problems.append(f"action {action}")
    return problems


# --- snapshots ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("type_", EVENT_TYPES)
def test_snapshot_of_every_card_type(type_: str) -> None:
    assert_snapshot(f"teams/{type_}.json", card(SAMPLES[type_]))


def test_snapshot_of_a_digest() -> None:
    events = [SAMPLES[t] for t in ("RunFailed", "NewFindings", "RunSucceeded")]
    assert_snapshot("teams/digest-three-events.json", digest(events, total_dropped=4, key="digest/sample"))


# --- limits ------------------------------------------------------------------------------------------

ALL = {**{f"sample-{k}": v for k, v in SAMPLES.items()}, **LONGEST}


@pytest.mark.parametrize("event", ALL.values(), ids=ALL.keys())
def test_every_card_passes_the_stand_ins_check_and_fits(event: Event) -> None:
    payload = card(event)
    assert adaptive_card_envelope_error(payload) is None
    assert card_problems(payload) == []
    assert len(encode(payload)) <= STAND_IN_MAX_BYTES == MAX_PAYLOAD_BYTES == 28 * 1024


def test_long_lists_are_trimmed_with_and_n_more() -> None:
    payload = card(LONGEST["RunFailed-ascii"])
    lines = texts(payload)
    assert any(line.startswith("Failed instances (") and line.endswith(" of 1,000)") for line in lines)
    more = [line for line in lines if line.startswith("…and ")]
    assert len(more) == 1 and more[0].endswith(" more")
    shown = int(more[0].split()[1].replace(",", ""))
    listed = [line for line in lines if line.startswith("**i-")]
    assert len(listed) + shown == 1000
    assert len(listed) >= 5


@pytest.mark.parametrize("name", ["RunFailed-emoji", "NewFindings-mixed"])
def test_size_is_measured_in_bytes_not_characters(name: str) -> None:
    """Emoji take 4 bytes in UTF-8: the card still fits 28 KB as bytes on the wire."""
    payload = card(LONGEST[name])
    assert len(encode(payload)) <= PAYLOAD_BUDGET_BYTES
    assert json.loads(encode(payload)) == payload


def test_a_digest_of_500_events_is_one_card_under_the_limit() -> None:
    payload = card(LONGEST["Digest-of-500"])
    assert card_problems(payload) == []
    lines = texts(payload)
    assert lines[0].startswith("📥 1,503 more events")
    assert any(line.startswith("Events (") and line.endswith("of 1,503)") for line in lines)


# --- content -----------------------------------------------------------------------------------------


def test_card_has_title_summary_facts_counts_items_and_kubectl() -> None:
    payload = card(SAMPLES["RunFailed"])
    assert payload["type"] == "message"
    attachment = payload["attachments"][0]
    assert attachment["contentType"] == ADAPTIVE_CARD_CONTENT_TYPE
    content = attachment["content"]
    assert content["type"] == "AdaptiveCard"
    assert content["msteams"] == {"width": "Full"}
    header, facts, counts, title, *rest = content["body"]
    assert header["type"] == "Container" and header["style"] == "attention"
    assert header["items"][0]["text"] == "❌ Patch run web-fleet-x7k2 failed"
    assert facts["facts"][0] == {"title": "PatchRun", "value": "prod/web-fleet-x7k2"}
    assert [f["title"] for f in facts["facts"][1:]] == ["Policy", "Operation", "Trigger", "Account", "Region"]
    assert counts["text"].startswith("Total: **20** · Succeeded: **14**")
    assert title["text"] == "Failed instances"
    items = [e["text"] for e in rest if e["text"].startswith("**i-")]
    assert len(items) == 3
    assert items[0].startswith("**i-0a1b2c3d4e5f60718** — 111122223333/us-west-2 · Failed")
    kubectl = next(e for e in rest if e.get("fontType") == "Monospace")
    assert kubectl["text"] == "kubectl -n prod get patchrun web-fleet-x7k2 -o yaml"
    assert rest[-1]["text"] == "{{DATE(2026-11-29T11:09:31Z, SHORT)}} {{TIME(2026-11-29T11:09:31Z)}} · sreops"
    assert "actions" not in content  # Workflows cards carry URL buttons only


def test_a_url_becomes_an_open_url_action() -> None:
    payload = card(replace(SAMPLES["RunFailed"], url="https://console.example.com/runs/1"))
    assert content_of(payload)["actions"] == [
        {"type": "Action.OpenUrl", "title": "Open", "url": "https://console.example.com/runs/1"}
    ]
    assert "actions" not in content_of(card(replace(SAMPLES["RunFailed"], url="javascript:alert(1)")))


def test_severity_is_a_fact() -> None:
    facts = content_of(card(SAMPLES["NewFindings"]))["body"][1]["facts"]
    assert facts[1] == {"title": "Severity", "value": "🔴 CRITICAL"}


def test_bold_labels_cannot_break_their_markup() -> None:
    payload = card(replace(SAMPLES["RunFailed"], items=[Item("a**b", "c")]))
    assert "**a\u2217\u2217b** — c" in texts(payload)


def test_times_with_fractions_or_offsets_become_teams_date_functions() -> None:
    payload = card(replace(SAMPLES["Test"], time="2026-11-29T09:00:00.5+01:00"))
    assert texts(payload)[-1].startswith("{{DATE(2026-11-29T08:00:00Z, SHORT)}}")
