"""The HTTP front of the Kubernetes API stand-in: routing, authentication, authorization, encoding.

Transport: https with a CA of its own (tls.py; kubectl only sends tokens over https).
Each request goes through the real server's filter order: authentication (authn.py: the sandbox's
token in `<state-dir>/token` and `<state-dir>/kubeconfig` is the cluster admin, more users come from a
token file), impersonation (authn.py), authorization (rbac.py: system:masters, then RBAC; a denial is
the real 403 Status), then routing, with an audit event per request (audit.py) if an audit log is set.
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

from . import authn, discovery, openapi, protobuf, rbac, tables, tls
from .audit import AuditLog, Entry
from .errors import ApiError, Cause, bad_request, invalid
from .faults import CONTROL_PATH, KubeFaults
from .gc import GarbageCollector
from .operations import Api, Ctx
from .resources import Registry, ResourceType
from .store import Store
from .watch import WatchHub

Obj = dict[str, Any]
log = logging.getLogger(__name__)

API_KEY: web.AppKey[KubeServer] = web.AppKey("kube_server")
ENTRY_KEY: web.RequestKey[Entry] = web.RequestKey("sreops_kube_audit", Entry)  # the request's audit entry
# The (possibly impersonated) user a request is served for.
USER_KEY: web.RequestKey[rbac.UserInfo] = web.RequestKey("sreops_kube_user", rbac.UserInfo)
TOKENS_FILE = "tokens.csv"


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


_HTML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


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
        token_auth_file: Path | None = None,
        audit_log: Path | None = None,
        faults: str = "",
    ) -> None:
        self.state_dir = Path(state_dir)
        self.faults = KubeFaults(faults)  # faults.py; a bad spec fails before anything starts
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
        for gr, obj in rbac.bootstrap_policy():
            rt = self.registry.storage_of(gr)
            if rt is not None and self.store.get(gr, "", obj["metadata"]["name"]) is None:
                self.api.create(rt, None, obj, Ctx())
        self.authorizer = rbac.Authorizer(self.store)
        token_files = [self.state_dir / TOKENS_FILE] + ([Path(token_auth_file)] if token_auth_file else [])
        self.authenticator = authn.Authenticator(self.token, token_files)
        self._audit_path = audit_log
        self.audit: AuditLog | None = None
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
        if self._audit_path is not None:
            self.audit = AuditLog(Path(self._audit_path))
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
        if self.audit is not None:
            self.audit.close()
            self.audit = None

    def issue_token(self, user: str, groups: tuple[str, ...] = (), uid: str = "") -> str:
        """A new bearer token for `user` in `groups` (kept in `<state-dir>/tokens.csv`, the format of
        kube-apiserver's --token-auth-file, so it survives a restart); RBAC decides what it may do."""
        token = secrets.token_hex(24)
        info = rbac.UserInfo(user, uid=uid, groups=tuple(groups))
        authn.append_token(self.state_dir / TOKENS_FILE, token, info)
        self.authenticator.add(token, info)
        return token

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
        entry = Entry(request.raw_path, request.remote or "", request.headers.get("User-Agent", ""))
        request[ENTRY_KEY] = entry
        response: web.StreamResponse
        try:
            self._admit(request, entry)
            if request.path == CONTROL_PATH:
                response = await self.faults.control(request)
            else:
                if entry.attrs is not None:
                    await self.faults.before(entry.attrs)
                response = await self._route(request)
        except ApiError as err:
            response = _error(err)
        except authn.ImpersonationError as err:
            # responsewriters.InternalError: a plain-text 500 naming the request URI.
            text = f"Internal Server Error: {rbac.go_quote(request.raw_path)}: {err.detail}".translate(_HTML)
            response = web.Response(
                status=500,
                text=text + "\n",
                content_type="text/plain",
                charset="utf-8",
                headers={"X-Content-Type-Options": "nosniff"},
            )
        except Exception:  # a bug here must not reach the client as a traceback
            log.exception("internal error serving %s %s", request.method, request.path_qs)
            response = _error(
                ApiError(500, "InternalError", "an error on the server has prevented the request from succeeding")
            )
        if self.audit is not None:
            body = getattr(response, "body", None)
            status = None
            if response.status >= 400 and isinstance(body, bytes) and response.content_type == "application/json":
                with contextlib.suppress(ValueError):
                    status = json.loads(body)
            self.audit.write(entry, "ResponseComplete", response.status, status if isinstance(status, dict) else None)
        return response

    def _admit(self, request: web.Request, entry: Entry) -> None:
        """Authentication, impersonation and authorization, in the real server's order."""
        user = self.authenticator.authenticate(request.headers.get("Authorization"), request.path)
        entry.user = user
        impersonated, refused, reason = authn.impersonate(
            user, request.headers, list(request.headers.items()), self.authorizer.authorize
        )
        if refused is not None:
            entry.decision, entry.reason = "forbid", reason
            entry.attrs = rbac.request_attributes(request.method, request.path, request.query, user)
            raise rbac.forbidden(refused, reason)
        if impersonated is not None:
            entry.impersonated = user = impersonated
        request[USER_KEY] = user
        attrs = rbac.request_attributes(request.method, request.path, request.query, user)
        entry.attrs = attrs
        allowed, reason = self.authorizer.authorize(attrs)
        entry.decision, entry.reason = ("allow" if allowed else "forbid"), reason
        if not allowed:
            raise rbac.forbidden(attrs, reason)

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
            return await self._review(request, rt, ns, name)
        if name is None and ns is None and rt.namespaced and method != "GET":
            # Across all namespaces a namespaced kind serves only list and watch: no create, no deletecollection.
            if rt.is_custom:
                raise _not_found_path(request.path)  # the CRD handler passes it on to the 404 handler
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if name is None:
            if method == "GET":
                if rbac.is_watch(query):
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

    async def _review(self, request: web.Request, rt: ResourceType, ns: str | None, name: str | None) -> web.Response:
        """The create-only review kinds, answered for the (possibly impersonated) requester or, for
        SubjectAccessReview, for the user in the spec (pkg/registry/authorization, authentication)."""
        if request.method != "POST" or name is not None:
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        body = await self._body(request)
        if not isinstance(body, dict):
            raise bad_request("the body of the request was not a JSON object")
        user = request[USER_KEY]
        raw_spec = body.get("spec")
        problem = rbac.review_shape(raw_spec)
        if problem is not None:
            raise bad_request(f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: {problem}')
        spec: dict[str, Any] = raw_spec if isinstance(raw_spec, dict) else {}
        answer: dict[str, Any] = {
            **body,
            "apiVersion": rt.api_version,
            "kind": rt.kind,
            "metadata": {"creationTimestamp": None, **({"namespace": ns} if ns else {})},
        }
        if rt.kind == "SelfSubjectReview":
            answer["status"] = {"userInfo": user.as_json()}
            return _json(answer, 201)
        if rt.kind == "SelfSubjectRulesReview":
            answer["status"] = self._rules_review(user, spec)
            return _json(answer, 201)
        subject = user
        causes = rbac.check_review_spec(spec, subject=rt.kind != "SelfSubjectAccessReview")
        if rt.kind != "SelfSubjectAccessReview":
            raw_extra = spec.get("extra")
            extra: dict[str, Any] = raw_extra if isinstance(raw_extra, dict) else {}
            subject = rbac.UserInfo(
                str(spec.get("user") or ""),
                uid=str(spec.get("uid") or ""),
                groups=tuple(str(g) for g in spec.get("groups") or [] if isinstance(g, str)),
                extra={str(k): tuple(str(v) for v in vs) for k, vs in extra.items() if isinstance(vs, list)},
            )
        if rt.kind == "LocalSubjectAccessReview":
            attributes = spec.get("resourceAttributes")
            if isinstance(attributes, dict) and attributes.get("namespace", "") != ns:
                value = rbac.go_quote(str(attributes.get("namespace", "")))
                causes.append(
                    Cause(
                        "FieldValueInvalid",
                        f"Invalid value: {value}: must match metadata.namespace",
                        "spec.resourceAttributes.namespace",
                    )
                )
            if isinstance(spec.get("nonResourceAttributes"), dict):
                causes.append(
                    Cause(
                        "FieldValueInvalid",
                        "Invalid value: {}: disallowed on this kind of request",
                        "spec.nonResourceAttributes",
                    )
                )
        if causes:
            raise invalid(rt.kind, rt.group, "", causes)
        answer["status"] = rbac.review_status(self.authorizer, rbac.review_attributes(spec, subject))
        return _json(answer, 201)

    def _rules_review(self, user: rbac.UserInfo, spec: dict[str, Any]) -> dict[str, Any]:
        """SelfSubjectRulesReview: every rule that applies to the requester in spec.namespace."""
        namespace = spec.get("namespace")
        if not isinstance(namespace, str) or not namespace:
            raise bad_request("no namespace on request")
        rules, errors = self.authorizer.rules_for(user, namespace)
        resource_rules, other_rules = [], []
        for rule in rules:
            if rule.get("nonResourceURLs"):
                other_rules.append({"verbs": rule.get("verbs") or [], "nonResourceURLs": rule["nonResourceURLs"]})
            if rule.get("resources"):
                entry = {k: rule[k] for k in ("verbs", "apiGroups", "resources", "resourceNames") if rule.get(k)}
                resource_rules.append({"verbs": rule.get("verbs") or [], **entry})
        status: dict[str, Any] = {
            "resourceRules": resource_rules,
            "nonResourceRules": other_rules,
            "incomplete": bool(errors),
        }
        if errors:
            status["evaluationError"] = "; ".join(errors)
        return status

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
        entry = request.get(ENTRY_KEY)
        if self.audit is not None and entry is not None:
            self.audit.write(entry, "ResponseStarted", 200)
        if entry is not None and entry.attrs is not None:
            if self.faults.expire_watch(entry.attrs, query):
                return await self.faults.serve_expired(request, query.get("resourceVersion", ""), self.api.store.rv)
            encode = self.faults.dropping(request, entry.attrs, encode)
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
