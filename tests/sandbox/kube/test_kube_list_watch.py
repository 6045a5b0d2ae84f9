"""LIST and WATCH: selectors, pagination, resourceVersion semantics, bookmarks, timeouts."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch

from tests.sandbox.kube.helpers import GROUP, PLURAL, VERSION, WIDGET_CRD, Http, start_server, widget

pytestmark = pytest.mark.usefixtures("widget_crd")


def _names(listing: dict[str, Any]) -> list[str]:
    return [o["metadata"]["name"] for o in listing["items"]]


def _make(custom: k8s.CustomObjectsApi, namespace: str, name: str, **labels: str) -> dict[str, Any]:
    body = widget(name, namespace)
    body["metadata"]["labels"] = labels
    obj: dict[str, Any] = custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
    return obj


def _events(http: Http, path: str, count: int, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    out = []
    with http.stream(path, headers) as resp:
        assert resp.headers["Content-Type"].startswith("application/json")
        for line in resp:
            out.append(json.loads(line))
            if len(out) == count:
                break
    return out


def test_label_selectors(custom: k8s.CustomObjectsApi, namespace: str) -> None:
    """Real: labelSelector supports =, ==, !=, in, notin, exists and !exists, comma meaning AND."""
    _make(custom, namespace, "a", app="web", tier="front")
    _make(custom, namespace, "b", app="web", tier="back")
    _make(custom, namespace, "c", app="db")
    cases = {
        "app=web": ["a", "b"],
        "app==web,tier=back": ["b"],
        "app!=web": ["c"],
        "tier in (front,back)": ["a", "b"],
        "tier notin (front)": ["b", "c"],
        "tier": ["a", "b"],
        "!tier": ["c"],
    }
    for selector, expected in cases.items():
        got = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, label_selector=selector)
        assert _names(got) == expected, selector


def test_field_selectors(custom: k8s.CustomObjectsApi, http: Http, namespace: str) -> None:
    """Real: fieldSelector metadata.name / metadata.namespace (=, ==, !=) work for every kind; other
    fields are 400 `field label not supported`."""
    _make(custom, namespace, "x")
    _make(custom, namespace, "y")
    got = custom.list_cluster_custom_object(
        GROUP, VERSION, PLURAL, field_selector=f"metadata.namespace={namespace},metadata.name!=x"
    )
    assert _names(got) == ["y"]
    resp = http.request("GET", f"/apis/{GROUP}/{VERSION}/{PLURAL}?fieldSelector=spec.size%3D3")
    assert resp.status == 400 and "field label not supported" in resp.body["message"]


def test_limit_and_continue_paginate(custom: k8s.CustomObjectsApi, namespace: str) -> None:
    """Real: limit returns a page plus metadata.continue and remainingItemCount; continue resumes."""
    for i in range(5):
        _make(custom, namespace, f"p{i}")
    page = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, limit=2)
    assert _names(page) == ["p0", "p1"]
    assert page["metadata"]["remainingItemCount"] == 3
    names = _names(page)
    while page["metadata"].get("continue"):
        page = custom.list_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, limit=2, _continue=page["metadata"]["continue"]
        )
        names += _names(page)
    assert names == [f"p{i}" for i in range(5)]


def test_list_kind_and_resource_version(http: Http, namespace: str) -> None:
    """Real: a list has kind <Kind>List, apiVersion, metadata.resourceVersion (the current revision);
    a resourceVersion newer than the server's is 504 Timeout (`Too large resource version`)."""
    resp = http.request("GET", f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}")
    assert resp.body["kind"] == "WidgetList" and resp.body["apiVersion"] == "test.sreops.io/v1"
    rv = int(resp.body["metadata"]["resourceVersion"])
    resp = http.request("GET", f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}?resourceVersion={rv + 1000}")
    assert resp.status == 504 and "Too large resource version" in resp.body["message"]


def test_watch_from_resource_version_replays_later_changes(
    custom: k8s.CustomObjectsApi, http: Http, namespace: str
) -> None:
    """Real: a watch from resourceVersion R delivers every change after R (not before), in order, as
    newline-delimited JSON {type, object} served as application/json."""
    _make(custom, namespace, "before")
    listing = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)
    rv = listing["metadata"]["resourceVersion"]
    _make(custom, namespace, "after")
    custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "after", {"spec": {"size": 4}})
    custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "after")
    events = _events(
        http, f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}?watch=true&resourceVersion={rv}", 3
    )
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "after"),
        ("MODIFIED", "after"),
        ("DELETED", "after"),
    ]
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert versions == sorted(versions) and versions[0] > int(rv)


def test_watch_without_resource_version_starts_with_current_objects(
    custom: k8s.CustomObjectsApi, http: Http, namespace: str
) -> None:
    """Real: a watch without resourceVersion (or "0") begins with synthetic ADDED events for existing objects."""
    _make(custom, namespace, "one")
    _make(custom, namespace, "two")
    events = _events(http, f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}?watch=1", 2)
    assert sorted(e["object"]["metadata"]["name"] for e in events) == ["one", "two"]
    assert {e["type"] for e in events} == {"ADDED"}


def test_send_initial_events_ends_with_annotated_bookmark(
    custom: k8s.CustomObjectsApi, http: Http, namespace: str
) -> None:
    """Real (WatchList): sendInitialEvents=true streams the current objects, then a BOOKMARK annotated
    `k8s.io/initial-events-end: "true"`."""
    _make(custom, namespace, "init")
    events = _events(
        http,
        f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}?watch=true&sendInitialEvents=true"
        "&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true",
        2,
    )
    assert events[0]["type"] == "ADDED"
    assert events[1]["type"] == "BOOKMARK"
    assert events[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_bookmarks_and_timeout(http: Http, namespace: str) -> None:
    """Real: allowWatchBookmarks=true adds periodic BOOKMARK events carrying only kind, apiVersion and
    metadata.resourceVersion; timeoutSeconds closes the stream (cleanly) after that long."""
    start = time.monotonic()
    events = []
    with http.stream(
        f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}?watch=true&allowWatchBookmarks=true&timeoutSeconds=2&resourceVersion=0"
    ) as resp:
        events = [json.loads(line) for line in resp]
    elapsed = time.monotonic() - start
    assert 1.5 < elapsed < 5
    bookmarks = [e for e in events if e["type"] == "BOOKMARK"]
    assert bookmarks, events
    assert set(bookmarks[0]["object"]) == {"kind", "apiVersion", "metadata"}
    assert bookmarks[0]["object"]["metadata"]["resourceVersion"].isdigit()


def test_watch_all_namespaces_and_one_namespace(
    custom: k8s.CustomObjectsApi, core: k8s.CoreV1Api, http: Http, namespace: str
) -> None:
    """Real: /apis/g/v/<plural>?watch sees every namespace; /namespaces/<ns>/<plural>?watch only that one."""
    other = namespace + "-b"
    core.create_namespace({"metadata": {"name": other}})
    rv = custom.list_cluster_custom_object(GROUP, VERSION, PLURAL)["metadata"]["resourceVersion"]
    _make(custom, other, "elsewhere")
    _make(custom, namespace, "here")
    everywhere = _events(http, f"/apis/{GROUP}/{VERSION}/{PLURAL}?watch=true&resourceVersion={rv}", 2)
    assert [e["object"]["metadata"]["name"] for e in everywhere] == ["elsewhere", "here"]
    local = _events(http, f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}?watch=true&resourceVersion={rv}", 1)
    assert local[0]["object"]["metadata"]["name"] == "here"


def test_label_selector_watch_turns_unmatching_into_deleted(
    custom: k8s.CustomObjectsApi, http: Http, namespace: str
) -> None:
    """Real: in a watch with a labelSelector, an object that stops matching arrives as DELETED and
    one that starts matching as ADDED."""
    rv = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)["metadata"]["resourceVersion"]
    _make(custom, namespace, "mover", app="web")
    custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "mover", {"metadata": {"labels": {"app": "db"}}}
    )
    custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "mover", {"metadata": {"labels": {"app": "web"}}}
    )
    events = _events(
        http,
        f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}?watch=true&labelSelector=app%3Dweb&resourceVersion={rv}",
        3,
    )
    assert [e["type"] for e in events] == ["ADDED", "DELETED", "ADDED"]


def test_too_old_resource_version_is_410_gone(tmp_path: Path) -> None:
    """Real: a watch from a resourceVersion older than the watch cache window gets an ERROR event with
    a 410 Expired Status (kopf and client-go then re-list)."""
    handle = start_server(tmp_path, history_limit=5)
    try:
        api = k8s_config.new_client_from_config(config_file=str(handle.kubeconfig_path))
        k8s.ApiextensionsV1Api(api).create_custom_resource_definition(WIDGET_CRD)
        custom = k8s.CustomObjectsApi(api)
        first = custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, widget("w0"))
        for i in range(1, 10):
            custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, widget(f"w{i}"))
        http = Http(handle)
        old = first["metadata"]["resourceVersion"]
        events = _events(
            http, f"/apis/{GROUP}/{VERSION}/namespaces/default/{PLURAL}?watch=true&resourceVersion={old}", 1
        )
        assert events[0]["type"] == "ERROR"
        assert events[0]["object"]["code"] == 410 and events[0]["object"]["reason"] == "Expired"
        api.close()
    finally:
        handle.stop()


def test_kubernetes_client_watch_stream(custom: k8s.CustomObjectsApi, namespace: str) -> None:
    """Real: the official client's Watch().stream over list_namespaced_custom_object sees live changes."""
    seen: list[tuple[str, str]] = []
    ready = threading.Event()

    def watch() -> None:
        w = k8s_watch.Watch()
        ready.set()
        for event in w.stream(
            custom.list_namespaced_custom_object, GROUP, VERSION, namespace, PLURAL, timeout_seconds=5
        ):
            seen.append((event["type"], event["object"]["metadata"]["name"]))
            if len(seen) == 2:
                w.stop()

    thread = threading.Thread(target=watch)
    thread.start()
    ready.wait()
    time.sleep(0.3)
    _make(custom, namespace, "live")
    custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "live", {"spec": {"size": 9}})
    thread.join(timeout=10)
    assert seen == [("ADDED", "live"), ("MODIFIED", "live")]
