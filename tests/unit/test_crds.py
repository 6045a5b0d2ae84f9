"""The CRDs (crds/*.yaml) and the pydantic models agree on every sample, valid and invalid."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from sreops.operator.api import KINDS, SpecError, parse_spec
from tests.crd_validation import CRD_DIR, load_crds, validate, version_schema

SAMPLES = sorted((CRD_DIR / "samples").glob("*.yaml"))
INVALID = sorted((CRD_DIR / "samples" / "invalid").glob("*.yaml"))
CRDS = load_crds()


def _load(path: Path) -> dict[str, Any]:
    obj: dict[str, Any] = yaml.safe_load(path.read_text())
    return obj


def _expected_field(path: Path) -> str:
    match = re.search(r"^# field: (\S+)$", path.read_text(), re.MULTILINE)
    assert match, f"{path.name} must name the rejected field in a '# field:' comment"
    return match.group(1)


def test_one_crd_per_kind_with_the_contracts_names() -> None:
    assert set(CRDS) == set(KINDS)
    for kind, crd in CRDS.items():
        names = crd["spec"]["names"]
        assert crd["metadata"]["name"] == f"{KINDS[kind].plural}.sreops.io"
        assert names["plural"] == KINDS[kind].plural
        assert "sreops" in names["categories"]
        assert crd["spec"]["scope"] == "Namespaced"
        (version,) = crd["spec"]["versions"]
        assert version["name"] == "v1alpha1" and version["subresources"] == {"status": {}}
    assert CRDS["PatchPolicy"]["spec"]["names"]["shortNames"] == ["pp"]
    assert CRDS["PatchRun"]["spec"]["names"]["shortNames"] == ["pr"]
    assert CRDS["ScanSchedule"]["spec"]["names"]["shortNames"] == ["scan"]
    assert CRDS["Notifier"]["spec"]["names"]["shortNames"] == ["ntf"]


def test_patchpolicy_printer_columns_are_the_contracts() -> None:
    (version,) = CRDS["PatchPolicy"]["spec"]["versions"]
    names = [c["name"] for c in version["additionalPrinterColumns"]]
    assert names == ["Operation", "Compliant", "Ready", "Last Run", "Next Run", "Age"]


def _walk(schema: dict[str, Any], path: str) -> list[str]:
    missing = [] if schema.get("description") or path.endswith(".metadata") else [path]
    for name, sub in (schema.get("properties") or {}).items():
        missing += _walk(sub, f"{path}.{name}")
    if "items" in schema:
        missing += _walk(schema["items"], f"{path}[]")
    return missing


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_field_has_a_description(kind: str) -> None:
    """`kubectl explain` is only useful if every field says what it is."""
    assert _walk(version_schema(CRDS[kind]), kind) == []


def _schema_fields(schema: dict[str, Any]) -> set[str]:
    return set((schema.get("properties") or {}).keys())


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_crd_and_model_have_the_same_fields(kind: str) -> None:
    """A field in one and not the other is either pruned by the API server or rejected by the operator."""
    schema = version_schema(CRDS[kind])["properties"]
    model_spec = {f.alias for f in KINDS[kind].spec.model_fields.values()}
    model_status = {f.alias for f in KINDS[kind].status.model_fields.values()}
    assert _schema_fields(schema["spec"]) == model_spec
    assert _schema_fields(schema["status"]) == model_status


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_valid_sample_is_accepted_by_crd_and_model(path: Path) -> None:
    obj = _load(path)
    assert validate(CRDS[obj["kind"]], obj) == []
    parse_spec(KINDS[obj["kind"]].spec, obj["spec"])


def test_there_is_a_valid_sample_per_kind() -> None:
    assert {_load(p)["kind"] for p in SAMPLES} == set(KINDS)


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_sample_is_rejected_by_both_naming_the_field(path: Path) -> None:
    obj = _load(path)
    field = _expected_field(path)
    crd_errors = validate(CRDS[obj["kind"]], obj)
    assert field in [e.field for e in crd_errors], crd_errors
    with pytest.raises(SpecError) as caught:
        parse_spec(KINDS[obj["kind"]].spec, obj["spec"])
    assert caught.value.field == field
