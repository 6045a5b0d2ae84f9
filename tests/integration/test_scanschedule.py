"""ScanSchedule against the stand-ins: the operator process keeps Inspector enabled, sweeps findings, reports
counts, the top 10, what changed, suppressions and coverage, and compares with what Inspector itself lists.

One environment (Kubernetes stand-in, AWS stand-in with a frozen simulated clock, operator with a 5 s resync)
is shared by the tests; each uses its own names and region or account, and deletes what it created.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from sreops.operator.api import GROUP, VERSION
from sreops.sandbox.aws.scenario import SANDBOX_EXTERNAL_ID, SECURITY_ACCOUNT
from sreops.sandbox.kube.server import KubeServer
from sreops.sandbox.processes import start_aws_standin
from sreops.sandbox.seed import ensure_namespace, install_crds
from tests.integration.conftest import Aws, Kube, OperatorProcess, make_operator, wait_for
from tests.logs import print_log

pytestmark = [pytest.mark.integration, pytest.mark.slow]
NS = "default"
PLURAL = "scanschedules"
PROD = "111122223333"
PROD_ROLE = f"arn:aws:iam::{PROD}:role/sreops"
STAGING = "444455556666"
STAGING_ROLE = f"arn:aws:iam::{STAGING}:role/sreops"
SECURITY = SECURITY_ACCOUNT  # Inspector's delegated administrator for the other accounts
SECURITY_ROLE = f"arn:aws:iam::{SECURITY}:role/sreops"
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL")
RANK = {s: n for n, s in enumerate(SEVERITIES)} | {"UNTRIAGED": len(SEVERITIES)}
HOURLY = {"cron": "0 * * * *", "timezone": "UTC"}


@dataclass
class Env:
    kube: Kube
    aws: Aws
    operator: OperatorProcess
    workdir: Path


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    workdir = tmp_path_factory.mktemp("scanschedule")
    handle = KubeServer(workdir / "kube").start_in_thread()
    api = config.new_client_from_config(config_file=str(handle.kubeconfig_path))
    install_crds(api)
    kube = Kube(handle, api)
    aws = Aws(*start_aws_standin(workdir / "aws.log"))
    operator = make_operator(kube, {**aws.env, "SREOPS_RUN_POLL_SECONDS": "1"}, workdir, resync_seconds=5)
    operator.start()
    try:
        _account(kube, NS, "prod", PROD_ROLE, SANDBOX_EXTERNAL_ID)
        _account(kube, NS, "staging", STAGING_ROLE)
        _account(kube, NS, "security", SECURITY_ROLE)
        yield Env(kube, aws, operator, workdir)
    finally:
        operator.stop()
        print_log(operator.child.log)
        aws.proc.terminate()
        aws.proc.wait(timeout=20)
        api.close()
        handle.stop()


# -- helpers ----------------------------------------------------------------------------------------------


def _account(kube: Kube, namespace: str, name: str, role: str, external_id: str | None = None) -> None:
    spec: dict[str, Any] = {"roleArn": role, "regions": ["us-west-2", "us-east-1"]}
    if external_id:
        secret = client.V1Secret(metadata=client.V1ObjectMeta(name=f"{name}-aws"), string_data={"id": external_id})
        kube.core.create_namespaced_secret(namespace, secret)
        spec["externalIdSecretRef"] = {"name": f"{name}-aws", "key": "id"}
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "AWSAccount", "metadata": {"name": name}, "spec": spec}
    kube.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "awsaccounts", body)


def _schedule(kube: Kube, name: str, namespace: str = NS, **spec: Any) -> None:
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ScanSchedule",
        "metadata": {"name": name},
        "spec": {"accountRef": {"name": "prod"}, "schedule": HOURLY, **spec},
    }
    kube.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)


def _get(kube: Kube, name: str, namespace: str = NS, plural: str = PLURAL) -> dict[str, Any]:
    try:
        obj: dict[str, Any] = kube.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
    except ApiException as exc:
        if exc.status == 404:
            return {}
        raise
    return obj


def _status(kube: Kube, name: str, namespace: str = NS) -> dict[str, Any]:
    return _get(kube, name, namespace).get("status") or {}


def _condition(status: dict[str, Any], type_: str = "Ready") -> dict[str, Any]:
    return next((c for c in status.get("conditions") or [] if c["type"] == type_), {})


def _swept(kube: Kube, name: str, namespace: str = NS, after: str | None = None, timeout: float = 40) -> dict[str, Any]:
    """The status once a sweep has run (after the one at `after`, if given)."""

    def done() -> dict[str, Any] | None:
        status = _status(kube, name, namespace)
        last = status.get("lastScanTime")
        return status if last and (after is None or last != after) else None

    result: dict[str, Any] = wait_for(done, timeout=timeout)
    return result


def _scan_now(kube: Kube, name: str, value: str) -> None:
    body = {"metadata": {"annotations": {"sreops.io/scan-now": value}}}
    kube.custom.patch_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, name, body)


def _delete(kube: Kube, name: str, namespace: str = NS, plural: str = PLURAL) -> None:
    kube.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
    wait_for(lambda: not _get(kube, name, namespace, plural), timeout=40)


def _events(kube: Kube, name: str, reason: str) -> list[Any]:
    events = client.CoreV1Api(kube.api).list_namespaced_event(NS).items
    return [e for e in events if e.involved_object.name == name and e.reason == reason]


def _inspector(aws: Aws, region: str, account: str = PROD) -> Any:
    if account == PROD:
        return aws.client("inspector2", region, PROD_ROLE, SANDBOX_EXTERNAL_ID)
    return aws.client("inspector2", region, f"arn:aws:iam::{account}:role/sreops")


def _states(aws: Aws, region: str, account: str) -> dict[str, str]:
    answer = _inspector(aws, region, account).batch_get_account_status(accountIds=[account])["accounts"][0]
    keys = {"ec2": "EC2", "ecr": "ECR", "lambda": "LAMBDA", "lambdaCode": "LAMBDA_CODE"}
    return {keys[k]: v["status"] for k, v in answer["resourceState"].items()}


def _listing(
    aws: Aws, region: str, status: str = "ACTIVE", account: str = PROD, **criteria: Any
) -> list[dict[str, Any]]:
    """An independent listing: boto3's own paginator over the stand-in, as the account itself."""
    flt = {
        "findingStatus": [{"comparison": "EQUALS", "value": status}],
        "awsAccountId": [{"comparison": "EQUALS", "value": account}],
        "resourceType": [{"comparison": "EQUALS", "value": "AWS_EC2_INSTANCE"}],
        **criteria,
    }
    pages = _inspector(aws, region, account).get_paginator("list_findings").paginate(filterCriteria=flt)
    return [f for page in pages for f in page["findings"]]


def _cve(f: dict[str, Any]) -> str:
    return str(f["packageVulnerabilityDetails"]["vulnerabilityId"])


def _counts(findings: list[dict[str, Any]], suppressed: frozenset[str] = frozenset()) -> dict[str, int]:
    out = dict.fromkeys(("critical", "high", "medium", "low", "informational", "suppressed"), 0)
    for f in findings:
        key = "suppressed" if _cve(f) in suppressed else f["severity"].lower().replace("untriaged", "informational")
        out[key] += 1
    return out


def _sim_now(aws: Aws) -> datetime:
    return datetime.fromisoformat(aws.admin("GET", "clock")["now"].replace("Z", "+00:00"))


def _list_findings_calls(aws: Aws) -> int:
    return int(aws.admin("GET", "calls?service=inspector2")["calls"].get("inspector2", {}).get("ListFindings", 0))


# -- tests ------------------------------------------------------------------------------------------------


def test_enablement_turns_on_only_what_is_off_and_gives_back_only_that(env: Env) -> None:
    """Staging has EC2 on (not by sreops). Two schedules want ECR; one also LAMBDA. Deleting them disables what
    sreops enabled once nobody wants it, and never EC2."""
    kube, aws = env.kube, env.aws
    region = "us-east-1"
    assert _states(aws, region, STAGING) == {
        "EC2": "ENABLED",
        "ECR": "DISABLED",
        "LAMBDA": "DISABLED",
        "LAMBDA_CODE": "DISABLED",
    }
    spec = {"accountRef": {"name": "staging"}, "regions": [region]}
    _schedule(kube, "enable-a", **spec, resourceTypes=["EC2", "ECR", "LAMBDA"])
    wait_for(lambda: _condition(_status(kube, "enable-a"), "ScanningEnabled").get("reason") == "Enabling")
    aws.advance("10s")  # Inspector's ENABLING → ENABLED
    _swept(kube, "enable-a")
    status = wait_for(
        lambda: (s := _status(kube, "enable-a")) and _condition(s, "ScanningEnabled").get("status") == "True" and s
    )
    enabled = _condition(status, "ScanningEnabled")
    assert (enabled["status"], enabled["reason"]) == ("True", "Enabled")
    assert "enabled by sreops: ECR, LAMBDA" in enabled["message"] and "already on: EC2" in enabled["message"]
    (target,) = status["targets"]
    assert (target["account"], target["region"]) == (STAGING, region)
    assert sorted(target["enabledBySreops"]) == ["ECR", "LAMBDA"] and target["alreadyEnabled"] == ["EC2"]
    assert _condition(status)["status"] == "True"
    wait_for(lambda: _events(kube, "enable-a", "ScanningEnabled"))  # kopf posts events in the background

    _schedule(kube, "enable-b", **spec, resourceTypes=["ECR"])
    status_b = _swept(kube, "enable-b")
    assert status_b["targets"][0]["enabledBySreops"] == ["ECR"]  # shared with enable-a, which turned it on

    _delete(kube, "enable-a")
    assert wait_for(lambda: _states(aws, region, STAGING)["LAMBDA"] in ("DISABLING", "DISABLED"), timeout=20)
    assert _states(aws, region, STAGING)["ECR"] == "ENABLED"  # enable-b still wants it
    _delete(kube, "enable-b")
    aws.advance("10s")
    assert _states(aws, region, STAGING) == {
        "EC2": "ENABLED",
        "ECR": "DISABLED",
        "LAMBDA": "DISABLED",
        "LAMBDA_CODE": "DISABLED",
    }


def test_a_region_that_leaves_the_spec_gets_back_what_sreops_enabled_there(env: Env) -> None:
    kube, aws = env.kube, env.aws
    _schedule(kube, "moving", accountRef={"name": "staging"}, regions=["us-west-2"], resourceTypes=["ECR"])
    wait_for(lambda: _states(aws, "us-west-2", STAGING)["ECR"] == "ENABLING")
    aws.advance("10s")
    _swept(kube, "moving")
    kube.custom.patch_namespaced_custom_object(
        GROUP, VERSION, NS, PLURAL, "moving", {"spec": {"regions": ["us-east-1"]}}
    )
    wait_for(lambda: _states(aws, "us-west-2", STAGING)["ECR"] in ("DISABLING", "DISABLED"), timeout=30)
    assert _states(aws, "us-east-1", STAGING)["ECR"] in ("ENABLING", "ENABLED")
    status = wait_for(
        lambda: (s := _status(kube, "moving")) and [t["region"] for t in s["targets"]] == ["us-east-1"] and s
    )
    assert status["targets"][0]["enabledBySreops"] == ["ECR"]
    _delete(kube, "moving")
    aws.advance("10s")
    assert _states(aws, "us-east-1", STAGING)["ECR"] == "DISABLED"
    assert _states(aws, "us-west-2", STAGING)["ECR"] == "DISABLED"


def test_counts_top_ten_and_coverage_equal_an_independent_listing(env: Env) -> None:
    kube, aws = env.kube, env.aws
    region = "us-west-2"
    active = [f for f in _listing(aws, region) if f["resources"][0]["tags"].get("Env") == "prod"]
    assert len(active) > 20
    suppressed_cve = _cve(active[0])
    _schedule(
        kube,
        "counts",
        regions=[region],
        targets={"tags": {"Env": "prod"}},
        suppressions=[{"vulnerabilityId": suppressed_cve, "reason": "not reachable"}],
    )
    status = _swept(kube, "counts")
    assert status["findings"] == _counts(active, frozenset({suppressed_cve}))
    visible = [f for f in active if _cve(f) != suppressed_cve]
    best = sorted(visible, key=lambda f: (RANK[f["severity"]], f["firstObservedAt"], f["findingArn"]))[:10]
    assert [(t["vulnerabilityId"], t["resource"], t["severity"]) for t in status["topFindings"]] == [
        (_cve(f), f["resources"][0]["id"], f["severity"]) for f in best
    ]
    assert (status["newSinceLastScan"], status["resolvedSinceLastScan"]) == (0, 0)  # the first sweep: a baseline
    above = _counts(visible)["critical"] + _counts(visible)["high"]
    assert _condition(status, "ThresholdExceeded")["status"] == ("True" if above else "False")

    # Coverage: what ListCoverage says of the EC2 instances tagged Env=prod, with Inspector's reasons.
    pages = (
        _inspector(aws, region)
        .get_paginator("list_coverage")
        .paginate(filterCriteria={"resourceType": [{"comparison": "EQUALS", "value": "AWS_EC2_INSTANCE"}]})
    )
    covered = [
        c for p in pages for c in p["coveredResources"] if c["resourceMetadata"]["ec2"]["tags"].get("Env") == "prod"
    ]
    scanned = [c for c in covered if c["scanStatus"]["statusCode"] == "ACTIVE"]
    coverage = status["coverage"]
    assert (coverage["resources"], coverage["scanned"]) == (len(covered), len(scanned))
    assert {(n["resource"], n["reason"]) for n in coverage["notScanned"]} == {
        (c["resourceId"], c["scanStatus"]["reason"]) for c in covered if c not in scanned
    }
    assert coverage["scanned"] < coverage["resources"]  # the scenario has instances without the SSM agent
    assert "sreops_scan_findings{" in env.operator.metrics()
    _delete(kube, "counts")


def test_new_and_resolved_across_two_sweeps_when_a_run_installs_the_fixing_patch(env: Env) -> None:
    kube, aws = env.kube, env.aws
    region = "us-east-1"
    _schedule(kube, "changes", regions=[region], targets={"tags": {"Env": "prod", "Role": "db"}})
    first = _swept(kube, "changes")
    db = [f for f in _listing(aws, region) if f["resources"][0]["tags"].get("Role") == "db"]
    fixable = [f for f in db if f["remediation"]["recommendation"]["text"].startswith("Install ")]
    assert fixable, "the scenario has db findings that a missing patch fixes"
    policy = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "PatchPolicy",
        "metadata": {"name": "db-patch"},
        "spec": {
            "accountRef": {"name": "prod"},
            "regions": [region],
            "targets": {"tags": {"Role": "db", "Env": "prod"}},
            "operatingSystem": "AMAZON_LINUX_2023",
            "schedule": {"cron": "0 3 1 1 *", "timezone": "UTC"},
            "operation": "Install",
        },
    }
    kube.custom.create_namespaced_custom_object(GROUP, VERSION, NS, "patchpolicies", policy)
    wait_for(
        lambda: _condition(_get(kube, "db-patch", plural="patchpolicies").get("status") or {}).get("status") == "True"
    )
    kube.custom.patch_namespaced_custom_object(
        GROUP, VERSION, NS, "patchpolicies", "db-patch", {"metadata": {"annotations": {"sreops.io/run-now": "fix"}}}
    )
    runs = lambda: kube.custom.list_namespaced_custom_object(GROUP, VERSION, NS, "patchruns")["items"]  # noqa: E731
    wait_for(lambda: [r for r in runs() if (r.get("status") or {}).get("commandIds")], timeout=40)
    aws.advance("10m")  # the commands run to completion in simulated time
    wait_for(lambda: runs() and all((r.get("status") or {}).get("finishedAt") for r in runs()), timeout=40)
    # Inspector observes a new CVE on one db instance after the patch run.
    aws.advance("1m")
    instance = db[0]["resources"][0]["id"]
    aws.admin(
        "POST",
        "findings",
        {
            "account": PROD,
            "region": region,
            "resourceId": instance,
            "vulnerabilityId": "CVE-2026-0001",
            "severity": "CRITICAL",
        },
    )
    sweep_time = datetime.fromisoformat(first["lastScanTime"].replace("Z", "+00:00"))
    closed = [
        f
        for f in _listing(aws, region, "CLOSED", updatedAt=[{"startInclusive": sweep_time + timedelta(seconds=1)}])
        if f["resources"][0]["tags"].get("Role") == "db" and f["resources"][0]["tags"].get("Env") == "prod"
    ]
    assert closed, "installing the patches closed findings"
    _scan_now(kube, "changes", "after-patch")
    second = _swept(kube, "changes", after=first["lastScanTime"])
    assert second["newSinceLastScan"] == 1 and second["newBySeverity"]["critical"] == 1
    assert second["resolvedSinceLastScan"] == len(closed)
    total = lambda s: sum(v for k, v in s["findings"].items() if k != "suppressed")  # noqa: E731
    assert total(second) == total(first) + 1 - len(closed)
    assert any(t["vulnerabilityId"] == "CVE-2026-0001" for t in second["topFindings"])
    wait_for(lambda: _events(kube, "changes", "NewFindings") and _events(kube, "changes", "FindingsResolved"))
    kube.custom.delete_namespaced_custom_object(GROUP, VERSION, NS, "patchpolicies", "db-patch")
    wait_for(lambda: not _get(kube, "db-patch", plural="patchpolicies"), timeout=40)
    _delete(kube, "changes")


def test_a_suppression_counts_again_once_it_expires(env: Env) -> None:
    kube, aws = env.kube, env.aws
    region = "us-west-2"
    active = [f for f in _listing(aws, region) if f["resources"][0]["tags"].get("Env") == "prod"]
    target = active[-1]
    expires = (_sim_now(aws) + timedelta(days=2)).date().isoformat()
    suppression = {
        "vulnerabilityId": _cve(target),
        "resource": target["resources"][0]["id"],
        "reason": "accepted",
        "expires": expires,
    }
    _schedule(kube, "expiry", regions=[region], targets={"tags": {"Env": "prod"}}, suppressions=[suppression])
    first = _swept(kube, "expiry")
    hidden = sum(
        1 for f in active if _cve(f) == _cve(target) and f["resources"][0]["id"] == target["resources"][0]["id"]
    )
    assert first["findings"]["suppressed"] == hidden
    assert not first.get("expiredSuppressions")
    aws.advance("3d")
    _scan_now(kube, "expiry", "after-expiry")
    second = _swept(kube, "expiry", after=first["lastScanTime"])
    assert second["findings"]["suppressed"] == 0
    assert second["expiredSuppressions"] == [
        {"vulnerabilityId": _cve(target), "resource": target["resources"][0]["id"], "expires": expires}
    ]
    _scan_now(kube, "expiry", "again")  # a later sweep does not report the expiry again
    wait_for(lambda: "again" in (_status(kube, "expiry").get("scanNowHandled") or []))
    wait_for(lambda: _events(kube, "expiry", "SuppressionExpired"))
    time.sleep(1)  # a second event, if there were one, would have been posted by now
    assert len(_events(kube, "expiry", "SuppressionExpired")) == 1
    _delete(kube, "expiry")


def test_scan_now_sweeps_once_per_value_also_across_a_restart(env: Env) -> None:
    kube, aws = env.kube, env.aws
    """A suspended schedule does not sweep on its own; each scan-now value sweeps once, and an operator restart
    does not sweep for a value again."""
    _schedule(kube, "on-demand", regions=["us-west-2"], suspend=True)
    wait_for(lambda: _condition(_status(kube, "on-demand")).get("status") == "True")
    before = _list_findings_calls(aws)
    time.sleep(3)
    assert _list_findings_calls(aws) == before and not _status(kube, "on-demand").get("lastScanTime")
    _scan_now(kube, "on-demand", "v1")
    wait_for(lambda: "v1" in (_status(kube, "on-demand").get("scanNowHandled") or []))
    after_v1 = _list_findings_calls(aws)
    assert after_v1 > before
    env.operator.stop()
    env.operator.start()
    time.sleep(8)  # resumed, resynced at least once, the due timer ticked
    assert _list_findings_calls(aws) == after_v1
    _scan_now(kube, "on-demand", "v2")
    wait_for(lambda: "v2" in (_status(kube, "on-demand").get("scanNowHandled") or []))
    assert _list_findings_calls(aws) > after_v1
    _delete(kube, "on-demand")


def test_sweeps_follow_the_schedule_in_aws_clock(env: Env) -> None:
    """Hourly: nextScanTime is the next full hour of AWS's (simulated) clock; moving that clock past it sweeps
    once, and the next one is an hour later."""
    kube, aws = env.kube, env.aws
    _schedule(kube, "hourly", regions=["us-west-2"])
    first = _swept(kube, "hourly")
    last = datetime.fromisoformat(first["lastScanTime"].replace("Z", "+00:00"))
    expected_next = last.replace(minute=0, second=0) + timedelta(hours=1)
    assert first["nextScanTime"] == expected_next.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert abs((last - _sim_now(aws)).total_seconds()) < 5
    time.sleep(3)
    assert _status(kube, "hourly")["lastScanTime"] == first["lastScanTime"]  # not due yet
    aws.advance(f"{int((expected_next - _sim_now(aws)).total_seconds()) + 60}s")
    second = _swept(kube, "hourly", after=first["lastScanTime"])
    assert second["lastScanTime"] >= first["nextScanTime"]
    assert second["nextScanTime"] == (expected_next + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    _delete(kube, "hourly")


def test_a_delegated_administrator_sweeps_its_member_accounts(env: Env) -> None:
    """Through the security account (Inspector's delegated administrator), one schedule sweeps two members:
    counts per member equal what each member lists itself, and their scanning is kept on from there."""
    kube, aws = env.kube, env.aws
    region = "us-west-2"
    _schedule(kube, "org", accountRef={"name": "security"}, regions=[region], memberAccounts=[PROD, STAGING])
    status = _swept(kube, "org")
    by_member = {m["account"]: m for m in status["memberAccounts"]}
    assert set(by_member) == {PROD, STAGING}
    for member in (PROD, STAGING):
        expected = _counts(_listing(aws, region, account=member))
        assert {k: v for k, v in by_member[member].items() if k != "account"} == expected
    total = {k: sum(m[k] for m in by_member.values()) for k in status["findings"]}
    assert status["findings"] == total
    assert {t["account"] for t in status["targets"]} == {SECURITY, PROD, STAGING}
    assert {t["account"] for t in status["topFindings"]} <= {PROD, STAGING}
    assert _condition(status, "ScanningEnabled")["status"] == "True"
    _delete(kube, "org")


def test_a_schedule_applied_before_its_account_becomes_ready_once_it_exists(env: Env) -> None:
    kube = env.kube
    ensure_namespace(kube.api, "late")
    _schedule(kube, "early", namespace="late", regions=["us-west-2"])
    ready = wait_for(lambda: _condition(_status(kube, "early", "late")) or None)
    assert (ready["status"], ready["reason"]) == ("False", "AccountNotFound")
    _account(kube, "late", "prod", PROD_ROLE, SANDBOX_EXTERNAL_ID)
    status = _swept(kube, "early", "late")
    assert _condition(status)["status"] == "True"
    _delete(kube, "early", "late")


def test_invalid_specs_name_the_field(env: Env) -> None:
    """A cron the CRD's pattern lets through is InvalidSpec naming the field; a malformed expiry date is refused
    by the API server's schema (format: date) or, if it gets through, InvalidSpec naming it."""
    kube = env.kube
    suppression = {"vulnerabilityId": "CVE-2024-3094", "reason": "r", "expires": "2027-02-30"}
    try:
        _schedule(kube, "bad-expiry", regions=["us-west-2"], suppressions=[suppression])
    except ApiException as exc:
        assert exc.status == 422 and "expires" in str(exc.body)
    else:
        ready = wait_for(lambda: _condition(_status(kube, "bad-expiry")) or None)
        assert (ready["reason"], "spec.suppressions[0].expires" in ready["message"]) == ("InvalidSpec", True)
        _delete(kube, "bad-expiry")
    bad = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ScanSchedule",
        "metadata": {"name": "bad-cron"},
        "spec": {"schedule": {"cron": "61 * * * *"}},
    }
    kube.custom.create_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, bad)
    ready = wait_for(lambda: _condition(_status(kube, "bad-cron")) or None)
    assert (ready["status"], ready["reason"]) == ("False", "InvalidSpec")
    assert "spec.schedule.cron" in ready["message"]
    _delete(kube, "bad-cron")
