"""The sreops.io/v1alpha1 API: pydantic models of every kind's spec and status, with the CRDs' rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import ValidationError

from sreops.operator.api.awsaccount import AWSAccountSpec, AWSAccountStatus
from sreops.operator.api.common import API_VERSION, GROUP, VERSION, Model, SpecError, spec_errors
from sreops.operator.api.notifier import NotifierSpec, NotifierStatus
from sreops.operator.api.patchpolicy import PatchPolicySpec, PatchPolicyStatus
from sreops.operator.api.patchrun import PatchRunSpec, PatchRunStatus
from sreops.operator.api.scanschedule import ScanScheduleSpec, ScanScheduleStatus
from sreops.operator.api.status import BaseStatus


@dataclass(frozen=True)
class Kind:
    kind: str
    plural: str
    spec: type[Model]
    status: type[BaseStatus]


KINDS: dict[str, Kind] = {
    k.kind: k
    for k in (
        Kind("AWSAccount", "awsaccounts", AWSAccountSpec, AWSAccountStatus),
        Kind("PatchPolicy", "patchpolicies", PatchPolicySpec, PatchPolicyStatus),
        Kind("PatchRun", "patchruns", PatchRunSpec, PatchRunStatus),
        Kind("ScanSchedule", "scanschedules", ScanScheduleSpec, ScanScheduleStatus),
        Kind("Notifier", "notifiers", NotifierSpec, NotifierStatus),
    )
}


M = TypeVar("M", bound=Model)


def parse_spec(model: type[M], spec: dict[str, Any] | None) -> M:
    """Validates a spec; raises the first SpecError (field path + reason) if it is invalid."""
    try:
        return model.model_validate(spec or {})
    except ValidationError as exc:
        raise spec_errors(exc)[0] from exc


__all__ = [
    "API_VERSION",
    "GROUP",
    "KINDS",
    "VERSION",
    "AWSAccountSpec",
    "AWSAccountStatus",
    "Kind",
    "NotifierSpec",
    "NotifierStatus",
    "PatchPolicySpec",
    "PatchPolicyStatus",
    "PatchRunSpec",
    "PatchRunStatus",
    "ScanScheduleSpec",
    "ScanScheduleStatus",
    "SpecError",
    "parse_spec",
]
