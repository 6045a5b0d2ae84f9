"""SSM's view of managed instances: DescribeInstanceInformation, patch states and compliance."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from sreops.sandbox.aws.server import AwsSandbox

from .conftest import LAB, ClientFactory, _hex


def test_instance_information_pages_with_opaque_tokens(client: ClientFactory) -> None:
    """MaxResults 5..50; NextToken until the last page; only managed instances are listed."""
    ssm = client("ssm", account=LAB, region="us-east-1")
    first = ssm.describe_instance_information(MaxResults=5)
    assert len(first["InstanceInformationList"]) == 5 and first["NextToken"]
    pages = list(ssm.get_paginator("describe_instance_information").paginate(PaginationConfig={"PageSize": 50}))
    ids = [i["InstanceId"] for p in pages for i in p["InstanceInformationList"]]
    assert len(ids) == len(set(ids)) == 60
    assert "NextToken" not in pages[-1]
    with pytest.raises(ClientError) as e:
        ssm.describe_instance_information(MaxResults=5, NextToken="garbage")
    assert e.value.response["Error"]["Code"] == "InvalidNextToken"
    with pytest.raises(ClientError) as e:
        ssm.describe_instance_information(MaxResults=51)
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_instance_information_filters(client: ClientFactory) -> None:
    """Filters by InstanceIds, tag:Key, PingStatus; unmanaged instances never appear."""
    ssm = client("ssm", account=LAB)
    web = ssm.describe_instance_information(Filters=[{"Key": "tag:Role", "Values": ["web"]}])
    ids = {i["InstanceId"] for i in web["InstanceInformationList"]}
    assert ids == {_hex(n) for n in range(1, 7)}  # _hex(99) is web but unmanaged
    one = ssm.describe_instance_information(
        InstanceInformationFilterList=[{"key": "InstanceIds", "valueSet": [_hex(2)]}]
    )
    info = one["InstanceInformationList"][0]
    assert info["PingStatus"] == "Online" and info["PlatformType"] == "Linux" and info["ResourceType"] == "EC2Instance"
    lost = ssm.describe_instance_information(Filters=[{"Key": "PingStatus", "Values": ["ConnectionLost"]}])
    assert [i["InstanceId"] for i in lost["InstanceInformationList"]] == [_hex(12)]
    with pytest.raises(ClientError) as e:
        ssm.describe_instance_information(Filters=[{"Key": "Colour", "Values": ["x"]}])
    assert e.value.response["Error"]["Code"] == "InvalidFilterKey"


def test_patch_states_limit_and_shape(client: ClientFactory) -> None:
    """DescribeInstancePatchStates takes at most 50 ids; unknown or never-reporting ids are left out."""
    ssm = client("ssm", account=LAB, region="us-east-1")
    ids = [_hex(n) for n in range(100, 150)]
    states = ssm.describe_instance_patch_states(InstanceIds=ids, MaxResults=10)
    assert len(states["InstancePatchStates"]) == 10 and states["NextToken"]
    with pytest.raises(ClientError) as e:
        ssm.describe_instance_patch_states(InstanceIds=[*ids, _hex(150)])
    assert e.value.response["Error"]["Code"] == "ValidationException"
    s = client("ssm", account=LAB).describe_instance_patch_states(InstanceIds=[_hex(3), "i-00000000000000bad"])
    (state,) = s["InstancePatchStates"]
    assert (state["MissingCount"], state["InstalledCount"], state["FailedCount"]) == (2, 1, 0)
    assert state["PatchGroup"] == "lab-web" and state["Operation"] == "Scan"


def test_patch_states_for_patch_group_and_patches(client: ClientFactory) -> None:
    """Patch-group view with numeric filters; DescribeInstancePatches lists KB ids with their state."""
    ssm = client("ssm", account=LAB)
    grp = ssm.describe_instance_patch_states_for_patch_group(PatchGroup="lab-db")
    assert {s["InstanceId"] for s in grp["InstancePatchStates"]} == {_hex(n) for n in range(7, 13)}
    flt = ssm.describe_instance_patch_states_for_patch_group(
        PatchGroup="lab-db", Filters=[{"Key": "MissingCount", "Type": "GreaterThan", "Values": ["5"]}]
    )
    assert flt["InstancePatchStates"] == []
    patches = ssm.describe_instance_patches(InstanceId=_hex(8), Filters=[{"Key": "State", "Values": ["Missing"]}])
    assert {p["KBId"] for p in patches["Patches"]} == {"ALAS-8-1", "ALAS-8-2"}
    with pytest.raises(ClientError) as e:
        ssm.describe_instance_patches(InstanceId="i-00000000000000bad")
    assert e.value.response["Error"]["Code"] == "InvalidInstanceId"


def test_compliance_views(client: ClientFactory) -> None:
    """Patch compliance per resource and summarised; items per patch with COMPLIANT/NON_COMPLIANT."""
    ssm = client("ssm", account=LAB)
    res = ssm.list_resource_compliance_summaries(Filters=[{"Key": "ComplianceType", "Values": ["Patch"]}])
    by_id = {r["ResourceId"]: r for r in res["ResourceComplianceSummaryItems"]}
    assert by_id[_hex(9)]["Status"] == "NON_COMPLIANT" and by_id[_hex(9)]["OverallSeverity"] == "CRITICAL"
    summary = ssm.list_compliance_summaries()["ComplianceSummaryItems"][0]
    assert summary["ComplianceType"] == "Patch"
    assert summary["NonCompliantSummary"]["NonCompliantCount"] >= 1
    items = ssm.list_compliance_items(ResourceIds=[_hex(9)], ResourceTypes=["ManagedInstance"])["ComplianceItems"]
    assert {i["Id"]: i["Status"] for i in items} == {
        "ALAS-9-1": "NON_COMPLIANT",
        "ALAS-9-2": "NON_COMPLIANT",
        "ALAS-9-3": "COMPLIANT",
    }


def test_calls_are_counted(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """The stand-in counts calls per service/operation, and which of them change state."""
    ssm = client("ssm", account=LAB)
    before = sandbox.calls("ssm")
    ssm.describe_instance_information()
    after = sandbox.calls("ssm")
    assert after["calls"]["ssm"]["DescribeInstanceInformation"] == (
        before["calls"].get("ssm", {}).get("DescribeInstanceInformation", 0) + 1
    )
    assert after["writes"] == before["writes"]
