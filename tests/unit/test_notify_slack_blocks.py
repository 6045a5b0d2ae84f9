"""Slack Block Kit messages: a snapshot of every message type, and every payload within Slack's limits.

The limits checked here are Slack's documented ones (docs.slack.dev Block Kit reference), stricter than
what the sandbox's stand-in checks (tests/sandbox/chat/test_notify_payload_limits.py posts the same
payloads to it). Refresh the snapshots after a deliberate change (see tests/unit/test_notify_samples.py):

    SREOPS_UPDATE_SNAPSHOTS=1 .venv/bin/python -P -m pytest -q -p no:cacheprovider \
        tests/unit/test_notify_slack_blocks.py
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import pytest

from sreops.bots.notify import slack_blocks
from sreops.bots.notify.events import EVENT_TYPES, Action, Event, Item
from sreops.bots.notify.slack_blocks import (
    ACTION_IDS,
    block_text_length,
    clip,
    digest,
    marker,
    message,
    mrkdwn,
    reply,
    slack_len,
)
from tests.unit.test_notify_samples import LONGEST, SAMPLES, assert_snapshot

BLOCK_TYPES = {"header", "section", "context", "actions", "divider"}


def _text_object(obj: Any, where: str, limit: int, *, plain_only: bool = False) -> list[str]:
    problems: list[str] = []
    allowed = {"plain_text"} if plain_only else {"plain_text", "mrkdwn"}
    if not isinstance(obj, dict) or obj.get("type") not in allowed:
        return [f"{where}: not a text object of type {allowed}"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        problems.append(f"{where}: empty text")
    elif slack_len(text) > limit:
        problems.append(f"{where}: {slack_len(text)} > {limit} characters")
    if obj["type"] == "mrkdwn" and isinstance(text, str) and re.search(r"&(?!amp;|lt;|gt;)", text):
        problems.append(f"{where}: a bare & in mrkdwn")
    return problems


def slack_problems(text: str, blocks: list[dict[str, Any]]) -> list[str]:
    """Everything in (text, blocks) that Slack's documented limits refuse (empty: all is well)."""
    problems: list[str] = []
    if not text or slack_len(text) > slack_blocks.MAX_MESSAGE_TEXT:
        problems.append(f"text: {slack_len(text)} characters")
    if not 1 <= len(blocks) <= 50:
        problems.append(f"{len(blocks)} blocks")
    if block_text_length(blocks) > slack_blocks.MAX_TOTAL_BLOCK_TEXT:
        problems.append(f"blocks hold {block_text_length(blocks)} characters of text (msg_blocks_too_long)")
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    if len(set(block_ids)) != len(block_ids):
        problems.append("duplicate block_id")
    for i, block in enumerate(blocks):
        where = f"blocks[{i}]"
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            problems.append(f"{where}: type {kind}")
            continue
        if "block_id" in block and not 0 < len(block["block_id"]) <= 255:
            problems.append(f"{where}.block_id length")
        if kind == "header":
            problems += _text_object(block.get("text"), f"{where}.text", 150, plain_only=True)
        elif kind == "section":
            if "text" not in block and "fields" not in block:
                problems.append(f"{where}: neither text nor fields")
            if "text" in block:
                problems += _text_object(block["text"], f"{where}.text", 3000)
            fields = block.get("fields", [])
            if len(fields) > 10:
                problems.append(f"{where}: {len(fields)} fields")
            for j, item in enumerate(fields):
                problems += _text_object(item, f"{where}.fields[{j}]", 2000)
        elif kind == "context":
            elements = block.get("elements", [])
            if not 1 <= len(elements) <= 10:
                problems.append(f"{where}: {len(elements)} context elements")
            for j, item in enumerate(elements):
                problems += _text_object(item, f"{where}.elements[{j}]", 3000)
        elif kind == "actions":
            elements = block.get("elements", [])
            if not 1 <= len(elements) <= 25:
                problems.append(f"{where}: {len(elements)} action elements")
            ids = [e.get("action_id") for e in elements]
            if len(set(ids)) != len(ids):
                problems.append(f"{where}: duplicate action_id in one block")
            for j, button in enumerate(elements):
                at = f"{where}.elements[{j}]"
                if button.get("type") != "button":
                    problems.append(f"{at}: not a button")
                problems += _text_object(button.get("text"), f"{at}.text", 75, plain_only=True)
                if not 0 < len(button.get("action_id", "")) <= 255:
                    problems.append(f"{at}.action_id length")
                if not 0 < len(button.get("value", "")) <= 2000:
                    problems.append(f"{at}.value length")
                if button.get("style") not in (None, "primary", "danger"):
                    problems.append(f"{at}.style")
                confirm = button.get("confirm")
                if confirm is not None:
                    problems += _text_object(confirm.get("title"), f"{at}.confirm.title", 100, plain_only=True)
                    problems += _text_object(confirm.get("text"), f"{at}.confirm.text", 300)
                    problems += _text_object(confirm.get("confirm"), f"{at}.confirm.confirm", 30, plain_only=True)
                    problems += _text_object(confirm.get("deny"), f"{at}.confirm.deny", 30, plain_only=True)
    return problems


# --- snapshots ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("type_", EVENT_TYPES)
def test_snapshot_of_every_message_type(type_: str) -> None:
    event = SAMPLES[type_]
    text, blocks = message(event)
    reply_text, reply_blocks = reply(event)
    assert_snapshot(
        f"slack/{type_}.json",
        {"message": {"text": text, "blocks": blocks}, "reply": {"text": reply_text, "blocks": reply_blocks}},
    )


def test_snapshot_of_a_digest() -> None:
    events = [SAMPLES[t] for t in ("RunFailed", "NewFindings", "RunSucceeded")]
    text, blocks = digest(events, total_dropped=4, key="digest/sample")
    assert_snapshot("slack/digest-three-events.json", {"text": text, "blocks": blocks})


# --- limits ------------------------------------------------------------------------------------------

ALL = {**{f"sample-{k}": v for k, v in SAMPLES.items()}, **LONGEST}


@pytest.mark.parametrize("event", ALL.values(), ids=ALL.keys())
def test_every_payload_is_within_slacks_limits(event: Event) -> None:
    for built in (message(event), reply(event)):
        assert slack_problems(*built) == []


def test_the_longest_events_are_trimmed_not_dropped() -> None:
    text, blocks = message(LONGEST["RunFailed-ascii"])
    rendered = json.dumps(blocks)
    assert blocks[0]["type"] == "header" and blocks[0]["text"]["text"].endswith("…")
    assert "more_" in rendered  # "…and N more" after the items shown
    assert any(b["type"] == "actions" for b in blocks)
    assert slack_len(text) <= slack_blocks.MAX_FALLBACK_TEXT


def test_a_digest_of_500_events_is_one_bounded_message() -> None:
    event = LONGEST["Digest-of-500"]
    text, blocks = message(event)
    assert slack_problems(text, blocks) == []
    rendered = json.dumps(blocks, ensure_ascii=False)
    assert "1,503 more events" in blocks[0]["text"]["text"]
    assert re.search(r"\(\d+ of 1,503\)", rendered)
    assert re.search(r"…and 1,4\d\d more", rendered)


# --- content -----------------------------------------------------------------------------------------


def test_message_has_header_facts_counts_items_context_and_buttons() -> None:
    text, blocks = message(SAMPLES["RunFailed"])
    assert text == (
        ":x: Patch run web-fleet-x7k2 failed — PatchRun prod/web-fleet-x7k2: "
        "3 of 20 instances failed; maxErrors 1 was exceeded, so the rollout stopped."
    )
    assert [b["type"] for b in blocks] == ["header", "section", "section", "section", "context", "actions"]
    header, what, counts, items, context, actions = blocks
    assert header["text"] == {"type": "plain_text", "text": ":x: Patch run web-fleet-x7k2 failed", "emoji": True}
    assert what["fields"][0]["text"] == "*PatchRun*\n`prod/web-fleet-x7k2`"
    assert [f["text"].split("\n")[0] for f in what["fields"][1:]] == [
        "*Policy*",
        "*Operation*",
        "*Trigger*",
        "*Account*",
        "*Region*",
    ]
    assert counts["text"]["text"].startswith("Total: *20* · Succeeded: *14* · Failed: *2*")
    assert items["text"]["text"].splitlines()[0] == "*Failed instances*"
    assert "• *i-0a1b2c3d4e5f60718* — 111122223333/us-west-2 · Failed: yum exited 1" in items["text"]["text"]
    assert context["elements"][0]["text"] == "`kubectl -n prod get patchrun web-fleet-x7k2 -o yaml`"
    assert context["elements"][1]["text"].startswith("<!date^1795950571^")
    assert [e["action_id"] for e in actions["elements"]] == ["sreops_pause", "sreops_run_now"]


def test_buttons_carry_the_policy_as_compact_json() -> None:
    event = replace(
        SAMPLES["RunFailed"],
        actions=[
            Action("pause", "web-fleet"),
            Action("resume", "db", namespace="data"),
            Action("run-now", "db", "data"),
        ],
    )
    _, blocks = message(event)
    actions = [b for b in blocks if b["type"] == "actions"]
    assert len(actions) == 2  # one block per policy: action_ids are unique within a block
    first, second = actions
    assert first["elements"][0]["value"] == '{"kind":"PatchPolicy","namespace":"prod","name":"web-fleet"}'
    assert [e["action_id"] for e in second["elements"]] == ["sreops_resume", "sreops_run_now"]
    assert {e["value"] for e in second["elements"]} == {'{"kind":"PatchPolicy","namespace":"data","name":"db"}'}
    assert [e["text"]["text"] for e in second["elements"]] == ["Resume db", "Run db now"]
    assert set(ACTION_IDS.values()) == {"sreops_pause", "sreops_resume", "sreops_run_now"}
    pause = first["elements"][0]
    assert pause["confirm"]["style"] == "danger"
    assert "suspend: true" in pause["confirm"]["text"]["text"]
    assert "confirm" not in second["elements"][0]  # resuming needs no confirmation


def test_the_same_button_twice_is_shown_once() -> None:
    event = replace(SAMPLES["RunFailed"], actions=[Action("pause", "web-fleet"), Action("pause", "web-fleet")])
    _, blocks = message(event)
    assert [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]] == ["sreops_pause"]


def test_texts_from_status_cannot_mention_or_link() -> None:
    event = replace(
        SAMPLES["RunFailed"],
        summary="<!channel> see <https://evil.example|here> & <@U123>",
        items=[Item("<!here>", "<!subteam^S1>")],
    )
    text, blocks = message(event)
    rendered = text + json.dumps(blocks)
    for forbidden in ("<!channel>", "<!here>", "<@U123>", "<https://evil", "<!subteam"):
        assert forbidden not in rendered
    assert "&lt;!channel&gt;" in rendered


def test_markers_identify_the_event_and_the_part() -> None:
    event = SAMPLES["RunFailed"]
    _, blocks = message(event)
    _, reply_blocks = reply(event)
    assert blocks[0]["block_id"] == marker(event.key)
    assert reply_blocks[0]["block_id"] == marker(event.key, "reply")
    assert marker(event.key) != marker(event.key, "reply") != marker(event.key + "x")
    assert re.fullmatch(r"sreops-[mr]-[0-9a-f]{32}", marker(event.key, "reply"))
    assert slack_blocks.metadata(event.key, "reply") == {
        "event_type": "sreops_notification",
        "event_payload": {"key": event.key, "part": "reply"},
    }


def test_updates_of_one_run_change_the_marker() -> None:
    """Slack asks for a new block_id per iteration of a message: each update is another event's key."""
    started, progress = message(SAMPLES["RunStarted"])[1], message(SAMPLES["RunProgress"])[1]
    assert started[0]["block_id"] != progress[0]["block_id"]


def test_an_update_carries_the_threads_marker_too() -> None:
    started, progress = SAMPLES["RunStarted"], SAMPLES["RunProgress"]
    _, blocks = message(progress, thread_key=started.key)
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert ids == [marker(progress.key), marker(started.key)]
    assert slack_problems(*message(progress, thread_key=started.key)) == []
    _, first = message(started, thread_key=started.key)
    assert [b["block_id"] for b in first if "block_id" in b] == [marker(started.key)]


def test_reply_lists_every_failed_instance_with_its_detail() -> None:
    event = replace(SAMPLES["RunFailed"], items=[Item(f"i-{n:017x}", f"Failed: step {n} exited 1") for n in range(20)])
    text, blocks = reply(event)
    assert text.startswith("Details: :x: Patch run web-fleet-x7k2 failed")
    rendered = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    assert all(f"i-{n:017x}" in rendered for n in range(20))
    assert "more_" not in rendered
    _, message_blocks = message(event)
    shown = json.dumps(message_blocks, ensure_ascii=False)
    assert "(10 of 20)" in shown and "…and 10 more" in shown


def test_many_facts_fold_into_the_tenth_field() -> None:
    event = replace(SAMPLES["RunFailed"], facts=[(f"F{i}", str(i)) for i in range(15)])
    _, blocks = message(event)
    fields = blocks[1]["fields"]
    assert len(fields) == 10
    assert fields[-1]["text"] == "*7 more*\nF8, F9, F10, F11, F12, F13, F14"


def test_event_without_summary_facts_or_items() -> None:
    event = Event(
        type="Test", key="k", kind="", namespace="", name="", title="hello", summary="", time="2026-01-01T00:00:00Z"
    )
    text, blocks = message(event)
    assert text == ":wave: hello"
    assert [b["type"] for b in blocks] == ["header", "context"]
    assert slack_problems(text, blocks) == []


def test_a_url_becomes_a_link_only_when_it_is_safe() -> None:
    ok = message(replace(SAMPLES["RunFailed"], url="https://console.example.com/runs/1"))[1]
    assert "<https://console.example.com/runs/1|Open>" in json.dumps(ok)
    for bad in ("javascript:alert(1)", "https://x.example/a|b", "https://x.example/<y>", "https://x.example/ a"):
        rendered = json.dumps(message(replace(SAMPLES["RunFailed"], url=bad))[1])
        assert "|Open>" not in rendered


# --- the trimming helpers ----------------------------------------------------------------------------


def test_slack_len_counts_utf16_units() -> None:
    assert slack_len("abc") == 3
    assert slack_len("é") == 1
    assert slack_len("\U0001f525") == 2


def test_clip_never_splits_a_character_and_ends_with_an_ellipsis() -> None:
    assert clip("abcdef", 6) == "abcdef"
    assert clip("abcdef", 4) == "abc…"
    assert clip("\U0001f525" * 5, 6) == "\U0001f525\U0001f525…"
    assert slack_len(clip("\U0001f525" * 5, 6)) == 5


def test_mrkdwn_never_cuts_an_entity() -> None:
    cut = mrkdwn("a&&&&&&&", 12)
    assert slack_len(cut) <= 12
    assert cut == "a&amp;&amp;…"
    assert mrkdwn("<b>", 100) == "&lt;b&gt;"
