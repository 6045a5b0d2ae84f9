"""Fault injection, set at start from a spec string and changed at run time through the admin API.

Spec: comma-separated `SCOPE=ACTION[+ACTION...]` rules.

  SCOPE   service:Operation   e.g. ssm:SendCommand, ssm:*, *:* (service is the SigV4 signing name)
          region:NAME         every call signed for that region
          account:ID          every call made with that account's credentials (also AssumeRole into it)
  ACTION  throttle[:P]        the service's throttling error (ssm ThrottlingException 400, inspector2
                              ThrottlingException 429, sts Throttling 400, ec2 RequestLimitExceeded 503)
          error500[:P]        the service's 500 (InternalServerError / InternalServerException / ...)
          error503[:P]        503 ServiceUnavailable
          latency:DUR[:P]     added delay before answering, DUR like 200ms or 1.5s
          down                the connection is reset before any answer (botocore: ConnectionClosedError)
          quota:RATE          a request rate quota: RATE requests/s per account and region over the matching
                              calls (a token bucket holding one second's worth, refilled continuously, as AWS
                              meters its API rate limits); a call finding the bucket empty gets the throttling
                              error. Takes no P.

  P is a probability in [0, 1] (default 1), or `Nx` for "the next N matching calls only".

Example: `ssm:SendCommand=throttle:0.3,inspector2:*=latency:200ms,region:us-east-1=down`.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sreops.sandbox.fault_rules import FaultSpecError, parse_chance

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s)$")
KINDS = ("throttle", "error500", "error503", "latency", "down", "quota")


@dataclass
class Rule:
    scope: str  # "op", "region" or "account"
    service: str
    operation: str
    value: str  # region or account for those scopes
    kind: str
    probability: float = 1.0
    remaining: int | None = None
    latency_s: float = 0.0
    rate: float = 0.0  # quota: requests per second per (account, region)
    buckets: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)  # -> (tokens, at)

    def take(self, account: str, region: str, now: float) -> bool:
        """quota: whether a token was left for this call (and it is now spent)."""
        tokens, at = self.buckets.get((account, region), (self.rate, now))
        tokens = min(self.rate, tokens + (now - at) * self.rate)
        if tokens < 1:
            self.buckets[(account, region)] = (tokens, now)
            return False
        self.buckets[(account, region)] = (tokens - 1, now)
        return True

    def matches(self, service: str, operation: str, region: str, accounts: tuple[str, ...]) -> bool:
        if self.scope == "region":
            return region == self.value
        if self.scope == "account":
            return self.value in accounts
        return self.service in ("*", service) and self.operation in ("*", operation)

    def describe(self) -> str:
        scope = f"{self.scope}:{self.value}" if self.scope != "op" else f"{self.service}:{self.operation}"
        arg = ""
        if self.kind == "latency":
            arg = f":{int(self.latency_s * 1000)}ms"
        if self.kind == "quota":
            return f"{scope}=quota:{self.rate:g}"
        if self.remaining is not None:
            arg += f":{self.remaining}x"
        elif self.probability != 1.0:
            arg += f":{self.probability}"
        return f"{scope}={self.kind}{arg}"


def parse(spec: str) -> list[Rule]:
    rules: list[Rule] = []
    for raw in (r.strip() for r in spec.split(",")):
        if not raw:
            continue
        if "=" not in raw:
            raise FaultSpecError(f"{raw!r}: expected SCOPE=ACTION")
        scope_text, actions = raw.split("=", 1)
        if ":" not in scope_text:
            raise FaultSpecError(f"{raw!r}: scope must be service:Operation, region:NAME or account:ID")
        left, right = scope_text.split(":", 1)
        if not left or not right:
            raise FaultSpecError(f"{raw!r}: empty part in scope {scope_text!r}")
        for action in actions.split("+"):
            parts = action.split(":")
            kind = parts[0]
            if kind not in KINDS:
                raise FaultSpecError(f"{raw!r}: unknown action {kind!r} (one of {', '.join(KINDS)})")
            if left in ("region", "account"):
                rule = Rule(left, "*", "*", right, kind)
            else:
                rule = Rule("op", left, right, "", kind)
            args = parts[1:]
            if kind == "latency":
                if not args:
                    raise FaultSpecError(f"{raw!r}: latency needs a duration, e.g. latency:200ms")
                m = _DURATION.match(args[0])
                if not m:
                    raise FaultSpecError(f"{raw!r}: bad duration {args[0]!r} (want e.g. 200ms or 1.5s)")
                rule.latency_s = float(m.group(1)) / (1000 if m.group(2) == "ms" else 1)
                args = args[1:]
            if kind == "down" and args:
                raise FaultSpecError(f"{raw!r}: down takes no argument")
            if kind == "quota":
                try:
                    rule.rate = float(args[0]) if len(args) == 1 else 0.0
                except ValueError:
                    rule.rate = 0.0
                if not rule.rate > 0:
                    raise FaultSpecError(f"{raw!r}: quota needs one rate in requests/s, e.g. quota:20")
                args = []
            if len(args) > 1:
                raise FaultSpecError(f"{raw!r}: too many arguments")
            if args:
                parse_chance(args[0], rule, repr(raw))
            rules.append(rule)
    return rules


@dataclass
class Decision:
    latency_s: float = 0.0
    error: str | None = None  # throttle | error500 | error503 | down


class Faults:
    def __init__(self, spec: str = "", seed: int = 0, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock  # quotas are real requests per real second, whatever the simulated clock does
        self._lock = threading.Lock()
        self._rng = random.Random(seed)  # noqa: S311 - simulation, not security
        self.rules: list[Rule] = parse(spec)
        self.injected = 0

    def set(self, spec: str) -> None:
        rules = parse(spec)
        with self._lock:
            self.rules = rules

    @property
    def spec(self) -> str:
        return ",".join(r.describe() for r in self.rules)

    def decide(self, service: str, operation: str, region: str, accounts: tuple[str, ...]) -> Decision:
        d = Decision()
        with self._lock:
            for r in self.rules:
                if not r.matches(service, operation, region, accounts):
                    continue
                if r.kind == "quota":
                    if not r.take(accounts[0] if accounts else "", region, self._clock()) and d.error is None:
                        d.error = "throttle"
                    continue
                if r.remaining is not None:
                    if r.remaining <= 0:
                        continue
                elif r.probability < 1 and self._rng.random() >= r.probability:
                    continue
                if r.kind == "latency":
                    d.latency_s += r.latency_s
                elif d.error is None:
                    d.error = r.kind
                else:
                    continue
                if r.remaining is not None:
                    r.remaining -= 1
            if d.error:
                self.injected += 1
        return d
