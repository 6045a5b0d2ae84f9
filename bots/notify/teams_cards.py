"""Microsoft Teams Adaptive Cards for notification events, as a Workflows webhook payload.

``card(event)`` and ``digest(events)`` return the body a Teams "Workflows" webhook (Power Automate, "Post to
a channel when a webhook request is received") takes::

    {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
                                         "contentUrl": None, "content": <AdaptiveCard 1.4>}]}

The card says what the Slack message says: a title in a coloured container with the summary, a FactSet
with what/where, the counts, the top items ("…and N more"), the kubectl command and the time (Teams'
``{{DATE()}}``/``{{TIME()}}`` show it in the reader's zone). Version 1.4: what Teams renders on every
client (1.5 is not on all of them).

Size: Teams refuses a message over 28 KB (28,672 bytes, "Message properties size exceeded"); a Workflows
webhook still answers 202 and the card is silently lost. Cards are trimmed to :data:`PAYLOAD_BUDGET_BYTES`
as :func:`encode` serialises them (what :mod:`.teams_sender` sends), leaving 1 KB for what Teams adds:
fewer items first, then shorter texts.

Buttons: a card posted by the Workflows bot cannot carry Action.Submit (only URL buttons work there), so
the Pause/Resume/Run now buttons are Slack's; a card gets an ``Action.OpenUrl`` when the event has a URL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .events import Event, digest_event, one_line, parse_time

Element = dict[str, Any]

ADAPTIVE_CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.4"
MAX_PAYLOAD_BYTES = 28 * 1024
PAYLOAD_BUDGET_BYTES = 27 * 1024
ELLIPSIS = "…"

EMOJI: dict[str, str] = {
    "RunStarted": "▶️",
    "RunProgress": "⏳",
    "RunSucceeded": "✅",
    "RunFailed": "❌",
    "ComplianceChanged": "📋",
    "NewFindings": "🔍",
    "ThresholdExceeded": "🚨",
    "FindingsResolved": "🧹",
    "SuppressionExpired": "⏰",
    "InvalidSpec": "⛔",
    "AccountAccessLost": "🔒",
    "NotReady": "⚠️",
    "Digest": "📥",
    "Test": "👋",
}
# Container styles of Adaptive Cards: default, emphasis, good, attention, warning, accent.
STYLE: dict[str, str] = {
    "RunSucceeded": "good",
    "FindingsResolved": "good",
    "RunFailed": "attention",
    "ThresholdExceeded": "attention",
    "AccountAccessLost": "attention",
    "InvalidSpec": "attention",
    "NewFindings": "warning",
    "ComplianceChanged": "warning",
    "SuppressionExpired": "warning",
    "NotReady": "warning",
    "RunStarted": "accent",
    "RunProgress": "accent",
    "Digest": "emphasis",
    "Test": "emphasis",
}
SEVERITY_EMOJI: dict[str, str] = {
    "CRITICAL": "🔴",
    "HIGH": "🟠",
    "MEDIUM": "🟡",
    "LOW": "🔵",
    "INFORMATIONAL": "⚪",
    "UNTRIAGED": "⚪",
}


def encode(payload: Mapping[str, Any]) -> bytes:
    """The bytes that are sent (compact JSON, UTF-8): what the 28 KB limit is measured on."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def envelope(content: Mapping[str, Any]) -> dict[str, Any]:
    """An Adaptive Card wrapped as the message a Workflows webhook takes."""
    return {
        "type": "message",
        "attachments": [{"contentType": ADAPTIVE_CARD_CONTENT_TYPE, "contentUrl": None, "content": dict(content)}],
    }


def card(event: Event) -> dict[str, Any]:
    """The webhook payload for ``event``, at most :data:`PAYLOAD_BUDGET_BYTES` as encoded."""
    stages = _DIGEST_STAGES if event.type == "Digest" else _CARD_STAGES
    payload: dict[str, Any] = {}
    for index, caps in enumerate(stages):
        shown, payload = _most_items(event, caps)
        wanted = min(len(event.items), caps.items)
        if shown >= min(wanted, caps.min_items) or index == len(stages) - 1:
            break
    return payload


def digest(
    events: Sequence[Event], *, total_dropped: int = 0, key: str | None = None, time: str | None = None
) -> dict[str, Any]:
    """Many events as one card (see :func:`.events.digest_event`)."""
    return card(digest_event(events, total_dropped=total_dropped, key=key, time=time))


# --- trimming ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Caps:
    title: int
    summary: int
    facts: int
    fact_title: int
    fact_value: int
    items: int
    min_items: int  # fewer items than this: try the next stage (shorter texts) first
    item_label: int
    item_detail: int
    kubectl: int


_CARD_STAGES = (
    _Caps(200, 2000, 20, 100, 500, items=20, min_items=10, item_label=200, item_detail=500, kubectl=1000),
    _Caps(200, 1000, 15, 80, 200, items=20, min_items=5, item_label=150, item_detail=200, kubectl=600),
    _Caps(150, 300, 10, 60, 100, items=10, min_items=0, item_label=100, item_detail=100, kubectl=300),
)
_DIGEST_STAGES = (
    _Caps(200, 600, 10, 80, 200, items=30, min_items=15, item_label=200, item_detail=250, kubectl=300),
    _Caps(200, 300, 10, 60, 100, items=30, min_items=5, item_label=120, item_detail=120, kubectl=300),
    _Caps(150, 200, 5, 40, 60, items=10, min_items=0, item_label=80, item_detail=60, kubectl=200),
)


def clip(text: str, limit: int) -> str:
    text = one_line(text)
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + ELLIPSIS


def _most_items(event: Event, caps: _Caps) -> tuple[int, dict[str, Any]]:
    """The largest number of items (up to caps.items) whose card fits the budget, and that card."""
    low, high = 0, min(len(event.items), caps.items)
    best = _payload(event, caps, 0)
    if len(encode(best)) > PAYLOAD_BUDGET_BYTES:
        return 0, best
    while low < high:  # invariant: `low` items fit
        middle = (low + high + 1) // 2
        candidate = _payload(event, caps, middle)
        if len(encode(candidate)) <= PAYLOAD_BUDGET_BYTES:
            low, best = middle, candidate
        else:
            high = middle - 1
    return low, best


# --- elements ----------------------------------------------------------------------------------------


def _text(text: str, **style: Any) -> Element:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _bold(text: str, limit: int) -> str:
    return "**" + clip(text, limit).replace("*", "\u2217") + "**"


def _card_time(event: Event) -> str:
    moment = parse_time(event.time).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{{{{DATE({moment}, SHORT)}}}} {{{{TIME({moment})}}}} · sreops"


def _safe_url(url: str | None) -> str | None:
    if not url or len(url) > 2000 or not url.startswith(("https://", "http://")):
        return None
    if any(ch.isspace() for ch in url):
        return None
    return url


def _facts(event: Event, caps: _Caps) -> list[dict[str, str]]:
    facts: list[dict[str, str]] = []
    if event.name:
        facts.append({"title": clip(event.kind or "Resource", caps.fact_title), "value": clip(event.resource, 400)})
    if event.severity:
        emoji = SEVERITY_EMOJI.get(event.severity, "")
        facts.append({"title": "Severity", "value": f"{emoji} {clip(event.severity, 40)}".strip()})
    room = max(0, caps.facts - len(facts))
    given = list(event.facts)
    if len(given) > room > 0:
        hidden = given[room - 1 :]
        given = given[: room - 1]
        facts += [{"title": clip(k, caps.fact_title), "value": clip(v, caps.fact_value) or "-"} for k, v in given]
        names = ", ".join(one_line(k) for k, _ in hidden)
        facts.append({"title": f"{len(hidden)} more", "value": clip(names, caps.fact_value)})
    else:
        facts += [
            {"title": clip(k, caps.fact_title), "value": clip(v, caps.fact_value) or "-"} for k, v in given[:room]
        ]
    return facts


def _payload(event: Event, caps: _Caps, shown: int) -> dict[str, Any]:
    title = f"{EMOJI.get(event.type, '')} {clip(event.title, caps.title) or event.type}".strip()
    heading: list[Element] = [_text(title, size="Medium", weight="Bolder")]
    if event.summary.strip():
        heading.append(_text(clip(event.summary, caps.summary), spacing="Small"))
    body: list[Element] = [{"type": "Container", "style": STYLE.get(event.type, "default"), "items": heading}]
    facts = _facts(event, caps)
    if facts:
        body.append({"type": "FactSet", "facts": facts})
    if event.counts:
        parts = [f"{clip(label, 60)}: **{number:,}**" for label, number in event.counts[:25]]
        body.append(_text(" · ".join(parts)))
    if event.items:
        total = max(len(event.items), event.total or 0) if event.type == "Digest" else len(event.items)
        heading_text = event.list_title if shown >= total else f"{event.list_title} ({shown} of {total:,})"
        body.append(_text(heading_text, weight="Bolder", spacing="Medium"))
        for item in event.items[:shown]:
            line = _bold(item.label, caps.item_label)
            if item.detail.strip():
                line += " — " + clip(item.detail, caps.item_detail)
            body.append(_text(line, spacing="Small"))
        if total > shown:
            body.append(_text(f"…and {total - shown:,} more", isSubtle=True, spacing="Small"))
    if event.kubectl.strip():
        body.append(_text(clip(event.kubectl, caps.kubectl), fontType="Monospace", size="Small", spacing="Medium"))
    body.append(_text(_card_time(event), isSubtle=True, size="Small", spacing="Small"))
    content: dict[str, Any] = {
        "$schema": CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "msteams": {"width": "Full"},
        "body": body,
    }
    url = _safe_url(event.url)
    if url is not None:
        content["actions"] = [{"type": "Action.OpenUrl", "title": "Open", "url": url}]
    return envelope(content)


__all__ = [
    "ADAPTIVE_CARD_CONTENT_TYPE",
    "CARD_VERSION",
    "MAX_PAYLOAD_BYTES",
    "PAYLOAD_BUDGET_BYTES",
    "card",
    "digest",
    "encode",
    "envelope",
]
