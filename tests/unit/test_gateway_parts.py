"""The gateway's pure parts: rate-limit windows, the identities ConfigMap, API key entries, command parsing,
settings (secrets never in repr), JSON logs."""

from __future__ import annotations

import argparse
import json
import logging

import pytest

from sreops.bots.gateway.apikeys import hash_key, parse_api_keys
from sreops.bots.gateway.commands import parse
from sreops.bots.gateway.identity import parse_identities
from sreops.bots.gateway.logs import JsonFormatter
from sreops.bots.gateway.ratelimit import RateLimiter
from sreops.bots.gateway.settings import Settings, SettingsError, add_arguments


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_second_window_slides_and_refused_requests_do_not_count() -> None:
    clock = Clock()
    limiter = RateLimiter(3, 100, clock)
    assert [limiter.acquire("k").allowed for _ in range(4)] == [True, True, True, False]
    assert limiter.acquire("other").allowed  # per key
    clock.now += 0.5
    refused = limiter.acquire("k")
    assert (refused.allowed, refused.window, refused.retry_after) == (False, "second", 1)
    clock.now += 0.51  # the first three are now more than a second old
    assert limiter.acquire("k").allowed


def test_the_day_window_counts_24_hours_not_a_calendar_day() -> None:
    clock = Clock()
    limiter = RateLimiter(1000, 5, clock)
    for _ in range(5):
        clock.now += 3600
        assert limiter.acquire("k").allowed
    refused = limiter.acquire("k")
    assert (refused.window, refused.retry_after) == ("day", 86_400 - 4 * 3600)
    clock.now += 86_400 - 4 * 3600
    assert limiter.acquire("k").allowed


def test_identities_skip_bad_entries_without_losing_good_ones() -> None:
    data = {
        "identities.yaml": "slack:\n  T1/U1: {user: alice, groups: [ops]}\n  T1/U2: {groups: [x]}\n"
        "  T1/U3: bob\nteams:\n  aad-1: {user: carol}\nirc: {}\n"
    }
    found = parse_identities(data)
    alice = found.lookup("slack", "T1/U1")
    assert alice is not None and (alice.user, alice.groups) == ("alice", ("ops",))
    assert found.lookup("slack", "T1/U2") is None
    bob = found.lookup("slack", "T1/U3")
    assert bob is not None and bob.user == "bob"
    assert found.lookup("teams", "aad-1") is not None
    assert len(found.problems) == 2
    assert parse_identities({"identities.yaml": "{: nope"}).problems
    assert parse_identities({}).entries == {}


def test_api_keys_are_found_by_hash_with_their_identity() -> None:
    keys = parse_api_keys(
        {"ci": hash_key("s3cret"), "ci.user": "ci@example.com", "ci.groups": "a, b", "bad": "not-a-hash", "x.user": "u"}
    )
    found = keys.find("s3cret")
    assert found is not None
    assert (found.name, found.identity.user, found.identity.groups) == ("ci", "ci@example.com", ("a", "b"))
    assert keys.find("S3cret") is None
    assert len(keys.by_digest) == 1


@pytest.mark.parametrize(
    ("text", "verb", "namespace", "kind", "name", "problem"),
    [
        ("", "help", "default", None, None, None),
        ("status", "status", "default", None, None, None),
        ("status pp", "status", "default", "pp", None, None),
        ("status pp/web-fleet -n prod", "status", "prod", "pp", "web-fleet", None),
        ("STATUS web-fleet", "status", "default", None, "web-fleet", None),
        ("run web-fleet --namespace=team-a", "run", "team-a", None, "web-fleet", None),
        ("run", "run", "default", None, None, "run takes one POLICY"),
        ("run Web_Fleet", "run", "default", None, None, "DNS-1123"),
        ("pause a b", "pause", "default", None, None, "takes one"),
        ("status gizmo/x", "status", "default", None, None, "unknown kind"),
        ("run x -n Bad_NS", "run", "Bad_NS", None, None, "namespace"),
        ("deploy prod", "", "default", None, None, "unknown command"),
        ("run x -n", "", "default", None, None, "needs a namespace"),
    ],
)
def test_commands_parse(
    text: str, verb: str, namespace: str, kind: str | None, name: str | None, problem: str | None
) -> None:
    command = parse(text, "default")
    assert (command.verb, command.namespace) == (verb, namespace)
    if problem is None:
        assert command.problem is None
        assert (command.kind, command.name) == (kind, name)
    else:
        assert command.problem is not None and problem in command.problem


def test_settings_take_secrets_from_env_or_files_and_never_show_them(tmp_path: object) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    env = {"SREOPS_SLACK_SIGNING_SECRET": "shh-slack", "SREOPS_TEAMS_APP_PASSWORD": "shh-teams"}
    settings = Settings.from_sources(parser.parse_args(["--namespace", "ops"]), env)
    assert settings.slack_signing_secret == "shh-slack"
    assert "shh" not in repr(settings)
    assert (settings.namespace, settings.port, settings.unmapped) == ("ops", 8000, "read")
    with pytest.raises(SettingsError):
        Settings.from_sources(parser.parse_args(["--namespace", "Not_A_Namespace"]), {})
    with pytest.raises(SettingsError):
        Settings.from_sources(parser.parse_args(["--slack-response-url-prefix", "https://hooks.slack.com"]), {})


def test_json_logs_carry_extras_and_no_traceback_text() -> None:
    try:
        raise ValueError("secret-in-message")
    except ValueError as exc:
        record = logging.LogRecord("sreops.gateway", logging.ERROR, "", 0, "failed", None, (type(exc), exc, None))
    record.route = "/slack/commands"
    line = json.loads(JsonFormatter().format(record))
    assert line["route"] == "/slack/commands"
    assert line["error"] == "ValueError"
    assert "secret-in-message" not in json.dumps(line)


def test_a_wildcard_maps_everyone_it_covers_under_a_name_of_their_own() -> None:
    data = {
        "identities.yaml": (
            "slack:\n  T1/U1: {user: alice, groups: [ops]}\n  T1/*: {user: 'slack:{id}', groups: [viewers]}\n"
            "teams:\n  '*': {user: 'teams:{id}', groups: [viewers]}\n"
        )
    }
    found = parse_identities(data)
    alice, other = found.lookup("slack", "T1/U1"), found.lookup("slack", "T1/U9")
    assert alice is not None and (alice.user, alice.groups) == ("alice", ("ops",))
    assert other is not None and (other.user, other.groups) == ("slack:T1/U9", ("viewers",))
    assert found.lookup("slack", "T2/U9") is None  # another workspace is not covered...
    anyone = parse_identities({"identities.yaml": "slack:\n  '*': {user: 'slack:{id}', groups: [viewers]}\n"})
    stranger = anyone.lookup("slack", "T2/U9")  # ...unless a '*' entry covers every workspace
    assert stranger is not None and stranger.user == "slack:T2/U9"
    teams = found.lookup("teams", "0b7c3e29")
    assert teams is not None and teams.user == "teams:0b7c3e29"
