"""Findings over time, as Amazon Inspector has them: new findings appear (`POST /_sandbox/findings`, a CVE
published or a package installed), close when remediated (a patch install, `POST /_sandbox/findings/close`),
are listed with their status and dates, reopen when the issue comes back soon after closing, and are deleted
a while after closing.

Real Inspector (docs.aws.amazon.com/inspector/latest/user/findings-understanding): "If findings are closed
for any other reason [than the resource going away], they are deleted after 30 days" and "Amazon Inspector
will reopen a remediated finding within seven days of closing the finding if the issue that caused the
vulnerability reoccurs". ListFindings returns every status unless `findingStatus` filters it.

The tests here run in the SCAN account (conftest), whose findings no other test counts.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

import pytest

from sreops.sandbox.aws.fleet import CLOSED_RETENTION_S, REOPEN_WINDOW_S, FindingInputError
from sreops.sandbox.aws.server import AwsSandbox

from .conftest import REGION, SCAN, SCAN_LAMBDA, ClientFactory, _hex


def _post(sandbox: AwsSandbox, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(sandbox.endpoint_url + path, data=json.dumps(body).encode(), method="POST")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _publish(sandbox: AwsSandbox, **body: str) -> dict[str, Any]:
    status, out = _post(sandbox, "/_sandbox/findings", {"account": SCAN, "region": REGION, **body})
    assert status == 200, out
    return out


def _one(insp: Any, arn: str, **criteria: Any) -> dict[str, Any] | None:
    found = insp.list_findings(filterCriteria={"findingArn": [{"comparison": "EQUALS", "value": arn}], **criteria})
    rows: list[dict[str, Any]] = found["findings"]
    assert len(rows) <= 1
    return rows[0] if rows else None


def _ts(value: datetime) -> float:
    return value.timestamp()


def _status(value: str) -> dict[str, list[dict[str, str]]]:
    return {"findingStatus": [{"comparison": "EQUALS", "value": value}]}


def test_published_finding_is_active_at_simulated_now(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """POST /_sandbox/findings adds an ACTIVE finding on an existing instance (its type and tags) whose
    firstObservedAt, lastObservedAt and updatedAt are the simulated now; AwsSandbox.publish_finding does the
    same for a Lambda function of the scenario."""
    sandbox.advance(120)
    now = sandbox.now()
    out = _publish(sandbox, resourceId=_hex(300), vulnerabilityId="CVE-2026-0001", severity="HIGH", package="libfoo")
    assert out["result"] == "created" and out["findingArn"].startswith(f"arn:aws:inspector2:{REGION}:{SCAN}:finding/")
    insp = client("inspector2", account=SCAN)
    f = _one(insp, out["findingArn"])
    assert f is not None
    assert (f["status"], f["severity"], f["awsAccountId"], f["title"]) == (
        "ACTIVE",
        "HIGH",
        SCAN,
        "CVE-2026-0001 - libfoo",
    )
    assert {_ts(f[k]) for k in ("firstObservedAt", "lastObservedAt", "updatedAt")} == {now}
    res = f["resources"][0]
    assert (res["id"], res["type"], res["tags"]) == (_hex(300), "AWS_EC2_INSTANCE", {"Role": "scan", "Env": "scan"})
    assert f["packageVulnerabilityDetails"]["vulnerablePackages"][0]["name"] == "libfoo"

    arn = sandbox.publish_finding(SCAN, REGION, SCAN_LAMBDA, "CVE-2026-0002", "MEDIUM", title="left-pad in scan-fn")
    g = _one(insp, arn)
    assert g is not None and g["resources"][0]["type"] == "AWS_LAMBDA_FUNCTION" and g["title"] == "left-pad in scan-fn"
    assert g["resources"][0]["tags"] == {"Env": "scan"}


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"resourceId": "i-0000000000000dead", "vulnerabilityId": "CVE-2026-1", "severity": "HIGH"}, "no instance"),
        ({"resourceId": _hex(300), "vulnerabilityId": "CVE-2026-1234", "severity": "SEVERE"}, "severity"),
        ({"resourceId": _hex(300), "vulnerabilityId": "not a cve", "severity": "LOW"}, "vulnerability_id"),
        ({"resourceId": _hex(300), "severity": "LOW"}, "vulnerabilityId is required"),
        ({"resourceId": _hex(399), "vulnerabilityId": "CVE-2026-1234", "severity": "LOW"}, "not scanned"),
        (
            {"resourceId": _hex(300), "vulnerabilityId": "CVE-2026-1234", "severity": "LOW", "fixedByPatch": "KB9"},
            "has no patch",
        ),
        (
            {"resourceId": SCAN_LAMBDA, "vulnerabilityId": "CVE-2026-1234", "severity": "LOW", "fixedByPatch": "X"},
            "EC2 instance",
        ),
        (
            {"account": "000000000000", "resourceId": _hex(300), "vulnerabilityId": "CVE-2026-1", "severity": "LOW"},
            "account",
        ),
        (
            {"region": "eu-west-1", "resourceId": _hex(300), "vulnerabilityId": "CVE-2026-1", "severity": "LOW"},
            "region",
        ),
    ],
)
def test_bad_findings_are_400_with_the_reason(sandbox: AwsSandbox, body: dict[str, str], needle: str) -> None:
    """Unknown account, region or resource, an unscanned instance, a bad severity or CVE id, a fixing patch the
    instance does not have: 400 and a message that says which, never 500; the Python API raises the same."""
    status, out = _post(sandbox, "/_sandbox/findings", {"account": SCAN, "region": REGION, **body})
    assert status == 400 and needle in out["error"], out
    if "vulnerabilityId" in body and "account" not in body and "region" not in body:
        with pytest.raises(FindingInputError, match=needle):
            sandbox.publish_finding(
                SCAN,
                REGION,
                body["resourceId"],
                body["vulnerabilityId"],
                body["severity"],
                fixed_by_patch=body.get("fixedByPatch"),
            )
    status, out = _post(sandbox, "/_sandbox/findings/close", {"findingArn": "arn:aws:inspector2:x"})
    assert status == 400 and "not an inspector2 finding ARN" in out["error"]
    status, out = _post(sandbox, "/_sandbox/findings/close", {})
    assert status == 400 and "findingArn is required" in out["error"]


def test_date_filters_take_what_boto3_sends(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """firstObservedAt / lastObservedAt / updatedAt ranges with datetime values (boto3 sends them as epoch
    seconds in the rest-json body), startInclusive and endInclusive both inclusive, either one alone."""
    insp = client("inspector2", account=SCAN)
    first = _publish(sandbox, resourceId=_hex(301), vulnerabilityId="CVE-2026-0101", severity="MEDIUM")["findingArn"]
    t1 = sandbox.now()
    sandbox.advance(600)
    second = _publish(sandbox, resourceId=_hex(301), vulnerabilityId="CVE-2026-0102", severity="MEDIUM")["findingArn"]
    t2 = sandbox.now()

    def arns(field: str, **window: float) -> set[str]:
        rng = {k: datetime.fromtimestamp(v, UTC) for k, v in window.items()}
        pages = insp.get_paginator("list_findings").paginate(filterCriteria={field: [rng]})
        return {f["findingArn"] for p in pages for f in p["findings"]} & {first, second}

    assert arns("firstObservedAt", startInclusive=t1, endInclusive=t2) == {first, second}
    assert arns("firstObservedAt", startInclusive=t1 + 1) == {second}
    assert arns("firstObservedAt", endInclusive=t1) == {first}
    assert arns("lastObservedAt", startInclusive=t2, endInclusive=t2) == {second}
    assert arns("updatedAt", startInclusive=t1 - 60, endInclusive=t2 - 1) == {first}


def test_install_closes_the_finding_at_the_install_time(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """A real SSM SendCommand of AWS-RunPatchBaseline Install on an instance closes the findings the installed
    patch fixes: CLOSED, updatedAt = when the install finished (the invocation's ResponseFinishDateTime), listed
    with the CLOSED filter and an updatedAt window around it, no longer with ACTIVE; the finding no patch fixes
    stays ACTIVE."""
    insp = client("inspector2", account=SCAN)
    ssm = client("ssm", account=SCAN)
    by_cve = {"vulnerabilityId": [{"comparison": "EQUALS", "value": "CVE-2025-3302"}]}
    (fixed,) = insp.list_findings(filterCriteria=by_cve)["findings"]
    assert fixed["status"] == "ACTIVE"
    start = sandbox.now()
    cid = ssm.send_command(
        DocumentName="AWS-RunPatchBaseline", InstanceIds=[_hex(302)], Parameters={"Operation": ["Install"]}
    )["Command"]["CommandId"]
    sandbox.advance(120)
    (inv,) = ssm.list_command_invocations(CommandId=cid, Details=True)["CommandInvocations"]
    assert inv["Status"] == "Success"
    finished = _ts(inv["CommandPlugins"][0]["ResponseFinishDateTime"])
    assert start < finished <= sandbox.now()
    closed = _one(insp, fixed["findingArn"], **_status("CLOSED"))
    assert closed is not None and _ts(closed["updatedAt"]) == finished
    assert _ts(closed["firstObservedAt"]) == _ts(fixed["firstObservedAt"])
    assert _one(insp, fixed["findingArn"], **_status("ACTIVE")) is None
    window = {
        "startInclusive": datetime.fromtimestamp(start, UTC),
        "endInclusive": datetime.fromtimestamp(finished, UTC),
    }
    assert _one(insp, fixed["findingArn"], updatedAt=[window]) is not None
    (low,) = insp.list_findings(
        filterCriteria={"vulnerabilityId": [{"comparison": "EQUALS", "value": "CVE-2025-4302"}]}
    )["findings"]
    assert low["status"] == "ACTIVE"


def test_published_finding_with_its_fixing_patch_closes_on_install(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """fixedByPatch names one of the instance's missing patches: installing it closes the new finding too."""
    insp = client("inspector2", account=SCAN)
    ssm = client("ssm", account=SCAN)
    arn = _publish(
        sandbox, resourceId=_hex(303), vulnerabilityId="CVE-2026-0303", severity="CRITICAL", fixedByPatch="ALAS-S303-2"
    )["findingArn"]
    ssm.send_command(
        DocumentName="AWS-RunPatchBaseline", InstanceIds=[_hex(303)], Parameters={"Operation": ["Install"]}
    )
    sandbox.advance(120)
    f = _one(insp, arn)
    assert f is not None and f["status"] == "CLOSED" and f["fixAvailable"] == "YES"


def test_close_reopen_and_deletion(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """Seen again while ACTIVE: the same finding (lastObservedAt moves). Closed (POST /_sandbox/findings/close:
    CLOSED, updatedAt = now) and found again within 7 days: reopened, same ARN and firstObservedAt. Found again
    more than 7 days after closing: a new finding. A CLOSED finding is gone from every listing 30 days after
    it closed. (Advances the clock 32 days: the last test of this file.)"""
    assert (REOPEN_WINDOW_S, CLOSED_RETENTION_S) == (7 * 86400, 30 * 86400)
    insp = client("inspector2", account=SCAN)
    issue = {"resourceId": _hex(300), "vulnerabilityId": "CVE-2026-0777", "severity": "HIGH", "package": "zlib"}
    created = _publish(sandbox, **issue)
    arn, born = created["findingArn"], sandbox.now()
    sandbox.advance(60)
    assert _publish(sandbox, **issue) == {"findingArn": arn, "result": "existing"}
    f = _one(insp, arn)
    assert f is not None and _ts(f["lastObservedAt"]) == sandbox.now() and _ts(f["firstObservedAt"]) == born

    status, out = _post(sandbox, "/_sandbox/findings/close", {"findingArn": arn})
    assert status == 200 and out["status"] == "CLOSED" and out["updatedAt"] == sandbox.now()
    f = _one(insp, arn, **_status("CLOSED"))
    assert f is not None and _ts(f["updatedAt"]) == sandbox.now()
    assert _one(insp, arn, **_status("ACTIVE")) is None

    sandbox.advance(86400)
    assert _publish(sandbox, **issue) == {"findingArn": arn, "result": "reopened"}
    f = _one(insp, arn, **_status("ACTIVE"))
    assert f is not None and _ts(f["firstObservedAt"]) == born and _ts(f["updatedAt"]) == sandbox.now()

    sandbox.close_finding(arn)
    closed_at = sandbox.now()
    sandbox.advance(REOPEN_WINDOW_S + 3600)
    again = _publish(sandbox, **issue)
    assert again["result"] == "created" and again["findingArn"] != arn
    assert _one(insp, arn, **_status("CLOSED")) is not None  # the old one is still there, CLOSED

    sandbox.advance(closed_at + CLOSED_RETENTION_S - sandbox.now() - 1)
    assert _one(insp, arn) is not None
    sandbox.advance(1)
    assert _one(insp, arn) is None and _one(insp, arn, **_status("CLOSED")) is None
    f = _one(insp, again["findingArn"])
    assert f is not None and f["status"] == "ACTIVE"
    status, out = _post(sandbox, "/_sandbox/findings/close", {"findingArn": arn})
    assert status == 400 and "no finding" in out["error"]
