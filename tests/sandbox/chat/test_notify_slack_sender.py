"""The Slack sender (bots/notify/slack_sender.py) against the running Slack stand-in over real HTTP.

What the stand-in cannot answer yet (a channel the bot is not in, a token without ``groups:read``) is answered
by a tiny Slack-shaped HTTP server at the end of this file (which also serves ``conversations.history`` with
message metadata, which the stand-in leaves out).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from sreops.bots.notify import slack_blocks
from sreops.bots.notify.slack_sender import (
    SlackAuthError,
    SlackChannelError,
    SlackError,
    SlackRateLimitedError,
    SlackSender,
    SlackUnavailableError,
)
from sreops.sandbox.chat.ratelimit import ManualClock, RateLimit
from sreops.sandbox.chat.recording import read_jsonl
from sreops.sandbox.chat.server import ChatSandbox, ThreadedChatSandbox
from tests.unit.test_notify_samples import SAMPLES


class Sleeps:
    """A sleep that moves the stand-in's manual clock instead of waiting, and remembers each wait."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(seconds)


def sender(sandbox: ChatSandbox, sleep: Callable[[float], None], token: str | None = None, **kw: Any) -> SlackSender:
    return SlackSender(token or sandbox.slack_token, base_url=sandbox.slack_api_url, sleep=sleep, **kw)


def messages(sandbox: ChatSandbox) -> list[dict[str, Any]]:
    return read_jsonl(sandbox.slack_messages_path)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def sleeps(clock: ManualClock) -> Sleeps:
    return Sleeps(clock)


# --- check: auth.test and the channel ----------------------------------------------------------------


@pytest.mark.parametrize("channel", ["#sre-alerts", "sre-alerts", "id"])
def test_check_finds_the_channel_by_name_or_id(sandbox: ChatSandbox, sleeps: Sleeps, channel: str) -> None:
    channel_id = sandbox.slack_channel_ids["sre-alerts"]
    check = sender(sandbox, sleeps).check(channel_id if channel == "id" else channel)
    assert check.channel.id == channel_id
    assert check.channel.name == "sre-alerts"
    assert check.identity.user_id == "U0SREOPSBOT"
    assert check.identity.team_id.startswith("T")


def test_check_walks_every_page_of_conversations_list(tmp_path: Path, clock: ManualClock) -> None:
    """Slack pages conversations.list (we ask for 200 a page); a channel on the third page is found."""
    names = [f"team-{i:03d}" for i in range(450)]
    with ThreadedChatSandbox(ChatSandbox(tmp_path, clock=clock, slack_channels=names)) as running:
        found = sender(running, Sleeps(clock)).check("#" + names[-1]).channel
        assert found.id == running.slack_channel_ids[names[-1]]


@pytest.mark.parametrize("channel", ["#no-such-channel", "C0000000000"])
def test_unknown_channel_is_channel_not_found(sandbox: ChatSandbox, sleeps: Sleeps, channel: str) -> None:
    with pytest.raises(SlackChannelError) as info:
        sender(sandbox, sleeps).check(channel)
    assert info.value.code == "channel_not_found"
    assert not info.value.retryable
    assert channel in str(info.value)


def test_unknown_token_is_invalid_auth(sandbox: ChatSandbox, sleeps: Sleeps) -> None:
    bad = sender(sandbox, sleeps, token="xoxb-1111-2222-revokedrevokedrevoked")
    with pytest.raises(SlackAuthError) as info:
        bad.check("#sre-alerts")
    assert info.value.code == "invalid_auth"
    assert info.value.method == "auth.test"
    with pytest.raises(SlackAuthError, match=r"chat\.postMessage: invalid_auth"):
        bad.post(sandbox.slack_channel_ids["sre-alerts"], "x", [])


@pytest.mark.parametrize(("token", "code"), [("", "not_authed"), ("  \n", "not_authed"), ("xoxb-a\nb", "invalid_auth")])
def test_an_empty_or_broken_token_is_refused_before_any_request(token: str, code: str) -> None:
    """A Secret with a newline inside would reach urllib, whose ValueError quotes the header value."""
    with pytest.raises(SlackAuthError) as info:
        SlackSender(token, base_url="http://127.0.0.1:9/api/")
    assert info.value.code == code
    assert "xoxb" not in str(info.value)


def test_a_trailing_newline_of_a_secret_is_stripped(sandbox: ChatSandbox, sleeps: Sleeps) -> None:
    """`kubectl create secret --from-file` keeps the file's newline; the token still works."""
    assert sender(sandbox, sleeps, token=sandbox.slack_token + "\n").auth_test().bot_id == "B0SREOPS"


# --- post, update, threaded reply --------------------------------------------------------------------


def test_post_update_and_threaded_reply(sandbox: ChatSandbox, sleeps: Sleeps) -> None:
    """One thread per run: the parent posted at start, updated in place, the failure as a reply."""
    slack = sender(sandbox, sleeps)
    channel = slack.check("#sre-alerts").channel.id
    started, failed = SAMPLES["RunStarted"], SAMPLES["RunFailed"]

    text, blocks = slack_blocks.message(started)
    ts = slack.post(channel, text, blocks, key=started.key)
    text2, blocks2 = slack_blocks.message(failed, thread_key=started.key)
    slack.update(channel, ts, text2, blocks2, key=started.key)
    reply_text, reply_blocks = slack_blocks.reply(failed)
    reply_ts = slack.post(channel, reply_text, reply_blocks, thread_ts=ts, key=failed.key, part="reply")

    recorded = messages(sandbox)
    assert [(m["method"], m["ts"], m["thread_ts"]) for m in recorded] == [
        ("chat.postMessage", ts, None),
        ("chat.update", ts, None),
        ("chat.postMessage", reply_ts, ts),
    ]
    assert recorded[1]["text"] == text2 and recorded[1]["blocks"] == blocks2
    assert recorded[2]["blocks"] == reply_blocks

    thread = slack.replies(channel, ts)
    assert [m.ts for m in thread] == [ts, reply_ts]
    parent = slack.get_message(channel, ts)
    assert parent is not None and parent.reply_count == 1
    assert parent.carries(started.key) and parent.carries(failed.key)  # the thread's marker and the update's
    assert not parent.carries(failed.key, "reply")
    assert slack.find_message(channel, failed.key, part="reply", thread_ts=ts) == reply_ts
    assert slack.find_message(channel, SAMPLES["RunSucceeded"].key, part="reply", thread_ts=ts) is None
    assert slack.get_message(channel, "1000000000.000001") is None


def test_post_by_name_answers_in_the_channel(sandbox: ChatSandbox, sleeps: Sleeps) -> None:
    slack = sender(sandbox, sleeps)
    slack.post("#sre-ops", *slack_blocks.message(SAMPLES["Test"]))
    assert messages(sandbox)[0]["channel"] == sandbox.slack_channel_ids["sre-ops"]


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
@pytest.mark.parametrize(
    ("call", "error", "code"),
    [
        (lambda s, c: s.post("C0000000000", "x", []), SlackChannelError, "channel_not_found"),
        (lambda s, c: s.update(c, "1000000000.000001", "x", []), SlackError, "message_not_found"),
        (lambda s, c: s.post(c, "x", [], thread_ts="1000000000.000001"), SlackError, "thread_not_found"),
        (lambda s, c: s.post(c, "", []), SlackError, "no_text"),
        (lambda s, c: s.post(c, "x" * 40_001, []), SlackError, "msg_too_long"),
        (lambda s, c: s.update("#sre-alerts", "1.1", "x", []), SlackChannelError, "channel_not_found"),
    ],
)
def test_slack_errors_are_typed(
    sandbox: ChatSandbox, sleeps: Sleeps, call: Callable[[SlackSender, str], Any], error: type, code: str
) -> None:
    slack = sender(sandbox, sleeps)
    with pytest.raises(error) as info:
        call(slack, sandbox.slack_channel_ids["sre-alerts"])
    assert info.value.code == code
    assert not info.value.retryable


def test_invalid_blocks_carry_slacks_json_pointers(sandbox: ChatSandbox, sleeps: Sleeps) -> None:
    slack = sender(sandbox, sleeps)
    with pytest.raises(SlackError) as info:
        slack.post(sandbox.slack_channel_ids["sre-alerts"], "x", [{"type": "header", "text": {"type": "mrkdwn"}}])
    assert info.value.code == "invalid_blocks"
    assert "json-pointer:/blocks/0/text" in info.value.detail


# --- rate limits -------------------------------------------------------------------------------------


def test_429_retry_after_is_honoured(sandbox: ChatSandbox, sleeps: Sleeps) -> None:
    """The stand-in allows a burst of 3 per channel, then 1/s: each 429's Retry-After (1 s) is waited."""
    slack = sender(sandbox, sleeps)
    channel = sandbox.slack_channel_ids["sre-alerts"]
    for n in range(6):
        slack.post(channel, f"message {n}", [])
    assert sleeps.waits == [1.0, 1.0, 1.0]
    assert [m["text"] for m in messages(sandbox)] == [f"message {n}" for n in range(6)]


def test_429_in_real_time(tmp_path: Path) -> None:
    """With the real clock: the second message of a 1/s channel goes out a second after the first."""
    limit = RateLimit(rate=1.0, burst=1)
    with ThreadedChatSandbox(ChatSandbox(tmp_path, slack_post_limit=limit)) as running:
        slack = SlackSender(running.slack_token, base_url=running.slack_api_url)
        channel = running.slack_channel_ids["sre-alerts"]
        slack.post(channel, "first", [])
        began = time.monotonic()
        slack.post(channel, "second", [])
        elapsed = time.monotonic() - began
        assert 0.9 <= elapsed < 5.0
        assert len(messages(running)) == 2


def test_a_wait_beyond_the_budget_is_a_typed_retryable_error(sandbox: ChatSandbox, sleeps: Sleeps) -> None:
    slack = sender(sandbox, sleeps, max_rate_limit_wait=0.5)
    channel = sandbox.slack_channel_ids["sre-alerts"]
    for n in range(3):
        slack.post(channel, f"burst {n}", [])
    with pytest.raises(SlackRateLimitedError) as info:
        slack.post(channel, "one too many", [])
    assert info.value.retryable
    assert info.value.retry_after == 1.0
    assert info.value.status == 429
    assert sleeps.waits == []
    assert len(messages(sandbox)) == 3


def test_the_total_wait_is_bounded(sandbox: ChatSandbox, clock: ManualClock) -> None:
    """A stand-in that stays throttled (its clock never moves) makes the sender give up after the budget."""
    waits: list[float] = []
    slack = sender(sandbox, waits.append, max_rate_limit_wait=3.0)
    channel = sandbox.slack_channel_ids["sre-alerts"]
    for n in range(3):
        slack.post(channel, f"burst {n}", [])
    with pytest.raises(SlackRateLimitedError):
        slack.post(channel, "throttled", [])
    assert waits == [1.0, 1.0, 1.0]


def test_slack_down_is_unavailable_and_maybe_delivered_for_posts() -> None:
    slack = SlackSender("xoxb-sandbox-unreachable", base_url=f"http://127.0.0.1:{free_port()}/api/", timeout=2)
    with pytest.raises(SlackUnavailableError) as info:
        slack.post("C0000000000", "x", [])
    assert info.value.retryable and info.value.maybe_delivered
    assert info.value.code == "connection_error"
    with pytest.raises(SlackUnavailableError) as lookup:
        slack.auth_test()
    assert not lookup.value.maybe_delivered


# --- the token never shows ---------------------------------------------------------------------------


def test_the_token_appears_in_no_error_repr_or_log(
    sandbox: ChatSandbox, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # slack_sdk logs requests and responses at DEBUG
    revoked = "xoxb-9999-8888-revokedrevokedrevoked"
    slack = sender(sandbox, sleeps)
    bad = sender(sandbox, sleeps, token=revoked)
    throttled = sender(sandbox, sleeps, max_rate_limit_wait=0.5)
    down = SlackSender(sandbox.slack_token, base_url=f"http://127.0.0.1:{free_port()}/api/", timeout=2)
    channel = sandbox.slack_channel_ids["sre-alerts"]

    shown: list[str] = [repr(slack), repr(bad), repr(down), str(vars(slack).get("base_url"))]
    ts = slack.post(channel, *slack_blocks.message(SAMPLES["RunFailed"]), key="k")
    slack.update(channel, ts, *slack_blocks.message(SAMPLES["RunFailed"]), key="k")
    attempts: list[Callable[[], Any]] = [
        lambda: bad.check("#sre-alerts"),
        lambda: bad.post(channel, "x", []),
        lambda: slack.check("#nope"),
        lambda: slack.post(channel, "x" * 40_001, []),
        lambda: slack.replies(channel, "1.000001"),  # thread_not_found
        lambda: down.post(channel, "x", []),
        lambda: [throttled.post(channel, str(n), []) for n in range(5)],
    ]
    for attempt in attempts:
        with pytest.raises(SlackError) as info:
            attempt()
        shown += [str(info.value), repr(info.value), repr(info.value.args), info.value.detail]
        # Never chained to slack_sdk's or urllib's exceptions (a traceback would print them too).
        assert info.value.__cause__ is None
        assert info.value.__context__ is None or info.value.__suppress_context__

    everything = "\n".join(shown) + caplog.text + sandbox.slack_messages_path.read_text()
    assert "Sending a request" in caplog.text  # slack_sdk's DEBUG lines were captured
    for secret in (sandbox.slack_token, revoked):
        assert secret not in everything
        assert secret.split("-", 2)[-1] not in everything


# --- what the stand-in cannot answer: a Slack-shaped HTTP server -------------------------------------


class FakeSlack:
    """Answers the few Slack methods below as Slack does; ``calls`` records (method, params)."""

    def __init__(self, *, is_member: bool = True, private_scope: bool = True) -> None:
        self.is_member = is_member
        self.private_scope = private_scope
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.history: list[dict[str, Any]] = []

    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((method, params))
        if method == "conversations.list":
            if "private_channel" in str(params.get("types")) and not self.private_scope:
                return {"ok": False, "error": "missing_scope", "needed": "groups:read", "provided": "channels:read"}
            channel = {"id": "C0NOTMEMBER", "name": "locked", "is_member": self.is_member, "is_archived": False}
            return {"ok": True, "channels": [channel], "response_metadata": {"next_cursor": ""}}
        if method == "chat.postMessage":
            if not self.is_member:
                return {"ok": False, "error": "not_in_channel"}
            return {"ok": True, "channel": "C0NOTMEMBER", "ts": "1700000000.000100"}
        if method == "conversations.history":
            return {"ok": True, "messages": self.history, "has_more": False, "response_metadata": {"next_cursor": ""}}
        return {"ok": False, "error": "unknown_method"}


@pytest.fixture
def fake_slack() -> Iterator[tuple[FakeSlack, str]]:
    fake = FakeSlack()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            url = urlsplit(self.path)
            params: dict[str, Any] = {k: v[0] for k, v in parse_qs(url.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                raw = self.rfile.read(length)
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    params.update(json.loads(raw))
                else:
                    params.update({k: v[0] for k, v in parse_qs(raw.decode()).items()})
            body = json.dumps(fake.answer(url.path.removeprefix("/api/"), params)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}/api/"
    finally:
        server.shutdown()
        server.server_close()


def test_a_channel_the_bot_is_not_in_is_not_in_channel(fake_slack: tuple[FakeSlack, str]) -> None:
    fake, url = fake_slack
    fake.is_member = False
    slack = SlackSender("xoxb-fake", base_url=url)
    with pytest.raises(SlackChannelError) as info:
        slack.resolve_channel("#locked")
    assert info.value.code == "not_in_channel"
    assert "invite the bot to #locked" in str(info.value)
    with pytest.raises(SlackChannelError) as posted:
        slack.post("C0NOTMEMBER", "x", [])
    assert posted.value.code == "not_in_channel"


def test_without_groups_read_public_channels_are_searched(fake_slack: tuple[FakeSlack, str]) -> None:
    fake, url = fake_slack
    fake.private_scope = False
    assert SlackSender("xoxb-fake", base_url=url).resolve_channel("locked").id == "C0NOTMEMBER"
    assert [p["types"] for m, p in fake.calls if m == "conversations.list"] == [
        "public_channel,private_channel",
        "public_channel",
    ]


def test_find_message_in_history_by_metadata_or_marker(fake_slack: tuple[FakeSlack, str]) -> None:
    """After a crash between send and confirm: the message is found by its metadata key (Slack keeps it)
    or by its first block's marker."""
    fake, url = fake_slack
    by_metadata = {"ts": "1700000000.000200", "text": "a", "metadata": slack_blocks.metadata("key-a")}
    by_marker = {"ts": "1700000000.000300", "text": "b", "blocks": [{"type": "header", "block_id": "x"}]}
    by_marker["blocks"][0]["block_id"] = slack_blocks.marker("key-b")
    other = {"ts": "1700000000.000400", "text": "c", "metadata": {"event_type": "other", "event_payload": {}}}
    fake.history = [other, by_marker, by_metadata]
    slack = SlackSender("xoxb-fake", base_url=url)
    assert slack.find_message("C0NOTMEMBER", "key-a", oldest="1700000000.000000") == "1700000000.000200"
    assert slack.find_message("C0NOTMEMBER", "key-b") == "1700000000.000300"
    assert slack.find_message("C0NOTMEMBER", "key-c") is None
    assert slack.find_message("C0NOTMEMBER", "key-a", part="reply") is None
    method, params = fake.calls[0]
    assert method == "conversations.history"
    assert params["include_all_metadata"] == "1"
    assert params["oldest"] == "1700000000.000000"
