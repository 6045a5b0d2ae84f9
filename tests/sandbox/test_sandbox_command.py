"""`sreops sandbox` is the main job: one command starts everything, and other terminals can use it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from slack_sdk import WebClient

from sreops.sandbox.envfile import read_env_file
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]
REQUIRED_ENV = (
    "KUBECONFIG",
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "SREOPS_SLACK_API_URL",
    "SREOPS_SLACK_TOKEN",
    "SREOPS_SLACK_SIGNING_SECRET",
    "SREOPS_TEAMS_WEBHOOK_URL",
    "SREOPS_OPERATOR_METRICS_URL",
)


def test_sandbox_runs_seeds_serves_other_terminals_and_exits_cleanly(tmp_path: Path) -> None:
    state = tmp_path / "state"
    argv = ["sandbox", "--state-dir", str(state), "--exit-after", "25", "--output", "json"]
    proc = subprocess.Popen(
        [sys.executable, "-P", "-m", "sreops.cli", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        env_file = state / "sandbox.env"
        wait_for(lambda: env_file.exists() or proc.poll() is not None, timeout=60)
        env = read_env_file(env_file)
        assert set(REQUIRED_ENV) <= set(env)
        assert oct(env_file.stat().st_mode & 0o777) == "0o600"  # it holds the sandbox's tokens

        # Another terminal: kubectl with the state dir's kubeconfig, boto3 and slack_sdk with sandbox.env.
        shell_env = {**os.environ, **env, "HOME": str(tmp_path)}
        get = lambda: subprocess.run(  # noqa: E731
            ["kubectl", "get", "pp", "web-fleet", "-o", 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'],
            env=shell_env,
            capture_output=True,
            text=True,
            check=False,
        )
        # The policy acts in the seeded account: Ready once its AWS resources are in place.
        assert wait_for(lambda: get().stdout == "True", timeout=60)
        sts = boto3.client(
            "sts",
            endpoint_url=env["AWS_ENDPOINT_URL"],
            region_name=env["AWS_DEFAULT_REGION"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )
        assert sts.get_caller_identity()["Account"]
        slack = WebClient(token=env["SREOPS_SLACK_TOKEN"], base_url=env["SREOPS_SLACK_API_URL"])
        assert slack.auth_test()["ok"]

        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-3000:]
    final = json.loads(out)
    seeded = {(r["kind"], r["name"]) for r in final["resources"]}
    assert {
        ("AWSAccount", "prod"),
        ("PatchPolicy", "web-fleet"),
        ("PatchRun", "web-fleet-scan-1"),
        ("ScanSchedule", "prod-hourly"),
        ("Notifier", "sre-alerts"),
    } <= seeded
    # Secrets stay in sandbox.env: nothing printed carries a token.
    for secret in (env["SREOPS_SLACK_TOKEN"], env["AWS_SECRET_ACCESS_KEY"], env["SREOPS_SLACK_SIGNING_SECRET"]):
        assert secret not in out and secret not in err
    assert (state / "logs" / "operator.log").exists()


def _children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_sigterm_stops_every_process_it_started(tmp_path: Path) -> None:
    state = tmp_path / "state"
    proc = subprocess.Popen(
        [sys.executable, "-P", "-m", "sreops.cli", "sandbox", "--state-dir", str(state), "--output", "json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: (state / "sandbox.env").exists() or proc.poll() is not None, timeout=60)
        wait_for(lambda: _children_of(proc.pid), timeout=60)  # the operator
        children = _children_of(proc.pid)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-3000:]
    assert "Traceback" not in err
    for child in children:
        assert not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2]
