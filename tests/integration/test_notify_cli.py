"""`sreops notify test` as a user runs it: the real CLI process, configured by KUBECONFIG and
SREOPS_SLACK_API_URL only, against the Kubernetes stand-in and the chat stand-ins (no operator, no AWS).
The Notifiers and their Secrets are created directly; what arrived is read off the chat stand-in's
recordings, and no secret is ever in the CLI's output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from kubernetes import client

from sreops.bots.notify.slack_blocks import marker
from sreops.operator.api import GROUP, VERSION
from sreops.sandbox.chat.server import ChatSandbox, ThreadedChatSandbox
from tests.integration.conftest import Kube

pytestmark = [pytest.mark.integration, pytest.mark.slow]
WRONG_TOKEN = "xoxb-not-a-real-token-0123456789"


@pytest.fixture
def chat(tmp_path: Path) -> Iterator[tuple[ChatSandbox, Path]]:
    state = tmp_path / "chat"
    threaded = ThreadedChatSandbox(ChatSandbox(state))
    sandbox = threaded.start()
    try:
        yield sandbox, state
    finally:
        threaded.stop()


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _secret(kube: Kube, namespace: str, name: str, data: dict[str, str]) -> None:
    body = client.V1Secret(metadata=client.V1ObjectMeta(name=name), string_data=data)
    kube.core.create_namespaced_secret(namespace, body)


def _notifier(kube: Kube, namespace: str, name: str, token_secret: str) -> dict[str, Any]:
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Notifier",
        "metadata": {"name": name},
        "spec": {
            "slack": {"channel": "#sre-alerts", "tokenSecretRef": {"name": token_secret, "key": "token"}},
            "teams": {"webhookSecretRef": {"name": "teams", "key": "url"}},
        },
    }
    created = kube.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "notifiers", body)
    return cast(dict[str, Any], created)


def _notify_test(kube: Kube, sandbox: ChatSandbox, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KUBECONFIG": str(kube.kubeconfig),
        "HOME": str(home),
        "SREOPS_SLACK_API_URL": sandbox.slack_api_url,
    }
    return subprocess.run(
        [sys.executable, "-P", "-m", "sreops.cli", "notify", "test", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _no_secrets(result: subprocess.CompletedProcess[str], sandbox: ChatSandbox, *more: str) -> None:
    hook = sandbox.teams_webhook.config.webhooks[0]
    for text in (result.stdout, result.stderr):
        for secret in (sandbox.slack_token, sandbox.teams_webhook_url, hook.sig, *more):
            assert secret not in text


def test_a_good_notifier_gets_one_slack_message_and_one_teams_card(
    kube: Kube, chat: tuple[ChatSandbox, Path], tmp_path: Path
) -> None:
    sandbox, state = chat
    kube.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="ops")))
    _secret(kube, "ops", "slack-bot", {"token": sandbox.slack_token})
    _secret(kube, "ops", "teams", {"url": sandbox.teams_webhook_url})
    uid = _notifier(kube, "ops", "sre-alerts", "slack-bot")["metadata"]["uid"]

    before = int(time.time())
    result = _notify_test(kube, sandbox, tmp_path, "sre-alerts", "-n", "ops")
    after = int(time.time())

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    channel = sandbox.slack_channel_ids["sre-alerts"]
    messages = _jsonl(state / "slack" / "messages.jsonl")
    assert len(messages) == 1
    message = messages[0]
    assert message["method"] == "chat.postMessage" and message["channel"] == channel
    assert message["thread_ts"] is None
    assert "test" in message["text"].lower() and "sreops" in message["text"]
    assert "kubectl -n ops get notifier sre-alerts -o yaml" in json.dumps(message["blocks"])
    # The key is test/<uid>/<time of the run>: its marker is the first block's block_id.
    stamps = [datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") for t in range(before, after + 1)]
    assert message["blocks"][0]["block_id"] in {marker(f"test/{uid}/{stamp}") for stamp in stamps}
    cards = _jsonl(state / "teams" / "cards.jsonl")
    assert len(cards) == 1 and cards[0]["kind"] == "webhook"
    assert "Notifier ops/sre-alerts" in json.dumps(cards[0]["payload"])
    host = sandbox.base_url.split("//", 1)[1].rsplit(":", 1)[0]
    assert result.stdout.splitlines() == [
        f"slack #sre-alerts ({channel}): sent, ts {message['ts']}",
        f"teams Teams Workflows webhook on {host}: sent",
    ]
    _no_secrets(result, sandbox)


def test_a_wrong_token_is_invalid_auth_exit_1_and_teams_still_gets_its_card(
    kube: Kube, chat: tuple[ChatSandbox, Path], tmp_path: Path
) -> None:
    sandbox, state = chat
    _secret(kube, "default", "bad-bot", {"token": WRONG_TOKEN})
    _secret(kube, "default", "teams", {"url": sandbox.teams_webhook_url})
    _notifier(kube, "default", "bad", "bad-bot")

    result = _notify_test(kube, sandbox, tmp_path, "bad")  # the context's namespace, else default

    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0] == "slack #sre-alerts: failed: Slack auth.test: invalid_auth"
    assert lines[1].startswith("teams Teams Workflows webhook on ") and lines[1].endswith(": sent")
    assert result.stderr == "sreops notify test: 1 of 2 destinations failed\n"
    assert "Traceback" not in result.stderr
    assert _jsonl(state / "slack" / "messages.jsonl") == []
    assert len(_jsonl(state / "teams" / "cards.jsonl")) == 1
    _no_secrets(result, sandbox, WRONG_TOKEN)


def test_a_missing_notifier_and_a_wrong_webhook_are_one_line_each(
    kube: Kube, chat: tuple[ChatSandbox, Path], tmp_path: Path
) -> None:
    sandbox, state = chat
    missing = _notify_test(kube, sandbox, tmp_path, "nope")
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr == "sreops notify test: Notifier 'nope' not found in namespace 'default'\n"

    hook = sandbox.teams_webhook.config.webhooks[0]
    wrong_url = sandbox.teams_webhook_url.replace(hook.sig, "wrong-" + hook.sig)
    _secret(kube, "default", "slack-bot", {"token": sandbox.slack_token})
    _secret(kube, "default", "teams", {"url": wrong_url})
    _notifier(kube, "default", "hook", "slack-bot")
    result = _notify_test(kube, sandbox, tmp_path, "hook")
    assert result.returncode == 1
    slack_line, teams_line = result.stdout.splitlines()
    assert slack_line.startswith("slack #sre-alerts (") and ": sent, ts " in slack_line
    assert teams_line.startswith("teams Teams Workflows webhook on ") and ": failed: Teams webhook: " in teams_line
    assert "DirectApiInvalidAuthorizationSignature" in teams_line and "(HTTP 401)" in teams_line
    assert len(_jsonl(state / "slack" / "messages.jsonl")) == 1
    assert _jsonl(state / "teams" / "cards.jsonl") == []
    _no_secrets(result, sandbox, wrong_url)
