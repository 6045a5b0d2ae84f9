"""The senders' pure parts: Retry-After, the bounded 429 handler, reading messages back, redaction.
(Over HTTP against the stand-ins: tests/sandbox/chat/test_notify_{slack,teams}_sender.py.)"""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from sreops.bots.notify import slack_blocks
from sreops.bots.notify.slack_sender import BoundedRateLimitHandler, SlackMessage, SlackSender, retry_after_seconds
from sreops.bots.notify.teams_sender import WorkflowWebhook

TEAMS_URL = (
    "https://prod-12.westus.logic.azure.com:443/workflows/0f1e2d3c4b5a69788796a5b4c3d2e1f0/triggers/manual/paths/"
    "invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=Zm9vYmFyLWJhei1xdXV4LXNpZ25hdHVyZQ%3D%3D"
)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("3", 3.0), (" 1.5 ", 1.5), ("0", 0.0), ("-4", 0.0), ("soon", None), ("nan", None), ("inf", None), (None, None)],
)
def test_retry_after_seconds(value: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(value) == seconds


def test_retry_after_as_an_http_date() -> None:
    now = time.time()
    assert retry_after_seconds(formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30, abs=1)
    assert retry_after_seconds(formatdate(now - 30, usegmt=True), now=now) == 0.0


def _response(status: int, retry_after: str | None) -> HttpResponse:
    headers = {"Retry-After": [retry_after]} if retry_after is not None else {}
    return HttpResponse(status_code=status, headers=headers)  # type: ignore[arg-type]


def test_bounded_handler_waits_retry_after_until_the_budget_is_spent() -> None:
    waits: list[float] = []
    handler = BoundedRateLimitHandler(5.0, sleep=waits.append)
    state = RetryState()
    request = HttpRequest(method="POST", url="https://slack.com/api/chat.postMessage", headers={})
    assert handler.can_retry(state=state, request=request, response=_response(429, "2"))
    handler.prepare_for_next_attempt(state=state, request=request, response=_response(429, "2"))
    assert waits == [2.0]
    assert state.next_attempt_requested and state.current_attempt == 1
    assert handler.can_retry(state=state, request=request, response=_response(429, "3"))  # 2 + 3 <= 5
    assert not handler.can_retry(state=state, request=request, response=_response(429, "4"))  # 2 + 4 > 5
    assert not handler.can_retry(state=state, request=request, response=_response(500, "1"))
    assert not handler.can_retry(state=RetryState(), request=request, response=None, error=OSError())


def test_bounded_handler_without_retry_after_waits_a_second() -> None:
    waits: list[float] = []
    handler = BoundedRateLimitHandler(5.0, sleep=waits.append)
    state = RetryState()
    request = HttpRequest(method="POST", url="https://slack.com/api/chat.update", headers={})
    assert handler.can_retry(state=state, request=request, response=_response(429, None))
    handler.prepare_for_next_attempt(state=state, request=request, response=_response(429, None))
    assert waits == [1.0]


def test_a_message_read_back_carries_its_key_by_metadata_or_marker() -> None:
    by_metadata = SlackMessage.from_api({"ts": "1.2", "text": "t", "metadata": slack_blocks.metadata("k1", "reply")})
    assert by_metadata.carries("k1", "reply") and not by_metadata.carries("k1")
    by_marker = SlackMessage.from_api(
        {"ts": "1.3", "thread_ts": "1.1", "blocks": [{"type": "header", "block_id": slack_blocks.marker("k2")}]}
    )
    assert by_marker.carries("k2") and not by_marker.carries("k1")
    assert by_marker.thread_ts == "1.1"
    foreign = SlackMessage.from_api({"ts": "1.4", "metadata": {"event_type": "other", "event_payload": {"key": "k3"}}})
    assert not foreign.carries("k3")


def test_sender_repr_shows_no_token() -> None:
    token = "xoxb-123-456-abcdefabcdefabcdef"
    sender = SlackSender(token, base_url="https://slack.example/api")
    assert repr(sender) == "SlackSender(base_url='https://slack.example/api/')"
    assert token not in repr(sender) + str(vars(sender).get("base_url"))


def test_webhook_redacts_every_part_of_its_url() -> None:
    teams = WorkflowWebhook(TEAMS_URL)
    sig = TEAMS_URL.rsplit("sig=", 1)[1]
    message = (
        f"POST {TEAMS_URL} failed; workflow '0f1e2d3c4b5a69788796a5b4c3d2e1f0' sig {sig} "
        "decoded Zm9vYmFyLWJhei1xdXV4LXNpZ25hdHVyZQ=="
    )
    redacted = teams.redact(message)
    for secret in (TEAMS_URL, sig, "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "Zm9vYmFyLWJhei1xdXV4LXNpZ25hdHVyZQ=="):
        assert secret not in redacted
    assert redacted.startswith("POST *** failed; workflow '***'")
    assert repr(teams) == "WorkflowWebhook(host='prod-12.westus.logic.azure.com')"
    assert teams.description == "Teams Workflows webhook on prod-12.westus.logic.azure.com"
