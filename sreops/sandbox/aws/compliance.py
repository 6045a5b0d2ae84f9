"""What SSM reports about managed instances: instance information, patch states, patches, and the
compliance views derived from them. All read from the fleet (moto has no managed instances)."""

from __future__ import annotations

import hashlib
from typing import Any

from .errors import AwsError, validation
from .fleet import Instance
from .paging import fingerprint, page
from .params import Params, max_results, opt_list, req_str
from .state import Ctx, World

_SEVERITY = {
    "Critical": "CRITICAL",
    "Important": "HIGH",
    "High": "HIGH",
    "Moderate": "MEDIUM",
    "Medium": "MEDIUM",
    "Low": "LOW",
}


def _info(inst: Instance, now: float) -> dict[str, Any]:
    ptype, pname, pver = inst.platform
    return {
        "InstanceId": inst.id,
        "PingStatus": inst.ping,
        "LastPingDateTime": now - (30 if inst.ping == "Online" else 7200),
        "AgentVersion": "3.3.1345.0",
        "IsLatestVersion": True,
        "PlatformType": ptype,
        "PlatformName": pname,
        "PlatformVersion": pver,
        "ResourceType": "EC2Instance",
        "IPAddress": "10.0." + ".".join(str(int(inst.id[-4:-2], 16)) + "." + str(int(inst.id[-2:], 16)) for _ in [0]),
        "ComputerName": f"{inst.name}.ec2.internal",
        "AssociationStatus": "Success",
        "RegistrationDate": inst.registered_at,
        "SourceId": inst.id,
        "SourceType": "AWS::EC2::Instance",
    }


def _info_filter(inst: Instance, info: dict[str, Any], key: str, values: list[str]) -> bool:
    if key == "InstanceIds":
        return inst.id in values
    if key.startswith("tag:"):
        return inst.tags.get(key[4:]) in values
    if key == "tag-key":
        return any(k in inst.tags for k in values)
    field = {
        "PingStatus": "PingStatus",
        "PlatformTypes": "PlatformType",
        "ResourceType": "ResourceType",
        "AgentVersion": "AgentVersion",
        "AssociationStatus": "AssociationStatus",
    }.get(key)
    if field is None:
        raise AwsError("InvalidFilterKey", f"The filter key {key} is not valid.")
    return info[field] in values


def op_describe_instance_information(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    old = opt_list(p, "InstanceInformationFilterList")
    new = opt_list(p, "Filters")
    if old and new:
        raise AwsError("InvalidFilterKey", "InstanceInformationFilterList and Filters cannot both be specified.")
    limit = max_results(p, 5, 50, 50)
    conds: list[tuple[str, list[str]]] = [(f.get("key", ""), f.get("valueSet") or []) for f in old]
    conds += [(f.get("Key", ""), f.get("Values") or []) for f in new]
    for key, values in conds:
        if not values:
            raise AwsError("InvalidInstanceInformationFilterValue", f"The filter value for {key} is empty.")
    items = []
    for inst in w.fleet.region_instances(ctx.account, ctx.region).values():
        if not inst.managed:
            continue
        info = _info(inst, ctx.now)
        if all(_info_filter(inst, info, k, v) for k, v in conds):
            items.append(info)
    chunk, token = page(items, limit, p.get("NextToken"), fingerprint("dii", conds))
    out: dict[str, Any] = {"InstanceInformationList": chunk}
    if token:
        out["NextToken"] = token
    return out


def _patch_state(w: World, ctx: Ctx, inst: Instance) -> dict[str, Any]:
    assert inst.last_scan is not None
    rs = w.ssm.get((ctx.account, ctx.region))
    group = inst.patch_group or ""
    baseline_id = rs.patch_groups.get(group, {}).get(inst.os) if rs else None
    crit = sum(1 for r in inst.patches.values() if r.state in ("Missing", "Failed") and r.spec.severity == "Critical")
    sec = sum(
        1 for r in inst.patches.values() if r.state in ("Missing", "Failed") and r.spec.classification == "Security"
    )
    other = inst.count("Missing", "Failed") - sec
    out: dict[str, Any] = {
        "InstanceId": inst.id,
        "PatchGroup": group,
        "BaselineId": baseline_id or default_baseline_id(ctx.region, inst.os),
        "SnapshotId": "",
        "OwnerInformation": "",
        "InstalledCount": inst.count("Installed"),
        "InstalledOtherCount": inst.count("InstalledOther"),
        "InstalledPendingRebootCount": inst.count("InstalledPendingReboot"),
        "InstalledRejectedCount": inst.count("InstalledRejected"),
        "MissingCount": inst.count("Missing"),
        "FailedCount": inst.count("Failed"),
        "UnreportedNotApplicableCount": 0,
        "NotApplicableCount": inst.count("NotApplicable"),
        "OperationStartTime": inst.last_operation_start or inst.last_scan,
        "OperationEndTime": inst.last_scan,
        "Operation": inst.last_operation,
        "RebootOption": inst.last_reboot_option,
        "CriticalNonCompliantCount": crit,
        "SecurityNonCompliantCount": sec,
        "OtherNonCompliantCount": other,
    }
    if inst.last_no_reboot_install:
        out["LastNoRebootInstallOperationTime"] = inst.last_no_reboot_install
    return out


def default_baseline_id(region: str, os: str) -> str:
    h = hashlib.sha1(f"{region}/{os}".encode(), usedforsecurity=False).hexdigest()[:17]
    return f"arn:aws:ssm:{region}:aws:patchbaseline/pb-{h}"


def op_describe_instance_patch_states(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    ids = opt_list(p, "InstanceIds", max_len=50)
    if not ids:
        req_str(p, "InstanceIds")
    limit = max_results(p, 10, 100, 50)
    fleet = w.fleet.region_instances(ctx.account, ctx.region)
    items = [_patch_state(w, ctx, fleet[i]) for i in ids if i in fleet and fleet[i].managed and fleet[i].last_scan]
    chunk, token = page(items, limit, p.get("NextToken"), fingerprint("dips", ids))
    out: dict[str, Any] = {"InstancePatchStates": chunk}
    if token:
        out["NextToken"] = token
    return out


_NUMERIC_KEYS = (
    "InstalledCount",
    "InstalledOtherCount",
    "InstalledPendingRebootCount",
    "InstalledRejectedCount",
    "MissingCount",
    "FailedCount",
    "UnreportedNotApplicableCount",
    "NotApplicableCount",
)


def op_describe_instance_patch_states_for_patch_group(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    group = req_str(p, "PatchGroup", 256)
    filters = opt_list(p, "Filters", max_len=4)
    limit = max_results(p, 10, 100, 50)
    items = [
        _patch_state(w, ctx, i)
        for i in w.fleet.region_instances(ctx.account, ctx.region).values()
        if i.managed and i.last_scan and i.patch_group == group
    ]
    for f in filters:
        key, values, typ = f.get("Key"), f.get("Values") or [], f.get("Type")
        if key not in _NUMERIC_KEYS or typ not in ("Equal", "NotEqual", "LessThan", "GreaterThan") or len(values) != 1:
            raise validation(f"Invalid filter: {f}")
        v = int(values[0])
        op = {"Equal": int.__eq__, "NotEqual": int.__ne__, "LessThan": int.__lt__, "GreaterThan": int.__gt__}[typ]
        items = [s for s in items if op(s[key], v)]
    chunk, token = page(items, limit, p.get("NextToken"), fingerprint("dipspg", group, filters))
    out: dict[str, Any] = {"InstancePatchStates": chunk}
    if token:
        out["NextToken"] = token
    return out


def _instance(w: World, ctx: Ctx, iid: str) -> Instance:
    inst = w.fleet.find_instance(ctx.account, ctx.region, iid)
    if inst is None or not inst.managed:
        raise AwsError("InvalidInstanceId", f"Instance Id {iid} does not exist.")
    return inst


def op_describe_instance_patches(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    inst = _instance(w, ctx, req_str(p, "InstanceId"))
    filters = opt_list(p, "Filters", max_len=4)
    limit = max_results(p, 10, 100, 50)
    rows = []
    for r in inst.patches.values() if inst.last_scan else []:
        rows.append(
            {
                "Title": r.spec.title or r.spec.id,
                "KBId": r.spec.id,
                "Classification": r.spec.classification,
                "Severity": r.spec.severity,
                "State": r.state,
                "InstalledTime": r.installed_time or 0.0,
            }
        )
    for f in filters:
        key, values = f.get("Key"), f.get("Values") or []
        if key not in ("Classification", "KBId", "Severity", "State"):
            raise validation(f"Invalid filter key: {key}")
        rows = [r for r in rows if r[key] in values]
    chunk, token = page(rows, limit, p.get("NextToken"), fingerprint("dip", inst.id, filters))
    out: dict[str, Any] = {"Patches": chunk}
    if token:
        out["NextToken"] = token
    return out


# ---------------------------------------------------------------------------------------------------
# Compliance (type "Patch" only: what Patch Manager writes)


def _sev_summary(sevs: list[str]) -> dict[str, int]:
    names = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNSPECIFIED")
    return {f"{n.capitalize()}Count": sum(1 for s in sevs if s == n) for n in names}


def _items(inst: Instance) -> list[dict[str, Any]]:
    assert inst.last_scan is not None
    out = []
    for r in inst.patches.values():
        if r.state == "NotApplicable":
            continue
        bad = r.state in ("Missing", "Failed")
        out.append(
            {
                "ComplianceType": "Patch",
                "ResourceType": "ManagedInstance",
                "ResourceId": inst.id,
                "Id": r.spec.id,
                "Title": r.spec.title or r.spec.id,
                "Status": "NON_COMPLIANT" if bad else "COMPLIANT",
                "Severity": _SEVERITY.get(r.spec.severity, "UNSPECIFIED"),
                "ExecutionSummary": {"ExecutionTime": inst.last_scan, "ExecutionType": "Command"},
                "Details": {
                    "Classification": r.spec.classification,
                    "PatchSeverity": r.spec.severity,
                    "PatchState": r.state,
                    "InstalledTime": str(int(r.installed_time or 0)),
                },
            }
        )
    return out


def _summary(inst: Instance) -> dict[str, Any]:
    items = _items(inst)
    bad = [i["Severity"] for i in items if i["Status"] == "NON_COMPLIANT"]
    good = [i["Severity"] for i in items if i["Status"] == "COMPLIANT"]
    order = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNSPECIFIED")
    overall = next((s for s in order if s in bad), "UNSPECIFIED")
    return {
        "ComplianceType": "Patch",
        "ResourceType": "ManagedInstance",
        "ResourceId": inst.id,
        "Status": "NON_COMPLIANT" if bad else "COMPLIANT",
        "OverallSeverity": overall,
        "ExecutionSummary": {"ExecutionTime": inst.last_scan, "ExecutionType": "Command"},
        "CompliantSummary": {"CompliantCount": len(good), "SeveritySummary": _sev_summary(good)},
        "NonCompliantSummary": {"NonCompliantCount": len(bad), "SeveritySummary": _sev_summary(bad)},
    }


def _reported(w: World, ctx: Ctx) -> list[Instance]:
    return [i for i in w.fleet.region_instances(ctx.account, ctx.region).values() if i.managed and i.last_scan]


def _compliance_filter(rows: list[dict[str, Any]], filters: list[Any]) -> list[dict[str, Any]]:
    for f in filters:
        key, values, typ = f.get("Key"), f.get("Values") or [], f.get("Type", "EQUAL")
        if key == "ComplianceType":
            keep = "Patch" in values
            rows = [r for r in rows if keep == (typ == "EQUAL")]
        elif key in ("Status", "ResourceId", "OverallSeverity", "Severity"):
            rows = [r for r in rows if (r.get(key) in values) == (typ == "EQUAL")]
        else:
            raise validation(f"Invalid filter key: {key}")
    return rows


def op_list_resource_compliance_summaries(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    filters = opt_list(p, "Filters")
    limit = max_results(p, 1, 50, 50)
    rows = _compliance_filter([_summary(i) for i in _reported(w, ctx)], filters)
    chunk, token = page(rows, limit, p.get("NextToken"), fingerprint("lrcs", filters))
    out: dict[str, Any] = {"ResourceComplianceSummaryItems": chunk}
    if token:
        out["NextToken"] = token
    return out


def op_list_compliance_summaries(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    filters = opt_list(p, "Filters")
    rows = _compliance_filter([_summary(i) for i in _reported(w, ctx)], filters)
    if not rows and filters:
        return {"ComplianceSummaryItems": []}
    good = [r for r in rows if r["Status"] == "COMPLIANT"]
    bad = [r for r in rows if r["Status"] == "NON_COMPLIANT"]
    return {
        "ComplianceSummaryItems": [
            {
                "ComplianceType": "Patch",
                "CompliantSummary": {
                    "CompliantCount": len(good),
                    "SeveritySummary": _sev_summary([r["OverallSeverity"] for r in good]),
                },
                "NonCompliantSummary": {
                    "NonCompliantCount": len(bad),
                    "SeveritySummary": _sev_summary([r["OverallSeverity"] for r in bad]),
                },
            }
        ]
    }


def op_list_compliance_items(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    ids = opt_list(p, "ResourceIds", max_len=100, min_len=1)
    types = opt_list(p, "ResourceTypes", max_len=1)
    if types and types != ["ManagedInstance"]:
        return {"ComplianceItems": []}
    filters = opt_list(p, "Filters")
    limit = max_results(p, 1, 50, 50)
    rows: list[dict[str, Any]] = []
    for iid in ids:
        inst = w.fleet.find_instance(ctx.account, ctx.region, iid)
        if inst and inst.managed and inst.last_scan:
            rows += _items(inst)
    rows = _compliance_filter(rows, filters)
    chunk, token = page(rows, limit, p.get("NextToken"), fingerprint("lci", ids, filters))
    out: dict[str, Any] = {"ComplianceItems": chunk}
    if token:
        out["NextToken"] = token
    return out


OPS = {
    "DescribeInstanceInformation": op_describe_instance_information,
    "DescribeInstancePatchStates": op_describe_instance_patch_states,
    "DescribeInstancePatchStatesForPatchGroup": op_describe_instance_patch_states_for_patch_group,
    "DescribeInstancePatches": op_describe_instance_patches,
    "ListResourceComplianceSummaries": op_list_resource_compliance_summaries,
    "ListComplianceSummaries": op_list_compliance_summaries,
    "ListComplianceItems": op_list_compliance_items,
}
