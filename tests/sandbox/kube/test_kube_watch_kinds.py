"""A watch serves one resource: every path of it delivers only the watched group+resource's changes.

kube-apiserver keeps one watch cache per resource, so a watch of widgets never sees a ConfigMap, an
Event or the widgets of another group, whether its events come from the initial list, from
`sendInitialEvents`, from a replay after a resourceVersion, or live. Each test interleaves changes of
every other kind (and of the watched kind in another namespace) with the watched kind's own changes
and asserts that the stream carries exactly the own changes, each object with the watched kind and
apiVersion. (kopf resumes its watches from the last resourceVersion every few minutes; its CRD
watch once got ConfigMaps labelled as CRDs and stopped the operator.)
"""

from __future__ import annotations

import http.client as http_client
import json
import os
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from tests.sandbox.kube.helpers import OTHER_CRD, OTHER_GROUP, WIDGET_CRD, Http, start_server

pytestmark = pytest.mark.usefixtures("widget_crd", "other_crd")

Obj = dict[str, Any]


@pytest.fixture(scope="module")
def other_crd(api_client: k8s.ApiClient) -> None:
    k8s.ApiextensionsV1Api(api_client).create_custom_resource_definition(OTHER_CRD)


@dataclass(frozen=True)
class Kind:
    base: str
    plural: str
    kind: str
    api_version: str
    namespaced: bool
    body: Callable[[str, str], Obj]  # (name, namespace) -> the object to create
    storage: str  # kinds with one storage (the two Event APIs) show each other's objects
    write_base: str = ""  # where objects are written, when not `base` (events.k8s.io: through core/v1)

    def collection(self, namespace: str | None, *, write: bool = False) -> str:
        base = (self.write_base or self.base) if write else self.base
        if self.namespaced and namespace is not None:
            return f"{base}/namespaces/{namespace}/{self.plural}"
        return f"{base}/{self.plural}"

    def object_name(self, name: str) -> str:
        return f"{name}.churn.sreops.io" if self.plural == "customresourcedefinitions" else name


def _crd(name: str, _ns: str) -> Obj:
    schema = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    return {
        "metadata": {"name": f"{name}.churn.sreops.io"},
        "spec": {
            "group": "churn.sreops.io",
            "scope": "Namespaced",
            "names": {"kind": name.capitalize(), "plural": name},
            "versions": [{"name": "v1", "served": True, "storage": True, "schema": schema}],
        },
    }


def _event(_name: str, ns: str) -> Obj:
    return {
        "involvedObject": {"kind": "Widget", "name": "w", "namespace": ns},
        "reason": "Churn",
        "message": "m",
        "type": "Normal",
    }


KINDS: dict[str, Kind] = {
    "widgets": Kind(
        "/apis/test.sreops.io/v1",
        "widgets",
        "Widget",
        "test.sreops.io/v1",
        True,
        lambda n, s: {"spec": {"size": 3}},
        "w",
    ),
    "other-widgets": Kind(
        f"/apis/{OTHER_GROUP}/v1", "widgets", "Widget", f"{OTHER_GROUP}/v1", True, lambda n, s: {"spec": {"x": 1}}, "o"
    ),
    "configmaps": Kind("/api/v1", "configmaps", "ConfigMap", "v1", True, lambda n, s: {"data": {"k": "v"}}, "cm"),
    "secrets": Kind("/api/v1", "secrets", "Secret", "v1", True, lambda n, s: {"stringData": {"k": "v"}}, "s"),
    "events": Kind("/api/v1", "events", "Event", "v1", True, _event, "ev"),
    "events.k8s.io": Kind(
        "/apis/events.k8s.io/v1", "events", "Event", "events.k8s.io/v1", True, _event, "ev", write_base="/api/v1"
    ),
    "leases": Kind(
        "/apis/coordination.k8s.io/v1",
        "leases",
        "Lease",
        "coordination.k8s.io/v1",
        True,
        lambda n, s: {"spec": {"holderIdentity": "me"}},
        "l",
    ),
    "namespaces": Kind("/api/v1", "namespaces", "Namespace", "v1", False, lambda n, s: {}, "ns"),
    "crds": Kind(
        "/apis/apiextensions.k8s.io/v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        "apiextensions.k8s.io/v1",
        False,
        _crd,
        "crd",
    ),
}


class Writer:
    """Creates, labels and deletes objects of any kind through raw HTTP on one kept-alive connection
    (hundreds of writes per test), failing on any error."""

    def __init__(self, http: Http) -> None:
        url = urllib.parse.urlsplit(http.base)
        self.conn = http_client.HTTPSConnection(url.hostname or "", url.port, context=http.context, timeout=30)
        self.token = http.token

    def _ok(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> None:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": content_type}
        self.conn.request(method, path, json.dumps(body) if body is not None else None, headers)
        resp = self.conn.getresponse()
        text = resp.read()
        assert resp.status in (200, 201), (method, path, text)

    def close(self) -> None:
        self.conn.close()

    def create(self, kind: Kind, ns: str, name: str) -> None:
        body = {"metadata": {"name": name}, **kind.body(name, ns)}
        self._ok("POST", kind.collection(ns, write=True), body)

    def label(self, kind: Kind, ns: str, name: str) -> None:
        path = f"{kind.collection(ns, write=True)}/{kind.object_name(name)}"
        self._ok("PATCH", path, {"metadata": {"labels": {"touched": "yes"}}}, "application/merge-patch+json")

    def delete(self, kind: Kind, ns: str, name: str) -> None:
        self._ok("DELETE", f"{kind.collection(ns, write=True)}/{kind.object_name(name)}")

    def churn(self, watched: Kind, ns: str, other_ns: str, name: str) -> None:
        """Creates, changes and deletes one object of every other kind in `ns`, and one of the watched
        kind in `other_ns` (when it is namespaced)."""
        for kind in KINDS.values():
            if kind.storage == watched.storage:
                continue
            own = f"{name}{kind.storage}"
            self.create(kind, ns, own)
            self.label(kind, ns, own)
            self.delete(kind, ns, own)
        if watched.namespaced:
            self.create(watched, other_ns, name)
            self.label(watched, other_ns, name)
            self.delete(watched, other_ns, name)


@pytest.fixture
def writer(http: Http) -> Iterator[Writer]:
    w = Writer(http)
    yield w
    w.close()


def _list_rv(http: Http, path: str) -> str:
    resp = http.request("GET", path)
    assert resp.status == 200, resp.body
    rv: str = resp.body["metadata"]["resourceVersion"]
    return rv


def _read_until(resp: Any, done: Callable[[Obj], bool]) -> list[Obj]:
    events = []
    for line in resp:
        event = json.loads(line)
        events.append(event)
        if done(event):
            break
    return events


def _check_kinds(events: list[Obj], kind: Kind, namespace: str | None) -> None:
    for event in events:
        assert event["type"] in ("ADDED", "MODIFIED", "DELETED", "BOOKMARK"), event
        obj = event["object"]
        assert (obj["kind"], obj["apiVersion"]) == (kind.kind, kind.api_version), event
        if namespace is not None and event["type"] != "BOOKMARK":
            assert obj["metadata"]["namespace"] == namespace, event


def _own(events: list[Obj], token: str) -> list[tuple[str, str]]:
    return [
        (e["type"], e["object"]["metadata"]["name"])
        for e in events
        if e["type"] != "BOOKMARK" and e["object"]["metadata"]["name"].startswith(token)
    ]


INITIAL_QUERIES = {
    "rv-unset": "",
    "rv-0": "&resourceVersion=0",
    "send-initial-events": "&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true",
}


@pytest.mark.parametrize("key", list(KINDS))
@pytest.mark.parametrize("mode", ["replay", "live", *INITIAL_QUERIES])
def test_watch_delivers_only_its_resource(
    http: Http, writer: Writer, core: k8s.CoreV1Api, namespace: str, key: str, mode: str
) -> None:
    """Real: whatever else changes, a watch of a resource (in a namespace, for namespaced kinds) carries
    only that resource's events; replayed, initial and live events alike; bookmarks carry its kind too."""
    kind = KINDS[key]
    other_ns = namespace + "-o"
    core.create_namespace({"metadata": {"name": other_ns}})
    token = "k" + os.urandom(3).hex()
    first, last = f"{token}a", f"{token}b"
    watch_ns = namespace if kind.namespaced else None
    path = kind.collection(watch_ns) + "?watch=true&timeoutSeconds=10"
    rv = _list_rv(http, kind.collection(watch_ns))

    def is_last(event: Obj) -> bool:
        return event["type"] == "ADDED" and event["object"]["metadata"]["name"] == kind.object_name(last)

    def own_changes() -> None:
        writer.churn(kind, namespace, other_ns, f"{token}x")
        writer.create(kind, namespace, first)
        writer.churn(kind, namespace, other_ns, f"{token}y")
        writer.label(kind, namespace, first)
        writer.churn(kind, namespace, other_ns, f"{token}z")
        writer.create(kind, namespace, last)

    if mode == "replay":
        own_changes()
        with http.stream(f"{path}&resourceVersion={rv}") as resp:
            events = _read_until(resp, is_last)
        expected = [("ADDED", first), ("MODIFIED", first), ("ADDED", last)]
    elif mode == "live":
        with http.stream(f"{path}&resourceVersion={rv}") as resp:
            own_changes()
            events = _read_until(resp, is_last)
        expected = [("ADDED", first), ("MODIFIED", first), ("ADDED", last)]
    else:
        writer.churn(kind, namespace, other_ns, f"{token}x")
        writer.create(kind, namespace, first)
        writer.label(kind, namespace, first)
        writer.churn(kind, namespace, other_ns, f"{token}y")
        with http.stream(path + INITIAL_QUERIES[mode]) as resp:
            writer.churn(kind, namespace, other_ns, f"{token}z")
            writer.create(kind, namespace, last)
            events = _read_until(resp, is_last)
        expected = [("ADDED", first), ("ADDED", last)]
    _check_kinds(events, kind, watch_ns)
    assert _own(events, token) == [(t, kind.object_name(n)) for t, n in expected]
    if mode == "send-initial-events":
        names = [e["object"]["metadata"]["name"] if e["type"] != "BOOKMARK" else "" for e in events]
        ends = [
            i
            for i, e in enumerate(events)
            if (e["object"]["metadata"].get("annotations") or {}).get("k8s.io/initial-events-end") == "true"
        ]
        assert len(ends) == 1
        assert names.index(kind.object_name(first)) < ends[0] < names.index(kind.object_name(last))


def test_compacted_resource_version_is_410_whatever_kinds_changed(tmp_path: Path) -> None:
    """Real: a watch from a resourceVersion older than the retained history gets one ERROR event with a
    410 Expired Status and nothing else; a watch from a retained version right after the other kinds'
    changes replays only its own resource's changes."""
    handle = start_server(tmp_path, history_limit=30)
    try:
        http = Http(handle)
        writer = Writer(http)  # closed with the server
        assert http.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", WIDGET_CRD).status == 201
        widgets = KINDS["widgets"]
        writer.create(widgets, "default", "w0")
        old = _list_rv(http, widgets.collection("default"))
        for i in range(6):  # 6 x 3 changes of each of four other kinds: far more than 30
            for key in ("configmaps", "secrets", "events", "leases"):
                name = f"c{i}"
                writer.create(KINDS[key], "default", name)
                writer.label(KINDS[key], "default", name)
                writer.delete(KINDS[key], "default", name)
        path = widgets.collection("default") + "?watch=true&timeoutSeconds=5"
        with http.stream(f"{path}&resourceVersion={old}") as resp:
            events = [json.loads(line) for line in resp]
        assert [e["type"] for e in events] == ["ERROR"]
        status = events[0]["object"]
        assert (status["kind"], status["code"], status["reason"]) == ("Status", 410, "Expired")

        recent = _list_rv(http, widgets.collection("default"))
        writer.create(KINDS["configmaps"], "default", "late")
        writer.create(widgets, "default", "w1")
        writer.create(KINDS["secrets"], "default", "late")
        writer.label(widgets, "default", "w1")
        with http.stream(f"{path}&resourceVersion={recent}") as resp:
            events = _read_until(resp, lambda e: e["type"] == "MODIFIED")
        _check_kinds(events, widgets, "default")
        assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "w1"), ("MODIFIED", "w1")]
    finally:
        handle.stop()
