"""The HTTP front of the Kubernetes API stand-in: routing, authentication, encoding; and its handles.

Transport: https with a CA of its own (tls.py; kubectl only sends tokens over https).
Authentication: one bearer token (kept in `<state-dir>/token`, written into `<state-dir>/kubeconfig`);
a request without it or with another token gets 401, except `/version`, `/healthz`, `/livez` and
`/readyz`, which the real server also serves to anonymous clients. Authorization is all-or-nothing:
an authenticated client may do everything (there is no RBAC, so no 403 Forbidden for permissions).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from . import discovery, openapi, protobuf, tables, tls
from .errors import ApiError, bad_request
from .gc import GarbageCollector
from .operations import Api, Ctx
from .resources import Registry, ResourceType
from .store import Store
from .watch import WatchHub

Obj = dict[str, Any]
log = logging.getLogger(__name__)

PUBLIC_PATHS = {"/version", "/version/", "/healthz", "/livez", "/readyz"}
API_KEY: web.AppKey[KubeServer] = web.AppKey("kube_server")


@dataclass
class Target:
    """What a resource URL names."""

    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=json.dumps(body, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def _error(err: ApiError) -> web.Response:
    headers = {"Retry-After": str(err.retry_after)} if err.retry_after else None
    return _json(err.status(), err.code, headers)


def _not_found_path(path: str) -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", kind="")


class KubeServer:
    """In-process Kubernetes API stand-in bound to `host:port` (port 0 picks a free one)."""

    def __init__(
        self,
        state_dir: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        persist: bool = True,
        history_limit: int = 20_000,
        bookmark_interval: float = 10.0,
        access_log: bool = False,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.host = host
        self.port = port
        self.state_dir.mkdir(parents=True, exist_ok=True)
        token_file = self.state_dir / "token"
        if token_file.exists():
            self.token = token_file.read_text().strip()
        else:
            self.token = secrets.token_hex(24)
            token_file.write_text(self.token + "\n")
            token_file.chmod(0o600)
        self.store = Store(history_limit=history_limit, path=self.state_dir / "kube-objects.json" if persist else None)
        self.registry = Registry()
        self.api = Api(self.store, self.registry)
        self.hub = WatchHub(bookmark_interval=bookmark_interval)
        self._access_log = access_log
        self._runner: web.AppRunner | None = None
        self._gc: GarbageCollector | None = None

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host  # noqa: S104 - a comparison
        return f"https://{host}:{self.port}"

    @property
    def kubeconfig_path(self) -> Path:
        return self.state_dir / "kubeconfig"

    # -- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app[API_KEY] = self
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(
            app, access_log=log if self._access_log else None, handle_signals=False, shutdown_timeout=1.0
        )
        await self._runner.setup()
        tls.ensure_certificates(self.state_dir, [self.host])
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=tls.server_context(self.state_dir))
        await site.start()
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        self._gc = GarbageCollector(self.api)
        self._gc.start()
        self.write_kubeconfig()

    async def stop(self) -> None:
        self.hub.close_all()
        if self._gc is not None:
            await self._gc.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.store.close()

    def write_kubeconfig(self) -> None:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "sreops-sandbox",
                    "cluster": {
                        "server": self.url,
                        "certificate-authority-data": base64.b64encode(
                            (self.state_dir / tls.CA_FILE).read_bytes()
                        ).decode(),
                    },
                }
            ],
            "users": [{"name": "sreops-sandbox", "user": {"token": self.token}}],
            "contexts": [
                {
                    "name": "sreops-sandbox",
                    "context": {"cluster": "sreops-sandbox", "user": "sreops-sandbox", "namespace": "default"},
                }
            ],
            "current-context": "sreops-sandbox",
            "preferences": {},
        }
        self.kubeconfig_path.write_text(yaml.safe_dump(config, sort_keys=False))
        self.kubeconfig_path.chmod(0o600)

    def start_in_thread(self) -> ThreadHandle:
        return ThreadHandle.start(self)

    # -- request handling ---------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        try:
            if request.path not in PUBLIC_PATHS:
                self._authenticate(request)
            return await self._route(request)
        except ApiError as err:
            return _error(err)
        except Exception:  # a bug here must not reach the client as a traceback
            log.exception("internal error serving %s %s", request.method, request.path_qs)
            return _error(
                ApiError(500, "InternalError", "an error on the server has prevented the request from succeeding")
            )

    def _authenticate(self, request: web.Request) -> None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(token.strip(), self.token):
            raise ApiError(401, "Unauthorized", "Unauthorized")

    async def _route(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        parts = [p for p in path.split("/") if p]
        if path in ("/healthz", "/livez", "/readyz"):
            return web.Response(text="ok")
        if path == "/version":
            return _json(discovery.VERSION)
        if path == "/openapi/v2":
            return self._openapi_v2(request)
        if path == "/openapi/v3":
            return _json(openapi.v3_index(self.registry))
        if path.startswith("/openapi/v3/"):
            doc = openapi.v3_document(self.registry, path[len("/openapi/v3/") :])
            if doc is None:
                raise _not_found_path(path)
            return _json(doc, headers={"Cache-Control": "public, immutable"})
        if parts[:1] == ["api"]:
            if len(parts) == 1:
                return _json(discovery.api_versions(f"{self.host}:{self.port}"))
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"]:
            if len(parts) == 1:
                return _json(discovery.group_list(self.registry))
            if len(parts) == 2:
                found = discovery.group(self.registry, parts[1])
                if found is None:
                    raise _not_found_path(path)
                return _json(found)
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise _not_found_path(path)
        if not rest:
            listing = discovery.resource_list(self.registry, group, version)
            if listing is None:
                raise _not_found_path(path)
            return _json(listing)
        target = self._target(group, version, rest)
        if target is None:
            raise _not_found_path(path)
        return await self._resource(request, target)

    def _openapi_v2(self, request: web.Request) -> web.Response:
        accept = request.headers.get("Accept", "")
        if "protobuf" in accept and "json" not in accept and "*/*" not in accept:
            raise ApiError(406, "NotAcceptable", "only application/json is served for /openapi/v2")
        return _json(openapi.v2(self.registry))

    def _target(self, group: str, version: str, rest: list[str]) -> Target | None:
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3 and not (len(rest) == 3 and rest[2] in ("status", "finalize")):
            namespace, rest = rest[1], rest[2:]
        if len(rest) > 3:
            return None
        rt = self.registry.get(group, version, rest[0])
        if rt is None or (namespace is not None and not rt.namespaced):
            return None
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if (
            sub is not None
            and not (sub == "status" and rt.status_subresource)
            and not (sub == "finalize" and rt.kind == "Namespace")
        ):
            return None
        if rt.namespaced and name is not None and namespace is None:
            return None
        return Target(rt, namespace, name, sub)

    async def _body(self, request: web.Request) -> Any:
        raw = await request.read()
        content_type = request.content_type
        if not raw:
            return {}
        try:
            if content_type in ("application/yaml", "application/x-yaml"):
                return yaml.safe_load(raw.decode())
            if content_type == protobuf.PROTOBUF:
                return protobuf.decode(raw)
            if "protobuf" in content_type or "cbor" in content_type:
                raise ApiError(
                    415,
                    "UnsupportedMediaType",
                    "the body of the request was in an unknown format - accepted media types include: "
                    "application/json, application/yaml",
                )
            return json.loads(raw)
        except (ValueError, yaml.YAMLError) as exc:
            raise bad_request(f"couldn't get version/kind; json parse error: {exc}") from exc

    @staticmethod
    def _ctx(request: web.Request) -> Ctx:
        q = request.query
        validation = q.get("fieldValidation") or "Warn"
        if validation not in ("Ignore", "Warn", "Strict"):
            raise bad_request(f"fieldValidation must be one of Ignore, Warn, Strict: {validation}")
        return Ctx(
            dry_run=q.get("dryRun") == "All",
            field_validation=validation,
            field_manager=q.get("fieldManager", ""),
            force=q.get("force") == "true",
        )

    def _render(
        self, request: web.Request, rt: ResourceType, obj: Obj, status: int, ctx: Ctx | None = None
    ) -> web.Response:
        headers = {}
        if ctx is not None and ctx.warnings:
            headers["Warning"] = ", ".join('299 - "{}"'.format(w.replace('"', '\\"')) for w in ctx.warnings)
        if tables.wants_table(request.headers.get("Accept", "")) and obj.get("kind") != "Status":
            md = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
            return _json(tables.table(rt, [obj], md, request.query.get("includeObject", "Metadata")), status, headers)
        return _json(obj, status, headers)

    async def _resource(self, request: web.Request, target: Target) -> web.StreamResponse:
        rt, ns, name, sub = target.rt, target.namespace, target.name, target.subresource
        query = dict(request.query)
        method = request.method
        if rt.review:
            return await self._review(request, rt, name)
        if name is None and ns is None and rt.namespaced and method != "GET":
            # Across all namespaces a namespaced kind serves only list and watch: no create, no deletecollection.
            if rt.is_custom:
                raise _not_found_path(request.path)  # the CRD handler passes it on to the 404 handler
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if name is None:
            if method == "GET":
                if query.get("watch") in ("true", "1"):
                    return await self._watch(request, rt, ns, query)
                listing = self.api.list(rt, ns, query)
                if tables.wants_table(request.headers.get("Accept", "")):
                    md = listing["metadata"]
                    return _json(tables.table(rt, listing["items"], md, query.get("includeObject", "Metadata")))
                return _json(listing)
            if method == "POST":
                ctx = self._ctx(request)
                created = self.api.create(rt, ns, await self._body(request), ctx)
                return self._render(request, rt, created, 201, ctx)
            if method == "DELETE":
                ctx = self._ctx(request)
                options = await self._body(request)
                return _json(
                    self.api.delete_collection(rt, ns, query, options if isinstance(options, dict) else {}, ctx)
                )
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if method == "GET":
            return self._render(request, rt, self.api.get(rt, ns, name), 200)
        status_write = sub is not None
        if method == "PUT":
            ctx = self._ctx(request)
            body = await self._body(request)
            if sub == "finalize":
                current = self.api.get(rt, ns, name)
                finalizers = (body.get("spec") or {}).get("finalizers", []) if isinstance(body, dict) else []
                body = {**current, "spec": {**current.get("spec", {}), "finalizers": finalizers}}
                status_write, ctx.finalize = False, True
            updated = self.api.replace(rt, ns, name, body, ctx, status=status_write)
            return self._render(request, rt, updated, 200, ctx)
        if method == "PATCH":
            ctx = self._ctx(request)
            existed = self.api.store.get(rt.storage, ns or "", name) is not None
            patched = self.api.patch(rt, ns, name, request.content_type, await request.read(), ctx, status=status_write)
            return self._render(request, rt, patched, 200 if existed else 201, ctx)
        if method == "DELETE" and sub is None:
            ctx = self._ctx(request)
            options = await self._body(request)
            if not isinstance(options, dict):
                options = {}
            for key in ("propagationPolicy", "orphanDependents"):
                if key in query:
                    options[key] = query[key] == "true" if key == "orphanDependents" else query[key]
            obj, removed = self.api.delete(rt, ns, name, options, ctx)
            if removed and not rt.is_custom:
                md = obj["metadata"]
                return _json(
                    {
                        "kind": "Status",
                        "apiVersion": "v1",
                        "metadata": {},
                        "status": "Success",
                        "details": {"name": md["name"], "group": rt.group, "kind": rt.plural, "uid": md["uid"]},
                    }
                )
            return _json(obj)
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    async def _review(self, request: web.Request, rt: ResourceType, name: str | None) -> web.Response:
        """SelfSubjectAccessReview: authorization is all-or-nothing, so every question gets `allowed`."""
        if request.method != "POST" or name is not None:
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        body = await self._body(request)
        if not isinstance(body, dict):
            raise bad_request("the body of the request was not a JSON object")
        reason = "the sandbox stand-in authorizes every authenticated request"
        answer = {
            **body,
            "apiVersion": rt.api_version,
            "kind": rt.kind,
            "metadata": {"creationTimestamp": None},
            "status": {"allowed": True, "reason": reason},
        }
        return _json(answer, 201)

    async def _watch(
        self, request: web.Request, rt: ResourceType, ns: str | None, query: dict[str, str]
    ) -> web.StreamResponse:
        timeout = query.get("timeoutSeconds")
        if timeout is not None and not timeout.isdigit():
            raise bad_request(f"invalid timeoutSeconds: {timeout!r}")
        as_table = tables.wants_table(request.headers.get("Accept", ""))
        include = query.get("includeObject", "Metadata")

        def encode(obj: Obj) -> Obj:
            if as_table:
                return tables.table(rt, [obj], {"resourceVersion": obj["metadata"].get("resourceVersion", "")}, include)
            return obj

        # Validate selectors before the 200 goes out, so bad input still gets a 400 Status.
        self.api.list(
            rt, ns, {k: v for k, v in query.items() if k in ("labelSelector", "fieldSelector")} | {"limit": "1"}
        )
        return await self.hub.serve(request, self.api, rt, ns, query, encode)


class ThreadHandle:
    """A KubeServer running on its own event loop in a daemon thread (for tests and the launcher)."""

    def __init__(self, server: KubeServer) -> None:
        self.server = server
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="kube-stand-in", daemon=True)

    @classmethod
    def start(cls, server: KubeServer) -> ThreadHandle:
        handle = cls(server)
        handle._thread.start()
        handle._ready.wait(timeout=30)
        if handle._error is not None:
            raise RuntimeError("the Kubernetes stand-in failed to start") from handle._error
        return handle

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self.server.start())
        except BaseException as exc:  # noqa: BLE001 - reported to the starting thread, which raises it
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self.server.stop())
        with contextlib.suppress(RuntimeError):
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        self._loop.close()

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def token(self) -> str:
        return self.server.token

    @property
    def kubeconfig_path(self) -> Path:
        return self.server.kubeconfig_path

    def call(self, fn: Any) -> Any:
        """Runs `fn()` on the server's loop (e.g. to inspect the store) and returns its result."""

        async def wrapper() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(wrapper(), self._loop).result(timeout=30)

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
