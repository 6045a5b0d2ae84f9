"""PatchPolicy against the stand-ins: the operator process keeps baselines, patch groups, windows, targets
and tasks in SSM per account x region, repairs drift, reports compliance, and cleans up on delete.

Most tests share one environment (Kubernetes stand-in, AWS stand-in, operator with a 5 s resync) to keep
the suite's wall time down; each uses its own policy names and deletes what it created. The tests that
count every AWS call start their own environment so that no other object's resync is counted.
"""

from __future__ import annotations

import copy
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from sreops.operator.api import GROUP, VERSION
from sreops.sandbox.aws.scenario import SANDBOX_EXTERNAL_ID
from sreops.sandbox.kube.server import KubeServer
from sreops.sandbox.processes import start_aws_standin
from sreops.sandbox.seed import ensure_namespace, install_crds
from tests.integration.conftest import Aws, Kube, OperatorProcess, make_operator, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SAMPLES = Path(__file__).resolve().parents[2] / "crds" / "samples"
PROD_ROLE = "arn:aws:iam::111122223333:role/sreops"
PLURAL = "patchpolicies"
RESYNC = 5.0


@dataclass
class Env:
    kube: Kube
    aws: Aws
    operator: OperatorProcess
    workdir: Path


def _start_aws(workdir: Path) -> Aws:
    """The AWS stand-in as a child process, like the `aws` fixture (which is per test)."""
    return Aws(*start_aws_standin(workdir / "aws.log"))


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    workdir = tmp_path_factory.mktemp("patchpolicy")
    handle = KubeServer(workdir / "kube").start_in_thread()
    api = config.new_client_from_config(config_file=str(handle.kubeconfig_path))
    install_crds(api)
    kube = Kube(handle, api)
    aws = _start_aws(workdir)
    operator = make_operator(kube, aws.env, workdir, resync_seconds=RESYNC)
    operator.start()
    try:
        _prod_account(kube)
        yield Env(kube, aws, operator, workdir)
    finally:
        operator.stop()
        aws.proc.terminate()
        aws.proc.wait(timeout=20)
        api.close()
        handle.stop()


# -- helpers ----------------------------------------------------------------------------------------------


def _sample(kind: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((SAMPLES / f"{kind.lower()}.yaml").read_text())
    return doc


def _prod_account(kube: Kube, namespace: str = "default", external_id: str = SANDBOX_EXTERNAL_ID) -> None:
    if namespace != "default":
        ensure_namespace(kube.api, namespace)
    kube.core.create_namespaced_secret(
        namespace,
        client.V1Secret(metadata=client.V1ObjectMeta(name="prod-aws"), string_data={"externalId": external_id}),
    )
    kube.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "awsaccounts", _sample("AWSAccount"))


def _policy(name: str, **spec: Any) -> dict[str, Any]:
    doc = _sample("PatchPolicy")
    doc["metadata"] = {"name": name}
    doc["spec"].pop("patchGroup")
    doc["spec"].update(spec)
    return doc


def _create(kube: Kube, doc: dict[str, Any], namespace: str = "default") -> None:
    kube.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, doc)


def _get(kube: Kube, name: str, namespace: str = "default") -> dict[str, Any] | None:
    try:
        obj: dict[str, Any] = kube.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return obj


def _condition(kube: Kube, name: str, type_: str = "Ready", namespace: str = "default") -> dict[str, Any]:
    status = (_get(kube, name, namespace) or {}).get("status") or {}
    return next((c for c in status.get("conditions", []) if c["type"] == type_), {})


def _wait_ready(kube: Kube, name: str, namespace: str = "default", timeout: float = 40) -> dict[str, Any]:
    wait_for(lambda: _condition(kube, name, namespace=namespace).get("status") == "True", timeout=timeout)
    obj = _get(kube, name, namespace)
    assert obj is not None
    return obj


def _patch_spec(kube: Kube, name: str, spec: dict[str, Any]) -> None:
    kube.custom.patch_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, name, {"spec": spec})


def _delete(kube: Kube, name: str, namespace: str = "default") -> None:
    kube.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)


def _events(kube: Kube, name: str, reason: str, namespace: str = "default") -> list[Any]:
    events = client.CoreV1Api(kube.api).list_namespaced_event(namespace).items
    return [e for e in events if e.involved_object.name == name and e.reason == reason]


def _namespace_gone(kube: Kube, namespace: str) -> bool:
    try:
        kube.core.read_namespace(namespace)
    except ApiException as exc:
        return exc.status == 404
    return False


def _ssm(aws: Aws, region: str) -> Any:
    return aws.client("ssm", region, PROD_ROLE, SANDBOX_EXTERNAL_ID)


def _target(obj: dict[str, Any], region: str) -> dict[str, Any]:
    return next(t for t in obj["status"]["targets"] if t["region"] == region)


def _tags(ssm: Any, resource_type: str, resource_id: str) -> dict[str, str]:
    answer = ssm.list_tags_for_resource(ResourceType=resource_type, ResourceId=resource_id)
    return {t["Key"]: t["Value"] for t in answer["TagList"]}


def _window_exists(ssm: Any, window_id: str) -> bool:
    return any(w["WindowId"] == window_id for w in ssm.describe_maintenance_windows()["WindowIdentities"])


def _baseline_exists(ssm: Any, baseline_id: str) -> bool:
    listing = ssm.describe_patch_baselines(Filters=[{"Key": "OWNER", "Values": ["Self"]}])["BaselineIdentities"]
    return any(b["BaselineId"] == baseline_id for b in listing)


def _cleanup(kube: Kube, *names: str) -> None:
    for name in names:
        if _get(kube, name) is not None:
            _delete(kube, name)
    for name in names:
        wait_for(lambda n=name: _get(kube, n) is None, timeout=40)


# -- tests against the shared environment -------------------------------------------------------------------


def test_sample_becomes_ready_with_every_resource_present_and_tagged(env: Env) -> None:
    kube, aws = env.kube, env.aws
    _create(kube, _sample("PatchPolicy"))  # web-fleet: us-west-2, patch group "web"
    _create(kube, _policy("all-regions", regions=[], targets={"tags": {"Env": "prod"}}, suspend=True))
    try:
        obj = _wait_ready(kube, "web-fleet")
        uid = obj["metadata"]["uid"]
        assert obj["status"]["observedGeneration"] == obj["metadata"]["generation"]
        assert _condition(kube, "web-fleet", "Synced")["status"] == "True"
        (target,) = obj["status"]["targets"]
        assert (target["account"], target["region"], target["patchGroup"]) == ("111122223333", "us-west-2", "web")

        ssm = _ssm(aws, "us-west-2")
        owner_tags = {"sreops.io/owner": "default/web-fleet", "sreops.io/uid": uid}
        baseline = ssm.get_patch_baseline(BaselineId=target["baselineId"])
        assert baseline["Name"] == "sreops-default-web-fleet"
        assert baseline["OperatingSystem"] == "AMAZON_LINUX_2023"
        assert baseline["PatchGroups"] == ["web"]
        (rule,) = baseline["ApprovalRules"]["PatchRules"]
        assert (rule["ApproveAfterDays"], rule["ComplianceLevel"]) == (7, "CRITICAL")
        filters = {f["Key"]: f["Values"] for f in rule["PatchFilterGroup"]["PatchFilters"]}
        assert filters == {"CLASSIFICATION": ["Security", "Bugfix"], "SEVERITY": ["Critical", "Important"]}
        assert _tags(ssm, "PatchBaseline", target["baselineId"]) == owner_tags
        group = ssm.get_patch_baseline_for_patch_group(PatchGroup="web", OperatingSystem="AMAZON_LINUX_2023")
        assert group["BaselineId"] == target["baselineId"]

        window = ssm.get_maintenance_window(WindowId=target["windowId"])
        assert (window["Name"], window["Schedule"], window["ScheduleTimezone"]) == (
            "sreops-default-web-fleet",
            "cron(0 3 ? * SUN *)",
            "America/Los_Angeles",
        )
        assert (window["Duration"], window["Cutoff"], window["Enabled"], window["AllowUnassociatedTargets"]) == (
            3,
            1,
            True,
            False,
        )
        assert _tags(ssm, "MaintenanceWindow", target["windowId"]) == owner_tags
        (window_target,) = ssm.describe_maintenance_window_targets(WindowId=target["windowId"])["Targets"]
        assert window_target["WindowTargetId"] == target["windowTargetId"]
        assert sorted((t["Key"], t["Values"]) for t in window_target["Targets"]) == [
            ("tag:Env", ["prod"]),
            ("tag:Role", ["web"]),
        ]
        task = ssm.get_maintenance_window_task(WindowId=target["windowId"], WindowTaskId=target["windowTaskId"])
        assert task["TaskArn"] == "AWS-RunPatchBaseline" and task["TaskType"] == "RUN_COMMAND"
        assert (task["MaxConcurrency"], task["MaxErrors"]) == ("10%", "1")
        assert task["Targets"] == [{"Key": "WindowTargetIds", "Values": [target["windowTargetId"]]}]
        assert task["TaskInvocationParameters"]["RunCommand"]["Parameters"] == {
            "Operation": ["Install"],
            "RebootOption": ["RebootIfNeeded"],
        }

        compliance = obj["status"]["compliance"]
        assert compliance["instances"] > 0
        assert (
            compliance["compliant"] + compliance["nonCompliant"] + compliance["unreported"] == compliance["instances"]
        )
        assert compliance["summary"] == f"{compliance['compliant']}/{compliance['instances']}"
        assert compliance["lastCheckTime"]
        assert _condition(kube, "web-fleet", "Compliant")["status"] in ("True", "False", "Unknown")
        assert obj["status"]["nextRunTime"].endswith("Z")
        metrics = env.operator.metrics()
        assert 'sreops_policy_ready{namespace="default",policy="web-fleet"} 1.0' in metrics
        assert 'sreops_policy_instances{namespace="default",policy="web-fleet",state="compliant"}' in metrics

        # Regions absent: the account's regions (us-west-2 and us-east-1); suspended: no next run.
        other = _wait_ready(kube, "all-regions")
        assert sorted(t["region"] for t in other["status"]["targets"]) == ["us-east-1", "us-west-2"]
        assert "nextRunTime" not in other["status"]
        east = _target(other, "us-east-1")
        assert _ssm(aws, "us-east-1").get_maintenance_window(WindowId=east["windowId"])["Enabled"] is False
        assert east["patchGroup"] == "default-all-regions"

        table = subprocess.run(
            ["kubectl", "--kubeconfig", str(kube.kubeconfig), "get", "pp", "web-fleet"],
            capture_output=True,
            text=True,
            env={**os.environ, "HOME": str(env.workdir)},
            check=True,
        ).stdout
        header, row = table.splitlines()[:2]
        assert header.split()[:4] == ["NAME", "OPERATION", "COMPLIANT", "READY"]
        assert row.split()[:4] == ["web-fleet", "Install", compliance["summary"], "True"]
    finally:
        _cleanup(kube, "web-fleet", "all-regions")


def test_drift_is_repaired_and_an_unchanged_resync_writes_nothing(env: Env) -> None:
    kube, aws = env.kube, env.aws
    _create(kube, _policy("drifty"))
    try:
        obj = _wait_ready(kube, "drifty")
        target = _target(obj, "us-west-2")
        # Let the first resync settle, then count: two full resyncs must not write anything.
        time.sleep(RESYNC + 1)
        aws.admin("DELETE", "calls")
        time.sleep(2 * RESYNC + 2)
        calls = aws.admin("GET", "calls")
        assert calls["writes"] == 0, calls
        assert calls["calls"]["ssm"].get("GetPatchBaseline", 0) >= 2  # the resyncs did look

        ssm = _ssm(aws, "us-west-2")
        ssm.delete_maintenance_window(WindowId=target["windowId"])
        ssm.update_patch_baseline(BaselineId=target["baselineId"], ApprovedPatches=["KB999"])
        events = wait_for(lambda: _events(kube, "drifty", "DriftRepaired"), timeout=30)
        assert events[0].type == "Normal"
        assert target["windowId"] in events[0].message and "ApprovedPatches" in events[0].message
        repaired = wait_for(
            lambda: (o := _get(kube, "drifty")) and _target(o, "us-west-2")["windowId"] != target["windowId"] and o
        )
        new = _target(repaired, "us-west-2")
        assert new["baselineId"] == target["baselineId"]  # updated in place, not recreated
        assert ssm.get_patch_baseline(BaselineId=target["baselineId"])["ApprovedPatches"] == []
        assert ssm.get_maintenance_window(WindowId=new["windowId"])["Name"] == "sreops-default-drifty"
        assert len(ssm.describe_maintenance_window_tasks(WindowId=new["windowId"])["Tasks"]) == 1
    finally:
        _cleanup(kube, "drifty")


def test_spec_changes_update_in_place_and_suspend_disables_the_window(env: Env) -> None:
    kube, aws = env.kube, env.aws
    _create(kube, _policy("changing", regions=["us-west-2", "us-east-1"]))
    try:
        before = _wait_ready(kube, "changing")
        west, east = _target(before, "us-west-2"), _target(before, "us-east-1")
        spec = copy.deepcopy(before["spec"])
        spec.update(suspend=True, rollout={"maxConcurrency": "2", "maxErrors": "0"}, regions=["us-west-2"])
        spec["baseline"]["approvedPatches"] = ["KB5034441"]
        _patch_spec(kube, "changing", spec)
        wait_for(
            lambda: (
                _condition(kube, "changing").get("observedGeneration") == 2
                and _condition(kube, "changing")["status"] == "True"
            )
        )
        after = _get(kube, "changing")
        assert after is not None
        assert after["status"]["targets"] == [west]  # same ids: updated in place; us-east-1 gone
        assert "nextRunTime" not in after["status"]
        ssm = _ssm(aws, "us-west-2")
        assert ssm.get_maintenance_window(WindowId=west["windowId"])["Enabled"] is False
        task = ssm.get_maintenance_window_task(WindowId=west["windowId"], WindowTaskId=west["windowTaskId"])
        assert (task["MaxConcurrency"], task["MaxErrors"]) == ("2", "0")
        assert ssm.get_patch_baseline(BaselineId=west["baselineId"])["ApprovedPatches"] == ["KB5034441"]
        east_ssm = _ssm(aws, "us-east-1")
        assert not _window_exists(east_ssm, east["windowId"])
        assert not _baseline_exists(east_ssm, east["baselineId"])

        # The operating system cannot change in place: a new baseline takes over the patch group.
        spec["operatingSystem"] = "UBUNTU"
        _patch_spec(kube, "changing", spec)
        wait_for(
            lambda: (
                _condition(kube, "changing").get("observedGeneration") == 3
                and _condition(kube, "changing")["status"] == "True"
            )
        )
        replaced = _target(_get(kube, "changing") or {}, "us-west-2")
        assert replaced["baselineId"] != west["baselineId"]
        assert replaced["windowId"] == west["windowId"]
        assert not _baseline_exists(ssm, west["baselineId"])
        group = ssm.get_patch_baseline_for_patch_group(PatchGroup="default-changing", OperatingSystem="UBUNTU")
        assert group["BaselineId"] == replaced["baselineId"]
    finally:
        _cleanup(kube, "changing")


def test_a_lost_status_write_and_a_restart_create_no_duplicates(env: Env) -> None:
    kube, aws = env.kube, env.aws
    _create(kube, _policy("forgetful"))
    try:
        before = _target(_wait_ready(kube, "forgetful"), "us-west-2")
        env.operator.stop()
        kube.custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, "default", PLURAL, "forgetful", {"status": {"targets": []}}
        )
        aws.admin("DELETE", "calls")
        env.operator.start()
        after = wait_for(lambda: ((_get(kube, "forgetful") or {}).get("status") or {}).get("targets"), timeout=30)
        assert after == [before]  # found again by name and uid tag
        assert aws.admin("GET", "calls")["writes"] == 0
        ssm = _ssm(aws, "us-west-2")
        names = [w["Name"] for w in ssm.describe_maintenance_windows()["WindowIdentities"]]
        assert names.count("sreops-default-forgetful") == 1
    finally:
        _cleanup(kube, "forgetful")


def test_delete_removes_aws_resources_and_retain_keeps_them(env: Env) -> None:
    kube, aws = env.kube, env.aws
    _create(kube, _policy("short-lived"))
    _create(kube, _policy("kept", deletionPolicy="Retain"))
    gone = _target(_wait_ready(kube, "short-lived"), "us-west-2")
    kept = _target(_wait_ready(kube, "kept"), "us-west-2")
    ssm = _ssm(aws, "us-west-2")
    _cleanup(kube, "short-lived", "kept")
    assert not _window_exists(ssm, gone["windowId"])
    assert not _baseline_exists(ssm, gone["baselineId"])
    assert ssm.get_patch_baseline_for_patch_group(PatchGroup="default-short-lived")["BaselineId"] != gone["baselineId"]
    assert _window_exists(ssm, kept["windowId"]) and _baseline_exists(ssm, kept["baselineId"])
    # Tidy the retained resources so later tests see a clean region.
    ssm.delete_maintenance_window(WindowId=kept["windowId"])
    ssm.deregister_patch_baseline_for_patch_group(BaselineId=kept["baselineId"], PatchGroup="default-kept")
    ssm.delete_patch_baseline(BaselineId=kept["baselineId"])


def test_deleting_the_namespace_cleans_up_aws_and_the_account_goes_last(env: Env) -> None:
    """The namespace controller deletes everything at once; the policy still has its account's credentials
    for its cleanup, because an account in use waits (InUse) and marking it deleted bumps its generation."""
    kube, namespace = env.kube, "doomed"
    _prod_account(kube, namespace=namespace)
    _create(kube, _policy("fleet"), namespace=namespace)
    target = _target(_wait_ready(kube, "fleet", namespace=namespace), "us-west-2")

    # Deleting the account alone waits for the policy that names it.
    kube.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, "awsaccounts", "prod")

    def account_condition(type_: str) -> dict[str, Any]:
        obj = kube.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "awsaccounts", "prod")
        return next((c for c in obj.get("status", {}).get("conditions", []) if c["type"] == type_), {})

    held = wait_for(lambda: (c := account_condition("Terminating")).get("reason") == "InUse" and c, timeout=30)
    assert held["status"] == "True"
    assert held["message"].startswith("still used by PatchPolicy/fleet")
    assert account_condition("Ready")["status"] == "True"

    kube.core.delete_namespace(namespace)

    wait_for(lambda: _namespace_gone(kube, namespace), timeout=90)
    ssm = _ssm(env.aws, "us-west-2")
    assert not _window_exists(ssm, target["windowId"])
    assert not _baseline_exists(ssm, target["baselineId"])


def test_a_namespace_deleted_while_the_operator_is_down_still_goes(env: Env) -> None:
    """The Secret with the external id went with the namespace before the operator came back: it cannot act
    in the account any more, so it leaves the AWS resources (a Warning says so) rather than hold the namespace."""
    kube, namespace = env.kube, "doomed-offline"
    _prod_account(kube, namespace=namespace)
    _create(kube, _policy("fleet"), namespace=namespace)
    target = _target(_wait_ready(kube, "fleet", namespace=namespace), "us-west-2")
    env.operator.stop()
    kube.core.delete_namespace(namespace)
    env.operator.start()

    wait_for(lambda: _namespace_gone(kube, namespace), timeout=90)
    log = env.operator.child.log.read_text()
    assert "AWS resources left in place: AWSAccount prod: is being deleted and its credentials are gone" in log
    ssm = _ssm(env.aws, "us-west-2")
    assert _window_exists(ssm, target["windowId"])  # left, as the Warning said
    ssm.delete_maintenance_window(WindowId=target["windowId"])
    ssm.deregister_patch_baseline_for_patch_group(BaselineId=target["baselineId"], PatchGroup="doomed-offline-fleet")
    ssm.delete_patch_baseline(BaselineId=target["baselineId"])


def test_delete_with_ssm_unreachable_keeps_the_finalizer_until_aws_is_back(env: Env) -> None:
    kube, aws = env.kube, env.aws
    _create(kube, _policy("stuck"))
    target = _target(_wait_ready(kube, "stuck"), "us-west-2")
    # SSM down (not the whole region): the AWSAccount's own STS check stays green, so what holds the
    # finalizer is the policy's cleanup alone, not the account's slower retry.
    aws.admin("PUT", "faults", {"spec": "ssm:*=down"})
    try:
        _delete(kube, "stuck")
        blocked = wait_for(lambda: _condition(kube, "stuck").get("reason") == "DeletionPending", timeout=30)
        assert blocked
        time.sleep(3)
        obj = _get(kube, "stuck")
        assert obj is not None and obj["metadata"].get("deletionTimestamp")
        assert obj["metadata"]["finalizers"]
    finally:
        aws.admin("DELETE", "faults")
    wait_for(lambda: _get(kube, "stuck") is None, timeout=60)
    assert not _window_exists(_ssm(aws, "us-west-2"), target["windowId"])


def test_policies_of_an_account_whose_role_cannot_be_assumed_are_not_ready(env: Env) -> None:
    kube = env.kube
    _prod_account(kube, namespace="broken", external_id="wrong-external-id")
    _create(kube, _policy("orphan"), namespace="broken")
    ready = wait_for(
        lambda: (
            (c := _condition(kube, "orphan", namespace="broken")).get("reason") == "AccountNotReady"
            and "AssumeRoleFailed" in c["message"]
            and c
        ),
        timeout=40,
    )
    assert ready["status"] == "False"
    assert "AccessDenied" in ready["message"] and PROD_ROLE in ready["message"]
    assert "wrong-external-id" not in ready["message"]
    # Fixing the account's Secret is enough: the policy follows on its next retry.
    kube.core.patch_namespaced_secret("prod-aws", "broken", {"stringData": {"externalId": SANDBOX_EXTERNAL_ID}})
    _wait_ready(kube, "orphan", namespace="broken", timeout=60)
    _delete(kube, "orphan", namespace="broken")
    wait_for(lambda: _get(kube, "orphan", "broken") is None, timeout=40)


def test_a_policy_applied_before_its_account_and_secret_waits_and_follows_them(env: Env) -> None:
    """Alphabetical `kubectl apply -f dir/`, a Helm release, a GitOps sync: references may come later."""
    kube, namespace = env.kube, "later"
    ensure_namespace(kube.api, namespace)
    _create(kube, _policy("early"), namespace=namespace)
    ready = wait_for(lambda: (c := _condition(kube, "early", namespace=namespace)).get("reason") and c)
    assert (ready["status"], ready["reason"]) == ("False", "AccountNotFound")
    assert ready["message"] == (
        "AWSAccount prod: not found in namespace 'later'; waiting for it (spec.accountRef.name)"
    )
    assert _condition(kube, "early", "Synced", namespace)["status"] == "Unknown"
    assert _events(kube, "early", "AccountNotFound", namespace)[0].type == "Normal"
    generation = _get(kube, "early", namespace)["metadata"]["generation"]  # type: ignore[index]

    # The account comes first, its Secret last: each step is waited for, then the policy follows by itself.
    kube.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "awsaccounts", _sample("AWSAccount"))
    wait_for(lambda: _condition(kube, "early", namespace=namespace).get("reason") == "AccountNotReady")
    kube.core.create_namespaced_secret(
        namespace,
        client.V1Secret(metadata=client.V1ObjectMeta(name="prod-aws"), string_data={"externalId": SANDBOX_EXTERNAL_ID}),
    )
    obj = _wait_ready(kube, "early", namespace=namespace)
    assert obj["metadata"]["generation"] == generation  # nobody touched the spec
    requested = obj["metadata"]["annotations"]["sreops.io/reconcile-requested"]
    assert " AWSAccount/prod@" in requested  # the account's watch re-triggered it, not a timer
    assert not _events(kube, "early", "InvalidSpec", namespace)
    _delete(kube, "early", namespace=namespace)
    wait_for(lambda: _get(kube, "early", namespace) is None, timeout=40)


# -- tests that count every AWS call: their own environment ---------------------------------------------------


def test_invalid_specs_and_waits_make_no_aws_call_and_are_fixed_with_the_spec(
    kube: Kube, aws: Aws, operator_process: OperatorProcess
) -> None:
    cases = {
        "bad-cron": ({"schedule": {"cron": "0 25 * * *", "timezone": "UTC"}}, "spec.schedule.cron"),
        "bad-zone": ({"schedule": {"cron": "0 3 * * 0", "timezone": "Mars/Olympus"}}, "spec.schedule.timezone"),
        "both-days": ({"schedule": {"cron": "0 3 1 * 1", "timezone": "UTC"}}, "spec.schedule.cron"),
    }
    for name, (spec, _) in cases.items():
        _create(kube, _policy(name, **spec))
    for name, (_, field) in cases.items():
        ready = wait_for(lambda n=name: _condition(kube, n).get("reason") == "InvalidSpec" and _condition(kube, n))
        assert ready["status"] == "False"
        assert ready["message"].startswith(f"{field}:"), ready["message"]
        assert wait_for(lambda n=name: _events(kube, n, "InvalidSpec"))[0].type == "Warning"
    # A missing account is a wait, not an invalid spec; it makes no AWS call either.
    _create(kube, _policy("no-account", accountRef={"name": "missing"}))
    waiting = wait_for(lambda: _condition(kube, "no-account").get("reason") == "AccountNotFound")
    assert waiting
    time.sleep(RESYNC + 1)  # a resync (and the wait's retry) does not call AWS for them either
    assert aws.admin("GET", "calls")["total"] == 0

    # Fixed spec (own credentials, default region us-west-2): reconciled at once.
    _patch_spec(kube, "bad-cron", {"schedule": {"cron": "0 3 * * 0", "timezone": "UTC"}, "accountRef": None})
    obj = _wait_ready(kube, "bad-cron")
    assert [t["region"] for t in obj["status"]["targets"]] == ["us-west-2"]
