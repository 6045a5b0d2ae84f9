"""Amazon Inspector (inspector2): enablement, list_findings with filterCriteria and real pagination,
list_coverage and aggregations."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from sreops.sandbox.aws.server import AwsSandbox

from .conftest import LAB, PROD, ClientFactory, _hex


def _all(insp: object, **kw: object) -> list[dict[str, object]]:
    pages = insp.get_paginator("list_findings").paginate(**kw)  # type: ignore[attr-defined]
    return [f for p in pages for f in p["findings"]]


def _expected(sandbox: AwsSandbox, account: str, region: str) -> list[tuple[str, str]]:
    return [
        (i.id, f.vulnerability_id)
        for i in sandbox.scenario.instances
        if i.account == account and i.region == region
        for f in i.findings
    ]


def test_pagination_walks_every_finding_once(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """maxResults ≤ 100 per page and an opaque nextToken until the last page: every finding once."""
    insp = client("inspector2", account=PROD)
    found = _all(insp, PaginationConfig={"PageSize": 7})
    assert len(found) == len({f["findingArn"] for f in found})
    got = sorted((f["resources"][0]["id"], f["packageVulnerabilityDetails"]["vulnerabilityId"]) for f in found)
    assert got == sorted(_expected(sandbox, PROD, "us-west-2"))
    f = found[0]
    assert f["type"] == "PACKAGE_VULNERABILITY" and f["awsAccountId"] == PROD
    assert f["resources"][0]["type"] == "AWS_EC2_INSTANCE" and f["severity"] in (
        "CRITICAL",
        "HIGH",
        "MEDIUM",
        "LOW",
        "INFORMATIONAL",
    )


def test_max_results_and_token_validation(client: ClientFactory) -> None:
    """maxResults over 100 and a token used with other filters are 400 ValidationException."""
    insp = client("inspector2", account=PROD)
    with pytest.raises(ClientError) as e:
        insp.list_findings(maxResults=101)
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    token = insp.list_findings(maxResults=5)["nextToken"]
    with pytest.raises(ClientError) as e:
        insp.list_findings(
            maxResults=5, nextToken=token, filterCriteria={"severity": [{"comparison": "EQUALS", "value": "HIGH"}]}
        )
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_filter_criteria(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """EQUALS values of one field are ORed, NOT_EQUALS excludes, fields are ANDed; severity, resourceId,
    resourceType, findingStatus, resourceTags and vulnerabilityId filter server-side."""
    insp = client("inspector2", account=PROD)
    spec = sandbox.scenario
    inst = next(i for i in spec.instances if i.account == PROD and i.region == "us-west-2" and len(i.findings) > 3)
    by_res = _all(insp, filterCriteria={"resourceId": [{"comparison": "EQUALS", "value": inst.id}]})
    assert len(by_res) == len(inst.findings)
    high = _all(
        insp,
        filterCriteria={
            "severity": [{"comparison": "EQUALS", "value": "HIGH"}, {"comparison": "EQUALS", "value": "CRITICAL"}]
        },
    )
    assert high and {f["severity"] for f in high} <= {"HIGH", "CRITICAL"}
    assert len(high) == sum(1 for _, v in _expected(sandbox, PROD, "us-west-2") if v) - len(
        _all(
            insp,
            filterCriteria={
                "severity": [
                    {"comparison": "NOT_EQUALS", "value": "HIGH"},
                    {"comparison": "NOT_EQUALS", "value": "CRITICAL"},
                ]
            },
        )
    )
    role = inst.tags["Role"]
    tagged = _all(
        insp,
        filterCriteria={
            "resourceTags": [{"comparison": "EQUALS", "key": "Role", "value": role}],
            "resourceType": [{"comparison": "EQUALS", "value": "AWS_EC2_INSTANCE"}],
            "findingStatus": [{"comparison": "EQUALS", "value": "ACTIVE"}],
        },
    )
    assert tagged and all(f["resources"][0]["tags"]["Role"] == role for f in tagged)
    cve = inst.findings[0].vulnerability_id
    by_cve = _all(insp, filterCriteria={"vulnerabilityId": [{"comparison": "EQUALS", "value": cve}]})
    assert by_cve and all(f["packageVulnerabilityDetails"]["vulnerabilityId"] == cve for f in by_cve)
    with pytest.raises(ClientError) as e:
        insp.list_findings(filterCriteria={"severity": [{"comparison": "ABOUT", "value": "HIGH"}]})
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_sorted_listing(client: ClientFactory) -> None:
    """sortCriteria SEVERITY DESC puts CRITICAL first, across pages."""
    insp = client("inspector2", account=PROD)
    found = _all(insp, sortCriteria={"field": "SEVERITY", "sortOrder": "ASC"}, PaginationConfig={"PageSize": 50})
    order = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL"]
    ranks = [order.index(str(f["severity"])) for f in found]
    assert ranks == sorted(ranks)


def test_enablement_per_resource_type(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """Enable/Disable per resource type go through ENABLING/DISABLING; BatchGetAccountStatus reports
    each type; findings of a disabled type are not listed; other accounts → failedAccounts."""
    insp = client("inspector2", account=LAB, region="us-east-1")
    st = insp.batch_get_account_status()["accounts"][0]
    assert st["resourceState"]["ec2"]["status"] == "ENABLED" and st["resourceState"]["ecr"]["status"] == "DISABLED"
    out = insp.enable(resourceTypes=["ECR", "LAMBDA"])
    assert out["accounts"][0]["resourceStatus"]["ecr"] == "ENABLING"
    sandbox.advance(5)
    st = insp.batch_get_account_status(accountIds=[LAB, PROD])
    assert st["accounts"][0]["resourceState"]["lambda"]["status"] == "ENABLED"
    assert st["failedAccounts"][0]["accountId"] == PROD
    lab_west = client("inspector2", account=LAB)
    assert _all(lab_west)
    lab_west.disable(resourceTypes=["EC2"])
    sandbox.advance(5)
    assert _all(lab_west) == []
    lab_west.enable(resourceTypes=["EC2"])
    sandbox.advance(5)
    assert _all(lab_west)


def test_coverage(client: ClientFactory) -> None:
    """ListCoverage: every resource with its scan status; unscannable ones say why; maxResults ≤ 200."""
    insp = client("inspector2", account=LAB)
    pages = insp.get_paginator("list_coverage").paginate(PaginationConfig={"PageSize": 5})
    rows = [r for p in pages for r in p["coveredResources"]]
    by_id = {r["resourceId"]: r for r in rows}
    assert by_id[_hex(99)]["scanStatus"] == {"statusCode": "INACTIVE", "reason": "UNMANAGED_EC2_INSTANCE"}
    assert by_id[_hex(1)]["scanStatus"]["statusCode"] == "ACTIVE"
    one = insp.list_coverage(filterCriteria={"resourceId": [{"comparison": "EQUALS", "value": _hex(1)}]})
    assert [r["resourceId"] for r in one["coveredResources"]] == [_hex(1)]
    with pytest.raises(ClientError) as e:
        insp.list_coverage(maxResults=201)
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_aggregations(client: ClientFactory, sandbox: AwsSandbox) -> None:
    """ListFindingAggregations ACCOUNT counts active findings by severity."""
    insp = client("inspector2", account=PROD)
    agg = insp.list_finding_aggregations(aggregationType="ACCOUNT")["responses"][0]["accountAggregation"]
    active = _all(insp, filterCriteria={"findingStatus": [{"comparison": "EQUALS", "value": "ACTIVE"}]})
    assert agg["severityCounts"]["all"] == len(active)
    per_instance = insp.list_finding_aggregations(aggregationType="AWS_EC2_INSTANCE")["responses"]
    assert sum(r["ec2InstanceAggregation"]["severityCounts"]["all"] for r in per_instance) == len(active)


def test_at_most_ten_filters_per_field(client: ClientFactory) -> None:
    """Inspector's FilterCriteria lists hold 1 to 10 filters each; 11 is a 400 ValidationException."""
    insp = client("inspector2", account=PROD)
    ids = [{"comparison": "EQUALS", "value": f"i-{n:017x}"} for n in range(11)]
    insp.list_findings(filterCriteria={"resourceId": ids[:10]})
    with pytest.raises(ClientError) as e:
        insp.list_findings(filterCriteria={"resourceId": ids})
    assert e.value.response["Error"]["Code"] == "ValidationException"
