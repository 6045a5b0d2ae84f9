"""Standard 5-field cron in an IANA time zone: validation, the AWS `cron(...)` form, and next-run times.

AWS (SSM maintenance windows) wants six fields, `cron(min hour dom month dow year)`, with `?` in one of the
two day fields, day-of-week as SUN-SAT, and no step syntax in day-of-week. croniter parses the standard
form and expands every field to explicit values; we render those back compactly in AWS syntax, so every
expression croniter accepts (names, ranges, lists, steps, `L`, `#`) translates or fails with a clear reason.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadCronError, CroniterBadDateError, croniter

DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# (first, last) value of each standard field: minute, hour, day-of-month, month, day-of-week.
FIELD_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))


class CronError(ValueError):
    """The expression is not a valid 5-field cron or cannot be expressed for AWS."""


def parse_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CronError(f"unknown time zone {name!r} (want an IANA name such as America/Los_Angeles)") from exc


def _expand(expr: str) -> tuple[list[list[int | str]], dict[int, set[int]]]:
    if len(expr.split()) != 5:
        raise CronError(f"{expr!r} must have 5 fields: minute hour day-of-month month day-of-week")
    try:
        expanded = croniter.expand(expr)
    except (CroniterBadCronError, CroniterBadDateError, ValueError, KeyError) as exc:
        raise CronError(f"{expr!r} is not a valid cron expression: {exc}") from exc
    fields: list[list[int | str]] = [list(f) for f in expanded[0]]
    nth_weekday: dict[int, set[int]] = {k: {int(n) for n in v} for k, v in expanded[1].items()}
    return fields, nth_weekday


def validate_cron(expr: str) -> None:
    _expand(expr)
    to_aws_cron(expr)


def _render(values: Sequence[int | str], first: int, last: int, names: Sequence[str] | None = None) -> str:
    """Renders an expanded field compactly: `*`, `start/step`, ranges `a-b`, or a list."""
    if values == ["*"]:
        return "*"
    nums = sorted({int(v) for v in values})
    if nums == list(range(first, last + 1)):
        return "*"

    def name(v: int) -> str:
        return names[v] if names else str(v)

    if names is None and len(nums) > 2:
        step = nums[1] - nums[0]
        progression = all(b - a == step for a, b in itertools.pairwise(nums))
        if progression and nums[-1] + step > last:
            return f"{nums[0]}/{step}"
    parts: list[str] = []
    run_start = prev = nums[0]
    for v in [*nums[1:], None]:
        if v is not None and v == prev + 1:
            prev = v
            continue
        parts.append(name(run_start) if run_start == prev else f"{name(run_start)}-{name(prev)}")
        if v is not None:
            run_start = prev = v
    return ",".join(parts)


def to_aws_cron(expr: str) -> str:
    """`0 3 * * 0` -> `cron(0 3 ? * SUN *)`."""
    fields, nth_weekday = _expand(expr)
    minute, hour, dom, month = (_render(fields[i], *FIELD_RANGES[i]) if fields[i] != ["l"] else "L" for i in range(4))
    if nth_weekday:
        if len(fields[4]) != 1 or len(next(iter(nth_weekday.values()))) != 1:
            raise CronError(f"{expr!r}: AWS allows one day-of-week#n at a time")
        day = int(fields[4][0])
        dow = f"{DAY_NAMES[day]}#{next(iter(nth_weekday[day]))}"
    else:
        dow = _render(fields[4], *FIELD_RANGES[4], names=DAY_NAMES)
    if dom != "*" and dow != "*":
        raise CronError(
            f"{expr!r} restricts both day-of-month and day-of-week; AWS cannot express that (use one, "
            "with * in the other)"
        )
    if dow == "*":
        dow = "?"
    else:
        dom = "?"
    return f"cron({minute} {hour} {dom} {month} {dow} *)"


def next_run(expr: str, timezone: str, after: datetime) -> datetime:
    """The first time strictly after `after` at which the schedule fires, in UTC.

    The cron is read in local wall time. A wall time skipped by a DST jump (02:30 on the spring-forward
    day) fires at the same offset after the jump (03:30), as cron and AWS do; a wall time that occurs
    twice (01:30 on the fall-back day) fires once, at its first occurrence.
    """
    zone = parse_timezone(timezone)
    _expand(expr)
    if after.tzinfo is None:
        raise ValueError("after must be timezone-aware")
    # Iterate in naive wall time so croniter never reasons about offsets; start a little early so a wall
    # time that a spring-forward jump moved past `after` is still seen.
    it = croniter(expr, after.astimezone(zone).replace(tzinfo=None) - timedelta(hours=3))
    for _ in range(100_000):
        wall: datetime = it.get_next(datetime)
        candidate = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
        if candidate > after:
            return candidate
    raise CronError(f"{expr!r} does not fire in the foreseeable future")  # pragma: no cover
