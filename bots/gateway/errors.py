"""The one error shape of every gateway answer: `{"error": {"code", "message", "field"}}` with a 4xx/5xx."""

from __future__ import annotations

from typing import Any

from aiohttp import web


class GatewayError(Exception):
    """A request the gateway refuses; `status` is the HTTP status, `field` the part of the request at fault."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        return {"error": error}

    def response(self) -> web.Response:
        return web.json_response(self.body(), status=self.status, headers=self.headers)


def error_response(
    status: int, code: str, message: str, field: str | None = None, headers: dict[str, str] | None = None
) -> web.Response:
    return GatewayError(status, code, message, field, headers).response()
