"""Whatever a client sends, the stand-ins answer in the service's own error shape, never a 500."""

from __future__ import annotations

import pytest
import requests

from sreops.sandbox.chat.server import ChatSandbox

BODIES: list[tuple[bytes, str]] = [
    (b"", "application/json"),
    (b"null", "application/json"),
    (b"[1, 2]", "application/json"),
    (
        b'{"channel": 5, "text": {"a": 1}, "blocks": {"type": "section"}, "thread_ts": [1], "limit": true}',
        "application/json",
    ),
    (b'{"channel": "#sre-alerts", "text": "x", "blocks": [null, 7, "s"], "cursor": "%%%"}', "application/json"),
    (b"\xff\xfe\x00garbage", "application/json"),
    (b"\xff\xfe\x00garbage", "application/x-www-form-urlencoded"),
    (
        b"channel=%23sre-alerts&text=x&blocks=%5B%7B%22type%22%3A%22section%22%2C%22fields%22%3A7%7D%5D",
        "application/x-www-form-urlencoded",
    ),
    (b"--b\r\nbroken multipart", "multipart/form-data; boundary=b"),
    (b"<xml/>", "text/xml"),
]


@pytest.mark.parametrize(
    "method", ["chat.postMessage", "chat.update", "conversations.list", "conversations.replies", "auth.test"]
)
@pytest.mark.parametrize(("body", "content_type"), BODIES)
def test_slack_bad_input_is_an_ok_false_answer(
    sandbox: ChatSandbox, method: str, body: bytes, content_type: str
) -> None:
    """Slack answers malformed calls with {"ok": false, "error": CODE} (HTTP 200 for argument errors)."""
    answer = requests.post(
        sandbox.slack_api_url + method,
        data=body,
        headers={"Authorization": f"Bearer {sandbox.slack_token}", "Content-Type": content_type},
        timeout=10,
    )
    assert answer.status_code < 500
    payload = answer.json()
    assert isinstance(payload["ok"], bool)
    if not payload["ok"]:
        assert isinstance(payload["error"], str)


@pytest.mark.parametrize(("body", "content_type"), BODIES)
def test_teams_bad_input_is_a_4xx_error_object(sandbox: ChatSandbox, body: bytes, content_type: str) -> None:
    """Workflows and the Bot Framework answer bad requests with 4xx and {"error": {"code", "message"}}."""
    app = sandbox.bot_app
    token = requests.post(
        sandbox.botframework_token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": app.app_id,
            "client_secret": app.password,
            "scope": "https://api.botframework.com/.default",
        },
        timeout=10,
    ).json()["access_token"]
    targets = [
        (sandbox.teams_webhook_url, {}),
        (sandbox.botframework_service_url + "v3/conversations/a:1/activities/1", {"Authorization": f"Bearer {token}"}),
    ]
    for url, headers in targets:
        answer = requests.post(url, data=body, headers={**headers, "Content-Type": content_type}, timeout=10)
        assert 400 <= answer.status_code < 500, (url, answer.status_code, answer.text)
        error = answer.json()["error"]
        assert isinstance(error["code"], str)
        assert isinstance(error["message"], str)


@pytest.mark.parametrize(("body", "content_type"), BODIES)
def test_token_endpoint_bad_input_is_an_aad_error(sandbox: ChatSandbox, body: bytes, content_type: str) -> None:
    """AAD answers malformed token requests with 4xx {"error", "error_description"}."""
    answer = requests.post(
        sandbox.botframework_token_url, data=body, headers={"Content-Type": content_type}, timeout=10
    )
    assert 400 <= answer.status_code < 500
    assert isinstance(answer.json()["error"], str)
