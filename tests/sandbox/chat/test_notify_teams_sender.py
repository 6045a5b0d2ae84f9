"""The Teams sender (bots/notify/teams_sender.py) against the running Workflows webhook stand-in over real
HTTP: accepted cards, typed errors, 429 with Retry-After, the 28 KB limit, and the URL never shown."""

from __future__ import annotations

import dataclasses
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from sreops.bots.notify import teams_cards
from sreops.bots.notify.teams_sender import (
    TeamsBadRequestError,
    TeamsDestination,
    TeamsError,
    TeamsPayloadTooLargeError,
    TeamsRateLimitedError,
    TeamsUnavailableError,
    TeamsWebhookRejectedError,
    WorkflowWebhook,
)
from sreops.sandbox.chat.ratelimit import ManualClock
from sreops.sandbox.chat.recording import read_jsonl
from sreops.sandbox.chat.server import ChatSandbox
from tests.unit.test_notify_samples import SAMPLES


class Sleeps:
    def __init__(self, clock: ManualClock | None = None) -> None:
        self.clock = clock
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.clock is not None:
            self.clock.advance(seconds)


def webhook(url: str, sleep: Callable[[float], None], **kw: Any) -> WorkflowWebhook:
    return WorkflowWebhook(url, sleep=sleep, **kw)


def cards(sandbox: ChatSandbox) -> list[dict[str, Any]]:
    return read_jsonl(sandbox.cards_path)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_query(url: str, **changes: str | None) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    for name, value in changes.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = value
    return parts._replace(query="&".join(f"{k}={v}" for k, v in query.items())).geturl()


@pytest.fixture
def sleeps(clock: ManualClock) -> Sleeps:
    return Sleeps(clock)


def test_a_card_is_accepted_and_recorded(sandbox: ChatSandbox, sleeps: Sleeps) -> None:
    teams = webhook(sandbox.teams_webhook_url, sleeps)
    payload = teams_cards.card(SAMPLES["RunFailed"])
    teams.send(payload)
    recorded = cards(sandbox)
    assert [(r["kind"], r["payload"]) for r in recorded] == [("webhook", payload)]


def test_the_workflow_webhook_is_a_teams_destination(sandbox: ChatSandbox, sleeps: Sleeps) -> None:
    teams = webhook(sandbox.teams_webhook_url, sleeps)
    assert isinstance(teams, TeamsDestination)
    assert teams.description == "Teams Workflows webhook on 127.0.0.1"
    assert repr(teams) == "WorkflowWebhook(host='127.0.0.1')"


@pytest.mark.parametrize(
    ("change", "error", "code", "status"),
    [
        ({"sig": "x" * 43}, TeamsWebhookRejectedError, "DirectApiInvalidAuthorizationSignature", 401),
        ({"sig": None}, TeamsWebhookRejectedError, "DirectApiAuthorizationRequired", 401),
        ({"api-version": None}, TeamsBadRequestError, "MissingApiVersionParameter", 400),
    ],
)
def test_a_bad_webhook_is_a_typed_permanent_error(
    sandbox: ChatSandbox, sleeps: Sleeps, change: dict[str, str | None], error: type, code: str, status: int
) -> None:
    teams = webhook(with_query(sandbox.teams_webhook_url, **change), sleeps)
    with pytest.raises(error) as info:
        teams.send(teams_cards.card(SAMPLES["Test"]))
    assert (info.value.code, info.value.status) == (code, status)
    assert not info.value.retryable
    assert cards(sandbox) == []


def test_a_deleted_workflow_is_404_and_its_id_is_not_shown(sandbox: ChatSandbox, sleeps: Sleeps) -> None:
    workflow = sandbox.teams_webhook.config.webhooks[0].workflow_id
    teams = webhook(sandbox.teams_webhook_url.replace(workflow, "0" * 32), sleeps)
    with pytest.raises(TeamsWebhookRejectedError) as info:
        teams.send(teams_cards.card(SAMPLES["Test"]))
    assert (info.value.code, info.value.status) == ("WorkflowNotFound", 404)
    assert "0" * 32 not in str(info.value)
    assert "The workflow '***' could not be found." in str(info.value)


def test_not_an_adaptive_card_is_a_bad_request(sandbox: ChatSandbox, sleeps: Sleeps) -> None:
    with pytest.raises(TeamsBadRequestError) as info:
        webhook(sandbox.teams_webhook_url, sleeps).send({"type": "message", "text": "hello"})
    assert info.value.code == "InvalidAdaptiveCard"


# --- rate limits -------------------------------------------------------------------------------------


def test_429_retry_after_is_honoured(sandbox: ChatSandbox, sleeps: Sleeps) -> None:
    """~4 requests/s per webhook: the fifth card waits the stand-in's Retry-After (1 s), then goes."""
    teams = webhook(sandbox.teams_webhook_url, sleeps)
    for n in range(9):
        teams.send(teams_cards.card(dataclasses.replace(SAMPLES["Test"], title=f"card {n}")))
    assert sleeps.waits == [1.0, 1.0]
    titles = [r["payload"]["attachments"][0]["content"]["body"][0]["items"][0]["text"] for r in cards(sandbox)]
    assert titles == [f"👋 card {n}" for n in range(9)]


def test_a_wait_beyond_the_budget_is_a_typed_retryable_error(sandbox: ChatSandbox, sleeps: Sleeps) -> None:
    teams = webhook(sandbox.teams_webhook_url, sleeps, max_rate_limit_wait=0.5)
    for _ in range(4):
        teams.send(teams_cards.card(SAMPLES["Test"]))
    with pytest.raises(TeamsRateLimitedError) as info:
        teams.send(teams_cards.card(SAMPLES["Test"]))
    assert info.value.retryable and info.value.retry_after == 1.0
    assert info.value.code == "WorkflowRequestsThrottled"
    assert sleeps.waits == []
    assert len(cards(sandbox)) == 4


def test_attempts_are_bounded(sandbox: ChatSandbox) -> None:
    waits = Sleeps()  # the stand-in's clock never moves: it stays throttled
    teams = webhook(sandbox.teams_webhook_url, waits, max_attempts=3)
    for _ in range(4):
        teams.send(teams_cards.card(SAMPLES["Test"]))
    with pytest.raises(TeamsRateLimitedError):
        teams.send(teams_cards.card(SAMPLES["Test"]))
    assert waits.waits == [1.0, 1.0]


# --- size --------------------------------------------------------------------------------------------


def test_a_payload_over_28_kb_is_refused_before_sending(sandbox: ChatSandbox, sleeps: Sleeps) -> None:
    """Workflows would answer 202 and drop it; the sender says so instead, and sends nothing."""
    payload = teams_cards.envelope(
        {"type": "AdaptiveCard", "version": "1.4", "body": [{"type": "TextBlock", "text": "x" * 30_000}]}
    )
    with pytest.raises(TeamsPayloadTooLargeError) as info:
        webhook(sandbox.teams_webhook_url, sleeps).send(payload)
    assert "28672" in str(info.value)
    assert cards(sandbox) == []


def test_a_413_is_payload_too_large(sandbox: ChatSandbox, sleeps: Sleeps) -> None:
    stand_in = sandbox.teams_webhook
    stand_in.config = dataclasses.replace(stand_in.config, max_payload_bytes=500)
    with pytest.raises(TeamsPayloadTooLargeError) as info:
        webhook(sandbox.teams_webhook_url, sleeps).send(teams_cards.card(SAMPLES["RunFailed"]))
    assert (info.value.code, info.value.status) == ("MessageSizeExceeded", 413)
    assert not info.value.retryable


# --- transport ---------------------------------------------------------------------------------------


def test_teams_down_is_unavailable() -> None:
    teams = WorkflowWebhook(f"http://127.0.0.1:{free_port()}/workflows/abc?sig=secretsecret", timeout=2)
    with pytest.raises(TeamsUnavailableError) as info:
        teams.send(teams_cards.card(SAMPLES["Test"]))
    assert info.value.retryable
    assert info.value.code == "ConnectionFailed"
    assert "secretsecret" not in str(info.value)


@pytest.fixture
def answering() -> Iterator[Callable[[int, dict[str, str]], str]]:
    """A webhook that answers every post with the given status and headers; yields a URL maker."""
    servers: list[ThreadingHTTPServer] = []

    def start(status: int, headers: dict[str, str]) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/workflows/0123456789abcdef0123/invoke?sig=s3cr3ts1gnature"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_a_redirect_is_not_followed(answering: Callable[[int, dict[str, str]], str]) -> None:
    url = answering(307, {"Location": "https://elsewhere.example/hook"})
    with pytest.raises(TeamsWebhookRejectedError) as info:
        WorkflowWebhook(url).send(teams_cards.card(SAMPLES["Test"]))
    assert (info.value.code, info.value.status) == ("Redirected", 307)


def test_a_5xx_is_unavailable_and_maybe_delivered(answering: Callable[[int, dict[str, str]], str]) -> None:
    with pytest.raises(TeamsUnavailableError) as info:
        WorkflowWebhook(answering(502, {})).send(teams_cards.card(SAMPLES["Test"]))
    assert info.value.status == 502 and info.value.maybe_delivered


def test_retry_after_as_an_http_date(answering: Callable[[int, dict[str, str]], str]) -> None:
    url = answering(429, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})  # in the past: retry at once
    waits = Sleeps()
    with pytest.raises(TeamsRateLimitedError):
        WorkflowWebhook(url, sleep=waits, max_attempts=2).send(teams_cards.card(SAMPLES["Test"]))
    assert waits.waits == [0.0]


@pytest.mark.parametrize("url", ["ftp://host/hook", "file:///etc/passwd", "not a url", "https://host/a b?sig=x"])
def test_only_http_urls_are_taken(url: str) -> None:
    with pytest.raises(TeamsWebhookRejectedError) as info:
        WorkflowWebhook(url)
    assert info.value.code == "InvalidWebhookUrl"
    assert url not in str(info.value)


# --- the URL never shows -----------------------------------------------------------------------------


def test_the_webhook_url_appears_in_no_error_repr_or_log(
    sandbox: ChatSandbox, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = sandbox.teams_webhook_url
    hook = sandbox.teams_webhook.config.webhooks[0]
    good = webhook(url, sleeps)
    shown = [repr(good), good.description, str(vars(good).get("description"))]
    good.send(teams_cards.card(SAMPLES["RunFailed"]))
    attempts: list[Callable[[], Any]] = [
        lambda: webhook(with_query(url, sig="wrong-" + hook.sig), sleeps).send(teams_cards.card(SAMPLES["Test"])),
        lambda: webhook(url.replace(hook.workflow_id, hook.workflow_id[::-1]), sleeps).send({}),
        lambda: webhook(with_query(url, **{"api-version": None}), sleeps).send(teams_cards.card(SAMPLES["Test"])),
        lambda: webhook(url, sleeps).send({"type": "message"}),
        lambda: [webhook(url, sleeps, max_rate_limit_wait=0).send(teams_cards.card(SAMPLES["Test"])) for _ in range(6)],
        lambda: webhook(url.replace(str(sandbox.port), str(free_port())), sleeps, timeout=2).send({}),
    ]
    for attempt in attempts:
        with pytest.raises(TeamsError) as info:
            attempt()
        shown += [str(info.value), repr(info.value), repr(info.value.args), info.value.detail]
        assert info.value.__cause__ is None
        assert info.value.__context__ is None or info.value.__suppress_context__
    # The stand-in's own access log shows request paths (the workflow id, never the sig): leave it out.
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith(("aiohttp", "sreops.sandbox"))]
    assert any("accepted by 127.0.0.1" in line for line in ours)
    everything = "\n".join(shown + ours) + sandbox.cards_path.read_text()
    assert "WorkflowRequestsThrottled" in everything and "'***'" in everything  # redacted, not missing
    for secret in (url, hook.sig, hook.workflow_id, hook.workflow_id[::-1], urlsplit(url).query):
        assert secret not in everything
    for secret in (url, hook.sig, urlsplit(url).query):
        assert secret not in caplog.text
