"""The AWS stand-in: moto's WSGI app behind a layer that counts calls, injects faults, serves the
operations the sandbox owns (SSM Patch Manager, inspector2, STS checks) and the `/_sandbox/*` admin API.

One endpoint for every service (`AWS_ENDPOINT_URL`); the service, operation, region and account of a
request come from its SigV4 credential scope, its X-Amz-Target / Action / path, and its access key.
"""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs

from moto.iam.models import get_account_id_from
from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from ..fault_rules import FaultSpecError
from . import fleet_ec2, inspector, sts
from .clock import SimClock
from .credentials import CredentialFaults
from .errors import AwsError, render, server_error, throttle_error
from .faults import Faults
from .scenario import Scenario, generate_scenario
from .ssm_ext import PASS_TO_MOTO, SSM_OPS
from .state import Ctx, World

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]  # (status, headers[, exc_info])
Environ = dict[str, Any]
READ_PREFIXES = ("Describe", "Get", "List", "BatchGet", "Search")
_REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


NON_MUTATING = {"AssumeRole", "GetCallerIdentity", "GetSessionToken", "DecodeAuthorizationMessage"}


def is_write(operation: str) -> bool:
    """Whether a call changes AWS state (what "a resync makes no write calls" counts)."""
    return not operation.startswith(READ_PREFIXES) and operation not in NON_MUTATING


class Request:
    def __init__(self, environ: Environ) -> None:
        self.environ = environ
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.body = environ["wsgi.input"].read(length) if length else b""
        # moto reads the body again
        environ["wsgi.input"] = io.BytesIO(self.body)
        environ["CONTENT_LENGTH"] = str(len(self.body))
        self.method: str = environ.get("REQUEST_METHOD", "GET")
        self.path: str = environ.get("PATH_INFO", "/")
        auth = environ.get("HTTP_AUTHORIZATION", "")
        self.access_key = self.region = self.service = ""
        if "Credential=" in auth:
            scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
            if len(scope) >= 4:
                self.access_key, self.region, self.service = scope[0], scope[2], scope[3]
        self.form: dict[str, str] = {}
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target:
            self.operation = target.rsplit(".", 1)[-1]
        elif self.service == "inspector2":
            self.operation = inspector.ROUTES.get((self.method, self.path), self.path)
        else:
            if self.body and "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
                self.form = {k: v[0] for k, v in parse_qs(self.body.decode(errors="replace")).items()}
            query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
            self.operation = self.form.get("Action") or query.get("Action") or self.path

    def json(self) -> dict[str, Any]:
        if not self.body:
            return {}
        try:
            data = json.loads(self.body)
        except ValueError:
            raise AwsError("SerializationException", "Request body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise AwsError("SerializationException", "Request body must be a JSON object.")
        return data


class SandboxApp:
    def __init__(self, world: World, faults: Faults, moto_app: Callable[[Environ, StartResponse], Iterable[bytes]]):
        self.world = world
        self.faults = faults
        self.moto_app = moto_app
        self.credentials = CredentialFaults(world.scenario)  # credentials.py: expired and revoked sessions
        self._accounts: dict[str, str] = {}

    def account_of(self, access_key: str) -> str:
        acct = self._accounts.get(access_key)
        if acct is None:
            acct = get_account_id_from(access_key)
            if access_key:
                self._accounts[access_key] = acct
        return acct

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        return self._serve_request(environ, self._dated(start_response))

    def _dated(self, start_response: StartResponse) -> StartResponse:
        """start_response that stamps every answer (ours, moto's, errors, admin) with a `Date` in simulated
        time, as AWS's Date is the service's clock; werkzeug only adds the real time when none is set."""

        def start(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            headers = [(k, v) for k, v in headers if k.lower() != "date"]
            headers.append(("Date", formatdate(self.world.clock.now(), usegmt=True)))
            return start_response(status, headers, *exc_info)

        return start

    def _serve_request(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith("/_sandbox/"):
            return self.admin(environ, start_response)
        req = Request(environ)
        if not req.service:  # unsigned: moto's own /moto-api and the like
            return self.moto_app(environ, start_response)
        w = self.world
        ctx = Ctx(self.account_of(req.access_key), req.region, 0.0)
        with w.lock:
            w.calls[(req.service, req.operation)] += 1
        accounts: tuple[str, ...] = (ctx.account,)
        if req.service == "sts" and req.operation == "AssumeRole":
            accounts += (req.form.get("RoleArn", "::::").split(":")[4],)
        decision = self.faults.decide(req.service, req.operation, req.region, accounts)
        if decision.latency_s:
            time.sleep(decision.latency_s)
        try:
            if decision.error == "down":
                self._drop(environ)
            if decision.error == "throttle":
                raise throttle_error(req.service)
            if decision.error in ("error500", "error503"):
                raise server_error(req.service, 500 if decision.error == "error500" else 503)
            self.credentials.check(
                req.service, req.operation, req.access_key, lambda: sts.caller_arn(req.access_key), req.form
            )
            answer = self.serve(req, ctx)
        except AwsError as e:
            return self._respond(start_response, *render(e, req.service))
        except ConnectionError:
            raise
        except Exception:  # a sandbox bug must still look like AWS, not a traceback page
            log.exception("sandbox failed on %s:%s", req.service, req.operation)
            return self._respond(start_response, *render(server_error(req.service, 500), req.service))
        if answer is None:
            return self.moto_app(environ, start_response)
        ctype = "application/x-amz-json-1.1" if req.service == "ssm" else "application/json"
        return self._respond(start_response, 200, [("Content-Type", ctype)], json.dumps(answer).encode())

    def serve(self, req: Request, ctx: Ctx) -> dict[str, Any] | None:
        """The answer for operations the sandbox owns, or None to let moto answer."""
        handler = None
        if req.service == "ssm":
            handler = SSM_OPS.get(req.operation)
        elif req.service == "inspector2":
            handler = inspector.OPS.get(req.operation)
            if handler is None:
                raise AwsError(
                    "UnknownOperationException", f"{req.method} {req.path} is not served by the sandbox", 404
                )
        elif req.service == "sts" and req.operation == "AssumeRole":
            sts.check_assume_role(self.world.scenario, req.access_key, req.form)
        if handler is None:
            return None
        params = req.json()
        w = self.world
        with w.lock:
            ctx.now = w.clock.now()
            w.settle(ctx.now)
            answer = handler(w, ctx, params)
        return None if answer is PASS_TO_MOTO else answer

    @staticmethod
    def _respond(
        start_response: StartResponse, status: int, headers: list[tuple[str, str]], body: bytes
    ) -> list[bytes]:
        headers = [*headers, ("Content-Length", str(len(body)))]
        if not any(k.lower() == "x-amzn-requestid" for k, _ in headers):
            headers.append(("x-amzn-RequestId", secrets.token_hex(16)))
        start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
        return [body]

    @staticmethod
    def _drop(environ: Environ) -> None:
        """Make the endpoint unreachable for this request: reset the TCP connection, no answer."""
        sock: socket.socket | None = environ.get("werkzeug.socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        raise ConnectionResetError("sandbox fault: endpoint down")

    # -- admin API ---------------------------------------------------------------------------------

    def admin(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            status, out = self._admin(method, path, body, environ.get("QUERY_STRING", ""))
        except (ValueError, FaultSpecError) as e:
            status, out = 400, {"error": str(e)}
        data = json.dumps(out, indent=None).encode()
        return self._respond(start_response, status, [("Content-Type", "application/json")], data)

    def _admin(self, method: str, path: str, body: dict[str, Any], query: str) -> tuple[int, dict[str, Any]]:
        w = self.world
        name = path.removeprefix("/_sandbox/").strip("/")
        if name == "health":
            return 200, {"ok": True}
        if name == "clock":
            if method == "POST":
                if "speed" in body:
                    w.clock.set_speed(float(body["speed"]))
                if "advance" in body:
                    w.clock.advance(parse_seconds(body["advance"]))
            elif method != "GET":
                return 405, {"error": "use GET or POST"}
            with w.lock:
                now = w.clock.now()
                w.settle(now)
            return 200, clock_json(w.clock)
        if name == "faults":
            if method in ("POST", "PUT"):
                self.faults.set(str(body.get("spec", "")))
            elif method == "DELETE":
                self.faults.set("")
            elif method != "GET":
                return 405, {"error": "use GET, PUT/POST or DELETE"}
            return 200, {"spec": self.faults.spec, "injected": self.faults.injected}
        if name == "credentials":
            return self.credentials.control(method, body)
        if name == "calls":
            if method == "DELETE":
                with w.lock:
                    w.calls.clear()
            elif method != "GET":
                return 405, {"error": "use GET or DELETE"}
            want = {k: v[0] for k, v in parse_qs(query).items()}
            return 200, calls_json(w, want.get("service"))
        if name in ("findings", "findings/close"):
            if method != "POST":
                return 405, {"error": "use POST"}
            with w.lock:
                now = w.clock.now()
                w.settle(now)
                if name == "findings/close":
                    f = w.fleet.close_finding(_text(body, "findingArn"), now)
                    return 200, {"findingArn": f.arn, "status": f.status, "updatedAt": f.updated}
                arn, result = w.fleet.publish_finding(
                    _text(body, "account"),
                    _text(body, "region"),
                    _text(body, "resourceId"),
                    _text(body, "vulnerabilityId"),
                    _text(body, "severity"),
                    now,
                    package=_text(body, "package", required=False),
                    title=_text(body, "title", required=False),
                    fixed_by_patch=_text(body, "fixedByPatch", required=False),
                )
            return 200, {"findingArn": arn, "result": result}
        return 404, {"error": f"unknown admin path {path}; have {', '.join(ADMIN_PATHS)}"}


ADMIN_PATHS = ("health", "clock", "faults", "credentials", "calls", "findings", "findings/close")


def _text(body: dict[str, Any], key: str, required: bool = True) -> Any:
    """body[key] as a non-empty string (None when optional and absent)."""
    v = body.get(key)
    if v is None and not required:
        return None
    if not isinstance(v, str) or not v:
        raise ValueError(f"{key} must be a non-empty string" if v is not None else f"{key} is required")
    return v


def parse_seconds(value: object) -> float:
    """Seconds from a number or a string like 90, "90s", "5m", "2h", "1d"."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and value:
        units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
        if value[-1] in units:
            return float(value[:-1]) * units[value[-1]]
        return float(value)
    raise ValueError(f"not a duration: {value!r}")


def clock_json(clock: SimClock) -> dict[str, Any]:
    now = clock.now()
    return {"now": clock.now_dt().isoformat().replace("+00:00", "Z"), "epoch": now, "speed": clock.speed}


def calls_json(w: World, service: str | None = None) -> dict[str, Any]:
    with w.lock:
        items = [(k, v) for k, v in w.calls.items() if service is None or k[0] == service]
    by_service: dict[str, dict[str, int]] = {}
    for (svc, op), n in sorted(items):
        by_service.setdefault(svc, {})[op] = n
    return {
        "total": sum(n for _, n in items),
        "writes": sum(n for (_, op), n in items if is_write(op)),
        "calls": by_service,
    }


class _QuietHandler(MotoRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as AWS endpoints do: botocore reuses connections
    _date_sent = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    # http.server's send_response always adds a Date in real time: send one only if the app set none.
    def send_response(self, code: int, message: str | None = None) -> None:
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Server", self.version_string())
        self._date_sent = False

    def send_header(self, keyword: str, value: str) -> None:
        if keyword.lower() == "date":
            self._date_sent = True
        super().send_header(keyword, value)

    def end_headers(self) -> None:
        if not self._date_sent:
            self.send_header("Date", self.date_time_string())
        super().end_headers()


class AwsSandbox:
    """The AWS stand-in, in-process. moto's state is process-global: run one at a time per process.

    >>> sb = AwsSandbox(generate_scenario(), speed=0); sb.start()
    >>> boto3.client("ssm", endpoint_url=sb.endpoint_url, region_name="us-west-2", **sb.credentials)
    """

    def __init__(
        self,
        scenario: Scenario | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        speed: float = 1.0,
        faults: str = "",
        seed: int = 0,
    ) -> None:
        self.scenario = scenario or generate_scenario()
        self.host = host
        self.port = port
        self.clock = SimClock(self.scenario.start_time, speed)
        self.faults = Faults(faults, seed)  # a bad spec fails here, before anything starts
        self.access_key_id = "AKIA" + secrets.token_hex(8).upper()
        self.secret_access_key = secrets.token_urlsafe(30)
        self.world: World | None = None
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        # moto loads ~1,300 public AMIs (and their snapshots) into every account x region backend it creates:
        # about 0.6 s each, most of the stand-in's start-up. The fleet uses its own image id and nothing here
        # describes images, so they are left out (moto reads this when a backend is created).
        os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
        moto_api_backend.reset()
        sts.register_home_credentials(self.scenario, self.access_key_id, self.secret_access_key)
        self.world = World(self.scenario, self.clock)
        fleet_ec2.create_instances(self.scenario)
        moto_app = DomainDispatcherApplication(create_backend_app)
        app = SandboxApp(self.world, self.faults, moto_app)
        self._server = make_server(self.host, self.port, app, threaded=True, request_handler=_QuietHandler)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws-sandbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> AwsSandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def credentials(self) -> dict[str, str]:
        """Keyword arguments for boto3.client(...)."""
        return {"aws_access_key_id": self.access_key_id, "aws_secret_access_key": self.secret_access_key}

    def env(self) -> dict[str, str]:
        """What a process needs to reach the stand-in with boto3 (sandbox.env lines)."""
        first = self.scenario.accounts[0]
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_DEFAULT_REGION": first.regions[0],
        }

    def _world(self) -> World:
        if self.world is None:
            raise RuntimeError("AwsSandbox.start() first")
        return self.world

    def now(self) -> float:
        return self.clock.now()

    def advance(self, seconds: float) -> float:
        """Move simulated time forward and let windows fire and commands progress."""
        w = self._world()
        self.clock.advance(seconds)
        with w.lock:
            now = self.clock.now()
            w.settle(now)
        return now

    def calls(self, service: str | None = None) -> dict[str, Any]:
        return calls_json(self._world(), service)

    def reset_calls(self) -> None:
        w = self._world()
        with w.lock:
            w.calls.clear()

    def set_faults(self, spec: str) -> None:
        self.faults.set(spec)

    def publish_finding(
        self,
        account: str,
        region: str,
        resource_id: str,
        vulnerability_id: str,
        severity: str,
        *,
        package: str | None = None,
        title: str | None = None,
        fixed_by_patch: str | None = None,
    ) -> str:
        """Inspector finds `vulnerability_id` on a scenario instance or resource now (as
        `POST /_sandbox/findings`): the finding's ARN. FindingInputError (a ValueError) on bad input."""
        w = self._world()
        with w.lock:
            now = self.clock.now()
            w.settle(now)
            arn, _ = w.fleet.publish_finding(
                account,
                region,
                resource_id,
                vulnerability_id,
                severity,
                now,
                package=package,
                title=title,
                fixed_by_patch=fixed_by_patch,
            )
        return arn

    def close_finding(self, arn: str) -> None:
        """Close one finding now (as `POST /_sandbox/findings/close`)."""
        w = self._world()
        with w.lock:
            now = self.clock.now()
            w.settle(now)
            w.fleet.close_finding(arn, now)


__all__ = ["AwsError", "AwsSandbox", "is_write"]
