"""PatchRuns end to end: the operator process against the Kubernetes and AWS stand-ins.

The fleet is the sandbox's default one: Role=db, Env=prod holds two managed instances in each region of
account 111122223333, and one of them (i-39a781b024cb73a80, us-east-1) fails to install its patches.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kopf
import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from sreops.operator.api import GROUP, VERSION
from sreops.operator.aws.clients import ClientFactory
from sreops.operator.controllers.run_triggers import start_run_now
from sreops.operator.kube import NOT_FOUND
from sreops.operator.metrics import OperatorMetrics
from sreops.operator.runs.plan import run_now_name
from sreops.operator.services import Services
from sreops.operator.settings import Settings
from sreops.sandbox.aws.scenario import SANDBOX_EXTERNAL_ID
from tests.integration.conftest import Aws, Kube, OperatorProcess, make_operator, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]
NS = "default"
ROLE = "arn:aws:iam::111122223333:role/sreops"
REGIONS = ("us-west-2", "us-east-1")
DB_INSTANCES = {
    "us-west-2": ["i-09bff43a25544a939", "i-6affa344872153769"],
    "us-east-1": ["i-ed8ee0ca58f0d01b4", "i-39a781b024cb73a80"],
}
FAILING_INSTANCE = "i-39a781b024cb73a80"
NEVER = "0 3 1 1 *"  # a window that does not fire while a test advances the clock by hours


@pytest.fixture
def operator(kube: Kube, aws: Aws, tmp_path: Path) -> Iterator[OperatorProcess]:
    """The operator polling runs every second, with the prod AWSAccount Ready."""
    op = make_operator(kube, {**aws.env, "SREOPS_RUN_POLL_SECONDS": "1"}, tmp_path)
    op.start()
    try:
        _account(kube)
        yield op
    finally:
        op.stop()


def _account(kube: Kube) -> None:
    kube.core.create_namespaced_secret(
        NS,
        client.V1Secret(metadata=client.V1ObjectMeta(name="prod-aws"), string_data={"externalId": SANDBOX_EXTERNAL_ID}),
    )
    account = {
        "apiVersion": "sreops.io/v1alpha1",
        "kind": "AWSAccount",
        "metadata": {"name": "prod"},
        "spec": {
            "roleArn": ROLE,
            "externalIdSecretRef": {"name": "prod-aws", "key": "externalId"},
            "regions": list(REGIONS),
        },
    }
    kube.custom.create_namespaced_custom_object(GROUP, VERSION, NS, "awsaccounts", account)
    wait_for(lambda: _condition(_get(kube, "awsaccounts", "prod"), "Ready").get("status") == "True", timeout=30)


def _policy(kube: Kube, name: str, **spec: Any) -> dict[str, Any]:
    body = {
        "apiVersion": "sreops.io/v1alpha1",
        "kind": "PatchPolicy",
        "metadata": {"name": name},
        "spec": {
            "accountRef": {"name": "prod"},
            "targets": {"tags": {"Role": "db", "Env": "prod"}},
            "operatingSystem": "AMAZON_LINUX_2023",
            "schedule": {"cron": NEVER, "timezone": "UTC"},
            "operation": "Install",
            "rollout": {"maxConcurrency": "50%", "maxErrors": "1"},
            **spec,
        },
    }
    created: dict[str, Any] = kube.custom.create_namespaced_custom_object(GROUP, VERSION, NS, "patchpolicies", body)
    return created


def _get(kube: Kube, plural: str, name: str) -> dict[str, Any]:
    obj: dict[str, Any] = kube.custom.get_namespaced_custom_object(GROUP, VERSION, NS, plural, name)
    return obj


def _maybe(kube: Kube, plural: str, name: str) -> dict[str, Any]:
    """The object, or {} while it does not exist (yet)."""
    try:
        return _get(kube, plural, name)
    except ApiException as exc:
        if exc.status != NOT_FOUND:
            raise
        return {}


def _runs(kube: Kube, policy: str | None = None) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = kube.custom.list_namespaced_custom_object(GROUP, VERSION, NS, "patchruns")["items"]
    return [r for r in items if policy is None or r["spec"]["policyRef"]["name"] == policy]


def _condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == type_), {})


def _run_now(kube: Kube, policy: str, value: str, **extra: str) -> None:
    body = {"metadata": {"annotations": {"sreops.io/run-now": value, **extra}}}
    kube.custom.patch_namespaced_custom_object(GROUP, VERSION, NS, "patchpolicies", policy, body)


def _finished(kube: Kube, name: str) -> dict[str, Any] | None:
    run = _maybe(kube, "patchruns", name)
    return run if (run.get("status") or {}).get("finishedAt") else None


def _send_commands(aws: Aws) -> int:
    return int(aws.admin("GET", "calls?service=ssm")["calls"].get("ssm", {}).get("SendCommand", 0))


def _ssm(aws: Aws, region: str) -> Any:
    return aws.client("ssm", region, ROLE, SANDBOX_EXTERNAL_ID)


def _events(kube: Kube, name: str) -> dict[str, str]:
    events = client.CoreV1Api(kube.api).list_namespaced_event(NS).items
    return {e.reason: e.type for e in events if e.involved_object.name == name}


def _patch_states(aws: Aws) -> dict[str, dict[str, Any]]:
    states = {}
    for region, ids in DB_INSTANCES.items():
        for state in _ssm(aws, region).describe_instance_patch_states(InstanceIds=ids)["InstancePatchStates"]:
            states[state["InstanceId"]] = state
    return states


def test_run_now_sends_once_per_account_and_region_and_tracks_the_commands(
    kube: Kube, aws: Aws, operator: OperatorProcess
) -> None:
    policy = _policy(kube, "db-fleet")
    before = _patch_states(aws)
    _run_now(kube, "db-fleet", "2026-01-05T12:00")
    name = run_now_name("db-fleet", policy["metadata"]["uid"], "2026-01-05T12:00")
    run = wait_for(lambda: [r for r in _runs(kube) if len((r.get("status") or {}).get("commandIds") or []) == 2])[0]
    assert run["metadata"]["name"] == name
    assert run["spec"] == {"policyRef": {"name": "db-fleet"}, "operation": "Install", "trigger": "Manual"}
    owner = run["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["uid"], owner["controller"], owner["blockOwnerDeletion"]) == (
        "PatchPolicy",
        policy["metadata"]["uid"],
        True,
        True,
    )
    assert {(c["account"], c["region"]) for c in run["status"]["commandIds"]} == {
        ("111122223333", "us-west-2"),
        ("111122223333", "us-east-1"),
    }
    # The same value again (with another change to the policy) and an operator restart start nothing new.
    _run_now(kube, "db-fleet", "2026-01-05T12:00", **{"example.com/touched": "yes"})
    operator.stop()
    operator.start()
    wait_for(lambda: _condition(_get(kube, "patchruns", name), "Ready").get("reason") == "Running", timeout=20)
    assert [r["metadata"]["name"] for r in _runs(kube)] == [name]
    assert _send_commands(aws) == 2

    # The simulated commands run to completion; the failing instance is listed with SSM's detail.
    aws.advance("10m")
    run = wait_for(lambda: _finished(kube, name), timeout=30)
    status = run["status"]
    assert status["instances"] == {"total": 4, "succeeded": 3, "failed": 1, "inProgress": 0, "timedOut": 0}
    assert [f["instanceId"] for f in status["failedInstances"]] == [FAILING_INSTANCE]
    failed = status["failedInstances"][0]
    assert (failed["account"], failed["region"], failed["status"]) == ("111122223333", "us-east-1", "Failed")
    assert "Failed to install" in failed["detail"]
    assert _condition(run, "Failed")["status"] == "True"
    assert _condition(run, "Complete")["status"] == "False"
    assert _condition(run, "Ready")["reason"] == "Failed"
    assert status["startedAt"] <= status["finishedAt"]
    last_run = wait_for(lambda: (_get(kube, "patchpolicies", "db-fleet").get("status") or {}).get("lastRun"))
    assert last_run == {"name": name, "result": "Failed", "finishedAt": status["finishedAt"]}
    assert wait_for(lambda: {"RunStarted", "RunFailed"} <= _events(kube, name).keys())
    metrics = operator.metrics()
    assert (
        'sreops_patch_runs_total{namespace="default",operation="Install",policy="db-fleet",result="Failed"} 1.0'
        in metrics
    )
    assert 'sreops_patch_run_instances_total{namespace="default",policy="db-fleet",result="failed"} 1.0' in metrics
    assert 'sreops_patch_run_instances_total{namespace="default",policy="db-fleet",result="succeeded"} 3.0' in metrics
    assert _send_commands(aws) == 2

    # Install raised the compliance counts of the instances that succeeded.
    after = _patch_states(aws)
    for instance in (i for ids in DB_INSTANCES.values() for i in ids if i != FAILING_INSTANCE):
        assert after[instance]["MissingCount"] == 0
        assert after[instance]["InstalledCount"] > before[instance]["InstalledCount"]
    assert after[FAILING_INSTANCE]["FailedCount"] > before[FAILING_INSTANCE]["FailedCount"]


def test_chat_run_of_a_scan_succeeds_and_history_is_pruned(kube: Kube, aws: Aws, operator: OperatorProcess) -> None:
    policy = _policy(kube, "db-scan", operation="Scan", historyLimit=2, regions=["us-west-2"])
    names = []
    for n in range(3):
        value = f"scan-{n}"
        _run_now(kube, "db-scan", value, **{"sreops.io/run-now-by": "chat:slack:U123"})
        names.append(run_now_name("db-scan", policy["metadata"]["uid"], value))
        wait_for(lambda n=names[-1]: _condition(_maybe(kube, "patchruns", n), "Ready").get("reason") == "Running")
        aws.advance("1m")
        run = wait_for(lambda n=names[-1]: _finished(kube, n), timeout=30)
        assert _condition(run, "Complete")["status"] == "True"
        assert run["spec"]["trigger"] == "Chat"
        assert run["status"]["instances"]["succeeded"] == 2
    # historyLimit 2: the oldest finished run is gone.
    wait_for(lambda: sorted(r["metadata"]["name"] for r in _runs(kube, "db-scan")) == sorted(names[1:]))
    last_run = _get(kube, "patchpolicies", "db-scan")["status"]["lastRun"]
    assert (last_run["name"], last_run["result"]) == (names[2], "Succeeded")
    assert _send_commands(aws) == 3


def test_run_of_a_missing_policy_waits_and_a_suspended_policy_starts_nothing(
    kube: Kube, aws: Aws, operator: OperatorProcess
) -> None:
    run = {"apiVersion": "sreops.io/v1alpha1", "kind": "PatchRun", "metadata": {"name": "orphan"}}
    kube.custom.create_namespaced_custom_object(
        GROUP, VERSION, NS, "patchruns", {**run, "spec": {"policyRef": {"name": "nope"}}}
    )
    ready = wait_for(lambda: _condition(_maybe(kube, "patchruns", "orphan"), "Ready"))
    assert (ready["status"], ready["reason"]) == ("False", "PolicyNotFound")
    assert ready["message"] == (
        "PatchPolicy 'nope' not found in namespace 'default'; waiting for it (spec.policyRef.name)"
    )

    _policy(kube, "paused", suspend=True)
    kube.custom.create_namespaced_custom_object(
        GROUP,
        VERSION,
        NS,
        "patchruns",
        {**run, "metadata": {"name": "paused-1"}, "spec": {"policyRef": {"name": "paused"}}},
    )
    done = wait_for(lambda: _finished(kube, "paused-1"))
    failed = _condition(done, "Failed")
    assert (failed["status"], failed["reason"]) == ("True", "PolicySuspended")
    assert "suspended" in failed["message"]
    assert done["metadata"]["ownerReferences"][0]["name"] == "paused"  # a user's run is owned by its policy too
    assert _send_commands(aws) == 0


def test_a_run_applied_before_its_policy_waits_and_patches_with_the_policys_baseline(
    kube: Kube, aws: Aws, operator: OperatorProcess
) -> None:
    """The run comes first (any order of `kubectl apply`), then its policy: nothing is sent until the policy's
    baseline and patch group are in place, so the patch the baseline rejects stays uninstalled."""
    region, instances = "us-west-2", DB_INSTANCES["us-west-2"]

    def missing(instance: str) -> list[str]:
        patches = _ssm(aws, region).describe_instance_patches(
            InstanceId=instance, Filters=[{"Key": "State", "Values": ["Missing"]}]
        )["Patches"]
        return sorted(p["KBId"] for p in patches)

    before = {i: missing(i) for i in instances}
    assert len(before[instances[0]]) >= 2
    rejected = before[instances[0]][0]
    run = {"apiVersion": "sreops.io/v1alpha1", "kind": "PatchRun", "metadata": {"name": "early"}}
    kube.custom.create_namespaced_custom_object(
        GROUP, VERSION, NS, "patchruns", {**run, "spec": {"policyRef": {"name": "db-west"}, "operation": "Install"}}
    )
    ready = wait_for(lambda: _condition(_maybe(kube, "patchruns", "early"), "Ready"))
    assert ready["reason"] == "PolicyNotFound"

    _policy(kube, "db-west", regions=[region], patchGroup="db", baseline={"rejectedPatches": [rejected]})
    wait_for(lambda: (_maybe(kube, "patchruns", "early").get("status") or {}).get("commandIds"), timeout=60)
    aws.advance("10m")
    run_obj = wait_for(lambda: _finished(kube, "early"), timeout=30)
    assert _condition(run_obj, "Ready")["reason"] == "Succeeded", run_obj["status"]
    policy = _get(kube, "patchpolicies", "db-west")
    assert run_obj["status"]["startedAt"] >= _condition(policy, "Synced")["lastTransitionTime"]
    # Sent once the baseline was registered for the patch group: the rejected patch is still missing.
    for instance in instances:
        assert missing(instance) == [p for p in before[instance] if p == rejected], instance
    assert _send_commands(aws) == 1


def test_a_send_lost_before_its_status_write_is_found_not_repeated(kube: Kube, aws: Aws, tmp_path: Path) -> None:
    """The operator stopped between SendCommand and recording its id: the restarted one finds the command
    by the run's uid in its comment and sends only what is missing."""
    op = make_operator(kube, {**aws.env, "SREOPS_RUN_POLL_SECONDS": "1"}, tmp_path)
    op.start()
    try:
        _account(kube)
        _policy(kube, "db-fleet", operation="Scan")
        op.stop()
        run = kube.custom.create_namespaced_custom_object(
            GROUP,
            VERSION,
            NS,
            "patchruns",
            {"apiVersion": "sreops.io/v1alpha1", "kind": "PatchRun", "metadata": {"name": "lost"},
             "spec": {"policyRef": {"name": "db-fleet"}}},
        )  # fmt: skip
        uid = run["metadata"]["uid"]
        kube.custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, NS, "patchruns", "lost", {"status": {"startedAt": "2026-01-05T12:00:00Z"}}
        )
        lost = _ssm(aws, "us-west-2").send_command(
            DocumentName="AWS-RunPatchBaseline",
            Parameters={"Operation": ["Scan"], "RebootOption": ["RebootIfNeeded"]},
            Targets=[{"Key": "tag:Env", "Values": ["prod"]}, {"Key": "tag:Role", "Values": ["db"]}],
            Comment=f"sreops run {uid} part 1/1",
        )["Command"]["CommandId"]
        aws.admin("DELETE", "calls")
        op.start()
        run = wait_for(lambda: len((_get(kube, "patchruns", "lost").get("status") or {}).get("commandIds") or []) == 2)
        refs = {c["region"]: c["commandId"] for c in _get(kube, "patchruns", "lost")["status"]["commandIds"]}
        assert refs["us-west-2"] == lost
        assert _send_commands(aws) == 1  # us-east-1 only
        aws.advance("1m")
        assert _condition(wait_for(lambda: _finished(kube, "lost"), timeout=30), "Complete")["status"] == "True"
    finally:
        op.stop()


def test_racing_run_now_handlers_create_one_run(kube: Kube) -> None:
    """Two handlers of the same annotation value at the same time: one PatchRun, the other meets 409."""
    policy = {
        "apiVersion": "sreops.io/v1alpha1",
        "kind": "PatchPolicy",
        "metadata": {"name": "race", "annotations": {"sreops.io/run-now": "go"}},
        "spec": {
            "targets": {"tags": {"Role": "db"}},
            "operatingSystem": "AMAZON_LINUX_2023",
            "schedule": {"cron": NEVER},
        },
    }
    body = kopf.Body(kube.custom.create_namespaced_custom_object(GROUP, VERSION, NS, "patchpolicies", policy))
    services = Services(
        settings=Settings(), metrics=OperatorMetrics(), aws=ClientFactory(sts_region="us-west-2"), kube=kube.api
    )
    barrier = threading.Barrier(4)
    names: list[str | None] = []

    def handler() -> None:
        barrier.wait()
        names.append(start_run_now(services, body, logging.getLogger("test")))

    threads = [threading.Thread(target=handler) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    started = {n for n in names if n is not None}  # None: a handler that came after another had recorded it
    assert len(started) == 1
    assert [r["metadata"]["name"] for r in _runs(kube)] == sorted(started)


def _window_id(kube: Kube, aws: Aws, policy: str, cron_aws: str) -> str:
    """The policy's window in us-west-2: the PatchPolicy controller's, or (where that controller does not
    run) one made here as it would, with the id written to the policy's status.targets."""
    try:
        targets = wait_for(
            lambda: [t for t in (_get(kube, "patchpolicies", policy).get("status") or {}).get("targets") or []
                     if t.get("windowId")],
            timeout=15,
        )  # fmt: skip
        return str(targets[0]["windowId"])
    except AssertionError:
        pass
    ssm = _ssm(aws, "us-west-2")
    window = ssm.create_maintenance_window(
        Name=policy, Schedule=cron_aws, ScheduleTimezone="UTC", Duration=3, Cutoff=1, AllowUnassociatedTargets=False
    )["WindowId"]
    target = ssm.register_target_with_maintenance_window(
        WindowId=window,
        ResourceType="INSTANCE",
        Targets=[{"Key": "tag:Role", "Values": ["db"]}, {"Key": "tag:Env", "Values": ["prod"]}],
    )["WindowTargetId"]
    ssm.register_task_with_maintenance_window(
        WindowId=window,
        TaskArn="AWS-RunPatchBaseline",
        TaskType="RUN_COMMAND",
        Targets=[{"Key": "WindowTargetIds", "Values": [target]}],
        TaskInvocationParameters={"RunCommand": {"Parameters": {"Operation": ["Scan"]}}},
        MaxConcurrency="50%",
        MaxErrors="1",
    )
    status = {"targets": [{"account": "111122223333", "region": "us-west-2", "windowId": window}]}
    kube.custom.patch_namespaced_custom_object_status(GROUP, VERSION, NS, "patchpolicies", policy, {"status": status})
    return str(window)


def test_window_executions_show_as_schedule_runs_once_each(kube: Kube, aws: Aws, operator: OperatorProcess) -> None:
    """The simulated clock starts at 12:00 UTC; the window opens daily at 13:00."""
    _policy(
        kube,
        "db-daily",
        operation="Scan",
        regions=["us-west-2"],
        historyLimit=1,
        schedule={"cron": "0 13 * * *", "timezone": "UTC"},
    )
    window = _window_id(kube, aws, "db-daily", "cron(0 13 * * ? *)")
    aws.advance("61m")
    first = wait_for(lambda: [r for r in _runs(kube, "db-daily") if r["spec"]["trigger"] == "Schedule"])[0]
    name = first["metadata"]["name"]
    assert first["spec"]["operation"] == "Scan"
    assert first["metadata"]["annotations"]["sreops.io/window-execution"].startswith(
        f"111122223333/us-west-2/{window}/"
    )
    run = wait_for(lambda: _finished(kube, name), timeout=30)
    assert _condition(run, "Complete")["status"] == "True"
    assert run["status"]["instances"]["succeeded"] == 2
    executions = _ssm(aws, "us-west-2").describe_maintenance_window_executions(WindowId=window)["WindowExecutions"]
    assert len(executions) == 1
    assert first["metadata"]["annotations"]["sreops.io/window-execution"].endswith(executions[0]["WindowExecutionId"])
    assert _send_commands(aws) == 0  # the window sent the command; the run only tracks it

    # The next day's execution is a second run; historyLimit 1 prunes the first, which never comes back.
    aws.advance("24h")
    second = wait_for(lambda: [r for r in _runs(kube, "db-daily") if r["metadata"]["name"] != name])[0]["metadata"][
        "name"
    ]
    wait_for(lambda: _finished(kube, second), timeout=30)
    wait_for(lambda: [r["metadata"]["name"] for r in _runs(kube, "db-daily")] == [second])
    time.sleep(6)  # more than one resync of the policy
    assert [r["metadata"]["name"] for r in _runs(kube, "db-daily")] == [second]
