"""`sreops status|run|scan|pause|resume` as a user runs them: the real CLI process, configured by KUBECONFIG
only, against the Kubernetes and AWS stand-ins with the real operator doing the runs and sweeps.

The fleet is the sandbox's default one: Role=db, Env=prod holds two managed instances in each region of
account 111122223333; one of them (us-east-1) fails to install its patches, so a run in both regions fails and
a run in us-west-2 alone succeeds. The simulated clock is frozen: commands end when the test advances it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from sreops.operator.api import GROUP, VERSION
from sreops.sandbox.aws.scenario import SANDBOX_EXTERNAL_ID
from sreops.sandbox.kube.server import KubeServer
from sreops.sandbox.processes import start_aws_standin
from sreops.sandbox.seed import install_crds
from tests.integration.conftest import Aws, Kube, OperatorProcess, make_operator, wait_for
from tests.logs import print_log

pytestmark = [pytest.mark.integration, pytest.mark.slow]
NS = "default"
ROLE = "arn:aws:iam::111122223333:role/sreops"
NEVER = "0 3 1 1 *"


@dataclass
class Env:
    kube: Kube
    aws: Aws
    home: Path

    def sreops(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-P", "-m", "sreops.cli", *args],
            env=self.environ(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-P", "-m", "sreops.cli", *args],
            env=self.environ(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def environ(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SREOPS_API")}
        return {**env, "KUBECONFIG": str(self.kube.kubeconfig), "HOME": str(self.home), "USER": "alice"}

    def get(self, plural: str, name: str) -> dict[str, Any]:
        obj: dict[str, Any] = self.kube.custom.get_namespaced_custom_object(GROUP, VERSION, NS, plural, name)
        return obj

    def maybe(self, plural: str, name: str) -> dict[str, Any]:
        """The object, or {} while it does not exist (yet)."""
        try:
            return self.get(plural, name)
        except ApiException as exc:
            if exc.status != 404:
                raise
            return {}

    def runs(self, policy: str) -> list[dict[str, Any]]:
        items = self.kube.custom.list_namespaced_custom_object(GROUP, VERSION, NS, "patchruns")["items"]
        return [r for r in items if r["spec"]["policyRef"]["name"] == policy]


def _ready(obj: dict[str, Any]) -> dict[str, Any]:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == "Ready"), {})


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    workdir = tmp_path_factory.mktemp("ops-cli")
    handle = KubeServer(workdir / "kube").start_in_thread()
    api = config.new_client_from_config(config_file=str(handle.kubeconfig_path))
    install_crds(api)
    kube = Kube(handle, api)
    aws = Aws(*start_aws_standin(workdir / "aws.log"))
    operator: OperatorProcess = make_operator(kube, {**aws.env, "SREOPS_RUN_POLL_SECONDS": "1"}, workdir)
    operator.start()
    try:
        secret = client.V1Secret(metadata=client.V1ObjectMeta(name="prod-aws"), string_data={"id": SANDBOX_EXTERNAL_ID})
        kube.core.create_namespaced_secret(NS, secret)
        spec = {
            "roleArn": ROLE,
            "regions": ["us-west-2", "us-east-1"],
            "externalIdSecretRef": {"name": "prod-aws", "key": "id"},
        }
        account = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "AWSAccount", "metadata": {"name": "prod"}, "spec": spec}
        kube.custom.create_namespaced_custom_object(GROUP, VERSION, NS, "awsaccounts", account)
        e = Env(kube, aws, workdir)
        wait_for(lambda: _ready(e.get("awsaccounts", "prod")).get("status") == "True")
        yield e
    finally:
        operator.stop()
        print_log(operator.child.log)
        aws.proc.terminate()
        aws.proc.wait(timeout=20)
        api.close()
        handle.stop()


def _policy(env: Env, name: str, **spec: Any) -> None:
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "PatchPolicy",
        "metadata": {"name": name},
        "spec": {
            "accountRef": {"name": "prod"},
            "targets": {"tags": {"Role": "db", "Env": "prod"}},
            "operatingSystem": "AMAZON_LINUX_2023",
            "schedule": {"cron": NEVER, "timezone": "UTC"},
            "operation": "Install",
            "rollout": {"maxConcurrency": "50%", "maxErrors": "1"},
            **spec,
        },
    }
    env.kube.custom.create_namespaced_custom_object(GROUP, VERSION, NS, "patchpolicies", body)


def test_status_table_and_json(env: Env) -> None:
    _policy(env, "lost", accountRef={"name": "nope"})
    wait_for(lambda: _ready(env.get("patchpolicies", "lost")).get("reason") == "AccountNotFound")
    table = env.sreops("status")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    header = next(line for line in lines if line.startswith("PATCHPOLICY"))
    assert header.split() == [
        "PATCHPOLICY",
        "OPERATION",
        "COMPLIANT",
        "SUSPEND",
        "LAST",
        "RUN",
        "NEXT",
        "RUN",
        "READY",
        "REASON",
        "AGE",
    ]
    lost = next(line for line in lines if line.startswith("lost "))
    assert lost.split()[1:] == [
        "Install",
        "<none>",
        "false",
        "<none>",
        "<none>",
        "False",
        "AccountNotFound",
        lost.split()[-1],
    ]
    assert any(line.startswith("AWSACCOUNT") for line in lines)
    assert any(line.split()[:3] == ["prod", "111122223333", "True"] for line in lines)

    as_json = env.sreops("status", "pp/lost", "-o", "json")
    assert as_json.returncode == 0, as_json.stderr
    [item] = json.loads(as_json.stdout)["items"]
    assert (item["kind"], item["namespace"], item["name"]) == ("PatchPolicy", NS, "lost")
    assert item["ready"]["reason"] == "AccountNotFound" and "nope" in item["ready"]["message"]


def test_run_wait_follows_each_run_to_its_result(env: Env) -> None:
    _policy(env, "west", regions=["us-west-2"])
    _policy(env, "both")
    west, both = env.start("run", "west", "--wait"), env.start("run", "both", "--wait")
    assert west.stdout is not None and both.stdout is not None
    west_run, both_run = west.stdout.readline().strip(), both.stdout.readline().strip()
    # Both runs have sent all their commands (one per region: a run records each as it is sent, so "some" is not
    # enough); the simulated commands then run to completion.
    for name, regions in ((west_run, 1), (both_run, 2)):
        wait_for(
            lambda n=name, r=regions: len((env.maybe("patchruns", n).get("status") or {}).get("commandIds") or []) == r,
            timeout=40,
        )
    env.aws.advance("10m")
    west_out, west_err = west.communicate(timeout=40)
    both_out, both_err = both.communicate(timeout=40)
    assert west.returncode == 0, west_err
    assert both.returncode == 1, both_err
    assert west_out.splitlines()[-1] == f"PatchRun {west_run} Succeeded: 2 of 2 instances succeeded, 0 failed"
    assert f"PatchRun {both_run} Failed: 3 of 4 instances succeeded, 1 failed" in both_out
    assert "i-39a781b024cb73a80 111122223333 us-east-1: Failed" in both_out
    assert f"{both_run}: 4/4 done, 3 succeeded, 1 failed, 0 in progress" in both_out  # a line per change, no TTY
    assert [r["metadata"]["name"] for r in env.runs("west")] == [west_run]
    assert [r["metadata"]["name"] for r in env.runs("both")] == [both_run]
    run = env.get("patchruns", west_run)
    assert run["spec"]["trigger"] == "Manual"
    assert run["metadata"]["annotations"]["sreops.io/requested-by"] == "cli:alice"
    events = env.kube.core.list_namespaced_event(NS).items
    audit = [e for e in events if e.reason == "ChatOpsAction" and e.involved_object.name == "west"]
    assert [(e.source.component, e.message) for e in audit] == [
        (
            "sreops-cli",
            f"run by alice via cli: run-now {run['metadata']['annotations']['sreops.io/run-now']}, PatchRun {west_run}",
        )
    ]


def test_pause_and_resume_show_in_the_spec(env: Env) -> None:
    _policy(env, "pausable")
    paused = env.sreops("pause", "pausable")
    assert (paused.returncode, paused.stdout) == (0, f"PatchPolicy {NS}/pausable paused\n")
    assert env.get("patchpolicies", "pausable")["spec"]["suspend"] is True
    resumed = env.sreops("resume", "pausable")
    assert (resumed.returncode, resumed.stdout) == (0, f"PatchPolicy {NS}/pausable resumed\n")
    assert env.get("patchpolicies", "pausable")["spec"]["suspend"] is False


def test_scan_wait_returns_once_the_operator_swept_for_it(env: Env) -> None:
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ScanSchedule",
        "metadata": {"name": "on-demand"},
        "spec": {
            "accountRef": {"name": "prod"},
            "regions": ["us-west-2"],
            "suspend": True,
            "schedule": {"cron": "0 * * * *", "timezone": "UTC"},
        },
    }
    env.kube.custom.create_namespaced_custom_object(GROUP, VERSION, NS, "scanschedules", body)
    done = env.sreops("scan", "on-demand", "--wait", "--timeout", "40")
    assert done.returncode == 0, done.stderr
    first, swept = done.stdout.splitlines()
    value = first.split()[1]
    assert first == f"scan-now {value} requested for ScanSchedule {NS}/on-demand"
    status = env.get("scanschedules", "on-demand")["status"]
    assert value in status["scanNowHandled"]
    assert swept.startswith(f"ScanSchedule on-demand swept at {status['lastScanTime']}: ")
    assert f"{status['findings']['critical']} critical" in swept


def test_a_missing_policy_is_one_clear_line_and_exit_1(env: Env) -> None:
    result = env.sreops("run", "nope", "--wait")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"sreops run: PatchPolicy 'nope' not found in namespace '{NS}'\n"
