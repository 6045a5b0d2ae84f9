"""The IAM policy is derived from what the wrappers declare."""

from __future__ import annotations

import pytest

from sreops.operator.aws.permissions import declared_actions, iam_policy, requires


def test_policy_lists_every_declared_action_once() -> None:
    policy = iam_policy()
    actions = [a for statement in policy["Statement"] for a in statement["Action"]]
    assert sorted(actions) == declared_actions()
    assert len(actions) == len(set(actions))
    assert "sts:AssumeRole" in actions and "sts:GetCallerIdentity" in actions


def test_malformed_action_is_refused() -> None:
    with pytest.raises(ValueError, match="service:Action"):
        requires("AssumeRole")
