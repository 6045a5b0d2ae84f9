"""kopf's bookkeeping under kopf.sreops.io/, read from the old sreops.io/ keys during an upgrade."""

from __future__ import annotations

import json
from typing import Any

import kopf

from sreops.operator import kopf_storage


def _body(annotations: dict[str, str], spec: dict[str, Any] | None = None) -> kopf.Body:
    return kopf.Body(
        {
            "apiVersion": "sreops.io/v1alpha1",
            "kind": "PatchPolicy",
            "metadata": {"name": "p", "namespace": "default", "annotations": annotations},
            "spec": spec or {"operation": "Scan"},
        }
    )


LEGACY = {
    "sreops.io/kopf-managed": "yes",
    "sreops.io/last-handled-configuration": json.dumps({"spec": {"operation": "Scan"}}) + "\n",
    "sreops.io/reconcile": json.dumps({"started": "2026-01-01T00:00:00", "retries": 1}),
}


def test_a_sreops_annotation_is_part_of_the_compared_state() -> None:
    storage = kopf_storage.DiffBaseStorage()
    essence = storage.build(body=_body({"sreops.io/run-now": "1", "kopf.sreops.io/kopf-managed": "yes"}))
    assert essence["metadata"]["annotations"] == {"sreops.io/run-now": "1"}


def test_operator_memory_annotations_are_not_changes() -> None:
    storage = kopf_storage.DiffBaseStorage()
    body = _body({"sreops.io/run-now-handled": "[]", "sreops.io/seen-window-executions": "{}"})
    assert "annotations" not in storage.build(body=body).get("metadata", {})


def test_the_old_diff_base_is_read_when_there_is_no_new_one() -> None:
    storage = kopf_storage.DiffBaseStorage()
    assert storage.fetch(body=_body(LEGACY)) == {"spec": {"operation": "Scan"}}
    newer = {**LEGACY, "kopf.sreops.io/last-handled-configuration": json.dumps({"spec": {"operation": "Install"}})}
    assert storage.fetch(body=_body(newer)) == {"spec": {"operation": "Install"}}


def test_storing_writes_the_new_keys_and_removes_the_old_ones() -> None:
    body = _body(LEGACY)
    patch = kopf.Patch()
    kopf_storage.DiffBaseStorage().store(body=body, patch=patch, essence=kopf.BodyEssence({"spec": {}}))
    annotations = dict(patch["metadata"]["annotations"])
    assert json.loads(annotations.pop("kopf.sreops.io/last-handled-configuration")) == {"spec": {}}
    annotations.pop("kopf.sreops.io/kopf-managed", None)  # kopf's marker, when it writes one
    assert annotations == {"sreops.io/kopf-managed": None, "sreops.io/last-handled-configuration": None}


def test_progress_falls_back_to_the_old_record_and_moves_it() -> None:
    storage = kopf_storage.ProgressStorage()
    body = _body(LEGACY)
    assert storage.fetch(key=kopf.HandlerId("reconcile"), body=body) == {
        "started": "2026-01-01T00:00:00",
        "retries": 1,
    }
    patch = kopf.Patch()
    storage.store(key=kopf.HandlerId("reconcile"), record={"retries": 2}, body=body, patch=patch)
    annotations = patch["metadata"]["annotations"]
    assert json.loads(annotations["kopf.sreops.io/reconcile"]) == {"retries": 2}
    assert annotations["sreops.io/reconcile"] is None


def test_purge_removes_both_records() -> None:
    body = _body({**LEGACY, "kopf.sreops.io/reconcile": "{}"})
    patch = kopf.Patch()
    kopf_storage.ProgressStorage().purge(key=kopf.HandlerId("reconcile"), body=body, patch=patch)
    assert patch["metadata"]["annotations"] == {"kopf.sreops.io/reconcile": None, "sreops.io/reconcile": None}


def test_user_annotations_are_never_touched() -> None:
    body = _body({**LEGACY, "sreops.io/run-now": "1", "sreops.io/reconcile-requested": "x"})
    patch = kopf.Patch()
    storage = kopf_storage.ProgressStorage()
    storage.store(key=kopf.HandlerId("start-run-now"), record={"retries": 0}, body=body, patch=patch)
    storage.purge(key=kopf.HandlerId("reconcile"), body=body, patch=patch)
    kopf_storage.DiffBaseStorage().store(body=body, patch=patch, essence=kopf.BodyEssence({}))
    touched = set(patch["metadata"]["annotations"])
    assert not touched & {"sreops.io/run-now", "sreops.io/reconcile-requested"}
