"""Property tests: standard cron -> AWS cron translation and next-run times across time zones and DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter
from hypothesis import given, settings
from hypothesis import strategies as st

from sreops.operator.api.schedule import DAY_NAMES, FIELD_RANGES, next_run, to_aws_cron

ZONES = ["UTC", "America/Los_Angeles", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "America/Santiago"]


def _field(first: int, last: int) -> st.SearchStrategy[str]:
    values = st.lists(st.integers(first, last), min_size=1, max_size=5, unique=True).map(
        lambda vs: ",".join(str(v) for v in sorted(vs))
    )
    ranges = st.tuples(st.integers(first, last), st.integers(first, last)).map(lambda ab: f"{min(ab)}-{max(ab)}")
    steps = st.tuples(st.integers(first, last), st.integers(1, max(1, (last - first) // 2))).map(
        lambda ab: f"{ab[0]}/{ab[1]}"
    )
    return st.one_of(st.just("*"), values, ranges, steps)


@st.composite
def crons(draw: st.DrawFn, max_dom: int = 31) -> str:
    minute, hour, month = (draw(_field(*FIELD_RANGES[i])) for i in (0, 1, 3))
    # AWS takes one of the two day fields only: restrict at most one.
    if draw(st.booleans()):
        dom, dow = draw(_field(FIELD_RANGES[2][0], max_dom)), "*"
    else:
        dom, dow = "*", draw(_field(*FIELD_RANGES[4]))
    return f"{minute} {hour} {dom} {month} {dow}"


def _aws_values(text: str, first: int, last: int) -> set[int]:
    """What one rendered AWS field selects (the forms to_aws_cron writes: *, ?, a/b, a-b, lists, day names)."""
    if text in ("*", "?"):
        return set(range(first, last + 1))
    for n, name in enumerate(DAY_NAMES):
        text = text.replace(name, str(n))
    if "/" in text:
        start, step = text.split("/")
        return set(range(int(start), last + 1, int(step)))
    out: set[int] = set()
    for part in text.split(","):
        a, _, b = part.partition("-")
        out |= set(range(int(a), int(b or a) + 1))
    return out


@settings(max_examples=120, deadline=None)
@given(crons())
def test_aws_form_selects_exactly_what_the_standard_form_selects(expr: str) -> None:
    aws = to_aws_cron(expr)
    assert aws.startswith("cron(") and aws.endswith(" *)")
    minute, hour, dom, month, dow, year = aws[5:-1].split()
    assert year == "*" and [dom, dow].count("?") == 1
    expanded, _ = croniter.expand(expr)
    for i, rendered in enumerate((minute, hour, dom, month, dow)):
        first, last = FIELD_RANGES[i]
        want = (
            set(range(first, last + 1))
            if expanded[i] == ["*"]
            else {int(v) % 7 if i == 4 else int(v) for v in expanded[i]}
        )
        assert _aws_values(rendered, first, last) == want, (expr, aws, i)


@settings(max_examples=60, deadline=None)
@given(
    crons(max_dom=28),  # a day that exists in every month: `31 2` never fires, and searching for it is slow
    st.sampled_from(ZONES),
    st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)),
)
def test_next_run_is_the_first_matching_time_after(expr: str, zone: str, after: datetime) -> None:
    found = next_run(expr, zone, after)
    assert found > after and found.tzinfo is not None and found.utcoffset() == timedelta(0)
    wall = found.astimezone(ZoneInfo(zone))
    expanded, _ = croniter.expand(expr)
    if expanded[0] != ["*"]:
        assert wall.minute in {int(v) for v in expanded[0]}  # a DST jump moves the hour, never the minute
    # Nothing fires in between: asking again from just before gives the same moment.
    just_before = max(after, found - timedelta(seconds=1))
    assert next_run(expr, zone, just_before) == found
