"""sreops.bots.actions against the sandbox's Kubernetes stand-in (real HTTP, CRDs installed as in the sandbox)."""

from __future__ import annotations

import copy
import http.server
import os
import threading
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any, ClassVar

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from sreops.bots import actions
from sreops.bots.actions import ActionError, Actor
from sreops.bots.actions import writes as writes_module
from sreops.operator.api import GROUP, KINDS, VERSION
from sreops.operator.runs.plan import RUN_NOW_ANNOTATION, RUN_NOW_BY_ANNOTATION, run_now_name, trigger_for
from sreops.sandbox.kube.server import KubeServer, ThreadHandle
from sreops.sandbox.seed import SAMPLES_DIR, install_crds, load_documents

SAMPLES = {d["kind"]: d for d in load_documents(sorted(SAMPLES_DIR.glob("*.yaml")))}
CLI = Actor(via="cli", chat_id="alice")
SLACK = Actor(user="alice@example.com", groups=("sre",), via="slack", chat_id="T0123/U0456")


@pytest.fixture(scope="module")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadHandle]:
    handle = KubeServer(tmp_path_factory.mktemp("kube"), port=0).start_in_thread()
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def api(kube: ThreadHandle) -> Iterator[k8s.ApiClient]:
    api = k8s_config.new_client_from_config(config_file=str(kube.kubeconfig_path))
    install_crds(api)
    yield api
    api.close()


@pytest.fixture
def ns(api: k8s.ApiClient) -> str:
    name = "t-" + os.urandom(4).hex()
    k8s.CoreV1Api(api).create_namespace({"metadata": {"name": name}})
    return name


def create(api: k8s.ApiClient, ns: str, kind: str, name: str | None = None, **spec: Any) -> dict[str, Any]:
    body = copy.deepcopy(SAMPLES[kind])
    body["metadata"] = {"name": name or body["metadata"]["name"]}
    body["spec"].update(spec)
    created: dict[str, Any] = k8s.CustomObjectsApi(api).create_namespaced_custom_object(
        GROUP, VERSION, ns, KINDS[kind].plural, body
    )
    return created


def set_status(api: k8s.ApiClient, ns: str, kind: str, name: str, status: dict[str, Any]) -> None:
    k8s.CustomObjectsApi(api).patch_namespaced_custom_object_status(
        GROUP, VERSION, ns, KINDS[kind].plural, name, {"status": status}
    )


def get(api: k8s.ApiClient, ns: str, kind: str, name: str) -> dict[str, Any]:
    obj: dict[str, Any] = k8s.CustomObjectsApi(api).get_namespaced_custom_object(
        GROUP, VERSION, ns, KINDS[kind].plural, name
    )
    return obj


def ready(status: str, reason: str, message: str = "") -> dict[str, Any]:
    return {
        "type": "Ready",
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": "2026-01-05T10:00:00Z",
    }


# -- identity -----------------------------------------------------------------------------------------------


def test_actor_describes_itself_and_who_asked_for_a_run() -> None:
    assert SLACK.describe() == "alice@example.com via slack (T0123/U0456)"
    assert Actor(via="api", chat_id="ci-bot").describe() == "ci-bot via api"
    assert SLACK.requested_by() == "slack:T0123/U0456"
    assert trigger_for(SLACK.requested_by()) == "Chat"
    assert trigger_for(Actor(via="teams", chat_id="aad-1").requested_by()) == "Chat"
    assert trigger_for(CLI.requested_by()) == "Manual"
    assert trigger_for(Actor(via="api", user="ci@example.com").requested_by()) == "Manual"


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[list[tuple[str, str]]]] = []

    def do_GET(self) -> None:
        type(self).seen.append(list(self.headers.items()))
        body = b'{"kind": "NamespaceList", "apiVersion": "v1", "items": [], "metadata": {}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


def test_impersonating_sends_one_group_header_per_group_and_leaves_the_base_client_alone() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        config = k8s.Configuration(host=f"http://127.0.0.1:{server.server_address[1]}")
        base = k8s.ApiClient(config)
        as_alice = actions.impersonating(base, Actor(user="alice", groups=("sre", "web, ops"), via="slack"))
        k8s.CoreV1Api(as_alice).list_namespace()
        as_alice.close()
        k8s.CoreV1Api(base).list_namespace()  # still usable after the impersonating client is closed
        assert actions.impersonating(base, CLI) is base
        base.close()
    finally:
        server.shutdown()
    first, second = _Recorder.seen[-2:]
    assert ("Impersonate-User", "alice") in first
    assert [v for k, v in first if k == "Impersonate-Group"] == ["sre", "web, ops"]
    assert not [k for k, _ in second if k.startswith("Impersonate")]


# -- status -------------------------------------------------------------------------------------------------


def test_status_of_every_kind_with_ready_and_summary(api: k8s.ApiClient, ns: str) -> None:
    for kind in ("AWSAccount", "PatchPolicy", "ScanSchedule", "Notifier", "PatchRun"):
        create(api, ns, kind)
    set_status(
        api,
        ns,
        "PatchPolicy",
        "web-fleet",
        {
            "conditions": [ready("False", "AccountNotFound", "AWSAccount 'prod' not found")],
            "compliance": {"summary": "18/20", "instances": 20, "compliant": 18},
            "lastRun": {"name": "web-fleet-now-1", "result": "Failed"},
            "nextRunTime": "2026-01-11T11:00:00Z",
        },
    )
    set_status(
        api,
        ns,
        "ScanSchedule",
        "prod-hourly",
        {"findings": {"critical": 2, "high": 5}, "newSinceLastScan": 3, "conditions": [ready("True", "Scanned")]},
    )
    items = actions.status(api, ns)
    assert [(s.kind, s.name) for s in items] == [
        ("PatchPolicy", "web-fleet"),
        ("PatchRun", "web-fleet-scan-1"),
        ("ScanSchedule", "prod-hourly"),
        ("Notifier", "sre-alerts"),
        ("AWSAccount", "prod"),
    ]
    policy = items[0]
    assert policy.namespace == ns
    assert policy.ready is not None and (policy.ready.status, policy.ready.reason) == ("False", "AccountNotFound")
    assert policy.summary["compliant"] == "18/20"
    assert policy.summary["operation"] == "Install"
    assert policy.summary["last_result"] == "Failed"
    assert policy.summary["suspend"] == "false"
    assert policy.summary["created"]
    schedule = items[2]
    assert (schedule.summary["critical"], schedule.summary["high"], schedule.summary["new"]) == (2, 5, 3)
    assert items[1].ready is None  # no status yet
    asdict(policy)  # JSON-serialisable as the gateway answers it


@pytest.mark.parametrize("kind", ["PatchPolicy", "patchpolicy", "PATCHPOLICIES", "pp", "patchpolicies.sreops.io"])
def test_status_accepts_every_name_of_a_kind(api: k8s.ApiClient, ns: str, kind: str) -> None:
    create(api, ns, "PatchPolicy")
    create(api, ns, "PatchPolicy", "db-fleet")
    create(api, ns, "ScanSchedule")
    assert [s.name for s in actions.status(api, ns, kind)] == ["db-fleet", "web-fleet"]
    assert [s.name for s in actions.status(api, ns, kind, "web-fleet")] == ["web-fleet"]


def test_status_short_names_of_the_other_kinds(api: k8s.ApiClient, ns: str) -> None:
    create(api, ns, "ScanSchedule")
    create(api, ns, "PatchRun")
    create(api, ns, "Notifier")
    create(api, ns, "AWSAccount")
    for kind, name in (
        ("scan", "prod-hourly"),
        ("ss", "prod-hourly"),
        ("pr", "web-fleet-scan-1"),
        ("ntf", "sre-alerts"),
        ("awsacct", "prod"),
    ):
        assert [s.name for s in actions.status(api, ns, kind)] == [name]


def test_status_by_name_across_kinds_and_namespaces(api: k8s.ApiClient, ns: str) -> None:
    create(api, ns, "PatchPolicy", "same")
    create(api, ns, "ScanSchedule", "same")
    found = actions.status(api, None, name="same")
    assert {(s.kind, s.namespace) for s in found} >= {("PatchPolicy", ns), ("ScanSchedule", ns)}
    assert all(s.name == "same" for s in found)


def test_status_errors(api: k8s.ApiClient, ns: str) -> None:
    with pytest.raises(ActionError) as missing:
        actions.status(api, ns, "pp", "nope")
    assert (missing.value.status, missing.value.code) == (404, "NotFound")
    assert "nope" in missing.value.message
    with pytest.raises(ActionError) as bad_kind:
        actions.status(api, ns, "deployment")
    assert (bad_kind.value.status, bad_kind.value.field) == (400, "kind")
    with pytest.raises(ActionError) as bad_name:
        actions.status(api, ns, "pp", "Web_Fleet")
    assert (bad_name.value.status, bad_name.value.field) == (400, "name")
    with pytest.raises(ActionError) as bad_ns:
        actions.status(api, "a/b")
    assert (bad_ns.value.status, bad_ns.value.field) == (400, "namespace")
    assert actions.status(api, ns) == []


def test_kubernetes_unreachable_is_503() -> None:
    unreachable = k8s.ApiClient(k8s.Configuration(host="http://127.0.0.1:9"))
    unreachable.configuration.retries = 0
    with pytest.raises(ActionError) as err:
        actions.status(unreachable, "default", "pp")
    assert (err.value.status, err.value.code) == (503, "KubernetesUnavailable")


# -- writes -------------------------------------------------------------------------------------------------


def test_run_now_sets_a_new_value_each_call_and_names_the_run(api: k8s.ApiClient, ns: str) -> None:
    policy = create(api, ns, "PatchPolicy")
    first = actions.run_now(api, ns, "web-fleet", CLI)
    annotations = get(api, ns, "PatchPolicy", "web-fleet")["metadata"]["annotations"]
    assert annotations[RUN_NOW_ANNOTATION] == first.value
    assert annotations[RUN_NOW_BY_ANNOTATION] == "cli:alice"
    assert first.run == run_now_name("web-fleet", policy["metadata"]["uid"], first.value)
    second = actions.run_now(api, ns, "web-fleet", CLI)
    assert second.value != first.value and second.run != first.run
    assert asdict(second) == {"namespace": ns, "policy": "web-fleet", "value": second.value, "run": second.run}
    values = {actions.request_value() for _ in range(200)}
    assert len(values) == 200 and all(len(v) <= 64 for v in values)


def test_writes_to_a_missing_object_are_404(api: k8s.ApiClient, ns: str) -> None:
    for call in (
        lambda: actions.run_now(api, ns, "nope", CLI),
        lambda: actions.scan_now(api, ns, "nope", CLI),
        lambda: actions.set_suspend(api, ns, "nope", True, CLI),
    ):
        with pytest.raises(ActionError) as err:
            call()
        assert (err.value.status, err.value.code) == (404, "NotFound")
        assert "'nope' not found" in err.value.message
    with pytest.raises(ActionError) as bad:
        actions.run_now(api, ns, "", CLI)
    assert (bad.value.status, bad.value.field) == (400, "policy")


def test_scan_now_sets_the_annotation(api: k8s.ApiClient, ns: str) -> None:
    create(api, ns, "ScanSchedule")
    requested = actions.scan_now(api, ns, "prod-hourly", CLI)
    annotations = get(api, ns, "ScanSchedule", "prod-hourly")["metadata"]["annotations"]
    assert annotations["sreops.io/scan-now"] == requested.value
    assert actions.scan_now(api, ns, "prod-hourly", CLI).value != requested.value


def test_pause_and_resume_report_whether_they_changed_anything(api: k8s.ApiClient, ns: str) -> None:
    create(api, ns, "PatchPolicy")
    generation = get(api, ns, "PatchPolicy", "web-fleet")["metadata"]["generation"]
    assert actions.set_suspend(api, ns, "web-fleet", True, CLI).changed is True
    policy = get(api, ns, "PatchPolicy", "web-fleet")
    assert policy["spec"]["suspend"] is True and policy["metadata"]["generation"] == generation + 1
    again = actions.set_suspend(api, ns, "web-fleet", True, CLI)
    assert (again.suspend, again.changed) == (True, False)
    assert get(api, ns, "PatchPolicy", "web-fleet")["metadata"]["generation"] == generation + 1
    assert actions.set_suspend(api, ns, "web-fleet", False, CLI).changed is True
    assert get(api, ns, "PatchPolicy", "web-fleet")["spec"]["suspend"] is False


def test_pause_racing_another_writer_is_reread(api: k8s.ApiClient, ns: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Someone pauses between our read and our write: our write meets 409, is re-read, and changes nothing."""
    create(api, ns, "PatchPolicy")
    real_get = writes_module.get_object
    calls = 0

    def get_then_race(*args: Any) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        obj = real_get(*args)
        if calls == 1:
            k8s.CustomObjectsApi(api).patch_namespaced_custom_object(
                GROUP, VERSION, ns, "patchpolicies", "web-fleet", {"spec": {"suspend": True}}
            )
        return obj

    monkeypatch.setattr(writes_module, "get_object", get_then_race)
    result = actions.set_suspend(api, ns, "web-fleet", True, CLI)
    assert (result.changed, calls) == (False, 2)


# -- findings and run progress ------------------------------------------------------------------------------


def test_findings_view_from_the_schedule_status(api: k8s.ApiClient, ns: str) -> None:
    create(api, ns, "ScanSchedule")
    top = [{"vulnerabilityId": "CVE-2024-3094", "severity": "CRITICAL", "resource": "i-0abc", "title": "xz"}]
    set_status(
        api,
        ns,
        "ScanSchedule",
        "prod-hourly",
        {
            "lastScanTime": "2026-01-05T10:00:00Z",
            "findings": {"critical": 1, "high": 0, "medium": 2, "low": 0, "informational": 0, "suppressed": 1},
            "newSinceLastScan": 1,
            "resolvedSinceLastScan": 0,
            "topFindings": top,
            "conditions": [ready("True", "Scanned", "swept")],
        },
    )
    view = actions.findings(api, ns, "prod-hourly")
    assert view.counts == {
        "critical": 1,
        "high": 0,
        "medium": 2,
        "low": 0,
        "informational": 0,
        "suppressed": 1,
        "new": 1,
        "resolved": 0,
    }
    assert view.top[0]["vulnerabilityId"] == "CVE-2024-3094"
    assert view.last_scan_time == "2026-01-05T10:00:00Z"
    assert view.ready is not None and view.ready.reason == "Scanned"
    with pytest.raises(ActionError) as err:
        actions.findings(api, ns, "nope")
    assert err.value.status == 404


def test_run_progress_until_the_end(api: k8s.ApiClient, ns: str) -> None:
    assert actions.run_progress(api, ns, "web-fleet-scan-1") is None
    create(api, ns, "PatchRun")
    started = actions.run_progress(api, ns, "web-fleet-scan-1")
    assert started is not None and (started.done, started.result) == (False, None)
    set_status(
        api,
        ns,
        "PatchRun",
        "web-fleet-scan-1",
        {
            "instances": {"total": 3, "succeeded": 1, "failed": 0, "inProgress": 2, "timedOut": 0},
            "conditions": [
                {
                    "type": "Complete",
                    "status": "False",
                    "reason": "Running",
                    "message": "",
                    "lastTransitionTime": "2026-01-05T10:00:00Z",
                }
            ],
        },
    )
    running = actions.run_progress(api, ns, "web-fleet-scan-1")
    assert running is not None and not running.done and running.instances["inProgress"] == 2
    failed = {"instanceId": "i-1", "account": "111122223333", "region": "us-west-2", "status": "Failed"}
    set_status(
        api,
        ns,
        "PatchRun",
        "web-fleet-scan-1",
        {
            "instances": {"total": 3, "succeeded": 2, "failed": 1, "inProgress": 0, "timedOut": 0},
            "failedInstances": [failed],
            "finishedAt": "2026-01-05T10:05:00Z",
            "conditions": [
                {
                    "type": "Complete",
                    "status": "False",
                    "reason": "Failed",
                    "message": "1 failed",
                    "lastTransitionTime": "2026-01-05T10:05:00Z",
                },
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "Failed",
                    "message": "1 failed",
                    "lastTransitionTime": "2026-01-05T10:05:00Z",
                },
            ],
        },
    )
    done = actions.run_progress(api, ns, "web-fleet-scan-1")
    assert done is not None and (done.done, done.result) == (True, "Failed")
    assert done.failed_instances[0]["instanceId"] == "i-1"


# -- audit --------------------------------------------------------------------------------------------------


def test_audit_event_names_the_actor_and_the_object(api: k8s.ApiClient, ns: str) -> None:
    policy = create(api, ns, "PatchPolicy")
    actions.audit(api, ns, {"kind": "PatchPolicy", "name": "web-fleet"}, SLACK, "run", "PatchRun web-fleet-now-x")
    events = k8s.CoreV1Api(api).list_namespaced_event(ns).items
    assert len(events) == 1
    event = events[0]
    assert (event.type, event.reason, event.source.component) == ("Normal", "ChatOpsAction", "sreops-gateway")
    assert event.message == "run by alice@example.com via slack (T0123/U0456): PatchRun web-fleet-now-x"
    ref = event.involved_object
    assert (ref.kind, ref.name, ref.namespace, ref.api_version) == (
        "PatchPolicy",
        "web-fleet",
        ns,
        "sreops.io/v1alpha1",
    )
    assert ref.uid == policy["metadata"]["uid"]
    actions.audit(api, ns, {"kind": "pp", "name": "web-fleet"}, CLI, "pause", "")
    sources = sorted(e.source.component for e in k8s.CoreV1Api(api).list_namespaced_event(ns).items)
    assert sources == ["sreops-cli", "sreops-gateway"]


def test_an_impersonated_user_without_rights_is_refused_and_nothing_changes(api: k8s.ApiClient, ns: str) -> None:
    """kube-apiserver's RBAC: a user no binding names may do nothing; the 403 carries Kubernetes' message."""
    create(api, ns, "PatchPolicy")
    before = get(api, ns, "PatchPolicy", "web-fleet")
    nobody = Actor(user="mallory@example.com", via="slack", chat_id="T0123/U0999")
    for call in (
        lambda: actions.run_now(api, ns, "web-fleet", nobody),
        lambda: actions.set_suspend(api, ns, "web-fleet", True, nobody),
        lambda: actions.status(actions.impersonating(api, nobody), ns, "pp"),
    ):
        with pytest.raises(ActionError) as err:
            call()
        assert (err.value.status, err.value.code) == (403, "Forbidden")
        assert "mallory@example.com" in err.value.message
    after = get(api, ns, "PatchPolicy", "web-fleet")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    with pytest.raises(ActionError) as listing:
        actions.status(actions.impersonating(api, nobody), ns)  # every kind forbidden: the 403, not an empty list
    assert listing.value.status == 403
