"""Discovery, authentication and the kubeconfig, compared with what kube-apiserver serves."""

from __future__ import annotations

import copy
import ssl
import time
from typing import Any

import yaml
from kubernetes import client as k8s

from sreops.sandbox.kube import ThreadHandle
from tests.sandbox.kube.helpers import WIDGET_CRD, Http


def _resources(http: Http, path: str) -> dict[str, dict[str, Any]]:
    resp = http.request("GET", path)
    assert resp.status == 200
    assert resp.body["kind"] == "APIResourceList"
    return {r["name"]: r for r in resp.body["resources"]}


def test_version_is_served_to_anonymous_clients(http: Http) -> None:
    """Real: /version is readable without credentials (system:public-info-viewer) and names the release."""
    resp = http.request("GET", "/version", token=None)
    assert resp.status == 200
    assert resp.body["major"] == "1" and resp.body["minor"] == "32"
    assert resp.body["gitVersion"].startswith("v1.32")


def test_api_lists_core_v1(http: Http) -> None:
    """Real: GET /api returns APIVersions with versions [v1] and serverAddressByClientCIDRs."""
    resp = http.request("GET", "/api")
    assert resp.body["kind"] == "APIVersions"
    assert resp.body["versions"] == ["v1"]
    assert resp.body["serverAddressByClientCIDRs"]


def test_core_v1_resources_have_verbs_short_names_and_scope(http: Http) -> None:
    """Real: /api/v1 lists namespaces (cluster-scoped, ns), configmaps (cm), secrets, events (ev),
    plus `namespaces/status`, each with the verbs kubectl and kopf check before watching."""
    res = _resources(http, "/api/v1")
    assert res["namespaces"]["namespaced"] is False
    assert res["namespaces"]["shortNames"] == ["ns"]
    assert res["configmaps"]["shortNames"] == ["cm"]
    assert res["events"]["shortNames"] == ["ev"]
    assert res["secrets"]["kind"] == "Secret" and res["secrets"]["namespaced"] is True
    assert "namespaces/status" in res
    for name in ("namespaces", "configmaps", "secrets", "events"):
        assert {"create", "delete", "get", "list", "patch", "update", "watch"} <= set(res[name]["verbs"])


def test_api_groups_include_events_coordination_and_apiextensions(http: Http) -> None:
    """Real: /apis is an APIGroupList with preferredVersion per group; events.k8s.io/v1 Event and
    coordination.k8s.io/v1 Lease are served."""
    resp = http.request("GET", "/apis")
    groups = {g["name"]: g for g in resp.body["groups"]}
    assert {"events.k8s.io", "coordination.k8s.io", "apiextensions.k8s.io"} <= set(groups)
    assert groups["coordination.k8s.io"]["preferredVersion"] == {
        "groupVersion": "coordination.k8s.io/v1",
        "version": "v1",
    }
    assert _resources(http, "/apis/events.k8s.io/v1")["events"]["kind"] == "Event"
    assert _resources(http, "/apis/coordination.k8s.io/v1")["leases"]["namespaced"] is True
    assert http.request("GET", "/apis/coordination.k8s.io").body["kind"] == "APIGroup"


def test_crd_registers_its_kind_with_names_categories_and_status(http: Http, widget_crd: dict[str, Any]) -> None:
    """Real: creating a CRD makes the group appear in /apis and its kind in /apis/<g>/<v> with
    shortNames, categories, the namespaced flag and a `<plural>/status` entry; the CRD's status says
    Established and NamesAccepted."""
    assert widget_crd["status"]["acceptedNames"]["kind"] == "Widget"
    conditions = {c["type"]: c["status"] for c in widget_crd["status"]["conditions"]}
    assert conditions["Established"] == "True" and conditions["NamesAccepted"] == "True"
    groups = {g["name"] for g in http.request("GET", "/apis").body["groups"]}
    assert "test.sreops.io" in groups
    res = _resources(http, "/apis/test.sreops.io/v1")
    assert res["widgets"]["shortNames"] == ["wd"]
    assert res["widgets"]["categories"] == ["testing"]
    assert res["widgets"]["singularName"] == "widget"
    assert res["widgets"]["namespaced"] is True
    assert "widgets/status" in res


def test_deleting_a_crd_removes_its_kind_and_objects(http: Http, api_client: k8s.ApiClient) -> None:
    """Real: deleting a CRD deletes its custom resources (customresourcecleanup finalizer), then the
    group-version disappears from discovery."""
    crd = copy.deepcopy(WIDGET_CRD)
    crd["metadata"]["name"] = "gadgets.gone.sreops.io"
    crd["spec"]["group"] = "gone.sreops.io"
    crd["spec"]["names"] = {"kind": "Gadget", "plural": "gadgets", "singular": "gadget"}
    ext = k8s.ApiextensionsV1Api(api_client)
    ext.create_custom_resource_definition(crd)
    custom = k8s.CustomObjectsApi(api_client)
    custom.create_namespaced_custom_object(
        "gone.sreops.io",
        "v1",
        "default",
        "gadgets",
        {"apiVersion": "gone.sreops.io/v1", "kind": "Gadget", "metadata": {"name": "g1"}, "spec": {"size": 1}},
    )
    ext.delete_custom_resource_definition("gadgets.gone.sreops.io")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and http.request("GET", "/apis/gone.sreops.io/v1").status != 404:
        time.sleep(0.05)
    assert http.request("GET", "/apis/gone.sreops.io/v1").status == 404
    assert http.request("GET", "/apis/gone.sreops.io/v1/namespaces/default/gadgets").status == 404
    assert "gone.sreops.io" not in {g["name"] for g in http.request("GET", "/apis").body["groups"]}


def test_missing_or_unknown_token_gets_401_status(http: Http) -> None:
    """Real: an unauthenticated request gets 401 with a Status whose reason is Unauthorized."""
    for token in (None, "not-the-token"):
        resp = http.request("GET", "/api/v1/namespaces", token=token)
        assert resp.status == 401
        assert resp.body["kind"] == "Status"
        assert resp.body["reason"] == "Unauthorized"
        assert resp.body["code"] == 401


def test_kubeconfig_points_at_the_server_with_token_and_ca(kube: ThreadHandle) -> None:
    """Real clusters hand out a kubeconfig whose current context reaches the API over https with the
    cluster CA and a bearer token; clients only send tokens over https."""
    config = yaml.safe_load(kube.kubeconfig_path.read_text())
    context = next(c for c in config["contexts"] if c["name"] == config["current-context"])["context"]
    cluster = next(c for c in config["clusters"] if c["name"] == context["cluster"])["cluster"]
    user = next(u for u in config["users"] if u["name"] == context["user"])["user"]
    assert cluster["server"] == kube.url and kube.url.startswith("https://127.0.0.1:")
    assert cluster["certificate-authority-data"]
    assert user["token"] == kube.token
    ssl.create_default_context(cafile=str(kube.server.state_dir / "ca.crt"))  # a valid CA file


def test_unknown_paths_are_404_status(http: Http) -> None:
    """Real: unknown paths and resources answer 404 with a Status, never an HTML page or a 500."""
    for path in ("/apis/nope.io/v1", "/apis/nope.io/v1/things", "/api/v1/nothings", "/whatever"):
        resp = http.request("GET", path)
        assert resp.status == 404, path
        assert resp.body["kind"] == "Status" and resp.body["reason"] == "NotFound"
