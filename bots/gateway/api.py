"""The HTTP API for scripts and the CLI (`/api/v1/...`), and its OpenAPI 3 document, built from one table.

Every route but the document needs `Authorization: Bearer <key>` (a key whose SHA-256 is in the Secret
`sreops-api-keys`, see apikeys.py): 401 without one or with an unknown one. Each key may make 100
requests in any second and 10,000 in any day (429 with Retry-After beyond). Input is checked before
anything reaches Kubernetes: path names by the DNS-1123 rules, query parameters against the route's list
(an unknown one is a 400 naming it), and a body only where none is expected: empty, or `{}` as
application/json (else 415 or 400). Each action is made as the key's identity, and a write leaves an
audit Event, like a chat command.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from sreops import __version__
from sreops.bots import actions
from sreops.bots.actions import ActionError, Actor

from .apikeys import ApiKey
from .commands import audit_write
from .context import GATEWAY_KEY, Gateway
from .errors import GatewayError
from .names import check_name

PREFIX = "/api/v1"
DNS1123_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS1123_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"


@dataclass(frozen=True)
class Param:
    name: str
    where: str  # path | query
    description: str
    label: bool = False  # a namespace (DNS-1123 label) rather than an object name (subdomain)
    free: bool = False  # not a Kubernetes name (kind): any short string


@dataclass(frozen=True)
class Call:
    gateway: Gateway
    actor: Actor
    params: Mapping[str, str]


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str
    operation_id: str
    summary: str
    status: int
    schema: type | None  # the dataclass of the answer (None: the route builds its own)
    params: tuple[Param, ...]
    run: Callable[[Call], Any]  # blocking; returns the answer's dataclass (or dict)
    command: str  # the sreops_gateway_commands_total label
    errors: tuple[int, ...] = (400, 401, 403, 404, 429, 503)


NAMESPACE = Param("namespace", "path", "the namespace of the object", label=True)


def _name(what: str) -> Param:
    return Param("name", "path", f"the {what}'s name")


def _status(call: Call) -> dict[str, Any]:
    api = actions.impersonating(call.gateway.api, call.actor)
    items = actions.status(api, call.params.get("namespace"), call.params.get("kind"), call.params.get("name"))
    return {"items": [dataclasses.asdict(i) for i in items]}


def _write(verb: str, fn: Callable[[Call], Any]) -> Callable[[Call], Any]:
    def run(call: Call) -> Any:
        done = fn(call)
        if getattr(done, "changed", True) is False:
            return done  # nothing changed, nothing to audit
        audit_write(
            call.gateway.api, verb, call.params["namespace"], call.params["name"], call.actor, f"{verb} through the API"
        )
        return done

    return run


def _run_progress(call: Call) -> Any:
    api = actions.impersonating(call.gateway.api, call.actor)
    progress = actions.run_progress(api, call.params["namespace"], call.params["name"])
    if progress is None:
        raise ActionError(404, "NotFound", f"PatchRun {call.params['name']!r} does not exist (yet)")
    return progress


ROUTES: tuple[ApiRoute, ...] = (
    ApiRoute(
        "GET",
        PREFIX + "/status",
        "getStatus",
        "The status of sreops objects (all kinds and namespaces unless narrowed)",
        200,
        None,
        (
            Param("namespace", "query", "only this namespace", label=True),
            Param("kind", "query", "only this kind (PatchPolicy, pp, patchruns...)", free=True),
            Param("name", "query", "only objects of this name"),
        ),
        _status,
        "status",
    ),
    ApiRoute(
        "POST",
        PREFIX + "/namespaces/{namespace}/policies/{name}/run",
        "runPolicy",
        "Start a PatchRun of a PatchPolicy now (sreops.io/run-now)",
        202,
        actions.RunRequested,
        (NAMESPACE, _name("PatchPolicy")),
        _write("run", lambda c: actions.run_now(c.gateway.api, c.params["namespace"], c.params["name"], c.actor)),
        "run",
    ),
    ApiRoute(
        "POST",
        PREFIX + "/namespaces/{namespace}/schedules/{name}/scan",
        "scanSchedule",
        "Sweep a ScanSchedule now (sreops.io/scan-now)",
        202,
        actions.ScanRequested,
        (NAMESPACE, _name("ScanSchedule")),
        _write("scan", lambda c: actions.scan_now(c.gateway.api, c.params["namespace"], c.params["name"], c.actor)),
        "scan",
    ),
    ApiRoute(
        "POST",
        PREFIX + "/namespaces/{namespace}/policies/{name}/pause",
        "pausePolicy",
        "Suspend a PatchPolicy (spec.suspend: true)",
        200,
        actions.SuspendChanged,
        (NAMESPACE, _name("PatchPolicy")),
        _write(
            "pause",
            lambda c: actions.set_suspend(c.gateway.api, c.params["namespace"], c.params["name"], True, c.actor),
        ),
        "pause",
        (400, 401, 403, 404, 409, 429, 503),
    ),
    ApiRoute(
        "POST",
        PREFIX + "/namespaces/{namespace}/policies/{name}/resume",
        "resumePolicy",
        "Resume a PatchPolicy (spec.suspend: false)",
        200,
        actions.SuspendChanged,
        (NAMESPACE, _name("PatchPolicy")),
        _write(
            "resume",
            lambda c: actions.set_suspend(c.gateway.api, c.params["namespace"], c.params["name"], False, c.actor),
        ),
        "resume",
        (400, 401, 403, 404, 409, 429, 503),
    ),
    ApiRoute(
        "GET",
        PREFIX + "/namespaces/{namespace}/schedules/{name}/findings",
        "getFindings",
        "A ScanSchedule's finding counts and top findings, from its status",
        200,
        actions.FindingsView,
        (NAMESPACE, _name("ScanSchedule")),
        lambda c: actions.findings(
            actions.impersonating(c.gateway.api, c.actor), c.params["namespace"], c.params["name"]
        ),
        "findings",
    ),
    ApiRoute(
        "GET",
        PREFIX + "/namespaces/{namespace}/runs/{name}",
        "getRun",
        "A PatchRun's progress and result; 404 until the operator has created it",
        200,
        actions.RunProgress,
        (NAMESPACE, _name("PatchRun")),
        _run_progress,
        "run_progress",
    ),
)


# --- request handling ----------------------------------------------------------------------------------


async def _authenticate(request: web.Request, gateway: Gateway) -> ApiKey:
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        gateway.metrics.auth_failures.labels("api", "missing_key").inc()
        raise GatewayError(
            401,
            "Unauthorized",
            "an API key is required: Authorization: Bearer <key>",
            "Authorization",
            {"WWW-Authenticate": "Bearer"},
        )
    found = (await gateway.api_keys.get()).find(key.strip())
    if found is None:
        gateway.metrics.auth_failures.labels("api", "unknown_key").inc()
        raise GatewayError(
            401, "Unauthorized", "the API key is not known", "Authorization", {"WWW-Authenticate": "Bearer"}
        )
    return found


async def _check_body(request: web.Request) -> None:
    body = await request.read()  # 413 beyond client_max_size
    if not body:
        return
    if request.content_type != "application/json":
        raise GatewayError(415, "UnsupportedMediaType", "a body must be application/json", "Content-Type")
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise GatewayError(400, "BadRequest", "the body is not JSON", "body") from None
    if value != {}:
        raise GatewayError(400, "BadRequest", "this route takes no body (or {})", "body")


def _params(request: web.Request, route: ApiRoute) -> dict[str, str]:
    allowed = {p.name for p in route.params if p.where == "query"}
    for name in request.query:
        if name not in allowed:
            raise GatewayError(400, "BadRequest", f"unknown query parameter {name[:60]!r}", name[:60])
    values: dict[str, str] = {}
    for param in route.params:
        source = request.match_info if param.where == "path" else request.query
        if param.where == "query" and len(request.query.getall(param.name, [])) > 1:
            raise GatewayError(400, "BadRequest", f"{param.name} is given more than once", param.name)
        value = source.get(param.name)
        if value is None or (param.where == "query" and value == ""):
            continue
        if param.free:
            if len(value) > 63:
                raise GatewayError(400, "BadRequest", f"{param.name} is too long", param.name)
        else:
            check_name(value, param.name, label=param.label)
        values[param.name] = value
    return values


def _handler(route: ApiRoute) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        gateway = request.app[GATEWAY_KEY]
        key = await _authenticate(request, gateway)
        decision = gateway.limiter.acquire(key.name)
        if not decision.allowed:
            gateway.metrics.rate_limited.labels(decision.window).inc()
            limit = gateway.settings.rate_per_second if decision.window == "second" else gateway.settings.rate_per_day
            raise GatewayError(
                429,
                "TooManyRequests",
                f"this API key made {limit} requests in the last {decision.window}; retry later",
                headers={"Retry-After": str(decision.retry_after)},
            )
        params = _params(request, route)
        await _check_body(request)
        actor = Actor(key.identity.user, key.identity.groups, "api", key.name)
        try:
            result = await gateway.runner.call(lambda: route.run(Call(gateway, actor, params)))
        except ActionError as exc:
            outcome = {400: "invalid", 403: "denied", 404: "not_found"}.get(exc.status, "error")
            gateway.metrics.commands.labels("api", route.command, outcome).inc()
            status = exc.status if 400 <= exc.status < 600 else 503
            raise GatewayError(status, exc.code, exc.message, exc.field) from None
        gateway.metrics.commands.labels("api", route.command, "ok").inc()
        body = (
            dataclasses.asdict(result) if dataclasses.is_dataclass(result) and not isinstance(result, type) else result
        )
        return web.json_response(body, status=route.status)

    return handle


async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


def setup(app: web.Application) -> None:
    for route in ROUTES:
        app.router.add_route(route.method, route.path, _handler(route))
    app.router.add_get(PREFIX + "/openapi.json", openapi_json)


# --- the OpenAPI document, from ROUTES and the answers' dataclasses -----------------------------------

ERROR_DESCRIPTIONS = {
    400: "Invalid input (the field is named)",
    401: "No API key, or an unknown one",
    403: "Kubernetes RBAC refused the key's identity",
    404: "No such object",
    405: "Method not allowed",
    409: "A conflicting change; try again",
    413: "Body too large",
    415: "Unsupported content type",
    429: "Rate limit reached (100 per second, 10,000 per day per key); see Retry-After",
    503: "Kubernetes unreachable",
}


def _type_schema(hint: Any, components: dict[str, Any]) -> dict[str, Any]:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        nullable = len(options) < len(typing.get_args(hint))
        inner = (
            _type_schema(options[0], components)
            if len(options) == 1
            else {"oneOf": [_type_schema(a, components) for a in options]}
        )
        if nullable:
            if "$ref" in inner:
                return {"allOf": [inner], "nullable": True}
            return {**inner, "nullable": True}
        return inner
    if origin is list:
        (item,) = typing.get_args(hint) or (Any,)
        return {"type": "array", "items": _type_schema(item, components)}
    if origin is dict:
        args = typing.get_args(hint)
        value = args[1] if len(args) == 2 else Any
        return {"type": "object", "additionalProperties": _type_schema(value, components) if value is not Any else {}}
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        _component(hint, components)
        return {"$ref": f"#/components/schemas/{hint.__name__}"}
    simple = {str: {"type": "string"}, int: {"type": "integer"}, bool: {"type": "boolean"}, float: {"type": "number"}}
    return dict(simple.get(hint, {}))


def _component(cls: type, components: dict[str, Any]) -> None:
    if cls.__name__ in components:
        return
    components[cls.__name__] = {}  # placeholder against recursion
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)
    components[cls.__name__] = {
        "type": "object",
        "required": [f.name for f in fields],
        "properties": {f.name: _type_schema(hints[f.name], components) for f in fields},
    }


def _param_schema(param: Param) -> dict[str, Any]:
    if param.free:
        return {"type": "string", "maxLength": 63}
    if param.label:
        return {"type": "string", "pattern": DNS1123_LABEL, "minLength": 1, "maxLength": 63}
    return {"type": "string", "pattern": DNS1123_SUBDOMAIN, "minLength": 1, "maxLength": 253}


def openapi_document() -> dict[str, Any]:
    components: dict[str, Any] = {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "field": {"type": "string"},
                    },
                }
            },
        }
    }
    status_list = {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": _type_schema(actions.ResourceStatus, components)}},
    }
    components["StatusList"] = status_list
    paths: dict[str, Any] = {}
    for route in ROUTES:
        ref = route.schema.__name__ if route.schema is not None else "StatusList"
        if route.schema is not None:
            _component(route.schema, components)
        responses: dict[str, Any] = {
            str(route.status): {
                "description": route.summary,
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
            }
        }
        for code in (*route.errors, 405, 413, 415):
            headers = {"Retry-After": {"schema": {"type": "integer"}}} if code == 429 else None
            responses[str(code)] = {
                "description": ERROR_DESCRIPTIONS[code],
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                **({"headers": headers} if headers else {}),
            }
        operation: dict[str, Any] = {
            "operationId": route.operation_id,
            "summary": route.summary,
            "security": [{"apiKey": []}],
            "parameters": [
                {
                    "name": p.name,
                    "in": p.where,
                    "required": p.where == "path",
                    "description": p.description,
                    "schema": _param_schema(p),
                }
                for p in route.params
            ],
            "responses": responses,
        }
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "sreops gateway API",
            "version": __version__,
            "description": "Status, runs, scans, pause/resume and findings of sreops objects, as the API key's "
            'Kubernetes identity. Errors are {"error": {"code", "message", "field"}}.',
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
        },
    }
