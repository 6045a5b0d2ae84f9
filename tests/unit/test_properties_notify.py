"""Property tests: notification batching (digest folding under the rate limit), the sliding window, message
trimming for Slack, and the run names derived from run-now values."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from sreops.bots.notify.slack_blocks import ELLIPSIS, clip, escape, mrkdwn, slack_len
from sreops.operator.api.common import Targets
from sreops.operator.notify.plan import DIGEST_EVENTS, MAX_DIGEST_LINES, RateLimiter, batch, digest_lines
from sreops.operator.notify.transitions import Occurrence
from sreops.operator.runs.plan import MAX_IDS_PER_COMMAND, command_parts, run_now_name

DNS_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


def _occurrences(n: int, updates: int) -> list[Occurrence]:
    events = [Occurrence("RunFailed", f"k{i}", "PatchRun", "ns", f"run-{i}", f"u{i}") for i in range(n)]
    events += [Occurrence("RunProgress", f"p{i}", "PatchRun", "ns", f"run-{i}", f"u{i}") for i in range(updates)]
    return events


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 600), st.integers(0, 5), st.integers(1, 60), st.integers(0, 60))
def test_batch_drops_nothing_and_stays_within_the_limit(n: int, updates: int, per_minute: int, used: int) -> None:
    limiter = RateLimiter(per_minute)
    for _ in range(min(used, per_minute)):
        limiter.take(0.0)
    free = limiter.available(1.0)
    pending = _occurrences(n, updates)
    out = batch(pending, limiter, 1.0)
    sent = out.single + [o for d in out.digests for o in d]
    messages = len(out.single) + len(out.digests)
    assert messages <= max(free, 0)
    assert len(sent) == len({o.key for o in sent})  # nothing twice
    assert all(1 <= len(d) <= DIGEST_EVENTS for d in out.digests)
    assert [o.type for o in out.updates] == ["RunProgress"] * updates
    if free > 0 and n <= free + (DIGEST_EVENTS - 1) * free:
        assert len(sent) == n  # whatever fits goes now; the rest waits (never dropped: it stays pending)
    # What is sent is a prefix of the pending messages, in order: the rest waits for the next slot.
    assert [o.key for o in sent] == [o.key for o in pending if o.type != "RunProgress"][: len(sent)]


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 30), st.lists(st.floats(0, 5), min_size=1, max_size=200))
def test_rate_limiter_never_allows_more_than_per_minute_in_any_60s(per_minute: int, gaps: list[float]) -> None:
    limiter, now, sent = RateLimiter(per_minute), 0.0, []
    for gap in gaps:
        now = max(now + gap, limiter.next_free(now + gap))
        if limiter.available(now) <= 0:
            now = limiter.next_free(now)
        limiter.take(now)
        sent.append(now)
    for i, t in enumerate(sent):
        assert sum(1 for u in sent[i:] if u < t + 60.0) <= per_minute  # the window as the limiter sums it


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 100))
def test_digest_lines_are_bounded_and_count_the_rest(n: int) -> None:
    lines = digest_lines(_occurrences(n, 0))
    assert len(lines) == min(n, MAX_DIGEST_LINES) + (1 if n > MAX_DIGEST_LINES else 0)
    if n > MAX_DIGEST_LINES:
        assert lines[-1] == f"and {n - MAX_DIGEST_LINES} more"


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400), st.integers(1, 300))
def test_clip_fits_slacks_utf16_limit_and_keeps_a_prefix(text: str, limit: int) -> None:
    out = clip(text, limit)
    assert slack_len(out) <= limit
    if slack_len(text) <= limit:
        assert out == text
    else:
        assert out.endswith(ELLIPSIS) and text.startswith(out[: -len(ELLIPSIS)])


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab&<> 😀"), max_size=300), st.integers(2, 200))
def test_mrkdwn_never_cuts_an_entity(text: str, limit: int) -> None:
    out = mrkdwn(text, limit)
    assert slack_len(out) <= limit
    body = out.removesuffix(ELLIPSIS)
    assert escape(text).startswith(body)
    amp = body.rfind("&")
    assert amp == -1 or ";" in body[amp:]


@settings(max_examples=200, deadline=None)
@given(
    st.from_regex(r"[a-z]([-a-z0-9]{0,60}[a-z0-9])?", fullmatch=True),
    st.uuids().map(str),
    st.text(min_size=1, max_size=80),
    st.text(min_size=1, max_size=80),
)
def test_run_now_names_are_valid_stable_and_distinct(policy: str, uid: str, a: str, b: str) -> None:
    name = run_now_name(policy, uid, a)
    assert len(name) <= 63 and DNS_NAME.match(name)
    assert run_now_name(policy, uid, a) == name  # the same value names the same run, also after a restart
    if a != b:
        assert run_now_name(policy, uid, b) != name


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(0, 16**17 - 1), max_size=400, unique=True),
    st.dictionaries(st.sampled_from(["Role", "Env", "Team"]), st.sampled_from(["web", "db"]), max_size=1),
)
def test_command_parts_cover_every_instance_once_in_chunks_of_50(ids: list[int], tags: dict[str, str]) -> None:
    if not ids and not tags:
        tags = {"Role": "web"}
    targets = Targets(tags=tags, instance_ids=[f"i-{n:017x}" for n in ids])
    parts = command_parts(targets)
    assert [p.number for p in parts] == list(range(1, len(parts) + 1)) and {p.count for p in parts} == {len(parts)}
    chunks = [dict(p.targets).get("InstanceIds", ()) for p in parts]
    assert all(len(c) <= MAX_IDS_PER_COMMAND for c in chunks)
    assert [i for c in chunks for i in c] == targets.instance_ids
    for p in parts:
        assert {k: v for k, v in p.targets if k != "InstanceIds"} == {f"tag:{k}": (v,) for k, v in tags.items()}


def test_a_slot_is_free_at_next_free() -> None:
    """A caller that waits until next_free finds a slot (this once failed by float rounding)."""
    limiter = RateLimiter(1)
    limiter.take(241.00906883659277)
    assert limiter.available(limiter.next_free(241.5)) == 1
