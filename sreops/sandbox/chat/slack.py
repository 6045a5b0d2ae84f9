"""A stand-in for the subset of the Slack Web API that sreops uses.

Served under ``/api/`` so that ``slack_sdk.WebClient(base_url="http://HOST:PORT/api/")`` and
``AsyncWebClient`` work unchanged. Methods: ``api.test``, ``auth.test``, ``chat.postMessage``,
``chat.update``, ``conversations.list`` (cursor pagination), ``conversations.replies``,
``conversations.history``.

Behaviour mirrored from Slack:

- Bodies: ``application/x-www-form-urlencoded`` (``blocks`` as a JSON string), multipart, or
  ``application/json``; arguments may also come in the query string. With a JSON body the token must
  be in ``Authorization: Bearer``; otherwise a ``token`` argument also works.
- Errors are HTTP 200 with ``{"ok": false, "error": CODE}``: ``not_authed`` (no token),
  ``invalid_auth`` (unknown token), ``channel_not_found``, ``no_text``, ``msg_too_long``,
  ``invalid_blocks`` / ``invalid_blocks_format`` (with an ``errors`` list of json-pointers as Slack
  gives), ``thread_not_found``, ``message_not_found``, ``invalid_cursor``, ``invalid_limit``,
  ``invalid_arguments``, ``invalid_json``. Unknown methods: HTTP 404 ``unknown_method``.
- Rate limits: HTTP 429, a ``Retry-After`` header in whole seconds and ``{"ok": false, "error":
  "ratelimited"}``. ``chat.postMessage``: one message per second per channel with a burst of
  :data:`DEFAULT_POST_BURST` (Slack documents "1 per second, short bursts allowed" without a number;
  3 is our choice). ``chat.update``: Slack's Tier 3 (50 per minute per workspace, burst 50). Only
  requests that would otherwise succeed take from the bucket.
- ``ts`` values look like ``1700000000.000100`` and are unique and increasing per channel.
- ``chat.postMessage`` accepts a channel id, ``name`` or ``#name``; ``chat.update`` and
  ``conversations.replies`` need the channel id, as on Slack.
- Message metadata: ``chat.postMessage`` and ``chat.update`` take ``metadata`` (``{"event_type": str,
  "event_payload": object}``, a JSON string in form bodies; else ``invalid_metadata_format`` /
  ``invalid_metadata_schema``); ``conversations.history`` and ``conversations.replies`` return it only with
  ``include_all_metadata=true``, as Slack does.
- Membership: the bot is in every channel but :data:`DEFAULT_OUTSIDE_CHANNELS` (public channels it was never
  invited to): ``conversations.list`` shows those with ``is_member: false``, and posting, updating or reading
  there is ``not_in_channel``, as for a bot without ``chat:write.public``.
- Recorded: every accepted ``chat.postMessage`` / ``chat.update`` (see :mod:`.recording`), with the
  channel id (what Slack answers with) and, for threads, the root message's ``ts``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from .ratelimit import Clock, KeyedRateLimiter, RateLimit
from .recording import SlackRecorder, WallClock

log = logging.getLogger(__name__)

API_PREFIX = "/api/"
DEFAULT_CHANNELS = ("sre-alerts", "sre-ops", "general")
# Public channels the bot was never invited to: listed (is_member false), but posting there is `not_in_channel`.
DEFAULT_OUTSIDE_CHANNELS = ("announcements",)
DEFAULT_POST_BURST = 3
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_MESSAGE_TEXT = 40_000
MAX_BLOCK_ID = 255
BLOCK_TYPES = frozenset(
    {"section", "header", "divider", "context", "actions", "image", "rich_text", "input", "file", "video"}
)
TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})


class SlackError(Exception):
    """An ``ok: false`` answer. ``status`` is the HTTP status (200 for almost all Slack errors)."""

    def __init__(
        self,
        error: str,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


def channel_id_for(name: str) -> str:
    """A stable, Slack-looking channel id for a channel name (``C`` + 10 upper-case hex digits)."""
    return "C" + hashlib.sha256(name.encode()).hexdigest()[:10].upper()


@dataclass(frozen=True)
class SlackChannel:
    id: str
    name: str
    is_private: bool = False
    is_archived: bool = False
    is_member: bool = True
    created: int = 1_700_000_000

    def to_api(self, creator: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_general": self.name == "general",
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "is_member": self.is_member,
            "created": self.created,
            "creator": creator,
            "num_members": 3,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }


@dataclass(frozen=True)
class SlackConfig:
    """What the Slack workspace looks like. ``tokens`` are the bot tokens it accepts."""

    tokens: tuple[str, ...]
    channels: tuple[str, ...] = DEFAULT_CHANNELS
    private_channels: tuple[str, ...] = ()
    outside_channels: tuple[str, ...] = DEFAULT_OUTSIDE_CHANNELS
    team_id: str = "T0SANDBOX"
    team: str = "sreops-sandbox"
    bot_user_id: str = "U0SREOPSBOT"
    bot_user: str = "sreops"
    bot_id: str = "B0SREOPS"
    app_id: str = "A0SREOPS"
    post_limit: RateLimit = field(default_factory=lambda: RateLimit(rate=1.0, burst=DEFAULT_POST_BURST))
    update_limit: RateLimit = field(default_factory=lambda: RateLimit(rate=50 / 60, burst=50))

    def __post_init__(self) -> None:
        if not self.tokens:
            raise ValueError("the Slack stand-in needs at least one bot token")


@dataclass
class _Message:
    ts: str
    thread_ts: str | None  # the root's ts for replies, None for a root message
    text: str | None
    blocks: list[Any] | None
    replies: list[str] = field(default_factory=list)
    edited_ts: str | None = None
    metadata: dict[str, Any] | None = None  # {"event_type", "event_payload"}, as posted


@dataclass
class _ChannelState:
    channel: SlackChannel
    messages: dict[str, _Message] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    last_micros: int = 0


Params = dict[str, Any]
Handler = Callable[[Params, str], Awaitable[dict[str, Any]]]


class SlackStandIn:
    """The Slack Web API stand-in. :meth:`register` adds its routes to an aiohttp application."""

    def __init__(
        self,
        config: SlackConfig,
        state_dir: Path,
        *,
        clock: Clock = time.monotonic,
        wall_clock: WallClock = time.time,
    ) -> None:
        self.config = config
        self._wall_clock = wall_clock
        self._recorder = SlackRecorder(state_dir, wall_clock)
        self._post_limiter = KeyedRateLimiter(config.post_limit, clock)
        self._update_limiter = KeyedRateLimiter(config.update_limit, clock)
        self._lock = threading.Lock()
        # 429 answers by method: tests check that a client waits out Retry-After instead of hammering.
        self.rate_limited: Counter[str] = Counter()
        self._channels: dict[str, _ChannelState] = {}
        for name in config.channels:
            self._add_channel(SlackChannel(id=channel_id_for(name), name=name))
        for name in config.private_channels:
            self._add_channel(SlackChannel(id=channel_id_for(name), name=name, is_private=True))
        for name in config.outside_channels:
            self._add_channel(SlackChannel(id=channel_id_for(name), name=name, is_member=False))
        self._methods: dict[str, Handler] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "conversations.list": self._conversations_list,
            "conversations.replies": self._conversations_replies,
            "conversations.history": self._conversations_history,
        }

    @property
    def recording_path(self) -> Path:
        return self._recorder.path

    def channel_ids(self) -> dict[str, str]:
        """Channel name -> id, for tests and for the sandbox's printed endpoints."""
        return {state.channel.name: cid for cid, state in self._channels.items()}

    def _add_channel(self, channel: SlackChannel) -> None:
        self._channels[channel.id] = _ChannelState(channel)

    def register(self, app: web.Application) -> None:
        app.router.add_route("*", API_PREFIX + "{method}", self.handle)

    # --- HTTP plumbing -------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            params, is_json = await _read_params(request)
            if method == "api.test":
                return _ok({"args": {k: v for k, v in params.items() if k != "token"}})
            handler = self._methods.get(method)
            if handler is None:
                raise SlackError("unknown_method", status=404, extra={"req_method": method})
            token = self._authenticate(request, params, is_json)
            return _ok(await handler(params, token))
        except SlackError as err:
            if err.status == 429:
                with self._lock:
                    self.rate_limited[method] += 1
            return web.json_response(
                {"ok": False, "error": err.error, **err.extra}, status=err.status, headers=err.headers
            )

    def _authenticate(self, request: web.Request, params: Params, is_json: bool) -> str:
        header = request.headers.get("Authorization", "")
        token: str | None = None
        if header.startswith("Bearer "):
            token = header[len("Bearer ") :].strip() or None
        elif not is_json:
            value = params.get("token")
            token = value if isinstance(value, str) and value else None
        if token is None:
            raise SlackError("not_authed")
        if not any(hmac.compare_digest(token, known) for known in self.config.tokens):
            raise SlackError("invalid_auth")
        return token

    # --- methods -------------------------------------------------------------------------------------

    async def _auth_test(self, params: Params, token: str) -> dict[str, Any]:
        return {
            "url": f"https://{self.config.team}.slack.com/",
            "team": self.config.team,
            "user": self.config.bot_user,
            "team_id": self.config.team_id,
            "user_id": self.config.bot_user_id,
            "bot_id": self.config.bot_id,
            "is_enterprise_install": False,
        }

    async def _post_message(self, params: Params, token: str) -> dict[str, Any]:
        state = self._channel(params, by_name=True)
        text = _optional_str(params, "text")
        blocks = _parse_blocks(params.get("blocks"))
        _check_content(text, blocks, has_attachments=bool(params.get("attachments")))
        metadata = _parse_metadata(params.get("metadata"))
        thread_param = _optional_str(params, "thread_ts")
        with self._lock:
            root_ts: str | None = None
            if thread_param:
                parent = state.messages.get(thread_param)
                if parent is None:
                    raise SlackError("thread_not_found")
                root_ts = parent.thread_ts or parent.ts
            _rate_limit(self._post_limiter, state.channel.id)
            ts = self._next_ts(state)
            message = _Message(ts=ts, thread_ts=root_ts, text=text, blocks=blocks, metadata=metadata)
            state.messages[ts] = message
            state.order.append(ts)
            if root_ts is not None:
                state.messages[root_ts].replies.append(ts)
            self._recorder.record(
                method="chat.postMessage",
                channel=state.channel.id,
                ts=ts,
                thread_ts=root_ts,
                text=text,
                blocks=blocks,
            )
        return {"channel": state.channel.id, "ts": ts, "message": self._message_api(message)}

    async def _update(self, params: Params, token: str) -> dict[str, Any]:
        state = self._channel(params, by_name=False)
        ts = _optional_str(params, "ts")
        text = _optional_str(params, "text")
        blocks = _parse_blocks(params.get("blocks"))
        _check_content(text, blocks, has_attachments=bool(params.get("attachments")))
        metadata = _parse_metadata(params.get("metadata"))
        with self._lock:
            message = state.messages.get(ts or "")
            if message is None:
                raise SlackError("message_not_found")
            _rate_limit(self._update_limiter, token)
            if metadata is not None:
                message.metadata = metadata
            if text is not None:
                message.text = text
            if blocks is not None:
                message.blocks = blocks or None
            message.edited_ts = self._next_ts(state)
            self._recorder.record(
                method="chat.update",
                channel=state.channel.id,
                ts=message.ts,
                thread_ts=message.thread_ts,
                text=message.text,
                blocks=message.blocks,
            )
        return {
            "channel": state.channel.id,
            "ts": message.ts,
            "text": message.text or "",
            "message": self._message_api(message),
        }

    async def _conversations_list(self, params: Params, token: str) -> dict[str, Any]:
        limit = _limit(params, default=100, maximum=1000)
        types = {t.strip() for t in (_optional_str(params, "types") or "public_channel").split(",")}
        if not types <= {"public_channel", "private_channel", "mpim", "im"}:
            raise SlackError("invalid_types")
        exclude_archived = str(params.get("exclude_archived", "false")).lower() in {"true", "1"}
        channels = [
            s.channel
            for s in self._channels.values()
            if ("private_channel" if s.channel.is_private else "public_channel") in types
            and not (exclude_archived and s.channel.is_archived)
        ]
        channels.sort(key=lambda c: c.id)
        page, next_cursor = _page(channels, [c.id for c in channels], params, limit, "channel")
        return {
            "channels": [c.to_api(self.config.bot_user_id) for c in page],
            "response_metadata": {"next_cursor": next_cursor},
        }

    async def _conversations_replies(self, params: Params, token: str) -> dict[str, Any]:
        state = self._channel(params, by_name=False)
        ts = _optional_str(params, "ts")
        limit = _limit(params, default=1000, maximum=1000)
        with self._lock:
            message = state.messages.get(ts or "")
            if message is None:
                raise SlackError("thread_not_found")
            root = state.messages[message.thread_ts] if message.thread_ts else message
            thread = [root, *(state.messages[r] for r in root.replies)]
        page, next_cursor = _page(thread, [m.ts for m in thread], params, limit, "ts")
        return {
            "messages": [
                self._message_api(m, with_thread_info=True, metadata=_flag(params, "include_all_metadata"))
                for m in page
            ],
            "has_more": bool(next_cursor),
            "response_metadata": {"next_cursor": next_cursor},
        }

    async def _conversations_history(self, params: Params, token: str) -> dict[str, Any]:
        """A channel's messages, newest first, without thread replies (as Slack answers): `oldest` and `latest`
        bound the ts range (exclusive unless `inclusive`), `limit` 1..999 (default 100), cursor paging."""
        state = self._channel(params, by_name=False)
        limit = _limit(params, default=100, maximum=999)
        inclusive = str(params.get("inclusive", "")).lower() in ("1", "true")
        oldest = float(_optional_str(params, "oldest") or 0)
        latest = float(_optional_str(params, "latest") or "inf")

        def within(ts: str) -> bool:
            t = float(ts)
            return (oldest <= t <= latest) if inclusive else (oldest < t < latest)

        with self._lock:
            top = [m for m in reversed(list(state.messages.values())) if m.thread_ts is None and within(m.ts)]
        page, next_cursor = _page(top, [m.ts for m in top], params, limit, "ts")
        return {
            "messages": [
                self._message_api(m, with_thread_info=True, metadata=_flag(params, "include_all_metadata"))
                for m in page
            ],
            "has_more": bool(next_cursor),
            "pin_count": 0,
            "response_metadata": {"next_cursor": next_cursor},
        }

    # --- helpers -------------------------------------------------------------------------------------

    def _channel(self, params: Params, *, by_name: bool) -> _ChannelState:
        value = params.get("channel")
        if not isinstance(value, str) or not value:
            raise SlackError("channel_not_found")
        state = self._channels.get(value)
        if state is None and by_name:
            name = value.removeprefix("#")
            state = next((s for s in self._channels.values() if s.channel.name == name), None)
        if state is None:
            raise SlackError("channel_not_found")
        if state.channel.is_archived:
            raise SlackError("is_archived")
        if not state.channel.is_member:
            raise SlackError("not_in_channel")
        return state

    def _next_ts(self, state: _ChannelState) -> str:
        micros = max(int(self._wall_clock() * 1_000_000), state.last_micros + 1)
        state.last_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _message_api(
        self, message: _Message, *, with_thread_info: bool = False, metadata: bool = False
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "message",
            "subtype": "bot_message",
            "text": message.text or "",
            "user": self.config.bot_user_id,
            "bot_id": self.config.bot_id,
            "app_id": self.config.app_id,
            "team": self.config.team_id,
            "ts": message.ts,
        }
        if message.blocks is not None:
            out["blocks"] = message.blocks
        if message.thread_ts is not None:
            out["thread_ts"] = message.thread_ts
            out["parent_user_id"] = self.config.bot_user_id
        elif with_thread_info and message.replies:
            out["thread_ts"] = message.ts
            out["reply_count"] = len(message.replies)
            out["latest_reply"] = message.replies[-1]
        if message.edited_ts is not None:
            out["edited"] = {"user": self.config.bot_user_id, "ts": message.edited_ts}
        if metadata and message.metadata is not None:
            out["metadata"] = message.metadata
        return out


# --- request parsing and validation ------------------------------------------------------------------


def _ok(body: Mapping[str, Any]) -> web.Response:
    return web.json_response({"ok": True, **body})


async def _read_params(request: web.Request) -> tuple[Params, bool]:
    params: Params = dict(request.query)
    if request.method not in {"POST", "PUT"} or not request.can_read_body:
        return params, False
    if request.content_type == "application/json":
        raw = await request.read()
        try:
            body = json.loads(raw or b"{}")
        except (ValueError, UnicodeDecodeError) as err:
            raise SlackError("invalid_json") from err
        if not isinstance(body, dict):
            raise SlackError("invalid_json")
        params.update(body)
        return params, True
    if request.content_type in {"application/x-www-form-urlencoded", "multipart/form-data"}:
        try:
            form = await request.post()
        except (ValueError, UnicodeError, HttpProcessingError) as err:
            raise SlackError("invalid_form_data") from err
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
        return params, False
    # Slack reads other content types as form data; a body it cannot read carries no arguments.
    return params, False


def _optional_str(params: Params, name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise SlackError("invalid_arguments", extra={"response_metadata": {"messages": [f"bad {name}"]}})
    return str(value)


def _limit(params: Params, *, default: int, maximum: int) -> int:
    raw = params.get("limit")
    if raw in (None, ""):
        return default
    try:
        limit = int(str(raw))
    except ValueError as err:
        raise SlackError("invalid_limit") from err
    if limit < 1:
        raise SlackError("invalid_limit")
    return min(limit, maximum)


def _page(items: Sequence[Any], keys: Sequence[str], params: Params, limit: int, kind: str) -> tuple[list[Any], str]:
    """Cursor pagination like Slack's: opaque base64 cursors, ``""`` on the last page."""
    start = 0
    cursor = _optional_str(params, "cursor")
    if cursor:
        try:
            decoded = base64.b64decode(cursor.encode(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as err:
            raise SlackError("invalid_cursor") from err
        prefix = kind + ":"
        if not decoded.startswith(prefix) or decoded[len(prefix) :] not in keys:
            raise SlackError("invalid_cursor")
        start = list(keys).index(decoded[len(prefix) :])
    page = list(items[start : start + limit])
    following = start + limit
    next_cursor = ""
    if following < len(items):
        next_cursor = base64.b64encode(f"{kind}:{keys[following]}".encode()).decode()
    return page, next_cursor


def _check_content(text: str | None, blocks: list[Any] | None, *, has_attachments: bool) -> None:
    if not text and not blocks and not has_attachments:
        raise SlackError("no_text")
    if text is not None and len(text) > MAX_MESSAGE_TEXT:
        raise SlackError("msg_too_long")


def _rate_limit(limiter: KeyedRateLimiter, key: str) -> None:
    decision = limiter.acquire(key)
    if not decision.allowed:
        raise SlackError("ratelimited", status=429, headers={"Retry-After": decision.retry_after_header})


def _flag(params: Params, name: str) -> bool:
    return str(params.get(name, "")).lower() in ("1", "true")


def _parse_metadata(raw: Any) -> dict[str, Any] | None:
    """Message metadata as Slack takes it: a JSON object (a JSON string in form bodies) with a string
    `event_type` and an object `event_payload`; otherwise `invalid_metadata_format` / `invalid_metadata_schema`."""
    if raw is None or raw == "":
        return None
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError as err:
            raise SlackError("invalid_metadata_format") from err
    if not isinstance(value, dict):
        raise SlackError("invalid_metadata_format")
    if not isinstance(value.get("event_type"), str) or not value["event_type"]:
        raise SlackError("invalid_metadata_schema")
    if not isinstance(value.get("event_payload"), dict):
        raise SlackError("invalid_metadata_schema")
    return {"event_type": value["event_type"], "event_payload": value["event_payload"]}


def _parse_blocks(raw: Any) -> list[Any] | None:
    """Blocks from a JSON string (form bodies) or a list (JSON bodies), validated like Block Kit."""
    if raw is None or raw == "":
        return None
    blocks = raw
    if isinstance(raw, str):
        try:
            blocks = json.loads(raw)
        except ValueError as err:
            raise SlackError("invalid_blocks_format") from err
    if not isinstance(blocks, list):
        raise SlackError("invalid_blocks_format")
    errors: list[str] = []
    if len(blocks) > MAX_BLOCKS:
        errors.append(f"must be less than {MAX_BLOCKS + 1} items [json-pointer:/blocks]")
    for index, block in enumerate(blocks):
        errors.extend(_block_errors(block, f"/blocks/{index}"))
    if errors:
        raise SlackError(
            "invalid_blocks",
            extra={"errors": errors, "response_metadata": {"messages": [f"[ERROR] {e}" for e in errors]}},
        )
    return blocks


def _block_errors(block: Any, pointer: str) -> list[str]:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        return [f"missing required field: type [json-pointer:{pointer}]"]
    kind = block["type"]
    if kind not in BLOCK_TYPES:
        return [f"unsupported type: {kind} [json-pointer:{pointer}/type]"]
    errors: list[str] = []
    block_id = block.get("block_id")
    if block_id is not None and (not isinstance(block_id, str) or len(block_id) > MAX_BLOCK_ID):
        errors.append(f"must be less than {MAX_BLOCK_ID + 1} characters [json-pointer:{pointer}/block_id]")
    if kind == "section":
        if "text" not in block and "fields" not in block:
            errors.append(f"must provide either text or fields [json-pointer:{pointer}]")
        if "text" in block:
            errors.extend(_text_errors(block["text"], f"{pointer}/text", MAX_SECTION_TEXT))
        if "fields" in block:
            fields = block["fields"]
            if not isinstance(fields, list) or len(fields) > MAX_SECTION_FIELDS:
                errors.append(f"must be less than {MAX_SECTION_FIELDS + 1} items [json-pointer:{pointer}/fields]")
            else:
                for i, item in enumerate(fields):
                    errors.extend(_text_errors(item, f"{pointer}/fields/{i}", MAX_FIELD_TEXT))
    elif kind == "header":
        errors.extend(_text_errors(block.get("text"), f"{pointer}/text", MAX_HEADER_TEXT, plain_only=True))
    elif kind in {"context", "actions"}:
        maximum = 10 if kind == "context" else 25
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements or len(elements) > maximum:
            errors.append(f"must contain 1 to {maximum} items [json-pointer:{pointer}/elements]")
        elif not all(isinstance(e, dict) and isinstance(e.get("type"), str) for e in elements):
            errors.append(f"every element needs a type [json-pointer:{pointer}/elements]")
    return errors


def _text_errors(obj: Any, pointer: str, maximum: int, *, plain_only: bool = False) -> list[str]:
    allowed = {"plain_text"} if plain_only else TEXT_TYPES
    if not isinstance(obj, dict) or obj.get("type") not in allowed:
        return [f"must be a text object of type {'|'.join(sorted(allowed))} [json-pointer:{pointer}]"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"must be more than 0 characters [json-pointer:{pointer}/text]"]
    if len(text) > maximum:
        return [f"must be less than {maximum + 1} characters [json-pointer:{pointer}/text]"]
    return []
