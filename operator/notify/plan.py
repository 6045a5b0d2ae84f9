"""What a Notifier sends next: its selected resources' events that the ledger has not settled, within its
rate limit, the excess folded into digests.

Pure functions over (spec, resource bodies, ledger, time); the delivery loop calls them and does the I/O.
A Notifier's first look marks every event that already exists as `baseline` instead of sending it: a new
Notifier reports what changes after it exists, not the history of every resource it selects.
"""

from __future__ import annotations

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


def due(spec: NotifierSpec, sources: Iterable[Mapping[str, Any]], ledger: Ledger) -> list[Occurrence]:
    """Every wanted event of the selected resources that the ledger has not settled (pending ones included:
    they may have been sent before a crash, and the sender checks before sending again)."""
    out = []
    for body in sources:
        if not selects(spec, body):
            continue
        out += [o for o in occurrences(body) if wanted(spec, o) and not ledger.settled(o.key)]
    return out


def all_keys(spec: NotifierSpec, sources: Iterable[Mapping[str, Any]]) -> list[str]:
    return [o.key for body in sources if selects(spec, body) for o in occurrences(body) if wanted(spec, o)]


@dataclass
class RateLimiter:
    """At most `per_minute` messages in any 60 s (a sliding window, by the caller's clock)."""

    per_minute: int
    sent: deque[float] = field(default_factory=deque)

    def _expire(self, now: float) -> None:
        while self.sent and now - self.sent[0] >= 60.0:
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
    """What to send now: single events, thread updates, and at most one digest of the rest."""

    single: list[Occurrence] = field(default_factory=list)
    updates: list[Occurrence] = field(default_factory=list)
    digest: list[Occurrence] = field(default_factory=list)


def batch(pending: list[Occurrence], limiter: RateLimiter, now: float) -> Batch:
    """All as single messages if the limit allows; if not, the free slots but one as singles and the last as
    one digest of all the rest. So a burst costs at most `per_minute` messages a minute and nothing is dropped;
    with no free slot, nothing goes now (call again at `limiter.next_free`)."""
    out = Batch(updates=[o for o in pending if o.type in UPDATES])
    messages = [o for o in pending if o.type not in UPDATES]
    free = limiter.available(now)
    if not messages or free <= 0:
        return out
    if len(messages) <= free:
        out.single = messages
    else:
        out.single, out.digest = messages[: free - 1], messages[free - 1 :]
    for _ in range(len(out.single) + (1 if out.digest else 0)):
        limiter.take(now)
    return out


def digest_lines(events: list[Occurrence]) -> list[str]:
    """One line per event (bounded, with "and N more"), for the digest message."""
    lines = [f"{o.type}: {o.kind} {o.namespace}/{o.name}" for o in events[:MAX_DIGEST_LINES]]
    if len(events) > MAX_DIGEST_LINES:
        lines.append(f"and {len(events) - MAX_DIGEST_LINES} more")
    return lines
