"""`/sreops run web-fleet` end to end: the `sreops gateway` process, the real operator process, the
Kubernetes stand-in with RBAC and impersonation, and the AWS stand-in. One PatchRun, triggered by Chat,
and an audit Event naming the user; a viewer is refused and nothing changes; SIGTERM stops the gateway."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sreops.operator.api import GROUP, VERSION
from sreops.sandbox.chat.slack_signing import signed_headers, slash_command_body
from sreops.sandbox.gateway_seed import seed_api_key
from sreops.sandbox.processes import Child, gateway_child
from tests.integration.conftest import Aws, Kube, OperatorProcess, make_operator, wait_for
from tests.integration.gateway_support import (
    OPERATOR_USER,
    SIGNING_SECRET,
    SLACK_TEAM,
    VIEWER_USER,
    chat_events,
    http,
    seed_chat_users,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]
RESPONSE_URL = "http://127.0.0.1:9/commands/T0SANDBOX/1"  # a closed port: every answer here is inline
API_KEY = "sreops-test-key-0123456789abcdef"


@pytest.fixture
def operator(kube: Kube, aws: Aws, tmp_path: Path) -> Iterator[OperatorProcess]:
    op = make_operator(kube, aws.env, tmp_path)
    op.start()
    try:
        yield op
    finally:
        op.stop()


@pytest.fixture
def gateway(kube: Kube, tmp_path: Path) -> Iterator[tuple[Child, str]]:
    seed_chat_users(kube.api)
    env = {"KUBECONFIG": str(kube.kubeconfig), "SREOPS_SLACK_SIGNING_SECRET": SIGNING_SECRET}
    child, port = gateway_child(
        env, tmp_path / "gateway.log", "--namespace=default", "--slack-response-url-prefix=http://127.0.0.1:9/"
    )
    child.start(timeout=30)
    try:
        yield child, f"http://127.0.0.1:{port}"
    finally:
        child.stop()
        print("--- gateway.log ---", child.log.read_text()[-4000:], sep="\n")


def policy(kube: Kube) -> dict[str, Any]:
    body = {
        "apiVersion": "sreops.io/v1alpha1",
        "kind": "PatchPolicy",
        "metadata": {"name": "web-fleet"},
        "spec": {
            "targets": {"tags": {"Role": "web", "Env": "prod"}},  # the home account's web instances
            "operatingSystem": "AMAZON_LINUX_2023",
            "schedule": {"cron": "0 3 1 1 *", "timezone": "UTC"},
            "operation": "Scan",
        },
    }
    created: dict[str, Any] = kube.custom.create_namespaced_custom_object(
        GROUP, VERSION, "default", "patchpolicies", body
    )
    return created


def runs(kube: Kube) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = kube.custom.list_namespaced_custom_object(GROUP, VERSION, "default", "patchruns")[
        "items"
    ]
    return items


def slash(url: str, text: str, user: str) -> Any:
    body = slash_command_body(text, user_id=user, team_id=SLACK_TEAM, response_url=RESPONSE_URL)
    return http("POST", url + "/slack/commands", body, signed_headers(SIGNING_SECRET, body))


def test_run_web_fleet_creates_one_patchrun_and_an_audit_event(
    kube: Kube, operator: OperatorProcess, gateway: tuple[Child, str]
) -> None:
    child, url = gateway
    policy(kube)
    assert http("GET", url + "/ready").status == 200
    refused = slash(url, "run web-fleet", VIEWER_USER)
    assert refused.status == 200
    assert refused.json()["text"].startswith("Not allowed")
    answer = slash(url, "run web-fleet", OPERATOR_USER)
    assert answer.status == 200, answer.body
    message = answer.json()
    assert message["response_type"] == "in_channel"
    name = next(word for word in message["blocks"][1]["text"]["text"].split() if word.startswith("web-fleet-"))
    created = wait_for(lambda: runs(kube), timeout=30)
    assert [r["metadata"]["name"] for r in created] == [name]
    assert created[0]["spec"]["trigger"] == "Chat"
    # The operator has acted on the request (status written): still that one run, none from the viewer.
    wait_for(lambda: (runs(kube)[0].get("status") or {}).get("conditions"), timeout=30)
    assert [r["metadata"]["name"] for r in runs(kube)] == [name]
    (event,) = chat_events(kube.api)
    assert event.involved_object.kind == "PatchPolicy"
    assert event.involved_object.name == "web-fleet"
    assert event.action == "RunNow"
    assert f"alice@example.com via slack ({SLACK_TEAM}/{OPERATOR_USER})" in event.message
    log = child.log.read_text()
    assert SIGNING_SECRET not in log
    assert '"command": "run"' in log

    # The CLI through the gateway's HTTP API (--api-url + SREOPS_API_KEY) against this gateway: the same views
    # and writes as over the kubeconfig, acting as the key's identity.
    seed_api_key(kube.api, "default", API_KEY)
    cli_env = {**os.environ, "SREOPS_API_URL": url, "SREOPS_API_KEY": API_KEY, "KUBECONFIG": "/nonexistent"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-P", "-m", "sreops.cli", *args]
        return subprocess.run(command, env=cli_env, capture_output=True, text=True, timeout=60, check=False)

    listed = wait_for(lambda: (r := cli("status", "-o", "json")).returncode == 0 and r, timeout=30)  # key TTL
    assert "web-fleet" in listed.stdout and API_KEY not in listed.stdout + listed.stderr
    paused = cli("pause", "web-fleet")
    assert paused.returncode == 0, paused.stderr
    get = kube.custom.get_namespaced_custom_object
    assert get(GROUP, VERSION, "default", "patchpolicies", "web-fleet")["spec"]["suspend"] is True
    assert cli("resume", "web-fleet").returncode == 0
    assert get(GROUP, VERSION, "default", "patchpolicies", "web-fleet")["spec"]["suspend"] is False
    wrong = subprocess.run(
        [sys.executable, "-P", "-m", "sreops.cli", "status"],
        env={**cli_env, "SREOPS_API_KEY": "not-the-key"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert wrong.returncode == 1 and "not-the-key" not in wrong.stderr
    # SIGTERM: the gateway stops serving and exits 0 well within its shutdown deadline.
    assert child.proc is not None
    started = time.monotonic()
    child.proc.send_signal(signal.SIGTERM)
    assert child.proc.wait(timeout=15) == 0
    assert time.monotonic() - started < 10
    assert '"message": "gateway stopped"' in child.log.read_text()
