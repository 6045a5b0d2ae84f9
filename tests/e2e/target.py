"""Where the end-to-end suite runs: the sandbox it starts itself, or a real cluster and AWS account.

Only what a user has is used: a kubeconfig, AWS credentials (a profile, the usual AWS_* environment, or the
sandbox's sandbox.env), the Slack Web API and the gateway's URL. Nothing of sreops is imported. The sandbox is
started as a user starts it (`sreops sandbox` in a subprocess) and read through its documented outputs
(DIR/kubeconfig, DIR/sandbox.env, DIR/run/operator.pid, DIR/slack/messages.jsonl).
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

# The operator's own default (`sreops operator --help`): a real deployment resyncs this often unless told.
OPERATOR_DEFAULT_RESYNC_SECONDS = 300.0
SANDBOX_START_TIMEOUT = 120.0


def wait_for(what: str, predicate: Callable[[], Any], timeout: float, interval: float = 0.5) -> Any:
    """Poll `predicate` until it returns something truthy; fail naming `what` and the last value seen."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def read_env_file(path: Path) -> dict[str, str]:
    """`KEY=value` lines, shell-quoted values (what `set -a; . sandbox.env` would give)."""
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, raw = line.partition("=")
            words = shlex.split(raw)
            values[key] = words[0] if words else ""
    return values


def _http_status(url: str, headers: Mapping[str, str] | None = None) -> int:
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return 0


@dataclass
class SandboxProcess:
    """`sreops sandbox` started by the suite, stopped with SIGTERM at the end."""

    state_dir: Path
    proc: subprocess.Popen[bytes]
    stderr_path: Path

    @classmethod
    def start(cls, workdir: Path) -> SandboxProcess:
        state = workdir / "state"
        stderr_path = workdir / "sandbox.stderr"
        # --no-samples: the suite creates all it checks; the samples would only load the 2-core machine.
        argv = [sys.executable, "-P", "-m", "sreops.cli", "sandbox", "--state-dir", str(state)]
        argv += ["--output", "json", "--no-samples"]
        with (workdir / "sandbox.stdout").open("wb") as out, stderr_path.open("wb") as err:
            proc = subprocess.Popen(argv, stdout=out, stderr=err)
        sandbox = cls(state, proc, stderr_path)
        try:
            sandbox._wait_started()
        except BaseException:
            sandbox.stop()
            raise
        return sandbox

    def _wait_started(self) -> None:
        env_file = self.state_dir / "sandbox.env"
        wait_for(
            "DIR/sandbox.env",
            lambda: env_file.exists() or self._exited("before writing sandbox.env"),
            SANDBOX_START_TIMEOUT,
        )
        env = read_env_file(env_file)
        # sandbox.env comes before the CRDs and the children: the operator's metrics and the gateway's
        # readiness answer once both run.
        wait_for(
            "the operator's metrics endpoint",
            lambda: _http_status(env["SREOPS_OPERATOR_METRICS_URL"]) == 200 or self._exited("starting the operator"),
            SANDBOX_START_TIMEOUT,
        )
        wait_for(
            "the gateway's /ready",
            lambda: _http_status(env["SREOPS_GATEWAY_URL"] + "/ready") == 200 or self._exited("starting the gateway"),
            SANDBOX_START_TIMEOUT,
        )

    def _exited(self, when: str) -> bool:
        if self.proc.poll() is not None:
            tail = self.stderr_path.read_text(errors="replace")[-3000:]
            raise AssertionError(f"sreops sandbox exited ({self.proc.returncode}) {when}:\n{tail}")
        return False

    def env(self) -> dict[str, str]:
        return read_env_file(self.state_dir / "sandbox.env")

    def operator_resync_seconds(self) -> float | None:
        """The `--resync-seconds` the sandbox gave its operator (read off the running process's command line)."""
        pid_file = self.state_dir / "run" / "operator.pid"
        try:
            argv = Path(f"/proc/{int(pid_file.read_text())}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return None
        for arg in argv:
            if arg.startswith(b"--resync-seconds="):
                return float(arg.split(b"=", 1)[1])
        return None

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return int(self.proc.returncode)


@dataclass
class Target:
    """Everything the checks talk to."""

    kubeconfig: Path
    namespace: str
    region: str
    aws_session: boto3.Session
    aws_endpoint_url: str | None
    target_tags: dict[str, str]
    resync_seconds: float
    slack_api_url: str | None = None  # None: slack_sdk's default (https://slack.com/api/)
    slack_token: str | None = None
    slack_channel: str = "#sre-alerts"
    slack_signing_secret: str | None = None
    slack_team_id: str = "T0E2E"
    slack_user_id: str = "U0E2E"
    gateway_url: str | None = None
    api_key: str | None = None
    sandbox: SandboxProcess | None = None
    sandbox_env: dict[str, str] = field(default_factory=dict)

    @property
    def is_sandbox(self) -> bool:
        return self.sandbox is not None

    def aws(self, service: str) -> Any:
        config = Config(retries={"mode": "standard", "max_attempts": 5})
        return self.aws_session.client(
            service, region_name=self.region, endpoint_url=self.aws_endpoint_url, config=config
        )

    def kubectl_env(self, home: Path) -> dict[str, str]:
        # A HOME of its own: kubectl caches discovery per host:port under ~/.kube/cache.
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig), "HOME": str(home)}


def _tags(spec: str) -> dict[str, str]:
    """`Role=web,Env=prod` -> {"Role": "web", "Env": "prod"}."""
    return dict(pair.split("=", 1) for pair in spec.split(",") if pair)


def sandbox_target(workdir: Path) -> Target:
    sandbox = SandboxProcess.start(workdir)
    env = sandbox.env()
    session = boto3.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )
    return Target(
        kubeconfig=sandbox.state_dir / "kubeconfig",
        namespace="default",  # the sandbox's gateway serves, and its chat users are bound in, `default`
        region=env["AWS_DEFAULT_REGION"],
        aws_session=session,
        aws_endpoint_url=env["AWS_ENDPOINT_URL"],
        # The home account's web fleet in the default region (docs/sandbox.md, "The default scenario").
        target_tags=_tags(os.environ.get("SREOPS_E2E_TARGET_TAGS", "Role=web,Env=prod")),
        resync_seconds=sandbox.operator_resync_seconds() or OPERATOR_DEFAULT_RESYNC_SECONDS,
        slack_api_url=env["SREOPS_SLACK_API_URL"],
        slack_token=env["SREOPS_SLACK_TOKEN"],
        slack_channel="#sre-alerts",
        slack_signing_secret=env["SREOPS_SLACK_SIGNING_SECRET"],
        slack_team_id="T0SANDBOX",
        slack_user_id="U0SANDBOX1",  # mapped to sreops:operators by the sandbox's chat identities
        gateway_url=env["SREOPS_GATEWAY_URL"],
        api_key=env["SREOPS_API_KEY"],
        sandbox=sandbox,
        sandbox_env=env,
    )


def real_target(kubeconfig: str) -> Target:
    """A real cluster (kind, EKS) running sreops, and the AWS account its operator acts in."""
    env = os.environ
    session = boto3.Session(profile_name=env.get("AWS_PROFILE") or None)
    region = env.get("SREOPS_E2E_REGION") or session.region_name or "us-east-1"
    return Target(
        kubeconfig=Path(kubeconfig),
        namespace=env.get("SREOPS_E2E_NAMESPACE", "default"),
        region=region,
        aws_session=session,
        aws_endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
        target_tags=_tags(env.get("SREOPS_E2E_TARGET_TAGS", "sreops-e2e=true")),
        resync_seconds=float(env.get("SREOPS_E2E_RESYNC_SECONDS", OPERATOR_DEFAULT_RESYNC_SECONDS)),
        slack_api_url=env.get("SREOPS_E2E_SLACK_API_URL") or None,
        slack_token=env.get("SREOPS_E2E_SLACK_TOKEN") or None,
        slack_channel=env.get("SREOPS_E2E_SLACK_CHANNEL", "#sre-alerts"),
        slack_signing_secret=env.get("SREOPS_E2E_SLACK_SIGNING_SECRET") or None,
        slack_team_id=env.get("SREOPS_E2E_SLACK_TEAM_ID", "T0E2E"),
        slack_user_id=env.get("SREOPS_E2E_SLACK_USER_ID", "U0E2E"),
        gateway_url=(env.get("SREOPS_E2E_GATEWAY_URL") or "").rstrip("/") or None,
        api_key=env.get("SREOPS_E2E_API_KEY") or None,
    )
