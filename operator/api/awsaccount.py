"""AWSAccount: an AWS account the operator acts in, by assuming an IAM role with STS."""

from __future__ import annotations

from typing import Annotated, TypeVar

from pydantic import Field, ValidationInfo, field_validator

from sreops.operator.api.common import Model, Regions, SecretKeyRef
from sreops.operator.api.status import BaseStatus

T = TypeVar("T")

ROLE_ARN_PATTERN = r"^arn:aws(-cn|-us-gov|-iso|-iso-b)?:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$"


class AWSAccountSpec(Model):
    # Field order matters: pydantic validates in order, so the external-id checks can see roleArn.
    role_arn: Annotated[str, Field(max_length=2048, pattern=ROLE_ARN_PATTERN)] | None = None
    external_id: Annotated[str, Field(min_length=2, max_length=1224, pattern=r"^[A-Za-z0-9+=,.@:/_-]+$")] | None = None
    external_id_secret_ref: SecretKeyRef | None = None
    regions: Regions = Field(default_factory=list)
    session_duration_seconds: Annotated[int, Field(ge=900, le=43200)] = 3600

    @field_validator("external_id", "external_id_secret_ref")
    @classmethod
    def _external_id_needs_role(cls, value: T, info: ValidationInfo) -> T:
        if value is not None and info.data.get("role_arn") is None:
            raise ValueError("an external id needs roleArn")
        if info.field_name == "external_id_secret_ref" and value is not None and info.data.get("external_id"):
            raise ValueError("set externalId or externalIdSecretRef, not both")
        return value


class AWSAccountStatus(BaseStatus):
    account_id: str | None = None
