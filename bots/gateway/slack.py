"""Slack: slash commands (`POST /slack/commands`) and the buttons of sreops' messages (`POST /slack/actions`).

Every request is verified with slack_sdk's SignatureVerifier (HMAC-SHA256 of `v0:<timestamp>:<raw body>`
with the signing secret, timestamps within 5 minutes) on the raw bytes, before the body is parsed:
401 for a missing, wrong or stale signature, then 415 for another content type and 400 for a body that is
not a well-formed form. Slack needs an answer within 3 s: a command that finishes within
`--slack-inline-seconds` (2 s) is answered in the response itself; otherwise the answer is "Working on
it" and the result goes to the request's `response_url` when ready. Button presses are acknowledged at
once (an empty 200, as Slack expects) and answered through `response_url`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp import web
from slack_sdk.signature import Clock, SignatureVerifier

from sreops.bots.notify.slack_blocks import ACTION_IDS

from .commands import Command, execute, parse
from .context import GATEWAY_KEY, Caller, Gateway
from .errors import GatewayError
from .names import name_problem
from .reply import Reply, Result, to_slack

log = logging.getLogger("sreops.gateway")

FORM = "application/x-www-form-urlencoded"
WINDOW_SECONDS = 5 * 60  # slack_sdk's, and Slack's documented replay window
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
_VERBS = {action_id: {"run-now": "run"}.get(action, action) for action, action_id in ACTION_IDS.items()}
MAX_FIELDS = 64


class _GatewayClock(Clock):
    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    def now(self) -> float:
        return self._gateway.clock()


class SlackRoutes:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        secret = gateway.settings.slack_signing_secret
        self.verifier = SignatureVerifier(secret, clock=_GatewayClock(gateway)) if secret else None

    def register(self, app: web.Application) -> None:
        app.router.add_post("/slack/commands", self.commands)
        app.router.add_post("/slack/actions", self.actions)

    # --- verification, before anything is parsed -----------------------------------------------------

    async def _verified_form(self, request: web.Request) -> dict[str, str]:
        body = await request.read()  # bounded by client_max_size: 413 beyond it
        self._verify(request, body)
        if request.content_type != FORM:
            raise GatewayError(415, "UnsupportedMediaType", f"Slack requests are {FORM}", "Content-Type")
        return _form(body)

    def _verify(self, request: web.Request, body: bytes) -> None:
        if self.verifier is None:
            raise GatewayError(404, "NotFound", "Slack is not configured on this gateway")
        timestamp = request.headers.get("X-Slack-Request-Timestamp")
        signature = request.headers.get("X-Slack-Signature")
        if not timestamp or not signature:
            self._refuse(
                "missing_signature", "The request is not signed (X-Slack-Signature, X-Slack-Request-Timestamp)."
            )
        assert timestamp is not None and signature is not None
        if not _TIMESTAMP.fullmatch(timestamp) or abs(self.gateway.clock() - int(timestamp)) > WINDOW_SECONDS:
            self._refuse("stale_timestamp", "The request's timestamp is not within 5 minutes of now.")
        try:
            body.decode("utf-8")  # slack_sdk verifies text; Slack only ever sends UTF-8
        except UnicodeDecodeError:
            raise GatewayError(400, "BadRequest", "the body is not UTF-8", "body") from None
        if not _SIGNATURE.fullmatch(signature) or not self.verifier.is_valid(body, timestamp, signature):
            self._refuse("bad_signature", "The request's signature does not match.")

    def _refuse(self, reason: str, message: str) -> None:
        self.gateway.metrics.auth_failures.labels("slack", reason).inc()
        raise GatewayError(401, "Unauthorized", message)

    # --- slash commands ------------------------------------------------------------------------------

    async def commands(self, request: web.Request) -> web.Response:
        form = await self._verified_form(request)
        for name in ("team_id", "user_id", "command", "response_url"):
            if not form.get(name):
                raise GatewayError(400, "BadRequest", f"{name} is required", name)
        response_url = self._response_url(form["response_url"], "response_url")
        command = parse(form.get("text", ""), self.gateway.settings.namespace)
        chat_id = f"{form['team_id']}/{form['user_id']}"
        try:
            caller = await self.gateway.caller("slack", chat_id)
        except GatewayError as exc:
            return web.json_response(to_slack(_refusal(command, exc)))
        log.info("slack command", extra={"chat_id": chat_id, "command": command.metric_name, "target": command.name})
        reply = await self._run_or_defer(command, caller, response_url)
        return web.json_response(to_slack(reply))

    async def _run_or_defer(self, command: Command, caller: Caller, response_url: str) -> Reply:
        future = asyncio.ensure_future(self._run(command, caller))
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.gateway.settings.slack_inline_seconds)
        except TimeoutError:
            self.gateway.runner.spawn(self._deliver(future, response_url), "slack-response")
            return Reply(command.verb, "ok", f"Working on it: {command.verb} {command.name or ''}".strip() + " …")

    async def _run(self, command: Command, caller: Caller) -> Reply:
        reply = await self.gateway.runner.call(
            lambda: execute(self.gateway.api, command, caller.actor, read_only=caller.read_only)
        )
        self.gateway.metrics.commands.labels("slack", command.metric_name, reply.result).inc()
        return reply

    async def _deliver(self, future: asyncio.Future[Reply], response_url: str) -> None:
        reply = await future
        session = self.gateway.http
        assert session is not None
        message = {**to_slack(reply), "replace_original": False}
        try:
            async with session.post(response_url, json=message) as answer:
                if answer.status >= 300:
                    log.warning("response_url refused the reply", extra={"status": answer.status})
        except (TimeoutError, OSError) as exc:
            log.warning("could not post to response_url", extra={"error": type(exc).__name__})

    def _response_url(self, url: str, field: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or "@" in parts.netloc or not parts.hostname:
            raise GatewayError(400, "BadRequest", f"{field} is not a Slack response URL", field)
        if not any(url.startswith(prefix) for prefix in self.gateway.settings.slack_response_url_prefixes):
            raise GatewayError(400, "BadRequest", f"{field} is not a Slack response URL", field)
        return url

    # --- buttons -------------------------------------------------------------------------------------

    async def actions(self, request: web.Request) -> web.Response:
        form = await self._verified_form(request)
        payload = _json_field(form, "payload")
        if payload.get("type") != "block_actions":
            raise GatewayError(400, "BadRequest", "only block_actions payloads are handled", "payload.type")
        user = payload.get("user")
        team = payload.get("team")
        pressed = payload.get("actions")
        if not isinstance(user, dict) or not isinstance(user.get("id"), str) or not user["id"]:
            raise GatewayError(400, "BadRequest", "payload.user.id is required", "payload.user.id")
        team_id = user.get("team_id") or (team.get("id") if isinstance(team, dict) else None)
        if not isinstance(team_id, str) or not team_id:
            raise GatewayError(400, "BadRequest", "payload.team.id is required", "payload.team.id")
        if not isinstance(pressed, list) or not pressed or not isinstance(pressed[0], dict):
            raise GatewayError(400, "BadRequest", "payload.actions must list the pressed button", "payload.actions")
        response_url = payload.get("response_url")
        if not isinstance(response_url, str):
            raise GatewayError(400, "BadRequest", "payload.response_url is required", "payload.response_url")
        self._response_url(response_url, "payload.response_url")
        command = _button_command(pressed[0], self.gateway.settings.namespace)
        chat_id = f"{team_id}/{user['id']}"
        log.info("slack button", extra={"chat_id": chat_id, "command": command.verb, "target": command.name})
        self.gateway.runner.spawn(self._button(command, chat_id, response_url), "slack-button")
        return web.Response(status=200)

    async def _button(self, command: Command, chat_id: str, response_url: str) -> None:
        try:
            caller = await self.gateway.caller("slack", chat_id)
        except GatewayError as exc:
            future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
            future.set_result(_refusal(command, exc))
        else:
            future = asyncio.ensure_future(self._run(command, caller))
        await self._deliver(future, response_url)


def _refusal(command: Command, exc: GatewayError) -> Reply:
    result: Result = "denied" if exc.status == 403 else "error"
    return Reply(command.metric_name, result, f"Not done: {exc.message}")


def _form(body: bytes) -> dict[str, str]:
    try:
        text = body.decode("utf-8")
        fields = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise GatewayError(400, "BadRequest", "the body is not a well-formed form", "body") from None
    out: dict[str, str] = {}
    for name, values in fields.items():
        if len(values) != 1:
            raise GatewayError(400, "BadRequest", f"{name[:40]} is given more than once", name[:40])
        out[name] = values[0]
    return out


def _json_field(form: Mapping[str, str], name: str) -> dict[str, Any]:
    raw = form.get(name)
    if raw is None:
        raise GatewayError(400, "BadRequest", f"{name} is required", name)
    try:
        value = json.loads(raw)
    except ValueError:
        raise GatewayError(400, "BadRequest", f"{name} is not JSON", name) from None
    if not isinstance(value, dict):
        raise GatewayError(400, "BadRequest", f"{name} must be a JSON object", name)
    return value


def _button_command(action: Mapping[str, Any], default_namespace: str) -> Command:
    verb = _VERBS.get(str(action.get("action_id")))
    if verb is None:
        raise GatewayError(400, "BadRequest", "not an sreops button", "payload.actions[0].action_id")
    try:
        value = json.loads(str(action.get("value")))
    except ValueError:
        value = None
    if not isinstance(value, dict) or value.get("kind") != "PatchPolicy":
        raise GatewayError(400, "BadRequest", "the button's value is not a PatchPolicy", "payload.actions[0].value")
    namespace, name = value.get("namespace") or default_namespace, value.get("name")
    if not isinstance(namespace, str) or name_problem(namespace, label=True) is not None:
        raise GatewayError(400, "BadRequest", "the button names no valid namespace", "payload.actions[0].value")
    if not isinstance(name, str) or name_problem(name) is not None:
        raise GatewayError(400, "BadRequest", "the button names no valid policy", "payload.actions[0].value")
    return Command(verb, namespace, name=name)


def setup(app: web.Application) -> None:
    SlackRoutes(app[GATEWAY_KEY]).register(app)
