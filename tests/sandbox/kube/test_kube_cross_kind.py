"""No request reaches beyond its own resource and namespace: same names in other kinds, another group
with the same plural and kind, and other namespaces are always left out (lists, tables, selectors,
watches, deletecollection, garbage collection)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from kubernetes import client as k8s

from tests.sandbox.kube.helpers import GROUP, OTHER_CRD, OTHER_GROUP, PLURAL, VERSION, Http, eventually, widget

pytestmark = pytest.mark.usefixtures("widget_crd", "other_crd")

Obj = dict[str, Any]
WIDGETS = f"/apis/{GROUP}/{VERSION}"
OTHERS = f"/apis/{OTHER_GROUP}/v1"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


@pytest.fixture(scope="module")
def other_crd(api_client: k8s.ApiClient) -> None:
    k8s.ApiextensionsV1Api(api_client).create_custom_resource_definition(OTHER_CRD)


@pytest.fixture
def other_ns(core: k8s.CoreV1Api, namespace: str) -> str:
    core.create_namespace({"metadata": {"name": namespace + "-o"}})
    return namespace + "-o"


def _post(http: Http, path: str, body: Obj) -> Obj:
    resp = http.request("POST", path, body)
    assert resp.status == 201, resp.body
    created: Obj = resp.body
    return created


def _same_names(http: Http, name: str, namespace: str, labels: dict[str, str] | None = None) -> dict[str, Obj]:
    """One object named `name` of each kind in `namespace`: widget, other-group widget, ConfigMap, Secret."""
    md = {"name": name, "labels": labels or {}}
    return {
        "widget": _post(http, f"{WIDGETS}/namespaces/{namespace}/{PLURAL}", {"metadata": md, "spec": {"size": 3}}),
        "other": _post(http, f"{OTHERS}/namespaces/{namespace}/widgets", {"metadata": md, "spec": {"x": 1}}),
        "configmap": _post(http, f"/api/v1/namespaces/{namespace}/configmaps", {"metadata": md, "data": {"k": "v"}}),
        "secret": _post(http, f"/api/v1/namespaces/{namespace}/secrets", {"metadata": md, "stringData": {"k": "v"}}),
    }


def _where(listing: Obj) -> list[tuple[str, str]]:
    return [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in listing["items"]]


def _get(http: Http, path: str, headers: dict[str, str] | None = None) -> Obj:
    resp = http.request("GET", path, headers=headers)
    assert resp.status == 200, resp.body
    body: Obj = resp.body
    return body


def test_lists_and_field_selectors_stay_in_their_resource(http: Http, namespace: str, other_ns: str) -> None:
    """Real: a list, namespaced or across namespaces, holds only its group+resource; fieldSelector
    metadata.name / metadata.namespace select within it, never objects of other kinds."""
    name = "x" + os.urandom(3).hex()
    _same_names(http, name, namespace)
    _same_names(http, name, other_ns)
    by_name = f"fieldSelector=metadata.name%3D{name}"

    local = _get(http, f"{WIDGETS}/namespaces/{namespace}/{PLURAL}")
    assert (local["kind"], local["apiVersion"]) == ("WidgetList", f"{GROUP}/{VERSION}")
    assert _where(local) == [(namespace, name)]
    assert {(o["kind"], o["apiVersion"]) for o in local["items"]} == {("Widget", f"{GROUP}/{VERSION}")}
    everywhere = _get(http, f"{WIDGETS}/{PLURAL}?{by_name}")
    assert _where(everywhere) == [(namespace, name), (other_ns, name)]
    assert {o["apiVersion"] for o in everywhere["items"]} == {f"{GROUP}/{VERSION}"}
    others = _get(http, f"{OTHERS}/widgets?{by_name}")
    assert _where(others) == [(namespace, name), (other_ns, name)]
    assert {o["apiVersion"] for o in others["items"]} == {f"{OTHER_GROUP}/v1"}

    configmaps = _get(http, f"/api/v1/configmaps?{by_name}")
    assert configmaps["kind"] == "ConfigMapList"
    assert _where(configmaps) == [(namespace, name), (other_ns, name)]
    assert all(o["data"] == {"k": "v"} for o in configmaps["items"])
    in_ns = _get(http, f"/api/v1/secrets?fieldSelector=metadata.namespace%3D{namespace}")
    assert _where(in_ns) == [(namespace, name)]
    assert _where(_get(http, f"/api/v1/namespaces/{other_ns}/secrets")) == [(other_ns, name)]
    both = _get(
        http, f"{WIDGETS}/{PLURAL}?fieldSelector={quote(f'metadata.name={name},metadata.namespace!={namespace}')}"
    )
    assert _where(both) == [(other_ns, name)]


def test_tables_show_only_their_resource(http: Http, namespace: str, other_ns: str) -> None:
    """Real: a Table (kubectl get) lists the rows of its resource with that resource's columns."""
    name = "t" + os.urandom(3).hex()
    _same_names(http, name, namespace)
    _same_names(http, name, other_ns)
    headers = {"Accept": TABLE}
    widgets = _get(http, f"{WIDGETS}/namespaces/{namespace}/{PLURAL}?includeObject=Object", headers)
    assert widgets["kind"] == "Table"
    assert [c["name"] for c in widgets["columnDefinitions"]] == ["Name", "Size", "Ready", "Mode", "Age"]
    assert [r["cells"][0] for r in widgets["rows"]] == [name]
    assert widgets["rows"][0]["object"]["apiVersion"] == f"{GROUP}/{VERSION}"
    configmaps = _get(http, f"/api/v1/configmaps?fieldSelector=metadata.name%3D{name}", headers)
    assert [c["name"] for c in configmaps["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert [r["cells"][:2] for r in configmaps["rows"]] == [[name, 1], [name, 1]]
    namespaces = [r["object"]["metadata"]["namespace"] for r in configmaps["rows"]]
    assert namespaces == [namespace, other_ns]


def _watch(http: Http, path: str, done: Callable[[Obj], bool], headers: dict[str, str] | None = None) -> list[Obj]:
    events = []
    with http.stream(path, headers) as resp:
        for line in resp:
            events.append(json.loads(line))
            if done(events[-1]):
                break
    return events


def test_watches_with_field_selectors_across_namespaces(http: Http, namespace: str, other_ns: str) -> None:
    """Real: a watch across all namespaces sees its resource in every namespace and nothing else;
    fieldSelector metadata.name / metadata.namespace narrow it; a Table watch carries rows of its kind."""
    name = "f" + os.urandom(3).hex()
    rv = _get(http, "/api/v1/namespaces")["metadata"]["resourceVersion"]
    _same_names(http, name, namespace)
    _same_names(http, name, other_ns)
    _same_names(http, name + "y", namespace)
    _post(http, f"{WIDGETS}/namespaces/{namespace}/{PLURAL}", widget("zz" + name, namespace))  # the end marker

    by_name = _watch(
        http,
        f"{WIDGETS}/{PLURAL}?watch=true&timeoutSeconds=10&resourceVersion={rv}&fieldSelector=metadata.name%3D{name}",
        lambda e: e["object"]["metadata"]["namespace"] == other_ns,
    )
    assert [(e["type"], e["object"]["metadata"]["namespace"]) for e in by_name] == [
        ("ADDED", namespace),
        ("ADDED", other_ns),
    ]
    assert {e["object"]["apiVersion"] for e in by_name} == {f"{GROUP}/{VERSION}"}

    in_ns = _watch(
        http,
        f"{WIDGETS}/{PLURAL}?watch=true&timeoutSeconds=10&resourceVersion={rv}&fieldSelector=metadata.namespace%3D{namespace}",
        lambda e: e["object"]["metadata"]["name"].startswith("zz"),
    )
    assert [e["object"]["metadata"]["name"] for e in in_ns] == [name, name + "y", "zz" + name]

    table = _watch(
        http,
        f"/api/v1/secrets?watch=true&timeoutSeconds=10&resourceVersion={rv}&includeObject=Object",
        lambda e: e["object"]["rows"][0]["object"]["metadata"]["name"] == name + "y",
        {"Accept": TABLE},
    )
    assert {e["object"]["kind"] for e in table} == {"Table"}
    rows = [(r["object"]["metadata"]["namespace"], r["cells"][0]) for e in table for r in e["object"]["rows"]]
    assert rows == [(namespace, name), (other_ns, name), (namespace, name + "y")]
    assert {r["cells"][1] for e in table for r in e["object"]["rows"]} == {"Opaque"}  # the Type column


def test_delete_collection_deletes_only_its_resource_in_its_namespace(
    http: Http, namespace: str, other_ns: str
) -> None:
    """Real: deletecollection with a labelSelector deletes the matching objects of its resource in its
    namespace only; across all namespaces a namespaced resource has no deletecollection or create
    (built-ins: 405 MethodNotAllowed; custom resources: 404)."""
    name = "d" + os.urandom(3).hex()
    labels = {"app": name}
    _same_names(http, name, namespace, labels)
    _same_names(http, name, other_ns, labels)
    selector = f"labelSelector=app%3D{name}"

    resp = http.request("DELETE", f"{WIDGETS}/namespaces/{namespace}/{PLURAL}?{selector}")
    assert resp.status == 200 and _where(resp.body) == [(namespace, name)]
    assert _where(_get(http, f"{WIDGETS}/{PLURAL}?{selector}")) == [(other_ns, name)]
    assert _where(_get(http, f"{OTHERS}/widgets?{selector}")) == [(namespace, name), (other_ns, name)]
    assert _where(_get(http, f"/api/v1/configmaps?{selector}")) == [(namespace, name), (other_ns, name)]

    for path, code in ((f"/api/v1/configmaps?{selector}", 405), (f"{WIDGETS}/{PLURAL}?{selector}", 404)):
        assert http.request("DELETE", path).status == code
        assert http.request("POST", path, {"metadata": {"name": "n", "namespace": namespace}}).status == code
    assert _where(_get(http, f"/api/v1/configmaps?{selector}")) == [(namespace, name), (other_ns, name)]
    assert _where(_get(http, f"{WIDGETS}/{PLURAL}?{selector}")) == [(other_ns, name)]


def _ref(owner: Obj, **override: str) -> Obj:
    md = owner["metadata"]
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": md["name"], "uid": md["uid"], **override}


def _owned(http: Http, path: str, name: str, refs: list[Obj], extra: Obj) -> None:
    _post(http, path, {"metadata": {"name": name, "ownerReferences": refs}, **extra})


def _exists(http: Http, path: str) -> bool:
    return http.request("GET", path).status == 200


def test_garbage_collection_cascades_only_to_true_dependents(http: Http, namespace: str, other_ns: str) -> None:
    """Real: the garbage collector finds an owner by the reference's group, kind, name (in the
    dependent's namespace) and uid; a reference whose uid belongs to an object of another kind or
    namespace names an absent owner, so its dependent is collected; deleting an owner collects only
    the objects that reference it, not those of same-named owners of other kinds or groups."""
    owners = _same_names(http, "owner", namespace)
    cms = f"/api/v1/namespaces/{namespace}/configmaps"
    widgets = f"{WIDGETS}/namespaces/{namespace}/{PLURAL}"
    secrets = f"/api/v1/namespaces/{namespace}/secrets"
    _owned(http, cms, "of-widget", [_ref(owners["widget"])], {})
    _owned(http, widgets, "of-configmap", [_ref(owners["configmap"])], {"spec": {"size": 1}})
    _owned(http, secrets, "of-other", [_ref(owners["other"])], {})
    # The widget's uid under the ConfigMap's coordinates, or under another group: no such owner.
    _owned(http, cms, "kind-mismatch", [_ref(owners["widget"], kind="ConfigMap", apiVersion="v1")], {})
    _owned(http, cms, "group-mismatch", [_ref(owners["widget"], apiVersion=f"{OTHER_GROUP}/v1")], {})
    _owned(http, f"/api/v1/namespaces/{other_ns}/configmaps", "elsewhere", [_ref(owners["widget"])], {})
    eventually(
        lambda: (
            not any(
                _exists(http, p)
                for p in (
                    f"{cms}/kind-mismatch",
                    f"{cms}/group-mismatch",
                    f"/api/v1/namespaces/{other_ns}/configmaps/elsewhere",
                )
            )
        )
    )
    assert all(_exists(http, p) for p in (f"{cms}/of-widget", f"{widgets}/of-configmap", f"{secrets}/of-other"))

    assert http.request("DELETE", f"{widgets}/owner").status == 200
    eventually(lambda: not _exists(http, f"{cms}/of-widget"))
    assert _exists(http, f"{widgets}/of-configmap") and _exists(http, f"{secrets}/of-other")
    assert http.request("DELETE", f"{cms}/owner").status == 200
    eventually(lambda: not _exists(http, f"{widgets}/of-configmap"))
    assert _exists(http, f"{secrets}/of-other")
