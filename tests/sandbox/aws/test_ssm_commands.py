"""Run Command of AWS-RunPatchBaseline: validation, targets, rate controls and the invocation lifecycle
on the simulated clock, and what an Install run changes (patch states, Inspector findings)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from sreops.sandbox.aws.server import AwsSandbox

from .conftest import LAB, ClientFactory, _hex

DOC = "AWS-RunPatchBaseline"


def _statuses(ssm: object, command_id: str) -> dict[str, str]:
    invs = ssm.list_command_invocations(CommandId=command_id)["CommandInvocations"]  # type: ignore[attr-defined]
    return {i["InstanceId"]: i["Status"] for i in invs}


def _code(e: pytest.ExceptionInfo[ClientError]) -> str:
    return str(e.value.response["Error"]["Code"])


def test_send_command_validation(client: ClientFactory) -> None:
    """Unknown document → InvalidDocument; bad or unknown parameters → InvalidParameters; more than 50
    InstanceIds → ValidationException; an instance that is not managed → InvalidInstanceId."""
    ssm = client("ssm", account=LAB)
    with pytest.raises(ClientError) as e:
        ssm.send_command(DocumentName="AWS-Nope", InstanceIds=[_hex(1)])
    assert _code(e) == "InvalidDocument"
    for params in ({"Operation": ["Reinstall"]}, {"Operation": ["Scan"], "Colour": ["red"]}, {}):
        with pytest.raises(ClientError) as e:
            ssm.send_command(DocumentName=DOC, InstanceIds=[_hex(1)], Parameters=params)
        assert _code(e) == "InvalidParameters"
    with pytest.raises(ClientError) as e:
        ssm.send_command(
            DocumentName=DOC, InstanceIds=[f"i-{n:017x}" for n in range(51)], Parameters={"Operation": ["Scan"]}
        )
    assert _code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        ssm.send_command(DocumentName=DOC, InstanceIds=[_hex(99)], Parameters={"Operation": ["Scan"]})
    assert _code(e) == "InvalidInstanceId"
    with pytest.raises(ClientError) as e:
        ssm.send_command(
            DocumentName=DOC, InstanceIds=[_hex(1)], Parameters={"Operation": ["Scan"]}, MaxConcurrency="0"
        )
    assert _code(e) == "ValidationException"


def test_instance_ids_target_only_those(client: ClientFactory) -> None:
    """InstanceIds runs on exactly the named instances (moto's bug ran on every instance)."""
    ssm = client("ssm", account=LAB)
    cmd = ssm.send_command(DocumentName=DOC, InstanceIds=[_hex(1), _hex(2)], Parameters={"Operation": ["Scan"]})
    assert cmd["Command"]["TargetCount"] == 2
    assert set(_statuses(ssm, cmd["Command"]["CommandId"])) == {_hex(1), _hex(2)}


def test_lifecycle_with_max_concurrency(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """Tag targets resolve to managed instances only; with MaxConcurrency 2 at most two invocations are
    InProgress; each goes Pending → InProgress → Success; the command ends Success; Scan leaves the
    patch counts alone and moves the operation time."""
    ssm = client("ssm", account=LAB)
    before = ssm.describe_instance_patch_states(InstanceIds=[_hex(1)])["InstancePatchStates"][0]
    cmd = ssm.send_command(
        DocumentName=DOC,
        Targets=[{"Key": "tag:Role", "Values": ["web"]}],
        Parameters={"Operation": ["Scan"]},
        MaxConcurrency="2",
        MaxErrors="0",
    )["Command"]
    cid = cmd["CommandId"]
    assert cmd["Status"] == "Pending" and cmd["TargetCount"] == 6  # _hex(99) is tagged web but unmanaged
    assert set(_statuses(ssm, cid).values()) == {"Pending"}
    seen_in_progress = set()
    for _ in range(20):
        sandbox.advance(1)
        st = _statuses(ssm, cid)
        running = [i for i, s in st.items() if s == "InProgress"]
        assert len(running) <= 2
        seen_in_progress |= set(running)
        if set(st.values()) == {"Success"}:
            break
    assert seen_in_progress == set(st)
    assert ssm.list_commands(CommandId=cid)["Commands"][0]["Status"] == "Success"
    inv = ssm.get_command_invocation(CommandId=cid, InstanceId=_hex(1))
    assert inv["Status"] == "Success" and inv["ResponseCode"] == 0 and inv["ExecutionEndDateTime"]
    after = ssm.describe_instance_patch_states(InstanceIds=[_hex(1)])["InstancePatchStates"][0]
    assert after["MissingCount"] == before["MissingCount"]
    assert after["OperationEndTime"] > before["OperationEndTime"] and after["Operation"] == "Scan"


def test_install_changes_patches_and_closes_findings(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """Install: missing patches become Installed, a patch that fails stays Failed and fails the
    invocation; findings fixed by the installed patches are CLOSED on the next Inspector listing."""
    ssm = client("ssm", account=LAB)
    insp = client("inspector2", account=LAB)
    cve_filter = {"vulnerabilityId": [{"comparison": "EQUALS", "value": "CVE-2024-1006"}]}
    assert insp.list_findings(filterCriteria=cve_filter)["findings"][0]["status"] == "ACTIVE"
    cid = ssm.send_command(
        DocumentName=DOC,
        InstanceIds=[_hex(5), _hex(6)],
        MaxErrors="1",
        Parameters={"Operation": ["Install"], "RebootOption": ["RebootIfNeeded"]},
    )["Command"]["CommandId"]
    sandbox.advance(60)
    assert _statuses(ssm, cid) == {_hex(5): "Failed", _hex(6): "Success"}
    cmd = ssm.list_commands(CommandId=cid)["Commands"][0]
    assert (cmd["Status"], cmd["StatusDetails"], cmd["ErrorCount"], cmd["CompletedCount"]) == (
        "Failed",
        "Incomplete",
        1,
        2,
    )
    states = {
        s["InstanceId"]: s
        for s in ssm.describe_instance_patch_states(InstanceIds=[_hex(5), _hex(6)])["InstancePatchStates"]
    }
    assert (states[_hex(6)]["MissingCount"], states[_hex(6)]["InstalledCount"]) == (0, 3)
    assert (states[_hex(5)]["MissingCount"], states[_hex(5)]["FailedCount"]) == (0, 1)
    assert states[_hex(6)]["Operation"] == "Install"
    assert insp.list_findings(filterCriteria=cve_filter)["findings"][0]["status"] == "CLOSED"
    low = insp.list_findings(filterCriteria={"vulnerabilityId": [{"comparison": "EQUALS", "value": "CVE-2024-2006"}]})
    assert low["findings"][0]["status"] == "ACTIVE"  # no patch fixes it
    detail = ssm.list_command_invocations(CommandId=cid, Details=True)["CommandInvocations"]
    plugin = next(i for i in detail if i["InstanceId"] == _hex(5))["CommandPlugins"][0]
    assert plugin["ResponseCode"] == 1 and "ALAS-5-2" in plugin["Output"]


def test_max_errors_stops_the_rollout(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """Once failures exceed MaxErrors no further instance is started; the command is Failed."""
    ssm = client("ssm", account=LAB)
    cid = ssm.send_command(
        DocumentName=DOC,
        Targets=[{"Key": "tag:Role", "Values": ["flaky"]}],
        Parameters={"Operation": ["Scan"]},
        MaxConcurrency="1",
        MaxErrors="1",
    )["Command"]["CommandId"]
    sandbox.advance(120)
    st = sorted(_statuses(ssm, cid).values())
    assert st == ["Cancelled", "Cancelled", "Failed", "Failed"]
    assert ssm.list_commands(CommandId=cid)["Commands"][0]["Status"] == "Failed"


def test_percent_rate_controls(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """MaxConcurrency as a percentage of the targets (50% of 6 → 3 at once)."""
    ssm = client("ssm", account=LAB)
    cid = ssm.send_command(
        DocumentName=DOC,
        Targets=[{"Key": "tag:Role", "Values": ["web"]}],
        Parameters={"Operation": ["Scan"]},
        MaxConcurrency="50%",
        MaxErrors="10%",
    )["Command"]["CommandId"]
    sandbox.advance(2)
    assert list(_statuses(ssm, cid).values()).count("InProgress") == 3
    sandbox.advance(30)


def test_offline_and_hung_instances(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """A ConnectionLost instance stays Pending until the delivery timeout, then TimedOut
    (DeliveryTimedOut); a run that never finishes ends TimedOut after the execution timeout."""
    ssm = client("ssm", account=LAB)
    cid = ssm.send_command(
        DocumentName=DOC,
        InstanceIds=[_hex(12), _hex(24)],
        TimeoutSeconds=60,
        Parameters={"Operation": ["Scan"]},
        MaxErrors="2",
    )["Command"]["CommandId"]
    sandbox.advance(30)
    assert _statuses(ssm, cid) == {_hex(12): "Pending", _hex(24): "InProgress"}
    sandbox.advance(40)
    inv = ssm.get_command_invocation(CommandId=cid, InstanceId=_hex(12))
    assert (inv["Status"], inv["StatusDetails"]) == ("TimedOut", "DeliveryTimedOut")
    sandbox.advance(7200)
    inv = ssm.get_command_invocation(CommandId=cid, InstanceId=_hex(24))
    assert (inv["Status"], inv["StatusDetails"]) == ("TimedOut", "ExecutionTimedOut")


def test_cancel_and_unknown_ids(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """CancelCommand stops invocations not yet finished; unknown command ids are InvalidCommandId /
    InvocationDoesNotExist."""
    ssm = client("ssm", account=LAB)
    cid = ssm.send_command(DocumentName=DOC, InstanceIds=[_hex(7)], Parameters={"Operation": ["Scan"]})["Command"][
        "CommandId"
    ]
    ssm.cancel_command(CommandId=cid)
    assert _statuses(ssm, cid) == {_hex(7): "Cancelled"}
    assert ssm.list_commands(CommandId=cid)["Commands"][0]["Status"] == "Cancelled"
    with pytest.raises(ClientError) as e:
        ssm.list_commands(CommandId="00000000-0000-0000-0000-000000000000")
    assert _code(e) == "InvalidCommandId"
    with pytest.raises(ClientError) as e:
        ssm.get_command_invocation(CommandId=cid, InstanceId=_hex(8))
    assert _code(e) == "InvocationDoesNotExist"
