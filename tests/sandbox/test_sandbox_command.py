"""`sreops sandbox` is the main job: one command starts everything, and other terminals can use it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any

import boto3
import pytest
from slack_sdk import WebClient

from sreops.observability import alerts
from sreops.sandbox.envfile import read_env_file
from sreops.sandbox.seed import SAMPLES_DIR, load_documents
from tests.integration.conftest import wait_for
from tests.logs import print_log

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
    argv = ["sandbox", "--state-dir", str(state), "--exit-after", "25", "--output", "json", "--prometheus"]
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
        # --prometheus: Prometheus with the alert rules scrapes the operator and the gateway by their job names.
        prometheus = env["SREOPS_PROMETHEUS_URL"]
        up = lambda: {  # noqa: E731
            r["metric"]["job"]: r["value"][1]
            for r in (_prometheus(prometheus, "api/v1/query?query=up") or {"result": []})["result"]
        }
        assert wait_for(lambda: up() == {alerts.OPERATOR_JOB: "1", alerts.GATEWAY_JOB: "1"}, timeout=30)
        rules = _prometheus(prometheus, "api/v1/rules")["groups"]
        assert {r["name"] for g in rules for r in g["rules"]} == {a.name for a in alerts.ALERTS}

        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-3000:]
    final = json.loads(out)
    assert final["endpoints"]["prometheus"] == env["SREOPS_PROMETHEUS_URL"]
    operator, gateway = final["processes"]
    assert (gateway["name"], gateway["running"], gateway["ready"], gateway["restarts"]) == ("gateway", True, True, 0)
    assert (operator["name"], operator["running"], operator["ready"], operator["restarts"]) == (
        "operator",
        True,
        True,
        0,
    )
    assert operator["lastExit"] is None and isinstance(operator["pid"], int)
    seeded = {(r["kind"], r["name"]) for r in final["resources"]}
    assert {
        ("AWSAccount", "prod"),
        ("PatchPolicy", "web-fleet"),
        ("PatchRun", "web-fleet-scan-1"),
        ("ScanSchedule", "prod-hourly"),
        ("Notifier", "sre-alerts"),
    } <= seeded
    # Secrets stay in sandbox.env: nothing printed carries a token.
    secrets = ("SREOPS_SLACK_TOKEN", "AWS_SECRET_ACCESS_KEY", "SREOPS_SLACK_SIGNING_SECRET", "SREOPS_API_KEY")
    for secret in (env[name] for name in secrets):
        assert secret not in out and secret not in err
    assert (state / "logs" / "operator.log").exists()


def _prometheus(url: str, path: str) -> Any:
    """Its answer's data; None while it is not listening yet (it starts after the children)."""
    try:
        with urllib.request.urlopen(f"{url}/{path}", timeout=5) as answer:
            return json.loads(answer.read())["data"]
    except urllib.error.URLError:
        return None


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


class JsonStream:
    """The snapshots `sreops sandbox --output json` prints (one pretty-printed document per change), read
    as they come."""

    def __init__(self, stream: IO[str]) -> None:
        self.docs: list[dict[str, Any]] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        lines: list[str] = []
        for line in stream:
            lines.append(line)
            if line == "}\n":  # the only unindented closing brace: the end of a document
                self.docs.append(json.loads("".join(lines)))
                lines = []

    def latest(self) -> dict[str, Any] | None:
        return self.docs[-1] if self.docs else None


STARTED = "sreops operator starting"  # what each run of the operator logs once, at start-up


def _operator_status(stream: JsonStream) -> dict[str, Any]:
    doc = stream.latest() or {"processes": []}
    return next((p for p in doc["processes"] if p["name"] == "operator"), {})


def test_a_killed_operator_is_restarted_and_sigterm_stops_every_process(tmp_path: Path) -> None:
    """SIGKILL the operator (its pid from DIR/run/operator.pid): the sandbox starts it again, reports the
    restart and how the last run ended, keeps the killed run's log, and new work converges. Then SIGTERM
    stops the sandbox and every process it started, without a traceback."""
    state = tmp_path / "state"
    err_log = tmp_path / "sandbox.stderr"
    argv = ["sandbox", "--state-dir", str(state), "--output", "json", "--no-samples"]
    with err_log.open("w") as err_out:
        proc = subprocess.Popen(
            [sys.executable, "-P", "-m", "sreops.cli", *argv], stdout=subprocess.PIPE, stderr=err_out, text=True
        )
    assert proc.stdout is not None
    snapshots = JsonStream(proc.stdout)
    pid_file = state / "run" / "operator.pid"
    log = state / "logs" / "operator.log"
    try:
        wait_for(lambda: pid_file.exists() or proc.poll() is not None, timeout=90)
        first = int(pid_file.read_text())
        assert first in _children_of(proc.pid)  # the pid file names the sandbox's own child
        # Generous bounds: on a loaded machine the operator's start-up alone can take tens of seconds.
        ready = wait_for(lambda: (s := _operator_status(snapshots)).get("ready") and s, timeout=90)
        assert (ready["pid"], ready["restarts"], ready["lastExit"]) == (first, 0, None)
        first_run_log = log.read_text()
        assert first_run_log

        os.kill(first, signal.SIGKILL)
        restarted = wait_for(
            lambda: (s := _operator_status(snapshots)).get("restarts") == 1 and s["ready"] and s, timeout=90
        )
        second = restarted["pid"]
        assert second != first and second in _children_of(proc.pid)
        assert int(pid_file.read_text()) == second
        assert restarted["running"] is True
        assert restarted["lastExit"]["signal"] == "SIGKILL" and restarted["lastExit"]["reason"] == "Signaled"
        assert "code" not in restarted["lastExit"] and restarted["lastExit"]["time"].endswith("Z")
        # The killed run's log is rotated beside the new one, whole; the new run has a log of its own.
        rotated = (state / "logs" / "operator.log.1").read_text()
        assert rotated.startswith(first_run_log) and rotated.count(STARTED) == 1
        assert not (state / "logs" / "operator.log.2").exists()
        # The new run stands by until the killed run's Lease expires (leader election), then starts kopf.
        assert wait_for(lambda: log.read_text().count(STARTED) == 1, timeout=40)
        assert not log.read_text().startswith(first_run_log)

        # New work converges after the restart: a PatchPolicy without accountRef, in the home account's fleet.
        env = read_env_file(state / "sandbox.env")
        shell_env = {**os.environ, **env, "HOME": str(tmp_path)}
        policy = next(d for d in load_documents([SAMPLES_DIR / "patchpolicy.yaml"]) if d["kind"] == "PatchPolicy")
        policy["metadata"] = {"name": "after-restart"}
        del policy["spec"]["accountRef"]
        manifest = tmp_path / "after-restart.yaml"
        manifest.write_text(json.dumps(policy))
        subprocess.run(["kubectl", "apply", "-f", str(manifest)], env=shell_env, check=True, capture_output=True)
        jsonpath = '{.status.conditions[?(@.type=="Ready")].status} {.status.compliance.instances}'
        get = ["kubectl", "get", "pp", "after-restart", "-o", f"jsonpath={jsonpath}"]

        def ready_and_counted() -> list[str] | None:
            fields = subprocess.run(get, env=shell_env, capture_output=True, text=True, check=False).stdout.split()
            return fields if fields[:1] == ["True"] and len(fields) == 2 else None

        ready_policy = wait_for(ready_and_counted, timeout=60)
        assert int(ready_policy[1]) > 0  # the home fleet's Role=web, Env=prod instances in us-west-2

        children = _children_of(proc.pid)  # the operator, the gateway
        assert second in children and len(children) >= 2
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        # Captured output is shown only for failing tests: what the sandbox and the operator last said.
        print("--- sandbox stderr ---", err_log.read_text()[-3000:], sep="\n")
        for path in sorted((state / "logs").glob("operator.log*")):
            print_log(path, tail=40)
    err = err_log.read_text()
    assert proc.returncode == 0, err[-3000:]
    assert "operator exited: SIGKILL (Signaled)" in err
    assert "Traceback" not in err
    assert not pid_file.exists()
    for child in children:
        assert not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2]
