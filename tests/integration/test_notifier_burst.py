"""A burst of 500 events to one Slack channel: every event is visible once, in a message or a digest, and the
Slack stand-in's 429s (one message per second per channel) are waited out, never failed.

Two forms. In `make test`, the delivery itself (operator/notify/delivery.py) with the real Slack and Teams
senders over HTTP to the chat stand-ins and its ledger in the Kubernetes stand-in: 500 events due at once.
With SREOPS_BURST=1 (`make burst`, about two minutes), the same through the real operator process: 500
PatchPolicies whose spec only the operator can reject, each an InvalidSpec event, arriving as the operator
reconciles them; the Notifier allows 20 messages a minute, so the burst spans more than one rate window.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from sreops.bots.notify.slack_sender import SlackSender
from sreops.bots.notify.teams_sender import WorkflowWebhook
from sreops.operator.api import GROUP, VERSION, NotifierSpec, parse_spec
from sreops.operator.notify.delivery import Delivery, Destinations
from sreops.operator.notify.ledger import LedgerStore
from sreops.sandbox.chat.server import ChatSandbox, ThreadedChatSandbox
from tests.integration.conftest import Kube, make_operator, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]
NS = "default"
BURST = 500
PER_MINUTE = 20
DIGEST_EVENTS = 25


@pytest.fixture
def chat(tmp_path: Path) -> Iterator[tuple[ChatSandbox, Path]]:
    threaded = ThreadedChatSandbox(ChatSandbox(tmp_path / "chat"))
    sandbox = threaded.start()
    try:
        yield sandbox, tmp_path / "chat"
    finally:
        threaded.stop()


def _records(chat_dir: Path, what: str) -> list[dict[str, Any]]:
    path = chat_dir / what
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _invalid_policy(name: str, uid: str) -> dict[str, Any]:
    """A PatchPolicy's body as the operator leaves it when only its model rejects the spec."""
    return {
        "kind": "PatchPolicy",
        "metadata": {"name": name, "namespace": NS, "uid": uid, "generation": 1, "labels": {}},
        "spec": {},
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "False",
                    "reason": "InvalidSpec",
                    "message": "spec.schedule.cron: minute 61 is out of range",
                    "observedGeneration": 1,
                    "lastTransitionTime": "2026-12-01T12:00:00Z",
                }
            ]
        },
    }


def _named_once(posts: list[dict[str, Any]], names: list[str]) -> Counter[str]:
    """How many messages name each policy (names are fixed-width, so none is part of another)."""
    texts = [json.dumps(p) for p in posts]
    return Counter({n: sum(n in t for t in texts) for n in names})


def test_a_burst_of_500_due_at_once_is_20_digests_none_twice_429s_waited_out(
    kube: Kube, chat: tuple[ChatSandbox, Path]
) -> None:
    sandbox, chat_dir = chat
    notifier = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Notifier",
        "metadata": {"name": "burst"},
        "spec": {"slack": {"channel": "#sre-alerts", "tokenSecretRef": {"name": "s", "key": "token"}}},
    }
    created = kube.custom.create_namespaced_custom_object(GROUP, VERSION, NS, "notifiers", notifier)
    spec = parse_spec(
        NotifierSpec,
        {
            "slack": {"channel": "#sre-alerts", "tokenSecretRef": {"name": "s", "key": "token"}},
            "teams": {"webhookSecretRef": {"name": "t", "key": "url"}},
            "selector": {"kinds": ["PatchPolicy"]},
            "rateLimit": {"perMinute": PER_MINUTE},
        },
    )
    slack = SlackSender(sandbox.slack_token, base_url=sandbox.slack_api_url)
    channel = slack.check("#sre-alerts").channel.id
    to = Destinations(slack=slack, slack_channel=channel, teams=WorkflowWebhook(sandbox.teams_webhook_url))
    store = LedgerStore(kube.api, NS, "burst", created["metadata"]["uid"])
    delivery = Delivery(store, spec, to, logging.getLogger("burst"))
    delivery.step([])  # a new Notifier: its baseline is empty

    names = [f"policy-{n:03d}" for n in range(BURST)]
    sources = [_invalid_policy(n, f"uid-{n}") for n in names]
    sent, steps = 0, 0
    while sent < BURST and steps < 20:
        result = delivery.step(sources)
        assert result.failed == []
        sent += result.sent
        steps += 1
        time.sleep(result.wait)  # what the delivery loop does with a Retry-After it could not wait out inline

    posts = [p for p in _records(chat_dir, "slack/messages.jsonl") if p["method"] == "chat.postMessage"]
    assert sent == BURST
    assert len(posts) == BURST // DIGEST_EVENTS == PER_MINUTE  # 500 at 20 a minute: 20 digests of 25
    assert set(_named_once(posts, names).values()) == {1}
    cards = _records(chat_dir, "teams/cards.jsonl")
    assert len(cards) == PER_MINUTE
    assert set(_named_once(cards, names).values()) == {1}
    # The channel takes about one message a second: 20 posts at once meet 429s, each waited out (a client
    # ignoring Retry-After would meet one per retry, far more than one per post).
    limited = sandbox.slack.rate_limited["chat.postMessage"]
    assert 0 < limited <= len(posts)
    ledger = json.loads(kube.core.read_namespaced_config_map("sreops-ledger-burst", NS).data["ledger.json"])
    states = Counter(e["state"] for e in ledger.values())
    assert states == {"sent": BURST}


@pytest.mark.skipif(not os.environ.get("SREOPS_BURST"), reason="the operator-level burst runs in `make burst`")
def test_a_burst_of_500_through_the_operator_is_all_visible_once(
    kube: Kube, chat: tuple[ChatSandbox, Path], tmp_path: Path
) -> None:
    sandbox, chat_dir = chat
    operator = make_operator(kube, {"SREOPS_SLACK_API_URL": sandbox.slack_api_url}, tmp_path, resync_seconds=60)
    operator.start()
    try:
        token = {"token": sandbox.slack_token}
        secret = client.V1Secret(metadata=client.V1ObjectMeta(name="slack-bot"), string_data=token)
        kube.core.create_namespaced_secret(NS, secret)
        notifier = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Notifier",
            "metadata": {"name": "burst"},
            "spec": {
                "slack": {"channel": "#sre-alerts", "tokenSecretRef": {"name": "slack-bot", "key": "token"}},
                "selector": {"kinds": ["PatchPolicy"]},
                "events": ["InvalidSpec"],
                "rateLimit": {"perMinute": PER_MINUTE},
            },
        }
        kube.custom.create_namespaced_custom_object(GROUP, VERSION, NS, "notifiers", notifier)

        def ledger_exists() -> bool:
            try:
                kube.core.read_namespaced_config_map("sreops-ledger-burst", NS)
            except ApiException as exc:
                if exc.status == 404:
                    return False
                raise
            return True

        wait_for(ledger_exists, timeout=60)  # the baseline is taken: what follows is news
        names = [f"policy-{n:03d}" for n in range(BURST)]
        started = time.monotonic()
        for name in names:
            body = {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "PatchPolicy",
                "metadata": {"name": name},
                "spec": {
                    "targets": {"tags": {"Patch": "web"}},
                    "operatingSystem": "AMAZON_LINUX_2023",
                    "schedule": {"cron": "61 3 * * *"},
                },
            }
            kube.custom.create_namespaced_custom_object(GROUP, VERSION, NS, "patchpolicies", body)

        def posts() -> list[dict[str, Any]]:
            return [p for p in _records(chat_dir, "slack/messages.jsonl") if p["method"] == "chat.postMessage"]

        wait_for(lambda: all(_named_once(posts(), names).values()), timeout=600, interval=2.0)
        elapsed = time.monotonic() - started
        counts = _named_once(posts(), names)
        assert set(counts.values()) == {1}, [n for n, c in counts.items() if c != 1][:10]
        status = wait_for(
            lambda: (
                (s := kube.custom.get_namespaced_custom_object(GROUP, VERSION, NS, "notifiers", "burst")["status"]).get(
                    "sent"
                )
                == BURST
                and s
            )
        )
        assert status.get("failed", 0) == 0
        limited = sandbox.slack.rate_limited["chat.postMessage"]
        assert limited <= len(posts())
        print(f"burst of {BURST}: {len(posts())} Slack messages, {limited} 429s waited out, {elapsed:.0f} s")
    finally:
        operator.stop()
