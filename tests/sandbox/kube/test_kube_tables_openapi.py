"""Server-side Table printing and the OpenAPI documents."""

from __future__ import annotations

import pytest
from kubernetes import client as k8s

from sreops.sandbox.kube.jsonpath import find
from sreops.sandbox.kube.meta import human_age
from tests.sandbox.kube.helpers import GROUP, PLURAL, VERSION, Http, widget

pytestmark = pytest.mark.usefixtures("widget_crd")

TABLE = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
)


def test_table_uses_additional_printer_columns(http: Http, custom: k8s.CustomObjectsApi, namespace: str) -> None:
    """Real: with `Accept: ...as=Table;g=meta.k8s.io`, a CR list comes back as a meta.k8s.io/v1 Table:
    Name, then the printer columns (priority kept for -o wide); cells are the first JSONPath result,
    null when absent; `date` columns are ages; rows embed PartialObjectMetadata."""
    custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, widget("t1", namespace, size=4, mode="Fast")
    )
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, widget("t2", namespace))
    custom.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        "t1",
        {"status": {"conditions": [{"type": "Other", "status": "False"}, {"type": "Ready", "status": "True"}]}},
    )
    resp = http.request("GET", f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}", headers={"Accept": TABLE})
    table = resp.body
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Size", "Ready", "Mode", "Age"]
    assert [c["priority"] for c in table["columnDefinitions"]] == [0, 0, 0, 1, 0]
    rows = {r["cells"][0]: r for r in table["rows"]}
    assert rows["t1"]["cells"][1:4] == [4, "True", "Fast"]
    assert rows["t2"]["cells"][2] is None
    assert rows["t1"]["cells"][4].endswith("s")
    assert rows["t1"]["object"]["kind"] == "PartialObjectMetadata"
    assert rows["t1"]["object"]["metadata"]["name"] == "t1"
    assert table["metadata"]["resourceVersion"]


def test_single_object_table_and_include_object(http: Http, custom: k8s.CustomObjectsApi, namespace: str) -> None:
    """Real: GET of one object can be a Table too; includeObject=Object embeds the full object."""
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, widget("one", namespace))
    resp = http.request(
        "GET",
        f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}/one?includeObject=Object",
        headers={"Accept": TABLE},
    )
    assert resp.body["kind"] == "Table" and len(resp.body["rows"]) == 1
    assert resp.body["rows"][0]["object"]["spec"]["size"] == 3


def test_builtin_tables(http: Http, namespace: str) -> None:
    """Real: built-ins print their usual columns: namespaces NAME/STATUS/AGE, configmaps NAME/DATA/AGE."""
    resp = http.request("GET", "/api/v1/namespaces", headers={"Accept": TABLE})
    assert [c["name"] for c in resp.body["columnDefinitions"]] == ["Name", "Status", "Age"]
    assert resp.body["rows"][0]["cells"][:2] == ["default", "Active"]
    http.request("POST", f"/api/v1/namespaces/{namespace}/configmaps", {"metadata": {"name": "c"}, "data": {"a": "1"}})
    resp = http.request("GET", f"/api/v1/namespaces/{namespace}/configmaps", headers={"Accept": TABLE})
    assert resp.body["rows"][0]["cells"][:2] == ["c", 1]


def test_plain_json_when_table_not_requested(http: Http, namespace: str) -> None:
    """Real: the Table is only served when asked for; plain application/json gets the list."""
    resp = http.request(
        "GET", f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}", headers={"Accept": "application/json"}
    )
    assert resp.body["kind"] == "WidgetList"


def test_jsonpath_subset_used_by_printer_columns() -> None:
    """Real printer columns use simple JSONPath: fields, indexes, wildcards and filters."""
    obj = {
        "status": {"conditions": [{"type": "A", "status": "x"}, {"type": "Ready", "status": "True"}]},
        "spec": {"l": [1, 2]},
    }
    assert find(obj, '.status.conditions[?(@.type=="Ready")].status') == ["True"]
    assert find(obj, ".spec.l[1]") == [2]
    assert find(obj, ".spec.l[*]") == [1, 2]
    assert find(obj, "{.spec.missing}") == []


def test_human_age_format() -> None:
    """Real: ages print like kubectl's (apimachinery HumanDuration)."""
    assert human_age("2000-01-01T00:00:00Z").endswith("y")
    assert human_age(None) == "<unknown>"


def test_openapi_v3_index_and_group_document(http: Http) -> None:
    """Real: /openapi/v3 lists group-versions with a serverRelativeURL carrying a hash; each document
    has the kind's schema under components.schemas with x-kubernetes-group-version-kind and `metadata`
    referring to ObjectMeta; PATCH operations declare fieldValidation (kubectl checks for it) and list
    strategic merge only for built-ins."""
    index = http.request("GET", "/openapi/v3").body
    url = index["paths"]["apis/test.sreops.io/v1"]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/apis/test.sreops.io/v1?hash=")
    doc = http.request("GET", url).body
    schema = doc["components"]["schemas"]["io.sreops.test.v1.Widget"]
    assert schema["x-kubernetes-group-version-kind"] == [{"group": GROUP, "version": VERSION, "kind": "Widget"}]
    assert schema["properties"]["spec"]["properties"]["window"]["description"] == "A time window."
    assert schema["properties"]["metadata"]["allOf"][0]["$ref"].endswith("meta.v1.ObjectMeta")
    patch = doc["paths"]["/apis/test.sreops.io/v1/namespaces/{namespace}/widgets/{name}"]["patch"]
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    assert "application/strategic-merge-patch+json" not in patch["requestBody"]["content"]
    core = http.request("GET", index["paths"]["api/v1"]["serverRelativeURL"]).body
    cm_patch = core["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"]["patch"]
    assert "application/strategic-merge-patch+json" in cm_patch["requestBody"]["content"]


def test_openapi_v2_json(http: Http) -> None:
    """Real: /openapi/v2 is a Swagger 2.0 document with definitions per kind (JSON form; the protobuf
    form is not served: 406)."""
    doc = http.request("GET", "/openapi/v2", headers={"Accept": "application/json"}).body
    assert doc["swagger"] == "2.0"
    assert "io.sreops.test.v1.Widget" in doc["definitions"]
    assert "io.k8s.api.core.v1.ConfigMap" in doc["definitions"]
    pb = http.request(
        "GET", "/openapi/v2", headers={"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"}
    )
    assert pb.status == 406
