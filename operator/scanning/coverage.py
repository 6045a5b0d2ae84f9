"""What Inspector covers of a ScanSchedule's scope: resources, how many are scanned, and why others are not
(ListCoverage's scanStatus reason, e.g. UNMANAGED_EC2_INSTANCE for an instance without the SSM agent)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sreops.operator.api.scanschedule import MAX_NOT_SCANNED, MAX_RESOURCE, Coverage, NotScanned, clip
from sreops.operator.scanning.scope import Scope, coverage_tags


@dataclass
class CoverageTally:
    resources: int = 0
    scanned: int = 0
    not_scanned: list[NotScanned] = field(default_factory=list)  # the first MAX_NOT_SCANNED

    def add(self, covered: Iterable[Mapping[str, Any]], scope: Scope) -> None:
        for resource in covered:
            if scope.tags and not scope.tags_match(coverage_tags(resource)):
                continue
            self.resources += 1
            status = resource.get("scanStatus") or {}
            if status.get("statusCode") == "ACTIVE":
                self.scanned += 1
            elif len(self.not_scanned) < MAX_NOT_SCANNED:
                reason = str(status.get("reason") or status.get("statusCode") or "UNKNOWN")
                self.not_scanned.append(
                    NotScanned(resource=clip(str(resource.get("resourceId", "")), MAX_RESOURCE), reason=reason[:64])
                )

    @property
    def gaps(self) -> int:
        return self.resources - self.scanned

    def to_status(self) -> Coverage:
        return Coverage(resources=self.resources, scanned=self.scanned, not_scanned=self.not_scanned)
