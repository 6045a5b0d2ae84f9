"""Stand-ins for what a Teams bot talks to: the Bot Framework connector (replies), the AAD token
endpoint (client credentials), and the OpenID metadata + JWKS that channel tokens are checked against.

Routes (``base`` is the server's origin):

- ``POST {base}/teams/v3/conversations/{conversationId}/activities`` (send to a conversation) and
  ``POST {base}/teams/v3/conversations/{conversationId}/activities/{activityId}`` (reply). The
  service URL to give the bot is ``{base}/teams/`` (like ``https://smba.trafficmanager.net/teams/``).
  Needs ``Authorization: Bearer`` with a token from the token endpoint below, issued to a known app id
  and not expired; otherwise 401. With ``allow_anonymous`` it also takes requests without any
  ``Authorization`` header, which is what botbuilder sends when the app id is empty (like the Bot
  Framework Emulator). Answers 201 ``{"id": "<new activity id>"}``. Errors use the Bot Framework's
  ``{"error": {"code", "message"}}``: 400 ``BadArgument`` (not JSON, no ``type``, a message with neither
  text nor attachments, an invalid Adaptive Card), 413 ``MessageSizeTooBig`` (over 28 KB, Teams' message
  limit, measured on the request body), 429 with ``Retry-After`` over 50 requests/s per app (Teams' bot
  limit per app per tenant). Accepted activities are recorded as ``{"kind": "reply", "payload", "time"}``.
- ``POST {base}/login/{tenant}/oauth2/v2.0/token``: the client-credentials grant of
  login.microsoftonline.com (form fields ``grant_type=client_credentials``, ``client_id``,
  ``client_secret``, ``scope=https://api.botframework.com/.default``; or HTTP Basic client auth).
  Errors are AAD's ``{"error", "error_description"}``: 400 ``unsupported_grant_type``, ``invalid_scope``,
  ``unauthorized_client`` (AADSTS700016, unknown app), 401 ``invalid_client`` (AADSTS7000215, wrong
  secret).
- ``GET {base}/botframework/v1/.well-known/openidconfiguration`` (like
  ``https://login.botframework.com/v1/.well-known/openidconfiguration``) and its ``jwks_uri``
  ``GET {base}/botframework/v1/.well-known/keys``.

botbuilder-core 4.17, as checked: with an empty app id it sends no ``Authorization`` header at all;
with an app id and password its ``MicrosoftAppCredentials`` asks msal for a token from
``https://login.microsoftonline.com/<tenant>``, and msal refuses non-https authorities, so code that
targets the sandbox passes ``BotFrameworkAdapterSettings(app_credentials=...)`` with credentials whose
``get_access_token`` calls :func:`.tokens.fetch_connector_token`.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from .ratelimit import Clock, KeyedRateLimiter, RateLimit
from .recording import TeamsRecorder, WallClock
from .teams_webhook import ADAPTIVE_CARD_CONTENT_TYPE, adaptive_card_error
from .tokens import (
    BOT_FRAMEWORK_ISSUER,
    BOT_FRAMEWORK_TENANT_ID,
    CONNECTOR_AUDIENCE,
    DEFAULT_ENDORSEMENTS,
    EpochClock,
    InvalidTokenError,
    SigningKey,
    issue_connector_token,
    verify_connector_token,
)

SERVICE_PREFIX = "/teams/"
OPENID_PATH = "/botframework/v1/.well-known/openidconfiguration"
JWKS_PATH = "/botframework/v1/.well-known/keys"
TOKEN_PATH = "/login/{tenant}/oauth2/v2.0/token"  # noqa: S105 - a URL path, not a secret
MAX_ACTIVITY_BYTES = 28 * 1024
TOKEN_LIFETIME = 3599
UNAUTHORIZED = "Authorization has been denied for this request."


@dataclass(frozen=True)
class BotApp:
    """A bot registration: app id (a GUID) and client secret."""

    app_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    password: str = field(default_factory=lambda: secrets.token_urlsafe(24))


@dataclass(frozen=True)
class BotFrameworkConfig:
    apps: tuple[BotApp, ...] = field(default_factory=lambda: (BotApp(),))
    allow_anonymous: bool = False
    limit: RateLimit = field(default_factory=lambda: RateLimit(rate=50.0, burst=50))
    max_activity_bytes: int = MAX_ACTIVITY_BYTES
    endorsements: tuple[str, ...] = DEFAULT_ENDORSEMENTS
    tenants: tuple[str, ...] = ("botframework.com", BOT_FRAMEWORK_TENANT_ID)


def _bf_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status, headers=headers)


def _aad_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response(
        {
            "error": error,
            "error_description": description,
            "error_codes": [int(description[6:].split(":", maxsplit=1)[0])],
        },
        status=status,
    )


def activity_error(activity: Any) -> str | None:
    """Why ``activity`` is not something the connector would post, or None."""
    if not isinstance(activity, dict):
        return "The activity must be a JSON object."
    kind = activity.get("type")
    if not isinstance(kind, str) or not kind:
        return "Activity type is required."
    attachments = activity.get("attachments") or []
    if not isinstance(attachments, list):
        return "Activity attachments must be an array."
    text = activity.get("text")
    if text is not None and not isinstance(text, str):
        return "Activity text must be a string."
    if kind == "message" and not text and not attachments:
        return "A message activity needs text or attachments."
    for i, attachment in enumerate(attachments):
        if not isinstance(attachment, dict) or not isinstance(attachment.get("contentType"), str):
            return f"attachments[{i}] needs a contentType."
        if attachment["contentType"] == ADAPTIVE_CARD_CONTENT_TYPE:
            problem = adaptive_card_error(attachment.get("content"), f"attachments[{i}].content")
            if problem is not None:
                return f"Invalid Adaptive Card: {problem}."
    return None


class BotFrameworkStandIn:
    def __init__(
        self,
        config: BotFrameworkConfig,
        key: SigningKey,
        recorder: TeamsRecorder,
        *,
        clock: Clock = time.monotonic,
        wall_clock: WallClock = time.time,
        token_clock: EpochClock = time.time,
    ) -> None:
        self.config = config
        self.key = key
        self._recorder = recorder
        self._limiter = KeyedRateLimiter(config.limit, clock)
        self._wall_clock = wall_clock
        self._token_clock = token_clock
        self._apps = {app.app_id: app for app in config.apps}
        self._last_id = 0
        self._id_lock = threading.Lock()

    def register(self, app: web.Application) -> None:
        prefix = SERVICE_PREFIX + "v3/conversations/{conversation_id}/activities"
        app.router.add_post(prefix, self.handle_activity)
        app.router.add_post(prefix + "/{activity_id}", self.handle_activity)
        app.router.add_post(TOKEN_PATH, self.handle_token)
        app.router.add_get(OPENID_PATH, self.handle_openid)
        app.router.add_get(JWKS_PATH, self.handle_jwks)

    # --- OpenID metadata -----------------------------------------------------------------------------

    def openid_document(self, origin: str) -> dict[str, Any]:
        return {
            "issuer": BOT_FRAMEWORK_ISSUER,
            "authorization_endpoint": "https://invalid.botframework.com/v1/auth",
            "jwks_uri": origin + JWKS_PATH,
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        }

    async def handle_openid(self, request: web.Request) -> web.Response:
        return web.json_response(self.openid_document(str(request.url.origin())))

    async def handle_jwks(self, request: web.Request) -> web.Response:
        return web.json_response({"keys": [self.key.public_jwk(self.config.endorsements)]})

    # --- token endpoint ------------------------------------------------------------------------------

    async def handle_token(self, request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]
        if tenant not in self.config.tenants:
            return _aad_error(400, "invalid_request", f"AADSTS90002: Tenant '{tenant}' not found.")
        try:
            form = await request.post()
        except (ValueError, UnicodeError, HttpProcessingError):
            return _aad_error(400, "invalid_request", "AADSTS900144: The request body must be form data.")
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        client_id, client_secret = fields.get("client_id"), fields.get("client_secret")
        basic = _basic_credentials(request.headers.get("Authorization", ""))
        if basic is not None:
            client_id, client_secret = basic
        if fields.get("grant_type") != "client_credentials":
            return _aad_error(
                400, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type."
            )
        if not client_id:
            return _aad_error(400, "invalid_request", "AADSTS900144: The request body must contain 'client_id'.")
        app = self._apps.get(client_id)
        if app is None:
            return _aad_error(
                400,
                "unauthorized_client",
                f"AADSTS700016: Application with identifier '{client_id}' was not found in the directory.",
            )
        if not client_secret or not hmac.compare_digest(client_secret.encode(), app.password.encode()):
            return _aad_error(
                401, "invalid_client", f"AADSTS7000215: Invalid client secret provided for app '{client_id}'."
            )
        if fields.get("scope") != CONNECTOR_AUDIENCE + "/.default":
            return _aad_error(
                400, "invalid_scope", "AADSTS70011: The provided value for the input parameter 'scope' is not valid."
            )
        token = issue_connector_token(self.key, app.app_id, lifetime=TOKEN_LIFETIME, clock=self._token_clock)
        return web.json_response(
            {
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME,
                "ext_expires_in": TOKEN_LIFETIME,
                "access_token": token,
            }
        )

    # --- connector -----------------------------------------------------------------------------------

    async def handle_activity(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization")
        if header is None and self.config.allow_anonymous:
            caller = "anonymous"
        else:
            if not header or not header.startswith("Bearer "):
                return _bf_error(401, "Unauthorized", UNAUTHORIZED)
            try:
                claims = verify_connector_token(self.key, header[len("Bearer ") :], self._apps, clock=self._token_clock)
            except InvalidTokenError:
                return _bf_error(401, "Unauthorized", UNAUTHORIZED)
            caller = str(claims["appid"])
        decision = self._limiter.acquire(caller)
        if not decision.allowed:
            return _bf_error(
                429,
                "TooManyRequests",
                "Too many requests; retry later.",
                headers={"Retry-After": decision.retry_after_header},
            )
        body = await request.read()
        if len(body) > self.config.max_activity_bytes:
            return _bf_error(413, "MessageSizeTooBig", "Message size too large.")
        try:
            activity = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return _bf_error(400, "BadArgument", "The request body is not valid JSON.")
        problem = activity_error(activity)
        if problem is not None:
            return _bf_error(400, "BadArgument", problem)
        self._recorder.record("reply", activity)
        return web.json_response({"id": self._next_activity_id()}, status=201)

    def _next_activity_id(self) -> str:
        with self._id_lock:
            self._last_id = max(int(self._wall_clock() * 1000), self._last_id + 1)
            return str(self._last_id)


def _basic_credentials(header: str) -> tuple[str, str] | None:
    if not header.startswith("Basic "):
        return None
    try:
        decoded = base64.b64decode(header[len("Basic ") :], validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None
