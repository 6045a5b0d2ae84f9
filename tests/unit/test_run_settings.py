"""The PatchRun poll interval: a flag, then SREOPS_RUN_POLL_SECONDS, else the resync interval up to 30 s."""

from __future__ import annotations

import pytest

from sreops.cli import build_parser
from sreops.operator.settings import Settings, SettingsError


def _settings(*argv: str, **env: str) -> Settings:
    return Settings.from_sources(build_parser().parse_args(["operator", *argv]), env)


def test_run_poll_defaults_to_the_resync_interval_at_most_thirty_seconds() -> None:
    assert _settings().run_poll_seconds == 30
    assert _settings("--resync-seconds", "5").run_poll_seconds == 5


def test_run_poll_from_the_environment_and_the_flag() -> None:
    assert _settings(SREOPS_RUN_POLL_SECONDS="2").run_poll_seconds == 2
    assert _settings("--run-poll-seconds", "3", SREOPS_RUN_POLL_SECONDS="2").run_poll_seconds == 3


@pytest.mark.parametrize(("value", "words"), [("0", "at least 1 second"), ("often", "not a number")])
def test_bad_run_poll_is_refused(value: str, words: str) -> None:
    with pytest.raises(SettingsError, match=words):
        _settings(SREOPS_RUN_POLL_SECONDS=value)
