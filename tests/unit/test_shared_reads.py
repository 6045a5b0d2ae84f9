"""Reads shared by the policies of an account x region: the managed fleet (compliance, filtered per policy),
the window listing, and when a window's executions are worth reading."""

from __future__ import annotations

from typing import Any

from sreops.operator.api.common import Targets
from sreops.operator.aws.clients import OWN_CREDENTIALS, Access, ClientFactory
from sreops.operator.patching.compliance import fleet_compliance, read_fleet
from sreops.operator.patching.shared import LOOKS_PER_CHANGE, SharedReads
from tests.unit.fake_ssm import FakeEc2, FakeSsm

ACCOUNT = "111122223333"
TTL = 300.0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Factory(ClientFactory):
    """Fake SSM and EC2 clients per region."""

    def __init__(self) -> None:
        super().__init__(sts_region="us-west-2")
        self.ssm: dict[str, FakeSsm] = {}
        self.ec2: dict[str, FakeEc2] = {}

    def client(self, service: str, region: str, access: Access = OWN_CREDENTIALS) -> Any:
        table: dict[str, Any] = self.ssm if service == "ssm" else self.ec2
        return table.setdefault(region, FakeSsm() if service == "ssm" else FakeEc2())


def _instance(ssm: FakeSsm, ec2: FakeEc2, instance_id: str, tags: dict[str, str], missing: int | None) -> None:
    ssm.instances.append({"InstanceId": instance_id, "ResourceType": "EC2Instance"})
    ec2.tags[instance_id] = tags
    if missing is not None:
        ssm.patch_state_of[instance_id] = {"InstanceId": instance_id, "MissingCount": missing, "FailedCount": 0}


def _shared() -> tuple[SharedReads, Factory, Clock]:
    factory, clock = Factory(), Clock()
    return SharedReads(factory, ttl_seconds=TTL, clock=clock), factory, clock


def test_one_fleet_read_per_account_and_region_serves_every_policy() -> None:
    shared, factory, clock = _shared()
    ssm, ec2 = factory.client("ssm", "us-west-2"), factory.client("ec2", "us-west-2")
    _instance(ssm, ec2, "i-0000000a", {"Role": "web", "Env": "prod"}, missing=0)
    _instance(ssm, ec2, "i-0000000b", {"Role": "web", "Env": "prod"}, missing=3)
    _instance(ssm, ec2, "i-0000000c", {"Role": "web", "Env": "dev"}, missing=None)
    _instance(ssm, ec2, "i-0000000d", {"Role": "db", "Env": "prod"}, missing=None)

    web = fleet_compliance(shared.fleet(OWN_CREDENTIALS, ACCOUNT, "us-west-2"), Targets(tags={"Role": "web"}))
    prod_web = fleet_compliance(
        shared.fleet(OWN_CREDENTIALS, ACCOUNT, "us-west-2"), Targets(tags={"Role": "web", "Env": "prod"})
    )
    listed = fleet_compliance(
        shared.fleet(OWN_CREDENTIALS, ACCOUNT, "us-west-2"),
        Targets(tags={"Env": "prod"}, instance_ids=["i-0000000a", "i-0000000d", "i-000000ff"]),
    )
    assert (web.instances, web.compliant, web.non_compliant, web.unreported, web.missing_patches) == (3, 1, 1, 1, 3)
    assert (prod_web.instances, prod_web.non_compliant, prod_web.unreported) == (2, 1, 0)
    assert (listed.instances, listed.compliant, listed.unreported) == (2, 1, 1)
    assert dict(ssm.calls) == {"DescribeInstanceInformation": 1, "DescribeInstancePatchStates": 1}
    assert dict(ec2.calls) == {"DescribeTags": 1}

    shared.fleet(OWN_CREDENTIALS, ACCOUNT, "us-east-1")  # another region: its own read
    assert factory.client("ssm", "us-east-1").calls["DescribeInstanceInformation"] == 1
    clock.now += TTL  # one interval later: read again
    shared.fleet(OWN_CREDENTIALS, ACCOUNT, "us-west-2")
    assert ssm.calls["DescribeInstanceInformation"] == 2


def test_the_fleet_read_chunks_patch_states_and_takes_hybrid_tags_from_ssm() -> None:
    ssm, ec2 = FakeSsm(), FakeEc2()
    for n in range(60):
        _instance(ssm, ec2, f"i-{n:03d}", {"Role": "web"}, missing=0)
    ssm.instances.append({"InstanceId": "mi-0001", "ResourceType": "ManagedInstance"})
    ssm.tags[("ManagedInstance", "mi-0001")] = {"Role": "web"}
    fleet = read_fleet(ssm, ec2)
    assert len(fleet) == 61 and all(m.tags == {"Role": "web"} for m in fleet)
    assert ssm.calls["DescribeInstancePatchStates"] == 2  # at most 50 ids a call
    assert ssm.calls["ListTagsForResource"] == 1  # the hybrid node only
    assert fleet_compliance(fleet, Targets(tags={"Role": "web"})).unreported == 1


def test_the_window_listing_is_read_once_per_interval_for_every_policy() -> None:
    shared, factory, clock = _shared()
    ssm = factory.client("ssm", "us-west-2")
    window_id = ssm.create_maintenance_window(Name="w", Tags=[])["WindowId"]
    readers = [shared.windows_reader(OWN_CREDENTIALS, ACCOUNT, "us-west-2") for _ in range(10)]
    ssm.calls.clear()
    assert all(window_id in read() for read in readers)
    assert ssm.calls["DescribeMaintenanceWindows"] == 1
    clock.now += TTL
    readers[0]()
    assert ssm.calls["DescribeMaintenanceWindows"] == 2


def _looks(shared: SharedReads, clock: Clock, window_id: str, rounds: int, record: bool = True) -> list[bool]:
    """Whether each of `rounds` resync intervals reads the window's executions."""
    due = []
    for _ in range(rounds):
        look = shared.executions_due(OWN_CREDENTIALS, ACCOUNT, "us-west-2", window_id)
        due.append(look is not None)
        if look is not None and record:
            shared.executions_read(look)
        clock.now += TTL
    return due


def test_executions_are_read_twice_after_each_move_of_the_next_execution_time() -> None:
    shared, factory, clock = _shared()
    ssm = factory.client("ssm", "us-west-2")
    window_id = ssm.create_maintenance_window(Name="w", Tags=[])["WindowId"]
    ssm.windows[window_id]["NextExecutionTime"] = "2026-01-11T03:00-08:00"
    assert _looks(shared, clock, window_id, 4) == [True] * LOOKS_PER_CHANGE + [False] * 2
    ssm.windows[window_id]["NextExecutionTime"] = "2026-01-18T03:00-08:00"  # it ran: the time moved on
    assert _looks(shared, clock, window_id, 4) == [True, True, False, False]
    del ssm.windows[window_id]["NextExecutionTime"]  # disabled (suspend): one more change
    assert _looks(shared, clock, window_id, 3) == [True, True, False]


def test_a_read_that_failed_is_due_again_and_an_unlisted_window_is_read() -> None:
    shared, factory, clock = _shared()
    ssm = factory.client("ssm", "us-west-2")
    window_id = ssm.create_maintenance_window(Name="w", Tags=[])["WindowId"]
    assert _looks(shared, clock, window_id, 3, record=False) == [True, True, True]
    assert _looks(shared, clock, "mw-0000000000000dead", 3) == [True, True, False]
