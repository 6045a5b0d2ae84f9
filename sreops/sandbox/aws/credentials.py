"""Credential faults of the AWS stand-in: sessions that expire mid-run, roles revoked and restored.

Control: `AWS_ENDPOINT_URL/_sandbox/credentials` (JSON). GET: what is in force. POST one of
  {"expire": "all" | ACCOUNT}    every AssumeRole session issued so far (for that account) is expired now;
                                 new AssumeRole calls get fresh, valid credentials (what a refresh does)
  {"revoke": ACCOUNT}            the account's role can no longer be assumed, and its sessions are denied
  {"restore": ACCOUNT}           undoes revoke (sessions denied meanwhile stay denied, as AWS's revocation
                                 policy keeps denying tokens issued before it; a new AssumeRole works)
DELETE: everything back to normal. These are events at a moment, not rates, so they have no `--faults` form.

What AWS answers, by protocol:
- an expired session token: `ExpiredToken` "The security token included in the request is expired" (400) from
  query APIs (STS), `ExpiredTokenException` with the same message from JSON APIs (SSM, Inspector2), and
  `RequestExpired` from EC2 (its documented answer for expired temporary credentials).
- a revoked role: AssumeRole is `AccessDenied` "User: ... is not authorized to perform: sts:AssumeRole on
  resource: ROLE" (the trust policy no longer allows the caller); calls made with the role's existing sessions
  are denied as the IAM console's "Revoke active sessions" policy denies them: `AccessDeniedException` (JSON),
  `UnauthorizedOperation` (EC2), `AccessDenied` (query), "... with an explicit deny in an identity-based policy".
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from moto.sts.models import sts_backends

from .errors import PROTOCOLS, AwsError
from .scenario import Scenario

EXPIRED_MESSAGE = "The security token included in the request is expired"


class CredentialFaults:
    def __init__(self, scenario: Scenario) -> None:
        self._scenario = scenario
        self._lock = threading.Lock()
        self.expired_keys: set[str] = set()
        self.denied_keys: set[str] = set()
        self.revoked: set[str] = set()
        self.refused = {"expired": 0, "denied": 0, "assume_role": 0}

    def _accounts(self, which: str) -> list[str]:
        ids = [a.id for a in self._scenario.accounts]
        if which == "all":
            return ids
        if which not in ids:
            raise ValueError(f"unknown account {which!r}; the scenario has {', '.join(ids)}")
        return [which]

    @staticmethod
    def _session_keys(account: str) -> set[str]:
        return {r.access_key_id for r in sts_backends[account]["aws"].assumed_roles}

    def control(self, method: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "POST":
            actions = [k for k in ("expire", "revoke", "restore") if k in body]
            if len(actions) != 1 or not isinstance(body[actions[0]], str):
                raise ValueError('POST one of {"expire": "all"|ACCOUNT}, {"revoke": ACCOUNT}, {"restore": ACCOUNT}')
            action, which = actions[0], body[actions[0]]
            accounts = self._accounts(which)
            with self._lock:
                for account in accounts:
                    if action == "expire":
                        self.expired_keys |= self._session_keys(account)
                    elif action == "revoke":
                        self.revoked.add(account)
                        self.denied_keys |= self._session_keys(account)
                    else:
                        self.revoked.discard(account)
        elif method == "DELETE":
            with self._lock:
                self.expired_keys.clear()
                self.denied_keys.clear()
                self.revoked.clear()
        elif method != "GET":
            return 405, {"error": "use GET, POST or DELETE"}
        with self._lock:
            return 200, {
                "expiredSessions": len(self.expired_keys),
                "revoked": sorted(self.revoked),
                "refused": dict(self.refused),
            }

    def check(
        self, service: str, operation: str, access_key: str, caller: Callable[[], str], form: dict[str, str]
    ) -> None:
        """Raise what AWS answers when this request's credentials are expired or revoked."""
        protocol = PROTOCOLS.get(service, "json")
        with self._lock:
            if access_key in self.expired_keys:
                self.refused["expired"] += 1
                if protocol == "ec2":
                    raise AwsError("RequestExpired", "Request has expired.", 400)
                code = "ExpiredToken" if protocol == "query" else "ExpiredTokenException"
                raise AwsError(code, EXPIRED_MESSAGE, 400)
            if access_key in self.denied_keys:
                self.refused["denied"] += 1
                message = (
                    f"User: {caller()} is not authorized to perform: {service}:{operation} "
                    "with an explicit deny in an identity-based policy"
                )
                if protocol == "ec2":
                    denied = f"You are not authorized to perform this operation. {message}"
                    raise AwsError("UnauthorizedOperation", denied, 403)
                if protocol == "query":
                    raise AwsError("AccessDenied", message, 403)
                raise AwsError("AccessDeniedException", message, 400)
            if service == "sts" and operation == "AssumeRole":
                role_arn = form.get("RoleArn", "")
                parts = role_arn.split(":")
                if len(parts) > 4 and parts[4] in self.revoked:
                    self.refused["assume_role"] += 1
                    raise AwsError(
                        "AccessDenied",
                        f"User: {caller()} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
                        403,
                    )
