"""Updates that change only annotations, which a kind's reconcile does not read, are not reconciled again
while the object is Ready for its generation (each run-now re-applied the whole PatchPolicy in AWS)."""

from __future__ import annotations

import logging
from typing import Any

import kopf
from botocore.exceptions import ClientError

from sreops.operator.api import KINDS, PatchPolicySpec
from sreops.operator.controllers.base import (
    RESYNC_FAILURES_TOLERATED,
    only_annotations,
    register_reconcile,
    tolerant_resync,
)
from sreops.operator.settings import Settings

RUN_NOW = ("change", ("metadata", "annotations", "sreops.io/run-now"), None, "now-1")
SPEC = ("change", ("spec", "suspend"), False, True)
LABELS = ("change", ("metadata", "labels", "sreops.io/shard"), None, "b")


def _update_handler(reads_annotations: bool, calls: list[Any]) -> Any:
    registry = kopf.OperatorRegistry()
    register_reconcile(
        registry,
        Settings(),
        KINDS["PatchPolicy"],
        PatchPolicySpec,
        lambda spec, ctx: calls.append(spec),
        reads_annotations=reads_annotations,
    )
    updates = [h for h in registry._changing.get_all_handlers() if h.reason == kopf.Reason.UPDATE]
    assert len(updates) == 1
    return updates[0].fn


def _body(ready_generation: int | None, generation: int = 3) -> dict[str, Any]:
    conditions = (
        []
        if ready_generation is None
        else [{"type": "Ready", "status": "True", "reason": "Synced", "observedGeneration": ready_generation}]
    )
    return {"metadata": {"generation": generation, "uid": "u1"}, "status": {"conditions": conditions}}


def test_only_annotations() -> None:
    assert only_annotations(kopf.Diff([RUN_NOW]))
    assert only_annotations(kopf.Diff([("add", ("metadata", "annotations"), None, {"a": "b"})]))
    assert not only_annotations(kopf.Diff([RUN_NOW, SPEC]))
    assert not only_annotations(kopf.Diff([LABELS]))
    assert not only_annotations(kopf.Diff([]))


def test_an_annotation_change_to_a_ready_policy_is_not_reconciled() -> None:
    calls: list[Any] = []
    update = _update_handler(reads_annotations=False, calls=calls)
    update(body=_body(ready_generation=3), diff=kopf.Diff([RUN_NOW]))
    assert calls == []


def test_spec_label_and_not_ready_changes_are_reconciled_and_so_is_every_kind_that_reads_annotations() -> None:
    """The handler gets past the filter: it fails on the missing kopf arguments, which proves it was called."""
    cases = [
        (False, _body(ready_generation=3), [RUN_NOW, SPEC]),
        (False, _body(ready_generation=3), [LABELS]),
        (False, _body(ready_generation=2), [RUN_NOW]),  # Ready for an older spec
        (False, _body(ready_generation=None), [RUN_NOW]),
        (True, _body(ready_generation=3), [RUN_NOW]),
    ]
    for reads, body, diff in cases:
        update = _update_handler(reads_annotations=reads, calls=[])
        try:
            update(body=body, diff=kopf.Diff(diff))
        except TypeError as exc:
            assert "patch" in str(exc) or "memo" in str(exc)
        else:
            raise AssertionError(f"not reconciled: {diff}")


def _throttled() -> ClientError:
    return ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "GetPatchBaseline")


def _denied() -> ClientError:
    return ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "GetPatchBaseline")


class _Gauge:
    def __init__(self) -> None:
        self.value: float | None = None

    def labels(self, *_: Any) -> _Gauge:
        return self

    def set(self, value: float) -> None:
        self.value = value


def test_a_ready_policys_drift_check_keeps_ready_through_two_throttled_checks_in_a_row() -> None:
    gauge = _Gauge()
    memo = {"services": type("S", (), {"metrics": type("M", (), {"policy_ready": gauge})()})()}
    errors = [_throttled(), _throttled(), _throttled(), None, _throttled(), _denied()]

    def handler(*, body: Any, patch: kopf.Patch, **_: Any) -> None:
        patch.fns.append(lambda b: b)  # a condition written (Ready=False ...)
        patch.setdefault("status", {})["targets"] = ["ids"]
        gauge.set(0)
        error = errors.pop(0)
        if error is not None:
            raise kopf.TemporaryError(str(error)) from error

    failures: dict[str, int] = {}
    outcomes = []
    for _ in range(6):
        patch = kopf.Patch()
        kwargs = {"patch": patch, "memo": memo, "logger": logging.getLogger("t")}
        try:
            tolerant_resync(handler, KINDS["PatchPolicy"], failures, _body(3), kwargs)  # type: ignore[arg-type]
            outcomes.append(("kept" if not patch.fns else "written", patch["status"]["targets"], gauge.value))
        except kopf.TemporaryError:
            outcomes.append(("raised", patch["status"]["targets"], gauge.value) if patch.fns else ("lost", None, None))
    assert RESYNC_FAILURES_TOLERATED == 3
    assert outcomes == [
        ("kept", ["ids"], 1),  # 1st throttle: conditions and gauge as they were, resource ids kept
        ("kept", ["ids"], 1),
        ("raised", ["ids"], 0),  # 3rd in a row: reported
        ("written", ["ids"], 0),  # a success writes its conditions (the handler's gauge value stands)
        ("kept", ["ids"], 1),  # the count started again
        ("raised", ["ids"], 0),  # access denied: at once
    ]
