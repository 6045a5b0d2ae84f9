"""Slack Block Kit messages for notification events: what an SRE reads at a glance.

``message(event)`` is the channel message (for a PatchRun: the thread's parent, updated in place),
``reply(event)`` a threaded reply with the details (a failed run's instances and SSM's words), and
``digest(events)`` many events folded into one message when the rate limit is reached. Each returns
``(text, blocks)``: the fallback text (notifications, screen readers) and the blocks.

Every text is trimmed to Slack's limits (docs.slack.dev, Block Kit reference), measured in UTF-16 code
units (at least Python's ``len``, so the sandbox's stand-in, which counts code points, agrees):

- header text 150 (plain_text), section text 3000, section fields 10 of at most 2000 each, 50 blocks,
  context elements 10, actions elements 25, block_id and action_id 255, button text 75 and value 2000,
  confirm dialog title 100, text 300, buttons 30; message text 40,000 (ours stay under 3000).
- Not in the reference but enforced by Slack: ``msg_blocks_too_long`` once the texts of all blocks add
  up to about 12,000-13,000 characters (slackapi/bolt-js#2509). We keep the sum under
  :data:`MAX_TOTAL_BLOCK_TEXT`.

Texts from status (names, AWS's messages, SSM's output) are escaped for mrkdwn (``&``, ``<``, ``>``), so
they cannot mention ``@channel`` or forge links.

Markers: the first block's ``block_id`` is :func:`marker` of the event key (``reply`` for replies), so a
sender can find the message again in ``conversations.history``/``replies`` after a crash, also where
message metadata is not kept.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .events import Action, Event, digest_event, one_line, parse_time

Block = dict[str, Any]
Part = Literal["message", "reply"]

MAX_BLOCKS = 50
MAX_HEADER_TEXT = 150
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_CONTEXT_ELEMENTS = 10
MAX_CONTEXT_TEXT = 3000
MAX_ACTIONS_ELEMENTS = 25
MAX_BLOCK_ID = 255
MAX_ACTION_ID = 255
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_CONFIRM_TITLE = 100
MAX_CONFIRM_TEXT = 300
MAX_CONFIRM_BUTTON = 30
MAX_MESSAGE_TEXT = 40_000
MAX_TOTAL_BLOCK_TEXT = 10_000  # Slack's undocumented msg_blocks_too_long starts near 12,000
MAX_FALLBACK_TEXT = 3000

ACTION_IDS: dict[str, str] = {"pause": "sreops_pause", "resume": "sreops_resume", "run-now": "sreops_run_now"}
ACTION_LABELS: dict[str, str] = {"pause": "Pause", "resume": "Resume", "run-now": "Run now"}
MAX_ACTION_GROUPS = 3  # policies with buttons in one message

EMOJI: dict[str, str] = {
    "RunStarted": ":arrow_forward:",
    "RunProgress": ":hourglass_flowing_sand:",
    "RunSucceeded": ":white_check_mark:",
    "RunFailed": ":x:",
    "ComplianceChanged": ":clipboard:",
    "NewFindings": ":mag:",
    "ThresholdExceeded": ":rotating_light:",
    "FindingsResolved": ":broom:",
    "SuppressionExpired": ":alarm_clock:",
    "InvalidSpec": ":no_entry:",
    "AccountAccessLost": ":lock:",
    "NotReady": ":warning:",
    "Digest": ":inbox_tray:",
    "Test": ":wave:",
}
SEVERITY_EMOJI: dict[str, str] = {
    "CRITICAL": ":red_circle:",
    "HIGH": ":large_orange_circle:",
    "MEDIUM": ":large_yellow_circle:",
    "LOW": ":large_blue_circle:",
    "INFORMATIONAL": ":white_circle:",
    "UNTRIAGED": ":white_circle:",
}
ELLIPSIS = "…"


# --- public API --------------------------------------------------------------------------------------


def marker(key: str, part: Part = "message") -> str:
    """The ``block_id`` of a message's first block: ``sreops-m-`` / ``sreops-r-`` + 32 hex digits of the key."""
    return f"sreops-{part[0]}-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def metadata(key: str, part: Part = "message") -> dict[str, Any]:
    """Slack message metadata carrying the event key (``chat.postMessage``/``chat.update`` ``metadata``)."""
    return {"event_type": "sreops_notification", "event_payload": {"key": key, "part": part}}


def message(event: Event, *, thread_key: str | None = None) -> tuple[str, list[Block]]:
    """The channel message for ``event``: header, what/where, counts, top items, kubectl, buttons.

    ``thread_key``: the key of the event that started the message (a run's RunStarted) when this is an
    update of it; its marker goes on the context block, so the message carries both markers (the
    thread's, stable across updates, and this event's) and :meth:`.slack_sender.SlackMessage.carries` finds either.
    """
    stages = _DIGEST_STAGES if event.type == "Digest" else _MESSAGE_STAGES
    text, blocks = _fit(event, stages, _message_blocks, fallback_text(event))
    if thread_key is not None and thread_key != event.key:
        for block in blocks:
            if block["type"] == "context":
                block["block_id"] = marker(thread_key)
    return text, blocks


def reply(event: Event) -> tuple[str, list[Block]]:
    """A threaded reply with the details: the title, the summary, as many items as fit, kubectl."""
    return _fit(event, _REPLY_STAGES, _reply_blocks, fallback_text(event, prefix="Details: "))


def digest(
    events: Sequence[Event], *, total_dropped: int = 0, key: str | None = None, time: str | None = None
) -> tuple[str, list[Block]]:
    """Many events as one message ("7 more events in prod"): counts by type and the first ones listed.

    ``total_dropped`` events were not kept at all (they count, but cannot be listed). See
    :func:`.events.digest_event` for the key and time.
    """
    return message(digest_event(events, total_dropped=total_dropped, key=key, time=time))


# --- trimming helpers --------------------------------------------------------------------------------


def slack_len(text: str) -> int:
    """Length as Slack counts it (UTF-16 code units): an emoji outside the BMP counts 2."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-16 units, ending in "…" when cut."""
    if slack_len(text) <= limit:
        return text
    budget = limit - 1
    used = 0
    end = 0
    while end < len(text):
        width = 2 if ord(text[end]) > 0xFFFF else 1
        if used + width > budget:
            break
        used += width
        end += 1
    return text[:end].rstrip() + ELLIPSIS


def escape(text: str) -> str:
    """Slack's mrkdwn escaping: ``&``, ``<`` and ``>`` only."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(text: str, limit: int) -> str:
    """``text`` escaped for mrkdwn and cut to ``limit`` without splitting an ``&amp;``-style entity."""
    return clip_escaped(escape(text), limit)


def clip_escaped(escaped: str, limit: int) -> str:
    """Already escaped mrkdwn cut to ``limit`` like :func:`clip`, never inside an ``&amp;``-style entity."""
    if slack_len(escaped) <= limit:
        return escaped
    cut = clip(escaped, limit)[: -len(ELLIPSIS)]
    amp = cut.rfind("&", max(0, len(cut) - 5))
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut.rstrip() + ELLIPSIS


def _code(text: str, limit: int) -> str:
    return "`" + mrkdwn(text.replace("`", "'"), limit - 2) + "`"


def _bold(text: str, limit: int) -> str:
    return "*" + mrkdwn(one_line(text).replace("*", "\u2217"), limit - 2) + "*"


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(one_line(text), limit) or "-", "emoji": True}


def _md(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def block_text_length(blocks: Iterable[Any]) -> int:
    """The sum of every ``text`` string in ``blocks`` (what Slack's msg_blocks_too_long counts)."""
    total = 0
    for value in _walk(list(blocks)):
        total += slack_len(value)
    return total


def _walk(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for name, value in node.items():
            if name == "text" and isinstance(value, str):
                yield value
            else:
                yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


# --- how much of an event is shown -------------------------------------------------------------------


@dataclass(frozen=True)
class _Caps:
    summary: int
    field: int
    facts: int  # fields in the what/where section (Slack: 10)
    items: int
    item_line: int
    item_sections: int
    action_groups: int
    kubectl: int = 1000


_MESSAGE_STAGES = (
    _Caps(summary=1500, field=250, facts=10, items=10, item_line=300, item_sections=2, action_groups=3),
    _Caps(summary=800, field=150, facts=10, items=10, item_line=200, item_sections=1, action_groups=3),
    _Caps(summary=300, field=100, facts=6, items=5, item_line=150, item_sections=1, action_groups=1, kubectl=500),
)
_REPLY_STAGES = (
    _Caps(summary=2000, field=0, facts=0, items=50, item_line=600, item_sections=20, action_groups=0),
    _Caps(summary=1000, field=0, facts=0, items=30, item_line=300, item_sections=10, action_groups=0),
    _Caps(summary=300, field=0, facts=0, items=10, item_line=150, item_sections=3, action_groups=0, kubectl=500),
)
_DIGEST_STAGES = (
    _Caps(summary=500, field=200, facts=10, items=25, item_line=250, item_sections=3, action_groups=0),
    _Caps(summary=300, field=100, facts=10, items=15, item_line=150, item_sections=2, action_groups=0),
    _Caps(summary=200, field=60, facts=6, items=5, item_line=100, item_sections=1, action_groups=0, kubectl=500),
)


def _fit(
    event: Event, stages: Sequence[_Caps], build: Callable[[Event, _Caps], list[Block]], text: str
) -> tuple[str, list[Block]]:
    """The first stage whose blocks are within Slack's limits (the last one always is)."""
    blocks: list[Block] = []
    for caps in stages:
        blocks = build(event, caps)
        if len(blocks) <= MAX_BLOCKS and block_text_length(blocks) <= MAX_TOTAL_BLOCK_TEXT:
            break
    return text, blocks


def fallback_text(event: Event, *, prefix: str = "") -> str:
    """``:x: Run web-fleet-x7k2 failed — PatchRun prod/web-fleet-x7k2: 1 of 20 instances failed.``"""
    text = prefix + f"{EMOJI.get(event.type, '')} {one_line(event.title)}".strip()
    if event.name:
        text += f" — {event.kind} {event.resource}".replace("—  ", "— ")
    if event.summary:
        text += f": {one_line(event.summary)}"
    return mrkdwn(text, MAX_FALLBACK_TEXT)


# --- blocks ------------------------------------------------------------------------------------------


def _header(event: Event, part: Part = "message") -> Block:
    title = f"{EMOJI.get(event.type, '')} {one_line(event.title) or event.type}".strip()
    return {"type": "header", "block_id": marker(event.key, part), "text": _plain(title, MAX_HEADER_TEXT)}


def _field(label: str, value: str, limit: int) -> dict[str, Any]:
    head = _bold(label, 100)
    return _md(head + "\n" + (mrkdwn(one_line(value), max(10, min(limit, MAX_FIELD_TEXT) - len(head) - 1)) or "-"))


def _what_where(event: Event, caps: _Caps) -> list[Block]:
    fields: list[dict[str, Any]] = []
    if event.name:
        resource = _code(event.resource, max(20, caps.field))
        fields.append(_md(f"{_bold(event.kind or 'Resource', 100)}\n{resource}"))
    if event.severity:
        emoji = SEVERITY_EMOJI.get(event.severity, "")
        fields.append(_md(f"*Severity*\n{emoji} {mrkdwn(event.severity, 40)}".rstrip()))
    room = max(0, min(caps.facts, MAX_SECTION_FIELDS) - len(fields))
    facts = list(event.facts)
    if len(facts) > room > 0:
        shown = facts[: room - 1]
        hidden = facts[room - 1 :]
        fields += [_field(k, v, caps.field) for k, v in shown]
        names = ", ".join(one_line(k) for k, _ in hidden)
        fields.append(_field(f"{len(hidden)} more", names, caps.field))
    else:
        fields += [_field(k, v, caps.field) for k, v in facts[:room]]
    section: Block = {"type": "section"}
    if event.summary.strip():
        section["text"] = _md(mrkdwn(event.summary.strip(), min(caps.summary, MAX_SECTION_TEXT)))
    if fields:
        section["fields"] = fields
    return [section] if len(section) > 1 else []


def _counts_text(event: Event, limit: int = 1000) -> str:
    parts = [f"{mrkdwn(one_line(label), 60)}: *{number:,}*" for label, number in event.counts[:25]]
    return clip_escaped(" · ".join(parts), limit) if parts else ""


def _counts(event: Event) -> list[Block]:
    text = _counts_text(event)
    return [{"type": "section", "text": _md(text)}] if text else []


def _item_line(label: str, detail: str, limit: int) -> str:
    head = "• " + _bold(label, max(12, min(limit // 2, 200)))
    if not detail.strip():
        return head
    return head + " — " + mrkdwn(one_line(detail), max(10, limit - slack_len(head) - 3))


def _items(event: Event, caps: _Caps, budget: int) -> list[Block]:
    """The first items, packed into sections of at most 3000 units, then "…and N more".

    ``budget``: how much text the message has left (msg_blocks_too_long); lines stop when it is spent.
    """
    items = list(event.items)
    budget -= 200  # the heading, "(N of M)" and "…and N more"
    if not items or caps.items <= 0 or budget <= 0:
        return []
    total = max(len(items), event.total or 0) if event.type == "Digest" else len(items)
    heading = _bold(event.list_title, 100)
    room = MAX_SECTION_TEXT - 40  # for "…and N more", and "(N of M)" after the heading
    sections: list[str] = [""]
    shown = 0
    for item in items[: caps.items]:
        line = _item_line(item.label, item.detail, caps.item_line)
        budget -= slack_len(line) + 1
        if budget < 0:
            break
        head = slack_len(heading) + 20 if len(sections) == 1 else 0
        if sections[-1] and head + slack_len(sections[-1]) + 1 + slack_len(line) > room:
            if len(sections) >= caps.item_sections:
                break
            sections.append(line)
        else:
            sections[-1] = f"{sections[-1]}\n{line}" if sections[-1] else line
        shown += 1
    hidden = total - shown
    title = f"{heading} ({shown} of {total:,})" if shown < total else heading
    sections[0] = f"{title}\n{sections[0]}" if sections[0] else title
    if hidden > 0:
        sections[-1] += f"\n_…and {hidden:,} more_"
    return [{"type": "section", "text": _md(clip_escaped(text, MAX_SECTION_TEXT))} for text in sections]


def _slack_date(event: Event) -> str:
    moment = parse_time(event.time)
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def _safe_url(url: str | None) -> str | None:
    if not url or len(url) > 1000 or not url.startswith(("https://", "http://")):
        return None
    if any(ch in url for ch in "<>| \t\r\n"):
        return None
    return url


def _context(event: Event, caps: _Caps) -> list[Block]:
    elements: list[dict[str, Any]] = []
    if event.kubectl.strip():
        elements.append(_md(_code(one_line(event.kubectl), min(caps.kubectl, MAX_CONTEXT_TEXT))))
    elements.append(_md(_slack_date(event)))
    url = _safe_url(event.url)
    if url is not None:
        elements.append(_md(f"<{url}|Open>"))
    return [{"type": "context", "elements": elements[:MAX_CONTEXT_ELEMENTS]}]


BUTTON_TEXTS: dict[str, str] = {"pause": "Pause {}", "resume": "Resume {}", "run-now": "Run {} now"}


def _button_text(action: str, policy: str) -> str:
    template = BUTTON_TEXTS[action]
    room = MAX_BUTTON_TEXT - slack_len(template) + 2
    return template.format(clip(policy, room))


def _value(namespace: str, policy: str) -> str:
    return json.dumps({"kind": "PatchPolicy", "namespace": namespace, "name": policy}, separators=(",", ":"))


def _confirm(action: str, namespace: str, policy: str) -> dict[str, Any] | None:
    where = f"PatchPolicy {namespace}/{policy}" if namespace else f"PatchPolicy {policy}"
    if action == "pause":
        title = f"Pause {policy}?"
        text = f"{where} gets suspend: true. Its maintenance window is disabled and no new runs start until resumed."
        style = "danger"
    elif action == "run-now":
        title = f"Run {policy} now?"
        text = f"Starts a PatchRun of {where} at once (the sreops.io/run-now annotation)."
        style = "primary"
    else:
        return None
    return {
        "title": _plain(title, MAX_CONFIRM_TITLE),
        "text": _plain(text, MAX_CONFIRM_TEXT),
        "confirm": _plain(ACTION_LABELS[action], MAX_CONFIRM_BUTTON),
        "deny": _plain("Cancel", MAX_CONFIRM_BUTTON),
        "style": style,
    }


def _groups(event: Event) -> list[tuple[str, str, list[Action]]]:
    groups: dict[tuple[str, str], list[Action]] = {}
    for action in event.actions:
        namespace = action.namespace or event.namespace
        group = groups.setdefault((namespace, action.policy), [])
        if all(a.action != action.action for a in group):
            group.append(action)
    return [(ns, policy, actions) for (ns, policy), actions in groups.items()]


def _actions(event: Event, caps: _Caps) -> list[Block]:
    blocks: list[Block] = []
    for namespace, policy, actions in _groups(event)[: caps.action_groups]:
        value = _value(namespace, policy)
        if len(value) > MAX_BUTTON_VALUE:
            continue  # a name that long is not a Kubernetes name; no button can carry it
        elements: list[dict[str, Any]] = []
        for action in actions[:MAX_ACTIONS_ELEMENTS]:
            button: dict[str, Any] = {
                "type": "button",
                "action_id": ACTION_IDS[action.action],
                "text": _plain(_button_text(action.action, policy), MAX_BUTTON_TEXT),
                "value": value,
            }
            if action.action == "run-now":
                button["style"] = "primary"
            confirm = _confirm(action.action, namespace, policy)
            if confirm is not None:
                button["confirm"] = confirm
            elements.append(button)
        if elements:
            blocks.append({"type": "actions", "elements": elements})
    return blocks


def _message_blocks(event: Event, caps: _Caps) -> list[Block]:
    head = [_header(event), *_what_where(event, caps), *_counts(event)]
    tail = [*_context(event, caps), *_actions(event, caps)]
    budget = MAX_TOTAL_BLOCK_TEXT - block_text_length(head + tail)
    return [*head, *_items(event, caps, budget), *tail]


def _reply_blocks(event: Event, caps: _Caps) -> list[Block]:
    title = f"{EMOJI.get(event.type, '')} {one_line(event.title) or event.type}".strip()
    head = _bold(title, 300)
    summary = mrkdwn(event.summary.strip(), min(caps.summary, MAX_SECTION_TEXT - slack_len(head) - 1))
    first: Block = {
        "type": "section",
        "block_id": marker(event.key, "reply"),
        "text": _md(head + ("\n" + summary if summary else "")),
    }
    tail = _context(event, caps)
    budget = MAX_TOTAL_BLOCK_TEXT - block_text_length([first, *tail])
    return [first, *_items(event, caps, budget), *tail]


__all__ = [
    "ACTION_IDS",
    "MAX_TOTAL_BLOCK_TEXT",
    "block_text_length",
    "clip",
    "digest",
    "escape",
    "fallback_text",
    "marker",
    "message",
    "metadata",
    "mrkdwn",
    "reply",
    "slack_len",
]
