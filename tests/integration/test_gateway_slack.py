"""Slack requests to a real gateway (HTTP, in a thread of the test) against the Kubernetes stand-in: signed
commands and buttons act; unsigned, wrongly signed, replayed and malformed ones are refused and change
nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from sreops.sandbox.chat.slack_signing import signed_headers, slash_command_body
from tests.integration.conftest import Kube
from tests.integration.gateway_support import (
    OPERATOR_USER,
    SIGNING_SECRET,
    SLACK_TEAM,
    VIEWER_USER,
    GatewayServer,
    apply_samples,
    chat_events,
    http,
    seed_chat_users,
    settings,
)

pytestmark = pytest.mark.integration


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def gateway(kube: Kube, clock: Clock) -> Iterator[GatewayServer]:
    apply_samples(kube.api, "web-fleet", "prod")
    seed_chat_users(kube.api)
    server = GatewayServer(settings(), kube.api, clock=clock)
    try:
        yield server
    finally:
        server.stop()


def command(gw: GatewayServer, text: str, *, user: str = OPERATOR_USER, timestamp: int | None = None) -> Any:
    body = slash_command_body(text, user_id=user, team_id=SLACK_TEAM, response_url=gw.responses.url())
    return http("POST", gw.url + "/slack/commands", body, signed_headers(SIGNING_SECRET, body, timestamp))


def suspend_of(kube: Kube, name: str = "web-fleet") -> Any:
    obj = kube.custom.get_namespaced_custom_object("sreops.io", "v1alpha1", "default", "patchpolicies", name)
    return obj["spec"].get("suspend"), obj["metadata"].get("annotations", {}), obj["metadata"]["resourceVersion"]


def texts(message: dict[str, Any]) -> str:
    return "\n".join(b["text"]["text"] for b in message["blocks"])


def test_help_and_unknown_commands_answer_the_command_list(gateway: GatewayServer) -> None:
    for text in ("help", "", "frobnicate web-fleet"):
        answer = command(gateway, text)
        assert answer.status == 200, answer.body
        message = answer.json()
        assert message["response_type"] == "ephemeral"
        assert "run POLICY" in texts(message)
    assert "unknown command 'frobnicate'" in command(gateway, "frobnicate").json()["text"]


def test_status_reads_the_cluster(gateway: GatewayServer) -> None:
    message = command(gateway, "status").json()
    assert "PatchPolicy web-fleet" in texts(message)
    assert "AWSAccount prod" in texts(message)
    one = command(gateway, "status pp/web-fleet").json()
    assert "PatchPolicy web-fleet" in texts(one)
    assert "AWSAccount" not in texts(one)
    missing = command(gateway, "status pp/nope").json()
    assert missing["text"].startswith("Not found")


def test_pause_and_resume_change_the_policy_and_leave_an_audit_event(gateway: GatewayServer, kube: Kube) -> None:
    answer = command(gateway, "pause web-fleet")
    assert answer.status == 200
    assert answer.json()["response_type"] == "in_channel"
    assert "paused by alice@example.com via slack" in answer.json()["text"]
    assert suspend_of(kube)[0] is True
    again = command(gateway, "pause web-fleet").json()
    assert "already paused" in again["text"]
    assert command(gateway, "resume web-fleet").status == 200
    assert suspend_of(kube)[0] is False
    events = chat_events(kube.api)
    assert [e.action for e in events].count("Pause") == 1  # the no-op pause changed nothing and is not audited
    assert all(e.involved_object.name == "web-fleet" and e.involved_object.kind == "PatchPolicy" for e in events)
    assert any(f"alice@example.com via slack ({SLACK_TEAM}/{OPERATOR_USER})" in e.message for e in events)
    assert {e.source.component for e in events} == {"sreops-gateway"}


def test_unmapped_users_may_read_but_not_write(gateway: GatewayServer, kube: Kube) -> None:
    before = suspend_of(kube)
    assert "PatchPolicy web-fleet" in texts(command(gateway, "status", user="U0STRANGER").json())
    refused = command(gateway, "pause web-fleet", user="U0STRANGER").json()
    assert refused["text"].startswith("Not done")
    assert "identities ConfigMap" in texts(refused)
    assert suspend_of(kube) == before
    assert chat_events(kube.api) == []


def test_refused_requests_get_401_or_400_and_change_nothing(gateway: GatewayServer, kube: Kube, clock: Clock) -> None:
    before = suspend_of(kube)
    url = gateway.url + "/slack/commands"
    body = slash_command_body("pause web-fleet", user_id=OPERATOR_USER, response_url=gateway.responses.url())
    good = signed_headers(SIGNING_SECRET, body)
    cases: dict[str, tuple[bytes, dict[str, str], int]] = {
        "unsigned": (body, {"Content-Type": "application/x-www-form-urlencoded"}, 401),
        "wrong secret": (body, signed_headers("another-secret", body), 401),
        "body changed after signing": (body + b"&x=1", good, 401),
        "signature not hex": (body, {**good, "X-Slack-Signature": "v0=" + "\u00e9" * 64}, 401),
        "timestamp not a number": (body, {**good, "X-Slack-Request-Timestamp": "soon"}, 401),
        "stale (6 minutes old)": (body, signed_headers(SIGNING_SECRET, body, int(clock.now) - 360), 401),
        "from the future": (body, signed_headers(SIGNING_SECRET, body, int(clock.now) + 360), 401),
    }
    for bad in (b"%zz=\xff\xfe", b"text=a&text=b", b"no-equals-sign&&&"):
        cases[f"malformed {bad!r}"] = (bad, signed_headers(SIGNING_SECRET, bad), 400)
    json_body = b'{"text": "pause web-fleet"}'
    cases["json, signed"] = (
        json_body,
        {**signed_headers(SIGNING_SECRET, json_body), "Content-Type": "application/json"},
        415,
    )
    for name, (data, headers, status) in cases.items():
        answer = http("POST", url, data, headers)
        assert answer.status == status, name
        error = answer.json()["error"]
        assert error["code"] and error["message"], name
        assert SIGNING_SECRET not in answer.body.decode(), name
    # A replay: a genuine request sent again once more than 5 minutes have passed.
    assert http("POST", url, body, good).status == 200
    resumed = slash_command_body("resume web-fleet", user_id=OPERATOR_USER, response_url=gateway.responses.url())
    resume_headers = signed_headers(SIGNING_SECRET, resumed)
    assert http("POST", url, resumed, resume_headers).status == 200
    paused_state = suspend_of(kube)
    assert paused_state[0] is False
    clock.now += 301
    assert http("POST", url, body, good).status == 401
    assert suspend_of(kube) == paused_state
    assert suspend_of(kube)[0] == before[0]
    metrics = http("GET", gateway.url + "/metrics").body.decode()
    assert 'sreops_gateway_auth_failures_total{channel="slack",reason="bad_signature"} 3.0' in metrics
    assert 'sreops_gateway_auth_failures_total{channel="slack",reason="stale_timestamp"} 4.0' in metrics
    assert 'sreops_gateway_auth_failures_total{channel="slack",reason="missing_signature"} 1.0' in metrics


def button_payload(gw: GatewayServer, action_id: str, policy: str = "web-fleet", user: str = OPERATOR_USER) -> bytes:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "alice", "team_id": SLACK_TEAM},
        "team": {"id": SLACK_TEAM, "domain": "sreops-sandbox"},
        "api_app_id": "A0SREOPS",
        "response_url": gw.responses.url("button"),
        "trigger_id": "1.2.3",
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "b1",
                "value": json.dumps({"kind": "PatchPolicy", "namespace": "default", "name": policy}),
                "action_ts": str(time.time()),
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def test_buttons_pause_and_resume_and_answer_through_response_url(gateway: GatewayServer, kube: Kube) -> None:
    url = gateway.url + "/slack/actions"
    body = button_payload(gateway, "sreops_pause")
    answer = http("POST", url, body, signed_headers(SIGNING_SECRET, body))
    assert answer.status == 200
    assert answer.body == b""
    ((path, message),) = gateway.responses.wait(1)
    assert path.endswith("/button")
    assert "paused by alice@example.com" in message["text"]
    assert message["replace_original"] is False
    assert suspend_of(kube)[0] is True
    body = button_payload(gateway, "sreops_resume")
    assert http("POST", url, body, signed_headers(SIGNING_SECRET, body)).status == 200
    gateway.responses.wait(2)
    assert suspend_of(kube)[0] is False
    unsigned = http("POST", url, body, {"Content-Type": "application/x-www-form-urlencoded"})
    assert unsigned.status == 401
    for bad_value in ("sreops_delete_everything", "sreops_pause"):
        payload = json.loads(dict(x.split("=", 1) for x in [f"payload={json.dumps({})}"])["payload"])
        assert payload == {}
        bogus = button_payload(gateway, bad_value, policy="Not_A_Name")
        assert http("POST", url, bogus, signed_headers(SIGNING_SECRET, bogus)).status == 400
    assert suspend_of(kube)[0] is False


def test_a_slow_command_is_acknowledged_then_answered_through_response_url(kube: Kube) -> None:
    apply_samples(kube.api, "web-fleet")
    seed_chat_users(kube.api)
    server = GatewayServer(settings(slack_inline_seconds=0), kube.api)
    try:
        answer = command(server, "pause web-fleet")
        assert answer.status == 200
        assert answer.json()["text"].startswith("Working on it")
        ((_, message),) = server.responses.wait(1)
        assert "paused by alice@example.com" in message["text"]
        assert message["response_type"] == "in_channel"
        assert suspend_of(kube)[0] is True
    finally:
        server.stop()


def test_a_user_without_rbac_permission_is_refused_politely_and_nothing_changes(
    gateway: GatewayServer, kube: Kube
) -> None:
    before = suspend_of(kube)
    for text in ("pause web-fleet", "run web-fleet"):
        answer = command(gateway, text, user=VIEWER_USER)
        assert answer.status == 200
        message = answer.json()
        assert message["text"].startswith("Not allowed"), message
        assert 'User "bob@example.com" cannot patch resource "patchpolicies"' in texts(message)
    assert suspend_of(kube) == before
    assert chat_events(kube.api) == []
    assert "PatchPolicy web-fleet" in texts(command(gateway, "status", user=VIEWER_USER).json())
    metrics = http("GET", gateway.url + "/metrics").body.decode()
    assert 'sreops_gateway_commands_total{channel="slack",command="pause",result="denied"} 1.0' in metrics
