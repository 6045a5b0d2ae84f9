"""Every AWS call the operator makes is declared here by the wrapper that makes it.

`requires("ssm:CreatePatchBaseline")` on a wrapper function records the IAM action; `iam_policy()` turns the
declarations into the least-privilege policy that `sreops iam-policy` prints and that the hosting code
attaches (cloud-custodian's `permissions`, in small).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_DECLARED: dict[str, set[str]] = {}


def requires(*actions: str) -> Callable[[F], F]:
    for action in actions:
        service, _, name = action.partition(":")
        if not service or not name:
            raise ValueError(f"IAM action {action!r} must look like service:Action")

    def mark(fn: F) -> F:
        _DECLARED.setdefault(f"{fn.__module__}.{fn.__qualname__}", set()).update(actions)
        return fn

    return mark


def declared_actions() -> list[str]:
    _load_wrappers()
    return sorted({a for actions in _DECLARED.values() for a in actions})


def _load_wrappers() -> None:
    # The declarations live on the wrapper modules; importing them registers everything.
    from sreops.operator.aws import ec2, inspector, ssm_commands, ssm_patching, sts  # noqa: F401, PLC0415


def iam_policy() -> dict[str, Any]:
    """The operator's policy. sts:AssumeRole is listed for the roles of AWSAccounts; scope it to them."""
    by_service: dict[str, list[str]] = {}
    for action in declared_actions():
        by_service.setdefault(action.split(":")[0], []).append(action)
    statements = [
        {"Sid": service.upper().replace("-", ""), "Effect": "Allow", "Action": actions, "Resource": "*"}
        for service, actions in sorted(by_service.items())
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def iam_policy_json() -> str:
    return json.dumps(iam_policy(), indent=2)
