"""Amazon Inspector (inspector2): scanning enablement per account, findings and coverage, streamed.

Typed wrappers over boto3, each declaring the IAM actions it calls; listings are paginated generators so a
sweep holds one page at a time. Errors are botocore's own; callers classify them with
`sreops.operator.aws.errors`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sreops.operator.aws.clock import response_time
from sreops.operator.aws.permissions import requires

# inspector2's own resource-type names in BatchGetAccountStatus answers.
STATE_KEYS = {"ec2": "EC2", "ecr": "ECR", "lambda": "LAMBDA", "lambdaCode": "LAMBDA_CODE"}
ON = frozenset({"ENABLED", "ENABLING"})
ACCOUNTS_PER_CALL = 100  # BatchGetAccountStatus, Enable and Disable take at most 100 account ids
PAGE_SIZE = 100  # ListFindings' largest page


@dataclass(frozen=True)
class FailedAccount:
    account: str
    code: str
    message: str


@dataclass
class AccountStates:
    """Per account: resource type → ENABLED | ENABLING | DISABLED | DISABLING | SUSPENDING | SUSPENDED."""

    states: dict[str, dict[str, str]] = field(default_factory=dict)
    failed: list[FailedAccount] = field(default_factory=list)
    time: datetime | None = None  # AWS's clock when it answered (the Date header)


def _chunks(values: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def _failed(raw: Mapping[str, Any]) -> FailedAccount:
    return FailedAccount(str(raw.get("accountId", "")), str(raw.get("errorCode", "")), str(raw.get("errorMessage", "")))


@requires("inspector2:BatchGetAccountStatus")
def account_states(client: Any, account_ids: Sequence[str]) -> AccountStates:
    out = AccountStates()
    for chunk in _chunks(account_ids, ACCOUNTS_PER_CALL):
        resp = client.batch_get_account_status(accountIds=chunk)
        out.time = out.time or response_time(resp)
        for acct in resp.get("accounts") or []:
            resource_state = acct.get("resourceState") or {}
            out.states[str(acct["accountId"])] = {
                STATE_KEYS[k]: str((v or {}).get("status", "DISABLED"))
                for k, v in resource_state.items()
                if k in STATE_KEYS
            }
        out.failed += [_failed(f) for f in resp.get("failedAccounts") or []]
    return out


# Enabling Inspector the first time in an account creates its service-linked role.
@requires("inspector2:Enable", "iam:CreateServiceLinkedRole")
def enable(client: Any, account_ids: Sequence[str], resource_types: Sequence[str]) -> list[FailedAccount]:
    failed: list[FailedAccount] = []
    for chunk in _chunks(account_ids, ACCOUNTS_PER_CALL):
        resp = client.enable(accountIds=chunk, resourceTypes=list(resource_types))
        failed += [_failed(f) for f in resp.get("failedAccounts") or []]
    return failed


@requires("inspector2:Disable")
def disable(client: Any, account_ids: Sequence[str], resource_types: Sequence[str]) -> list[FailedAccount]:
    failed: list[FailedAccount] = []
    for chunk in _chunks(account_ids, ACCOUNTS_PER_CALL):
        resp = client.disable(accountIds=chunk, resourceTypes=list(resource_types))
        failed += [_failed(f) for f in resp.get("failedAccounts") or []]
    return failed


@requires("inspector2:ListFindings")
def findings(client: Any, criteria: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every finding matching `criteria`, page by page (one page in memory at a time)."""
    paginator = client.get_paginator("list_findings")
    for page in paginator.paginate(filterCriteria=dict(criteria), PaginationConfig={"PageSize": PAGE_SIZE}):
        yield from page.get("findings") or []


@requires("inspector2:ListCoverage")
def coverage(client: Any, criteria: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    paginator = client.get_paginator("list_coverage")
    params: dict[str, Any] = {"PaginationConfig": {"PageSize": 200}}
    if criteria:
        params["filterCriteria"] = dict(criteria)
    for page in paginator.paginate(**params):
        yield from page.get("coveredResources") or []
