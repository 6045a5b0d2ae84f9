"""Fault injection for the Kubernetes API stand-in: `KubeServer(..., faults=SPEC)`, `sreops sandbox kube
--faults SPEC`, and at run time `GET|PUT|POST|DELETE <server>/_sandbox/faults` (cluster admins only).

Spec: comma-separated `VERB:RESOURCE=ACTION[+ACTION...]` rules (grammar in ../fault_rules.py).

  VERB      get, list, watch, create, update, patch, delete, deletecollection, or *
  RESOURCE  the plural (patchpolicies, secrets, leases), `plural/subresource` (patchpolicies/status), or *
  ACTION    throttle[:P]       429 TooManyRequests with `Retry-After: 1` and details.retryAfterSeconds, as the
                               max-in-flight / API Priority and Fairness filters answer an overloaded server
            error500[:P]       500 InternalError ("Internal error occurred: ..."), as when etcd fails a request
            conflict[:P]       409 Conflict "the object has been modified; please apply your changes to the
                               latest version and try again" (update and patch only), as a write that lost an
                               optimistic-concurrency race gets it; many at once make a 409 storm
            latency:DUR[:P]    the answer starts DUR later (e.g. 1s): a slow or overloaded server
            watch-drop[:P]     each event of a matching watch is, with chance P (or for the next N events),
                               cut mid-line: half the event's JSON is sent, then the TCP connection is reset, as
                               when an apiserver restarts or a load balancer drops the stream
            watch-expire[:P]   a watch resumed from a resourceVersion gets the 410 Expired ERROR event, as
                               when that version has been compacted out of the watch cache

Only resource requests match (discovery, /version, /openapi and health checks are never faulted), and the
control path itself is never faulted. The real filters exempt `system:masters`; here the injection applies to
every user, so the sandbox's admin token sees what an operator running as a service account would.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from ..fault_rules import FaultRule, FaultSpecError, RuleSet, parse
from .errors import ApiError
from .rbac import Attributes

CONTROL_PATH = "/_sandbox/faults"
KINDS = ("throttle", "error500", "conflict", "latency", "watch-drop", "watch-expire")
VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "*")
RETRY_AFTER_SECONDS = 1  # what kube-apiserver's tooManyRequests sends

__all__ = ["CONTROL_PATH", "FaultSpecError", "KubeFaults"]


def _check_scope(verb: str, resource: str) -> str | None:
    if verb not in VERBS:
        return f"unknown verb {verb!r} (one of {', '.join(VERBS)})"
    return None


def parse_spec(spec: str) -> list[FaultRule]:
    return parse(spec, KINDS, timed=("latency",), check_scope=_check_scope)


def _matches(rule: FaultRule, attrs: Attributes) -> bool:
    if not attrs.resource_request or not attrs.resource:
        return False
    resource = attrs.resource + (f"/{attrs.subresource}" if attrs.subresource else "")
    return rule.left in ("*", attrs.verb) and rule.right in ("*", resource, attrs.resource + "/*")


def _qualified(attrs: Attributes) -> str:
    return f"{attrs.resource}.{attrs.api_group}" if attrs.api_group else attrs.resource


class KubeFaults:
    def __init__(self, spec: str = "", seed: int = 0) -> None:
        self.rules = RuleSet(parse_spec(spec), seed)  # a bad spec fails here, before the server starts

    def set(self, spec: str) -> None:
        self.rules.replace(parse_spec(spec))

    @property
    def spec(self) -> str:
        return self.rules.spec

    async def before(self, attrs: Attributes) -> None:
        """Called for each authorized request before it is served: waits, or raises the injected error."""
        fired = self.rules.draw(lambda r: _matches(r, attrs), ("latency", "throttle", "error500", "conflict"))
        delay = sum(r.duration_s for r in fired if r.kind == "latency")
        if delay:
            await asyncio.sleep(delay)
        for rule in fired:
            if rule.kind == "throttle":
                raise ApiError(
                    429,
                    "TooManyRequests",
                    "Too many requests, please try again later.",
                    retry_after=RETRY_AFTER_SECONDS,
                )
            if rule.kind == "error500":
                raise ApiError(
                    500, "InternalError", "Internal error occurred: sandbox fault: etcdserver: request timed out"
                )
            if rule.kind == "conflict" and attrs.verb in ("update", "patch") and attrs.name:
                raise ApiError(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on {_qualified(attrs)} "{attrs.name}": the object has been '
                    "modified; please apply your changes to the latest version and try again",
                    name=attrs.name,
                    group=attrs.api_group,
                    kind=attrs.resource,
                )

    def expire_watch(self, attrs: Attributes, query: dict[str, str]) -> bool:
        """Whether this watch, resumed from a resourceVersion, is answered with 410 Expired."""
        rv = query.get("resourceVersion") or ""
        if rv in ("", "0") or query.get("sendInitialEvents") == "true":
            return False
        return bool(self.rules.draw(lambda r: _matches(r, attrs), ("watch-expire",)))

    @staticmethod
    async def serve_expired(request: web.Request, rv: str, current_rv: int) -> web.StreamResponse:
        """The real answer to a watch from a compacted version: 200, then one ERROR event with a 410 Status."""
        response = web.StreamResponse(headers={"Content-Type": "application/json", "Cache-Control": "no-cache"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        status = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": f"too old resource version: {rv} ({current_rv})",
            "reason": "Expired",
            "code": 410,
        }
        line = json.dumps({"type": "ERROR", "object": status}, separators=(",", ":")).encode() + b"\n"
        await response.write(line)
        await response.write_eof()
        return response

    def dropping(self, request: web.Request, attrs: Attributes, encode: Any) -> Any:
        """Wraps a watch's event encoder: when watch-drop fires for an event, half of that event goes out
        as a chunk and the connection is reset, so the client sees a stream that breaks mid-event."""
        if not any(r.kind == "watch-drop" and _matches(r, attrs) for r in self.rules.rules):
            return encode

        def encode_or_drop(obj: dict[str, Any]) -> dict[str, Any]:
            encoded: dict[str, Any] = encode(obj)
            if self.rules.draw(lambda r: _matches(r, attrs), ("watch-drop",)):
                transport = request.transport
                if transport is not None:
                    line = json.dumps({"type": "MODIFIED", "object": encoded}, separators=(",", ":")).encode()
                    half = line[: max(1, len(line) // 2)]
                    transport.write(f"{len(half):x}\r\n".encode() + half + b"\r\n")
                    transport.abort()  # RST: the rest never comes; the stream's next write fails and it ends
            return encoded

        return encode_or_drop

    async def control(self, request: web.Request) -> web.Response:
        """GET the spec in force and counts injected; PUT/POST {"spec": "..."} replaces it; DELETE clears it."""
        method = request.method
        try:
            if method in ("PUT", "POST"):
                raw = await request.read()
                body = json.loads(raw) if raw else {}
                if not isinstance(body, dict) or not isinstance(body.get("spec", ""), str):
                    raise FaultSpecError('body must be a JSON object {"spec": "VERB:RESOURCE=ACTION,..."}')
                self.set(body.get("spec", ""))
            elif method == "DELETE":
                self.set("")
            elif method != "GET":
                return web.json_response({"error": "use GET, PUT/POST or DELETE"}, status=405)
        except (ValueError, FaultSpecError) as exc:
            return web.json_response({"error": f"spec: {exc}"}, status=400)
        return web.json_response(self.rules.state())
