"""Every message sreops builds is accepted by the running chat stand-ins, with the longest names and lists:
each Slack message, update and reply posted through the Slack sender (the stand-in validates Block Kit and
the text), each Teams card through the Workflows webhook (the stand-in checks the Adaptive Card envelope
and 28 KB). The stricter documented limits are checked in tests/unit/test_notify_{slack_blocks,teams_cards}.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sreops.bots.notify import slack_blocks, teams_cards
from sreops.bots.notify.events import Event
from sreops.bots.notify.slack_sender import SlackSender
from sreops.bots.notify.teams_sender import WorkflowWebhook
from sreops.sandbox.chat.ratelimit import RateLimit
from sreops.sandbox.chat.recording import read_jsonl
from sreops.sandbox.chat.server import ChatSandbox, ThreadedChatSandbox
from tests.unit.test_notify_samples import LONGEST, SAMPLES

EVENTS = {**{f"sample-{k}": v for k, v in SAMPLES.items()}, **LONGEST}
UNLIMITED = RateLimit(rate=10_000.0, burst=10_000)


@pytest.fixture(scope="module")
def roomy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatSandbox]:
    """The stand-ins without rate limits (this test is about content, not pacing)."""
    state: Path = tmp_path_factory.mktemp("chat")
    sandbox = ChatSandbox(state, slack_post_limit=UNLIMITED, slack_update_limit=UNLIMITED, teams_limit=UNLIMITED)
    with ThreadedChatSandbox(sandbox) as running:
        yield running


@pytest.mark.parametrize("event", EVENTS.values(), ids=EVENTS.keys())
def test_slack_stand_in_accepts_message_update_and_reply(roomy: ChatSandbox, event: Event) -> None:
    slack = SlackSender(roomy.slack_token, base_url=roomy.slack_api_url)
    channel = roomy.slack_channel_ids["sre-alerts"]
    text, blocks = slack_blocks.message(event)
    ts = slack.post(channel, text, blocks, key=event.key)
    slack.update(channel, ts, *slack_blocks.message(event, thread_key="thread/" + event.key), key=event.key)
    reply_text, reply_blocks = slack_blocks.reply(event)
    reply_ts = slack.post(channel, reply_text, reply_blocks, thread_ts=ts, key=event.key, part="reply")
    recorded = {(m["method"], m["ts"]): m for m in read_jsonl(roomy.slack_messages_path)}
    assert recorded[("chat.postMessage", ts)]["blocks"] == blocks
    assert recorded[("chat.postMessage", reply_ts)]["blocks"] == reply_blocks
    assert slack.find_message(channel, event.key, part="reply", thread_ts=ts) == reply_ts


def test_slack_stand_in_accepts_a_digest_of_500(roomy: ChatSandbox) -> None:
    slack = SlackSender(roomy.slack_token, base_url=roomy.slack_api_url)
    events = [LONGEST[k] for k in LONGEST if k.endswith("-ascii")] * 36
    ts = slack.post(roomy.slack_channel_ids["sre-ops"], *slack_blocks.digest(events, total_dropped=10_000))
    assert ts


@pytest.mark.parametrize("event", EVENTS.values(), ids=EVENTS.keys())
def test_teams_stand_in_accepts_every_card(roomy: ChatSandbox, event: Event) -> None:
    payload = teams_cards.card(event)
    WorkflowWebhook(roomy.teams_webhook_url).send(payload)
    assert read_jsonl(roomy.cards_path)[-1]["payload"] == payload


def test_teams_stand_in_accepts_a_digest_of_500(roomy: ChatSandbox) -> None:
    events = [LONGEST[k] for k in LONGEST if k.endswith("-ascii")] * 36
    payload = teams_cards.digest(events, total_dropped=10_000)
    WorkflowWebhook(roomy.teams_webhook_url).send(payload)
    assert read_jsonl(roomy.cards_path)[-1]["payload"] == payload
