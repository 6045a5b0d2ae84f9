"""Which Inspector resource types a ScanSchedule turns on, keeps, and may turn off, in one account x region.

sreops never disables what it did not enable. A schedule remembers, per account x region, the types it found
off and enabled (`enabledBySreops`) and those that were already on (`alreadyEnabled`). A type already on
that another ScanSchedule enabled is shared: each schedule that wants it records it as enabled by sreops,
so it stays on while any of them wants it and goes off with the last one (on delete, or when the last one
drops it from `resourceTypes`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sreops.operator.aws.inspector import ON

ENABLED = "ENABLED"


@dataclass(frozen=True)
class Peer:
    """Another ScanSchedule's record for the same account x region (from the enablement index)."""

    uid: str
    wanted: frozenset[str]
    enabled_by_sreops: frozenset[str]


@dataclass
class Plan:
    enable: list[str] = field(default_factory=list)  # off now: sreops turns them on
    disable: list[str] = field(default_factory=list)  # sreops turned them on, and nobody wants them any more
    enabled_by_sreops: list[str] = field(default_factory=list)
    already_enabled: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # on their way to ENABLED


def plan(
    wanted: Iterable[str],
    states: dict[str, str],
    claimed_before: Iterable[str],
    peers: Iterable[Peer],
) -> Plan:
    wanted = list(wanted)
    claimed = set(claimed_before)
    peers = list(peers)
    claimed_by_peers = {t for p in peers for t in p.enabled_by_sreops}
    wanted_by_peers = {t for p in peers for t in p.wanted}
    out = Plan()
    for t in wanted:
        state = states.get(t, "DISABLED")
        if state not in ON:
            out.enable.append(t)
            out.enabled_by_sreops.append(t)
            out.pending.append(t)
            continue
        if state != ENABLED:
            out.pending.append(t)
        if t in claimed or t in claimed_by_peers:
            out.enabled_by_sreops.append(t)
        else:
            out.already_enabled.append(t)
    for t in sorted(claimed - set(wanted)):
        if t not in wanted_by_peers and states.get(t, "DISABLED") in ON:
            out.disable.append(t)
    return out


def to_release(claimed: Iterable[str], states: dict[str, str], peers: Iterable[Peer]) -> list[str]:
    """On delete: the types this schedule enabled that no other schedule wants, and that are still on."""
    wanted_by_peers = {t for p in peers for t in p.wanted}
    return sorted(t for t in set(claimed) if t not in wanted_by_peers and states.get(t, "DISABLED") in ON)
