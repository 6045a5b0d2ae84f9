"""The SSM operations the sandbox answers itself instead of moto: patch baselines and patch groups
(moto lacks get/update and mis-tags them), tags on the resources it owns, and the registry of every
SSM operation served from the sandbox's state. Everything else in SSM (parameters, documents...)
still goes to moto."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from . import commands, compliance, maintenance
from .compliance import default_baseline_id
from .errors import AwsError, validation
from .paging import fingerprint, page
from .params import Params, max_results, opt_list, opt_str, req_str, tags_to_dict
from .scenario import OS_PLATFORM
from .state import Ctx, World

Handler = Callable[[World, Ctx, Params], dict[str, Any]]
PASS_TO_MOTO: dict[str, Any] = {"__pass__": True}  # a handler's answer meaning "let moto answer this"

_OS = tuple(OS_PLATFORM)
_DEFAULT_NAMES = {
    "AMAZON_LINUX_2023": "AWS-AmazonLinux2023DefaultPatchBaseline",
    "AMAZON_LINUX_2": "AWS-AmazonLinux2DefaultPatchBaseline",
    "UBUNTU": "AWS-UbuntuDefaultPatchBaseline",
    "WINDOWS": "AWS-DefaultPatchBaseline",
    "REDHAT_ENTERPRISE_LINUX": "AWS-RedHatDefaultPatchBaseline",
}
_BASELINE_FIELDS = (
    "GlobalFilters",
    "ApprovalRules",
    "ApprovedPatches",
    "ApprovedPatchesComplianceLevel",
    "ApprovedPatchesEnableNonSecurity",
    "RejectedPatches",
    "RejectedPatchesAction",
    "Description",
    "Sources",
    "AvailableSecurityUpdatesComplianceStatus",
)
_DEFAULTS: dict[str, Any] = {
    "GlobalFilters": {"PatchFilters": []},
    "ApprovalRules": {"PatchRules": []},
    "ApprovedPatches": [],
    "ApprovedPatchesComplianceLevel": "UNSPECIFIED",
    "ApprovedPatchesEnableNonSecurity": False,
    "RejectedPatches": [],
    "RejectedPatchesAction": "ALLOW_AS_DEPENDENCY",
    "Sources": [],
}


def _aws_baselines(region: str) -> list[dict[str, Any]]:
    return [
        {
            "BaselineId": default_baseline_id(region, os),
            "Name": name,
            "OperatingSystem": os,
            "Description": f"Default Patch Baseline for {os} provided by AWS.",
            **_DEFAULTS,
            "CreatedDate": 1_600_000_000.0,
            "ModifiedDate": 1_600_000_000.0,
            "_aws": True,
        }
        for os, name in _DEFAULT_NAMES.items()
    ]


def _check_baseline_fields(p: Params) -> None:
    opt_str(
        p,
        "ApprovedPatchesComplianceLevel",
        choices=("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNSPECIFIED"),
    )
    opt_str(p, "RejectedPatchesAction", choices=("ALLOW_AS_DEPENDENCY", "BLOCK"))
    opt_list(p, "ApprovedPatches", max_len=50)
    opt_list(p, "RejectedPatches", max_len=50)
    rules = (p.get("ApprovalRules") or {}).get("PatchRules") or []
    if len(rules) > 10:
        raise validation("ApprovalRules.PatchRules: at most 10 rules")
    for n, rule in enumerate(rules):
        days = rule.get("ApproveAfterDays")
        if days is not None and not (isinstance(days, int) and 0 <= days <= 360):
            raise validation(
                f"1 validation error detected: Value '{days}' at 'approvalRules.patchRules.{n + 1}.member."
                "approveAfterDays' failed to satisfy constraint: Member must have value less than or equal to 360"
            )
        if not (rule.get("PatchFilterGroup") or {}).get("PatchFilters") and rule.get("PatchFilterGroup") is None:
            raise validation(f"ApprovalRules.PatchRules[{n}].PatchFilterGroup must not be null")


def _baseline(w: World, ctx: Ctx, bid: str) -> dict[str, Any]:
    b = w.region(ctx).baselines.get(bid)
    if b is None:
        b = next((x for x in _aws_baselines(ctx.region) if x["BaselineId"] == bid), None)
    if b is None:
        raise AwsError("DoesNotExistException", f"Patch Baseline {bid} does not exist.")
    return b


def op_create_patch_baseline(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    name = req_str(p, "Name", 128)
    os = opt_str(p, "OperatingSystem", "WINDOWS", choices=_OS)
    _check_baseline_fields(p)
    tags = tags_to_dict(opt_list(p, "Tags", max_len=1000))
    bid = "pb-" + secrets.token_hex(9)[:17]
    b: dict[str, Any] = {"BaselineId": bid, "Name": name, "OperatingSystem": os, **_DEFAULTS}
    b.update({k: p[k] for k in _BASELINE_FIELDS if k in p})
    b["CreatedDate"] = b["ModifiedDate"] = ctx.now
    rs = w.region(ctx)
    rs.baselines[bid] = b
    if tags:
        rs.tags[("PatchBaseline", bid)] = tags
    return {"BaselineId": bid}


def _patch_groups_of(w: World, ctx: Ctx, bid: str) -> list[str]:
    return sorted(g for g, by_os in w.region(ctx).patch_groups.items() if bid in by_os.values())


def op_get_patch_baseline(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    b = _baseline(w, ctx, req_str(p, "BaselineId", 128))
    out = {k: v for k, v in b.items() if not k.startswith("_")}
    out["PatchGroups"] = _patch_groups_of(w, ctx, b["BaselineId"])
    return out


def op_update_patch_baseline(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    bid = req_str(p, "BaselineId", 128)
    b = _baseline(w, ctx, bid)
    if b.get("_aws"):
        raise validation("AWS-provided patch baselines cannot be modified.")
    _check_baseline_fields(p)
    if p.get("Replace"):
        for k in _BASELINE_FIELDS:
            if k in _DEFAULTS:
                b[k] = _DEFAULTS[k]
            else:
                b.pop(k, None)
    if "Name" in p:
        b["Name"] = req_str(p, "Name", 128)
    b.update({k: p[k] for k in _BASELINE_FIELDS if k in p})
    b["ModifiedDate"] = ctx.now
    return {k: v for k, v in b.items() if not k.startswith("_")}


def op_delete_patch_baseline(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    bid = req_str(p, "BaselineId", 128)
    rs = w.region(ctx)
    if bid in rs.baselines and _patch_groups_of(w, ctx, bid):
        raise AwsError("ResourceInUseException", f"Patch baseline {bid} is registered with a patch group.")
    if rs.baselines.pop(bid, None) is not None:  # unknown ids succeed, as in AWS
        rs.tags.pop(("PatchBaseline", bid), None)
    return {"BaselineId": bid}


def op_describe_patch_baselines(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    filters = opt_list(p, "Filters", max_len=5)
    limit = max_results(p, 1, 100, 100)
    rows = list(w.region(ctx).baselines.values()) + _aws_baselines(ctx.region)
    for f in filters:
        key, values = f.get("Key"), f.get("Values") or []
        if key == "NAME_PREFIX":
            rows = [b for b in rows if any(b["Name"].startswith(v) for v in values)]
        elif key == "OWNER":
            want = {v.upper() for v in values}
            if "ALL" not in want:
                rows = [b for b in rows if ("AWS" if b.get("_aws") else "SELF") in want]
        elif key == "OPERATING_SYSTEM":
            rows = [b for b in rows if b["OperatingSystem"] in values]
        else:
            raise validation(f"Invalid filter key: {key}")
    chunk, token = page(rows, limit, p.get("NextToken"), fingerprint("dpb", filters))
    out: dict[str, Any] = {
        "BaselineIdentities": [
            {
                "BaselineId": b["BaselineId"],
                "BaselineName": b["Name"],
                "OperatingSystem": b["OperatingSystem"],
                "BaselineDescription": b.get("Description", ""),
                "DefaultBaseline": bool(b.get("_aws")),
            }
            for b in chunk
        ]
    }
    if token:
        out["NextToken"] = token
    return out


def op_register_patch_group(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    bid, group = req_str(p, "BaselineId", 128), req_str(p, "PatchGroup", 256)
    b = _baseline(w, ctx, bid)
    by_os = w.region(ctx).patch_groups.setdefault(group, {})
    current = by_os.get(b["OperatingSystem"])
    if current is not None and current != bid:
        raise AwsError(
            "AlreadyExistsException",
            f"Patch Group baseline already has a baseline registered for OperatingSystem {b['OperatingSystem']}.",
        )
    by_os[b["OperatingSystem"]] = bid
    return {"BaselineId": bid, "PatchGroup": group}


def op_deregister_patch_group(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    bid, group = req_str(p, "BaselineId", 128), req_str(p, "PatchGroup", 256)
    by_os = w.region(ctx).patch_groups.get(group, {})
    os = next((o for o, b in by_os.items() if b == bid), None)
    if os is None:
        raise AwsError("DoesNotExistException", f"Patch Baseline {bid} is not registered for Patch Group {group}.")
    del by_os[os]
    if not by_os:
        w.region(ctx).patch_groups.pop(group, None)
    return {"BaselineId": bid, "PatchGroup": group}


def op_get_patch_baseline_for_patch_group(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    group = req_str(p, "PatchGroup", 256)
    os = opt_str(p, "OperatingSystem", "WINDOWS", choices=_OS) or "WINDOWS"
    bid = w.region(ctx).patch_groups.get(group, {}).get(os) or default_baseline_id(ctx.region, os)
    return {"BaselineId": bid, "PatchGroup": group, "OperatingSystem": os}


def op_describe_patch_groups(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    limit = max_results(p, 1, 100, 100)
    rows = []
    for group, by_os in sorted(w.region(ctx).patch_groups.items()):
        for os, bid in sorted(by_os.items()):
            b = _baseline(w, ctx, bid)
            rows.append(
                {
                    "PatchGroup": group,
                    "BaselineIdentity": {
                        "BaselineId": bid,
                        "BaselineName": b["Name"],
                        "OperatingSystem": os,
                        "BaselineDescription": b.get("Description", ""),
                        "DefaultBaseline": False,
                    },
                }
            )
    chunk, token = page(rows, limit, p.get("NextToken"), fingerprint("dpg"))
    out: dict[str, Any] = {"Mappings": chunk}
    if token:
        out["NextToken"] = token
    return out


# ---------------------------------------------------------------------------------------------------
# Tags on the resources the sandbox owns; other resource types (Parameter, Document...) go to moto.

_OWNED_TYPES = ("PatchBaseline", "MaintenanceWindow")


def _tag_target(w: World, ctx: Ctx, p: Params) -> tuple[str, str] | None:
    rtype = req_str(p, "ResourceType")
    rid = req_str(p, "ResourceId", 1024)
    if rtype not in _OWNED_TYPES:
        return None
    rs = w.region(ctx)
    exists = rid in rs.baselines if rtype == "PatchBaseline" else rid in rs.windows
    if not exists:
        raise AwsError("InvalidResourceId", "The resource ID is not valid. Verify the ID and try again.")
    return rtype, rid


def op_add_tags(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    key = _tag_target(w, ctx, p)
    if key is None:
        return PASS_TO_MOTO
    new = tags_to_dict(opt_list(p, "Tags", max_len=1000, min_len=1))
    tags = w.region(ctx).tags.setdefault(key, {})
    if len({**tags, **new}) > 50:
        raise AwsError("TooManyTagsError", "The Targets parameter includes too many tags.")
    tags.update(new)
    return {}


def op_remove_tags(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    key = _tag_target(w, ctx, p)
    if key is None:
        return PASS_TO_MOTO
    tags = w.region(ctx).tags.get(key, {})
    for k in opt_list(p, "TagKeys", min_len=1):
        tags.pop(k, None)
    return {}


def op_list_tags(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    key = _tag_target(w, ctx, p)
    if key is None:
        return PASS_TO_MOTO
    tags = w.region(ctx).tags.get(key, {})
    return {"TagList": [{"Key": k, "Value": v} for k, v in tags.items()]}


SSM_OPS: dict[str, Handler] = {
    "CreatePatchBaseline": op_create_patch_baseline,
    "GetPatchBaseline": op_get_patch_baseline,
    "UpdatePatchBaseline": op_update_patch_baseline,
    "DeletePatchBaseline": op_delete_patch_baseline,
    "DescribePatchBaselines": op_describe_patch_baselines,
    "RegisterPatchBaselineForPatchGroup": op_register_patch_group,
    "DeregisterPatchBaselineForPatchGroup": op_deregister_patch_group,
    "GetPatchBaselineForPatchGroup": op_get_patch_baseline_for_patch_group,
    "DescribePatchGroups": op_describe_patch_groups,
    "AddTagsToResource": op_add_tags,
    "RemoveTagsFromResource": op_remove_tags,
    "ListTagsForResource": op_list_tags,
    **maintenance.OPS,
    **commands.OPS,
    **compliance.OPS,
}
