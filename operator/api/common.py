"""Pieces shared by every kind's spec: base model, references, targets, schedule, and error paths."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from sreops.operator.api.schedule import CronError, parse_timezone, validate_cron

GROUP = "sreops.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

# The same patterns as the CRDs (crds/*.yaml); a test checks every sample against both.
NAME_PATTERN = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"
REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$"
INSTANCE_ID_PATTERN = r"^i-[0-9a-f]{8,17}$"
CRON_PATTERN = r"^[0-9A-Za-z*/,?-]+( [0-9A-Za-z*/,?-]+){4}$"
TIMEZONE_PATTERN = r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$"


class Model(BaseModel):
    """camelCase on the wire (the CRD's field names), snake_case in Python; unknown fields rejected."""

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, extra="forbid", frozen=True
    )

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


def _unique(values: list[str]) -> list[str]:
    seen: set[str] = set()
    for v in values:
        if v in seen:
            raise ValueError(f"duplicate value {v!r}")
        seen.add(v)
    return values


Name = Annotated[str, Field(min_length=1, max_length=253, pattern=NAME_PATTERN)]
Region = Annotated[str, Field(pattern=REGION_PATTERN)]
Regions = Annotated[list[Region], Field(max_length=30), AfterValidator(_unique)]
InstanceId = Annotated[str, Field(pattern=INSTANCE_ID_PATTERN)]


class ObjectRef(Model):
    name: Name


class SecretKeyRef(Model):
    name: Annotated[str, Field(min_length=1, max_length=253)]
    key: Annotated[str, Field(min_length=1, max_length=253)]


def _tag_keys(tags: dict[str, str]) -> dict[str, str]:
    for key in tags:
        if not 1 <= len(key) <= 128:
            raise ValueError("tag keys must be 1 to 128 characters")
    return tags


# SSM takes at most 5 targets per SendCommand and window target: each tag is one, the id list another.
MAX_TAGS_WITH_IDS = 4


class Targets(Model):
    tags: Annotated[
        dict[str, Annotated[str, Field(max_length=256)]], Field(max_length=5), AfterValidator(_tag_keys)
    ] = Field(default_factory=dict)
    instance_ids: Annotated[list[InstanceId], Field(max_length=1000), AfterValidator(_unique)] = Field(
        default_factory=list
    )

    @model_validator(mode="after")
    def _one_of(self) -> Targets:
        if not self.tags and not self.instance_ids:
            raise ValueError("at least one of tags or instanceIds is required")
        if self.instance_ids and len(self.tags) > MAX_TAGS_WITH_IDS:
            raise ValueError("with instanceIds, at most 4 tags (SSM allows 5 targets per command and window target)")
        return self


def _cron(expr: str) -> str:
    try:
        validate_cron(expr)
    except CronError as exc:
        raise ValueError(str(exc)) from exc
    return expr


def _timezone(name: str) -> str:
    try:
        parse_timezone(name)
    except CronError as exc:
        raise ValueError(str(exc)) from exc
    return name


class Schedule(Model):
    cron: Annotated[str, Field(pattern=CRON_PATTERN), AfterValidator(_cron)]
    timezone: Annotated[str, Field(max_length=64, pattern=TIMEZONE_PATTERN), AfterValidator(_timezone)] = "UTC"


class SpecError(ValueError):
    """A spec the operator cannot act on; `field` is the path in the object, e.g. spec.window.cutoffHours."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def field_path(prefix: str, loc: tuple[int | str, ...]) -> str:
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            path += f".{part}" if path else part
        else:
            path += f"[{part!r}]"
    return path


def spec_errors(exc: ValidationError, prefix: str = "spec") -> list[SpecError]:
    """One SpecError per pydantic error, with the CRD's field path and a message without pydantic jargon."""
    errors = []
    for err in exc.errors(include_url=False):
        # pydantic appends the failing constraint or model class to loc for unions/functions; keep fields only.
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            message = "Required value"
        elif err["type"] == "extra_forbidden":
            message = "unknown field"
        errors.append(SpecError(field_path(prefix, loc), message))
    return errors
