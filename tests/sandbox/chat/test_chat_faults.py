"""Fault injection in the Slack and Teams stand-ins, each fault answered as the real service answers it."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler

from sreops.sandbox.chat.faults import ChatFaults, FaultSpecError
from sreops.sandbox.chat.server import ChatSandbox

CARD = {
    "type": "message",
    "attachments": [
        {
            "contentType": "application/vnd.microsoft.card.adaptive",
            "content": {"type": "AdaptiveCard", "version": "1.4", "body": [{"type": "TextBlock", "text": "hi"}]},
        }
    ],
}


def _control(sandbox: ChatSandbox, method: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(sandbox.base_url + "/_sandbox/faults", data=data, method=method)
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _posted(sandbox: ChatSandbox) -> list[dict[str, Any]]:
    path = sandbox.slack_messages_path
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _cards(sandbox: ChatSandbox) -> int:
    return len(sandbox.cards_path.read_text().splitlines()) if sandbox.cards_path.exists() else 0


def _webhook(sandbox: ChatSandbox) -> tuple[int, dict[str, str], Any]:
    req = urllib.request.Request(sandbox.teams_webhook_url, data=json.dumps(CARD).encode(), method="POST")
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read())


def test_slack_ratelimit_is_429_with_retry_after(sandbox: ChatSandbox) -> None:
    # Slack: HTTP 429, Retry-After in seconds, {"ok": false, "error": "ratelimited"}; nothing is posted.
    assert _control(sandbox, "PUT", {"spec": "slack:chat.postMessage=ratelimit:1x"})[0] == 200
    web = WebClient(token=sandbox.slack_token, base_url=sandbox.slack_api_url)
    with pytest.raises(SlackApiError) as caught:
        web.chat_postMessage(channel="#sre-alerts", text="one")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] in (["1"], "1")
    assert caught.value.response["error"] == "ratelimited"
    assert _posted(sandbox) == []
    # slack_sdk's own handler waits out Retry-After and the retry is accepted (1x: the fault is spent).
    _control(sandbox, "PUT", {"spec": "slack:*=ratelimit:1x"})
    patient = WebClient(
        token=sandbox.slack_token, base_url=sandbox.slack_api_url, retry_handlers=[RateLimitErrorRetryHandler(1)]
    )
    start = time.monotonic()
    assert patient.chat_postMessage(channel="#sre-alerts", text="two")["ok"]
    assert time.monotonic() - start >= 1.0
    assert [m["text"] for m in _posted(sandbox)] == ["two"]
    assert _control(sandbox, "GET")[1]["injected"] == {"ratelimit": 2}


def test_slack_5xx_and_the_sdk_server_error_retry(sandbox: ChatSandbox) -> None:
    _control(sandbox, "PUT", {"spec": "slack:chat.postMessage=error503:1x,slack:chat.update=error500"})
    web = WebClient(token=sandbox.slack_token, base_url=sandbox.slack_api_url)
    with pytest.raises(SlackApiError) as caught:
        web.chat_postMessage(channel="#sre-alerts", text="lost")
    assert caught.value.response.status_code == 503
    assert caught.value.response["error"] == "service_unavailable"
    retrying = WebClient(
        token=sandbox.slack_token, base_url=sandbox.slack_api_url, retry_handlers=[ServerErrorRetryHandler(2)]
    )
    posted = retrying.chat_postMessage(channel="#sre-alerts", text="kept")
    with pytest.raises(SlackApiError) as update:
        web.chat_update(channel=posted["channel"], ts=posted["ts"], text="changed")
    assert update.value.response.status_code == 500 and update.value.response["error"] == "internal_error"
    assert [m["text"] for m in _posted(sandbox)] == ["kept"]


def test_slack_timeout_still_posts_after_the_client_gave_up(sandbox: ChatSandbox) -> None:
    # The answer is late, not the work: a client with a shorter timeout fails, yet the message is in the
    # channel, as when Slack's answer is lost; a blind retry would post it twice.
    _control(sandbox, "PUT", {"spec": "slack:chat.postMessage=timeout:1500ms:1x"})
    web = WebClient(token=sandbox.slack_token, base_url=sandbox.slack_api_url, timeout=0.5)
    with pytest.raises(TimeoutError):
        web.chat_postMessage(channel="#sre-alerts", text="late")
    deadline = time.monotonic() + 5
    while not _posted(sandbox) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [m["text"] for m in _posted(sandbox)] == ["late"]


def test_teams_webhook_429_and_5xx(sandbox: ChatSandbox) -> None:
    _control(sandbox, "PUT", {"spec": "teams:webhook=ratelimit:1x+error503:1x"})
    status, headers, body = _webhook(sandbox)
    # One rule fired both actions: the first error wins, as with the AWS stand-in's rules.
    assert (status, headers["Retry-After"], body["error"]["code"]) == (429, "1", "WorkflowRequestsThrottled")
    _control(sandbox, "PUT", {"spec": "teams:webhook=error503:1x"})
    status, _, body = _webhook(sandbox)
    assert (status, body["error"]["code"]) == (502, "NoResponse")
    _control(sandbox, "PUT", {"spec": "teams:*=error500:1x"})
    status, _, body = _webhook(sandbox)
    assert (status, body["error"]["code"]) == (500, "InternalServerError")
    assert _cards(sandbox) == 0
    status, _, _ = _webhook(sandbox)
    assert status == 202 and _cards(sandbox) == 1


def test_control_endpoint_input(sandbox: ChatSandbox) -> None:
    bad_bodies: list[dict[str, Any]] = [
        {"spec": "slack:x=explode"},
        {"spec": "teams:bot=ratelimit"},
        {"spec": "email:x=error500"},
        {"spec": 1},
    ]
    for bad in bad_bodies:
        status, body = _control(sandbox, "PUT", bad)
        assert status == 400 and body["error"].startswith("spec: "), bad
    assert _control(sandbox, "PATCH", {})[0] == 405
    assert _control(sandbox, "PUT", {"spec": "slack:*=error500:0.25"})[1]["spec"] == "slack:*=error500:0.25"
    assert _control(sandbox, "DELETE")[1] == {"spec": "", "injected": {}}


def test_spec_grammar() -> None:
    assert ChatFaults("slack:chat.update=timeout:2s:3x").spec == "slack:chat.update=timeout:2000ms:3x"
    for bad in ("slack=ratelimit", "slack:x=timeout", "slack:x=ratelimit:1.5", "teams:webhook=ratelimit:-1x"):
        with pytest.raises(FaultSpecError):
            ChatFaults(bad)
