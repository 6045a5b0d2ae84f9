"""What a ScanSchedule covers in one account x region, as inspector2 filterCriteria.

Inspector ANDs different fields and ORs the filters of one field, and takes at most 10 filters per field.
So: one `resourceTags` filter narrows the listing on the server and the other tags (all must match) are
checked here; account and instance id lists are cut into chunks of 10, each listed on its own (the chunks
are disjoint, so nothing is counted twice).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sreops.operator.api.scanschedule import ScanScheduleSpec

MAX_FILTERS = 10
# spec.resourceTypes → the resource types findings carry.
FINDING_TYPES = {
    "EC2": ("AWS_EC2_INSTANCE",),
    "ECR": ("AWS_ECR_CONTAINER_IMAGE",),
    "LAMBDA": ("AWS_LAMBDA_FUNCTION",),
    "LAMBDA_CODE": ("AWS_LAMBDA_FUNCTION",),
}
# ... and those coverage lists (ECR repositories are covered too, and have no findings of their own).
COVERAGE_TYPES = {
    "EC2": ("AWS_EC2_INSTANCE",),
    "ECR": ("AWS_ECR_REPOSITORY", "AWS_ECR_CONTAINER_IMAGE"),
    "LAMBDA": ("AWS_LAMBDA_FUNCTION",),
    "LAMBDA_CODE": ("AWS_LAMBDA_FUNCTION",),
}


def _equals(values: Sequence[str]) -> list[dict[str, str]]:
    return [{"comparison": "EQUALS", "value": v} for v in values]


def _chunks(values: Sequence[str]) -> list[list[str]]:
    return [list(values[i : i + MAX_FILTERS]) for i in range(0, len(values), MAX_FILTERS)] or [[]]


def _types(spec_types: Sequence[str], table: Mapping[str, tuple[str, ...]]) -> list[str]:
    out: list[str] = []
    for t in spec_types:
        out += [r for r in table[t] if r not in out]
    return out


@dataclass(frozen=True)
class Scope:
    resource_types: tuple[str, ...]  # spec.resourceTypes
    accounts: tuple[str, ...]  # the awsAccountId values swept: the account itself, or its listed members
    tags: tuple[tuple[str, str], ...] = ()
    instance_ids: tuple[str, ...] = ()

    @classmethod
    def of(cls, spec: ScanScheduleSpec, account_id: str) -> Scope:
        targets = spec.targets
        return cls(
            resource_types=tuple(spec.resource_types),
            accounts=tuple(spec.member_accounts) or (account_id,),
            tags=tuple(sorted(targets.tags.items())) if targets else (),
            instance_ids=tuple(targets.instance_ids) if targets else (),
        )

    def finding_criteria(
        self, status: str, date_field: str | None = None, start: datetime | None = None, end: datetime | None = None
    ) -> Iterator[dict[str, Any]]:
        """filterCriteria for ListFindings, one per chunk of accounts x instance ids."""
        base: dict[str, Any] = {
            "findingStatus": _equals([status]),
            "resourceType": _equals(_types(self.resource_types, FINDING_TYPES)),
        }
        if self.tags:
            key, value = self.tags[0]
            base["resourceTags"] = [{"comparison": "EQUALS", "key": key, "value": value}]
        if date_field is not None:
            window: dict[str, datetime] = {}
            if start is not None:
                window["startInclusive"] = start
            if end is not None:
                window["endInclusive"] = end
            base[date_field] = [window]
        for accounts in _chunks(self.accounts):
            for ids in _chunks(self.instance_ids):
                criteria = dict(base, awsAccountId=_equals(accounts))
                if ids:
                    criteria["resourceId"] = _equals(ids)
                yield criteria

    def coverage_criteria(self) -> Iterator[dict[str, Any]]:
        base: dict[str, Any] = {"resourceType": _equals(_types(self.resource_types, COVERAGE_TYPES))}
        for accounts in _chunks(self.accounts):
            for ids in _chunks(self.instance_ids):
                criteria = dict(base, accountId=_equals(accounts))
                if ids:
                    criteria["resourceId"] = _equals(ids)
                yield criteria

    def tags_match(self, tags: Mapping[str, str] | None) -> bool:
        """All target tags on the resource (the first one was already filtered by Inspector)."""
        if not self.tags:
            return True
        have = tags or {}
        return all(have.get(k) == v for k, v in self.tags)


def finding_tags(finding: Mapping[str, Any]) -> Mapping[str, str]:
    resources = finding.get("resources") or [{}]
    tags: Mapping[str, str] = resources[0].get("tags") or {}
    return tags


def coverage_tags(resource: Mapping[str, Any]) -> Mapping[str, str] | None:
    """A covered resource's tags from its metadata (EC2 and Lambda carry them; ECR entries have none)."""
    meta = resource.get("resourceMetadata") or {}
    if "ec2" in meta:
        tags: Mapping[str, str] = meta["ec2"].get("tags") or {}
        return tags
    if "lambdaFunction" in meta:
        fn_tags: Mapping[str, str] = meta["lambdaFunction"].get("functionTags") or {}
        return fn_tags
    return None
