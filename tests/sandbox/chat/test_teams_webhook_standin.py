"""The Teams Workflows webhook stand-in, driven by an aiohttp client."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from yarl import URL

from sreops.sandbox.chat.ratelimit import ManualClock
from sreops.sandbox.chat.recording import read_jsonl
from sreops.sandbox.chat.server import ChatSandbox
from sreops.sandbox.chat.teams_webhook import ADAPTIVE_CARD_CONTENT_TYPE, MAX_PAYLOAD_BYTES


def card_message(*texts: str) -> dict[str, Any]:
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": ADAPTIVE_CARD_CONTENT_TYPE,
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [{"type": "TextBlock", "text": t, "wrap": True} for t in texts],
                },
            }
        ],
    }


def padded_to(size: int) -> bytes:
    """A valid card message whose compact JSON is exactly `size` bytes."""
    base = json.dumps(card_message(""), separators=(",", ":")).encode()
    body = json.dumps(card_message("x" * (size - len(base))), separators=(",", ":")).encode()
    assert len(body) == size
    return body


async def post(url: str | URL, body: bytes | dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=data, headers={"Content-Type": "application/json"}) as response,
    ):
        return response.status, dict(response.headers), await response.read()


def cards(sandbox: ChatSandbox) -> list[dict[str, Any]]:
    return read_jsonl(sandbox.state_dir / "teams" / "cards.jsonl")


async def test_adaptive_card_is_accepted_with_202_and_recorded(loop_sandbox: ChatSandbox) -> None:
    """Workflows answers an accepted webhook post with 202 Accepted and an empty body; the stand-in
    records it as {"kind": "webhook", "payload", "time"} in teams/cards.jsonl."""
    message = card_message("PatchRun web-fleet-x7k2 failed on 1 of 20 instances")
    status, _, body = await post(loop_sandbox.teams_webhook_url, message)
    assert (status, body) == (202, b"")
    [record] = cards(loop_sandbox)
    assert set(record) == {"kind", "payload", "time"}
    assert record["kind"] == "webhook"
    assert record["payload"] == message


async def test_wrong_or_missing_sig_is_401_and_unknown_workflow_404(loop_sandbox: ChatSandbox) -> None:
    """Power Automate checks the SAS `sig` of the URL: missing -> 401 DirectApiAuthorizationRequired,
    wrong -> 401 DirectApiInvalidAuthorizationSignature; an unknown workflow id -> 404 WorkflowNotFound.
    Nothing is recorded."""
    url = URL(loop_sandbox.teams_webhook_url)
    message = card_message("x")
    status, _, body = await post(url.update_query(sig="forged"), message)
    assert status == 401
    assert json.loads(body)["error"]["code"] == "DirectApiInvalidAuthorizationSignature"
    status, _, body = await post(url.without_query_params("sig"), message)
    assert status == 401
    assert json.loads(body)["error"]["code"] == "DirectApiAuthorizationRequired"
    unknown = url.with_path(url.path.replace(url.parts[-5], "0" * 32))
    status, _, body = await post(unknown, message)
    assert status == 404
    assert json.loads(body)["error"]["code"] == "WorkflowNotFound"
    assert cards(loop_sandbox) == []


async def test_payload_over_28_kb_is_413(loop_sandbox: ChatSandbox) -> None:
    """Teams caps a message at 28 KB (28,672 bytes, "MessageSizeExceeded"); exactly 28 KB is accepted,
    one byte more is refused with 413 and the limit in the message."""
    status, _, _ = await post(loop_sandbox.teams_webhook_url, padded_to(MAX_PAYLOAD_BYTES))
    assert status == 202
    status, _, body = await post(loop_sandbox.teams_webhook_url, padded_to(MAX_PAYLOAD_BYTES + 1))
    assert status == 413
    error = json.loads(body)["error"]
    assert error["code"] == "MessageSizeExceeded"
    assert "28672 bytes" in error["message"]
    assert len(cards(loop_sandbox)) == 1


async def test_oversize_accept_and_drop_mirrors_workflows(tmp_path: Path) -> None:
    """Real Workflows answer 202 even for an oversized card and the flow run fails later, so the card
    never reaches the channel: with oversize="accept-and-drop" the stand-in does exactly that."""
    async with ChatSandbox(tmp_path, teams_oversize="accept-and-drop") as sandbox:
        status, _, _ = await post(sandbox.teams_webhook_url, padded_to(MAX_PAYLOAD_BYTES + 1))
        assert status == 202
        assert cards(sandbox) == []


@pytest.mark.parametrize(
    ("payload", "mentions"),
    [
        (b"{not json", "not valid JSON"),
        ([card_message("x")], "JSON object"),
        ({"type": "note", "attachments": card_message("x")["attachments"]}, "'type'"),
        ({"type": "message"}, "attachments"),
        ({"type": "message", "attachments": []}, "attachments"),
        (
            {"type": "message", "attachments": [{"contentType": "text/html", "content": "<b>x</b>"}]},
            "contentType",
        ),
        ({"type": "message", "attachments": [{"contentType": ADAPTIVE_CARD_CONTENT_TYPE}]}, "content"),
        (
            {
                "type": "message",
                "attachments": [{"contentType": ADAPTIVE_CARD_CONTENT_TYPE, "content": {"type": "AdaptiveCard"}}],
            },
            "version",
        ),
        (
            {
                "type": "message",
                "attachments": [
                    {
                        "contentType": ADAPTIVE_CARD_CONTENT_TYPE,
                        "content": {"type": "AdaptiveCard", "version": "1.4", "body": [{"text": "no type"}]},
                    }
                ],
            },
            "body[0]",
        ),
        ({"text": "an old MessageCard/connector payload"}, "'type'"),
    ],
)
async def test_malformed_envelopes_are_400_with_a_clear_message(
    loop_sandbox: ChatSandbox, payload: Any, mentions: str
) -> None:
    """The webhook takes {"type": "message", "attachments": [{"contentType":
    "application/vnd.microsoft.card.adaptive", "content": <AdaptiveCard>}]}; anything else is a 400 that
    says which field is wrong (real Workflows fail the flow run instead), and nothing is recorded."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    status, _, answer = await post(loop_sandbox.teams_webhook_url, body)
    assert status == 400
    assert mentions in json.loads(answer)["error"]["message"]
    assert cards(loop_sandbox) == []


async def test_more_than_4_requests_per_second_is_429_with_retry_after(
    loop_sandbox: ChatSandbox, clock: ManualClock
) -> None:
    """Teams webhooks throttle above ~4 requests/s: 429 with Retry-After; after waiting it accepts again."""
    for i in range(4):
        status, _, _ = await post(loop_sandbox.teams_webhook_url, card_message(str(i)))
        assert status == 202
    status, headers, body = await post(loop_sandbox.teams_webhook_url, card_message("too fast"))
    assert status == 429
    assert headers["Retry-After"] == "1"
    assert json.loads(body)["error"]["code"] == "WorkflowRequestsThrottled"
    clock.advance(0.25)
    status, _, _ = await post(loop_sandbox.teams_webhook_url, card_message("after waiting"))
    assert status == 202
    assert [c["payload"]["attachments"][0]["content"]["body"][0]["text"] for c in cards(loop_sandbox)][-1] == (
        "after waiting"
    )


async def test_webhook_sig_never_reaches_the_logs(loop_sandbox: ChatSandbox, caplog: pytest.LogCaptureFixture) -> None:
    """The webhook URL's sig is a credential: the access log shows the path only."""
    caplog.set_level(logging.DEBUG)
    sig = URL(loop_sandbox.teams_webhook_url).query["sig"]
    await post(loop_sandbox.teams_webhook_url, card_message("x"))
    await post(URL(loop_sandbox.teams_webhook_url).update_query(sig="forged-" + sig[:8]), card_message("x"))
    server_log = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("aiohttp", "sreops")))
    assert "/triggers/manual/paths/invoke" in server_log
    assert sig not in server_log
    assert sig[:8] not in server_log
    assert sig not in loop_sandbox.endpoints()["teams_webhook_url"]
