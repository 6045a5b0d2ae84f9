"""One boto3 client factory for the operator (ARCHITECTURE rule 8).

One botocore Config (standard retries, timeouts, user agent `sreops/<version>`); clients cached per
(account access, region, service) and reused; assumed-role credentials refreshed by botocore before they
expire. Every session shares one botocore data loader, so each service's model is parsed once per process (not
once per account), trimmed to the declared operations in the operator (models.py); a session or client is built
once however many threads ask for it at the same time, and one client is created at a time (a burst of new
policies built the same clients on every handler thread at once, and parsed EC2's model once per region).
Endpoints follow boto3's usual configuration, so `AWS_ENDPOINT_URL` points everything at the sandbox and nothing
else changes. The account id each access acts in (sts:GetCallerIdentity) is kept with
its clients: an access's account never changes, so it is asked once and forgotten with them.

Every call is counted (service, operation, code, account) and every answer other than OK is logged on the
`sreops.aws` logger with the resource being reconciled, the account, the region and AWS's request id (as JSON
fields with `--log-format json`); successful calls are logged at debug level.
"""

from __future__ import annotations

import logging
import math
import re
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.credentials import RefreshableCredentials
from botocore.retries import quota, standard

from sreops import __version__
from sreops.operator.aws.cache import TtlCache
from sreops.operator.aws.clock import AwsClock
from sreops.operator.aws.errors import THROTTLING_CODES
from sreops.operator.aws.models import DeclaredOperationsLoader, TrimmedData
from sreops.operator.aws.ratelimit import AwsBudget
from sreops.operator.logcontext import current_resource

USER_AGENT = f"sreops/{__version__}"
CallObserver = Callable[[str, str, str, str], None]  # service, operation, code ("OK" or the error code), account
ThrottleObserver = Callable[[str, str, str], None]  # service, operation, account
UNKNOWN_ACCOUNT = "unknown"  # own credentials before sts:GetCallerIdentity has answered
_ARN_ACCOUNT = re.compile(r"^arn:[\w-]+:[\w-]+::(\d{12}):")
log = logging.getLogger("sreops.aws")


def account_of_arn(arn: str | None) -> str | None:
    match = _ARN_ACCOUNT.match(arn or "")
    return match.group(1) if match else None


def botocore_config(max_attempts: int = 4) -> Config:
    return Config(
        retries={"mode": "standard", "max_attempts": max_attempts},
        connect_timeout=5,
        read_timeout=30,
        user_agent_appid="sreops",
        user_agent_extra=USER_AGENT,
        max_pool_connections=20,
    )


def retries_without_quota(client: Any) -> None:
    """botocore's standard retries, but with a retry quota that does not run dry. Its quota (500 tokens per
    client, 5 per throttled retry, 14 per other retry, 1 back per first-try success) is meant to stop one
    program's retry storm; our clients live for months and are shared by every reconcile in an account, region
    and service, and the request budget already spaces the attempts. Measured against the AWS stand-in with 30%
    throttling and 10% 500s (8 threads on one client, 3 attempts): calls that failed after their retries rose
    from 4% of the first 400 to 17-22% of later ones as the quota emptied; 6% is the expectation without it.
    A no-op for a client without standard retries."""
    retries = client.meta.config.retries or {}
    if retries.get("mode") != "standard":
        return
    service = client.meta.service_model.service_id.hyphenize()
    adapter = standard.RetryEventAdapter()
    detector = standard.ThrottlingErrorDetector(adapter)
    attempts = retries.get("total_max_attempts") or standard.DEFAULT_MAX_ATTEMPTS
    handler = standard.RetryHandler(
        retry_policy=standard.RetryPolicy(
            retry_checker=standard.StandardRetryConditions(max_attempts=attempts),
            retry_backoff=standard.ExponentialBackoff(service_name=service, throttling_detector=detector),
        ),
        retry_event_adapter=adapter,
        retry_quota=standard.RetryQuotaChecker(quota.RetryQuota(initial_capacity=sys.maxsize), detector),
        service_name=service,
    )
    unique_id = f"retry-config-{service}"
    client.meta.events.unregister(f"needs-retry.{service}", unique_id=unique_id)
    client.meta.events.register(f"needs-retry.{service}", handler.needs_retry, unique_id=unique_id)


@dataclass(frozen=True)
class Access:
    """How to act in an account: the operator's own credentials, or an assumed role."""

    role_arn: str | None = None
    external_id: str | None = field(default=None, repr=False)  # a shared secret: never in repr or logs
    session_seconds: int = 3600

    def describe(self) -> str:
        return self.role_arn or "the operator's own credentials"


OWN_CREDENTIALS = Access()


class ClientFactory:
    def __init__(
        self,
        sts_region: str,
        config: Config | None = None,
        on_call: CallObserver | None = None,
        on_throttle: ThrottleObserver | None = None,
        session_name: str = "sreops-operator",
        budget: AwsBudget | None = None,
        guard: Callable[[], None] | None = None,
        operations: Mapping[str, frozenset[str]] | None = None,
        trimmed: TrimmedData | None = None,
    ) -> None:
        self._sts_region = sts_region
        self._config = config or botocore_config()
        self._on_call = on_call
        self._on_throttle = on_throttle
        self._session_name = session_name
        # The request budget shared by every client (ratelimit.py), and the leadership fence checked before
        # every attempt is sent (leadership.py).
        self.budget = budget
        self._guard = guard
        self._lock = threading.RLock()
        self._sessions: dict[Access, botocore.session.Session] = {}
        self._clients: dict[tuple[Access, str, str], Any] = {}
        self._building: dict[object, threading.Lock] = {}  # one builder per session or client key at a time
        # With `operations` (models.declared_operations()), the models hold only those operations; `trimmed`
        # (models.trimmed_in_child) is them already parsed.
        self._loader = DeclaredOperationsLoader(operations or {}, trimmed)
        self._create_lock = threading.Lock()
        # Filled by sts.account_id; never expires, dropped by forget().
        self.account_ids: TtlCache[Access, str] = TtlCache(ttl_seconds=math.inf)
        # The last Access each AWSAccount (by uid) resolved to: its Secret may be deleted before the objects
        # that name it have cleaned up (a namespace deletion removes Secrets at once).
        self._last_access: dict[str, Access] = {}
        # AWS's time, from the Date of every response (see clock.py).
        self.clock = AwsClock()

    def client(self, service: str, region: str, access: Access = OWN_CREDENTIALS) -> Any:
        def build() -> Any:
            session = self.session(access)
            # One client is created at a time: creating one is CPU work under the GIL anyway, and the shared
            # loader parses a service's model on its first use without a lock of its own (ten regions'
            # first clients built at once parsed EC2's model ten times over).
            with self._create_lock:
                new = session.create_client(service, region_name=region, config=self._config)
            retries_without_quota(new)
            self._instrument(new, service, region, access)
            return new

        return self._once(self._clients, (access, region, service), build)

    def _once(self, cache: dict[Any, Any], key: object, build: Callable[[], Any]) -> Any:
        """The cached value of key, built by one thread while the others asking for it wait. Built outside the
        factory's lock: assuming a role is a network call, and other keys must not wait for it."""
        with self._lock:
            cached = cache.get(key)
            if cached is not None:
                return cached
            gate = self._building.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                cached = cache.get(key)
                if cached is not None:
                    return cached
            try:
                new = build()
                with self._lock:
                    cache[key] = new
                return new
            finally:
                with self._lock:
                    self._building.pop(key, None)

    def remember_access(self, account_uid: str, access: Access) -> None:
        with self._lock:
            self._last_access[account_uid] = access

    def remembered_access(self, account_uid: str) -> Access | None:
        with self._lock:
            return self._last_access.get(account_uid)

    def session(self, access: Access = OWN_CREDENTIALS) -> botocore.session.Session:
        return self._once(self._sessions, access, lambda: self._new_session(access))

    def _new_session(self, access: Access) -> botocore.session.Session:
        core = botocore.session.Session()
        core.register_component("data_loader", self._loader)
        if access.role_arn is not None:
            # botocore has no public setter for refreshable credentials; this is the pattern AWS's own
            # tools (and cloud-custodian) use.
            core._credentials = self._assumed_credentials(access)
        return core

    def forget(self, access: Access) -> None:
        """Drops cached sessions, clients and the account id of one access (after AccessDenied, or when the
        spec changed)."""
        with self._lock:
            self._sessions.pop(access, None)
            for key in [k for k in self._clients if k[0] == access]:
                del self._clients[key]
        self.account_ids.forget(access)

    def _assumed_credentials(self, access: Access) -> RefreshableCredentials:
        assert access.role_arn is not None
        role_arn = access.role_arn
        sts = self.client("sts", self._sts_region)

        def fetch() -> dict[str, str]:
            params: dict[str, Any] = {
                "RoleArn": role_arn,
                "RoleSessionName": self._session_name,
                "DurationSeconds": access.session_seconds,
            }
            if access.external_id:
                params["ExternalId"] = access.external_id
            creds = sts.assume_role(**params)["Credentials"]
            return {
                "access_key": creds["AccessKeyId"],
                "secret_key": creds["SecretAccessKey"],
                "token": creds["SessionToken"],
                "expiry_time": creds["Expiration"].isoformat(),
            }

        # The first fetch happens now, so a wrong role fails here, not on first use.
        return RefreshableCredentials.create_from_metadata(
            metadata=fetch(), refresh_using=fetch, method="sts-assume-role"
        )

    def account_label(self, access: Access) -> str:
        """The account an access acts in, as far as known without a call: its role's, else the cached id."""
        return account_of_arn(access.role_arn) or self.account_ids.peek(access) or UNKNOWN_ACCOUNT

    def _instrument(self, client: Any, service: str, region: str, access: Access) -> None:
        events = client.meta.events

        def account(context: dict[str, Any] | None) -> str:
            # AssumeRole is made with our own credentials, but it is about the role's account.
            return str((context or {}).get("sreops_account") or self.account_label(access))

        def before_assume_role(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            target = account_of_arn(params.get("RoleArn"))
            if target:
                context["sreops_account"] = target

        def report(operation: str, code: str, context: dict[str, Any] | None, request_id: str) -> None:
            acct = account(context)
            if self._on_call is not None:
                self._on_call(service, operation, code, acct)
            fields = {
                "resource": current_resource(),
                "account": acct,
                "region": region,
                "aws_service": service,
                "aws_operation": operation,
                "aws_code": code,
                "aws_request_id": request_id,
            }
            level = logging.DEBUG if code == "OK" else logging.INFO
            if log.isEnabledFor(level):
                on = f" for {fields['resource']}" if fields["resource"] else ""
                log.log(
                    level,
                    "AWS %s.%s in %s/%s%s: %s (request id %s)",
                    service,
                    operation,
                    acct,
                    region,
                    on,
                    code,
                    request_id or "none",
                    extra=fields,
                )

        def after_call(model: Any, parsed: dict[str, Any], context: dict[str, Any] | None = None, **_: Any) -> None:
            meta = parsed.get("ResponseMetadata") or {}
            self.clock.observe((meta.get("HTTPHeaders") or {}).get("date"))
            code = (parsed.get("Error") or {}).get("Code") or "OK"
            report(model.name, str(code), context, str(meta.get("RequestId") or ""))

        def after_call_error(
            exception: BaseException, event_name: str = "", context: dict[str, Any] | None = None, **_: Any
        ) -> None:
            # botocore emits this event without the operation model; the name ends with the operation.
            report(event_name.rsplit(".", 1)[-1], type(exception).__name__, context, "")

        def needs_retry(operation: Any, response: Any = None, request_dict: Any = None, **_: Any) -> None:
            if self._on_throttle is not None and response is not None:
                code = ((response[1] or {}).get("Error") or {}).get("Code")
                if code in THROTTLING_CODES:
                    context = (request_dict or {}).get("context")
                    self._on_throttle(service, operation.name, account(context))
            if self.budget is not None and response is not None:
                code = ((response[1] or {}).get("Error") or {}).get("Code")
                if code in THROTTLING_CODES:
                    self.budget.throttled(self.account_label(access), region, service, operation.name)

        def before_send(event_name: str = "", **_: Any) -> None:
            # Every attempt, retries included, spends budget and is fenced; the fence last, since the wait for
            # a token can be long (a resync's, ratelimit.py) and the lease may be lost meanwhile.
            if self.budget is not None:
                self.budget.acquire(self.account_label(access), region, service, event_name.rsplit(".", 1)[-1])
            if self._guard is not None:
                self._guard()

        events.register("before-parameter-build.sts.AssumeRole", before_assume_role)
        events.register("after-call", after_call)
        events.register("after-call-error", after_call_error)
        events.register_first("needs-retry", needs_retry)
        events.register("before-send", before_send)
