"""Status pieces shared by every kind."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sreops.operator.api.common import Model


class Condition(Model):
    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str | None = None
    message: str | None = None
    observed_generation: int | None = None
    last_transition_time: str | None = None


class BaseStatus(Model):
    model_config = Model.model_config | {"frozen": False}

    observed_generation: int | None = None
    conditions: list[Condition] = Field(default_factory=list)
