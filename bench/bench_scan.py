"""A ScanSchedule sweep over 100,000 findings: the operator's `sweep()` against a bare boto3 paginator loop
over the same scope, in the same run against the same AWS stand-in; the sweep's peak memory; and the size of
the status it writes.

The stand-in (a child process) holds 100,000 ACTIVE EC2 findings in one account x region (111122223333,
us-west-2, reached through its role, every instance tagged Env=prod). The schedule covers them all
(resourceTypes [EC2], targets.tags {Env: prod}), with suppressions (by vulnerability, by vulnerability on
one resource, expired) taken from the first page, and the window of an hourly sweep. Both sides make the same
AWS calls: ListFindings for every filterCriteria the scope gives (ACTIVE; CLOSED updated in the window)
and ListCoverage. Each side runs in its own child process, twice, alternating; the faster run counts, for
wall time and for the client process's CPU time (which other load on the machine disturbs less). A child
reports its VmHWM (peak RSS, /proc/<pid>/status) before the listing starts and after it, so the stand-in's
memory is not in the figure. The status is what the controller's own `_report_sweep` puts in the status
patch (conditions included), as compact JSON; a second figure gives its size at the schema's limits.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

from sreops.operator.api import ScanScheduleSpec
from sreops.operator.aws.clock import response_time
from sreops.sandbox.aws.scenario import DOC_ACCOUNT_IDS, SANDBOX_EXTERNAL_ID
from sreops.sandbox.processes import start_aws_standin

ROOT = Path(__file__).resolve().parents[1]
FINDINGS = int(os.environ.get("SREOPS_BENCH_SCAN_FINDINGS", "100000"))  # smaller to try things out
INSTANCES = 1_000
REGION = "us-west-2"
ACCOUNT = DOC_ACCOUNT_IDS[0]
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sreops"
RUNS = 2  # per side, alternating
AIM_RATIO = 1.2
AIM_PEAK_MB = 300
MIB = 1024 * 1024
AIM_STATUS_BYTES = 16 * 1024
log = logging.getLogger("bench.scan")


# -- in the child processes ---------------------------------------------------------------------------------


class GcTimer:
    """Time spent in the cyclic garbage collector, and full (generation 2) collections, while it is on."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.full = 0
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._start
            self.full += info["generation"] == 2

    def __enter__(self) -> GcTimer:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *_: object) -> None:
        gc.callbacks.remove(self)


def _vmhwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _window(job: dict[str, Any]) -> Any:
    from sreops.operator.scanning.sweep import Window  # noqa: PLC0415 - the child imports what its side needs

    return Window(previous=datetime.fromisoformat(job["previous"]), now=datetime.fromisoformat(job["now"]))


def _bare(job: dict[str, Any]) -> dict[str, Any]:
    """The listing alone: plain boto3 paginators over the criteria the sweep sends, counting what comes back."""
    from sreops.operator.aws.clients import botocore_config  # noqa: PLC0415
    from sreops.operator.scanning.scope import Scope  # noqa: PLC0415

    spec = ScanScheduleSpec.model_validate(job["spec"])
    window = _window(job)
    scope = Scope.of(spec, ACCOUNT)
    creds = boto3.client("sts", region_name=REGION).assume_role(
        RoleArn=ROLE, RoleSessionName="bench", ExternalId=SANDBOX_EXTERNAL_ID
    )["Credentials"]
    inspector = boto3.client(
        "inspector2",
        region_name=REGION,
        config=botocore_config(),
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    criteria = [*scope.finding_criteria("ACTIVE")]
    criteria += scope.finding_criteria("CLOSED", "updatedAt", window.previous, window.now)
    gc.collect()
    before = _vmhwm_mib()
    with GcTimer() as timer:
        start, cpu = time.perf_counter(), time.process_time()
        findings = pages = covered = 0
        for c in criteria:
            for page in inspector.get_paginator("list_findings").paginate(
                filterCriteria=c, PaginationConfig={"PageSize": 100}
            ):
                pages += 1
                findings += len(page.get("findings") or [])
        listed = time.perf_counter() - start
        for c in scope.coverage_criteria():
            for page in inspector.get_paginator("list_coverage").paginate(
                filterCriteria=c, PaginationConfig={"PageSize": 200}
            ):
                covered += len(page.get("coveredResources") or [])
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {
        "seconds": seconds,
        "cpu": cpu,
        "gc": [timer.seconds, timer.full],
        "findings_seconds": listed,
        "findings": findings,
        "pages": pages,
        "covered": covered,
        "hwm_before": before,
        "hwm_after": _vmhwm_mib(),
    }


def _sweep(job: dict[str, Any]) -> dict[str, Any]:
    """The operator's sweep() with a Services as the operator builds it, then the status it would write."""
    import kopf  # noqa: PLC0415
    from kubernetes import client  # noqa: PLC0415

    from sreops.operator.accounts import Placement  # noqa: PLC0415
    from sreops.operator.aws.clients import Access, ClientFactory  # noqa: PLC0415
    from sreops.operator.controllers import scanschedule  # noqa: PLC0415
    from sreops.operator.controllers.base import Context  # noqa: PLC0415
    from sreops.operator.metrics import OperatorMetrics  # noqa: PLC0415
    from sreops.operator.services import Services  # noqa: PLC0415
    from sreops.operator.settings import Settings  # noqa: PLC0415

    spec = ScanScheduleSpec.model_validate(job["spec"])
    window = _window(job)
    services = Services(
        settings=Settings(default_region=REGION),
        metrics=OperatorMetrics(),
        aws=ClientFactory(sts_region=REGION),
        kube=client.ApiClient(),  # not called: the placement is given
    )
    placement = Placement(Access(role_arn=ROLE, external_id=SANDBOX_EXTERNAL_ID), ACCOUNT, REGION)
    services.aws.client("inspector2", REGION, placement.access)  # the role is assumed before the clock starts
    gc.collect()
    before = _vmhwm_mib()
    with GcTimer() as timer:
        start, cpu = time.perf_counter(), time.process_time()
        tally, covered = scanschedule.sweep(services, spec, [placement], window)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    after = _vmhwm_mib()

    # What the controller writes for this sweep: its own _report_sweep into a status patch, applied the way
    # kopf applies one. Events go nowhere (no operator runs here to post them).
    events: list[str] = []
    kopf.event = lambda *_, reason="", **__: events.append(reason)
    kopf.warn = lambda *_, reason="", **__: events.append(reason)
    raw: dict[str, Any] = {
        "apiVersion": "sreops.io/v1alpha1",
        "kind": "ScanSchedule",
        "metadata": {"name": "bench", "namespace": "bench", "uid": "bench-uid", "generation": 1},
        "spec": job["spec"],
        "status": {"lastScanTime": job["previous"]},
    }
    ctx = Context(body=kopf.Body(raw), patch=kopf.Patch(), services=services, logger=log)
    scanschedule._report_sweep(spec, ctx, window, tally, covered, None, {})
    status = raw["status"]
    status.update({k: v for k, v in (ctx.patch.get("status") or {}).items() if v is not None})
    for fn in ctx.patch.fns:
        fn(raw)
    services.kube.close()
    return {
        "seconds": seconds,
        "gc": [timer.seconds, timer.full],
        "cpu": cpu,
        "listed": tally.listed,
        "counts": tally.counts,
        "new": tally.new_total,
        "resolved": tally.resolved,
        "coverage": [covered.resources, covered.scanned],
        "hwm_before": before,
        "hwm_after": after,
        "status_bytes": len(json.dumps(status, separators=(",", ":"))),
        "status_keys": sorted(status),
        "events": events,
    }


def child(mode: str) -> None:
    job = json.loads(sys.stdin.read())
    result = _bare(job) if mode == "bare" else _sweep(job)
    print(json.dumps(result))


# -- in the benchmark process -------------------------------------------------------------------------------


def _in_child(mode: str, job: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_scan", "--child", mode],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"the {mode} child failed ({out.returncode}): {out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.splitlines()[-1])
    return result


def _spec(first_page: list[dict[str, Any]]) -> dict[str, Any]:
    """The schedule: all of the stand-in's findings in scope, suppressions taken from the first page."""
    vulns = [(f["packageVulnerabilityDetails"]["vulnerabilityId"], f["resources"][0]["id"]) for f in first_page]
    suppressions: list[dict[str, Any]] = []
    for vuln, _resource in vulns[:5]:
        suppressions.append({"vulnerabilityId": vuln, "reason": "accepted risk", "expires": "2027-01-01"})
    for vuln, resource in vulns[5:10]:
        suppressions.append({"vulnerabilityId": vuln, "resource": resource, "reason": "compensating control"})
    for vuln, _resource in vulns[10:13]:
        suppressions.append({"vulnerabilityId": vuln, "reason": "was accepted", "expires": "2026-01-01"})
    return {
        "accountRef": {"name": "prod"},
        "regions": [REGION],
        "resourceTypes": ["EC2"],
        "schedule": {"cron": "0 * * * *", "timezone": "UTC"},
        "targets": {"tags": {"Env": "prod"}},
        "severityThreshold": "HIGH",
        "suppressions": suppressions,
    }


def _first_page(env: dict[str, str]) -> tuple[list[dict[str, Any]], datetime]:
    kw = {"endpoint_url": env["AWS_ENDPOINT_URL"], "region_name": REGION}
    keys = {"aws_access_key_id": env["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"]}
    c = boto3.client("sts", **kw, **keys).assume_role(
        RoleArn=ROLE, RoleSessionName="bench", ExternalId=SANDBOX_EXTERNAL_ID
    )["Credentials"]
    inspector = boto3.client(
        "inspector2",
        **kw,
        aws_access_key_id=c["AccessKeyId"],
        aws_secret_access_key=c["SecretAccessKey"],
        aws_session_token=c["SessionToken"],
    )
    page = inspector.list_findings(maxResults=20)
    now = response_time(page)
    assert now is not None, "the stand-in sends a Date"
    return page["findings"], now


def _limits_status() -> dict[str, int]:
    """Bytes of each field the sweep writes, at the status's limits: MAX_STATUS_MEMBERS member accounts, 10 top
    findings with the longest titles kept on ECR image resources, MAX_NOT_SCANNED resources not scanned,
    MAX_EXPIRED_SUPPRESSIONS expired suppressions whose resource is as long as status keeps, 6-digit counts."""
    from sreops.operator.api.scanschedule import (  # noqa: PLC0415
        MAX_EXPIRED_SUPPRESSIONS,
        MAX_NOT_SCANNED,
        MAX_RESOURCE,
        MAX_STATUS_MEMBERS,
        MAX_TITLE,
        MAX_TOP_FINDINGS,
        Coverage,
        ExpiredSuppression,
        FindingCounts,
        MemberFindings,
        NotScanned,
        TopFinding,
    )

    big = 999_999
    counts = {k: big for k in ("critical", "high", "medium", "low", "informational", "suppressed")}
    image = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/platform/payments-api/sha256:{'f' * 64}"
    fields: dict[str, Any] = {
        "lastScanTime": "2026-01-05T12:00:00Z",
        "findings": FindingCounts(**counts).to_wire(),
        "newSinceLastScan": big,
        "resolvedSinceLastScan": big,
        "newBySeverity": FindingCounts(**counts).to_wire(),
        "topFindings": [
            TopFinding(
                vulnerability_id="CVE-2025-1234567",
                severity="CRITICAL",
                resource=image,
                title="t" * MAX_TITLE,
                first_observed="2026-01-05T12:00:00Z",
                account=ACCOUNT,
            ).to_wire()
            for _ in range(MAX_TOP_FINDINGS)
        ],
        "coverage": Coverage(
            resources=big,
            scanned=big,
            not_scanned=[NotScanned(resource=image, reason="UNSUPPORTED_MEDIA_TYPE")] * MAX_NOT_SCANNED,
        ).to_wire(),
        "memberAccounts": [
            MemberFindings(account=f"{100000000000 + n}", **counts).to_wire() for n in range(MAX_STATUS_MEMBERS)
        ],
        "expiredSuppressions": [
            ExpiredSuppression(
                vulnerability_id="CVE-2025-1234567", resource="r" * MAX_RESOURCE, expires="2026-01-01"
            ).to_wire()
        ]
        * MAX_EXPIRED_SUPPRESSIONS,
    }
    return {k: len(json.dumps(v, separators=(",", ":"))) + len(k) + 4 for k, v in fields.items()}


def _best(results: list[dict[str, Any]]) -> dict[str, Any]:
    return min(results, key=lambda r: float(r["seconds"]))


def run() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-scan-") as tmp:
        t0 = time.monotonic()
        proc, aws_env = start_aws_standin(
            Path(tmp) / "aws.log",
            "--accounts",
            "1",
            "--regions",
            REGION,
            "--instances",
            str(INSTANCES),
            "--findings",
            str(FINDINGS),
            "--home-instances",
            "0",
        )
        try:
            startup = time.monotonic() - t0
            first_page, now = _first_page(aws_env)
            job = {
                "spec": _spec(first_page),
                "previous": (now - timedelta(hours=1)).isoformat(),
                "now": now.astimezone(UTC).isoformat(),
            }
            env = {**os.environ, **aws_env, "AWS_MAX_ATTEMPTS": "2"}
            bare: list[dict[str, Any]] = []
            swept: list[dict[str, Any]] = []
            for _ in range(RUNS):
                bare.append(_in_child("bare", job, env))
                swept.append(_in_child("sweep", job, env))
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    _report(startup, bare, swept)


def _report(startup: float, bare: list[dict[str, Any]], swept: list[dict[str, Any]]) -> None:
    b, s = _best(bare), _best(swept)
    cpu_b, cpu_s = min(r["cpu"] for r in bare), min(r["cpu"] for r in swept)
    runs_b = ", ".join(f"{r['seconds']:.2f}" for r in bare)
    runs_s = ", ".join(f"{r['seconds']:.2f}" for r in swept)
    counts = ", ".join(f"{n} {k}" for k, n in s["counts"].items())
    peak, before = s["hwm_after"], s["hwm_before"]
    print(f"stand-in with {FINDINGS:,} findings on {INSTANCES:,} instances (one account x region): {startup:.1f} s")
    print(
        f"bare boto3 loop: {b['findings']:,} findings in {b['pages']:,} ListFindings pages, {b['covered']:,} covered "
        f"resources: {b['seconds']:.2f} s (runs {runs_b} s; ListFindings {b['findings_seconds']:.2f} s), "
        f"client CPU {cpu_b:.2f} s"
    )
    print(
        f"operator sweep(): {s['listed']:,} findings ({counts}), {s['coverage'][1]}/{s['coverage'][0]} scanned: "
        f"{s['seconds']:.2f} s (runs {runs_s} s), client CPU {cpu_s:.2f} s"
    )
    print(
        f"    sweep / bare loop: {s['seconds'] / b['seconds']:.2f}x wall time (aim <= {AIM_RATIO}x), "
        f"{cpu_s / cpu_b:.2f}x client CPU; cyclic GC {s['gc'][0]:.2f} s ({s['gc'][1]} full) vs "
        f"{b['gc'][0]:.2f} s ({b['gc'][1]} full)"
    )
    print(
        f"    peak RSS (VmHWM) of the sweep's process: {peak:.0f} MiB = {peak * MIB / 1e6:.0f} MB (aim < "
        f"{AIM_PEAK_MB} MB): {before:.0f} MiB before the sweep, +{peak - before:.0f} MiB during it; the bare "
        f"loop's process {b['hwm_after']:.0f} MiB"
    )
    print(
        f"    status the sweep writes: {s['status_bytes']:,} bytes of compact JSON (aim < {AIM_STATUS_BYTES:,}): "
        f"{', '.join(s['status_keys'])}; events: {', '.join(s['events']) or 'none'}"
    )
    limits = _limits_status()
    parts = ", ".join(f"{k} {v:,}" for k, v in sorted(limits.items(), key=lambda kv: -kv[1]))
    print(f"    the same fields at the schema's limits: {sum(limits.values()):,} bytes ({parts})")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        run()
