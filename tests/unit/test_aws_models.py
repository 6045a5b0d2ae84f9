"""The operator's service models are trimmed to the operations it declares (operator/aws/models.py)."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from botocore.model import OperationModel, Shape

from sreops.operator.aws.clients import ClientFactory
from sreops.operator.aws.models import declared_operations, reachable_shapes
from sreops.operator.aws.permissions import declared_actions

SERVICES = ("ec2", "ssm", "inspector2", "sts")


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")


def _walk(shape: Shape | None, seen: set[str]) -> None:
    """Resolves every shape below `shape` (a trimmed-away shape raises here)."""
    if shape is None or shape.name in seen:
        return
    seen.add(shape.name)
    for member in getattr(shape, "members", {}).values():
        _walk(member, seen)
    for attribute in ("member", "key", "value"):
        _walk(getattr(shape, attribute, None), seen)


def _signature(model: OperationModel) -> Any:
    def names(shape: Shape | None) -> list[str]:
        return sorted(getattr(shape, "members", {}) or {})

    return names(model.input_shape), names(model.output_shape), sorted(e.name for e in model.error_shapes)


def test_trimmed_clients_have_exactly_the_declared_operations_with_their_full_shapes() -> None:
    trimmed = ClientFactory("us-west-2", operations=declared_operations())
    full = botocore.session.Session()
    declared = declared_operations()
    for service in SERVICES:
        model = trimmed.client(service, "us-west-2").meta.service_model
        assert set(model.operation_names) == declared[service] & set(full.get_service_model(service).operation_names), (
            service
        )
        reference = full.get_service_model(service)
        for operation in model.operation_names:
            op = model.operation_model(operation)
            _walk(op.input_shape, set())
            _walk(op.output_shape, set())
            assert _signature(op) == _signature(reference.operation_model(operation)), operation


def test_every_declared_action_of_a_called_service_is_an_operation_of_its_model() -> None:
    # IAM's action names are the API's operation names for these services: a typo in a declaration would
    # otherwise trim away the very operation the wrapper calls.
    full = botocore.session.Session()
    for action in declared_actions():
        service, _, name = action.partition(":")
        if service in SERVICES:
            assert name in full.get_service_model(service).operation_names, action


def test_an_undeclared_operation_is_not_on_the_client() -> None:
    ec2 = ClientFactory("us-west-2", operations=declared_operations()).client("ec2", "us-west-2")
    assert hasattr(ec2, "describe_tags")
    assert not hasattr(ec2, "run_instances")  # the operator never starts instances
    assert hasattr(ClientFactory("us-west-2").client("ec2", "us-west-2"), "run_instances")  # untrimmed by default


def test_reachable_shapes_follows_members_lists_and_maps_and_stops_at_cycles() -> None:
    shapes = {
        "In": {"type": "structure", "members": {"A": {"shape": "List"}, "B": {"shape": "Map"}}},
        "List": {"type": "list", "member": {"shape": "Node"}},
        "Map": {"type": "map", "key": {"shape": "Str"}, "value": {"shape": "Str"}},
        "Node": {"type": "structure", "members": {"Next": {"shape": "Node"}}},
        "Str": {"type": "string"},
        "Unused": {"type": "string"},
    }
    assert reachable_shapes(shapes, ["In"]) == {"In", "List", "Map", "Node", "Str"}
