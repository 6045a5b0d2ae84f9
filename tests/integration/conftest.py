"""The real operator process against the sandbox's stand-ins, over HTTP(S).

The Kubernetes stand-in runs in-process (its own thread and loop); the AWS stand-in runs as a child
process (moto's state is per process, and other suites start their own); the operator is a child process
configured only by its kubeconfig and environment, as in production.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from kubernetes import client, config

from sreops.sandbox.kube.server import KubeServer, ThreadHandle
from sreops.sandbox.processes import Child, http_ok, operator_child, start_aws_standin
from sreops.sandbox.seed import install_crds
from tests.logs import print_log


def wait_for(
    predicate: Callable[[], Any],
    timeout: float = 30.0,
    interval: float = 0.2,
    on_timeout: Callable[[], Any] | None = None,
) -> Any:
    """`on_timeout`, if given, is called before the failure (to print what the test saw)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            if on_timeout is not None:
                on_timeout()
            raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")
        time.sleep(interval)


@dataclass
class Kube:
    handle: ThreadHandle
    api: client.ApiClient

    @property
    def kubeconfig(self) -> Path:
        return self.handle.kubeconfig_path

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)


@pytest.fixture
def kube(tmp_path: Path) -> Iterator[Kube]:
    handle = KubeServer(tmp_path / "kube").start_in_thread()
    api = config.new_client_from_config(config_file=str(handle.kubeconfig_path))
    install_crds(api)
    try:
        yield Kube(handle, api)
    finally:
        api.close()
        handle.stop()


@dataclass
class Aws:
    """The AWS stand-in child process, its environment, and its admin API (clock, faults, call counts)."""

    proc: subprocess.Popen[str]
    env: dict[str, str]

    @property
    def endpoint(self) -> str:
        return self.env["AWS_ENDPOINT_URL"]

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.endpoint}/_sandbox/{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def advance(self, duration: str) -> None:
        self.admin("POST", "clock", {"advance": duration})

    def client(self, service: str, region: str, account_role: str | None = None, external_id: str = "") -> Any:
        """A boto3 client as the sandbox's own identity, or as an account through its role."""
        kw: dict[str, Any] = {
            "endpoint_url": self.endpoint,
            "region_name": region,
            "aws_access_key_id": self.env["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": self.env["AWS_SECRET_ACCESS_KEY"],
        }
        if account_role is not None:
            args = {"RoleArn": account_role, "RoleSessionName": "tests"}
            if external_id:
                args["ExternalId"] = external_id
            creds = boto3.client("sts", **kw).assume_role(**args)["Credentials"]
            kw.update(
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
            )
        return boto3.client(service, **kw)


@pytest.fixture
def aws(tmp_path: Path) -> Iterator[Aws]:
    """The default generated fleet (111122223333 and 444455556666 through their roles, the home account
    123456789012 with the stand-in's own keys), simulated clock frozen."""
    proc, env = start_aws_standin(tmp_path / "aws.log")
    try:
        yield Aws(proc, env)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@dataclass
class OperatorProcess:
    child: Child
    metrics_port: int

    def start(self) -> None:
        self.child.start()

    def stop(self) -> None:
        self.child.stop()

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as r:
            text: str = r.read().decode()
            return text


def make_operator(
    kube: Kube,
    aws_env: dict[str, str],
    workdir: Path,
    resync_seconds: float = 5,
    *,
    name: str = "operator",
    kubeconfig: Path | None = None,
    flags: tuple[str, ...] = (),
) -> OperatorProcess:
    """An operator child; `name` is its log's name and its POD_NAME (the prefix of its lease identity),
    `kubeconfig` another user's (replicas and shards tell apart in the audit log), `flags` more settings."""
    child, metrics = operator_child(
        {
            # No Slack unless a test brings the chat stand-in: a closed local port answers at once.
            "SREOPS_SLACK_API_URL": "http://127.0.0.1:9/api/",
            **aws_env,
            "KUBECONFIG": str(kubeconfig or kube.kubeconfig),
            "HOME": str(workdir),
            "AWS_MAX_ATTEMPTS": "2",
            "POD_NAME": name,
        },
        workdir / f"{name}.log",
        f"--resync-seconds={resync_seconds}",
        "--default-region=us-west-2",
        *flags,
    )
    child.name = name
    return OperatorProcess(child, metrics)


@pytest.fixture
def operator_process(kube: Kube, aws: Aws, tmp_path: Path) -> Iterator[OperatorProcess]:
    op = make_operator(kube, aws.env, tmp_path)
    op.start()
    try:
        yield op
    finally:
        op.stop()
        # Captured output is shown only for failing tests: the operator's last words explain a timeout.
        print_log(op.child.log, tail=80)


__all__ = ["Aws", "Kube", "OperatorProcess", "http_ok", "make_operator", "wait_for"]
