"""What a command answers, independent of the channel, and its renderings: Slack Block Kit and a Teams
Adaptive Card (1.4). Every text from the cluster is escaped for Slack mrkdwn and clipped to the limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sreops.bots.notify.slack_blocks import clip, escape

Result = Literal["ok", "denied", "not_found", "invalid", "error"]
MAX_LINES = 40  # Slack: 50 blocks a message; the rest becomes "and N more"
MAX_SECTION = 2900
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"


@dataclass(frozen=True)
class Reply:
    command: str
    result: Result
    title: str
    lines: tuple[str, ...] = ()  # plain text, one item each (escaped when rendered)
    public: bool = False  # Slack: in_channel (a change others should see) instead of ephemeral
    data: Any = field(default=None, compare=False)  # the action's result, for JSON answers


def to_slack(reply: Reply) -> dict[str, Any]:
    """A slash-command / response_url message: `response_type`, fallback `text` and `blocks`."""
    shown = list(reply.lines[:MAX_LINES])
    more = len(reply.lines) - len(shown)
    if more:
        shown.append(f"and {more} more")
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": clip("*" + escape(reply.title) + "*", MAX_SECTION)}}
    ]
    blocks += [
        {"type": "section", "text": {"type": "mrkdwn", "text": clip(escape(line), MAX_SECTION)}}
        for line in shown
        if line
    ]
    return {
        "response_type": "in_channel" if reply.public else "ephemeral",
        "text": clip(reply.title, 3000),
        "blocks": blocks,
    }


def to_card(reply: Reply) -> dict[str, Any]:
    """The Adaptive Card content (the attachment's `content`)."""
    shown = list(reply.lines[:MAX_LINES])
    more = len(reply.lines) - len(shown)
    if more:
        shown.append(f"and {more} more")
    color = {"ok": "Good", "denied": "Attention", "error": "Attention"}.get(reply.result, "Default")
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": clip(reply.title, 500), "weight": "Bolder", "wrap": True, "color": color}
    ]
    body += [
        {"type": "TextBlock", "text": clip(line, 2000), "wrap": True, "spacing": "Small"} for line in shown if line
    ]
    return {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
