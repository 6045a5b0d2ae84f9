"""`sreops notify test`: its arguments, the Test event it sends, its lines and exit status, and that no
secret is printed, with the Kubernetes reads and the senders replaced by fakes."""

from __future__ import annotations

import argparse
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from sreops import cli, notify_cli
from sreops.bots.notify.slack_sender import SlackAuthError, SlackChannel, SlackChannelError, SlackCheck, SlackIdentity
from sreops.bots.notify.teams_sender import TeamsWebhookRejectedError
from sreops.notify_cli import Outcome, Secrets
from sreops.operator.kube import SecretMissingError

NOW = datetime(2026, 1, 5, 12, 0, 7, tzinfo=UTC)
TOKEN = "xoxb-1111-2222-secret-token"
URL = "https://prod-00.westus.logic.azure.com/workflows/0123456789abcdef0123/triggers/manual?sig=s3cr3t-signature"
NOTIFIER = {
    "apiVersion": "sreops.io/v1alpha1",
    "kind": "Notifier",
    "metadata": {"name": "sre-alerts", "namespace": "ops", "uid": "6f1c-uid"},
    "spec": {
        "slack": {"channel": "#sre-alerts", "tokenSecretRef": {"name": "slack-bot", "key": "token"}},
        "teams": {"webhookSecretRef": {"name": "teams", "key": "url"}},
    },
}


# -- arguments ----------------------------------------------------------------------------------------------


def parse(*words: str) -> argparse.Namespace:
    return cli.build_parser(list(words)).parse_args(list(words))


def test_notify_test_takes_a_name_and_an_optional_namespace() -> None:
    args = parse("notify", "test", "sre-alerts")
    assert args.func is notify_cli.run and args.notifier == "sre-alerts" and args.namespace is None
    assert parse("notify", "test", "sre-alerts", "-n", "ops").namespace == "ops"
    assert parse("notify", "test", "--namespace", "ops", "x").namespace == "ops"


@pytest.mark.parametrize("words", [["notify"], ["notify", "test"], ["notify", "send", "x"]])
def test_bad_usage_exits_2(words: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse(*words)
    assert exited.value.code == 2
    assert "usage: sreops notify" in capsys.readouterr().err


# -- the event and the lines --------------------------------------------------------------------------------


def test_the_test_event_says_what_it_is_and_how_to_see_the_notifier() -> None:
    event = notify_cli.build_test_event(NOTIFIER, NOW)
    assert event.type == "Test" and event.kind == "Notifier"
    assert event.key == "test/6f1c-uid/2026-01-05T12:00:07Z"
    assert event.time == "2026-01-05T12:00:07Z"
    assert (event.namespace, event.name) == ("ops", "sre-alerts")
    assert "test" in event.title.lower() and "sreops" in event.title and "ops/sre-alerts" in event.title
    assert event.kubectl == "kubectl -n ops get notifier sre-alerts -o yaml"


def test_outcome_lines() -> None:
    assert Outcome("slack #sre-alerts (C0123ABCD)", True, "sent, ts 1.2").line() == (
        "slack #sre-alerts (C0123ABCD): sent, ts 1.2"
    )
    assert Outcome("slack #sre-alerts", False, "Slack auth.test: invalid_auth").line() == (
        "slack #sre-alerts: failed: Slack auth.test: invalid_auth"
    )


@pytest.mark.parametrize(
    ("channel", "shown"),
    [("#sre-alerts", "#sre-alerts"), ("sre-alerts", "#sre-alerts"), ("C0123ABCD9", "C0123ABCD9"), ("ops", "#ops")],
)
def test_channels_are_shown_as_slack_does(channel: str, shown: str) -> None:
    assert notify_cli.channel_shown(channel) == shown
    assert notify_cli.slack_label(channel, "C9") == f"slack {shown} (C9)"


def test_the_summary_counts_failures_only() -> None:
    ok, bad = Outcome("a", True, "sent"), Outcome("b", False, "x")
    assert notify_cli.summary([ok, ok]) is None
    assert notify_cli.summary([bad, ok]) == "1 of 2 destinations failed"
    assert notify_cli.summary([bad]) == "the destination failed"


def test_secrets_are_redacted_longest_first() -> None:
    secrets = Secrets()
    secrets.add(URL)
    secrets.add(" " + TOKEN + "\n")
    assert secrets.redact(f"token {TOKEN} url {URL}") == "token *** url ***"
    assert secrets.redact("sig=s3cr3t-signature") == "sig=***"


def test_the_slack_api_url_comes_from_the_environment_as_for_the_operator() -> None:
    assert notify_cli.slack_api_url({}) == "https://slack.com/api/"
    assert notify_cli.slack_api_url({"SREOPS_SLACK_API_URL": "http://127.0.0.1:1/api/"}) == "http://127.0.0.1:1/api/"
    with pytest.raises(notify_cli.CliError, match="SREOPS_SLACK_API_URL"):
        notify_cli.slack_api_url({"SREOPS_SLACK_API_URL": "slack.com"})


# -- the command, with fakes --------------------------------------------------------------------------------


class FakeApi:
    closed = False

    def close(self) -> None:
        self.closed = True


@dataclass
class World:
    """What the fakes answer: the Notifier, the Secrets, and how Slack and Teams behave."""

    notifier: dict[str, Any] | None
    secrets: dict[tuple[str, str], str]
    context_namespace: str | None = None
    slack_error: Exception | None = None
    teams_error: Exception | None = None
    read_namespaces: list[str] = field(default_factory=list)
    posted: list[tuple[str, str, str | None]] = field(default_factory=list)
    cards: list[Mapping[str, Any]] = field(default_factory=list)
    base_urls: list[str] = field(default_factory=list)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    w = World(notifier=NOTIFIER, secrets={("slack-bot", "token"): TOKEN, ("teams", "url"): URL})
    api = FakeApi()

    def get_object(_api: Any, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        assert kind == "Notifier"
        w.read_namespaces.append(namespace)
        if w.notifier is None or name != w.notifier["metadata"]["name"]:
            return None
        return w.notifier

    def read_secret_value(_api: Any, namespace: str, name: str, key: str) -> str:
        if (name, key) not in w.secrets:
            raise SecretMissingError(f"Secret {name!r} not found in namespace {namespace!r}")
        return w.secrets[(name, key)]

    class FakeSlack:
        def __init__(self, token: str, *, base_url: str) -> None:
            assert token == TOKEN
            w.base_urls.append(base_url)

        def check(self, channel: str) -> SlackCheck:
            if w.slack_error is not None:
                raise w.slack_error
            return SlackCheck(SlackIdentity("T1", "team", "U1", "B1"), SlackChannel("C0123ABCD", "sre-alerts"))

        def post(self, channel_id: str, text: str, blocks: Sequence[Any], *, key: str | None = None) -> str:
            w.posted.append((channel_id, text, key))
            return "1767614407.000100"

    class FakeWebhook:
        description = "Teams Workflows webhook on prod-00.westus.logic.azure.com"

        def __init__(self, url: str) -> None:
            assert url == URL

        def send(self, payload: Mapping[str, Any]) -> None:
            if w.teams_error is not None:
                raise w.teams_error
            w.cards.append(payload)

    monkeypatch.setattr(notify_cli, "_kube", lambda _args: (api, w.context_namespace))
    monkeypatch.setattr(notify_cli, "get_object", get_object)
    monkeypatch.setattr(notify_cli, "read_secret_value", read_secret_value)
    monkeypatch.setattr(notify_cli, "SlackSender", FakeSlack)
    monkeypatch.setattr(notify_cli, "WorkflowWebhook", FakeWebhook)
    monkeypatch.delenv("SREOPS_SLACK_API_URL", raising=False)
    return w


def run(*words: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = notify_cli.run(parse("notify", "test", *words), out, err)
    return code, out.getvalue(), err.getvalue()


def no_secret(*texts: str) -> None:
    for text in texts:
        assert TOKEN not in text and URL not in text and "s3cr3t" not in text


def test_every_destination_sent_is_exit_0_with_a_line_each(world: World) -> None:
    code, out, err = run("sre-alerts", "-n", "ops")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "slack #sre-alerts (C0123ABCD): sent, ts 1767614407.000100",
        "teams Teams Workflows webhook on prod-00.westus.logic.azure.com: sent",
    ]
    [(channel, text, key)] = world.posted
    assert channel == "C0123ABCD" and "test" in text.lower() and key and key.startswith("test/6f1c-uid/")
    assert len(world.cards) == 1 and world.cards[0]["type"] == "message"
    assert world.base_urls == ["https://slack.com/api/"]


def test_the_namespace_is_the_flag_then_the_contexts_then_default(world: World) -> None:
    world.notifier = None
    run("x", "-n", "ops")
    world.context_namespace = "team-a"
    run("x")
    run("x", "-n", "ops")
    world.context_namespace = None
    code, out, err = run("x")
    assert world.read_namespaces == ["ops", "team-a", "ops", "default"]
    assert (code, out, err) == (1, "", "sreops notify test: Notifier 'x' not found in namespace 'default'\n")


def test_slacks_error_code_is_one_line_and_teams_is_still_sent(world: World) -> None:
    world.slack_error = SlackAuthError("auth.test", "invalid_auth")
    code, out, err = run("sre-alerts", "-n", "ops")
    assert code == 1
    assert out.splitlines() == [
        "slack #sre-alerts: failed: Slack auth.test: invalid_auth",
        "teams Teams Workflows webhook on prod-00.westus.logic.azure.com: sent",
    ]
    assert err == "sreops notify test: 1 of 2 destinations failed\n"
    assert world.posted == [] and len(world.cards) == 1


def test_a_bot_outside_the_channel_and_a_rejected_webhook(world: World) -> None:
    world.slack_error = SlackChannelError(
        "conversations.list", "not_in_channel", detail="invite the bot to #sre-alerts"
    )
    world.teams_error = TeamsWebhookRejectedError("WorkflowNotFound", status=404, detail="no such workflow")
    code, out, err = run("sre-alerts", "-n", "ops")
    assert code == 1
    assert out.splitlines() == [
        "slack #sre-alerts: failed: Slack conversations.list: not_in_channel (invite the bot to #sre-alerts)",
        "teams Teams Workflows webhook on prod-00.westus.logic.azure.com: failed: "
        "Teams webhook: WorkflowNotFound (HTTP 404): no such workflow",
    ]
    assert err == "sreops notify test: 2 of 2 destinations failed\n"


def test_a_missing_secret_names_the_field_and_the_secret(world: World) -> None:
    del world.secrets[("teams", "url")]
    code, out, _ = run("sre-alerts", "-n", "ops")
    assert code == 1
    assert (
        out.splitlines()[1] == "teams: failed: spec.teams.webhookSecretRef: Secret 'teams' not found in namespace 'ops'"
    )


def test_a_forbidden_secret_is_the_kubernetes_answer(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*_: Any) -> str:
        raise ApiException(status=403, reason="Forbidden")

    monkeypatch.setattr(notify_cli, "read_secret_value", forbidden)
    code, out, _ = run("sre-alerts", "-n", "ops")
    assert code == 1
    assert (
        out.splitlines()[0]
        == "slack #sre-alerts: failed: spec.slack.tokenSecretRef: Kubernetes API error: 403 Forbidden"
    )


def test_secrets_never_get_out_whatever_an_error_says(world: World) -> None:
    world.slack_error = SlackAuthError("auth.test", "invalid_auth", detail=f"token {TOKEN}")  # as if a sender leaked
    world.teams_error = RuntimeError(f"boom at {URL}")  # an exception nobody expected
    code, out, err = run("sre-alerts", "-n", "ops")
    assert code == 1
    assert out.splitlines() == [
        "slack #sre-alerts: failed: Slack auth.test: invalid_auth (token ***)",
        "teams Teams Workflows webhook on prod-00.westus.logic.azure.com: failed: unexpected error (RuntimeError)",
    ]
    no_secret(out, err)


def test_an_invalid_spec_is_one_line(world: World) -> None:
    world.notifier = {**NOTIFIER, "spec": {"selector": {"kinds": ["PatchRun"]}}}
    code, out, err = run("sre-alerts", "-n", "ops")
    assert (code, out) == (1, "")
    assert err.startswith("sreops notify test: Notifier ops/sre-alerts has an invalid spec: ")
    assert err.count("\n") == 1


def test_a_bad_slack_api_url_stops_before_anything_is_sent(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SREOPS_SLACK_API_URL", "not-a-url")
    code, out, err = run("sre-alerts", "-n", "ops")
    assert (code, out) == (1, "")
    assert "SREOPS_SLACK_API_URL" in err and world.posted == [] and world.cards == []
