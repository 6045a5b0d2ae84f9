"""The Bot Framework stand-ins: connector replies (through botbuilder's own adapter), the
client-credentials token endpoint, and OpenID metadata + JWKS for channel-token validation."""

from __future__ import annotations

import stat
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from botbuilder.core import BotFrameworkAdapter, BotFrameworkAdapterSettings, CardFactory, MessageFactory, TurnContext
from botbuilder.schema import Activity, ChannelAccount, ConversationAccount, ConversationReference
from botframework.connector.auth import (
    AppCredentials,
    ChannelValidation,
    ClaimsIdentity,
    JwtTokenValidation,
    SimpleCredentialProvider,
)
from botframework.connector.models import ErrorResponseException

from sreops.sandbox.chat.botframework import BotApp
from sreops.sandbox.chat.ratelimit import ManualClock, RateLimit
from sreops.sandbox.chat.recording import read_jsonl
from sreops.sandbox.chat.server import ChatSandbox, ThreadedChatSandbox
from sreops.sandbox.chat.tokens import (
    BotFrameworkTokenMinter,
    SigningKey,
    TokenVariant,
    fetch_connector_token,
    issue_connector_token,
)

CONVERSATION = "19:3b2e9f1c@thread.tacv2;messageid=1700000000000"


def reference(sandbox: ChatSandbox, app_id: str) -> ConversationReference:
    return ConversationReference(
        channel_id="msteams",
        service_url=sandbox.botframework_service_url,
        conversation=ConversationAccount(id=CONVERSATION, conversation_type="channel"),
        bot=ChannelAccount(id=f"28:{app_id}", name="sreops"),
        user=ChannelAccount(id="29:1a2b3c", name="On-call"),
        activity_id="1700000000000",
    )


def authenticated_adapter(sandbox: ChatSandbox, credentials: AppCredentials) -> BotFrameworkAdapter:
    app = sandbox.bot_app
    return BotFrameworkAdapter(BotFrameworkAdapterSettings(app.app_id, app.password, app_credentials=credentials))


def replies(sandbox: ChatSandbox) -> list[dict[str, Any]]:
    return [r for r in read_jsonl(sandbox.cards_path) if r["kind"] == "reply"]


def connector_url(sandbox: ChatSandbox, activity_id: str | None = None) -> str:
    url = f"{sandbox.botframework_service_url}v3/conversations/{CONVERSATION}/activities"
    return f"{url}/{activity_id}" if activity_id else url


def bearer(sandbox: ChatSandbox) -> dict[str, str]:
    app = sandbox.bot_app
    return {
        "Authorization": "Bearer " + fetch_connector_token(sandbox.botframework_token_url, app.app_id, app.password)
    }


# --- OpenID metadata and JWKS -------------------------------------------------------------------------


def test_openid_metadata_points_at_a_jwks_with_an_endorsed_rsa_key(sandbox: ChatSandbox) -> None:
    """Like https://login.botframework.com/v1/.well-known/openidconfiguration: issuer
    https://api.botframework.com, RS256, and a jwks_uri whose keys carry kid, n, e and endorsements."""
    document = requests.get(sandbox.openid_metadata_url, timeout=10).json()
    assert document["issuer"] == "https://api.botframework.com"
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    assert document["jwks_uri"].startswith(sandbox.base_url)
    [key] = requests.get(document["jwks_uri"], timeout=10).json()["keys"]
    assert key["kty"] == "RSA"
    assert key["kid"]
    assert {"n", "e"} <= set(key)
    assert "msteams" in key["endorsements"]


# --- channel -> bot tokens ----------------------------------------------------------------------------


async def test_minted_token_passes_botframework_validation(sandbox: ChatSandbox, openid_metadata: str) -> None:
    """botframework-connector's JwtTokenValidation (what a bot runs on each incoming activity) accepts
    a token with issuer https://api.botframework.com, audience = the app id, the activity's serviceUrl,
    unexpired, signed by a key in the JWKS."""
    app = sandbox.bot_app
    activity = Activity(type="message", channel_id="msteams", service_url=sandbox.botframework_service_url, text="hi")
    header = sandbox.token_minter().authorization(app.app_id, sandbox.botframework_service_url)
    identity = await JwtTokenValidation.authenticate_request(
        activity, header, SimpleCredentialProvider(app.app_id, app.password)
    )
    assert identity.is_authenticated
    assert identity.get_claim_value("aud") == app.app_id


@pytest.mark.parametrize(
    "variant",
    [v for v in TokenVariant if v is not TokenVariant.VALID],
)
async def test_broken_tokens_are_rejected_by_botframework_validation(
    sandbox: ChatSandbox, openid_metadata: str, variant: TokenVariant
) -> None:
    """The Bot Framework rejects tokens for another app id (audience), expired beyond the 5 minute
    tolerance, signed by a key that is not in the JWKS, from another issuer, or for another serviceUrl."""
    app = sandbox.bot_app
    activity = Activity(type="message", channel_id="msteams", service_url=sandbox.botframework_service_url, text="hi")
    header = sandbox.token_minter().authorization(app.app_id, sandbox.botframework_service_url, variant)
    with pytest.raises(Exception) as info:
        await JwtTokenValidation.authenticate_request(
            activity, header, SimpleCredentialProvider(app.app_id, app.password)
        )
    assert type(info.value).__name__ in {"PermissionError", "ExpiredSignatureError", "InvalidSignatureError"}


async def test_signing_key_persists_in_the_state_dir(tmp_path: Path) -> None:
    """The JWKS key is kept (0600) in the state dir, so tokens minted by another process from that file
    verify against the running stand-in, also after a restart."""
    with ThreadedChatSandbox(ChatSandbox(tmp_path)) as first:
        kid = requests.get(first.base_url + "/botframework/v1/.well-known/keys", timeout=10).json()["keys"][0]["kid"]
        key_file = first.signing_key_path
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    minter = BotFrameworkTokenMinter(SigningKey.from_pem(key_file.read_bytes()))
    with ThreadedChatSandbox(ChatSandbox(tmp_path)) as second:
        jwks = requests.get(second.base_url + "/botframework/v1/.well-known/keys", timeout=10).json()
        assert jwks["keys"][0]["kid"] == kid
        previous = ChannelValidation.open_id_metadata_endpoint
        ChannelValidation.open_id_metadata_endpoint = second.openid_metadata_url
        try:
            activity = Activity(type="message", channel_id="msteams", service_url=second.botframework_service_url)
            identity = await JwtTokenValidation.authenticate_request(
                activity,
                minter.authorization("my-app", second.botframework_service_url),
                SimpleCredentialProvider("my-app", "pw"),
            )
        finally:
            ChannelValidation.open_id_metadata_endpoint = previous
        assert identity.is_authenticated


# --- token endpoint -----------------------------------------------------------------------------------


def test_client_credentials_grant_issues_a_bearer_token(sandbox: ChatSandbox) -> None:
    """login.microsoftonline.com/{tenant}/oauth2/v2.0/token: client_credentials with the app id and
    secret and scope https://api.botframework.com/.default -> token_type Bearer, expires_in, access_token."""
    app = sandbox.bot_app
    answer = requests.post(
        sandbox.botframework_token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": app.app_id,
            "client_secret": app.password,
            "scope": "https://api.botframework.com/.default",
        },
        timeout=10,
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3599
    assert body["access_token"].count(".") == 2


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "00000000-0000-0000-0000-000000000000"}, 400, "unauthorized_client"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"scope": "https://graph.microsoft.com/.default"}, 400, "invalid_scope"),
    ],
)
def test_token_endpoint_errors_look_like_aad(
    sandbox: ChatSandbox, change: dict[str, str], status: int, error: str
) -> None:
    """AAD: wrong secret -> 401 invalid_client (AADSTS7000215); unknown app -> 400 unauthorized_client
    (AADSTS700016); other grants -> unsupported_grant_type; other scopes -> invalid_scope."""
    app = sandbox.bot_app
    form = {
        "grant_type": "client_credentials",
        "client_id": app.app_id,
        "client_secret": app.password,
        "scope": "https://api.botframework.com/.default",
    } | change
    answer = requests.post(sandbox.botframework_token_url, data=form, timeout=10)
    assert answer.status_code == status
    assert answer.json()["error"] == error
    assert answer.json()["error_description"].startswith("AADSTS")
    assert app.password not in answer.text


# --- connector: replies -------------------------------------------------------------------------------


async def test_adapter_reply_with_credentials_is_recorded(
    sandbox: ChatSandbox, app_credentials: AppCredentials
) -> None:
    """A bot with an app id and password gets a token (client credentials) and posts its reply to
    {serviceUrl}/v3/conversations/{id}/activities/{replyToId}; the connector answers with the new
    activity id. Recorded as {"kind": "reply", "payload", "time"}."""
    adapter = authenticated_adapter(sandbox, app_credentials)
    sent: list[Any] = []

    async def reply(turn: TurnContext) -> None:
        sent.append(await turn.send_activity("PatchRun web-fleet-x7k2 started"))
        card = CardFactory.adaptive_card(
            {"type": "AdaptiveCard", "version": "1.4", "body": [{"type": "TextBlock", "text": "20/20 compliant"}]}
        )
        sent.append(await turn.send_activity(MessageFactory.attachment(card)))

    await adapter.continue_conversation(
        reference(sandbox, sandbox.bot_app.app_id), reply, bot_id=sandbox.bot_app.app_id
    )
    assert all(r.id.isdigit() for r in sent)
    records = replies(sandbox)
    assert [r["payload"].get("text") for r in records] == ["PatchRun web-fleet-x7k2 started", None]
    assert records[0]["payload"]["conversation"]["id"] == CONVERSATION
    assert records[1]["payload"]["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"


async def test_empty_app_id_is_rejected_unless_anonymous_is_allowed(tmp_path: Path) -> None:
    """With an empty app id botbuilder sends no Authorization header. The real connector answers 401;
    the stand-in does too, unless started with allow_anonymous_bot (like the Bot Framework Emulator)."""
    anonymous = ClaimsIdentity({}, True)

    async def say_hi(turn: TurnContext) -> None:
        await turn.send_activity("hi")

    with ThreadedChatSandbox(ChatSandbox(tmp_path / "strict")) as strict:
        adapter = BotFrameworkAdapter(BotFrameworkAdapterSettings("", ""))
        with pytest.raises(ErrorResponseException) as info:
            await adapter.continue_conversation(reference(strict, "bot"), say_hi, claims_identity=anonymous)
        assert info.value.response.status_code == 401
        assert replies(strict) == []
    with ThreadedChatSandbox(ChatSandbox(tmp_path / "open", allow_anonymous_bot=True)) as open_:
        adapter = BotFrameworkAdapter(BotFrameworkAdapterSettings("", ""))
        await adapter.continue_conversation(reference(open_, "bot"), say_hi, claims_identity=anonymous)
        assert [r["payload"]["text"] for r in replies(open_)] == ["hi"]


def test_bad_bearer_tokens_are_401(sandbox: ChatSandbox) -> None:
    """The connector only takes tokens its token service issued to a registered app, unexpired:
    garbage, another key, an unknown app or an expired token -> 401 Unauthorized."""
    app = sandbox.bot_app
    activity = {"type": "message", "text": "x"}
    foreign = SigningKey.generate()
    tokens = [
        "not-a-jwt",
        issue_connector_token(foreign, app.app_id),
        issue_connector_token(sandbox.botframework.key, "someone-else"),
        issue_connector_token(sandbox.botframework.key, app.app_id, clock=lambda: time.time() - 7200),
        sandbox.token_minter().mint(app.app_id, sandbox.botframework_service_url),  # a channel token
    ]
    for token in tokens:
        answer = requests.post(
            connector_url(sandbox), json=activity, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "Unauthorized"
    assert replies(sandbox) == []


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{broken", 400, "BadArgument"),
        (b'{"text": "no type"}', 400, "BadArgument"),
        (b'{"type": "message"}', 400, "BadArgument"),
        (
            b'{"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",'
            b' "content": {"type": "AdaptiveCard"}}]}',
            400,
            "BadArgument",
        ),
        (b'{"type": "message", "text": "' + b"x" * (28 * 1024) + b'"}', 413, "MessageSizeTooBig"),
    ],
)
def test_bad_activities_get_bot_framework_errors(sandbox: ChatSandbox, body: bytes, status: int, code: str) -> None:
    """Bot Framework errors are {"error": {"code", "message"}}: BadArgument (400) for what it cannot
    post, MessageSizeTooBig (413) above Teams' 28 KB message limit."""
    answer = requests.post(
        connector_url(sandbox, "1700000000000"),
        data=body,
        headers={**bearer(sandbox), "Content-Type": "application/json"},
        timeout=10,
    )
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code
    assert replies(sandbox) == []


def test_over_the_per_app_limit_is_429_with_retry_after(tmp_path: Path, clock: ManualClock) -> None:
    """Teams allows a bot 50 requests/s per app per tenant; beyond that 429 with Retry-After."""
    sandbox_ = ChatSandbox(tmp_path, clock=clock, bot_apps=[BotApp()], bot_limit=RateLimit(rate=50, burst=50))
    with ThreadedChatSandbox(sandbox_) as sandbox:
        headers = bearer(sandbox)
        with requests.Session() as session:
            for i in range(50):
                ok = session.post(connector_url(sandbox), json={"type": "message", "text": str(i)}, headers=headers)
                assert ok.status_code == 201
            refused = session.post(connector_url(sandbox), json={"type": "message", "text": "x"}, headers=headers)
            assert refused.status_code == 429
            assert refused.headers["Retry-After"] == "1"
            clock.advance(0.05)
            again = session.post(connector_url(sandbox), json={"type": "message", "text": "y"}, headers=headers)
            assert again.status_code == 201
