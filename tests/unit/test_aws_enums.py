"""Our enums of AWS values are AWS's own, as botocore's service models list them."""

from __future__ import annotations

from typing import get_args

import botocore.session

from sreops.operator.api.patchpolicy import ComplianceLevel, OperatingSystem
from sreops.sandbox.aws import scenario
from tests.crd_validation import load_crds, version_schema


def _aws_enum(service: str, shape: str) -> set[str]:
    model = botocore.session.get_session().get_service_model(service)
    return set(model.shape_for(shape).enum)


def test_operating_systems_are_ssms() -> None:
    aws = _aws_enum("ssm", "OperatingSystem")
    assert set(get_args(OperatingSystem)) == aws
    assert set(get_args(scenario.OperatingSystem)) == aws
    spec = version_schema(load_crds()["PatchPolicy"])["properties"]["spec"]["properties"]
    assert set(spec["operatingSystem"]["enum"]) == aws


def test_compliance_levels_are_ssms() -> None:
    assert set(get_args(ComplianceLevel)) == _aws_enum("ssm", "PatchComplianceLevel")
