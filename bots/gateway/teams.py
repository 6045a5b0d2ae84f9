"""Teams: the bot endpoint `POST /api/messages`, behind one small interface (`TeamsChannel`).

The Bot Framework Service signs each activity it sends with a JWT (RS256, issuer
https://api.botframework.com, audience = the bot's app id, a `serviceurl` claim equal to the activity's).
botframework-connector's own `JwtTokenValidation.authenticate_request` checks it against the keys of the
OpenID metadata document (`--teams-openid-metadata-url`; the sandbox serves one) before anything in the
activity is acted on: 401 for a missing token, one signed by another key, expired (beyond the SDK's 5
minute tolerance), for another audience, from another issuer or for another service URL. The validation
fetches keys with blocking `requests` calls, so it runs in a worker thread, not on the event loop.

Replies are Adaptive Cards sent through botbuilder's BotFrameworkAdapter to the activity's service URL
(the connector), authenticated with a client-credentials token: msal against login.microsoftonline.com
by default, or `--teams-token-url` (msal takes only https authorities; the sandbox's is http).

`TeamsChannel` is all the route handler knows of the Bot Framework, so the Microsoft 365 Agents SDK (the
Bot Framework SDK's successor) can replace `BotFrameworkChannel` without touching the rest.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Protocol

import jwt
from aiohttp import web
from botbuilder.core import (
    BotFrameworkAdapter,
    BotFrameworkAdapterSettings,
    CardFactory,
    MessageFactory,
    TurnContext,
)
from botbuilder.schema import Activity
from botframework.connector.auth import (
    AppCredentials,
    AuthenticationConfiguration,
    ChannelValidation,
    ClaimsIdentity,
    JwtTokenValidation,
    MicrosoftAppCredentials,
    SimpleCredentialProvider,
)

from .commands import Command, execute, parse
from .context import GATEWAY_KEY, Gateway
from .errors import GatewayError
from .reply import Reply, to_card
from .settings import Settings

log = logging.getLogger("sreops.gateway")
CONNECTOR_SCOPE = "https://api.botframework.com/.default"
_MENTION = re.compile(r"<at>.*?</at>", re.DOTALL)


class TeamsAuthError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # missing_token | bad_token | expired_token | wrong_audience


@dataclass(frozen=True)
class IncomingMessage:
    text: str
    aad_object_id: str


class TeamsChannel(Protocol):
    """What the route needs of a Teams SDK: authenticate an activity, read it, answer it with a card."""

    async def authenticate(self, activity: dict[str, Any], auth_header: str) -> object: ...
    def message(self, activity: dict[str, Any]) -> IncomingMessage | None: ...
    async def reply(self, activity: dict[str, Any], identity: object, card: dict[str, Any]) -> None: ...


class TokenEndpointCredentials(AppCredentials):  # type: ignore[misc]
    """Client-credentials tokens from an OAuth token endpoint named by URL (http allowed: the sandbox's),
    cached until five minutes before they expire."""

    def __init__(self, app_id: str, password: str, token_url: str) -> None:
        super().__init__(app_id=app_id, oauth_scope="https://api.botframework.com")
        self._password = password
        self._token_url = token_url
        self._token = ""
        self._expires = 0.0
        self._lock = threading.Lock()

    def get_access_token(self, force_refresh: bool = False) -> str:
        with self._lock:
            if self._token and not force_refresh and time.monotonic() < self._expires:
                return self._token
            body = urllib.parse.urlencode(
                {
                    "grant_type": "client_credentials",
                    "client_id": self.microsoft_app_id,
                    "client_secret": self._password,
                    "scope": CONNECTOR_SCOPE,
                }
            ).encode()
            request = urllib.request.Request(self._token_url, data=body, method="POST")  # noqa: S310 - configured
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                answer = json.load(response)
            token = answer.get("access_token")
            if not isinstance(token, str):
                raise PermissionError("the token endpoint answered without an access_token")
            self._token = token
            self._expires = time.monotonic() + max(60.0, float(answer.get("expires_in", 3600)) - 300)
            return token


class BotFrameworkChannel:
    """TeamsChannel on botbuilder-core 4.17 / botframework-connector."""

    def __init__(self, settings: Settings) -> None:
        self._credentials = SimpleCredentialProvider(settings.teams_app_id, settings.teams_app_password)
        if settings.teams_openid_metadata_url:
            ChannelValidation.open_id_metadata_endpoint = settings.teams_openid_metadata_url
        app_credentials: AppCredentials
        if settings.teams_token_url:
            app_credentials = TokenEndpointCredentials(
                settings.teams_app_id, settings.teams_app_password, settings.teams_token_url
            )
        else:
            app_credentials = MicrosoftAppCredentials(settings.teams_app_id, settings.teams_app_password)
        self._adapter = BotFrameworkAdapter(
            BotFrameworkAdapterSettings(
                settings.teams_app_id,
                settings.teams_app_password,
                open_id_metadata=settings.teams_openid_metadata_url or None,
                app_credentials=app_credentials,
            )
        )

    async def authenticate(self, activity: dict[str, Any], auth_header: str) -> object:
        parsed = Activity().deserialize(activity)
        try:
            identity = await asyncio.to_thread(self._validate, parsed, auth_header)
        except jwt.ExpiredSignatureError:
            raise TeamsAuthError("expired_token") from None
        except PermissionError as exc:
            reason = "wrong_audience" if "AppId" in str(exc) else "bad_token"
            raise TeamsAuthError(reason) from None
        except Exception:  # noqa: BLE001 - any failure of the validation is a token we do not accept
            raise TeamsAuthError("bad_token") from None
        if not isinstance(identity, ClaimsIdentity) or not identity.is_authenticated:
            raise TeamsAuthError("bad_token")
        return identity

    def _validate(self, activity: Activity, auth_header: str) -> ClaimsIdentity:
        return asyncio.run(
            JwtTokenValidation.authenticate_request(
                activity, auth_header, self._credentials, "", AuthenticationConfiguration()
            )
        )

    def message(self, activity: dict[str, Any]) -> IncomingMessage | None:
        if activity.get("type") != "message":
            return None
        sender = activity.get("from")
        text = activity.get("text")
        if not isinstance(sender, dict) or not isinstance(text, str):
            raise GatewayError(400, "BadRequest", "a message activity needs from and text", "from")
        who = sender.get("aadObjectId") or sender.get("id")
        if not isinstance(who, str) or not who:
            raise GatewayError(400, "BadRequest", "from.aadObjectId is required", "from.aadObjectId")
        return IncomingMessage(_command_text(text), who)

    async def reply(self, activity: dict[str, Any], identity: object, card: dict[str, Any]) -> None:
        async def logic(turn: TurnContext) -> None:
            await turn.send_activity(MessageFactory.attachment(CardFactory.adaptive_card(card)))

        await self._adapter.process_activity_with_identity(Activity().deserialize(activity), identity, logic)


def _command_text(text: str) -> str:
    """The command in a Teams message: without the bot's @mention and an optional leading `sreops`."""
    words = _MENTION.sub(" ", text).split()
    if words and words[0].lower().lstrip("/") == "sreops":
        words = words[1:]
    return " ".join(words)


class TeamsRoutes:
    def __init__(self, gateway: Gateway, channel: TeamsChannel | None) -> None:
        self.gateway = gateway
        self.channel = channel

    def register(self, app: web.Application) -> None:
        app.router.add_post("/api/messages", self.messages)

    def _refuse(self, reason: str) -> GatewayError:
        self.gateway.metrics.auth_failures.labels("teams", reason).inc()
        return GatewayError(401, "Unauthorized", "Authorization has been denied for this request.")

    async def messages(self, request: web.Request) -> web.Response:
        if self.channel is None:
            raise GatewayError(404, "NotFound", "Teams is not configured on this gateway")
        auth_header = request.headers.get("Authorization", "")
        if not auth_header.startswith("Bearer ") or len(auth_header) <= len("Bearer "):
            raise self._refuse("missing_token")
        body = await request.read()
        if request.content_type != "application/json":
            raise GatewayError(415, "UnsupportedMediaType", "activities are application/json", "Content-Type")
        activity = _activity(body)
        try:
            identity = await self.channel.authenticate(activity, auth_header)
        except TeamsAuthError as exc:
            raise self._refuse(exc.reason) from None
        message = self.channel.message(activity)
        if message is None:
            return web.Response(status=200)  # conversationUpdate, typing...: nothing to answer
        command = parse(message.text, self.gateway.settings.namespace)
        log.info("teams command", extra={"chat_id": message.aad_object_id, "command": command.metric_name})
        reply = await self._run(command, message.aad_object_id)
        await self.channel.reply(activity, identity, to_card(reply))
        return web.Response(status=200)

    async def _run(self, command: Command, chat_id: str) -> Reply:
        try:
            caller = await self.gateway.caller("teams", chat_id)
        except GatewayError as exc:
            if exc.status != 403:
                raise
            reply = Reply(command.metric_name, "denied", f"Not done: {exc.message}")
        else:
            reply = await self.gateway.runner.call(
                lambda: execute(self.gateway.api, command, caller.actor, read_only=caller.read_only)
            )
        self.gateway.metrics.commands.labels("teams", command.metric_name, reply.result).inc()
        return reply


def _activity(body: bytes) -> dict[str, Any]:
    try:
        activity = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise GatewayError(400, "BadRequest", "the body is not JSON", "body") from None
    if not isinstance(activity, dict):
        raise GatewayError(400, "BadRequest", "an activity is a JSON object", "body")
    for name in ("type", "serviceUrl", "channelId"):
        if not isinstance(activity.get(name), str) or not activity[name]:
            raise GatewayError(400, "BadRequest", f"{name} is required", name)
    conversation = activity.get("conversation")
    if not isinstance(conversation, dict) or not isinstance(conversation.get("id"), str):
        raise GatewayError(400, "BadRequest", "conversation.id is required", "conversation.id")
    return activity


def setup(app: web.Application) -> None:
    gateway = app[GATEWAY_KEY]
    channel = BotFrameworkChannel(gateway.settings) if gateway.settings.teams_enabled else None
    TeamsRoutes(gateway, channel).register(app)
