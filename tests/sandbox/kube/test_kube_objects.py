"""Object semantics of create/get/update/patch through the `kubernetes` client, as on kube-apiserver."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tests.sandbox.kube.helpers import GROUP, PLURAL, VERSION, Http, widget

pytestmark = pytest.mark.usefixtures("widget_crd")


def _status(exc: ApiException) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(exc.body)
    return body


def test_create_sets_uid_resource_version_generation_and_timestamp(
    custom: k8s.CustomObjectsApi, namespace: str
) -> None:
    """Real: the server sets metadata.uid, resourceVersion, generation=1 and creationTimestamp (RFC 3339,
    second precision) on create; client-sent values for them are ignored."""
    body = widget("w1", namespace)
    body["metadata"]["uid"] = "client-chosen"
    body["metadata"]["resourceVersion"] = "12345"
    obj = custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
    md = obj["metadata"]
    assert md["uid"] != "client-chosen" and len(md["uid"]) == 36
    assert md["resourceVersion"].isdigit() and md["resourceVersion"] != "12345"
    assert md["generation"] == 1
    assert md["creationTimestamp"].endswith("Z") and len(md["creationTimestamp"]) == 20
    assert obj["apiVersion"] == "test.sreops.io/v1" and obj["kind"] == "Widget"


def test_resource_version_is_global_and_increasing(
    custom: k8s.CustomObjectsApi, core: k8s.CoreV1Api, namespace: str
) -> None:
    """Real: resourceVersion comes from one etcd revision counter shared by all kinds."""
    a = custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, widget("a", namespace))
    cm = core.create_namespaced_config_map(namespace, {"metadata": {"name": "c"}, "data": {"k": "v"}})
    b = custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, widget("b", namespace))
    versions = [
        int(a["metadata"]["resourceVersion"]),
        int(cm.metadata.resource_version),
        int(b["metadata"]["resourceVersion"]),
    ]
    assert versions == sorted(versions) and len(set(versions)) == 3


def test_generation_bumps_on_spec_changes_only(custom: k8s.CustomObjectsApi, namespace: str) -> None:
    """Real: with the status subresource, generation increments on spec changes, not on metadata
    (labels, annotations, finalizers) or status changes."""
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, widget("g", namespace))
    obj = custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "g", {"metadata": {"labels": {"x": "y"}}}
    )
    assert obj["metadata"]["generation"] == 1
    obj = custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, PLURAL, "g", {"status": {"observedGeneration": 1}}
    )
    assert obj["metadata"]["generation"] == 1
    obj = custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "g", {"spec": {"size": 4}})
    assert obj["metadata"]["generation"] == 2


def test_no_op_update_keeps_resource_version(custom: k8s.CustomObjectsApi, namespace: str) -> None:
    """Real: an update that changes nothing is not written: same resourceVersion, no watch event."""
    obj = custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, widget("n", namespace))
    again = custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "n", {"spec": {"size": 3}})
    assert again["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]


def test_generate_name_appends_five_characters(custom: k8s.CustomObjectsApi, namespace: str) -> None:
    """Real: metadata.generateName plus 5 random characters becomes the name when name is empty."""
    body = widget("", namespace)
    body["metadata"] = {"generateName": "run-"}
    obj = custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
    name = obj["metadata"]["name"]
    assert name.startswith("run-") and len(name) == len("run-") + 5


def test_create_twice_is_409_already_exists(custom: k8s.CustomObjectsApi, namespace: str) -> None:
    """Real: creating an existing name answers 409 with reason AlreadyExists and details.name."""
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, widget("dup", namespace))
    with pytest.raises(ApiException) as err:
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, widget("dup", namespace))
    assert err.value.status == 409
    status = _status(err.value)
    assert status["reason"] == "AlreadyExists"
    assert status["details"] == {"name": "dup", "group": GROUP, "kind": PLURAL}
    assert status["message"] == 'widgets.test.sreops.io "dup" already exists'


def test_stale_resource_version_is_409_conflict(custom: k8s.CustomObjectsApi, namespace: str) -> None:
    """Real: PUT or PATCH carrying an outdated metadata.resourceVersion fails with 409 Conflict
    ("the object has been modified; please apply your changes to the latest version")."""
    old = custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, widget("c", namespace))
    custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "c", {"spec": {"size": 5}})
    old["spec"]["size"] = 6
    with pytest.raises(ApiException) as err:
        custom.replace_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "c", old)
    assert err.value.status == 409 and _status(err.value)["reason"] == "Conflict"
    assert "the object has been modified" in _status(err.value)["message"]
    stale = {"metadata": {"resourceVersion": old["metadata"]["resourceVersion"]}, "spec": {"size": 7}}
    with pytest.raises(ApiException) as err:
        custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "c", stale)
    assert err.value.status == 409


def test_update_without_resource_version_is_rejected_for_custom_resources(
    custom: k8s.CustomObjectsApi, namespace: str
) -> None:
    """Real: custom resources do not allow unconditional updates: PUT without resourceVersion is 422."""
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, widget("u", namespace))
    with pytest.raises(ApiException) as err:
        custom.replace_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "u", widget("u", namespace))
    assert err.value.status == 422
    assert _status(err.value)["details"]["causes"][0]["field"] == "metadata.resourceVersion"


def test_missing_object_is_404_status(http: Http, namespace: str) -> None:
    """Real: GET of a missing object answers 404 with a Status: reason NotFound, details naming the
    resource (plural) and group, message `<resource>.<group> "<name>" not found`."""
    resp = http.request("GET", f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}/nope")
    assert resp.status == 404
    assert resp.body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'widgets.test.sreops.io "nope" not found',
        "reason": "NotFound",
        "code": 404,
        "details": {"name": "nope", "group": GROUP, "kind": PLURAL},
    }
    core = http.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/nope")
    assert core.body["message"] == 'configmaps "nope" not found'


def test_namespace_must_exist_for_namespaced_kinds(custom: k8s.CustomObjectsApi, core: k8s.CoreV1Api) -> None:
    """Real: creating into a missing namespace is 404 `namespaces "<ns>" not found`; cluster-scoped
    kinds (Namespace) need none."""
    with pytest.raises(ApiException) as err:
        custom.create_namespaced_custom_object(GROUP, VERSION, "no-such-ns", PLURAL, widget("w", "no-such-ns"))
    assert err.value.status == 404
    assert _status(err.value)["message"] == 'namespaces "no-such-ns" not found'
    ns = core.create_namespace({"metadata": {"name": "cluster-scoped-ok"}})
    assert ns.metadata.namespace is None
    assert ns.status.phase == "Active"


def test_status_subresource_isolation(custom: k8s.CustomObjectsApi, namespace: str) -> None:
    """Real: with the status subresource, writes to the main resource ignore .status, writes to
    /status change only .status (spec and labels in the body are ignored); create drops status."""
    body = widget("s", namespace)
    body["status"] = {"observedGeneration": 9}
    obj = custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
    assert "status" not in obj
    obj = custom.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        "s",
        {"spec": {"size": 9}, "metadata": {"labels": {"ignored": "yes"}}, "status": {"observedGeneration": 1}},
    )
    assert obj["spec"]["size"] == 3 and obj["status"] == {"observedGeneration": 1}
    assert "ignored" not in (obj["metadata"].get("labels") or {})
    obj = custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "s", {"spec": {"size": 2}, "status": {"observedGeneration": 5}}
    )
    assert obj["spec"]["size"] == 2 and obj["status"] == {"observedGeneration": 1}
    obj["status"] = {"observedGeneration": 7}
    replaced = custom.replace_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "s", obj)
    assert replaced["status"] == {"observedGeneration": 1}
    replaced["status"] = {"observedGeneration": 2}
    replaced["spec"]["size"] = 8
    after = custom.replace_namespaced_custom_object_status(GROUP, VERSION, namespace, PLURAL, "s", replaced)
    assert after["status"] == {"observedGeneration": 2} and after["spec"]["size"] == 2


def test_secret_string_data_is_encoded_into_data(core: k8s.CoreV1Api, namespace: str) -> None:
    """Real: Secret.stringData is write-only; the server base64-encodes it into .data, type defaults to Opaque."""
    secret = core.create_namespaced_secret(namespace, {"metadata": {"name": "s"}, "stringData": {"token": "abc"}})
    assert secret.data == {"token": "YWJj"} and secret.type == "Opaque"


def test_events_can_be_posted_in_core_and_events_groups(api_client: k8s.ApiClient, http: Http, namespace: str) -> None:
    """Real: core/v1 and events.k8s.io/v1 are two views of the same Event objects (kopf posts core/v1
    events; events.k8s.io shows involvedObject as `regarding` and message as `note`, and back)."""
    core = k8s.CoreV1Api(api_client)
    ev = core.create_namespaced_event(
        namespace,
        {
            "metadata": {"generateName": "w-"},
            "involvedObject": {"kind": "Widget", "name": "w", "namespace": namespace},
            "reason": "Tested",
            "message": "hello",
            "type": "Normal",
        },
    )
    assert ev.metadata.name.startswith("w-")
    listed = core.list_namespaced_event(namespace, field_selector="involvedObject.name=w")
    assert [e.reason for e in listed.items] == ["Tested"]
    events = k8s.EventsV1Api(api_client)
    new = events.create_namespaced_event(
        namespace,
        {
            "metadata": {"name": "e2"},
            "eventTime": "2026-01-01T00:00:00.000000Z",
            "reason": "R",
            "action": "A",
            "reportingController": "c",
            "reportingInstance": "i",
            "type": "Normal",
            "note": "n",
            "regarding": {"kind": "Widget", "name": "w"},
        },
    )
    assert new.metadata.name == "e2"
    via_core = core.read_namespaced_event("e2", namespace)
    assert via_core.message == "n" and via_core.involved_object.name == "w"
    assert via_core.reporting_component == "c"
    # A core event has no eventTime, which the client's events.k8s.io model insists on: read it raw.
    base = f"/apis/events.k8s.io/v1/namespaces/{namespace}/events"
    first = http.request("GET", f"{base}/{ev.metadata.name}").body
    assert first["note"] == "hello" and first["regarding"]["kind"] == "Widget"
    assert first["apiVersion"] == "events.k8s.io/v1"
    both = http.request("GET", f"{base}?fieldSelector=regarding.name%3Dw").body
    assert sorted(e["reason"] for e in both["items"]) == ["R", "Tested"]


def test_leases_support_optimistic_updates(api_client: k8s.ApiClient, namespace: str) -> None:
    """Real: coordination.k8s.io Lease objects are created and renewed with resourceVersion checks."""
    leases = k8s.CoordinationV1Api(api_client)
    lease = leases.create_namespaced_lease(namespace, {"metadata": {"name": "l"}, "spec": {"holderIdentity": "me"}})
    lease.spec.holder_identity = "you"
    renewed = leases.replace_namespaced_lease("l", namespace, lease)
    assert renewed.spec.holder_identity == "you"
    with pytest.raises(ApiException) as err:
        leases.replace_namespaced_lease("l", namespace, lease)
    assert err.value.status == 409


def test_lease_races_are_decided_by_the_server_as_client_go_expects(api_client: k8s.ApiClient, namespace: str) -> None:
    """Real (kube-apiserver, what client-go's LeaseLock relies on): two candidates creating the same Lease, the
    second gets 409 AlreadyExists; two updating from the same resourceVersion, the second gets 409 Conflict
    ("the object has been modified"), and the winner's spec, MicroTime fields included, is what is stored."""
    leases = k8s.CoordinationV1Api(api_client)
    body = {"metadata": {"name": "race"}, "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}}
    first = leases.create_namespaced_lease(namespace, body)
    with pytest.raises(ApiException) as created_twice:
        leases.create_namespaced_lease(namespace, {**body, "spec": {"holderIdentity": "b"}})
    assert created_twice.value.status == 409
    assert json.loads(created_twice.value.body)["reason"] == "AlreadyExists"
    rv = first.metadata.resource_version
    spec = {
        "holderIdentity": "b",
        "leaseDurationSeconds": 15,
        "leaseTransitions": 1,
        "renewTime": "2026-01-01T00:00:01.123456Z",
        "acquireTime": "2026-01-01T00:00:01.123456Z",
    }
    won = leases.replace_namespaced_lease(
        "race", namespace, {"metadata": {"name": "race", "resourceVersion": rv}, "spec": spec}
    )
    with pytest.raises(ApiException) as stale:
        leases.replace_namespaced_lease(
            "race", namespace, {"metadata": {"name": "race", "resourceVersion": rv}, "spec": {"holderIdentity": "c"}}
        )
    assert stale.value.status == 409
    assert json.loads(stale.value.body)["reason"] == "Conflict"
    stored = leases.read_namespaced_lease("race", namespace)
    assert stored.metadata.resource_version == won.metadata.resource_version
    assert stored.spec.holder_identity == "b" and stored.spec.lease_transitions == 1
    assert stored.spec.renew_time.microsecond == 123456


def test_bad_input_is_4xx_status_never_500(http: Http, namespace: str) -> None:
    """Real: malformed bodies, kinds or selectors are 400/415/422 with a Status object."""
    base = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}"
    cases = [
        http.request("POST", base, raw=b"{not json"),
        http.request("POST", base, raw=b"[1,2]"),
        http.request("POST", base, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}),
        http.request("POST", base, {"metadata": {"name": "Bad_Name"}, "spec": {"size": 1}}),
        http.request("GET", base + "?labelSelector=a%20in%20b"),
        http.request("GET", base + "?fieldSelector=spec.size=1"),
        http.request("PATCH", base + "/x", {"a": 1}, content_type="application/bogus"),
        http.request(
            "POST",
            base,
            {"metadata": {"name": "p"}, "spec": {"size": 1}},
            content_type="application/vnd.kubernetes.protobuf",
        ),
    ]
    for resp in cases:
        assert 400 <= resp.status < 500, resp.body
        assert resp.body["kind"] == "Status"
