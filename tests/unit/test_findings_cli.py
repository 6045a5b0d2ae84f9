"""`sreops findings`: which findings are shown (scope tags, --severity, --new, suppressions by AWS's clock)
and how (table sorted like topFindings with a count line, json and csv streamed)."""

from __future__ import annotations

import argparse
import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sreops import cli, findings_cli, kubeconfig
from sreops.findings_cli import CliError, Filters, Row, Selection
from sreops.operator.accounts import Placement
from sreops.operator.api import ScanScheduleSpec
from sreops.operator.api.scanschedule import Suppression
from sreops.operator.aws.clients import OWN_CREDENTIALS
from sreops.operator.scanning.scope import Scope

AWS_NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
ACCOUNT = "111122223333"
SCOPE = Scope(resource_types=("EC2",), accounts=(ACCOUNT,), tags=(("Env", "prod"), ("Role", "db")))
PROD_DB = {"Env": "prod", "Role": "db"}


def finding(
    n: int,
    severity: str = "HIGH",
    vuln: str | None = None,
    resource: str | None = None,
    first: datetime | None = None,
    tags: dict[str, str] | None = None,
    title: str | None = None,
) -> dict[str, Any]:
    """A finding as boto3 returns it (timestamps parsed to datetimes)."""
    return {
        "findingArn": f"arn:aws:inspector2:us-west-2:{ACCOUNT}:finding/{n:040x}",
        "awsAccountId": ACCOUNT,
        "severity": severity,
        "status": "ACTIVE",
        "title": title if title is not None else f"CVE-2025-{n:04d} - openssl",
        "firstObservedAt": first or AWS_NOW - DAY,
        "resources": [{"id": resource or f"i-{n:017x}", "type": "AWS_EC2_INSTANCE", "tags": tags or PROD_DB}],
        "packageVulnerabilityDetails": {"vulnerabilityId": vuln or f"CVE-2025-{n:04d}"},
    }


class Clock:
    def __init__(self) -> None:
        self.reads = 0

    def __call__(self) -> datetime:
        self.reads += 1
        return AWS_NOW


def selection(filters: Filters | None = None, suppressions: list[Suppression] | None = None) -> Selection:
    return Selection(filters or Filters(), suppressions or [], Clock())


def suppression(vuln: str, resource: str | None = None, expires: date | None = None) -> Suppression:
    return Suppression(vulnerability_id=vuln, resource=resource, reason="tested", expires=expires)


def rows(sel: Selection, findings: list[dict[str, Any]]) -> list[Row]:
    return list(sel.rows(findings, SCOPE, "us-west-2"))


# -- selection ------------------------------------------------------------------------------------------------


def test_only_resources_carrying_every_target_tag_are_listed() -> None:
    listed = [finding(1), finding(2, tags={"Env": "prod", "Role": "web"}), finding(3, tags={"Env": "prod"})]
    assert [r.vulnerability_id for r in rows(selection(), listed)] == ["CVE-2025-0001"]


@pytest.mark.parametrize(
    ("threshold", "kept"),
    [
        ("CRITICAL", ["CRITICAL"]),
        ("HIGH", ["CRITICAL", "HIGH"]),
        ("LOW", ["CRITICAL", "HIGH", "MEDIUM", "LOW"]),
        ("INFORMATIONAL", ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNTRIAGED"]),
    ],
)
def test_severity_keeps_at_or_above_with_untriaged_as_informational(threshold: str, kept: list[str]) -> None:
    levels = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNTRIAGED"]
    listed = [finding(n, severity=s) for n, s in enumerate(levels)]
    assert [r.severity for r in rows(selection(Filters(min_severity=threshold)), listed)] == kept


def test_new_keeps_findings_first_observed_after_the_last_scan() -> None:
    last_scan = AWS_NOW - DAY
    listed = [finding(1, first=last_scan - timedelta(seconds=1)), finding(2, first=last_scan), finding(3)]
    listed[2]["firstObservedAt"] = last_scan + timedelta(seconds=1)
    assert [r.vulnerability_id for r in rows(selection(Filters(new_after=last_scan)), listed)] == ["CVE-2025-0003"]


def test_suppressions_hide_by_vulnerability_and_resource_and_are_counted() -> None:
    suppressions = [suppression("CVE-2025-0001"), suppression("CVE-2025-0002", resource="i-one")]
    listed = [
        finding(1, resource="i-one"),
        finding(1, resource="i-two"),
        finding(2, resource="i-one"),
        finding(2, resource="i-two"),
        finding(3),
    ]
    sel = selection(suppressions=suppressions)
    shown = rows(sel, listed)
    assert [(r.vulnerability_id, r.resource) for r in shown] == [
        ("CVE-2025-0002", "i-two"),
        ("CVE-2025-0003", listed[4]["resources"][0]["id"]),
    ]
    assert sel.suppressed == 3


def test_suppression_expiry_is_checked_by_aws_clock_read_once() -> None:
    # AWS's clock says 2026-01-05: the one expiring on 2026-01-05 has expired, the one on the 6th has not.
    suppressions = [
        suppression("CVE-2025-0001", expires=date(2026, 1, 5)),
        suppression("CVE-2025-0002", expires=date(2026, 1, 6)),
    ]
    sel = selection(suppressions=suppressions)
    shown = rows(sel, [finding(1), finding(2), finding(3)])
    assert [r.vulnerability_id for r in shown] == ["CVE-2025-0001", "CVE-2025-0003"]
    assert [e.vulnerability_id for e in sel.expired()] == ["CVE-2025-0001"]
    assert isinstance(sel.now, Clock)
    assert sel.now.reads == 1


def test_clock_is_not_read_before_a_finding_has_arrived() -> None:
    sel = selection(suppressions=[suppression("CVE-2025-0001")])
    assert rows(sel, []) == []
    assert isinstance(sel.now, Clock)
    assert sel.now.reads == 0


def test_show_suppressed_marks_them_and_filters_apply_before_counting() -> None:
    sel = selection(Filters(min_severity="HIGH", show_suppressed=True), [suppression("CVE-2025-0001")])
    shown = rows(sel, [finding(1), finding(1, severity="LOW", resource="i-low"), finding(2)])
    assert [(r.vulnerability_id, r.suppressed) for r in shown] == [("CVE-2025-0001", True), ("CVE-2025-0002", False)]
    assert sel.suppressed == 1  # the LOW one is below --severity: neither shown nor counted


# -- output ---------------------------------------------------------------------------------------------------


def test_table_is_sorted_like_top_findings_and_ends_with_the_count() -> None:
    old, new = AWS_NOW - 3 * DAY, AWS_NOW - DAY
    listed = [
        finding(1, severity="LOW", first=old),
        finding(2, severity="CRITICAL", first=new),
        finding(3, severity="UNTRIAGED", first=old),
        finding(4, severity="CRITICAL", first=old),
        finding(5, severity="INFORMATIONAL", first=new),
        finding(6, severity="HIGH", first=new, title="x" * 300),
        finding(7),
    ]
    sel = selection(suppressions=[suppression("CVE-2025-0007")])
    out = io.StringIO()
    assert findings_cli.write_table(sel.rows(listed, SCOPE, "us-west-2"), out, sel) == 6
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["SEVERITY", "VULNERABILITY", "RESOURCE", "ACCOUNT", "REGION", "FIRST", "SEEN", "TITLE"]
    assert [line.split()[1] for line in lines[1:7]] == [
        "CVE-2025-0004",
        "CVE-2025-0002",
        "CVE-2025-0006",
        "CVE-2025-0001",
        "CVE-2025-0005",
        "CVE-2025-0003",
    ]
    assert lines[1].split()[2:6] == [listed[3]["resources"][0]["id"], ACCOUNT, "us-west-2", "2026-01-02T12:00:00Z"]
    assert lines[3].endswith("  " + "x" * 97 + "...")
    assert lines[7:] == ["6 findings (1 suppressed hidden)"]


def test_table_of_nothing_is_the_count_line_and_names_expired_suppressions() -> None:
    sel = selection(suppressions=[suppression("CVE-2024-3094", resource="i-abc", expires=date(2026, 1, 1))])
    out = io.StringIO()
    findings_cli.write_table(iter([]), out, sel)
    assert out.getvalue().splitlines() == [
        "0 findings (0 suppressed hidden)",
        "expired suppressions, whose findings count again: CVE-2024-3094 on i-abc (2026-01-01)",
    ]


def test_table_with_suppressed_shown_has_the_column() -> None:
    sel = selection(Filters(show_suppressed=True), [suppression("CVE-2025-0001")])
    out = io.StringIO()
    findings_cli.write_table(sel.rows([finding(1), finding(2, severity="LOW")], SCOPE, "us-west-2"), out, sel)
    lines = out.getvalue().splitlines()
    assert lines[0].split()[-2:] == ["SUPPRESSED", "TITLE"]
    assert [line.split()[-4] for line in lines[1:3]] == ["yes", "no"]
    assert lines[-1] == "2 findings (1 of them suppressed)"


@pytest.mark.parametrize("count", [0, 1, 3])
def test_json_is_a_streamed_list_of_camel_case_objects(count: int) -> None:
    out = io.StringIO()
    sel = selection()
    assert findings_cli.write_json(sel.rows([finding(n) for n in range(count)], SCOPE, "us-west-2"), out) == count
    got = json.loads(out.getvalue())
    assert len(got) == count
    if count:
        assert got[0] == {
            "severity": "HIGH",
            "vulnerabilityId": "CVE-2025-0000",
            "resource": "i-00000000000000000",
            "account": ACCOUNT,
            "region": "us-west-2",
            "firstObserved": "2026-01-04T12:00:00Z",
            "title": "CVE-2025-0000 - openssl",
            "findingArn": f"arn:aws:inspector2:us-west-2:{ACCOUNT}:finding/{0:040x}",
            "suppressed": False,
        }


def test_json_streams_in_listing_order() -> None:
    def listing() -> Iterator[dict[str, Any]]:
        yield finding(1, severity="LOW")
        # The first object is written before the next finding is even listed.
        assert '"CVE-2025-0001"' in out.getvalue()
        yield finding(2, severity="CRITICAL")

    out = io.StringIO()
    findings_cli.write_json(selection().rows(listing(), SCOPE, "us-west-2"), out)
    assert [f["severity"] for f in json.loads(out.getvalue())] == ["LOW", "CRITICAL"]


def test_csv_has_a_header_and_whole_titles() -> None:
    out = io.StringIO()
    title = 'openssl, "quoted", ' + "y" * 200
    findings_cli.write_csv(selection().rows([finding(1, title=title)], SCOPE, "us-west-2"), out, False)
    header, row = list(csv.reader(io.StringIO(out.getvalue())))
    assert header == ["SEVERITY", "VULNERABILITY", "RESOURCE", "ACCOUNT", "REGION", "FIRST SEEN", "TITLE"]
    assert row[:2] == ["HIGH", "CVE-2025-0001"]
    assert row[5:] == ["2026-01-04T12:00:00Z", title]


# -- listing and errors ---------------------------------------------------------------------------------------


class FailingPaginator:
    def paginate(self, **_: Any) -> Iterator[dict[str, Any]]:
        yield {"findings": [finding(1)]}
        error = {"Code": "AccessDeniedException", "Message": "User is not authorized\nto ListFindings"}
        raise ClientError({"Error": error}, "ListFindings")


class FakeFactory:
    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    def client(self, service: str, region: str, access: Any) -> Any:
        self.asked.append((service, region))
        factory = self

        class Client:
            def get_paginator(self, name: str) -> FailingPaginator:
                assert (name, factory) == ("list_findings", factory)
                return FailingPaginator()

        return Client()


def test_an_aws_error_while_listing_is_one_line_with_its_code_and_message() -> None:
    spec = ScanScheduleSpec.model_validate({"schedule": {"cron": "0 * * * *"}})
    where = [Placement(OWN_CREDENTIALS, ACCOUNT, "us-west-2")]
    factory = FakeFactory()
    listing = findings_cli.live_rows(factory, spec, where, selection())  # type: ignore[arg-type]
    assert next(listing).vulnerability_id == "CVE-2025-0001"
    with pytest.raises(CliError) as caught:
        next(listing)
    assert str(caught.value) == (
        f"AWS error listing findings in us-west-2 of account {ACCOUNT}: "
        "AccessDeniedException: User is not authorized to ListFindings"
    )
    assert factory.asked == [("inspector2", "us-west-2")]


def test_no_kubeconfig_is_one_line_and_exit_status_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_config(**_: Any) -> None:
        raise kubeconfig.ConfigException("Invalid kube-config file. No configuration found.")

    monkeypatch.setattr(kubeconfig.config, "new_client_from_config", no_config)
    args = cli.build_parser().parse_args(["findings", "web", "--severity", "high", "-o", "json"])
    assert (args.severity, args.output, args.new, args.show_suppressed) == ("HIGH", "json", False, False)
    assert args.func(args) == 1
    err = capsys.readouterr().err
    assert err == "sreops findings: no usable kubeconfig: Invalid kube-config file. No configuration found.\n"


def test_bad_severity_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as caught:
        cli.build_parser().parse_args(["findings", "web", "--severity", "SEVERE"])
    assert caught.value.code == 2


def test_parse_arguments_namespace() -> None:
    args = cli.build_parser().parse_args(["findings", "web", "-n", "team-a", "--new", "--show-suppressed"])
    assert isinstance(args, argparse.Namespace)
    assert (args.schedule, args.namespace, args.new, args.show_suppressed, args.output) == (
        "web",
        "team-a",
        True,
        True,
        "table",
    )


def test_a_kubernetes_error_is_one_line_with_the_servers_message() -> None:
    exc = findings_cli.ApiException(status=403, reason="Forbidden")
    exc.body = json.dumps({"kind": "Status", "message": 'secrets "prod-aws" is forbidden:\n  no get'})
    assert str(findings_cli._kube_error(exc)) == 'Kubernetes API error: 403 secrets "prod-aws" is forbidden: no get'
    assert str(findings_cli._kube_error(findings_cli.ApiException(status=500, reason="Boom"))) == (
        "Kubernetes API error: 500 Boom"
    )
