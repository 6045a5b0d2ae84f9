"""Teams activities to a real gateway against the chat stand-ins' Bot Framework (OpenID/JWKS issuer, token
endpoint, connector) and the Kubernetes stand-in: a valid sandbox-issued JWT acts and is answered with an
Adaptive Card through the connector; a token signed by another key, expired, for another audience (and
the other variants) is refused with 401 before anything is done."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sreops.sandbox import gateway_seed
from sreops.sandbox.chat.server import ChatSandbox, ThreadedChatSandbox
from sreops.sandbox.chat.tokens import TokenVariant
from tests.integration.conftest import Kube
from tests.integration.gateway_support import GatewayServer, apply_samples, chat_events, http, seed_chat_users, settings

pytestmark = pytest.mark.integration


@dataclass
class Teams:
    chat: ChatSandbox
    gateway: GatewayServer

    def activity(self, text: str, aad: str = gateway_seed.TEAMS_OPERATOR, **extra: Any) -> dict[str, Any]:
        return {
            "type": "message",
            "id": "1700000000001",
            "channelId": "msteams",
            "serviceUrl": self.chat.botframework_service_url,
            "from": {"id": "29:1abc", "aadObjectId": aad, "name": "Carol"},
            "conversation": {"id": "a:conversation-1", "conversationType": "personal"},
            "recipient": {"id": f"28:{self.chat.bot_app.app_id}", "name": "sreops"},
            "text": text,
            **extra,
        }

    def send(self, activity: dict[str, Any], variant: TokenVariant | None = TokenVariant.VALID) -> Any:
        headers = {"Content-Type": "application/json"}
        if variant is not None:
            minter = self.chat.token_minter()
            headers["Authorization"] = minter.authorization(self.chat.bot_app.app_id, activity["serviceUrl"], variant)
        return http("POST", self.gateway.url + "/api/messages", json.dumps(activity).encode(), headers)

    def replies(self) -> list[dict[str, Any]]:
        if not self.chat.cards_path.exists():
            return []
        lines = [json.loads(line) for line in self.chat.cards_path.read_text().splitlines()]
        return [line["payload"] for line in lines if line["kind"] == "reply"]


@pytest.fixture
def teams(kube: Kube, tmp_path: Path) -> Iterator[Teams]:
    apply_samples(kube.api, "web-fleet")
    seed_chat_users(kube.api)
    with ThreadedChatSandbox(ChatSandbox(tmp_path / "chat")) as chat:
        config = settings(
            teams_app_id=chat.bot_app.app_id,
            teams_app_password=chat.bot_app.password,
            teams_openid_metadata_url=chat.openid_metadata_url,
            teams_token_url=chat.botframework_token_url,
        )
        server = GatewayServer(config, kube.api)
        try:
            yield Teams(chat, server)
        finally:
            server.stop()


def suspended(kube: Kube) -> Any:
    obj = kube.custom.get_namespaced_custom_object("sreops.io", "v1alpha1", "default", "patchpolicies", "web-fleet")
    return obj["spec"].get("suspend")


def card_texts(reply: dict[str, Any]) -> str:
    (attachment,) = reply["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    return "\n".join(block["text"] for block in attachment["content"]["body"])


def test_a_valid_token_runs_the_command_and_replies_with_an_adaptive_card(teams: Teams, kube: Kube) -> None:
    answer = teams.send(teams.activity("<at>sreops</at> pause web-fleet"))
    assert answer.status == 200, answer.body
    assert suspended(kube) is True
    (reply,) = teams.replies()
    assert reply["type"] == "message"
    assert reply["conversation"]["id"] == "a:conversation-1"
    assert "paused by carol@example.com via teams" in card_texts(reply)
    (event,) = chat_events(kube.api)
    assert f"carol@example.com via teams ({gateway_seed.TEAMS_OPERATOR})" in event.message
    assert teams.send(teams.activity("status pp/web-fleet")).status == 200
    assert "PatchPolicy web-fleet" in card_texts(teams.replies()[-1])


def test_a_viewer_is_refused_by_rbac(teams: Teams, kube: Kube) -> None:
    assert teams.send(teams.activity("pause web-fleet", aad=gateway_seed.TEAMS_VIEWER)).status == 200
    assert suspended(kube) is False
    assert "Not allowed" in card_texts(teams.replies()[-1])
    assert chat_events(kube.api) == []


@pytest.mark.parametrize(
    ("variant", "reason"),
    [
        (TokenVariant.WRONG_KEY, "bad_token"),
        (TokenVariant.EXPIRED, "expired_token"),
        (TokenVariant.WRONG_AUDIENCE, "wrong_audience"),
        (TokenVariant.WRONG_ISSUER, "bad_token"),
        (TokenVariant.WRONG_SERVICE_URL, "bad_token"),
        (None, "missing_token"),
    ],
)
def test_bad_tokens_get_401_and_change_nothing(
    teams: Teams, kube: Kube, variant: TokenVariant | None, reason: str
) -> None:
    answer = teams.send(teams.activity("pause web-fleet"), variant)
    assert answer.status == 401
    assert answer.json()["error"]["code"] == "Unauthorized"
    assert suspended(kube) is False
    assert teams.replies() == []
    metrics = http("GET", teams.gateway.url + "/metrics").body.decode()
    assert f'sreops_gateway_auth_failures_total{{channel="teams",reason="{reason}"}} 1.0' in metrics


def test_malformed_activities_get_400(teams: Teams, kube: Kube) -> None:
    url = teams.gateway.url + "/api/messages"
    token = teams.chat.token_minter().authorization(teams.chat.bot_app.app_id, teams.chat.botframework_service_url)
    headers = {"Content-Type": "application/json", "Authorization": token}
    for body in (b"{not json", b"[]", b'{"type": "message"}', "\u00e9\u2603".encode()):
        answer = http("POST", url, body, headers)
        assert answer.status == 400, body
        assert answer.json()["error"]["field"]
    assert http("POST", url, b"text=pause", {**headers, "Content-Type": "text/plain"}).status == 415
    assert suspended(kube) is False
