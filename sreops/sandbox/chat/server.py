"""One aiohttp server for all the chat stand-ins: Slack Web API, Teams Workflows webhook, Bot Framework
connector, token endpoint and OpenID metadata.

In-process (same event loop)::

    sandbox = ChatSandbox(state_dir)
    await sandbox.start()
    WebClient(token=sandbox.slack_token, base_url=sandbox.slack_api_url)
    await sandbox.stop()

In a thread (for synchronous clients, or code that blocks its loop, like botframework's token
validation): ``with ThreadedChatSandbox(ChatSandbox(state_dir)) as sandbox: ...``.

Logging: one access-log line per request with method, path (never the query string, which carries the
webhook ``sig``), status and duration; headers, bodies, tokens and secrets are never logged.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

from .botframework import OPENID_PATH, SERVICE_PREFIX, TOKEN_PATH, BotApp, BotFrameworkConfig, BotFrameworkStandIn
from .faults import ChatFaults
from .ratelimit import Clock, RateLimit
from .recording import TeamsRecorder, WallClock
from .slack import API_PREFIX, DEFAULT_CHANNELS, SlackConfig, SlackStandIn
from .teams_webhook import Oversize, TeamsWebhook, TeamsWebhookConfig, TeamsWebhookStandIn
from .tokens import BotFrameworkTokenMinter, EpochClock, SigningKey

log = logging.getLogger("sreops.sandbox.chat")

SIGNING_KEY_FILE = Path("teams") / "botframework-signing-key.pem"


class RedactingAccessLogger(AbstractAccessLogger):
    """Access log without query strings or headers (they carry the webhook sig and bearer tokens)."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info("%s %s %s %.1fms", request.method, request.path, response.status, time * 1000)


@web.middleware
async def _no_tracebacks(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """A bug in a stand-in answers 500 in the service's error shape, never an HTML traceback."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception:  # the safety net for every handler
        log.exception("chat stand-in failed on %s %s", request.method, request.path)
        if request.path.startswith(API_PREFIX):
            return web.json_response({"ok": False, "error": "internal_error"}, status=500)
        return web.json_response(
            {"error": {"code": "InternalServerError", "message": "The sandbox stand-in failed."}}, status=500
        )


class ChatSandbox:
    """The Slack and Teams stand-ins on one port. Secrets default to fresh random values."""

    def __init__(
        self,
        state_dir: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        slack_tokens: Sequence[str] | None = None,
        slack_signing_secret: str | None = None,
        slack_channels: Sequence[str] = DEFAULT_CHANNELS,
        slack_post_limit: RateLimit | None = None,
        slack_update_limit: RateLimit | None = None,
        teams_webhooks: Sequence[TeamsWebhook] | None = None,
        teams_limit: RateLimit | None = None,
        teams_oversize: Oversize = "reject",
        bot_apps: Sequence[BotApp] | None = None,
        allow_anonymous_bot: bool = False,
        bot_limit: RateLimit | None = None,
        signing_key: SigningKey | None = None,
        clock: Clock = time.monotonic,
        wall_clock: WallClock = time.time,
        token_clock: EpochClock = time.time,
        faults: str = "",
    ) -> None:
        self.state_dir = Path(state_dir)
        self.faults = ChatFaults(faults)  # faults.py; also /_sandbox/faults at run time
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self.slack_signing_secret = slack_signing_secret or secrets.token_hex(16)
        tokens = tuple(slack_tokens) if slack_tokens else ("xoxb-sandbox-" + secrets.token_hex(12),)
        slack_config = SlackConfig(tokens=tokens, channels=tuple(slack_channels))
        if slack_post_limit is not None:
            slack_config = dataclasses.replace(slack_config, post_limit=slack_post_limit)
        if slack_update_limit is not None:
            slack_config = dataclasses.replace(slack_config, update_limit=slack_update_limit)
        self.slack = SlackStandIn(slack_config, self.state_dir, clock=clock, wall_clock=wall_clock)

        teams_recorder = TeamsRecorder(self.state_dir, wall_clock)
        webhook_config = TeamsWebhookConfig(oversize=teams_oversize)
        if teams_webhooks:
            webhook_config = dataclasses.replace(webhook_config, webhooks=tuple(teams_webhooks))
        if teams_limit is not None:
            webhook_config = dataclasses.replace(webhook_config, limit=teams_limit)
        self.teams_webhook = TeamsWebhookStandIn(webhook_config, teams_recorder, clock=clock)

        self.signing_key_path = self.state_dir / SIGNING_KEY_FILE
        key = signing_key or SigningKey.load_or_create(self.signing_key_path)
        bot_config = BotFrameworkConfig(allow_anonymous=allow_anonymous_bot)
        if bot_apps:
            bot_config = dataclasses.replace(bot_config, apps=tuple(bot_apps))
        if bot_limit is not None:
            bot_config = dataclasses.replace(bot_config, limit=bot_limit)
        self.botframework = BotFrameworkStandIn(
            bot_config, key, teams_recorder, clock=clock, wall_clock=wall_clock, token_clock=token_clock
        )
        self.cards_path = teams_recorder.path
        self._runner: web.AppRunner | None = None

    # --- lifecycle -----------------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[_no_tracebacks, self.faults.middleware])
        self.slack.register(app)
        self.teams_webhook.register(app)
        self.botframework.register(app)
        return app

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("the chat sandbox is already running")
        runner = web.AppRunner(self.make_app(), access_log_class=RedactingAccessLogger)
        await runner.setup()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self._requested_port))
            sock.listen(128)
            sock.setblocking(False)
            await web.SockSite(runner, sock).start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self._port = int(sock.getsockname()[1])
        self._runner = runner
        log.info("chat stand-ins listening on %s", self.base_url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # --- what clients need ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the chat sandbox is not started")
        return self._port

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def slack_api_url(self) -> str:
        """For ``slack_sdk.WebClient(base_url=...)``; ends with ``/api/``."""
        return self.base_url + API_PREFIX

    @property
    def slack_token(self) -> str:
        return self.slack.config.tokens[0]

    @property
    def slack_channel_ids(self) -> dict[str, str]:
        return self.slack.channel_ids()

    @property
    def slack_messages_path(self) -> Path:
        return self.slack.recording_path

    @property
    def teams_webhook_url(self) -> str:
        return self.teams_webhook.config.webhooks[0].url(self.base_url)

    @property
    def botframework_service_url(self) -> str:
        return self.base_url + SERVICE_PREFIX

    @property
    def openid_metadata_url(self) -> str:
        return self.base_url + OPENID_PATH

    @property
    def botframework_token_url(self) -> str:
        return self.base_url + TOKEN_PATH.format(tenant="botframework.com")

    @property
    def bot_app(self) -> BotApp:
        return self.botframework.config.apps[0]

    def token_minter(self) -> BotFrameworkTokenMinter:
        """Mints channel -> bot tokens (valid and invalid) that match this sandbox's JWKS."""
        return BotFrameworkTokenMinter(self.botframework.key)

    def env(self) -> dict[str, str]:
        """Settings for clients, ``sandbox.env`` style. Holds secrets: write it to a 0600 file only."""
        return {
            "SREOPS_SLACK_API_URL": self.slack_api_url,
            "SREOPS_SLACK_TOKEN": self.slack_token,
            "SREOPS_SLACK_SIGNING_SECRET": self.slack_signing_secret,
            "SREOPS_TEAMS_WEBHOOK_URL": self.teams_webhook_url,
            "SREOPS_TEAMS_APP_ID": self.bot_app.app_id,
            "SREOPS_TEAMS_APP_PASSWORD": self.bot_app.password,
            "SREOPS_BOTFRAMEWORK_SERVICE_URL": self.botframework_service_url,
            "SREOPS_BOTFRAMEWORK_OPENID_METADATA_URL": self.openid_metadata_url,
            "SREOPS_BOTFRAMEWORK_TOKEN_URL": self.botframework_token_url,
        }

    def endpoints(self) -> dict[str, str]:
        """The same without secrets (the webhook's ``sig`` masked): safe to print or log."""
        return {
            "slack_api_url": self.slack_api_url,
            "teams_webhook_url": self.teams_webhook_url.replace(self.teams_webhook.config.webhooks[0].sig, "***"),
            "botframework_service_url": self.botframework_service_url,
            "openid_metadata_url": self.openid_metadata_url,
            "botframework_token_url": self.botframework_token_url,
        }


class ThreadedChatSandbox:
    """Runs a :class:`ChatSandbox` on its own event loop in a daemon thread."""

    def __init__(self, sandbox: ChatSandbox, *, timeout: float = 10.0) -> None:
        self.sandbox = sandbox
        self._timeout = timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> ChatSandbox:
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="chat-sandbox", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            asyncio.run_coroutine_threadsafe(self.sandbox.start(), loop).result(self._timeout)
        except BaseException:
            self.stop()
            raise
        return self.sandbox

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self.sandbox.stop(), loop).result(self._timeout)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(self._timeout)
            loop.close()
            self._loop = self._thread = None

    def __enter__(self) -> ChatSandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


__all__ = ["ChatSandbox", "RedactingAccessLogger", "ThreadedChatSandbox"]
