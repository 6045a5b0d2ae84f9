"""A ScanSchedule's suppressions at the time of a sweep: which findings they hide and which have expired.

A suppression with `expires: 2027-01-01` hides its findings until 2027-01-01T00:00:00Z (AWS's clock); from
then on they count again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from sreops.operator.api.scanschedule import MAX_RESOURCE, ExpiredSuppression, Suppression, clip


def _expired(s: Suppression) -> ExpiredSuppression:
    resource = clip(s.resource, MAX_RESOURCE) if s.resource else None
    return ExpiredSuppression(vulnerability_id=s.vulnerability_id, resource=resource, expires=str(s.expires))


def expiry(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


@dataclass(frozen=True)
class ActiveSuppressions:
    # vulnerability id → resources it is suppressed on (None: everywhere)
    by_vulnerability: dict[str, frozenset[str | None]] = field(default_factory=dict)

    def hides(self, vulnerability_id: str, resource: str) -> bool:
        where = self.by_vulnerability.get(vulnerability_id)
        return where is not None and (None in where or resource in where)


def at(suppressions: Sequence[Suppression], when: datetime) -> tuple[ActiveSuppressions, list[ExpiredSuppression]]:
    """The suppressions in force at `when`, and those expired by then (in spec order)."""
    active: dict[str, set[str | None]] = {}
    expired: list[ExpiredSuppression] = []
    for s in suppressions:
        if s.expires is not None and when >= expiry(s.expires):
            expired.append(_expired(s))
            continue
        active.setdefault(s.vulnerability_id, set()).add(s.resource)
    return ActiveSuppressions({k: frozenset(v) for k, v in active.items()}), expired


def newly_expired(
    suppressions: Sequence[Suppression], previous: datetime | None, now: datetime
) -> list[ExpiredSuppression]:
    """Suppressions that expired after the previous sweep and by this one: each is reported once."""
    out = []
    for s in suppressions:
        if s.expires is None:
            continue
        ends = expiry(s.expires)
        if ends <= now and (previous is None or ends > previous):
            out.append(_expired(s))
    return out
