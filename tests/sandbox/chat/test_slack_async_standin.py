"""The Slack stand-in with slack_sdk's AsyncWebClient, served on the test's own event loop."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import builtin_async_handlers
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from sreops.sandbox.chat.ratelimit import ManualClock
from sreops.sandbox.chat.recording import read_jsonl
from sreops.sandbox.chat.server import ChatSandbox


def async_client(sandbox: ChatSandbox, token: str | None = None) -> AsyncWebClient:
    return AsyncWebClient(token=token or sandbox.slack_token, base_url=sandbox.slack_api_url)


async def test_async_post_update_and_thread(loop_sandbox: ChatSandbox) -> None:
    """The same post / threaded reply / update cycle the notifier runs for one PatchRun."""
    web = async_client(loop_sandbox)
    assert (await web.auth_test())["ok"]
    root = await web.chat_postMessage(channel="#sre-alerts", text="PatchRun web-fleet-x7k2 started")
    await web.chat_postMessage(channel=root["channel"], text="2/20 done", thread_ts=root["ts"])
    await web.chat_update(channel=root["channel"], ts=root["ts"], text="PatchRun web-fleet-x7k2 Succeeded")
    records = read_jsonl(loop_sandbox.slack_messages_path)
    assert [r["method"] for r in records] == ["chat.postMessage", "chat.postMessage", "chat.update"]
    assert records[1]["thread_ts"] == root["ts"]


async def test_async_invalid_auth(loop_sandbox: ChatSandbox) -> None:
    """Slack: an unknown token -> HTTP 200, ok false, invalid_auth (AsyncWebClient raises SlackApiError)."""
    with pytest.raises(SlackApiError) as info:
        await async_client(loop_sandbox, token="xoxb-wrong").chat_postMessage(channel="#sre-alerts", text="x")
    assert info.value.response.status_code == 200
    assert info.value.response["error"] == "invalid_auth"


async def test_async_raw_429_then_retry_handler_recovers(
    loop_sandbox: ChatSandbox, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slack: over ~1 message/s per channel -> HTTP 429 + Retry-After + error ratelimited; slack_sdk's
    AsyncRateLimitErrorRetryHandler waits Retry-After (here: advances the manual clock) and succeeds."""
    web = async_client(loop_sandbox)
    for i in range(3):
        await web.chat_postMessage(channel="#sre-alerts", text=f"burst {i}")
    with pytest.raises(SlackApiError) as info:
        await web.chat_postMessage(channel="#sre-alerts", text="too fast")
    assert info.value.response.status_code == 429
    assert info.value.response.headers["Retry-After"] == "1"
    assert info.value.response["error"] == "ratelimited"

    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds)

    monkeypatch.setattr(builtin_async_handlers, "asyncio", SimpleNamespace(sleep=fake_sleep))
    retrying = async_client(loop_sandbox)
    retrying.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    answer = await retrying.chat_postMessage(channel="#sre-alerts", text="patient")
    assert answer["ok"]
    assert len(slept) == 1
    assert 1.0 <= slept[0] < 2.0
