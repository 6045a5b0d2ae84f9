"""Status conditions, following the Kubernetes API conventions.

A condition's `lastTransitionTime` changes only when its `status` flips; reason, message and
observedGeneration are updated in place. `Ready` is the summary condition of every kind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from datetime import UTC, datetime
from typing import Any, Literal

ConditionStatus = Literal["True", "False", "Unknown"]

READY = "Ready"


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def set_condition(
    conditions: list[dict[str, Any]] | None,
    type_: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    observed_generation: int | None,
    now: str | None = None,
) -> list[dict[str, Any]]:
    """Returns a new list with the condition `type_` set; others are kept as they are, in order."""
    result = [dict(c) for c in conditions or []]
    existing = next((c for c in result if c.get("type") == type_), None)
    transition = now or now_rfc3339()
    if existing is not None and existing.get("status") == status and existing.get("lastTransitionTime"):
        transition = existing["lastTransitionTime"]
    new: dict[str, Any] = {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": transition,
    }
    if observed_generation is not None:
        new["observedGeneration"] = observed_generation
    if existing is None:
        result.append(new)
    else:
        result[result.index(existing)] = new
    return result


def get_condition(status: Mapping[str, Any] | None, type_: str) -> dict[str, Any] | None:
    for condition in (status or {}).get("conditions") or []:
        if condition.get("type") == type_:
            return dict(condition)
    return None


def is_true(status: Mapping[str, Any] | None, type_: str = READY) -> bool:
    condition = get_condition(status, type_)
    return condition is not None and condition.get("status") == "True"


def is_true_for_generation(obj: Mapping[str, Any], type_: str) -> bool:
    """The condition is True and was set for the object's current generation (its spec as it is now)."""
    condition = get_condition(obj.get("status"), type_) or {}
    generation = (obj.get("metadata") or {}).get("generation")
    return condition.get("status") == "True" and condition.get("observedGeneration") == generation


def condition_patch_fn(
    type_: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    observed_generation: int | None,
    still_applies: Callable[[Mapping[str, Any] | None], bool] | None = None,
) -> Any:
    """A kopf `patch.fns` transformation that sets one condition on the freshest body.

    kopf turns these into a JSON patch against the object as it is at patch time, so a merge patch of the
    whole list never clobbers a condition that another writer set meanwhile. When that JSON patch loses a
    race (its resourceVersion test fails), kopf keeps the function and applies it at a later cycle, on a body
    that may have moved on well past what the handler decided about: `still_applies(status)` is asked then,
    and the condition is left alone when it says no.
    """

    def apply(body: MutableMapping[str, Any]) -> None:
        if still_applies is not None and not still_applies(body.get("status")):
            return
        body_status = body.setdefault("status", {})
        body_status["conditions"] = set_condition(
            body_status.get("conditions"), type_, status, reason, message, observed_generation
        )

    return apply
