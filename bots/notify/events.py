"""What a notification says, as plain data: an :class:`Event` filled by the caller from a resource's status.

The message builders (:mod:`.slack_blocks`, :mod:`.teams_cards`) turn one Event into a Slack message or a
Teams card; they trim every field and list to what the chat service allows, so an Event may carry any
number of facts and items and texts of any length. Nothing here does I/O.

The caller (the operator's delivery) decides which status transition is which event and gives the key
(deterministic: resource uid + transition + run/sweep/generation); the builders put the key into the
message (a Slack ``block_id`` marker and message metadata) so a sender can find a message again after a
crash.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

EventType = Literal[
    "RunStarted",
    "RunProgress",
    "RunSucceeded",
    "RunFailed",
    "ComplianceChanged",
    "NewFindings",
    "ThresholdExceeded",
    "FindingsResolved",
    "SuppressionExpired",
    "InvalidSpec",
    "AccountAccessLost",
    "NotReady",
    "Digest",
    "Test",
]
EVENT_TYPES: tuple[EventType, ...] = get_args(EventType)

ActionName = Literal["pause", "resume", "run-now"]
ACTION_NAMES: tuple[ActionName, ...] = get_args(ActionName)

# Inspector's severities, most severe first (UNTRIAGED: Inspector has not rated it yet).
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNTRIAGED")

# What the items of an event are, by type (Event.items_title overrides it).
ITEMS_TITLES: Mapping[str, str] = {
    "RunStarted": "Instances",
    "RunProgress": "Failing instances",
    "RunSucceeded": "Instances",
    "RunFailed": "Failed instances",
    "ComplianceChanged": "Non-compliant instances",
    "NewFindings": "Top new findings",
    "ThresholdExceeded": "Top findings",
    "FindingsResolved": "Resolved findings",
    "SuppressionExpired": "Expired suppressions",
    "InvalidSpec": "Problems",
    "AccountAccessLost": "Details",
    "NotReady": "Details",
    "Digest": "Events",
    "Test": "Details",
}


@dataclass(frozen=True)
class Item:
    """One line of a list: a failing instance (``i-0abc…``, SSM's detail) or a finding (CVE, resource)."""

    label: str
    detail: str = ""


@dataclass(frozen=True)
class Action:
    """A button acting on a PatchPolicy: ``pause`` (suspend), ``resume``, ``run-now``.

    ``namespace`` defaults to the event's namespace (a PatchRun's policy lives next to it).
    """

    action: ActionName
    policy: str
    namespace: str | None = None

    def __post_init__(self) -> None:
        if self.action not in ACTION_NAMES:
            raise ValueError(f"unknown action {self.action!r}: expected one of {', '.join(ACTION_NAMES)}")
        if not self.policy:
            raise ValueError("an action names the PatchPolicy it acts on")


@dataclass(frozen=True)
class Event:
    """One notification. Lists may be given as lists; they are kept as tuples (the Event is hashable).

    - ``title``: one line (whitespace is collapsed by the builders); ``summary``: a sentence or two.
    - ``facts``: ordered (label, value) pairs: account, region, policy, operation, trigger, ...
    - ``counts``: ordered (label, number) pairs: total, succeeded, failed, critical, high, ...
    - ``items``: the top failing instances or top findings, any number (the builders show the first
      few and say "and N more"); ``items_title`` names them (default: by type, see ITEMS_TITLES).
    - ``kubectl``: the command to see more (see :func:`kubectl_get`).
    - ``actions``: which buttons the Slack message carries.
    - ``time``: RFC 3339, when it happened (from status, not the clock of the sender).
    """

    type: EventType
    key: str
    kind: str
    namespace: str
    name: str
    title: str
    summary: str
    time: str
    severity: str | None = None
    facts: Sequence[tuple[str, str]] = ()
    counts: Sequence[tuple[str, int]] = ()
    items: Sequence[Item] = ()
    kubectl: str = ""
    actions: Sequence[Action] = ()
    url: str | None = None
    items_title: str | None = None
    # Digest only: how many events the digest stands for in all (may exceed len(items)).
    total: int | None = None

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {self.type!r}")
        if not self.key:
            raise ValueError("an event needs a key")
        parse_time(self.time)  # raises ValueError if it is not RFC 3339
        object.__setattr__(self, "facts", tuple((str(k), str(v)) for k, v in self.facts))
        object.__setattr__(self, "counts", tuple((str(k), int(v)) for k, v in self.counts))
        object.__setattr__(self, "items", tuple(self.items))
        object.__setattr__(self, "actions", tuple(self.actions))
        if self.severity is not None:
            object.__setattr__(self, "severity", self.severity.upper())

    @property
    def resource(self) -> str:
        """``namespace/name`` (or what of it there is)."""
        return "/".join(part for part in (self.namespace, self.name) if part)

    @property
    def list_title(self) -> str:
        return self.items_title or ITEMS_TITLES.get(self.type, "Details")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (camelCase keys), for keeping an event in the cluster until it is sent."""
        out: dict[str, Any] = {
            "type": self.type,
            "key": self.key,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "title": self.title,
            "summary": self.summary,
            "time": self.time,
            "facts": [[k, v] for k, v in self.facts],
            "counts": [[k, n] for k, n in self.counts],
            "items": [{"label": i.label, "detail": i.detail} for i in self.items],
            "kubectl": self.kubectl,
            "actions": [
                {"action": a.action, "policy": a.policy, **({"namespace": a.namespace} if a.namespace else {})}
                for a in self.actions
            ],
        }
        for name, value in (
            ("severity", self.severity),
            ("url", self.url),
            ("itemsTitle", self.items_title),
            ("total", self.total),
        ):
            if value is not None:
                out[name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        return cls(
            type=data["type"],
            key=data["key"],
            kind=data.get("kind", ""),
            namespace=data.get("namespace", ""),
            name=data.get("name", ""),
            title=data.get("title", ""),
            summary=data.get("summary", ""),
            time=data["time"],
            severity=data.get("severity"),
            facts=[(str(k), str(v)) for k, v in data.get("facts", [])],
            counts=[(str(k), int(n)) for k, n in data.get("counts", [])],
            items=[Item(str(i.get("label", "")), str(i.get("detail", ""))) for i in data.get("items", [])],
            kubectl=data.get("kubectl", ""),
            actions=[Action(a["action"], a["policy"], a.get("namespace")) for a in data.get("actions", [])],
            url=data.get("url"),
            items_title=data.get("itemsTitle"),
            total=data.get("total"),
        )


_RFC3339_NO_ZONE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?$")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def parse_time(value: str) -> datetime:
    """An RFC 3339 timestamp (``Z`` or an offset; fractions allowed) as an aware datetime in UTC."""
    if not isinstance(value, str) or not _RFC3339.match(value):
        if isinstance(value, str) and _RFC3339_NO_ZONE.match(value):
            raise ValueError(f"an RFC 3339 time needs Z or an offset: {value!r}")
        raise ValueError(f"not an RFC 3339 time: {value!r}")
    try:
        moment = datetime.fromisoformat(value.upper())
    except ValueError:
        raise ValueError(f"not an RFC 3339 time: {value!r}") from None
    return moment.astimezone(UTC)


def kubectl_get(kind: str, namespace: str, name: str, *, output: str = "yaml") -> str:
    """``kubectl -n prod get patchrun web-fleet-x7k2 -o yaml`` (each part shell-quoted)."""
    parts = ["kubectl"]
    if namespace:
        parts += ["-n", namespace]
    parts += ["get", kind.lower(), name]
    if output:
        parts += ["-o", output]
    return " ".join(shlex.quote(p) for p in parts)


def digest_event(
    events: Sequence[Event],
    *,
    total_dropped: int = 0,
    key: str | None = None,
    time: str | None = None,
) -> Event:
    """One Digest event standing for ``events`` plus ``total_dropped`` more that were not even kept.

    The key defaults to a hash of the events' keys (deterministic for the same events in any order); the
    time to the newest event's. Items are ``Type namespace/name: title`` in the given order; counts are
    by event type, most frequent first.
    """
    if total_dropped < 0:
        raise ValueError("total_dropped cannot be negative")
    if not events and not total_dropped:
        raise ValueError("a digest needs at least one event")
    total = len(events) + total_dropped
    if key is None:
        digest = hashlib.sha256("\n".join(sorted(e.key for e in events)).encode()).hexdigest()[:24]
        key = f"digest/{digest}/{total}"
    if time is None:
        if events:
            time = max(events, key=lambda e: parse_time(e.time)).time
        else:
            time = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    namespaces = {e.namespace for e in events}
    kinds = {e.kind for e in events}
    namespace = namespaces.pop() if len(namespaces) == 1 else ""
    by_type = Counter(e.type for e in events)
    counts: list[tuple[str, int]] = list(by_type.most_common())
    if total_dropped:
        counts.append(("not kept", total_dropped))
    where = f" in {namespace}" if namespace else ""
    noun = "event" if total == 1 else "events"
    return Event(
        type="Digest",
        key=key,
        kind=kinds.pop() if len(kinds) == 1 else "",
        namespace=namespace,
        name="",
        title=f"{total:,} more {noun}{where}",
        summary=(
            f"More events than the notifier's rate limit allows: these {total} {noun} are folded into one message."
        ),
        time=time,
        counts=counts,
        items=[Item(f"{e.type} {e.kind} {e.resource}".strip(), one_line(e.title)) for e in events],
        kubectl=f"kubectl -n {shlex.quote(namespace)} get sreops" if namespace else "kubectl get sreops -A",
        total=total,
    )


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines too) as one space."""
    return " ".join(text.split())


__all__ = [
    "ACTION_NAMES",
    "EVENT_TYPES",
    "ITEMS_TITLES",
    "SEVERITIES",
    "Action",
    "ActionName",
    "Event",
    "EventType",
    "Item",
    "digest_event",
    "kubectl_get",
    "one_line",
    "parse_time",
]
