"""The scenario's instances as moto EC2 instances (same ids, tags, account and region), so
describe_instances with tag filters answers from moto's own EC2."""

from __future__ import annotations

from moto.ec2.models import ec2_backends

from .scenario import Scenario

_STATE_BY_PING = {"Online": "running", "ConnectionLost": "running", "Inactive": "stopped"}


def create_instances(scenario: Scenario) -> None:
    for spec in scenario.instances:
        backend = ec2_backends[spec.account][spec.region]
        image = "ami-0abcdef1234567890"
        reservation = backend.run_instances(
            image, 1, None, [], instance_type="t3.micro", is_instance_type_default=True, region_name=spec.region
        )
        inst = reservation.instances[0]
        inst.id = spec.id  # moto finds instances by scanning .id, so renaming is enough
        if _STATE_BY_PING[spec.ping] == "stopped":
            backend.stop_instances([spec.id])
        tags = dict(spec.tags)
        if spec.name and "Name" not in tags:
            tags["Name"] = spec.name
        if tags:
            backend.create_tags([spec.id], tags)
