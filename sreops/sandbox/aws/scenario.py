"""The simulated fleet as data: a YAML scenario, validated with pydantic, and a seeded generator.

A scenario names the accounts (and the role each one is reached through), their regions, the EC2
instances with their SSM and patch state, and what Inspector has found on each resource.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

OperatingSystem = Literal[
    "WINDOWS",
    "AMAZON_LINUX",
    "AMAZON_LINUX_2",
    "AMAZON_LINUX_2022",
    "AMAZON_LINUX_2023",
    "UBUNTU",
    "REDHAT_ENTERPRISE_LINUX",
    "SUSE",
    "CENTOS",
    "ORACLE_LINUX",
    "DEBIAN",
    "MACOS",
    "RASPBIAN",
    "ROCKY_LINUX",
    "ALMA_LINUX",
]
PatchState = Literal[
    "Installed", "InstalledOther", "InstalledPendingReboot", "InstalledRejected", "Missing", "NotApplicable", "Failed"
]
Severity = Literal["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNTRIAGED"]
FindingStatus = Literal["ACTIVE", "SUPPRESSED", "CLOSED"]
InspectorType = Literal["EC2", "ECR", "LAMBDA", "LAMBDA_CODE"]
PingStatus = Literal["Online", "ConnectionLost", "Inactive"]

_STRICT = ConfigDict(extra="forbid", frozen=False)

# OS → (PlatformType, PlatformName, PlatformVersion) as describe_instance_information reports them.
OS_PLATFORM: dict[str, tuple[str, str, str]] = {
    "WINDOWS": ("Windows", "Microsoft Windows Server 2022 Datacenter", "10.0.20348"),
    "AMAZON_LINUX": ("Linux", "Amazon Linux AMI", "2018.03"),
    "AMAZON_LINUX_2": ("Linux", "Amazon Linux", "2"),
    "AMAZON_LINUX_2022": ("Linux", "Amazon Linux", "2022"),
    "AMAZON_LINUX_2023": ("Linux", "Amazon Linux", "2023"),
    "UBUNTU": ("Linux", "Ubuntu", "22.04"),
    "REDHAT_ENTERPRISE_LINUX": ("Linux", "Red Hat Enterprise Linux", "9.3"),
    "SUSE": ("Linux", "SLES", "15.5"),
    "CENTOS": ("Linux", "CentOS Linux", "7.9"),
    "ORACLE_LINUX": ("Linux", "Oracle Linux Server", "8.9"),
    "DEBIAN": ("Linux", "Debian GNU/Linux", "12"),
    "MACOS": ("MacOS", "macOS", "14.2"),
    "RASPBIAN": ("Linux", "Raspbian GNU/Linux", "11"),
    "ROCKY_LINUX": ("Linux", "Rocky Linux", "9.3"),
    "ALMA_LINUX": ("Linux", "AlmaLinux", "9.3"),
}


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message names the file and the field."""


class PatchSpec(BaseModel):
    model_config = _STRICT
    id: str = Field(min_length=1, description="KB id (Windows) or advisory id, e.g. ALAS2023-2024-512")
    title: str = ""
    classification: str = "Security"
    severity: str = "Important"
    state: PatchState = "Missing"
    fails: bool = False  # an Install run fails on this patch (the instance's invocation is Failed)


class FindingSpec(BaseModel):
    model_config = _STRICT
    vulnerability_id: str = Field(pattern=r"^(CVE-\d{4}-\d{4,}|[A-Z][A-Z0-9-]+)$")
    severity: Severity = "MEDIUM"
    title: str = ""
    package: str = "unknown"
    package_version: str = "0"
    fixed_in_version: str | None = None
    fixed_by_patch: str | None = None  # installing this patch id closes the finding
    status: FindingStatus = "ACTIVE"
    score: float | None = None


class InstanceSpec(BaseModel):
    model_config = _STRICT
    id: str = Field(pattern=r"^i-[0-9a-f]{17}$")
    account: str
    region: str
    os: OperatingSystem = "AMAZON_LINUX_2023"
    name: str | None = None
    tags: dict[str, str] = {}
    managed: bool = True  # has a running SSM agent registered with Systems Manager
    ping: PingStatus = "Online"
    patches: list[PatchSpec] = []
    findings: list[FindingSpec] = []
    not_scanned_reason: str | None = None  # Inspector ScanStatusReason, e.g. UNSUPPORTED_OS
    command_outcome: Literal["Success", "Failed", "TimedOut"] | None = None  # force every run's result

    @model_validator(mode="after")
    def _unique_patch_ids(self) -> InstanceSpec:
        seen: set[str] = set()
        for i, p in enumerate(self.patches):
            if p.id in seen:
                raise ValueError(f"patches[{i}].id {p.id!r} appears twice")
            seen.add(p.id)
        return self


class ResourceSpec(BaseModel):
    """A non-EC2 resource Inspector scans (ECR image, Lambda function)."""

    model_config = _STRICT
    id: str = Field(min_length=1)
    type: Literal["AWS_ECR_CONTAINER_IMAGE", "AWS_ECR_REPOSITORY", "AWS_LAMBDA_FUNCTION"]
    account: str
    region: str
    tags: dict[str, str] = {}
    findings: list[FindingSpec] = []
    not_scanned_reason: str | None = None


class AccountSpec(BaseModel):
    model_config = _STRICT
    id: str = Field(pattern=r"^\d{12}$")
    name: str = ""
    role_arn: str = Field(pattern=r"^arn:aws:iam::\d{12}:role/[\w+=,.@/-]{1,64}$")
    external_id: str | None = None
    regions: list[str] = Field(min_length=1)
    inspector_enabled: list[InspectorType] = ["EC2"]
    # Associated with the scenario's Inspector delegated administrator (when it has one); False: a standalone
    # account. Ignored for the administrator itself.
    inspector_member: bool = True

    @model_validator(mode="after")
    def _role_in_account(self) -> AccountSpec:
        if self.role_arn.split(":")[4] != self.id:
            raise ValueError(f"role_arn {self.role_arn!r} is not in account {self.id}")
        return self

    @field_validator("regions")
    @classmethod
    def _region_names(cls, v: list[str]) -> list[str]:
        for r in v:
            if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", r):
                raise ValueError(f"{r!r} is not a region name")
        return v


class Scenario(BaseModel):
    model_config = _STRICT
    # The account the sandbox's own credentials belong to (moto's default account).
    home_account: str = Field(default="123456789012", pattern=r"^\d{12}$")
    start_time: datetime | None = None  # simulated clock start; absent: now
    accounts: list[AccountSpec] = Field(min_length=1)
    instances: list[InstanceSpec] = []
    resources: list[ResourceSpec] = []
    # The Inspector delegated administrator of the accounts' organization (one of `accounts`): in each region
    # it sees its members' findings and coverage and manages their enablement. None: every account standalone.
    inspector_admin: str | None = Field(default=None, pattern=r"^\d{12}$")

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        regions = {a.id: set(a.regions) for a in self.accounts}
        if len(regions) != len(self.accounts):
            raise ValueError("accounts: an account id appears twice")
        if self.inspector_admin is not None and self.inspector_admin not in regions:
            raise ValueError(f"inspector_admin {self.inspector_admin!r} is not one of the accounts")
        ids: set[str] = set()
        where: list[tuple[str, str, str, str]] = [("instances", i.id, i.account, i.region) for i in self.instances] + [
            ("resources", r.id, r.account, r.region) for r in self.resources
        ]
        counters: dict[str, int] = {"instances": 0, "resources": 0}
        for kind, rid, account, region in where:
            n = counters[kind]
            counters[kind] += 1
            if account not in regions:
                raise ValueError(f"{kind}[{n}].account {account!r} is not one of the accounts")
            if region not in regions[account]:
                raise ValueError(f"{kind}[{n}].region {region!r} is not a region of account {account}")
            if rid in ids:
                raise ValueError(f"{kind}[{n}].id {rid!r} appears twice")
            ids.add(rid)
        return self

    def account(self, account_id: str) -> AccountSpec | None:
        return next((a for a in self.accounts if a.id == account_id), None)

    def inspector_members(self) -> list[str]:
        """The accounts associated with the Inspector delegated administrator, in scenario order."""
        if self.inspector_admin is None:
            return []
        return [a.id for a in self.accounts if a.id != self.inspector_admin and a.inspector_member]

    @property
    def finding_count(self) -> int:
        return sum(len(i.findings) for i in self.instances) + sum(len(r.findings) for r in self.resources)


def _format_errors(source: str, err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"]).lstrip(".")
        lines.append(f"{source}: {loc or '(top level)'}: {e['msg']}")
    return "\n".join(lines)


def parse_scenario(data: object, source: str = "scenario") -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as e:
        raise ScenarioError(_format_errors(source, e)) from None


def load_scenario(path: str | Path) -> Scenario:
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise ScenarioError(f"{p}: {e}") from None
    return parse_scenario(data, str(p))


def dump_scenario(scenario: Scenario) -> str:
    return yaml.safe_dump(scenario.model_dump(mode="json", exclude_defaults=True), sort_keys=False)


# ---------------------------------------------------------------------------------------------------
# The default scenario generator.

_ROLES = ("web", "api", "db", "batch")
_OS_MIX: tuple[OperatingSystem, ...] = ("AMAZON_LINUX_2023", "AMAZON_LINUX_2023", "UBUNTU", "WINDOWS")
_CLASSIFICATIONS = (("Security", 6), ("Bugfix", 2), ("Enhancement", 1))
_PATCH_SEVERITY = ("Critical", "Important", "Medium", "Low")
_FINDING_SEVERITY: tuple[tuple[Severity, int], ...] = (
    ("CRITICAL", 1),
    ("HIGH", 3),
    ("MEDIUM", 5),
    ("LOW", 3),
    ("INFORMATIONAL", 1),
)
_PACKAGES = ("openssl", "glibc", "curl", "xz-utils", "sudo", "kernel", "openssh", "libxml2", "zlib", "python3")


def _patch_id(os: str, rng: random.Random) -> str:
    if os == "WINDOWS":
        return f"KB{rng.randint(5000000, 5099999)}"
    if os == "UBUNTU":
        return f"USN-{rng.randint(6000, 7999)}-1"
    return f"ALAS2023-2024-{rng.randint(100, 999)}"


DOC_ACCOUNT_IDS = ("111122223333", "444455556666", "777788889999")
SANDBOX_EXTERNAL_ID = "sreops-sandbox-external-id"
# moto's default account: the sandbox's own credentials (sandbox.env) act in it, as an operator running
# in its fleet's account through IRSA does, so it gets a fleet of its own.
HOME_ACCOUNT = "123456789012"
HOME_ENV = "prod"  # its instances' Env tag: the samples' targets (Env: prod) match them without accountRef
# The organization's security account, Inspector's delegated administrator for the others (no fleet of its own).
# Not of the form of the generated ids (DOC_ACCOUNT_IDS, then 1000000000NN) nor moto's default account.
SECURITY_ACCOUNT = "999988887777"


def generate_scenario(
    seed: int = 1,
    accounts: int = 2,
    regions: tuple[str, ...] = ("us-west-2", "us-east-1"),
    instances: int = 40,
    findings: int = 300,
    start_time: datetime | None = None,
    home_instances: int = 12,
    home_findings: int = 60,
    security_account: bool = True,
) -> Scenario:
    """A deterministic fleet: same arguments, same scenario.

    `instances` and `findings` (the total over their resources) are those of the `accounts` reached
    through a role; `home_instances` and `home_findings` those of the home account (none: no home fleet).
    `security_account`: SECURITY_ACCOUNT is listed last (role `sreops`, the same regions, no instances) as the
    Inspector delegated administrator of all the others.
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible fleet, not security
    envs = ("prod", "staging", "dev")
    # The first accounts carry AWS's documentation ids, so crds/samples/ (account 111122223333, role
    # sreops, external id from the prod-aws Secret) work against the generated fleet as they are.
    ids = [*DOC_ACCOUNT_IDS, *(f"{100000000000 + n}" for n in range(len(DOC_ACCOUNT_IDS), accounts))][:accounts]
    acct_specs = [
        AccountSpec(
            id=acct_id,
            name=envs[n] if n < len(envs) else f"acct{n}",
            role_arn=f"arn:aws:iam::{acct_id}:role/sreops",
            external_id=SANDBOX_EXTERNAL_ID if n == 0 else None,
            regions=list(regions),
        )
        for n, acct_id in enumerate(ids)
    ]
    cells = [(a.id, r, a.name) for a in acct_specs for r in a.regions]
    inst_specs = _instances(rng, cells, instances)
    _add_findings(rng, inst_specs, findings)
    resources: list[ResourceSpec] = []
    if acct_specs:
        a = acct_specs[0]
        resources.append(
            ResourceSpec(
                id=f"arn:aws:lambda:{a.regions[0]}:{a.id}:function:legacy-report",
                type="AWS_LAMBDA_FUNCTION",
                account=a.id,
                region=a.regions[0],
                tags={"Env": a.name},
                not_scanned_reason="UNSUPPORTED_RUNTIME",
            )
        )
    # The home fleet comes last, from the same generator, so the role-reached fleet above is the same
    # with or without it (tests and benchmarks name its instances).
    if home_instances > 0:
        # Listed after the others: accounts[0] stays the samples' prod account. Its role (no external id)
        # lets an AWSAccount name it too.
        acct_specs.append(
            AccountSpec(
                id=HOME_ACCOUNT, name="home", role_arn=f"arn:aws:iam::{HOME_ACCOUNT}:role/sreops", regions=list(regions)
            )
        )
        home = _instances(rng, [(HOME_ACCOUNT, r, HOME_ENV) for r in regions], home_instances, first=instances)
        _add_findings(rng, home, home_findings)
        inst_specs += home
    admin: str | None = None
    if security_account:
        # Last, after the home account: accounts[0] stays the samples' prod account.
        admin = SECURITY_ACCOUNT
        acct_specs.append(
            AccountSpec(id=admin, name="security", role_arn=f"arn:aws:iam::{admin}:role/sreops", regions=list(regions))
        )
    start = start_time or datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    return Scenario(
        home_account=HOME_ACCOUNT,
        start_time=start,
        accounts=acct_specs,
        instances=inst_specs,
        resources=resources,
        inspector_admin=admin,
    )


def _instances(rng: random.Random, cells: list[tuple[str, str, str]], count: int, first: int = 0) -> list[InstanceSpec]:
    """`count` instances spread over (account, region, Env tag) cells, roles and OSes, with a few
    unmanaged, offline or failing ones; names are numbered from `first` so they are unique overall."""
    out: list[InstanceSpec] = []
    for n in range(count):
        account, region, env = cells[n % len(cells)]
        os = _OS_MIX[n % len(_OS_MIX)]
        role = _ROLES[(n // len(cells)) % len(_ROLES)]
        managed = n % 13 != 7  # a few instances without an SSM agent
        ping: PingStatus = "ConnectionLost" if n % 17 == 11 else "Online"
        patches: list[PatchSpec] = []
        used: set[str] = set()
        for k in range(rng.randint(2, 8)):
            pid = _patch_id(os, rng)
            if pid in used:
                continue
            used.add(pid)
            cls = rng.choices([c for c, _ in _CLASSIFICATIONS], [w for _, w in _CLASSIFICATIONS])[0]
            state: PatchState = rng.choice(("Missing", "Missing", "Installed", "Installed", "Installed"))
            if k == 0 and n % 9 == 4:
                state = "Failed"
            patches.append(
                PatchSpec(
                    id=pid,
                    title=f"{pid}: {cls.lower()} update for {rng.choice(_PACKAGES)}",
                    classification=cls,
                    severity=rng.choice(_PATCH_SEVERITY),
                    state=state,
                    fails=state == "Missing" and n % 11 == 3,
                )
            )
        name = f"{role}-{first + n:03d}"
        out.append(
            InstanceSpec(
                id="i-" + "".join(rng.choice("0123456789abcdef") for _ in range(17)),
                account=account,
                region=region,
                os=os,
                name=name,
                tags={"Name": name, "Role": role, "Env": env, "Patch Group": role},
                managed=managed,
                ping=ping,
                patches=patches,
                not_scanned_reason=None if managed else "UNMANAGED_EC2_INSTANCE",
            )
        )
    return out


def _add_findings(rng: random.Random, instances: list[InstanceSpec], count: int) -> None:
    """`count` findings over the scannable instances; most of those on a missing patch are fixed by it."""
    scannable = [i for i in instances if i.not_scanned_reason is None]
    if not scannable:
        return
    sev_names = [s for s, _ in _FINDING_SEVERITY]
    sev_w = [w for _, w in _FINDING_SEVERITY]
    for n in range(count):
        inst = scannable[n % len(scannable)]
        missing = [p for p in inst.patches if p.state in ("Missing", "Failed")]
        fixed_by = missing[n % len(missing)].id if missing and rng.random() < 0.6 else None
        pkg = rng.choice(_PACKAGES)
        cve = f"CVE-{rng.choice((2023, 2024, 2025))}-{rng.randint(1000, 99999)}"
        sev = rng.choices(sev_names, sev_w)[0]
        inst.findings.append(
            FindingSpec(
                vulnerability_id=cve,
                severity=sev,
                title=f"{cve} - {pkg}",
                package=pkg,
                package_version=f"{rng.randint(1, 3)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}",
                fixed_in_version=f"{rng.randint(4, 9)}.0.0" if fixed_by else None,
                fixed_by_patch=fixed_by,
            )
        )
