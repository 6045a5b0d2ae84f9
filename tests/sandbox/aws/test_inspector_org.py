"""Amazon Inspector in an AWS Organizations setup: the scenario's security account (SECURITY_ACCOUNT) is the
delegated administrator of every other account but OUTSIDER (conftest).

Real Inspector (docs.aws.amazon.com/inspector/latest/user/admin-member-relationship): the delegated
administrator "can view and retrieve information for their own account and any associated member": it views
and manages the status of Inspector for associated accounts (activating and deactivating), views finding
details for all members and resource coverage for the organization. A member sees its own account only.
BatchGetAccountStatus, Enable and Disable take at most 100 accountIds (API reference, "Array Members: Minimum
number of 0 items. Maximum number of 100 items", pattern \\d{12}); ListMembers takes maxResults 1-50.
Routes (botocore's inspector2 model): POST /delegatedadminaccounts/get, /members/list, /members/get.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sreops.sandbox.aws.scenario import HOME_ACCOUNT, SECURITY_ACCOUNT
from sreops.sandbox.aws.server import AwsSandbox

from .conftest import LAB, OUTSIDER, PROD, REGION, SCAN, STAGING, ClientFactory, _hex


def _insp(client: ClientFactory, account: str) -> Any:
    return client("inspector2", account=None if account == HOME_ACCOUNT else account)


def _findings(insp: Any, page: int = 100, **kw: Any) -> list[dict[str, Any]]:
    pages = insp.get_paginator("list_findings").paginate(PaginationConfig={"PageSize": page}, **kw)
    return [f for p in pages for f in p["findings"]]


def _coverage(insp: Any, **kw: Any) -> list[dict[str, Any]]:
    pages = insp.get_paginator("list_coverage").paginate(**kw)
    return [r for p in pages for r in p["coveredResources"]]


def _equals(*values: str) -> list[dict[str, str]]:
    return [{"comparison": "EQUALS", "value": v} for v in values]


def _code(e: pytest.ExceptionInfo[ClientError]) -> str:
    return str(e.value.response["Error"]["Code"])


def _members(sandbox: AwsSandbox) -> list[str]:
    return sandbox.scenario.inspector_members()


def test_scenario_organization(sandbox: AwsSandbox) -> None:
    members = _members(sandbox)
    assert sandbox.scenario.inspector_admin == SECURITY_ACCOUNT
    assert {PROD, STAGING, HOME_ACCOUNT, LAB, SCAN} == set(members) and OUTSIDER not in members


def test_admin_lists_its_own_and_its_members_findings(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """The administrator's ListFindings spans its members' findings in the region (pages across accounts, each
    finding once, awsAccountId the member's), exactly what each member lists itself; OUTSIDER's are not in it."""
    admin = _findings(_insp(client, SECURITY_ACCOUNT), page=37)
    arns = [f["findingArn"] for f in admin]
    assert len(arns) == len(set(arns))
    by_account: dict[str, set[str]] = {}
    for f in admin:
        by_account.setdefault(f["awsAccountId"], set()).add(f["findingArn"])
        assert f["findingArn"].split(":")[4] == f["awsAccountId"]
    for member in _members(sandbox):
        own = {f["findingArn"] for f in _findings(_insp(client, member))}
        assert by_account.pop(member, set()) == own, member
    assert by_account == {}  # nothing of OUTSIDER (nor of any other account)
    assert {PROD, STAGING, HOME_ACCOUNT, LAB, SCAN} <= {f["awsAccountId"] for f in admin}


def test_account_filter_narrows_the_admin_listing(client: ClientFactory) -> None:
    """awsAccountId EQUALS (values ORed) lists those members only, NOT_EQUALS drops one; an account outside the
    organization matches nothing."""
    insp = _insp(client, SECURITY_ACCOUNT)
    two = _findings(insp, filterCriteria={"awsAccountId": _equals(PROD, LAB)})
    own = {f["findingArn"] for a in (PROD, LAB) for f in _findings(_insp(client, a))}
    assert {f["findingArn"] for f in two} == own and {f["awsAccountId"] for f in two} == {PROD, LAB}
    not_prod = _findings(insp, filterCriteria={"awsAccountId": [{"comparison": "NOT_EQUALS", "value": PROD}]})
    assert not_prod and PROD not in {f["awsAccountId"] for f in not_prod}
    assert _findings(insp, filterCriteria={"awsAccountId": _equals(OUTSIDER)}) == []
    high_lab = _findings(
        insp,
        filterCriteria={"awsAccountId": _equals(LAB), "severity": _equals("CRITICAL"), "resourceId": _equals(_hex(3))},
    )
    assert [(f["awsAccountId"], f["resources"][0]["id"]) for f in high_lab] == [(LAB, _hex(3))]


def test_pages_stay_valid_while_earlier_accounts_gain_findings(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """A page token names a place in one account's findings: a finding published meanwhile in an account
    already paged through does not shift the rest (no finding twice, none skipped)."""
    insp = _insp(client, SECURITY_ACCOUNT)
    before = {f["findingArn"] for f in _findings(insp)}
    seen: list[str] = []
    page = insp.list_findings(maxResults=5)
    published = False
    while True:
        seen += [f["findingArn"] for f in page["findings"]]
        if not published and any(f["awsAccountId"] == SCAN for f in page["findings"]) and "nextToken" in page:
            sandbox.publish_finding(LAB, REGION, _hex(4), "CVE-2026-0404", "MEDIUM", package="libpaging")
            published = True
        if "nextToken" not in page:
            break
        page = insp.list_findings(maxResults=5, nextToken=page["nextToken"])
    assert published
    assert len(seen) == len(set(seen)) and set(seen) == before


def test_member_sees_only_its_own(client: ClientFactory) -> None:
    """A member's ListFindings, ListCoverage and aggregations hold its own account only, even when it asks for
    another member's by awsAccountId."""
    prod = _insp(client, PROD)
    assert {f["awsAccountId"] for f in _findings(prod)} == {PROD}
    assert _findings(prod, filterCriteria={"awsAccountId": _equals(STAGING)}) == []
    assert {r["accountId"] for r in _coverage(prod)} == {PROD}
    rows = prod.list_finding_aggregations(aggregationType="ACCOUNT")["responses"]
    assert [r["accountAggregation"]["accountId"] for r in rows] == [PROD]
    outsider = _insp(client, OUTSIDER)
    assert {f["awsAccountId"] for f in _findings(outsider)} == {OUTSIDER}


def test_admin_coverage_and_aggregations(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """ListCoverage spans the members (accountId filter narrows it to one, the same rows it lists itself);
    ListFindingAggregations ACCOUNT gives one row per account with that account's own counts, and its
    accountIds filter picks accounts; AWS_EC2_INSTANCE rows carry each instance's account."""
    insp = _insp(client, SECURITY_ACCOUNT)
    rows = _coverage(insp, PaginationConfig={"PageSize": 50})
    assert {r["accountId"] for r in rows} == {PROD, STAGING, HOME_ACCOUNT, LAB, SCAN}
    lab = _coverage(insp, filterCriteria={"accountId": _equals(LAB)})
    assert sorted(r["resourceId"] for r in lab) == sorted(r["resourceId"] for r in _coverage(_insp(client, LAB)))
    agg = insp.list_finding_aggregations(aggregationType="ACCOUNT")["responses"]
    counts = {r["accountAggregation"]["accountId"]: r["accountAggregation"]["severityCounts"] for r in agg}
    assert set(counts) == {SECURITY_ACCOUNT, *_members(sandbox)}
    for member in (PROD, LAB):
        own = _insp(client, member).list_finding_aggregations(aggregationType="ACCOUNT")["responses"]
        assert counts[member] == own[0]["accountAggregation"]["severityCounts"]
    one = insp.list_finding_aggregations(aggregationType="ACCOUNT", accountIds=_equals(STAGING))["responses"]
    assert [r["accountAggregation"]["accountId"] for r in one] == [STAGING]
    per_instance = insp.list_finding_aggregations(aggregationType="AWS_EC2_INSTANCE", maxResults=100)["responses"]
    accts = Counter(r["ec2InstanceAggregation"]["accountId"] for r in per_instance)
    assert accts[PROD] and accts[LAB] and not accts[OUTSIDER]


def test_admin_manages_members_enablement(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """BatchGetAccountStatus, Enable and Disable with members' accountIds act on each member's own state; an
    account outside the organization → failedAccounts ACCESS_DENIED; a member cannot act on the administrator
    or another member."""
    admin = _insp(client, SECURITY_ACCOUNT)
    st = admin.batch_get_account_status(accountIds=[PROD, SCAN, OUTSIDER, "000000000000"])
    assert [a["accountId"] for a in st["accounts"]] == [PROD, SCAN]
    assert [(f["accountId"], f["errorCode"]) for f in st["failedAccounts"]] == [
        (OUTSIDER, "ACCESS_DENIED"),
        ("000000000000", "ACCESS_DENIED"),
    ]
    assert st["accounts"][1]["resourceState"]["lambda"]["status"] == "ENABLED"  # SCAN's own setting
    assert st["accounts"][0]["resourceState"]["lambda"]["status"] == "DISABLED"

    out = admin.enable(accountIds=[STAGING, OUTSIDER], resourceTypes=["ECR"])
    assert [(a["accountId"], a["resourceStatus"]["ecr"]) for a in out["accounts"]] == [(STAGING, "ENABLING")]
    assert out["failedAccounts"][0]["accountId"] == OUTSIDER
    sandbox.advance(5)
    staging = _insp(client, STAGING)
    assert staging.batch_get_account_status()["accounts"][0]["resourceState"]["ecr"]["status"] == "ENABLED"
    mine = admin.batch_get_account_status()["accounts"][0]
    assert mine["accountId"] == SECURITY_ACCOUNT and mine["resourceState"]["ecr"]["status"] == "DISABLED"
    admin.disable(accountIds=[STAGING], resourceTypes=["ECR"])
    sandbox.advance(5)
    assert staging.batch_get_account_status()["accounts"][0]["resourceState"]["ecr"]["status"] == "DISABLED"

    failed = staging.batch_get_account_status(accountIds=[STAGING, SECURITY_ACCOUNT, PROD])
    assert [a["accountId"] for a in failed["accounts"]] == [STAGING]
    assert {f["accountId"] for f in failed["failedAccounts"]} == {SECURITY_ACCOUNT, PROD}
    assert staging.enable(accountIds=[PROD], resourceTypes=["ECR"])["failedAccounts"][0]["errorCode"] == "ACCESS_DENIED"


def test_account_ids_limits(client: ClientFactory) -> None:
    """More than 100 accountIds, or one that is not 12 digits, is a ValidationException (400)."""
    admin = _insp(client, SECURITY_ACCOUNT)
    many = [f"{100000000000 + n}" for n in range(101)]
    assert len(admin.batch_get_account_status(accountIds=many[:100])["failedAccounts"]) == 100
    for call in (
        lambda ids: admin.batch_get_account_status(accountIds=ids),
        lambda ids: admin.enable(accountIds=ids, resourceTypes=["EC2"]),
        lambda ids: admin.disable(accountIds=ids, resourceTypes=["EC2"]),
    ):
        for ids in (many, ["12345678901x"]):
            with pytest.raises(ClientError) as e:
                call(ids)
            assert _code(e) == "ValidationException"
            assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_delegated_admin_and_members(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """GetDelegatedAdminAccount: a member (and the administrator itself) gets the administrator with
    relationshipStatus ENABLED; a standalone account gets no `delegatedAdmin` (the API reference documents no
    error for it and the field is optional). ListMembers (admin): its members, all ENABLED and pointing at it,
    paginated (maxResults 1-50); GetMember: one of them, ResourceNotFoundException for any other account; a
    non-administrator has no members."""
    expected = {"accountId": SECURITY_ACCOUNT, "relationshipStatus": "ENABLED"}
    for account in (PROD, HOME_ACCOUNT, SECURITY_ACCOUNT):
        assert _insp(client, account).get_delegated_admin_account()["delegatedAdmin"] == expected
    assert "delegatedAdmin" not in _insp(client, OUTSIDER).get_delegated_admin_account()

    admin = _insp(client, SECURITY_ACCOUNT)
    pages = list(admin.get_paginator("list_members").paginate(PaginationConfig={"PageSize": 2}))
    assert len(pages) > 1
    members = [m for p in pages for m in p["members"]]
    assert [m["accountId"] for m in members] == _members(sandbox)
    assert {(m["relationshipStatus"], m["delegatedAdminAccountId"]) for m in members} == {("ENABLED", SECURITY_ACCOUNT)}
    assert all(isinstance(m["updatedAt"], datetime) for m in members)
    assert admin.list_members(onlyAssociated=True)["members"] == admin.list_members(onlyAssociated=False)["members"]
    assert admin.get_member(accountId=LAB)["member"] == next(m for m in members if m["accountId"] == LAB)
    for other in (OUTSIDER, SECURITY_ACCOUNT):
        with pytest.raises(ClientError) as e:
            admin.get_member(accountId=other)
        assert _code(e) == "ResourceNotFoundException"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as e:
        admin.list_members(maxResults=51)
    assert _code(e) == "ValidationException"

    prod = _insp(client, PROD)
    assert prod.list_members()["members"] == []
    with pytest.raises(ClientError) as e:
        prod.get_member(accountId=STAGING)
    assert _code(e) == "ResourceNotFoundException"
