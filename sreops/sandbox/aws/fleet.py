"""The fleet's live state: instances with their SSM patch state, and Inspector findings with indexes.

Built once from a Scenario; commands and maintenance windows change it as simulated time passes.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

from pydantic import ValidationError

from .scenario import OS_PLATFORM, FindingSpec, InstanceSpec, PatchSpec, Scenario

INSTALLED_STATES = ("Installed", "InstalledOther", "InstalledPendingReboot", "InstalledRejected")
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNTRIAGED")
# Inspector deletes a finding closed by remediation 30 days after it closed, and reopens one whose issue
# comes back within 7 days of closing (docs.aws.amazon.com/inspector/latest/user/findings-understanding).
CLOSED_RETENTION_S = 30 * 86400.0
REOPEN_WINDOW_S = 7 * 86400.0


class FindingInputError(ValueError):
    """A finding the admin API cannot add or close; the message says why."""


@dataclass
class PatchRecord:
    spec: PatchSpec
    state: str
    installed_time: float | None = None


@dataclass
class Instance:
    id: str
    account: str
    region: str
    os: str
    name: str
    tags: dict[str, str]
    managed: bool
    ping: str
    command_outcome: str | None
    patches: dict[str, PatchRecord]
    not_scanned_reason: str | None
    registered_at: float
    last_scan: float | None = None
    last_operation_start: float | None = None
    last_operation: str = "Scan"
    last_reboot_option: str = "RebootIfNeeded"
    last_baseline_id: str | None = None
    last_no_reboot_install: float | None = None

    @property
    def platform(self) -> tuple[str, str, str]:
        return OS_PLATFORM[self.os]

    @property
    def patch_group(self) -> str | None:
        return self.tags.get("Patch Group") or self.tags.get("PatchGroup")

    def count(self, *states: str) -> int:
        return sum(1 for p in self.patches.values() if p.state in states)


class Finding:
    """One Inspector finding (slots: the bench holds 100,000 of them)."""

    __slots__ = (
        "account",
        "arn",
        "first_observed",
        "last_observed",
        "region",
        "resource_id",
        "resource_type",
        "spec",
        "status",
        "tags",
        "updated",
    )

    def __init__(
        self,
        account: str,
        region: str,
        resource_id: str,
        resource_type: str,
        tags: dict[str, str],
        spec: FindingSpec,
        observed: float,
        generation: int = 0,
    ) -> None:
        # generation > 0: the same issue found again after its earlier finding was closed for good
        again = f"#{generation}" if generation else ""
        digest = hashlib.sha1(
            f"{account}/{region}/{resource_id}/{spec.vulnerability_id}/{spec.package}{again}".encode(),
            usedforsecurity=False,
        ).hexdigest()
        self.arn = f"arn:aws:inspector2:{region}:{account}:finding/{digest}"
        self.account = account
        self.region = region
        self.resource_id = resource_id
        self.resource_type = resource_type
        self.tags = tags
        self.spec = spec
        self.status: str = spec.status
        self.first_observed = observed
        self.last_observed = observed
        self.updated = observed

    @property
    def severity(self) -> str:
        return self.spec.severity

    def close(self, when: float) -> None:
        if self.status != "CLOSED":
            self.status = "CLOSED"
            self.updated = when

    def listed(self, now: float) -> bool:
        """Still in Inspector's listings at `now`: a CLOSED finding is deleted CLOSED_RETENTION_S after closing."""
        return self.status != "CLOSED" or now - self.updated < CLOSED_RETENTION_S

    def to_json(self) -> dict[str, object]:
        # Built per page rather than cached: a cache of 100,000 findings costs ~250 MiB for ~1 ms a page.
        return _finding_json(self)


_SCORES = {"CRITICAL": 9.8, "HIGH": 7.5, "MEDIUM": 5.3, "LOW": 3.1, "INFORMATIONAL": 0.0, "UNTRIAGED": 0.0}


def _finding_json(f: Finding) -> dict[str, object]:
    s = f.spec
    score = s.score if s.score is not None else _SCORES[s.severity]
    pkg: dict[str, object] = {
        "name": s.package,
        "version": s.package_version,
        "packageManager": "OS",
    }
    if s.fixed_in_version:
        pkg["fixedInVersion"] = s.fixed_in_version
    details: dict[str, object]
    if f.resource_type == "AWS_EC2_INSTANCE":
        details = {"awsEc2Instance": {"platform": "LINUX"}}
    elif f.resource_type == "AWS_LAMBDA_FUNCTION":
        details = {"awsLambdaFunction": {"functionName": f.resource_id.rsplit(":", 1)[-1]}}
    else:
        details = {}
    out: dict[str, object] = {
        "findingArn": f.arn,
        "awsAccountId": f.account,
        "type": "PACKAGE_VULNERABILITY",
        "title": s.title or f"{s.vulnerability_id} - {s.package}",
        "description": s.title or f"{s.vulnerability_id} affects {s.package} {s.package_version}.",
        "severity": s.severity,
        "status": f.status,
        "firstObservedAt": f.first_observed,
        "lastObservedAt": f.last_observed,
        "updatedAt": f.updated,
        "inspectorScore": score,
        "fixAvailable": "YES" if s.fixed_by_patch or s.fixed_in_version else "NO",
        "exploitAvailable": "NO",
        "remediation": {
            "recommendation": {
                "text": f"Install {s.fixed_by_patch}" if s.fixed_by_patch else "None Provided",
            }
        },
        "resources": [
            {
                "id": f.resource_id,
                "type": f.resource_type,
                "partition": "aws",
                "region": f.region,
                "tags": f.tags,
                "details": details,
            }
        ],
        "packageVulnerabilityDetails": {
            "vulnerabilityId": s.vulnerability_id,
            "source": "NVD",
            "sourceUrl": f"https://nvd.nist.gov/vuln/detail/{s.vulnerability_id}",
            "vendorSeverity": s.severity.capitalize(),
            "vulnerablePackages": [pkg],
            "cvss": [{"baseScore": score, "scoringVector": "", "source": "NVD", "version": "3.1"}],
        },
    }
    if s.fixed_by_patch:
        out["sreopsFixedByPatch"] = s.fixed_by_patch  # not an AWS field: boto3 ignores unknown keys
    return out


@dataclass
class FindingStore:
    """Findings of one account and region, in a fixed order, indexed by the fields filters use most."""

    items: list[Finding] = field(default_factory=list)
    by_resource: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_vuln: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_severity: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_type: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))

    def add(self, f: Finding) -> None:
        n = len(self.items)
        self.items.append(f)
        self.by_resource[f.resource_id].append(n)
        self.by_vuln[f.spec.vulnerability_id].append(n)
        self.by_severity[f.severity].append(n)
        self.by_type[f.resource_type].append(n)


@dataclass
class CoveredResource:
    id: str
    type: str
    account: str
    region: str
    tags: dict[str, str]
    not_scanned_reason: str | None
    os: str | None = None


class Fleet:
    def __init__(self, scenario: Scenario, now: float) -> None:
        self.scenario = scenario
        self.instances: dict[tuple[str, str], dict[str, Instance]] = defaultdict(dict)
        self.findings: dict[tuple[str, str], FindingStore] = defaultdict(FindingStore)
        self.coverage: dict[tuple[str, str], list[CoveredResource]] = defaultdict(list)
        reported = now - 86400.0  # the scenario's patch state is as of a scan a day ago
        for spec in scenario.instances:
            inst = _instance(spec, now, reported)
            self.instances[(spec.account, spec.region)][spec.id] = inst
            self.coverage[(spec.account, spec.region)].append(
                CoveredResource(
                    spec.id,
                    "AWS_EC2_INSTANCE",
                    spec.account,
                    spec.region,
                    inst.tags,
                    spec.not_scanned_reason,
                    spec.os,
                )
            )
            store = self.findings[(spec.account, spec.region)]
            for fs in spec.findings:
                store.add(Finding(spec.account, spec.region, spec.id, "AWS_EC2_INSTANCE", inst.tags, fs, reported))
        for res in scenario.resources:
            self.coverage[(res.account, res.region)].append(
                CoveredResource(res.id, res.type, res.account, res.region, res.tags, res.not_scanned_reason)
            )
            store = self.findings[(res.account, res.region)]
            for fs in res.findings:
                store.add(Finding(res.account, res.region, res.id, res.type, res.tags, fs, reported))

    def region_instances(self, account: str, region: str) -> dict[str, Instance]:
        return self.instances.get((account, region), {})

    def find_instance(self, account: str, region: str, instance_id: str) -> Instance | None:
        return self.region_instances(account, region).get(instance_id)

    def publish_finding(
        self,
        account: str,
        region: str,
        resource_id: str,
        vulnerability_id: str,
        severity: str,
        now: float,
        package: str | None = None,
        title: str | None = None,
        fixed_by_patch: str | None = None,
    ) -> tuple[str, str]:
        """Inspector finds `vulnerability_id` on a scanned resource (a CVE published, a package installed):
        (finding ARN, "created" | "reopened" | "existing").

        Like Inspector: the same resource, vulnerability and package while its finding is ACTIVE or SUPPRESSED
        is that finding, seen again (lastObservedAt moves); CLOSED less than REOPEN_WINDOW_S ago, it is
        reopened (ACTIVE, same ARN and firstObservedAt); closed longer ago, a new finding is created."""
        acct = self.scenario.account(account)
        if acct is None:
            known = ", ".join(a.id for a in self.scenario.accounts)
            raise FindingInputError(f"account {account!r} is not one of the scenario's accounts ({known})")
        if region not in acct.regions:
            raise FindingInputError(
                f"region {region!r} is not a region of account {account} ({', '.join(acct.regions)})"
            )
        res = next((r for r in self.coverage.get((account, region), []) if r.id == resource_id), None)
        if res is None:
            raise FindingInputError(f"no instance or resource {resource_id!r} in account {account}, region {region}")
        if res.not_scanned_reason is not None:
            raise FindingInputError(f"{resource_id} is not scanned by Inspector ({res.not_scanned_reason})")
        if severity not in SEVERITIES:
            raise FindingInputError(f"severity {severity!r} is not one of {', '.join(SEVERITIES)}")
        if fixed_by_patch is not None:
            inst = self.find_instance(account, region, resource_id)
            if inst is None:
                raise FindingInputError(f"fixedByPatch needs an EC2 instance; {resource_id} is {res.type}")
            if fixed_by_patch not in inst.patches:
                raise FindingInputError(
                    f"instance {resource_id} has no patch {fixed_by_patch!r} (its patches: {', '.join(inst.patches)})"
                )
        fields: dict[str, object] = {"vulnerability_id": vulnerability_id, "severity": severity}
        if package is not None:
            fields["package"] = package
        if title is not None:
            fields["title"] = title
        if fixed_by_patch is not None:
            fields["fixed_by_patch"] = fixed_by_patch
        try:
            spec = FindingSpec.model_validate(fields)
        except ValidationError as e:
            problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors())
            raise FindingInputError(f"bad finding: {problems}") from None
        store = self.findings[(account, region)]
        same = [
            store.items[i]
            for i in store.by_resource.get(resource_id, [])
            if store.items[i].spec.vulnerability_id == spec.vulnerability_id
            and store.items[i].spec.package == spec.package
        ]
        if same:
            last = same[-1]
            if last.status != "CLOSED":
                last.last_observed = now
                return last.arn, "existing"
            if now - last.updated <= REOPEN_WINDOW_S:
                last.status = "ACTIVE"
                last.last_observed = last.updated = now
                return last.arn, "reopened"
        f = Finding(account, region, resource_id, res.type, res.tags, spec, now, generation=len(same))
        store.add(f)
        return f.arn, "created"

    def close_finding(self, arn: str, now: float) -> Finding:
        """Close one finding (remediated outside a patch install); closing a CLOSED one changes nothing."""
        parts = arn.split(":")
        if len(parts) != 6 or parts[:3] != ["arn", "aws", "inspector2"] or not parts[5].startswith("finding/"):
            raise FindingInputError(f"{arn!r} is not an inspector2 finding ARN")
        store = self.findings.get((parts[4], parts[3]))
        f = next((f for f in store.items if f.arn == arn), None) if store is not None else None
        if f is None or not f.listed(now):
            raise FindingInputError(f"no finding {arn}")
        f.close(now)
        return f

    def close_findings(self, inst: Instance, patch_ids: set[str], when: float) -> int:
        store = self.findings.get((inst.account, inst.region))
        if store is None or not patch_ids:
            return 0
        n = 0
        for idx in store.by_resource.get(inst.id, []):
            f = store.items[idx]
            if f.spec.fixed_by_patch in patch_ids and f.status != "CLOSED":
                f.close(when)
                n += 1
        return n


def _instance(spec: InstanceSpec, now: float, reported: float) -> Instance:
    patches = {p.id: PatchRecord(p, p.state, reported if p.state in INSTALLED_STATES else None) for p in spec.patches}
    # An instance with patch data in the scenario has reported once; one without has never reported.
    has_report = spec.managed and bool(spec.patches)
    return Instance(
        id=spec.id,
        account=spec.account,
        region=spec.region,
        os=spec.os,
        name=spec.name or spec.id,
        tags=dict(spec.tags),
        managed=spec.managed,
        ping=spec.ping,
        command_outcome=spec.command_outcome,
        patches=patches,
        not_scanned_reason=spec.not_scanned_reason,
        registered_at=now - 30 * 86400.0,
        last_scan=reported if has_report else None,
        last_operation_start=reported - 60 if has_report else None,
    )
