"""The operator's service models are trimmed to the operations it declares (operator/aws/models.py)."""

from __future__ import annotations

import time
from typing import Any

import botocore.session
import pytest
from botocore.model import OperationModel, Shape

from sreops.operator.aws import models
from sreops.operator.aws.clients import ClientFactory
from sreops.operator.aws.models import DeclaredOperationsLoader, declared_operations, reachable_shapes, trimmed_in_child
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


REGIONS = ("us-west-2", "eu-west-1", "us-east-1", "cn-north-1", "us-gov-west-1", "ap-southeast-5")


def test_a_declared_services_endpoint_prefix_is_its_name() -> None:
    # trim_endpoints keeps endpoints.json's entries by these names, and that data is keyed by endpoint prefix.
    full = botocore.session.Session()
    for service in declared_operations():
        assert full.get_service_model(service).endpoint_prefix == service


def test_clients_resolve_the_same_endpoints_with_the_trimmed_endpoint_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for trimmed in (None, trimmed_in_child(declared_operations())):
        ours = ClientFactory("us-west-2", operations=declared_operations(), trimmed=trimmed)
        full = ClientFactory("us-west-2")
        for service in SERVICES:
            for region in REGIONS:
                a, b = ours.client(service, region), full.client(service, region)
                assert (a.meta.endpoint_url, a.meta.region_name) == (b.meta.endpoint_url, b.meta.region_name)
                assert a._request_signer._signing_name == b._request_signer._signing_name, (service, region)


def test_the_forked_child_parses_what_the_loader_would_parse_here() -> None:
    operations = declared_operations()
    trimmed = trimmed_in_child(operations)
    assert trimmed is not None
    here = DeclaredOperationsLoader(operations)
    for service in SERVICES:
        version = here.determine_latest_version(service, "service-2")
        assert trimmed.models[service] == (version, here.load_service_model(service, "service-2", version))
    data, path = here.load_data_with_path("endpoints")
    assert trimmed.endpoints == (data, path)
    assert {name for p in data["partitions"] for name in p["services"]} <= set(operations)
    # What the loader then serves is the child's (another api version is parsed here as before).
    loader = DeclaredOperationsLoader(operations, trimmed)
    assert loader.load_service_model("ec2", "service-2") is trimmed.models["ec2"][1]
    assert loader.load_data_with_path("endpoints") is trimmed.endpoints
    older = loader.load_service_model("ec2", "service-2", "2016-09-15")
    assert older["metadata"]["apiVersion"] == "2016-09-15"


def test_a_failing_or_stuck_child_gives_none_so_the_loader_parses_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(operations: Any) -> bytes:
        raise RuntimeError("no models")

    monkeypatch.setattr(models, "_trimmed_payload", fail)
    assert trimmed_in_child(declared_operations()) is None

    def hang(operations: Any) -> bytes:
        time.sleep(60)
        return b"{}"

    monkeypatch.setattr(models, "_trimmed_payload", hang)
    monkeypatch.setattr(models, "CHILD_TIMEOUT_SECONDS", 0.5)
    assert trimmed_in_child(declared_operations()) is None  # the child is killed and reaped
