"""Amazon Inspector (inspector2) over the fleet's findings: enablement per resource type, list_findings
with filterCriteria and real pagination, list_coverage, and account/instance aggregations; the scenario's
delegated administrator sees and manages its members' (GetDelegatedAdminAccount, ListMembers, GetMember).

Findings are kept per account and region in a fixed order with indexes on resource, CVE, severity and
resource type; a page walks the smallest matching index from the token's position, so serving page
1,000 of 100,000 findings costs about as much as page 1.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from typing import Any

from .errors import AwsError
from .fleet import CoveredResource, Finding, FindingStore
from .paging import fingerprint, make_token, read_token
from .params import Params
from .state import Ctx, World

Handler = Callable[[World, Ctx, Params], dict[str, Any]]

TRANSITION_S = 3.0  # ENABLING → ENABLED, DISABLING → DISABLED
# ListFindings takes at most 10 filters per filterCriteria field (the API reference: FilterCriteria).
MAX_FILTERS_PER_FIELD = 10
_TYPES = {"EC2": "ec2", "ECR": "ecr", "LAMBDA": "lambda", "LAMBDA_CODE": "lambdaCode"}
_RESOURCE_TO_TYPE = {
    "AWS_EC2_INSTANCE": "EC2",
    "AWS_ECR_CONTAINER_IMAGE": "ECR",
    "AWS_ECR_REPOSITORY": "ECR",
    "AWS_LAMBDA_FUNCTION": "LAMBDA",
}
ACCOUNT_IDS_PER_CALL = 100  # accountIds of BatchGetAccountStatus, Enable and Disable (API reference)
_ACCOUNT_ID = re.compile(r"\d{12}")
_SEV_ORDER = {"CRITICAL": 0, "HIGH": 1, "MEDIUM": 2, "LOW": 3, "INFORMATIONAL": 4, "UNTRIAGED": 5}


def _invalid(message: str) -> AwsError:
    return AwsError("ValidationException", message, 400, {"reason": "FIELD_VALIDATION_FAILED"})


# ---------------------------------------------------------------------------------------------------
# Enablement


def _status(w: World, ctx: Ctx, rtype: str, account: str | None = None) -> str:
    states = w.inspector.setdefault((account or ctx.account, ctx.region), {})
    status, since = states.get(rtype, ("DISABLED", 0.0))
    if status in ("ENABLING", "DISABLING") and ctx.now >= since + TRANSITION_S:
        status = "ENABLED" if status == "ENABLING" else "DISABLED"
        states[rtype] = (status, since)
    return status


def _enabled(w: World, ctx: Ctx, resource_type: str, account: str | None = None) -> bool:
    t = _RESOURCE_TO_TYPE.get(resource_type, "EC2")
    return _status(w, ctx, t, account) == "ENABLED"


def _is_admin(w: World, ctx: Ctx) -> bool:
    return w.scenario.inspector_admin is not None and ctx.account == w.scenario.inspector_admin


def _scope(w: World, ctx: Ctx) -> list[str]:
    """The accounts whose findings, coverage and enablement the caller sees in its region: its own and, for the
    delegated administrator, its members' (an administrator "can view and retrieve information for their own
    account and any associated member")."""
    return [ctx.account, *w.scenario.inspector_members()] if _is_admin(w, ctx) else [ctx.account]


def _account_ids(w: World, ctx: Ctx, p: Params) -> tuple[list[str], list[dict[str, Any]]]:
    """The accountIds the caller may act on, and failedAccounts for the others (ACCESS_DENIED)."""
    ids = p.get("accountIds")
    if ids is None:
        ids = []
    if not isinstance(ids, list):
        raise _invalid(
            "1 validation error detected: Value at 'accountIds' failed to satisfy constraint: Member must be a list"
        )
    if len(ids) > ACCOUNT_IDS_PER_CALL:
        raise _invalid(
            f"1 validation error detected: Value at 'accountIds' failed to satisfy constraint: "
            f"Member must have length less than or equal to {ACCOUNT_IDS_PER_CALL}"
        )
    for a in ids:
        if not isinstance(a, str) or not _ACCOUNT_ID.fullmatch(a):
            raise _invalid(
                f"1 validation error detected: Value '{a}' at 'accountIds' failed to satisfy constraint: "
                "Member must satisfy regular expression pattern: \\d{12}"
            )
    ids = ids or [ctx.account]
    allowed = set(_scope(w, ctx))
    failed = [
        {
            "accountId": a,
            "errorCode": "ACCESS_DENIED",
            "errorMessage": "The caller is not the delegated administrator of this account.",
        }
        for a in ids
        if a not in allowed
    ]
    return [a for a in ids if a in allowed], failed


def _resource_status(w: World, ctx: Ctx, account: str) -> dict[str, str]:
    return {key: _status(w, ctx, t, account) for t, key in _TYPES.items()}


def _overall(res: dict[str, str]) -> str:
    return "ENABLED" if any(s in ("ENABLED", "ENABLING") for s in res.values()) else "DISABLED"


def _change(w: World, ctx: Ctx, p: Params, enable: bool) -> dict[str, Any]:
    types = p.get("resourceTypes")
    if enable and not types:
        raise _invalid("resourceTypes must not be empty")
    types = types or list(_TYPES)
    for t in types:
        if t not in _TYPES:
            raise _invalid(f"Invalid resourceType: {t}")
    ids, failed = _account_ids(w, ctx, p)
    accounts = []
    for a in ids:
        states = w.inspector.setdefault((a, ctx.region), {})
        for t in types:
            current = _status(w, ctx, t, a)
            if enable and current not in ("ENABLED", "ENABLING"):
                states[t] = ("ENABLING", ctx.now)
            elif not enable and current not in ("DISABLED", "DISABLING"):
                states[t] = ("DISABLING", ctx.now)
        res = _resource_status(w, ctx, a)
        accounts.append({"accountId": a, "status": _overall(res), "resourceStatus": res})
    return {"accounts": accounts, "failedAccounts": failed}


def op_enable(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    return _change(w, ctx, p, True)


def op_disable(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    return _change(w, ctx, p, False)


def op_batch_get_account_status(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    ids, failed = _account_ids(w, ctx, p)
    accounts = []
    for a in ids:
        res = _resource_status(w, ctx, a)
        state = {"status": _overall(res), "errorCode": "", "errorMessage": ""}
        resource_state = {k: {"status": v, "errorCode": "", "errorMessage": ""} for k, v in res.items()}
        accounts.append({"accountId": a, "state": state, "resourceState": resource_state})
    return {"accounts": accounts, "failedAccounts": failed}


# ---------------------------------------------------------------------------------------------------
# Organization: the delegated administrator and its members


def _member_json(w: World, account: str) -> dict[str, Any]:
    return {
        "accountId": account,
        "relationshipStatus": "ENABLED",
        "delegatedAdminAccountId": w.scenario.inspector_admin,
        "updatedAt": w.members_since,
    }


def op_get_delegated_admin_account(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    """The organization's administrator, for its members and itself; a standalone account gets no
    `delegatedAdmin` (the field is optional and the API reference documents no error for it)."""
    admin = w.scenario.inspector_admin
    if admin is None or ctx.account not in (admin, *w.scenario.inspector_members()):
        return {}
    return {"delegatedAdmin": {"accountId": admin, "relationshipStatus": "ENABLED"}}


def op_list_members(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    """The administrator's members (all associated: `onlyAssociated` changes nothing); none for others."""
    limit = _max_results(p, 50, 50)
    fp = fingerprint("lm", p.get("onlyAssociated"))
    pos = read_token(p.get("nextToken"), fp, code="ValidationException")
    members = [_member_json(w, a) for a in w.scenario.inspector_members()] if _is_admin(w, ctx) else []
    result: dict[str, Any] = {"members": members[pos : pos + limit]}
    if pos + limit < len(members):
        result["nextToken"] = make_token(pos + limit, fp)
    return result


def op_get_member(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    account = p.get("accountId")
    if not isinstance(account, str) or not _ACCOUNT_ID.fullmatch(account):
        raise _invalid(
            f"1 validation error detected: Value '{account}' at 'accountId' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: \\d{12}"
        )
    if not _is_admin(w, ctx) or account not in w.scenario.inspector_members():
        raise AwsError(
            "ResourceNotFoundException", f"Account {account} is not a member of this delegated administrator.", 404
        )
    return {"member": _member_json(w, account)}


# ---------------------------------------------------------------------------------------------------
# Filters

_STRING_FIELDS: dict[str, Callable[[Finding], str]] = {
    "findingArn": lambda f: f.arn,
    "awsAccountId": lambda f: f.account,
    "findingType": lambda f: "PACKAGE_VULNERABILITY",
    "severity": lambda f: f.severity,
    "findingStatus": lambda f: f.status,
    "title": lambda f: f.spec.title,
    "resourceType": lambda f: f.resource_type,
    "resourceId": lambda f: f.resource_id,
    "vulnerabilityId": lambda f: f.spec.vulnerability_id,
    "vulnerabilitySource": lambda f: "NVD",
    "fixAvailable": lambda f: "YES" if f.spec.fixed_by_patch or f.spec.fixed_in_version else "NO",
    "exploitAvailable": lambda f: "NO",
}
_DATE_FIELDS: dict[str, Callable[[Finding], float]] = {
    "firstObservedAt": lambda f: f.first_observed,
    "lastObservedAt": lambda f: f.last_observed,
    "updatedAt": lambda f: f.updated,
}
_INDEXED = {
    "resourceId": "by_resource",
    "vulnerabilityId": "by_vuln",
    "severity": "by_severity",
    "resourceType": "by_type",
}

Pred = Callable[[Finding], bool]


def _string_pred(name: str, filters: list[Any], get: Callable[[Any], str]) -> Callable[[Any], bool]:
    pos: list[tuple[str, str]] = []
    neg: list[str] = []
    for f in filters:
        if not isinstance(f, dict) or "value" not in f or f.get("comparison") not in ("EQUALS", "PREFIX", "NOT_EQUALS"):
            raise _invalid(f"Invalid filter for {name}: comparison must be EQUALS, PREFIX or NOT_EQUALS")
        if f["comparison"] == "NOT_EQUALS":
            neg.append(f["value"])
        else:
            pos.append((f["comparison"], f["value"]))

    def pred(item: Any) -> bool:
        v = get(item)
        if v in neg:
            return False
        return not pos or any(v == x if c == "EQUALS" else v.startswith(x) for c, x in pos)

    return pred


def _map_pred(name: str, filters: list[Any], get: Callable[[Any], dict[str, str]]) -> Callable[[Any], bool]:
    for f in filters:
        if not isinstance(f, dict) or f.get("comparison") != "EQUALS" or "key" not in f:
            raise _invalid(f"Invalid filter for {name}: comparison must be EQUALS and key is required")

    def pred(item: Any) -> bool:
        tags = get(item)
        return any(f["key"] in tags and ("value" not in f or tags[f["key"]] == f["value"]) for f in filters)

    return pred


def _score(f: Finding) -> float:
    score = f.to_json()["inspectorScore"]
    return float(score) if isinstance(score, int | float) else 0.0


def _range_pred(get: Callable[[Finding], float], ranges: list[tuple[float, float]]) -> Pred:
    def pred(f: Finding) -> bool:
        v = get(f)
        return any(lo <= v <= hi for lo, hi in ranges)

    return pred


def _package_pred(names: list[str | None]) -> Pred:
    def pred(f: Finding) -> bool:
        return any(n is None or f.spec.package == n for n in names)

    return pred


def _metadata_tags(key: str, tag_key: str) -> Callable[[dict[str, Any]], dict[str, str]]:
    def get(c: dict[str, Any]) -> dict[str, str]:
        tags: dict[str, str] = c.get("resourceMetadata", {}).get(key, {}).get(tag_key, {})
        return tags

    return get


def _finding_filters(criteria: object) -> tuple[list[Pred], list[tuple[str, list[str]]]]:
    """Predicates for the filters, and the (index, values) an EQUALS-only indexed field allows."""
    if criteria is None:
        return [], []
    if not isinstance(criteria, dict):
        raise _invalid("filterCriteria must be an object")
    preds: list[Pred] = []
    indexable: list[tuple[str, list[str]]] = []
    for name, filters in criteria.items():
        if not isinstance(filters, list) or not 1 <= len(filters) <= MAX_FILTERS_PER_FIELD:
            raise _invalid(f"filterCriteria.{name} must hold 1 to {MAX_FILTERS_PER_FIELD} filters")
        if name in _STRING_FIELDS:
            preds.append(_string_pred(name, filters, _STRING_FIELDS[name]))
            if name in _INDEXED and all(f.get("comparison") == "EQUALS" for f in filters):
                indexable.append((_INDEXED[name], [f["value"] for f in filters]))
        elif name == "resourceTags":
            preds.append(_map_pred(name, filters, lambda f: f.tags))
        elif name in _DATE_FIELDS:
            get_date = _DATE_FIELDS[name]
            ranges = [(float(f.get("startInclusive", 0)), float(f.get("endInclusive", 1e12))) for f in filters]
            preds.append(_range_pred(get_date, ranges))
        elif name == "inspectorScore":
            nums = [(float(f.get("lowerInclusive", 0)), float(f.get("upperInclusive", 10))) for f in filters]
            preds.append(_range_pred(_score, nums))
        elif name == "vulnerablePackages":
            packages = [(f.get("name") or {}).get("value") for f in filters]
            preds.append(_package_pred(packages))
        else:
            raise _invalid(f"filterCriteria.{name} is not supported by the sandbox")
    return preds, indexable


def _candidates(store: FindingStore, indexable: list[tuple[str, list[str]]]) -> list[int] | None:
    best: list[int] | None = None
    for attr, values in indexable:
        index: dict[str, list[int]] = getattr(store, attr)
        lists = [index.get(v, []) for v in set(values)]
        merged = lists[0] if len(lists) == 1 else sorted({i for lst in lists for i in lst})
        if best is None or len(merged) < len(best):
            best = merged
    return best


def _max_results(p: Params, hi: int, default: int) -> int:
    v = p.get("maxResults", default)
    if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= hi:
        raise _invalid(
            f"1 validation error detected: Value '{v}' at 'maxResults' failed to satisfy constraint: "
            f"Member must have value less than or equal to {hi}"
        )
    return v


_SORT_KEYS: dict[str, Callable[[Finding], Any]] = {
    "SEVERITY": lambda f: _SEV_ORDER.get(f.severity, 9),
    "FIRST_OBSERVED_AT": lambda f: f.first_observed,
    "LAST_OBSERVED_AT": lambda f: f.last_observed,
    "FINDING_STATUS": lambda f: f.status,
    "RESOURCE_TYPE": lambda f: f.resource_type,
    "VULNERABILITY_ID": lambda f: f.spec.vulnerability_id,
    "INSPECTOR_SCORE": _score,
    "AWS_ACCOUNT_ID": lambda f: f.account,
}


# A page token's position: (index of the account's store in the listing) * _STRIDE + index in that store.
# Stores only grow at the end, so a position stays valid while new findings appear between pages.
_STRIDE = 10**12


def _listed_accounts(w: World, ctx: Ctx, criteria: object, field: str) -> list[str]:
    """The caller's scope, narrowed to the accounts an all-EQUALS `field` filter names (no store walked twice
    or for nothing)."""
    accounts = _scope(w, ctx)
    filters = criteria.get(field) if isinstance(criteria, dict) else None
    if (
        isinstance(filters, list)
        and filters
        and all(isinstance(f, dict) and f.get("comparison") == "EQUALS" for f in filters)
    ):
        wanted = {f.get("value") for f in filters}
        accounts = [a for a in accounts if a in wanted]
    return accounts


def op_list_findings(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    limit = _max_results(p, 100, 100)
    criteria = p.get("filterCriteria")
    sort = p.get("sortCriteria")
    preds, indexable = _finding_filters(criteria)
    fp = fingerprint("lf", criteria, sort)
    pos = read_token(p.get("nextToken"), fp, code="ValidationException")
    accounts = _listed_accounts(w, ctx, criteria, "awsAccountId")
    stores = [w.fleet.findings.get((a, ctx.region)) or FindingStore() for a in accounts]
    enabled = {(a, rt): _enabled(w, ctx, rt, a) for a in accounts for rt in _RESOURCE_TO_TYPE}

    def keep(f: Finding) -> bool:
        return enabled.get((f.account, f.resource_type), False) and f.listed(ctx.now) and all(pr(f) for pr in preds)

    out: list[dict[str, Any]] = []
    token: str | None = None
    if sort:
        if (
            not isinstance(sort, dict)
            or sort.get("field") not in _SORT_KEYS
            or sort.get("sortOrder") not in ("ASC", "DESC")
        ):
            raise _invalid("sortCriteria needs a supported field and sortOrder ASC or DESC")
        matched: list[Finding] = []
        for store in stores:
            cand = _candidates(store, indexable)
            items = store.items
            matched += [items[i] for i in (cand if cand is not None else range(len(items))) if keep(items[i])]
        matched.sort(key=_SORT_KEYS[sort["field"]], reverse=sort["sortOrder"] == "DESC")
        out = [f.to_json() for f in matched[pos : pos + limit]]
        if pos + limit < len(matched):
            token = make_token(pos + limit, fp)
    else:
        first, local = divmod(pos, _STRIDE)
        for n in range(first, len(stores)):
            items = stores[n].items
            cand = _candidates(stores[n], indexable)
            seq: list[int] | range = cand if cand is not None else range(len(items))
            k = bisect.bisect_left(seq, local if n == first else 0)
            while k < len(seq) and len(out) < limit:
                f = items[seq[k]]
                k += 1
                if keep(f):
                    out.append(f.to_json())
            if len(out) == limit:
                # Like AWS, a last full page may still carry a token that leads to an empty page.
                if k < len(seq) or n + 1 < len(stores):
                    token = make_token(n * _STRIDE + (seq[k - 1] + 1 if k else 0), fp)
                break
    result: dict[str, Any] = {"findings": out}
    if token:
        result["nextToken"] = token
    return result


# ---------------------------------------------------------------------------------------------------
# Coverage

_PLATFORM = {"Windows": "WINDOWS", "MacOS": "MACOS"}


def _covered_json(w: World, ctx: Ctx, r: CoveredResource) -> dict[str, Any]:
    active = r.not_scanned_reason is None
    out: dict[str, Any] = {
        "resourceType": r.type,
        "resourceId": r.id,
        "accountId": r.account,
        "scanType": "PACKAGE",
        "scanStatus": {
            "statusCode": "ACTIVE" if active else "INACTIVE",
            "reason": "SUCCESSFUL" if active else r.not_scanned_reason,
        },
    }
    if r.type == "AWS_EC2_INSTANCE":
        inst = w.fleet.find_instance(r.account, r.region, r.id)
        platform = "LINUX"
        if inst is not None:
            platform = _PLATFORM.get(inst.platform[0], "LINUX")
        out["resourceMetadata"] = {"ec2": {"tags": r.tags, "platform": platform, "amiId": "ami-0abcdef1234567890"}}
        out["scanMode"] = "EC2_SSM_AGENT_BASED"
        if active and inst is not None and inst.last_scan:
            out["lastScannedAt"] = inst.last_scan
    elif r.type == "AWS_LAMBDA_FUNCTION":
        out["resourceMetadata"] = {"lambdaFunction": {"functionName": r.id.rsplit(":", 1)[-1], "functionTags": r.tags}}
    return out


_COVERAGE_FIELDS: dict[str, Callable[[dict[str, Any]], str]] = {
    "resourceType": lambda c: c["resourceType"],
    "resourceId": lambda c: c["resourceId"],
    "accountId": lambda c: c["accountId"],
    "scanType": lambda c: c["scanType"],
    "scanStatusCode": lambda c: c["scanStatus"]["statusCode"],
    "scanStatusReason": lambda c: c["scanStatus"]["reason"],
    "scanMode": lambda c: c.get("scanMode", ""),
}


def op_list_coverage(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    limit = _max_results(p, 200, 200)
    criteria = p.get("filterCriteria") or {}
    if not isinstance(criteria, dict):
        raise _invalid("filterCriteria must be an object")
    fp = fingerprint("lc", criteria)
    pos = read_token(p.get("nextToken"), fp, code="ValidationException")
    preds: list[Callable[[Any], bool]] = []
    for name, filters in criteria.items():
        if not isinstance(filters, list) or not filters:
            raise _invalid(f"filterCriteria.{name} must be a non-empty list")
        if name in _COVERAGE_FIELDS:
            if any(f.get("comparison") == "PREFIX" for f in filters if isinstance(f, dict)):
                raise _invalid(f"filterCriteria.{name}: comparison must be EQUALS or NOT_EQUALS")
            preds.append(_string_pred(name, filters, _COVERAGE_FIELDS[name]))
        elif name in ("ec2InstanceTags", "lambdaFunctionTags"):
            key = "ec2" if name == "ec2InstanceTags" else "lambdaFunction"
            tag_key = "tags" if key == "ec2" else "functionTags"
            preds.append(_map_pred(name, filters, _metadata_tags(key, tag_key)))
        else:
            raise _invalid(f"filterCriteria.{name} is not supported by the sandbox")
    rows = [
        _covered_json(w, ctx, r)
        for a in _listed_accounts(w, ctx, criteria, "accountId")
        for r in w.fleet.coverage.get((a, ctx.region), [])
        if _enabled(w, ctx, r.type, a)
    ]
    rows = [c for c in rows if all(pr(c) for pr in preds)]
    chunk = rows[pos : pos + limit]
    result: dict[str, Any] = {"coveredResources": chunk}
    if pos + limit < len(rows):
        result["nextToken"] = make_token(pos + limit, fp)
    return result


# ---------------------------------------------------------------------------------------------------
# Aggregations (ACCOUNT and AWS_EC2_INSTANCE)


def _counts(findings: list[Finding]) -> dict[str, int]:
    out = {"all": len(findings), "critical": 0, "high": 0, "medium": 0, "low": 0, "informational": 0, "untriaged": 0}
    for f in findings:
        out[f.severity.lower()] += 1
    return out


def op_list_finding_aggregations(w: World, ctx: Ctx, p: Params) -> dict[str, Any]:
    atype = p.get("aggregationType")
    limit = _max_results(p, 100, 100)
    account_filters = p.get("accountIds")
    fp = fingerprint("lfa", atype, p.get("aggregationRequest"), account_filters)
    pos = read_token(p.get("nextToken"), fp, code="ValidationException")
    accounts = _scope(w, ctx)
    if account_filters is not None:
        if not isinstance(account_filters, list) or not 1 <= len(account_filters) <= 10:
            raise _invalid("accountIds must hold 1 to 10 filters")
        want = _string_pred("accountIds", account_filters, lambda a: a)
        accounts = [a for a in accounts if want(a)]
    active: dict[str, list[Finding]] = {}
    for a in accounts:
        store = w.fleet.findings.get((a, ctx.region)) or FindingStore()
        active[a] = [f for f in store.items if f.status == "ACTIVE" and _enabled(w, ctx, f.resource_type, a)]
    rows: list[dict[str, Any]]
    if atype == "ACCOUNT":
        rows = [
            {
                "accountAggregation": {
                    "accountId": a,
                    "severityCounts": _counts(fs),
                    "fixAvailableCount": sum(1 for f in fs if f.spec.fixed_by_patch or f.spec.fixed_in_version),
                    "exploitAvailableCount": 0,
                }
            }
            for a, fs in active.items()
        ]
    elif atype == "AWS_EC2_INSTANCE":
        by_instance: dict[tuple[str, str], list[Finding]] = {}
        for fs in active.values():
            for f in fs:
                if f.resource_type == "AWS_EC2_INSTANCE":
                    by_instance.setdefault((f.account, f.resource_id), []).append(f)
        rows = []
        for (acct, iid), fs in by_instance.items():
            inst = w.fleet.find_instance(acct, ctx.region, iid)
            rows.append(
                {
                    "ec2InstanceAggregation": {
                        "instanceId": iid,
                        "accountId": acct,
                        "instanceTags": inst.tags if inst else {},
                        "operatingSystem": inst.os if inst else "",
                        "severityCounts": _counts(fs),
                        "networkFindings": 0,
                    }
                }
            )
    else:
        raise _invalid(f"aggregationType {atype} is not supported by the sandbox (ACCOUNT, AWS_EC2_INSTANCE)")
    result: dict[str, Any] = {"aggregationType": atype, "responses": rows[pos : pos + limit]}
    if pos + limit < len(rows):
        result["nextToken"] = make_token(pos + limit, fp)
    return result


# rest-json routes: (method, path) → operation
ROUTES: dict[tuple[str, str], str] = {
    ("POST", "/enable"): "Enable",
    ("POST", "/disable"): "Disable",
    ("POST", "/status/batch/get"): "BatchGetAccountStatus",
    ("POST", "/findings/list"): "ListFindings",
    ("POST", "/coverage/list"): "ListCoverage",
    ("POST", "/findings/aggregation/list"): "ListFindingAggregations",
    ("POST", "/delegatedadminaccounts/get"): "GetDelegatedAdminAccount",
    ("POST", "/members/list"): "ListMembers",
    ("POST", "/members/get"): "GetMember",
}
OPS: dict[str, Handler] = {
    "Enable": op_enable,
    "Disable": op_disable,
    "BatchGetAccountStatus": op_batch_get_account_status,
    "ListFindings": op_list_findings,
    "ListCoverage": op_list_coverage,
    "ListFindingAggregations": op_list_finding_aggregations,
    "GetDelegatedAdminAccount": op_get_delegated_admin_account,
    "ListMembers": op_list_members,
    "GetMember": op_get_member,
}
