"""A small typed client of the gateway's HTTP API (`/api/v1/...`, docs/api.md), standard library only.

It answers with the same dataclasses as sreops.bots.actions and raises the same ActionError (the gateway's
`{"error": {"code", "message", "field"}}` with its HTTP status; 503 GatewayUnavailable when it cannot be
reached), so the CLI works the same over the API as over a kubeconfig. The key is sent as
`Authorization: Bearer` and never appears in an error.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import fields
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

from sreops import __version__
from sreops.bots.actions.errors import ActionError
from sreops.bots.actions.views import (
    ConditionView,
    FindingsView,
    ResourceStatus,
    RunProgress,
    RunRequested,
    ScanRequested,
    SuspendChanged,
)

URL_VARIABLE = "SREOPS_API_URL"
KEY_VARIABLE = "SREOPS_API_KEY"
T = TypeVar("T")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an error: following it would send the API key to wherever it points."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def _built(cls: type[T], data: Any) -> T:
    """`cls` from a JSON object, its known fields only (the API may add fields)."""
    if not isinstance(data, dict):
        raise ActionError(502, "BadGatewayAnswer", f"the gateway's answer is not a {cls.__name__} object")
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    values = {k: v for k, v in data.items() if k in names}
    if "ready" in values:
        values["ready"] = _built(ConditionView, values["ready"]) if values["ready"] else None
    try:
        return cls(**values)
    except TypeError as exc:
        raise ActionError(502, "BadGatewayAnswer", f"the gateway's {cls.__name__} lacks a field: {exc}") from None


class GatewayClient:
    def __init__(self, base_url: str, api_key: str, timeout: float = 15.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ActionError(400, "BadRequest", f"API URL {base_url!r} is not an http(s) URL", "api-url")
        self.base_url = base_url.rstrip("/")
        self._key = api_key
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"GatewayClient({self.base_url!r})"

    def _request(self, method: str, path: str, query: dict[str, str] | None = None) -> Any:
        url = self.base_url + path + (f"?{urlencode(query)}" if query else "")
        # The scheme is checked to be http(s) in __init__.
        request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)  # noqa: S310
        request.add_header("Authorization", f"Bearer {self._key}")
        request.add_header("Accept", "application/json")
        request.add_header("User-Agent", f"sreops-cli/{__version__}")
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise _error(exc) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ActionError(
                503, "GatewayUnavailable", f"cannot reach the gateway at {self.base_url}: {reason}"
            ) from None
        except ValueError:
            raise ActionError(502, "BadGatewayAnswer", f"the gateway's answer to {method} {path} is not JSON") from None

    @staticmethod
    def _path(*parts: str) -> str:
        return "/api/v1/" + "/".join(quote(p, safe="") for p in parts)

    def status(self, namespace: str | None, kind: str | None = None, name: str | None = None) -> list[ResourceStatus]:
        query = {k: v for k, v in (("namespace", namespace), ("kind", kind), ("name", name)) if v}
        answer = self._request("GET", "/api/v1/status", query)
        items = answer.get("items") if isinstance(answer, dict) else None
        if not isinstance(items, list):
            raise ActionError(502, "BadGatewayAnswer", "the gateway's status answer has no items list")
        return [_built(ResourceStatus, item) for item in items]

    def run_now(self, namespace: str, policy: str) -> RunRequested:
        return _built(
            RunRequested, self._request("POST", self._path("namespaces", namespace, "policies", policy, "run"))
        )

    def scan_now(self, namespace: str, schedule: str) -> ScanRequested:
        path = self._path("namespaces", namespace, "schedules", schedule, "scan")
        return _built(ScanRequested, self._request("POST", path))

    def set_suspend(self, namespace: str, policy: str, suspend: bool) -> SuspendChanged:
        verb = "pause" if suspend else "resume"
        return _built(
            SuspendChanged, self._request("POST", self._path("namespaces", namespace, "policies", policy, verb))
        )

    def findings(self, namespace: str, schedule: str) -> FindingsView:
        path = self._path("namespaces", namespace, "schedules", schedule, "findings")
        return _built(FindingsView, self._request("GET", path))

    def run_progress(self, namespace: str, run: str) -> RunProgress | None:
        try:
            return _built(RunProgress, self._request("GET", self._path("namespaces", namespace, "runs", run)))
        except ActionError as exc:
            if exc.status == 404:
                return None
            raise


def _error(exc: urllib.error.HTTPError) -> ActionError:
    try:
        body = json.loads(exc.read() or b"{}")
    except (ValueError, OSError):
        body = {}
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    message = " ".join(str(error.get("message") or exc.reason or f"HTTP {exc.code}").split())
    if exc.code == 429 and exc.headers.get("Retry-After"):
        message += f" (retry after {exc.headers['Retry-After']} s)"
    field = error.get("field")
    return ActionError(exc.code, str(error.get("code") or f"HTTP{exc.code}"), message, str(field) if field else None)
