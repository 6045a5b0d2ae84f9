"""Structural schema validation, CEL rules, pruning and defaults, as kube-apiserver applies them to CRs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tests.sandbox.kube.helpers import GROUP, PLURAL, VERSION, Http, widget

pytestmark = pytest.mark.usefixtures("widget_crd")


def _invalid(custom: k8s.CustomObjectsApi, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(ApiException) as err:
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
    assert err.value.status == 422
    status: dict[str, Any] = json.loads(err.value.body)
    assert status["reason"] == "Invalid"
    return status


def _fields(status: dict[str, Any]) -> dict[str, str]:
    return {c["field"]: c["reason"] for c in status["details"]["causes"]}


@pytest.mark.parametrize(
    ("spec", "field", "reason", "text"),
    [
        ({"size": "big"}, "spec.size", "FieldValueTypeInvalid", 'spec.size in body must be of type integer: "string"'),
        ({"size": 11}, "spec.size", "FieldValueInvalid", "spec.size in body should be less than or equal to 10"),
        ({"size": 0}, "spec.size", "FieldValueInvalid", "spec.size in body should be greater than or equal to 1"),
        ({"size": 1, "mode": "Warp"}, "spec.mode", "FieldValueNotSupported", 'supported values: "Fast", "Slow"'),
        ({"size": 1, "code": "ABC"}, "spec.code", "FieldValueInvalid", "spec.code in body should match '^[a-z]+$'"),
        ({"size": 1, "code": "abcdefghij"}, "spec.code", "FieldValueTooLong", "may not be more than 8 bytes"),
        ({"size": 1, "tags": ["a", "b", "c", "d"]}, "spec.tags", "FieldValueTooMany", "must have at most 3 items"),
        ({"size": 1, "tags": ["a", "a"]}, "spec.tags[1]", "FieldValueDuplicate", 'Duplicate value: "a"'),
        ({"size": 1, "labelsMap": {"k": 1}}, "spec.labelsMap[k]", "FieldValueTypeInvalid", "must be of type string"),
        ({"mode": "Fast"}, "spec.size", "FieldValueRequired", "Required value"),
    ],
)
def test_openapi_constraints_give_422_with_field_paths(
    custom: k8s.CustomObjectsApi, namespace: str, spec: dict[str, Any], field: str, reason: str, text: str
) -> None:
    """Real: the CRD's structural schema is enforced on create/update; failures are 422 Invalid with
    details.causes[] carrying `field` (e.g. spec.size) and a reason like FieldValueNotSupported."""
    body = widget("bad", namespace)
    body["spec"] = spec
    status = _invalid(custom, namespace, body)
    assert _fields(status) == {field: reason}
    assert text in status["details"]["causes"][0]["message"]
    assert status["message"].startswith('Widget.test.sreops.io "bad" is invalid: ' + field)


def test_missing_spec_is_required_at_the_root(custom: k8s.CustomObjectsApi, namespace: str) -> None:
    """Real: `required` at the schema root reports the top-level field name."""
    body = widget("nospec", namespace)
    del body["spec"]
    assert _fields(_invalid(custom, namespace, body)) == {"spec": "FieldValueRequired"}


def test_several_errors_are_reported_together(custom: k8s.CustomObjectsApi, namespace: str) -> None:
    """Real: all field errors come back in one 422, the message lists them in brackets."""
    status = _invalid(custom, namespace, widget("multi", namespace, size=99, mode="Nope"))
    assert set(_fields(status)) == {"spec.size", "spec.mode"}
    assert "is invalid: [" in status["message"]


def test_cel_rule_with_field_path(custom: k8s.CustomObjectsApi, namespace: str) -> None:
    """Real: an x-kubernetes-validations rule that fails reports at the rule's node joined with its
    fieldPath (spec.window.cutoffHours) and the rule's message, as `Invalid value: "object": ...`."""
    status = _invalid(custom, namespace, widget("cel", namespace, window={"durationHours": 2, "cutoffHours": 2}))
    cause = status["details"]["causes"][0]
    assert cause["field"] == "spec.window.cutoffHours"
    assert cause["message"] == 'Invalid value: "object": cutoffHours must be less than durationHours'
    ok = custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, widget("cel-ok", namespace, window={"durationHours": 3, "cutoffHours": 2})
    )
    assert ok["spec"]["window"] == {"durationHours": 3, "cutoffHours": 2}


def test_cel_transition_rule_uses_old_self_on_update_only(custom: k8s.CustomObjectsApi, namespace: str) -> None:
    """Real: rules that mention oldSelf are transition rules: skipped on create, checked on update."""
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, widget("imm", namespace, immutableId="a"))
    with pytest.raises(ApiException) as err:
        custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "imm", {"spec": {"immutableId": "b"}})
    assert err.value.status == 422
    cause = json.loads(err.value.body)["details"]["causes"][0]
    assert cause["field"] == "spec.immutableId" and "immutableId is immutable" in cause["message"]
    same = custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "imm", {"spec": {"size": 4}})
    assert same["spec"]["immutableId"] == "a"


def test_unknown_fields_are_pruned_and_defaults_applied(custom: k8s.CustomObjectsApi, namespace: str) -> None:
    """Real: fields not in the structural schema are dropped (pruning), `default`s are filled in; status
    with x-kubernetes-preserve-unknown-fields keeps unknown fields."""
    body = widget("prune", namespace)
    body["spec"]["unknown"] = {"deep": 1}
    body["extra"] = True
    obj = custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
    assert "unknown" not in obj["spec"] and "extra" not in obj
    assert obj["spec"]["mode"] == "Slow"
    obj = custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, PLURAL, "prune", {"status": {"anything": {"goes": True}}}
    )
    assert obj["status"]["anything"] == {"goes": True}


def test_strict_field_validation_rejects_unknown_fields(http: Http, namespace: str) -> None:
    """Real: ?fieldValidation=Strict (what kubectl sends) turns unknown fields into 400 BadRequest
    `strict decoding error: unknown field "spec.unknown"`; Warn returns a Warning header instead."""
    base = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}"
    body = widget("strict", namespace)
    body["spec"]["unknown"] = 1
    resp = http.request("POST", base + "?fieldValidation=Strict", body)
    assert resp.status == 400
    assert 'strict decoding error: unknown field "spec.unknown"' in resp.body["message"]
    resp = http.request("POST", base + "?fieldValidation=Warn", body)
    assert resp.status == 201
    assert 'unknown field \\"spec.unknown\\"' in resp.headers["Warning"]


def test_status_is_validated_too(custom: k8s.CustomObjectsApi, namespace: str) -> None:
    """Real: writes to /status are validated against the status schema (enum on condition status)."""
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, widget("st", namespace))
    with pytest.raises(ApiException) as err:
        custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, PLURAL, "st", {"status": {"conditions": [{"type": "Ready", "status": "Yes"}]}}
        )
    assert err.value.status == 422
    assert json.loads(err.value.body)["details"]["causes"][0]["field"] == "status.conditions[0].status"


def test_invalid_names_and_labels(custom: k8s.CustomObjectsApi, namespace: str) -> None:
    """Real: metadata.name must be a DNS-1123 subdomain; label values must be valid label values."""
    status = _invalid(custom, namespace, widget("Not_Valid", namespace))
    assert _fields(status) == {"metadata.name": "FieldValueInvalid"}
    body = widget("lbl", namespace)
    body["metadata"]["labels"] = {"ok": "not valid!"}
    assert _fields(_invalid(custom, namespace, body)) == {"metadata.labels": "FieldValueInvalid"}
