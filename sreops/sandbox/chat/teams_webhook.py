"""A stand-in for a Teams "Workflows" incoming webhook (Power Automate, "Post to a channel when a
webhook request is received") that takes an Adaptive Card envelope.

URL shape, as Power Automate issues it::

    /powerautomate/automations/direct/workflows/{workflowId}/triggers/manual/paths/invoke
        ?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={signature}

Behaviour mirrored (error bodies are Logic Apps / Power Automate's ``{"error": {"code", "message"}}``):

- Unknown workflow id: 404 ``WorkflowNotFound``. No ``sig``: 401 ``DirectApiAuthorizationRequired``;
  wrong ``sig``: 401 ``DirectApiInvalidAuthorizationSignature``. No ``api-version``: 400
  ``MissingApiVersionParameter``.
- More than ~4 requests/s per webhook (the published Teams webhook limit): 429
  ``WorkflowRequestsThrottled`` with ``Retry-After``; every authorised request counts.
- Success: **202 Accepted with an empty body**, as Workflows answers (it runs the flow later).
- Size: Teams refuses messages over 28 KB (28,672 bytes: "Message properties size ... max allowed size
  is 28672 bytes"). A real Workflows webhook still answers 202 and the flow run then fails, so the card
  is silently lost. The stand-in answers **413** ``MessageSizeExceeded`` by default so that a sender
  that ignores the limit fails loudly in tests (the retired Office 365 connector webhooks also answered
  413); ``oversize="accept-and-drop"`` reproduces Workflows exactly (202, nothing recorded). The size
  measured is the request body in bytes.
- Shape: the body must be ``{"type": "message", "attachments": [{"contentType":
  "application/vnd.microsoft.card.adaptive", "content": {"type": "AdaptiveCard", "version": "1.x",
  "body": [...]}}]}``. Otherwise 400 ``InvalidRequestContent`` (bad JSON) or ``InvalidAdaptiveCard``
  with a message naming the field. (Real Workflows accept any JSON and the flow fails later; a 400 is
  more useful in tests.)
- Recorded: each accepted post as ``{"kind": "webhook", "payload", "time"}`` in ``teams/cards.jsonl``.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from .ratelimit import Clock, KeyedRateLimiter, RateLimit
from .recording import TeamsRecorder

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/powerautomate/automations/direct/workflows/{workflow_id}/triggers/manual/paths/invoke"
MAX_PAYLOAD_BYTES = 28 * 1024
ADAPTIVE_CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
_VERSION = re.compile(r"^1\.[0-9]$")
Oversize = Literal["reject", "accept-and-drop"]


@dataclass(frozen=True)
class TeamsWebhook:
    """One webhook: its workflow id (in the path) and signature (the ``sig`` query parameter)."""

    workflow_id: str = field(default_factory=lambda: secrets.token_hex(16))
    sig: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def url(self, base_url: str) -> str:
        path = WEBHOOK_PATH.format(workflow_id=self.workflow_id)
        return f"{base_url.rstrip('/')}{path}?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={self.sig}"


@dataclass(frozen=True)
class TeamsWebhookConfig:
    webhooks: tuple[TeamsWebhook, ...] = field(default_factory=lambda: (TeamsWebhook(),))
    limit: RateLimit = field(default_factory=lambda: RateLimit(rate=4.0, burst=4))
    max_payload_bytes: int = MAX_PAYLOAD_BYTES
    oversize: Oversize = "reject"


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status, headers=headers)


def adaptive_card_error(card: Any, where: str = "content") -> str | None:
    """Why ``card`` is not an Adaptive Card Teams would render, or None if it is one."""
    if not isinstance(card, dict):
        return f"'{where}' must be an Adaptive Card object"
    if card.get("type") != "AdaptiveCard":
        return f"'{where}.type' must be \"AdaptiveCard\""
    version = card.get("version")
    if not isinstance(version, str) or not _VERSION.match(version):
        return f"'{where}.version' must be a string like \"1.4\" (Teams renders up to 1.5)"
    for key in ("body", "actions"):
        elements = card.get(key, [])
        if not isinstance(elements, list):
            return f"'{where}.{key}' must be an array"
        for j, element in enumerate(elements):
            if not isinstance(element, dict) or not isinstance(element.get("type"), str):
                return f"'{where}.{key}[{j}]' must be an object with a 'type'"
    return None


def adaptive_card_envelope_error(payload: Any) -> str | None:
    """Why ``payload`` is not a message carrying Adaptive Cards, or None if it is one."""
    if not isinstance(payload, dict):
        return "the body must be a JSON object"
    if payload.get("type") != "message":
        return "'type' must be \"message\""
    attachments = payload.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        return "'attachments' must be a non-empty array"
    for i, attachment in enumerate(attachments):
        where = f"attachments[{i}]"
        if not isinstance(attachment, dict):
            return f"'{where}' must be an object"
        if attachment.get("contentType") != ADAPTIVE_CARD_CONTENT_TYPE:
            return f"'{where}.contentType' must be \"{ADAPTIVE_CARD_CONTENT_TYPE}\""
        problem = adaptive_card_error(attachment.get("content"), f"{where}.content")
        if problem is not None:
            return problem
    return None


class TeamsWebhookStandIn:
    def __init__(self, config: TeamsWebhookConfig, recorder: TeamsRecorder, *, clock: Clock = time.monotonic) -> None:
        self.config = config
        self._recorder = recorder
        self._limiter = KeyedRateLimiter(config.limit, clock)
        self._by_id = {w.workflow_id: w for w in config.webhooks}

    def register(self, app: web.Application) -> None:
        app.router.add_post(WEBHOOK_PATH, self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        workflow_id = request.match_info["workflow_id"]
        webhook = self._by_id.get(workflow_id)
        if webhook is None:
            return _error(404, "WorkflowNotFound", f"The workflow '{workflow_id}' could not be found.")
        sig = request.query.get("sig")
        if not sig:
            return _error(
                401,
                "DirectApiAuthorizationRequired",
                "The request must be authenticated only by Shared Access scheme.",
            )
        if not hmac.compare_digest(sig.encode(), webhook.sig.encode()):
            return _error(
                401,
                "DirectApiInvalidAuthorizationSignature",
                "The provided authorization signature is not valid.",
            )
        if "api-version" not in request.query:
            return _error(
                400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required."
            )
        decision = self._limiter.acquire(workflow_id)
        if not decision.allowed:
            return _error(
                429,
                "WorkflowRequestsThrottled",
                f"Number of requests for workflow '{workflow_id}' exceeded the limit of "
                f"{self.config.limit.burst} per second. Please retry after {decision.retry_after_header} s.",
                headers={"Retry-After": decision.retry_after_header},
            )
        body = await request.read()
        if len(body) > self.config.max_payload_bytes:
            message = (
                f"Message properties size exceeded. Actual message properties size: {len(body)} bytes, "
                f"whereas max allowed size is {self.config.max_payload_bytes} bytes"
            )
            if self.config.oversize == "accept-and-drop":
                log.warning("teams webhook: flow run would fail: %s", message)
                return web.Response(status=202)
            return _error(413, "MessageSizeExceeded", message)
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return _error(400, "InvalidRequestContent", "The request content is not valid JSON.")
        problem = adaptive_card_envelope_error(payload)
        if problem is not None:
            return _error(400, "InvalidAdaptiveCard", f"Not an Adaptive Card message: {problem}.")
        self._recorder.record("webhook", payload)
        return web.Response(status=202)
