"""`python -m sreops.sandbox.chat.cli`: serves the stand-ins until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from slack_sdk import WebClient

from sreops.sandbox.chat.cli import add_arguments

ROOT = Path(__file__).resolve().parents[3]


def test_add_arguments_defaults() -> None:
    """The launcher wires these options: --port (0 = a free one) and --state-dir."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--state-dir", "/tmp/x"])
    assert args.port == 0
    assert args.state_dir == Path("/tmp/x")
    assert args.teams_oversize == "reject"
    assert args.allow_anonymous_bot is False


def read_env(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition("=")
        env[key] = shlex.split(value)[0]
    return env


@pytest.mark.integration
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_cli_serves_until_signalled(tmp_path: Path, stop_signal: signal.Signals) -> None:
    """The CLI prints secret-free endpoints, writes the secrets to a 0600 env file, serves Slack with
    the token from the environment, and exits 0 on SIGTERM or Ctrl-C."""
    env = {**os.environ, "SREOPS_SLACK_TOKEN": "xoxb-from-the-environment", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-P", "-m", "sreops.sandbox.chat.cli", "--state-dir", str(tmp_path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        printed = []
        for line in process.stdout:
            printed.append(line)
            if line.startswith("settings with secrets:"):
                break
        settings = read_env(tmp_path / "chat.env")
        assert (tmp_path / "chat.env").stat().st_mode & 0o077 == 0
        assert settings["SREOPS_SLACK_TOKEN"] == "xoxb-from-the-environment"
        web = WebClient(token=settings["SREOPS_SLACK_TOKEN"], base_url=settings["SREOPS_SLACK_API_URL"])
        assert web.auth_test()["ok"]
        assert requests.get(settings["SREOPS_BOTFRAMEWORK_OPENID_METADATA_URL"], timeout=10).ok
        output = "".join(printed)
        assert settings["SREOPS_SLACK_API_URL"] in output
        for secret in ("SREOPS_SLACK_TOKEN", "SREOPS_SLACK_SIGNING_SECRET", "SREOPS_TEAMS_APP_PASSWORD"):
            assert settings[secret] not in output
        sig = settings["SREOPS_TEAMS_WEBHOOK_URL"].rsplit("sig=", 1)[1]
        assert sig not in output
        process.send_signal(stop_signal)
        _, stderr = process.communicate(timeout=15)
        assert process.returncode == 0, stderr
        assert settings["SREOPS_SLACK_TOKEN"] not in stderr
        assert sig not in stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
