"""What a Notifier sends next: its selected resources' events that the ledger has not settled, within its
rate limit, the excess folded into digests.

Pure functions over (spec, resource bodies, ledger, time); the delivery loop calls them and does the I/O.
A Notifier's first look marks every event that already exists as `baseline` instead of sending it: a new
Notifier reports what changes after it exists, not the history of every resource it selects. Changing what it
selects (kinds, labels, events, minSeverity) takes a baseline again, of what it did not know yet: widening a
selector does not replay the history of everything it now takes in.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sreops.operator.api.notifier import NotifierSpec
from sreops.operator.notify.ledger import Ledger
from sreops.operator.notify.transitions import Occurrence, occurrences, selects, wanted

# Events that edit a run's Slack thread in place rather than posting: not limited, never digested.
UPDATES = frozenset({"RunProgress"})
MAX_DIGEST_LINES = 20
# Events one digest names (every one of them shown: the Slack and Teams builders list 25 whole).
DIGEST_EVENTS = 25


def due(
    spec: NotifierSpec, sources: Iterable[Mapping[str, Any]], ledger: Ledger, now: float | None = None
) -> list[Occurrence]:
    """Every wanted event of the selected resources that the ledger has not settled (pending ones included:
    they may have been sent before a crash, and the sender checks before sending again), except those backing
    off after a failed attempt."""
    clock = time.time() if now is None else now
    out = []
    for body in sources:
        if not selects(spec, body):
            continue
        out += [
            o
            for o in occurrences(body)
            if wanted(spec, o) and not ledger.settled(o.key) and not ledger.waiting_to_retry(o.key, clock)
        ]
    return out


def selection(spec: NotifierSpec) -> str:
    """A fingerprint of what the Notifier selects and wants (not where it sends nor how fast)."""
    wants = {
        "kinds": sorted(spec.selector.kinds),
        "matchLabels": dict(sorted(spec.selector.match_labels.items())),
        "events": sorted(spec.events) if spec.events is not None else None,
        "minSeverity": spec.min_severity,
    }
    return hashlib.sha256(json.dumps(wants, sort_keys=True).encode()).hexdigest()[:16]


def all_keys(spec: NotifierSpec, sources: Iterable[Mapping[str, Any]]) -> list[str]:
    return [o.key for body in sources if selects(spec, body) for o in occurrences(body) if wanted(spec, o)]


@dataclass
class RateLimiter:
    """At most `per_minute` messages in any 60 s (a sliding window, by the caller's clock)."""

    per_minute: int
    sent: deque[float] = field(default_factory=deque)

    def _expire(self, now: float) -> None:
        # The same sum as next_free: `now - sent >= 60` can round the other way at exactly that moment.
        while self.sent and now >= self.sent[0] + 60.0:
            self.sent.popleft()

    def available(self, now: float) -> int:
        self._expire(now)
        return self.per_minute - len(self.sent)

    def take(self, now: float) -> None:
        self.sent.append(now)

    def next_free(self, now: float) -> float:
        """When the next message may go (now, if one may)."""
        self._expire(now)
        return now if len(self.sent) < self.per_minute else self.sent[0] + 60.0


@dataclass
class Batch:
    """What to send now: single events, thread updates, and digests of the rest."""

    single: list[Occurrence] = field(default_factory=list)
    updates: list[Occurrence] = field(default_factory=list)
    digests: list[list[Occurrence]] = field(default_factory=list)


def batch(pending: list[Occurrence], limiter: RateLimiter, now: float) -> Batch:
    """All as single messages if the limit allows. If not, as many singles as leave room for enough digests
    (each naming up to DIGEST_EVENTS events, all of them visible) to hold the rest: s + d slots with
    s + DIGEST_EVENTS * d >= pending. What still does not fit waits for the next free slot; nothing is dropped.
    A burst of 500 with 20 a minute: 20 digests of 25, at once."""
    out = Batch(updates=[o for o in pending if o.type in UPDATES])
    messages = [o for o in pending if o.type not in UPDATES]
    free = limiter.available(now)
    if not messages or free <= 0:
        return out
    if len(messages) <= free:
        out.single = messages
    else:
        digests = min(free, -(-(len(messages) - free) // (DIGEST_EVENTS - 1)))
        singles = free - digests
        out.single = messages[:singles]
        rest = messages[singles:]
        out.digests = [rest[i : i + DIGEST_EVENTS] for i in range(0, len(rest), DIGEST_EVENTS)][:digests]
    for _ in range(len(out.single) + len(out.digests)):
        limiter.take(now)
    return out


def digest_lines(events: list[Occurrence]) -> list[str]:
    """One line per event (bounded, with "and N more"), for the digest message."""
    lines = [f"{o.type}: {o.kind} {o.namespace}/{o.name}" for o in events[:MAX_DIGEST_LINES]]
    if len(events) > MAX_DIGEST_LINES:
        lines.append(f"and {len(events) - MAX_DIGEST_LINES} more")
    return lines
