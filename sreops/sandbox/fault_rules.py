"""The fault-spec grammar shared by the Kubernetes, chat and process fault controls (the AWS stand-in's
`aws/faults.py` has the same shape with AWS scopes).

A spec is comma-separated `SCOPE=ACTION[+ACTION...]` rules. SCOPE is `left:right` (what each control
matches it against is its own: `verb:resource` for Kubernetes, `slack:method` for Slack...). ACTION is
`kind[:DUR][:P|:Nx]`: a duration for the kinds that take one (`latency:200ms`), then a probability in
[0, 1] (default 1) or `Nx`, "the next N matching requests only".
"""

from __future__ import annotations

import random
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s)$")


class FaultSpecError(ValueError):
    """A spec that cannot be read; the message names the rule and what is wrong with it."""


@dataclass
class FaultRule:
    left: str
    right: str
    kind: str
    probability: float = 1.0
    remaining: int | None = None
    duration_s: float = 0.0

    def describe(self) -> str:
        arg = f":{round(self.duration_s * 1000)}ms" if self.duration_s else ""
        if self.remaining is not None:
            arg += f":{self.remaining}x"
        elif self.probability != 1.0:
            arg += f":{self.probability}"
        return f"{self.left}:{self.right}={self.kind}{arg}"


def parse_duration(text: str, where: str) -> float:
    m = _DURATION.match(text)
    if not m:
        raise FaultSpecError(f"{where}: bad duration {text!r} (want e.g. 200ms or 1.5s)")
    return float(m.group(1)) / (1000 if m.group(2) == "ms" else 1)


class Chance(Protocol):
    """What a chance argument sets: a count (`3x`) or a probability (`0.1`)."""

    probability: float
    remaining: int | None


def parse_chance(text: str, rule: Chance, where: str) -> None:
    if text.endswith("x"):
        try:
            rule.remaining = int(text[:-1])
        except ValueError:
            raise FaultSpecError(f"{where}: bad count {text!r} (want e.g. 3x)") from None
        if rule.remaining < 0:
            raise FaultSpecError(f"{where}: count must be >= 0")
        return
    try:
        rule.probability = float(text)
    except ValueError:
        raise FaultSpecError(f"{where}: bad probability {text!r} (want 0..1 or Nx)") from None
    if not 0 <= rule.probability <= 1:
        raise FaultSpecError(f"{where}: probability {text} is not in [0, 1]")


def parse(
    spec: str,
    kinds: Iterable[str],
    timed: Iterable[str] = (),
    check_scope: Callable[[str, str], str | None] | None = None,
) -> list[FaultRule]:
    """The rules of `spec`. `kinds` are the allowed actions, `timed` those that need a duration;
    `check_scope(left, right)` returns why a scope is wrong, or None."""
    allowed, needs_time = tuple(kinds), set(timed)
    rules: list[FaultRule] = []
    for raw in (r.strip() for r in spec.split(",")):
        if not raw:
            continue
        where = repr(raw)
        if "=" not in raw:
            raise FaultSpecError(f"{where}: expected SCOPE=ACTION")
        scope, actions = raw.split("=", 1)
        left, sep, right = scope.partition(":")
        if not sep or not left or not right:
            raise FaultSpecError(f"{where}: scope must be two parts, like {scope or 'a'}:b")
        if check_scope is not None and (problem := check_scope(left, right)) is not None:
            raise FaultSpecError(f"{where}: {problem}")
        for action in actions.split("+"):
            kind, *args = action.split(":")
            if kind not in allowed:
                raise FaultSpecError(f"{where}: unknown action {kind!r} (one of {', '.join(allowed)})")
            rule = FaultRule(left, right, kind)
            if kind in needs_time:
                if not args:
                    raise FaultSpecError(f"{where}: {kind} needs a duration, e.g. {kind}:200ms")
                rule.duration_s = parse_duration(args[0], where)
                args = args[1:]
            if len(args) > 1:
                raise FaultSpecError(f"{where}: too many arguments")
            if args:
                parse_chance(args[0], rule, where)
            rules.append(rule)
    return rules


class RuleSet:
    """Rules in force, changed at run time; `draw` decides, thread-safely and seeded, which apply."""

    def __init__(self, rules: list[FaultRule], seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)  # noqa: S311 - simulation, not security
        self.rules = rules
        self.injected: Counter[str] = Counter()

    def replace(self, rules: list[FaultRule]) -> None:
        with self._lock:
            self.rules = rules

    @property
    def spec(self) -> str:
        with self._lock:
            return ",".join(r.describe() for r in self.rules)

    def draw(self, matches: Callable[[FaultRule], bool], kinds: Iterable[str] | None = None) -> list[FaultRule]:
        """The matching rules that fire this time (counts and probabilities applied), each counted."""
        wanted = None if kinds is None else set(kinds)
        fired: list[FaultRule] = []
        with self._lock:
            for rule in self.rules:
                if (wanted is not None and rule.kind not in wanted) or not matches(rule):
                    continue
                if rule.remaining is not None:
                    if rule.remaining <= 0:
                        continue
                    rule.remaining -= 1
                elif rule.probability < 1 and self._rng.random() >= rule.probability:
                    continue
                fired.append(rule)
                self.injected[rule.kind] += 1
        return fired

    def state(self) -> dict[str, object]:
        """What the control endpoints answer: the spec in force and what was injected so far, by kind."""
        with self._lock:
            return {"spec": ",".join(r.describe() for r in self.rules), "injected": dict(self.injected)}
