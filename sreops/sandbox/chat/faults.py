"""Fault injection for the chat stand-ins: `ChatSandbox(..., faults=SPEC)`, `sreops sandbox chat --faults SPEC`,
and at run time `GET|PUT|POST|DELETE <chat base url>/_sandbox/faults` (JSON, like the AWS stand-in's).

Spec: comma-separated `SERVICE:TARGET=ACTION[+ACTION...]` rules (grammar in ../fault_rules.py).

  slack:METHOD    a Web API method (chat.postMessage, chat.update, ...) or slack:*
  teams:webhook   the Workflows incoming webhook (teams:* is the same)

  ACTION  ratelimit[:P]      Slack: HTTP 429, `Retry-After: 1`, {"ok": false, "error": "ratelimited"} (Slack's
                             rate-limit answer); Teams: 429 WorkflowRequestsThrottled with Retry-After (what a
                             throttled Workflows trigger answers)
          error500[:P]       Slack: 500 {"ok": false, "error": "internal_error"}; Teams: 500 InternalServerError
          error503[:P]       Slack: 503 {"ok": false, "error": "service_unavailable"} (an outage: slack_sdk's
                             ServerErrorRetryHandler retries 500 and 503); Teams: 502 BadGateway "NoResponse",
                             as Power Automate answers when its back end does not
          timeout:DUR[:P]    the request is served at once, its answer held for DUR. A client whose
                             timeout is shorter gives up although the message is posted, as when Slack's answer
                             is lost on the way back (Slack has no idempotency key: a blind retry posts twice)

Faulted requests are not recorded (nothing was accepted), except `timeout` alone, whose answer only is late.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from aiohttp import web

from ..fault_rules import FaultRule, FaultSpecError, RuleSet, parse
from .slack import API_PREFIX
from .teams_webhook import WEBHOOK_PATH

CONTROL_PATH = "/_sandbox/faults"
KINDS = ("ratelimit", "error500", "error503", "timeout")
RETRY_AFTER_SECONDS = "1"
_WEBHOOK_PREFIX = WEBHOOK_PATH.split("{", 1)[0]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

__all__ = ["CONTROL_PATH", "ChatFaults", "FaultSpecError"]


def _check_scope(service: str, target: str) -> str | None:
    if service == "slack":
        return None
    if service == "teams":
        return None if target in ("webhook", "*") else f"teams target must be webhook or *, not {target!r}"
    return f"unknown service {service!r} (slack or teams)"


def parse_spec(spec: str) -> list[FaultRule]:
    return parse(spec, KINDS, timed=("timeout",), check_scope=_check_scope)


def _target(request: web.Request) -> tuple[str, str] | None:
    if request.path.startswith(API_PREFIX):
        return "slack", request.path[len(API_PREFIX) :]
    if request.path.startswith(_WEBHOOK_PREFIX) and request.method == "POST":
        return "teams", "webhook"
    return None


def _slack_error(status: int, error: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"ok": False, "error": error}, status=status, headers=headers)


def _teams_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status, headers=headers)


class ChatFaults:
    def __init__(self, spec: str = "", seed: int = 0) -> None:
        self.rules = RuleSet(parse_spec(spec), seed)

    def set(self, spec: str) -> None:
        self.rules.replace(parse_spec(spec))

    @property
    def spec(self) -> str:
        return self.rules.spec

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == CONTROL_PATH:
            return await self.control(request)
        target = _target(request)
        if target is None:
            return await handler(request)
        service, name = target
        fired = self.rules.draw(lambda r: r.left == service and r.right in ("*", name))
        delay = sum(r.duration_s for r in fired if r.kind == "timeout")
        error = next((r.kind for r in fired if r.kind != "timeout"), None)
        if error is None:
            response = await handler(request)  # served now; only the answer is late
            if delay:
                await asyncio.sleep(delay)
            return response
        if delay:
            await asyncio.sleep(delay)
        if service == "slack":
            if error == "ratelimit":
                return _slack_error(429, "ratelimited", {"Retry-After": RETRY_AFTER_SECONDS})
            if error == "error500":
                return _slack_error(500, "internal_error")
            return _slack_error(503, "service_unavailable")
        if error == "ratelimit":
            return _teams_error(
                429,
                "WorkflowRequestsThrottled",
                f"Rate limit is exceeded. Try again in {RETRY_AFTER_SECONDS} seconds.",
                {"Retry-After": RETRY_AFTER_SECONDS},
            )
        if error == "error500":
            return _teams_error(500, "InternalServerError", "Encountered internal server error.")
        return _teams_error(
            502, "NoResponse", "The server did not receive a response from an upstream server. Request tracking id."
        )

    async def control(self, request: web.Request) -> web.Response:
        """GET the spec in force and counts injected; PUT/POST {"spec": "..."} replaces it; DELETE clears it."""
        try:
            if request.method in ("PUT", "POST"):
                raw = await request.read()
                body = json.loads(raw) if raw else {}
                if not isinstance(body, dict) or not isinstance(body.get("spec", ""), str):
                    raise FaultSpecError('body must be a JSON object {"spec": "slack:METHOD=ACTION,..."}')
                self.set(body.get("spec", ""))
            elif request.method == "DELETE":
                self.set("")
            elif request.method != "GET":
                return web.json_response({"error": "use GET, PUT/POST or DELETE"}, status=405)
        except (ValueError, FaultSpecError) as exc:
            return web.json_response({"error": f"spec: {exc}"}, status=400)
        return web.json_response(self.rules.state())
