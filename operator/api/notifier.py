"""Notifier: where status changes go (Slack, Microsoft Teams)."""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar

from pydantic import AfterValidator, Field, model_validator

from sreops.operator.api.common import Model, SecretKeyRef
from sreops.operator.api.scanschedule import SeverityLevel
from sreops.operator.api.status import BaseStatus

ReportedKind = Literal["AWSAccount", "PatchPolicy", "PatchRun", "ScanSchedule"]
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
]
EVENT_TYPES: tuple[EventType, ...] = EventType.__args__  # type: ignore[attr-defined]
CHANNEL_PATTERN = r"^#?[a-z0-9][a-z0-9._-]*$|^[CGD][A-Z0-9]{8,}$"


T = TypeVar("T")


def _no_duplicates(values: list[T]) -> list[T]:
    if len(set(values)) != len(values):
        raise ValueError("duplicate value")
    return values


def _default_kinds() -> list[ReportedKind]:
    return ["PatchPolicy", "PatchRun", "ScanSchedule"]


class SlackTarget(Model):
    channel: Annotated[str, Field(min_length=1, max_length=80, pattern=CHANNEL_PATTERN)]
    token_secret_ref: SecretKeyRef


class TeamsTarget(Model):
    webhook_secret_ref: SecretKeyRef


class Selector(Model):
    kinds: Annotated[list[ReportedKind], AfterValidator(_no_duplicates)] = Field(default_factory=_default_kinds)
    match_labels: dict[str, Annotated[str, Field(max_length=63)]] = Field(default_factory=dict)


class RateLimit(Model):
    per_minute: Annotated[int, Field(ge=1, le=60)] = 20


class NotifierSpec(Model):
    slack: SlackTarget | None = None
    teams: TeamsTarget | None = None
    selector: Selector = Field(default_factory=Selector)
    events: Annotated[list[EventType], AfterValidator(_no_duplicates)] | None = None
    min_severity: SeverityLevel = "HIGH"
    rate_limit: RateLimit = Field(default_factory=RateLimit)

    @model_validator(mode="after")
    def _a_destination(self) -> NotifierSpec:
        if self.slack is None and self.teams is None:
            raise ValueError("at least one of slack or teams is required")
        return self


class NotifierStatus(BaseStatus):
    sent: int = 0
    failed: int = 0
    last_sent_time: str | None = None
