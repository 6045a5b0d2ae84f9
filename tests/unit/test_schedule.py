"""Cron translation to the AWS form and next-run times across time zones and DST."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sreops.operator.api import PatchPolicySpec, SpecError, parse_spec
from sreops.operator.api.schedule import CronError, next_run, to_aws_cron


@pytest.mark.parametrize(
    ("cron", "aws"),
    [
        ("0 3 * * 0", "cron(0 3 ? * SUN *)"),
        ("0 3 * * 7", "cron(0 3 ? * SUN *)"),  # 7 is Sunday too in standard cron
        ("*/15 * * * *", "cron(0/15 * * * ? *)"),
        ("5-55/10 */6 * * *", "cron(5/10 0/6 * * ? *)"),
        ("0 3 * * mon-fri", "cron(0 3 ? * MON-FRI *)"),
        ("0 3 * * SAT,sun", "cron(0 3 ? * SUN,SAT *)"),
        ("0 0 * * */2", "cron(0 0 ? * SUN,TUE,THU,SAT *)"),  # AWS has no step in day-of-week
        ("0 4 * * 2#2", "cron(0 4 ? * TUE#2 *)"),  # Patch Tuesday
        ("30 2 1 * *", "cron(30 2 1 * ? *)"),
        ("0 0 L * *", "cron(0 0 L * ? *)"),
        ("0 12 1-7 jan,jul *", "cron(0 12 1-7 1,7 ? *)"),
        ("10,20,30 * * * *", "cron(10,20,30 * * * ? *)"),
    ],
)
def test_translates_standard_cron_to_aws(cron: str, aws: str) -> None:
    assert to_aws_cron(cron) == aws


@pytest.mark.parametrize(
    ("cron", "why"),
    [
        ("0 3 * *", "5 fields"),
        ("61 * * * *", "not a valid cron"),
        ("0 25 * * *", "not a valid cron"),
        ("0 3 1 * MON", "both day-of-month and day-of-week"),
        ("0 3 * * funday", "not a valid cron"),
    ],
)
def test_rejects_what_aws_or_cron_cannot_express(cron: str, why: str) -> None:
    with pytest.raises(CronError, match=why):
        to_aws_cron(cron)


def test_next_run_reads_the_cron_in_its_time_zone() -> None:
    # Sunday 03:00 in Los Angeles is 11:00 UTC in November (PST, UTC-8).
    after = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
    assert next_run("0 3 * * 0", "America/Los_Angeles", after) == datetime(2026, 11, 29, 11, 0, tzinfo=UTC)
    # ...and 10:00 UTC in summer (PDT, UTC-7).
    after = datetime(2026, 7, 1, tzinfo=UTC)
    assert next_run("0 3 * * 0", "America/Los_Angeles", after) == datetime(2026, 7, 5, 10, 0, tzinfo=UTC)


def test_next_run_on_spring_forward_fires_after_the_gap() -> None:
    # 2026-03-08: Los Angeles clocks jump from 02:00 PST to 03:00 PDT; 02:30 does not exist.
    after = datetime(2026, 3, 8, 9, 0, tzinfo=UTC)  # 01:00 PST
    assert next_run("30 2 * * *", "America/Los_Angeles", after) == datetime(2026, 3, 8, 10, 30, tzinfo=UTC)
    # An hourly schedule skips nothing and repeats nothing around the gap.
    times = []
    t = datetime(2026, 3, 8, 8, 30, tzinfo=UTC)
    for _ in range(4):
        t = next_run("0 * * * *", "America/Los_Angeles", t)
        times.append(t.hour)
    assert times == [9, 10, 11, 12]


def test_next_run_on_fall_back_fires_once() -> None:
    # 2026-11-01: Los Angeles clocks fall from 02:00 PDT back to 01:00 PST; 01:30 happens twice.
    after = datetime(2026, 11, 1, 7, 0, tzinfo=UTC)  # 00:00 PDT
    first = next_run("30 1 * * *", "America/Los_Angeles", after)
    assert first == datetime(2026, 11, 1, 8, 30, tzinfo=UTC)  # the first 01:30 (PDT)
    assert next_run("30 1 * * *", "America/Los_Angeles", first) == datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def test_every_15_minutes_in_utc() -> None:
    after = datetime(2026, 11, 25, 7, 14, 59, tzinfo=UTC)
    assert next_run("*/15 * * * *", "UTC", after) == datetime(2026, 11, 25, 7, 15, tzinfo=UTC)
    assert next_run("*/15 * * * *", "UTC", datetime(2026, 11, 25, 7, 15, tzinfo=UTC)) == datetime(
        2026, 11, 25, 7, 30, tzinfo=UTC
    )


def _spec(**schedule: str) -> dict[str, object]:
    return {"targets": {"tags": {"Role": "web"}}, "operatingSystem": "UBUNTU", "schedule": schedule}


@pytest.mark.parametrize(
    ("schedule", "field", "words"),
    [
        ({"cron": "61 3 * * *"}, "spec.schedule.cron", "not a valid cron"),
        ({"cron": "0 3 1 * 1"}, "spec.schedule.cron", "day-of-week"),
        ({"cron": "0 3 * * 0", "timezone": "Mars/Olympus_Mons"}, "spec.schedule.timezone", "unknown time zone"),
    ],
)
def test_model_rejects_what_the_crd_cannot_check(schedule: dict[str, str], field: str, words: str) -> None:
    """Semantic cron and time-zone errors pass the CRD's patterns; the model names the field."""
    with pytest.raises(SpecError) as caught:
        parse_spec(PatchPolicySpec, _spec(**schedule))
    assert caught.value.field == field
    assert words in caught.value.message
