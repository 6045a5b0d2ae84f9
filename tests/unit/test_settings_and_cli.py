"""Operator settings are read once from flags, then environment, then defaults; the CLI has help everywhere."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from sreops.cli import build_parser
from sreops.operator.settings import Settings, SettingsError


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["operator", *argv])


def test_defaults_watch_every_namespace() -> None:
    settings = Settings.from_sources(_args(), {})
    assert settings.clusterwide
    assert settings.default_region == "us-east-1"
    assert settings.resync_seconds == 300
    assert settings.log_format == "text"


def test_flags_win_over_environment() -> None:
    env = {"SREOPS_NAMESPACES": "a,b", "SREOPS_DEFAULT_REGION": "eu-west-1", "SREOPS_LOG_FORMAT": "json"}
    from_env = Settings.from_sources(_args(), env)
    assert from_env.namespaces == ("a", "b")
    assert (from_env.default_region, from_env.log_format) == ("eu-west-1", "json")
    from_flags = Settings.from_sources(_args("-n", "c", "--default-region", "us-west-2", "--log-format", "text"), env)
    assert from_flags.namespaces == ("c",)
    assert (from_flags.default_region, from_flags.log_format) == ("us-west-2", "text")


def test_aws_default_region_is_the_fallback() -> None:
    assert Settings.from_sources(_args(), {"AWS_DEFAULT_REGION": "ap-south-1"}).default_region == "ap-south-1"


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"SREOPS_DEFAULT_REGION": "moon-1"}, "not an AWS region"),
        ({"SREOPS_LOG_FORMAT": "xml"}, "json or text"),
        ({"SREOPS_RESYNC_SECONDS": "soon"}, "not a number"),
        ({"SREOPS_RESYNC_SECONDS": "0"}, "at least 1 second"),
    ],
)
def test_bad_settings_are_refused_with_a_reason(env: dict[str, str], words: str) -> None:
    with pytest.raises(SettingsError, match=words):
        Settings.from_sources(_args(), env)


def test_bad_setting_exits_2_without_a_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-P", "-m", "sreops.cli", "operator", "--default-region", "nowhere"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "not an AWS region" in result.stderr
    assert "Traceback" not in result.stderr


def _subcommands(parser: argparse.ArgumentParser) -> list[list[str]]:
    paths: list[list[str]] = [[]]
    for action in parser._actions:  # argparse has no public API to list subparsers
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                paths += [[name, *rest] for rest in _subcommands(sub)]
    return paths


@pytest.mark.parametrize("path", _subcommands(build_parser()), ids=lambda p: " ".join(p) or "sreops")
def test_every_subcommand_has_help(path: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    # In process (the parser `sreops` itself builds): a subprocess per command cost ~3 s each under load.
    with pytest.raises(SystemExit) as exited:
        build_parser([*path, "--help"]).parse_args([*path, "--help"])
    out = capsys.readouterr()
    assert exited.value.code == 0, out.err
    assert out.out.startswith("usage: sreops")


def test_help_runs_as_a_command() -> None:
    result = subprocess.run(
        [sys.executable, "-P", "-m", "sreops.cli", "run", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: sreops run")
