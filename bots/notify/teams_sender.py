"""Sends Adaptive Card messages to Microsoft Teams; no kopf, no Kubernetes.

:class:`TeamsDestination` is the one interface the operator uses, so the Microsoft 365 Agents SDK (or a
Bot Framework proactive message) can replace the Workflows webhook later without touching the caller.
The payload is the message :func:`.teams_cards.card` builds (``{"type": "message", "attachments": [...]}``,
also the shape of a Bot Framework/Agents activity).

:class:`WorkflowWebhook` posts to a Teams "Workflows" webhook (Power Automate) with the standard
library's urllib (no new dependency; call it from a thread, as kopf does for sync handlers):

- success is any 2xx (Workflows answers 202 Accepted with an empty body);
- a payload over 28 KB is refused before sending (:class:`TeamsPayloadTooLargeError`): Workflows would
  answer 202 and drop the card;
- 429: waits ``Retry-After`` (seconds or an HTTP date) while the total wait stays within
  ``max_rate_limit_wait``, then :class:`TeamsRateLimitedError` with ``retry_after``;
- 401/403/404: :class:`TeamsWebhookRejectedError` (a wrong, revoked or deleted webhook; not retryable);
  400/413: :class:`TeamsBadRequestError` / :class:`TeamsPayloadTooLargeError`; 5xx and transport errors:
  :class:`TeamsUnavailableError` (retryable; ``maybe_delivered`` for a timeout or a dropped connection).
- Redirects are not followed (a webhook that moved is a configuration error, and following it would
  send the card somewhere unexpected).

The webhook URL is a secret (its ``sig`` authorises posting): it never appears in an exception, a repr or
a log line; only its host does. Error messages from the service are redacted of the URL, its query values
and its long path segments (the workflow id) before they go into an exception.
"""

from __future__ import annotations

import json
import logging
import math
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from http.client import HTTPException
from typing import Any, Protocol, runtime_checkable
from urllib.parse import parse_qsl, urlsplit

from .teams_cards import MAX_PAYLOAD_BYTES, encode

log = logging.getLogger(__name__)

USER_AGENT = "sreops-notify/1"
MAX_ERROR_BODY = 64 * 1024


# --- errors ------------------------------------------------------------------------------------------


class TeamsError(Exception):
    """A Teams delivery that failed. ``code`` is the service's error code (Logic Apps style) or ours."""

    retryable = False

    def __init__(self, code: str, *, status: int | None = None, detail: str = "") -> None:
        self.code = code
        self.status = status
        self.detail = detail
        text = f"Teams webhook: {code}" + (f" (HTTP {status})" if status else "")
        if detail:
            text += f": {detail}"
        super().__init__(text)


class TeamsWebhookRejectedError(TeamsError):
    """401/403/404: the webhook's signature is wrong, it was removed, or its flow is off."""


class TeamsBadRequestError(TeamsError):
    """400: the payload is not what the webhook takes."""


class TeamsPayloadTooLargeError(TeamsError):
    """Over Teams' 28 KB (refused before sending, or 413)."""


class TeamsRateLimitedError(TeamsError):
    """429 for longer than the sender waits: try again after ``retry_after`` seconds."""

    retryable = True

    def __init__(self, retry_after: float, *, code: str = "TooManyRequests", detail: str = "") -> None:
        self.retry_after = retry_after
        super().__init__(code, status=429, detail=detail or f"Retry-After {retry_after:g}s")


class TeamsUnavailableError(TeamsError):
    """5xx, a timeout or a connection failure; ``maybe_delivered`` if the post may have gone through."""

    retryable = True

    def __init__(self, code: str, *, status: int | None = None, detail: str = "", maybe_delivered: bool = False):
        self.maybe_delivered = maybe_delivered
        super().__init__(code, status=status, detail=detail)


# --- the interface -----------------------------------------------------------------------------------


@runtime_checkable
class TeamsDestination(Protocol):
    """Where Teams cards go. ``send`` raises a :class:`TeamsError` (``retryable`` says whether to retry)."""

    @property
    def description(self) -> str:
        """A label safe to log and to put in status (never the secret)."""
        ...

    def send(self, payload: Mapping[str, Any]) -> None: ...


# --- Workflows webhook -------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError with the 3xx status


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError):
            return None
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


class WorkflowWebhook:
    """A Teams Workflows webhook URL (the secret), posted to with urllib."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        max_rate_limit_wait: float = 30.0,
        max_attempts: int = 6,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        url = url.strip()
        parts = urlsplit(url)
        if parts.scheme not in {"https", "http"} or not parts.hostname:
            raise TeamsWebhookRejectedError("InvalidWebhookUrl", detail="the webhook is not an http(s) URL")
        if any(ch.isspace() or ord(ch) < 0x20 for ch in url):
            raise TeamsWebhookRejectedError("InvalidWebhookUrl", detail="the webhook URL contains whitespace")
        self._url = url
        self._secrets = _secret_parts(url)
        self._host = parts.hostname
        self.timeout = timeout
        self.max_rate_limit_wait = max_rate_limit_wait
        self.max_attempts = max(1, max_attempts)
        self._sleep = sleep
        self._opener = urllib.request.build_opener(_NoRedirect)

    @property
    def description(self) -> str:
        return f"Teams Workflows webhook on {self._host}"

    def __repr__(self) -> str:
        return f"WorkflowWebhook(host={self._host!r})"

    def redact(self, text: str) -> str:
        """``text`` with the URL, its query values and its workflow id replaced by ``***``."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def send(self, payload: Mapping[str, Any]) -> None:
        body = encode(payload)
        if len(body) > MAX_PAYLOAD_BYTES:
            raise TeamsPayloadTooLargeError(
                "MessageSizeExceeded", detail=f"{len(body)} bytes; Teams takes at most {MAX_PAYLOAD_BYTES}"
            )
        waited = 0.0
        for attempt in range(1, self.max_attempts + 1):
            try:
                self._post(body)
            except TeamsRateLimitedError as limited:
                if attempt == self.max_attempts or waited + limited.retry_after > self.max_rate_limit_wait:
                    raise
                log.info("teams: rate limited by %s, waiting %.1fs (Retry-After)", self._host, limited.retry_after)
                self._sleep(limited.retry_after)
                waited += limited.retry_after
                continue
            log.debug("teams: card of %d bytes accepted by %s", len(body), self._host)
            return

    def _post(self, body: bytes) -> None:
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked to be http(s) in __init__
            self._url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT},
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                response.read(MAX_ERROR_BODY)
        except urllib.error.HTTPError as err:
            raise self._http_error(err) from None
        except TimeoutError:
            raise TeamsUnavailableError(
                "Timeout", detail=f"no answer within {self.timeout:g}s", maybe_delivered=True
            ) from None
        except urllib.error.URLError as err:
            reason = err.reason
            maybe = isinstance(reason, TimeoutError | ConnectionResetError)
            detail = self.redact(f"{type(reason).__name__}: {reason}" if not isinstance(reason, str) else reason)
            raise TeamsUnavailableError("ConnectionFailed", detail=detail, maybe_delivered=maybe) from None
        except (OSError, HTTPException) as err:
            raise TeamsUnavailableError(
                "ConnectionFailed", detail=self.redact(type(err).__name__), maybe_delivered=True
            ) from None

    def _http_error(self, err: urllib.error.HTTPError) -> TeamsError:
        status = err.code
        try:
            raw = err.read(MAX_ERROR_BODY)
        except (OSError, HTTPException):
            raw = b""
        finally:
            err.close()
        code, message = _service_error(raw)
        detail = self.redact(message)[:500]
        if status == 429:
            after = _retry_after(err.headers.get("Retry-After") if err.headers else None)
            return TeamsRateLimitedError(1.0 if after is None else after, code=code or "TooManyRequests", detail=detail)
        if status in {401, 403, 404}:
            return TeamsWebhookRejectedError(code or f"HTTP{status}", status=status, detail=detail)
        if status == 413:
            return TeamsPayloadTooLargeError(code or "MessageSizeExceeded", status=status, detail=detail)
        if status >= 500:
            return TeamsUnavailableError(code or f"HTTP{status}", status=status, detail=detail, maybe_delivered=True)
        if 300 <= status < 400:
            return TeamsWebhookRejectedError("Redirected", status=status, detail="the webhook answered with a redirect")
        return TeamsBadRequestError(code or f"HTTP{status}", status=status, detail=detail)


def _service_error(raw: bytes) -> tuple[str, str]:
    """Logic Apps / Power Automate's ``{"error": {"code", "message"}}``, else nothing."""
    try:
        data = json.loads(raw.decode("utf-8", "replace")) if raw else None
    except ValueError:
        return "", ""
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        return str(error.get("code") or ""), str(error.get("message") or "")
    return "", ""


def _secret_parts(url: str) -> list[str]:
    """What of the URL must never be shown: all of it, its query, its values, its long path segments."""
    parts = urlsplit(url)
    secrets = [url, parts.query]
    secrets += [value for _, value in parse_qsl(parts.query, keep_blank_values=False) if len(value) >= 8]
    secrets += [raw.partition("=")[2] for raw in parts.query.split("&") if len(raw.partition("=")[2]) >= 8]
    secrets += [segment for segment in parts.path.split("/") if len(segment) >= 16]
    # Longest first, so a part inside another is replaced after it.
    return sorted({s for s in secrets if s}, key=len, reverse=True)


__all__ = [
    "TeamsBadRequestError",
    "TeamsDestination",
    "TeamsError",
    "TeamsPayloadTooLargeError",
    "TeamsRateLimitedError",
    "TeamsUnavailableError",
    "TeamsWebhookRejectedError",
    "WorkflowWebhook",
]
