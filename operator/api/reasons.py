"""Condition reasons: the vocabulary users see in `kubectl get -o yaml`, alerts and chat messages.

Every reason a kind can set on each of its conditions is listed here and explained in docs/api.md
("Condition reasons"); a unit test keeps the two equal, and `check` refuses a reason that is not listed,
so a typo or a new reason cannot reach users undocumented.
"""

from __future__ import annotations

# Shared by several kinds.
INVALID_SPEC = "InvalidSpec"
ACCESS_DENIED = "AccessDenied"
AWS_UNAVAILABLE = "AwsUnavailable"
AWS_ERROR = "AwsRequestFailed"
ACCOUNT_NOT_FOUND = "AccountNotFound"
ACCOUNT_NOT_READY = "AccountNotReady"
SECRET_NOT_FOUND = "SecretNotFound"  # noqa: S105 - a condition reason, not a secret
SPEC_ACCEPTED = "SpecAccepted"

# AWSAccount
VERIFIED = "Verified"
ASSUME_ROLE_FAILED = "AssumeRoleFailed"
IN_USE = "InUse"

# PatchPolicy
SYNCED = "Synced"
IN_SYNC = "InSync"
SYNC_FAILED = "SyncFailed"
PATCH_GROUP_CONFLICT = "PatchGroupConflict"
DELETION_PENDING = "DeletionPending"
COMPLIANT = "Compliant"
NON_COMPLIANT = "NonCompliant"
NO_INSTANCES = "NoInstances"
UNREPORTED = "Unreported"
COMPLIANCE_UNAVAILABLE = "ComplianceUnavailable"

# PatchRun
RUNNING = "Running"
SUCCEEDED = "Succeeded"
FAILED = "Failed"
POLICY_SUSPENDED = "PolicySuspended"
COMMAND_REJECTED = "CommandRejected"
POLICY_NOT_FOUND = "PolicyNotFound"
WAITING_FOR_POLICY = "WaitingForPolicy"
ACCOUNT_NOT_IN_POLICY = "AccountNotInPolicy"

# ScanSchedule
SCANNING = "Scanning"
ENABLED = "Enabled"
ENABLING = "Enabling"
ENABLEMENT_FAILED = "EnablementFailed"
ABOVE_THRESHOLD = "AboveThreshold"
BELOW_THRESHOLD = "BelowThreshold"

# Notifier
CONNECTED = "Connected"
SLACK_REJECTED = "SlackRejected"
TEAMS_REJECTED = "TeamsRejected"
CHAT_UNAVAILABLE = "ChatUnavailable"

_AWS = {ACCESS_DENIED, AWS_UNAVAILABLE, AWS_ERROR}
_ACCOUNT = {ACCOUNT_NOT_FOUND, ACCOUNT_NOT_READY}
_RUN_END = {SUCCEEDED, FAILED, POLICY_SUSPENDED, COMMAND_REJECTED}

# kind -> condition type -> the reasons it may carry.
VOCABULARY: dict[str, dict[str, frozenset[str]]] = {
    "AWSAccount": {
        "Ready": frozenset({VERIFIED, ASSUME_ROLE_FAILED, SECRET_NOT_FOUND, INVALID_SPEC, *_AWS}),
        # While it is deleted and still named: Ready is kept, so the objects that name it can clean up with it.
        "Terminating": frozenset({IN_USE}),
    },
    "PatchPolicy": {
        "Ready": frozenset(
            {SYNCED, INVALID_SPEC, PATCH_GROUP_CONFLICT, DELETION_PENDING, *_ACCOUNT, *_AWS},
        ),
        "Synced": frozenset({IN_SYNC, SYNC_FAILED, PATCH_GROUP_CONFLICT, *_ACCOUNT}),
        "Compliant": frozenset({COMPLIANT, NON_COMPLIANT, NO_INSTANCES, UNREPORTED, COMPLIANCE_UNAVAILABLE}),
    },
    "PatchRun": {
        "Ready": frozenset(
            {RUNNING, *_RUN_END, INVALID_SPEC, POLICY_NOT_FOUND, WAITING_FOR_POLICY, ACCOUNT_NOT_IN_POLICY, *_ACCOUNT}
            | _AWS
        ),
        "Complete": frozenset({RUNNING, *_RUN_END}),
        "Failed": frozenset({FAILED, POLICY_SUSPENDED, COMMAND_REJECTED}),
    },
    "ScanSchedule": {
        "Ready": frozenset({SCANNING, INVALID_SPEC, ENABLEMENT_FAILED, DELETION_PENDING, *_ACCOUNT, *_AWS}),
        "ScanningEnabled": frozenset({ENABLED, ENABLING, ENABLEMENT_FAILED, *_ACCOUNT}),
        "ThresholdExceeded": frozenset({ABOVE_THRESHOLD, BELOW_THRESHOLD}),
    },
    "Notifier": {
        "Ready": frozenset(
            {CONNECTED, SLACK_REJECTED, TEAMS_REJECTED, CHAT_UNAVAILABLE, INVALID_SPEC, SECRET_NOT_FOUND}
        ),
    },
}

# A wait for another object: not a fault of this one's spec; it is reconciled again when that object
# appears or becomes usable (see controllers/references.py).
WAITING = frozenset({ACCOUNT_NOT_FOUND, ACCOUNT_NOT_READY, SECRET_NOT_FOUND, POLICY_NOT_FOUND, WAITING_FOR_POLICY})


class UnknownReasonError(ValueError):
    """Code tried to set a reason that is not in the documented vocabulary (a bug, caught by the tests)."""


def check(kind: str, condition_type: str, reason: str) -> str:
    allowed = VOCABULARY.get(kind, {}).get(condition_type)
    if allowed is None or reason not in allowed:
        raise UnknownReasonError(f"{kind} condition {condition_type} has no documented reason {reason!r}")
    return reason
