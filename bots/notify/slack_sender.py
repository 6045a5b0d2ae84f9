"""Sends notification messages to Slack with slack_sdk's synchronous ``WebClient``; no kopf, no Kubernetes.

    sender = SlackSender(token, base_url=os.environ.get("SREOPS_SLACK_API_URL", DEFAULT_BASE_URL))
    channel = sender.check("#sre-alerts")           # auth.test + the channel resolved, the bot a member
    ts = sender.post(channel.id, text, blocks, key=event.key)
    sender.update(channel.id, ts, text, blocks, key=next_event.key)
    sender.post(channel.id, text, blocks, thread_ts=ts, key=event.key, part="reply")
    sender.find_message(channel.id, event.key)       # after a crash: was it sent? (its ts, or None)

Errors are typed (:class:`SlackError` and subclasses), each with Slack's error code (``invalid_auth``,
``channel_not_found``, ``not_in_channel``, ``ratelimited``…) and ``retryable``. The token never appears in
an exception, a repr or a log line: it is kept inside the WebClient, errors are built from Slack's error
code only (never chained to slack_sdk's exceptions, whose request arguments hold the headers), and a
token with whitespace inside is refused up front (urllib would put it into a ``ValueError``).

Rate limits: a 429 is retried after its ``Retry-After`` (slack_sdk's retry-handler hook, with our bounded
handler: at most ``max_rate_limit_wait`` seconds in all per call), then :class:`SlackRateLimitedError` with the
``retry_after`` Slack asked for. Nothing else is retried here: a connection error after a
``chat.postMessage`` may or may not have posted it, so it is :class:`SlackUnavailableError`
(``maybe_delivered``) and the caller looks the message up (:meth:`SlackSender.find_message`) before
posting again.

Finding a message again: each posted or updated message carries the event key twice, as message metadata
(``{"event_type": "sreops_notification", "event_payload": {"key", "part"}}``, kept by Slack and returned by
``conversations.history`` with ``include_all_metadata``) and as the first block's ``block_id``
(:func:`.slack_blocks.marker`), which survives where metadata is not kept.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from functools import partial
from http.client import HTTPException
from typing import Any
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from .slack_blocks import Part, marker, metadata

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://slack.com/api/"
HISTORY_PAGE = 200  # Slack recommends no more than 200 per page
LIST_PAGE = 200

AUTH_ERRORS = frozenset(
    {
        "not_authed",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "not_allowed_token_type",
        "ekm_access_denied",
        "team_access_not_granted",
    }
)
CHANNEL_ERRORS = frozenset(
    {"channel_not_found", "not_in_channel", "is_archived", "restricted_action", "restricted_action_read_only_channel"}
)
UNAVAILABLE_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "connection_error", "timeout"}
)


# --- errors ------------------------------------------------------------------------------------------


class SlackError(Exception):
    """A Slack call that failed. ``code`` is Slack's error code (or ours for transport failures)."""

    retryable = False

    def __init__(self, method: str, code: str, *, status: int | None = None, detail: str = "") -> None:
        self.method = method
        self.code = code
        self.status = status
        self.detail = detail
        text = f"Slack {method}: {code}"
        if detail:
            text += f" ({detail})"
        super().__init__(text)


class SlackAuthError(SlackError):
    """The token is missing, unknown, revoked or lacks a scope (``invalid_auth``, ``missing_scope``…)."""


class SlackChannelError(SlackError):
    """The channel does not exist, is archived, or the bot is not in it (``not_in_channel``)."""


class SlackRateLimitedError(SlackError):
    """HTTP 429 for longer than the sender waits: try again after ``retry_after`` seconds."""

    retryable = True

    def __init__(self, method: str, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(method, "ratelimited", status=429, detail=f"Retry-After {retry_after:g}s")


class SlackUnavailableError(SlackError):
    """Slack could not be reached or failed (5xx, timeouts). ``maybe_delivered``: the request may have
    been acted on (look the message up before posting it again)."""

    retryable = True

    def __init__(
        self, method: str, code: str, *, status: int | None = None, detail: str = "", maybe_delivered: bool = False
    ) -> None:
        self.maybe_delivered = maybe_delivered
        super().__init__(method, code, status=status, detail=detail)


# --- results -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlackChannel:
    id: str
    name: str
    is_private: bool = False


@dataclass(frozen=True)
class SlackIdentity:
    """What ``auth.test`` says about the token."""

    team_id: str
    team: str
    user_id: str
    bot_id: str


@dataclass(frozen=True)
class SlackCheck:
    identity: SlackIdentity
    channel: SlackChannel


@dataclass(frozen=True)
class SlackMessage:
    """A message as ``conversations.history``/``replies`` give it, reduced to what recovery needs."""

    ts: str
    thread_ts: str | None
    text: str
    block_ids: tuple[str, ...] = ()
    metadata_key: str | None = None
    metadata_part: str | None = None
    reply_count: int = 0

    def carries(self, key: str, part: Part = "message") -> bool:
        """Whether this is the message sent for event ``key`` (its metadata or its first block's marker)."""
        if self.metadata_key == key and (self.metadata_part or "message") == part:
            return True
        return marker(key, part) in self.block_ids

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> SlackMessage:
        blocks = data.get("blocks") or []
        block_ids = tuple(str(b["block_id"]) for b in blocks if isinstance(b, Mapping) and b.get("block_id"))
        meta = data.get("metadata") or {}
        payload = meta.get("event_payload") or {} if meta.get("event_type") == "sreops_notification" else {}
        thread_ts = data.get("thread_ts")
        return cls(
            ts=str(data.get("ts", "")),
            thread_ts=str(thread_ts) if thread_ts else None,
            text=str(data.get("text") or ""),
            block_ids=block_ids,
            metadata_key=str(payload["key"]) if payload.get("key") else None,
            metadata_part=str(payload["part"]) if payload.get("part") else None,
            reply_count=int(data.get("reply_count") or 0),
        )


# --- rate limits -------------------------------------------------------------------------------------


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """A ``Retry-After`` header (delta seconds or an HTTP date) in seconds, or None if absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = moment.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


class BoundedRateLimitHandler(RetryHandler):
    """Retries HTTP 429 after Retry-After, as long as the total wait of one call stays within ``max_wait``.

    slack_sdk's own RateLimitErrorRetryHandler waits whatever Slack says, as often as ``max_retry_count``;
    this one refuses a wait that would take the call past ``max_wait`` seconds, so the caller gets
    :class:`SlackRateLimitedError` and can fold the message into a digest or retry later.
    """

    def __init__(self, max_wait: float, *, max_retry_count: int = 10, sleep: Callable[[float], None] = time.sleep):
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait
        self._sleep = sleep

    @staticmethod
    def _retry_after(response: HttpResponse | None) -> float | None:
        if response is None:
            return None
        for name, values in response.headers.items():
            if name.lower() == "retry-after":
                value = values[0] if isinstance(values, list) and values else values
                return retry_after_seconds(str(value))
        return None

    @staticmethod
    def _waited(state: RetryState) -> float:
        return float((state.custom_values or {}).get("sreops_waited", 0.0))

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = self._retry_after(response)
        wait = 1.0 if wait is None else wait
        return self._waited(state) + wait <= self.max_wait

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        wait = self._retry_after(response)
        wait = 1.0 if wait is None else wait
        state.custom_values = {**(state.custom_values or {}), "sreops_waited": self._waited(state) + wait}
        state.next_attempt_requested = True
        log.info("slack: rate limited on %s, waiting %.1fs (Retry-After)", urlsplit(request.url).path, wait)
        self._sleep(wait)
        state.increment_current_attempt()


# --- the sender --------------------------------------------------------------------------------------


def _check_secret(token: str) -> str:
    token = token.strip()
    if not token:
        raise SlackAuthError("init", "not_authed", detail="the token is empty")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in token):
        raise SlackAuthError("init", "invalid_auth", detail="the token contains whitespace or control characters")
    return token


class SlackSender:
    """One bot token's view of Slack. Thread-safe as WebClient is (one request per call)."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 10.0,
        max_rate_limit_wait: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not base_url.endswith("/"):
            base_url += "/"
        self.base_url = base_url
        self.max_rate_limit_wait = max_rate_limit_wait
        self._secret = _check_secret(token)
        self._handler = BoundedRateLimitHandler(max_rate_limit_wait, sleep=sleep)
        self._client = WebClient(
            token=self._secret,
            base_url=base_url,
            timeout=max(1, math.ceil(timeout)),
            retry_handlers=[self._handler],
        )

    def __repr__(self) -> str:
        return f"SlackSender(base_url={self.base_url!r})"

    # --- calls ---------------------------------------------------------------------------------------

    def _call(self, method: str, fn: Callable[[], Any], *, mutating: bool = False) -> Mapping[str, Any]:
        try:
            response = fn()
        except SlackApiError as err:
            raise self._api_error(method, err) from None
        except TimeoutError:
            raise SlackUnavailableError(method, "timeout", maybe_delivered=mutating) from None
        except (OSError, HTTPException, SlackClientError) as err:
            detail = self._redact(type(err).__name__)
            raise SlackUnavailableError(method, "connection_error", detail=detail, maybe_delivered=mutating) from None
        data = response.data
        if not isinstance(data, Mapping):
            raise SlackUnavailableError(method, "invalid_response", maybe_delivered=mutating)
        return data

    def _api_error(self, method: str, err: SlackApiError) -> SlackError:
        response = err.response
        status = int(getattr(response, "status_code", 0) or 0) or None
        data = response.data if isinstance(getattr(response, "data", None), Mapping) else {}
        code = str(data.get("error") or f"http_{status}")
        if status == 429 or code == "ratelimited":
            headers = getattr(response, "headers", {}) or {}
            raw = next((str(v) for k, v in headers.items() if k.lower() == "retry-after"), None)
            after = retry_after_seconds(raw)
            return SlackRateLimitedError(method, 1.0 if after is None else after)
        detail = self._redact(_error_detail(data))
        if code in AUTH_ERRORS:
            return SlackAuthError(method, code, status=status, detail=detail)
        if code in CHANNEL_ERRORS:
            return SlackChannelError(method, code, status=status, detail=detail)
        if code in UNAVAILABLE_ERRORS or (status is not None and status >= 500):
            return SlackUnavailableError(method, code, status=status, detail=detail, maybe_delivered=True)
        return SlackError(method, code, status=status, detail=detail)

    def _redact(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret and text else text

    # --- checks --------------------------------------------------------------------------------------

    def auth_test(self) -> SlackIdentity:
        data = self._call("auth.test", self._client.auth_test)
        return SlackIdentity(
            team_id=str(data.get("team_id", "")),
            team=str(data.get("team", "")),
            user_id=str(data.get("user_id", "")),
            bot_id=str(data.get("bot_id", "")),
        )

    def _list_channels(self, types: str, max_pages: int) -> Iterator[Mapping[str, Any]]:
        cursor: str | None = None
        for _ in range(max_pages):
            data = self._call(
                "conversations.list",
                partial(
                    self._client.conversations_list, types=types, exclude_archived=True, limit=LIST_PAGE, cursor=cursor
                ),
            )
            for entry in data.get("channels") or []:
                if isinstance(entry, Mapping):
                    yield entry
            cursor = str((data.get("response_metadata") or {}).get("next_cursor") or "") or None
            if cursor is None:
                return

    def resolve_channel(self, channel: str, *, max_pages: int = 50) -> SlackChannel:
        """A channel by id (``C0123ABCD``) or name (``sre-alerts`` / ``#sre-alerts``), the bot a member.

        Raises :class:`SlackChannelError` ``channel_not_found`` or ``not_in_channel``. Private channels are
        listed only with the ``groups:read`` scope; without it, public channels are searched.
        """
        wanted = channel.strip()
        name = wanted.removeprefix("#")
        try:
            entries = list(self._list_channels("public_channel,private_channel", max_pages))
        except SlackAuthError as err:
            if err.code != "missing_scope":
                raise
            entries = list(self._list_channels("public_channel", max_pages))
        for entry in entries:
            if entry.get("id") == wanted or entry.get("name") == name:
                found = SlackChannel(str(entry["id"]), str(entry.get("name", "")), bool(entry.get("is_private")))
                if entry.get("is_archived"):
                    raise SlackChannelError("conversations.list", "is_archived", detail=f"#{found.name}")
                if entry.get("is_member") is False:
                    raise SlackChannelError(
                        "conversations.list", "not_in_channel", detail=f"invite the bot to #{found.name}"
                    )
                return found
        raise SlackChannelError("conversations.list", "channel_not_found", detail=_shown(wanted))

    def check(self, channel: str) -> SlackCheck:
        """Ready means: ``auth.test`` ok, the channel found (by name or id) and the bot in it."""
        identity = self.auth_test()
        return SlackCheck(identity=identity, channel=self.resolve_channel(channel))

    # --- messages ------------------------------------------------------------------------------------

    def post(
        self,
        channel_id: str,
        text: str,
        blocks: Sequence[Mapping[str, Any]],
        thread_ts: str | None = None,
        *,
        key: str | None = None,
        part: Part = "message",
    ) -> str:
        """``chat.postMessage``; returns the message's ``ts``. ``key`` goes into the message metadata."""
        meta = metadata(key, part) if key else None
        data = self._call(
            "chat.postMessage",
            lambda: self._client.chat_postMessage(
                channel=channel_id,
                text=text,
                blocks=[dict(b) for b in blocks] or None,
                thread_ts=thread_ts,
                metadata=meta,
                unfurl_links=False,
                unfurl_media=False,
            ),
            mutating=True,
        )
        return str(data.get("ts", ""))

    def update(
        self,
        channel_id: str,
        ts: str,
        text: str,
        blocks: Sequence[Mapping[str, Any]],
        *,
        key: str | None = None,
        part: Part = "message",
    ) -> None:
        """``chat.update`` of the message at ``ts`` (the channel id, not its name, as Slack requires)."""
        meta = metadata(key, part) if key else None
        self._call(
            "chat.update",
            lambda: self._client.chat_update(
                channel=channel_id, ts=ts, text=text, blocks=[dict(b) for b in blocks] or None, metadata=meta
            ),
            mutating=True,
        )

    def history(
        self, channel_id: str, *, oldest: str | None = None, latest: str | None = None, max_pages: int = 5
    ) -> list[SlackMessage]:
        """Recent channel messages, newest first (``conversations.history`` with metadata), paged."""
        out: list[SlackMessage] = []
        cursor: str | None = None
        for _ in range(max_pages):
            data = self._call(
                "conversations.history",
                partial(
                    self._client.conversations_history,
                    channel=channel_id,
                    oldest=oldest,
                    latest=latest,
                    limit=HISTORY_PAGE,
                    cursor=cursor,
                    include_all_metadata=True,
                ),
            )
            out += [SlackMessage.from_api(m) for m in data.get("messages") or [] if isinstance(m, Mapping)]
            cursor = str((data.get("response_metadata") or {}).get("next_cursor") or "") or None
            if cursor is None or not data.get("has_more", True):
                break
        return out

    def replies(self, channel_id: str, thread_ts: str, *, max_pages: int = 5) -> list[SlackMessage]:
        """A thread: its root first, then the replies (``conversations.replies``), paged."""
        out: list[SlackMessage] = []
        cursor: str | None = None
        for _ in range(max_pages):
            data = self._call(
                "conversations.replies",
                partial(
                    self._client.conversations_replies,
                    channel=channel_id,
                    ts=thread_ts,
                    limit=HISTORY_PAGE,
                    cursor=cursor,
                    include_all_metadata=True,
                ),
            )
            out += [SlackMessage.from_api(m) for m in data.get("messages") or [] if isinstance(m, Mapping)]
            cursor = str((data.get("response_metadata") or {}).get("next_cursor") or "") or None
            if cursor is None:
                break
        return out

    def get_message(self, channel_id: str, ts: str) -> SlackMessage | None:
        """The message at ``ts`` (e.g. a thread's parent, to see which update it carries), or None."""
        try:
            messages = self.replies(channel_id, ts, max_pages=1)
        except SlackError as err:
            if err.code in {"thread_not_found", "message_not_found"}:
                return None
            raise
        return next((m for m in messages if m.ts == ts), None)

    def find_message(
        self,
        channel_id: str,
        key: str,
        *,
        part: Part = "message",
        thread_ts: str | None = None,
        oldest: str | None = None,
        max_pages: int = 5,
    ) -> str | None:
        """The ts of the message sent for event ``key``, or None: in the thread ``thread_ts`` if given
        (replies), else in the channel's history since ``oldest``."""
        if thread_ts is not None:
            try:
                messages = self.replies(channel_id, thread_ts, max_pages=max_pages)
            except SlackError as err:
                if err.code == "thread_not_found":
                    return None
                raise
        else:
            messages = self.history(channel_id, oldest=oldest, max_pages=max_pages)
        return next((m.ts for m in messages if m.carries(key, part)), None)


def _error_detail(data: Mapping[str, Any]) -> str:
    """Slack's own explanation: invalid_blocks' json-pointers, a warning, a needed scope."""
    parts: list[str] = []
    errors = data.get("errors")
    if isinstance(errors, list):
        parts += [str(e) for e in errors[:5]]
    messages = (data.get("response_metadata") or {}).get("messages")
    if not parts and isinstance(messages, list):
        parts += [str(m) for m in messages[:5]]
    if data.get("needed"):
        parts.append(f"needed scope: {data['needed']}")
    return "; ".join(parts)[:1000]


def _shown(channel: str) -> str:
    return channel if channel.startswith("#") or channel[:1] in {"C", "G", "D"} else f"#{channel}"


__all__ = [
    "DEFAULT_BASE_URL",
    "BoundedRateLimitHandler",
    "SlackAuthError",
    "SlackChannel",
    "SlackChannelError",
    "SlackCheck",
    "SlackError",
    "SlackIdentity",
    "SlackMessage",
    "SlackRateLimitedError",
    "SlackSender",
    "SlackUnavailableError",
    "retry_after_seconds",
]
