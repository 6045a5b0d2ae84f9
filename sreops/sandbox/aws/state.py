"""Everything the sandbox owns, behind one lock: the fleet, the SSM objects moto lacks, call counts."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .clock import SimClock
from .fleet import Fleet
from .scenario import Scenario

if TYPE_CHECKING:
    from .commands import Command
    from .maintenance import Window, WindowExecution


@dataclass
class Ctx:
    """Who is calling and where: resolved from the request's SigV4 credential scope."""

    account: str
    region: str
    now: float


@dataclass
class RegionSsm:
    baselines: dict[str, dict[str, Any]] = field(default_factory=dict)
    patch_groups: dict[str, dict[str, str]] = field(default_factory=dict)  # group → OS → baseline id
    windows: dict[str, Window] = field(default_factory=dict)
    executions: dict[str, WindowExecution] = field(default_factory=dict)
    tags: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    commands: dict[str, Command] = field(default_factory=dict)


class World:
    def __init__(self, scenario: Scenario, clock: SimClock) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.scenario = scenario
        self.fleet = Fleet(scenario, clock.now())
        self.ssm: dict[tuple[str, str], RegionSsm] = {}
        # inspector2 enablement: (account, region) → resource type → (status, since)
        self.inspector: dict[tuple[str, str], dict[str, tuple[str, float]]] = {}
        for acct in scenario.accounts:
            for region in acct.regions:
                self.inspector[(acct.id, region)] = {t: ("ENABLED", 0.0) for t in acct.inspector_enabled}
        # when the members were associated with the Inspector delegated administrator (Member.updatedAt)
        self.members_since = clock.now() - 30 * 86400.0
        self.calls: Counter[tuple[str, str]] = Counter()
        self.active_commands: set[tuple[str, str, str]] = set()

    def region(self, ctx: Ctx) -> RegionSsm:
        key = (ctx.account, ctx.region)
        rs = self.ssm.get(key)
        if rs is None:
            rs = self.ssm[key] = RegionSsm()
        return rs

    def settle(self, now: float) -> None:
        """Let simulated time catch up: windows fire, commands progress and change the fleet."""
        # Imported here: both modules import World from this one.
        from .commands import settle_commands  # noqa: PLC0415
        from .maintenance import fire_windows  # noqa: PLC0415

        fire_windows(self, now)
        settle_commands(self, now)
