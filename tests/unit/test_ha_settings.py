"""Leader election, shard and client budget settings: flags over SREOPS_* environment over defaults."""

from __future__ import annotations

import argparse

import pytest

from sreops.operator.settings import Settings, SettingsError, add_arguments


def settings(*argv: str, **env: str) -> Settings:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return Settings.from_sources(parser.parse_args(list(argv)), env)


def test_defaults_are_client_gos_and_one_lease_for_all_objects() -> None:
    s = settings()
    assert (s.leader_elect, s.lease_duration_seconds, s.renew_deadline_seconds, s.retry_period_seconds) == (
        True,
        15.0,
        10.0,
        2.0,
    )
    assert (s.lease_name, s.lease_namespace, s.shard, s.shard_selector) == ("sreops-operator", "default", None, None)
    assert (s.kube_qps, s.kube_burst) == (20.0, 30)


def test_a_shard_has_its_own_lease_and_selector() -> None:
    s = settings("--shard", "a", POD_NAMESPACE="sreops")
    assert (s.lease_name, s.shard_selector, s.lease_namespace) == ("sreops-operator-a", "sreops.io/shard=a", "sreops")
    none = settings(SREOPS_SHARD="none")
    assert (none.lease_name, none.shard_selector) == ("sreops-operator-none", "!sreops.io/shard")


def test_flags_win_over_environment() -> None:
    s = settings(
        "--no-leader-elect",
        "--lease-duration-seconds=6",
        SREOPS_LEADER_ELECT="true",
        SREOPS_RENEW_DEADLINE_SECONDS="4",
        SREOPS_RETRY_PERIOD_SECONDS="1",
        SREOPS_LEASE_DURATION_SECONDS="60",
    )
    assert (s.leader_elect, s.lease_duration_seconds, s.renew_deadline_seconds, s.retry_period_seconds) == (
        False,
        6.0,
        4.0,
        1.0,
    )


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (["--shard", "bad shard"], {}),
        (["--renew-deadline-seconds=20"], {}),
        (["--retry-period-seconds=9"], {}),
        (["--kube-qps=0"], {}),
        ([], {"SREOPS_LEADER_ELECT": "maybe"}),
        (["--aws-rates", "ssm:read=fast"], {}),
        (["--aws-budget-share=0"], {}),
        (["--aws-budget-share=half"], {}),
        ([], {"SREOPS_AWS_BUDGET_SHARE": "2"}),
    ],
)
def test_bad_values_are_refused(argv: list[str], env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        settings(*argv, **env)


def test_the_budget_share_comes_from_the_flag_or_the_environment() -> None:
    assert settings().aws_budget_share == 1.0
    assert settings("--aws-budget-share=0.25").aws_budget_share == 0.25
    assert settings(SREOPS_AWS_BUDGET_SHARE="0.5").aws_budget_share == 0.5
