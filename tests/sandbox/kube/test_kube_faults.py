"""Fault injection in the Kubernetes stand-in, each fault answered as kube-apiserver answers it."""

from __future__ import annotations

import argparse
import http.client as httplib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from sreops.sandbox.kube import ThreadHandle, cli
from sreops.sandbox.kube.faults import FaultSpecError, KubeFaults
from tests.sandbox.kube.helpers import Http, start_server

NS = "default"


@pytest.fixture(scope="module")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadHandle]:
    handle = start_server(tmp_path_factory.mktemp("kube-faults"))
    yield handle
    handle.stop()


@pytest.fixture
def http(kube: ThreadHandle) -> Iterator[Http]:
    h = Http(kube)
    yield h
    assert h.request("DELETE", "/_sandbox/faults").status == 200


@pytest.fixture(scope="module")
def core(kube: ThreadHandle) -> Iterator[k8s.CoreV1Api]:
    api = k8s_config.new_client_from_config(config_file=str(kube.kubeconfig_path))
    yield k8s.CoreV1Api(api)
    api.close()


def _faults(http: Http, spec: str) -> None:
    answer = http.request("PUT", "/_sandbox/faults", {"spec": spec})
    assert answer.status == 200, answer.body


def _configmap(core: k8s.CoreV1Api, name: str) -> None:
    core.create_namespaced_config_map(NS, k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name=name), data={"a": "1"}))


def test_throttle_is_429_with_retry_after_like_priority_and_fairness(http: Http, core: k8s.CoreV1Api) -> None:
    # kube-apiserver's tooManyRequests: 429, Retry-After: 1, a Status with reason TooManyRequests and
    # details.retryAfterSeconds, which client-go and the Python client read as "wait, then retry".
    _faults(http, "list:configmaps=throttle:1x")
    answer = http.request("GET", f"/api/v1/namespaces/{NS}/configmaps")
    assert answer.status == 429
    assert answer.headers["Retry-After"] == "1"
    assert answer.body["reason"] == "TooManyRequests"
    assert answer.body["message"] == "Too many requests, please try again later."
    assert answer.body["details"] == {"retryAfterSeconds": 1}
    # 1x: the next request is served, and other verbs were never matched.
    assert http.request("GET", f"/api/v1/namespaces/{NS}/configmaps").status == 200
    state = http.request("GET", "/_sandbox/faults").body
    assert state == {"spec": "list:configmaps=throttle:0x", "injected": {"throttle": 1}}


def test_error500_is_an_internal_error_status(http: Http, core: k8s.CoreV1Api) -> None:
    _faults(http, "get:*=error500")
    with pytest.raises(ApiException) as caught:
        core.read_namespace(NS)
    assert caught.value.status == 500
    body = json.loads(caught.value.body)
    assert body["reason"] == "InternalError" and body["message"].startswith("Internal error occurred: ")


def test_conflict_storm_hits_writes_of_named_objects_only(http: Http, core: k8s.CoreV1Api) -> None:
    # A lost optimistic-concurrency race: 409 Conflict with the real message; creates and reads go through.
    _faults(http, "*:configmaps=conflict")
    _configmap(core, "storm")
    assert core.read_namespaced_config_map("storm", NS).data == {"a": "1"}
    with pytest.raises(ApiException) as caught:
        core.patch_namespaced_config_map("storm", NS, {"data": {"a": "2"}})
    body = json.loads(caught.value.body)
    assert caught.value.status == 409 and body["reason"] == "Conflict"
    assert body["message"] == (
        'Operation cannot be fulfilled on configmaps "storm": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    assert body["details"] == {"name": "storm", "kind": "configmaps"}
    _faults(http, "")
    core.patch_namespaced_config_map("storm", NS, {"data": {"a": "2"}})


def test_latency_delays_matching_requests_only(http: Http) -> None:
    _faults(http, "list:secrets=latency:400ms")
    start = time.monotonic()
    assert http.request("GET", f"/api/v1/namespaces/{NS}/secrets").status == 200
    slow = time.monotonic() - start
    start = time.monotonic()
    assert http.request("GET", f"/api/v1/namespaces/{NS}/configmaps").status == 200
    fast = time.monotonic() - start
    assert slow >= 0.4 > fast


def test_discovery_and_health_are_never_faulted(http: Http) -> None:
    _faults(http, "*:*=error500")
    for path in ("/api", "/apis", "/api/v1", "/version", "/healthz", "/openapi/v2"):
        assert http.request("GET", path).status == 200, path
    assert http.request("GET", f"/api/v1/namespaces/{NS}/pods").status == 500


def _raw_watch(kube: ThreadHandle, path: str) -> httplib.HTTPResponse:
    h = Http(kube)
    conn = httplib.HTTPSConnection(kube.server.host, kube.server.port, context=h.context, timeout=10)
    conn.request("GET", path, headers={"Authorization": f"Bearer {kube.token}"})
    return conn.getresponse()


def test_watch_dropped_mid_event(kube: ThreadHandle, http: Http, core: k8s.CoreV1Api) -> None:
    # An apiserver restart or a load balancer cutting the stream: the client reads part of an event, then
    # the connection is reset; what it got is not a whole JSON line.
    rv = core.list_namespaced_config_map(NS).metadata.resource_version
    _faults(http, "watch:configmaps=watch-drop:1x")
    response = _raw_watch(kube, f"/api/v1/namespaces/{NS}/configmaps?watch=true&resourceVersion={rv}")
    assert response.status == 200
    _configmap(core, "dropped")
    received = b""
    with pytest.raises((httplib.IncompleteRead, ConnectionError, httplib.HTTPException)):
        while chunk := response.read1(65536):
            received += chunk
        raise ConnectionError("stream ended")  # a clean end would not raise: count it as the drop as well
    assert b'"dropped"' in received or received.startswith(b'{"type"')
    assert not received.endswith(b"\n")
    # The watch resumes from the same version and gets the whole event (1x: the fault is spent).
    with _raw_watch(kube, f"/api/v1/namespaces/{NS}/configmaps?watch=true&resourceVersion={rv}") as again:
        event = json.loads(again.readline())
    assert event["type"] == "ADDED" and event["object"]["metadata"]["name"] == "dropped"


def test_watch_resume_gets_410_expired(kube: ThreadHandle, http: Http, core: k8s.CoreV1Api) -> None:
    # A resourceVersion compacted out of the watch cache: 200, then one ERROR event with a 410 Status; the
    # client must list again. A watch without a version (a fresh list+watch) is not affected.
    rv = core.list_namespaced_config_map(NS).metadata.resource_version
    _faults(http, "watch:*=watch-expire")
    with _raw_watch(kube, f"/api/v1/namespaces/{NS}/configmaps?watch=true&resourceVersion={rv}") as response:
        assert response.status == 200
        event = json.loads(response.readline())
        assert response.read() == b""
    assert event["type"] == "ERROR"
    status = event["object"]
    assert (status["code"], status["reason"]) == (410, "Expired")
    assert status["message"].startswith(f"too old resource version: {rv} (")
    with _raw_watch(kube, f"/api/v1/namespaces/{NS}/configmaps?watch=true&timeoutSeconds=1") as fresh:
        first = json.loads(fresh.readline())
    assert first["type"] == "ADDED"


def test_control_endpoint_checks_input_and_rights(kube: ThreadHandle, http: Http) -> None:
    bad = http.request("PUT", "/_sandbox/faults", {"spec": "list:pods=explode"})
    assert bad.status == 400 and "unknown action 'explode'" in bad.body["error"]
    assert http.request("PUT", "/_sandbox/faults", {"spec": "fetch:pods=throttle"}).status == 400
    assert http.request("PUT", "/_sandbox/faults", {"spec": 3}).status == 400
    assert http.request("PUT", "/_sandbox/faults", raw=b"{nope").status == 400
    assert http.request("PATCH", "/_sandbox/faults", {}).status == 405
    viewer = kube.server.issue_token("viewer")
    assert http.request("GET", "/_sandbox/faults", token=viewer).status == 403
    assert http.request("GET", "/_sandbox/faults", token=None).status == 401


def test_spec_grammar() -> None:
    faults = KubeFaults("patch:patchpolicies/status=conflict:0.5,watch:*=watch-drop:3x+latency:1s")
    assert faults.spec == "patch:patchpolicies/status=conflict:0.5,watch:*=watch-drop:3x,watch:*=latency:1000ms"
    for bad in ("patch", "patch:x=throttle:2", "patch:x=latency", "patch:x=latency:fast", "x:y=throttle"):
        with pytest.raises(FaultSpecError):
            KubeFaults(bad)


def test_cli_refuses_a_bad_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    assert cli.run(parser.parse_args(["--state-dir", str(tmp_path), "--faults", "list:pods=nope"])) == 2
    assert "unknown action 'nope'" in capsys.readouterr().err
