"""The Slack Web API stand-in, driven by slack_sdk's synchronous WebClient (and raw HTTP where the
client cannot express the case)."""

from __future__ import annotations

import json
import logging
import re
import time
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import builtin_handlers
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from sreops.sandbox.chat.ratelimit import ManualClock
from sreops.sandbox.chat.recording import read_jsonl
from sreops.sandbox.chat.server import ChatSandbox, ThreadedChatSandbox

TS = re.compile(r"^\d{10}\.\d{6}$")
RECORD_KEYS = {"method", "channel", "ts", "thread_ts", "text", "blocks", "time"}


def client(sandbox: ChatSandbox, token: str | None = None) -> WebClient:
    return WebClient(token=token if token is not None else sandbox.slack_token, base_url=sandbox.slack_api_url)


def error_of(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        call()
    return info.value


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


# --- authentication ----------------------------------------------------------------------------------


def test_auth_test_identifies_the_bot(sandbox: ChatSandbox) -> None:
    """auth.test answers ok with the team, the bot user and bot id (Bolt calls it on startup)."""
    answer = client(sandbox).auth_test()
    assert answer["ok"] is True
    assert answer["user_id"].startswith("U")
    assert answer["bot_id"].startswith("B")
    assert answer["team_id"].startswith("T")
    assert answer["url"].startswith("https://")


def test_missing_token_is_not_authed_with_http_200(sandbox: ChatSandbox) -> None:
    """Slack: no token -> HTTP 200 with {"ok": false, "error": "not_authed"}."""
    err = error_of(lambda: client(sandbox, token="").chat_postMessage(channel="#sre-alerts", text="x"))
    assert err.response.status_code == 200
    assert err.response["error"] == "not_authed"


def test_unknown_token_is_invalid_auth(sandbox: ChatSandbox) -> None:
    """Slack: an unknown or revoked token -> HTTP 200 with error invalid_auth."""
    err = error_of(lambda: client(sandbox, token="xoxb-not-a-real-token").auth_test())
    assert err.response.status_code == 200
    assert err.response["error"] == "invalid_auth"


def test_token_as_form_argument_is_accepted(sandbox: ChatSandbox) -> None:
    """Slack accepts the token as a `token` argument of a form-encoded POST."""
    answer = requests.post(
        sandbox.slack_api_url + "chat.postMessage",
        data={"token": sandbox.slack_token, "channel": "sre-alerts", "text": "form"},
        timeout=10,
    ).json()
    assert answer["ok"] is True


def test_token_in_json_body_is_not_authed(sandbox: ChatSandbox) -> None:
    """Slack: with a JSON body the token must be in the Authorization header, else not_authed."""
    answer = requests.post(
        sandbox.slack_api_url + "chat.postMessage",
        json={"token": sandbox.slack_token, "channel": "sre-alerts", "text": "json"},
        timeout=10,
    )
    assert answer.status_code == 200
    assert answer.json() == {"ok": False, "error": "not_authed"}


def test_unknown_method_is_404_unknown_method(sandbox: ChatSandbox) -> None:
    """Slack answers an unknown method with HTTP 404 and error unknown_method."""
    err = error_of(lambda: client(sandbox).api_call("chat.sendCarrierPigeon"))
    assert err.response.status_code == 404
    assert err.response["error"] == "unknown_method"


def test_malformed_json_body_is_invalid_json(sandbox: ChatSandbox) -> None:
    """Slack: a JSON body that does not parse -> ok false, error invalid_json (never a 500)."""
    answer = requests.post(
        sandbox.slack_api_url + "chat.postMessage",
        data=b"{not json",
        headers={"Authorization": f"Bearer {sandbox.slack_token}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert answer.status_code == 200
    assert answer.json() == {"ok": False, "error": "invalid_json"}


# --- chat.postMessage ----------------------------------------------------------------------------------


def test_post_by_name_answers_channel_id_and_ts(sandbox: ChatSandbox) -> None:
    """chat.postMessage takes `#name`, `name` or an id and answers with the channel id and a ts like
    `1700000000.000100`."""
    web = client(sandbox)
    channel_id = sandbox.slack_channel_ids["sre-alerts"]
    for channel in ("#sre-alerts", "sre-alerts", channel_id):
        answer = web.chat_postMessage(channel=channel, text="hello")
        assert answer["channel"] == channel_id
        assert TS.match(answer["ts"])
        assert answer["message"]["text"] == "hello"


def test_ts_is_unique_and_increasing_per_channel(sandbox: ChatSandbox, clock: ManualClock) -> None:
    """Slack's ts identifies a message within its channel: unique and increasing, even within one
    microsecond of wall clock."""
    web = client(sandbox)
    seen = []
    for _ in range(10):
        seen.append(web.chat_postMessage(channel="#sre-alerts", text="tick")["ts"])
        clock.advance(1.0)
    assert len(set(seen)) == len(seen)
    assert seen == sorted(seen, key=float)


def test_unknown_channel_is_channel_not_found(sandbox: ChatSandbox) -> None:
    """Slack: a channel that does not exist (or is not visible) -> channel_not_found."""
    err = error_of(lambda: client(sandbox).chat_postMessage(channel="#no-such-channel", text="x"))
    assert err.response["error"] == "channel_not_found"


def test_message_without_text_or_blocks_is_no_text(sandbox: ChatSandbox) -> None:
    """Slack: chat.postMessage with neither text, blocks nor attachments -> no_text."""
    with pytest.warns(UserWarning):  # slack_sdk warns before sending, as it should
        err = error_of(lambda: client(sandbox).chat_postMessage(channel="#sre-alerts", text=""))
    assert err.response["error"] == "no_text"


def test_text_over_40000_characters_is_msg_too_long(sandbox: ChatSandbox) -> None:
    """Slack limits message text to 40,000 characters; longer -> msg_too_long."""
    web = client(sandbox)
    assert web.chat_postMessage(channel="#sre-alerts", text="a" * 40_000)["ok"]
    err = error_of(lambda: web.chat_postMessage(channel="#sre-ops", text="a" * 40_001))
    assert err.response["error"] == "msg_too_long"


def test_more_than_50_blocks_is_invalid_blocks(sandbox: ChatSandbox) -> None:
    """Block Kit: at most 50 blocks per message; more -> invalid_blocks with a json-pointer error."""
    web = client(sandbox)
    assert web.chat_postMessage(channel="#sre-alerts", text="ok", blocks=[section("b")] * 50)["ok"]
    err = error_of(lambda: web.chat_postMessage(channel="#sre-ops", text="x", blocks=[section("b")] * 51))
    assert err.response["error"] == "invalid_blocks"
    assert any("/blocks" in e for e in err.response["errors"])


def test_section_text_over_3000_characters_is_invalid_blocks(sandbox: ChatSandbox) -> None:
    """Block Kit: a section's text is at most 3,000 characters; Slack answers invalid_blocks and
    points at /blocks/N/text/text."""
    web = client(sandbox)
    assert web.chat_postMessage(channel="#sre-alerts", text="ok", blocks=[section("a" * 3000)])["ok"]
    err = error_of(
        lambda: web.chat_postMessage(channel="#sre-ops", text="x", blocks=[section("ok"), section("a" * 3001)])
    )
    assert err.response["error"] == "invalid_blocks"
    assert err.response["errors"] == ["must be less than 3001 characters [json-pointer:/blocks/1/text/text]"]


@pytest.mark.parametrize(
    "blocks",
    [
        [{"text": {"type": "mrkdwn", "text": "no type"}}],
        [{"type": "no_such_block"}],
        [{"type": "section"}],
        [{"type": "header", "text": {"type": "mrkdwn", "text": "headers are plain_text"}}],
        [{"type": "context", "elements": []}],
    ],
)
def test_malformed_blocks_are_invalid_blocks(sandbox: ChatSandbox, blocks: list[Any]) -> None:
    """Block Kit validates each block's type and required fields: invalid_blocks."""
    err = error_of(lambda: client(sandbox).chat_postMessage(channel="#sre-alerts", text="x", blocks=blocks))
    assert err.response["error"] == "invalid_blocks"


def test_form_encoded_blocks_are_parsed_and_bad_json_is_invalid_blocks_format(sandbox: ChatSandbox) -> None:
    """In form-encoded calls `blocks` is a JSON string; one that does not parse -> invalid_blocks_format."""
    web = client(sandbox)
    good = web.api_call(
        "chat.postMessage", data={"channel": "sre-alerts", "text": "t", "blocks": json.dumps([section("form")])}
    )
    assert good["message"]["blocks"] == [section("form")]
    err = error_of(
        lambda: web.api_call("chat.postMessage", data={"channel": "sre-alerts", "text": "t", "blocks": "[{"})
    )
    assert err.response["error"] == "invalid_blocks_format"


def test_thread_reply_needs_an_existing_parent(sandbox: ChatSandbox) -> None:
    """Replies name their parent with thread_ts; one that names no message -> thread_not_found.
    A reply to a reply joins the root's thread."""
    web = client(sandbox)
    root = web.chat_postMessage(channel="#sre-alerts", text="run started")
    reply = web.chat_postMessage(channel="#sre-alerts", text="step 1", thread_ts=root["ts"])
    assert reply["message"]["thread_ts"] == root["ts"]
    nested = web.chat_postMessage(channel="#sre-alerts", text="step 2", thread_ts=reply["ts"])
    assert nested["message"]["thread_ts"] == root["ts"]
    err = error_of(lambda: web.chat_postMessage(channel="#sre-alerts", text="x", thread_ts="1600000000.000001"))
    assert err.response["error"] == "thread_not_found"
    other = error_of(lambda: web.chat_postMessage(channel="#sre-ops", text="x", thread_ts=root["ts"]))
    assert other.response["error"] == "thread_not_found"


# --- chat.update ---------------------------------------------------------------------------------------


def test_update_changes_the_message_in_place(sandbox: ChatSandbox) -> None:
    """chat.update keeps the message's ts and answers channel, ts and the new text."""
    web = client(sandbox)
    posted = web.chat_postMessage(channel="#sre-alerts", text="Running 0/20")
    updated = web.chat_update(channel=posted["channel"], ts=posted["ts"], text="Running 20/20", blocks=[section("x")])
    assert (updated["channel"], updated["ts"], updated["text"]) == (posted["channel"], posted["ts"], "Running 20/20")
    thread = web.conversations_replies(channel=posted["channel"], ts=posted["ts"])
    assert thread["messages"][0]["text"] == "Running 20/20"
    assert "edited" in thread["messages"][0]


def test_update_of_unknown_ts_is_message_not_found(sandbox: ChatSandbox) -> None:
    """Slack: chat.update of a ts that names no message in the channel -> message_not_found."""
    web = client(sandbox)
    channel_id = sandbox.slack_channel_ids["sre-alerts"]
    err = error_of(lambda: web.chat_update(channel=channel_id, ts="1600000000.000001", text="x"))
    assert err.response["error"] == "message_not_found"


def test_update_needs_the_channel_id(sandbox: ChatSandbox) -> None:
    """Slack's chat.update takes a channel id, not a name: `#name` -> channel_not_found."""
    web = client(sandbox)
    posted = web.chat_postMessage(channel="#sre-alerts", text="x")
    err = error_of(lambda: web.chat_update(channel="#sre-alerts", ts=posted["ts"], text="y"))
    assert err.response["error"] == "channel_not_found"


# --- rate limits ---------------------------------------------------------------------------------------


def test_fourth_message_in_a_second_is_429_with_retry_after(sandbox: ChatSandbox, clock: ManualClock) -> None:
    """Slack: chat.postMessage allows ~1 message/s per channel (short bursts: 3 here); beyond that
    HTTP 429, a Retry-After header and {"ok": false, "error": "ratelimited"}. Other channels are not
    affected, and the refused message is not posted."""
    web = client(sandbox)
    for i in range(3):
        web.chat_postMessage(channel="#sre-alerts", text=f"burst {i}")
    err = error_of(lambda: web.chat_postMessage(channel="#sre-alerts", text="too fast"))
    assert err.response.status_code == 429
    assert err.response.headers["Retry-After"] == "1"
    assert err.response.data == {"ok": False, "error": "ratelimited"}
    assert web.chat_postMessage(channel="#sre-ops", text="another channel")["ok"]
    clock.advance(1.0)
    assert web.chat_postMessage(channel="#sre-alerts", text="after waiting")["ok"]
    texts = [r["text"] for r in read_jsonl(sandbox.slack_messages_path)]
    assert "too fast" not in texts


def test_rate_limit_retry_handler_recovers(
    sandbox: ChatSandbox, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """slack_sdk's RateLimitErrorRetryHandler sleeps for Retry-After and retries; against the stand-in
    the retried call succeeds. (Its sleep advances the manual clock instead of waiting.)"""
    slept: list[float] = []

    def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds)

    monkeypatch.setattr(builtin_handlers, "time", SimpleNamespace(sleep=fake_sleep))
    web = client(sandbox)
    web.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    for i in range(4):
        assert web.chat_postMessage(channel="#sre-alerts", text=f"msg {i}")["ok"]
    assert len(slept) == 1
    assert 1.0 <= slept[0] < 2.0
    assert len(read_jsonl(sandbox.slack_messages_path)) == 4


def test_update_rate_limit_is_tier_3(tmp_path: Any, clock: ManualClock) -> None:
    """chat.update is a Tier 3 method (~50 calls/min per workspace); over it -> 429 ratelimited."""
    with ThreadedChatSandbox(ChatSandbox(tmp_path, clock=clock)) as sandbox:
        web = client(sandbox)
        posted = web.chat_postMessage(channel="#sre-alerts", text="0")
        for i in range(50):
            web.chat_update(channel=posted["channel"], ts=posted["ts"], text=str(i))
        err = error_of(lambda: web.chat_update(channel=posted["channel"], ts=posted["ts"], text="51"))
        assert err.response.status_code == 429
        assert err.response.headers["Retry-After"] == "2"


# --- conversations -------------------------------------------------------------------------------------


def test_conversations_list_paginates_with_cursors(sandbox: ChatSandbox) -> None:
    """conversations.list pages with response_metadata.next_cursor; the last page has an empty cursor."""
    web = client(sandbox)
    names, cursor, pages = [], None, 0
    while True:
        page = web.conversations_list(limit=1, cursor=cursor)
        names += [c["name"] for c in page["channels"]]
        pages += 1
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert sorted(names) == ["announcements", "general", "sre-alerts", "sre-ops"]
    assert pages == 4
    everything = web.conversations_list()
    assert everything["response_metadata"]["next_cursor"] == ""
    assert all(c["id"].startswith("C") and c["is_channel"] for c in everything["channels"])


def test_conversations_list_rejects_a_forged_cursor(sandbox: ChatSandbox) -> None:
    """Slack: a cursor it did not hand out -> invalid_cursor."""
    err = error_of(lambda: client(sandbox).conversations_list(cursor="bm90LWEtY3Vyc29y"))
    assert err.response["error"] == "invalid_cursor"


def test_sdk_pagination_iterator_walks_all_pages(sandbox: ChatSandbox) -> None:
    """slack_sdk's SlackResponse iteration follows next_cursor until it is empty."""
    sizes = [len(page["channels"]) for page in client(sandbox).conversations_list(limit=3)]
    assert sizes == [3, 1]


def test_conversations_replies_returns_the_thread(sandbox: ChatSandbox) -> None:
    """conversations.replies returns the root then its replies; unknown ts -> thread_not_found."""
    web = client(sandbox)
    root = web.chat_postMessage(channel="#sre-alerts", text="root")
    web.chat_postMessage(channel="#sre-alerts", text="r1", thread_ts=root["ts"])
    web.chat_postMessage(channel="#sre-alerts", text="r2", thread_ts=root["ts"])
    thread = web.conversations_replies(channel=root["channel"], ts=root["ts"])
    assert [m["text"] for m in thread["messages"]] == ["root", "r1", "r2"]
    assert thread["messages"][0]["reply_count"] == 2
    err = error_of(lambda: web.conversations_replies(channel=root["channel"], ts="1600000000.000001"))
    assert err.response["error"] == "thread_not_found"


# --- recording and secrets -----------------------------------------------------------------------------


def test_every_accepted_post_and_update_is_recorded(sandbox: ChatSandbox) -> None:
    """The sandbox contract: one JSON line per accepted chat.postMessage / chat.update in
    slack/messages.jsonl, with exactly method, channel, ts, thread_ts, text, blocks, time."""
    web = client(sandbox)
    root = web.chat_postMessage(channel="#sre-alerts", text="start", blocks=[section("s")])
    reply = web.chat_postMessage(channel="#sre-alerts", text="reply", thread_ts=root["ts"])
    web.chat_update(channel=root["channel"], ts=root["ts"], text="done")
    with pytest.raises(SlackApiError):
        web.chat_postMessage(channel="#nowhere", text="refused")
    records = read_jsonl(sandbox.state_dir / "slack" / "messages.jsonl")
    assert all(set(r) == RECORD_KEYS for r in records)
    assert [(r["method"], r["ts"], r["thread_ts"], r["text"]) for r in records] == [
        ("chat.postMessage", root["ts"], None, "start"),
        ("chat.postMessage", reply["ts"], root["ts"], "reply"),
        ("chat.update", root["ts"], None, "done"),
    ]
    assert records[0]["blocks"] == [section("s")]
    assert {r["channel"] for r in records} == {root["channel"]}
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", records[0]["time"])


def test_token_never_reaches_logs_or_recordings(sandbox: ChatSandbox, caplog: pytest.LogCaptureFixture) -> None:
    """Tokens are secrets: not in the server's logs (even when passed in the query string), not recorded.
    (Client-side loggers such as urllib3's are the client's business.)"""
    caplog.set_level(logging.DEBUG)
    client(sandbox).chat_postMessage(channel="#sre-alerts", text="hi")
    requests.get(sandbox.slack_api_url + "auth.test", params={"token": sandbox.slack_token}, timeout=10)

    def server_log() -> str:
        return "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("aiohttp", "sreops")))

    # The server thread writes its access line after the response is sent: wait for it, not for a fixed time.
    deadline = time.monotonic() + 10
    while "/api/auth.test" not in server_log() and time.monotonic() < deadline:
        time.sleep(0.02)
    log_text = server_log()
    assert "/api/auth.test" in log_text
    assert sandbox.slack_token not in log_text
    assert sandbox.slack_token not in sandbox.slack_messages_path.read_text()


def test_conversations_history_is_newest_first_without_replies(sandbox: ChatSandbox, clock: ManualClock) -> None:
    """Slack's conversations.history lists a channel's messages newest first, thread replies left out (they are
    in conversations.replies), bounded by oldest/latest (exclusive by default) and paged by cursor."""
    web = WebClient(token=sandbox.slack_token, base_url=sandbox.slack_api_url)
    channel = sandbox.slack_channel_ids["sre-alerts"]
    first = web.chat_postMessage(channel=channel, text="one")["ts"]
    web.chat_postMessage(channel=channel, text="reply", thread_ts=first)
    second = web.chat_postMessage(channel=channel, text="two")["ts"]
    clock.advance(2)  # past the stand-in's 1 message/s per channel
    third = web.chat_postMessage(channel=channel, text="three")["ts"]
    listed = web.conversations_history(channel=channel)["messages"]
    assert [m["text"] for m in listed] == ["three", "two", "one"]
    assert listed[2]["reply_count"] == 1
    assert [m["ts"] for m in web.conversations_history(channel=channel, oldest=first)["messages"]] == [third, second]
    page = web.conversations_history(channel=channel, limit=2)
    assert page["has_more"] and len(page["messages"]) == 2
    rest = web.conversations_history(channel=channel, limit=2, cursor=page["response_metadata"]["next_cursor"])
    assert [m["text"] for m in rest["messages"]] == ["one"]


def test_message_metadata_is_kept_and_returned_only_with_include_all_metadata(sandbox: ChatSandbox) -> None:
    """Slack keeps `metadata` posted with a message (or set by chat.update) and returns it from
    conversations.history / conversations.replies only when `include_all_metadata` is true."""
    web = client(sandbox)
    meta = {"event_type": "sreops_notification", "event_payload": {"key": "u-1/RunStarted/start"}}
    posted = web.chat_postMessage(channel="#sre-alerts", text="parent", metadata=meta)
    channel, ts = posted["channel"], posted["ts"]
    web.chat_postMessage(channel=channel, text="reply", thread_ts=ts)

    plain = web.conversations_history(channel=channel)["messages"]
    assert "metadata" not in plain[0]
    full = web.conversations_history(channel=channel, include_all_metadata=True)["messages"]
    assert full[0]["metadata"] == meta
    thread = web.conversations_replies(channel=channel, ts=ts, include_all_metadata=True)["messages"]
    assert thread[0]["metadata"] == meta and "metadata" not in thread[1]

    moved = {"event_type": "sreops_notification", "event_payload": {"key": "u-1/RunFailed/end"}}
    web.chat_update(channel=channel, ts=ts, text="parent, updated", metadata=moved)
    assert web.conversations_history(channel=channel, include_all_metadata=True)["messages"][0]["metadata"] == moved


@pytest.mark.parametrize(
    ("metadata", "error"),
    [
        ("{not json", "invalid_metadata_format"),
        ('["a list"]', "invalid_metadata_format"),
        ('{"event_payload": {}}', "invalid_metadata_schema"),
        ('{"event_type": "x", "event_payload": "not an object"}', "invalid_metadata_schema"),
    ],
)
def test_malformed_metadata_is_refused(sandbox: ChatSandbox, metadata: str, error: str) -> None:
    answer = requests.post(
        sandbox.slack_api_url + "chat.postMessage",
        data={"token": sandbox.slack_token, "channel": "#sre-alerts", "text": "x", "metadata": metadata},
        timeout=10,
    ).json()
    assert answer == {"ok": False, "error": error}


def test_a_public_channel_the_bot_is_not_in_is_listed_but_not_postable(sandbox: ChatSandbox) -> None:
    """Slack lists public channels the bot was never invited to with `is_member: false`; without the
    chat:write.public scope, posting there (and reading its history) answers `not_in_channel`."""
    web = client(sandbox)
    listed = {c["name"]: c for c in web.conversations_list()["channels"]}
    assert listed["announcements"]["is_member"] is False and listed["sre-alerts"]["is_member"] is True
    assert error_of(lambda: web.chat_postMessage(channel="#announcements", text="x")).response["error"] == (
        "not_in_channel"
    )
    channel = listed["announcements"]["id"]
    assert error_of(lambda: web.conversations_history(channel=channel)).response["error"] == "not_in_channel"
