"""`sreops findings SCHEDULE`: a ScanSchedule's findings, listed live from Amazon Inspector.

Nothing comes from etcd but the schedule itself (its spec, and `status.lastScanTime` for `--new`) and its
AWSAccount. Where to list, what is in scope and what is suppressed are decided by the operator's own code
(`accounts.placements`, `scanning.scope`, `scanning.suppressions`), so the listing is what the operator's
sweep counts: ACTIVE findings of the wanted resource types whose resource carries all `targets.tags`, with
the suppressions in force by AWS's clock (the `Date` of its answers) left out.

Table output is sorted like `status.topFindings` (most severe first, then oldest, then by finding ARN) and
holds one small row per finding to do so; json and csv stream in Inspector's listing order.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TextIO

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError as Urllib3Error

from sreops import kubeconfig
from sreops.operator.accounts import AccountNotReadyError, Placement, placements
from sreops.operator.api import ScanScheduleSpec, SpecError, parse_spec
from sreops.operator.api.reasons import ACCOUNT_NOT_FOUND
from sreops.operator.api.scanschedule import SEVERITY_ORDER, ExpiredSuppression, Suppression
from sreops.operator.aws import inspector
from sreops.operator.aws.clients import ClientFactory
from sreops.operator.aws.errors import error_message, is_aws_error
from sreops.operator.kube import get_object
from sreops.operator.scanning.scope import Scope, finding_tags
from sreops.operator.scanning.suppressions import ActiveSuppressions, at
from sreops.operator.scanning.sweep import RANK, resource_id, vulnerability_id

PROG = "sreops findings"
DEFAULT_REGION = "us-east-1"
OUTPUTS = ("table", "json", "csv")
COLUMNS = ("SEVERITY", "VULNERABILITY", "RESOURCE", "ACCOUNT", "REGION", "FIRST SEEN", "TITLE")
TABLE_TITLE = 100  # the table's titles are cut to this many characters (json and csv keep them whole)
# --severity compares with this rank: UNTRIAGED (no score yet) counts as informational. Sorting uses the
# operator's RANK (UNTRIAGED after INFORMATIONAL), so a table starts with the schedule's topFindings.
THRESHOLD_RANK = {s: n for n, s in enumerate(SEVERITY_ORDER)} | {"UNTRIAGED": SEVERITY_ORDER.index("INFORMATIONAL")}


class CliError(Exception):
    """What went wrong, in one line for stderr (exit status 1)."""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _utc(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    return None


def rfc3339(when: datetime | None) -> str:
    return "" if when is None else when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return _utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


# -- one finding --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """What is shown of one finding (small: the table holds one per finding to sort them)."""

    severity: str
    vulnerability_id: str
    resource: str
    account: str
    region: str
    first_observed: datetime | None
    title: str
    finding_arn: str
    suppressed: bool = False

    def sort_key(self) -> tuple[int, float, str]:
        first = self.first_observed.timestamp() if self.first_observed else 0.0
        return RANK.get(self.severity, len(RANK)), first, self.finding_arn

    def to_json(self) -> dict[str, Any]:
        # The keys of status.topFindings, plus region, findingArn and suppressed.
        return {
            "severity": self.severity,
            "vulnerabilityId": self.vulnerability_id,
            "resource": self.resource,
            "account": self.account,
            "region": self.region,
            "firstObserved": rfc3339(self.first_observed) or None,
            "title": self.title,
            "findingArn": self.finding_arn,
            "suppressed": self.suppressed,
        }

    def cells(self, show_suppressed: bool, title_width: int | None = None, blank: str = "-") -> list[str]:
        title = self.title
        if title_width is not None and len(title) > title_width:
            title = title[: title_width - 3] + "..."
        out = [self.severity, self.vulnerability_id, self.resource, self.account, self.region]
        out += [rfc3339(self.first_observed) or blank, title]
        if show_suppressed:
            out.insert(len(out) - 1, "yes" if self.suppressed else "no")
        return out


def row_of(finding: Mapping[str, Any], region: str) -> Row:
    return Row(
        severity=str(finding.get("severity") or "UNTRIAGED"),
        vulnerability_id=vulnerability_id(finding),
        resource=resource_id(finding),
        account=str(finding.get("awsAccountId", "")),
        region=region,
        first_observed=_utc(finding.get("firstObservedAt")),
        title=_one_line(str(finding.get("title") or "")),
        finding_arn=str(finding.get("findingArn", "")),
    )


def columns(show_suppressed: bool) -> list[str]:
    out = list(COLUMNS)
    if show_suppressed:
        out.insert(len(out) - 1, "SUPPRESSED")
    return out


# -- which findings are shown -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    min_severity: str | None = None  # --severity
    new_after: datetime | None = None  # --new with a status.lastScanTime (without one every finding is new)
    show_suppressed: bool = False

    def keeps(self, row: Row) -> bool:
        if self.min_severity is not None:
            rank = THRESHOLD_RANK.get(row.severity, THRESHOLD_RANK["INFORMATIONAL"])
            if rank > THRESHOLD_RANK[self.min_severity]:
                return False
        if self.new_after is not None:
            return row.first_observed is not None and row.first_observed > self.new_after
        return True


@dataclass
class Selection:
    """Turns listed findings into rows: scope's tags, then --severity and --new, then the suppressions in
    force at AWS's time `now()`, read once, when the first finding has arrived (so after an AWS answer)."""

    filters: Filters
    suppressions: Sequence[Suppression]
    now: Callable[[], datetime]
    suppressed: int = 0  # suppressed findings that pass the filters (hidden unless show_suppressed)
    _active: ActiveSuppressions | None = field(default=None, repr=False)
    _expired: list[ExpiredSuppression] = field(default_factory=list, repr=False)

    def _in_force(self) -> ActiveSuppressions:
        if self._active is None:
            self._active, self._expired = at(self.suppressions, self.now())
        return self._active

    def expired(self) -> list[ExpiredSuppression]:
        """Suppressions expired by AWS's clock (their findings are shown again)."""
        self._in_force()
        return self._expired

    def rows(self, findings: Iterable[Mapping[str, Any]], scope: Scope, region: str) -> Iterator[Row]:
        for finding in findings:
            if not scope.tags_match(finding_tags(finding)):
                continue
            row = row_of(finding, region)
            if not self.filters.keeps(row):
                continue
            if self._in_force().hides(row.vulnerability_id, row.resource):
                self.suppressed += 1
                if not self.filters.show_suppressed:
                    continue
                row = replace(row, suppressed=True)
            yield row


def live_rows(
    factory: ClientFactory, spec: ScanScheduleSpec, where: Sequence[Placement], selection: Selection
) -> Iterator[Row]:
    """Every placement's ACTIVE findings in the schedule's scope, page by page, as the operator lists them."""
    for placement in where:
        scope = Scope.of(spec, placement.account_id)
        try:
            client = factory.client("inspector2", placement.region, placement.access)
            for criteria in scope.finding_criteria("ACTIVE"):
                yield from selection.rows(inspector.findings(client, criteria), scope, placement.region)
        except Exception as exc:
            if not is_aws_error(exc):
                raise
            where_text = f"in {placement.region} of account {placement.account_id}"
            raise CliError(f"AWS error listing findings {where_text}: {_one_line(error_message(exc))}") from exc


# -- output -------------------------------------------------------------------------------------------------


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def summary(shown: int, selection: Selection) -> str:
    if selection.filters.show_suppressed:
        return f"{_plural(shown, 'finding')} ({selection.suppressed} of them suppressed)"
    return f"{_plural(shown, 'finding')} ({selection.suppressed} suppressed hidden)"


def _expired_text(expired: Sequence[ExpiredSuppression]) -> str:
    where = [f"{e.vulnerability_id}{f' on {e.resource}' if e.resource else ''} ({e.expires})" for e in expired]
    return f"expired suppressions, whose findings count again: {', '.join(where)}"


def write_table(rows: Iterable[Row], out: TextIO, selection: Selection) -> int:
    """Sorted, so every row is held until the last page; the last line counts them."""
    show = selection.filters.show_suppressed
    ordered = sorted(rows, key=Row.sort_key)
    header = columns(show)
    cells = [r.cells(show, TABLE_TITLE) for r in ordered]
    if cells:
        widths = [max(len(header[i]), *(len(c[i]) for c in cells)) for i in range(len(header) - 1)]
        for line in [header, *cells]:
            out.write("  ".join(v.ljust(w) for v, w in zip(line[:-1], widths, strict=True)) + "  " + line[-1] + "\n")
    out.write(summary(len(ordered), selection) + "\n")
    if selection.suppressions and (expired := selection.expired()):
        out.write(_expired_text(expired) + "\n")
    return len(ordered)


def write_json(rows: Iterable[Row], out: TextIO) -> int:
    """A JSON list, one object per line, written as the findings arrive (Inspector's order)."""
    n = 0
    out.write("[")
    for row in rows:
        out.write(("," if n else "") + "\n" + json.dumps(row.to_json()))
        n += 1
    out.write("\n]\n" if n else "]\n")
    return n


def write_csv(rows: Iterable[Row], out: TextIO, show_suppressed: bool) -> int:
    """A header row, then one row per finding as they arrive (Inspector's order); titles whole."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns(show_suppressed))
    n = 0
    for row in rows:
        writer.writerow(row.cells(show_suppressed, blank=""))
        n += 1
    return n


def write(output: str, rows: Iterable[Row], out: TextIO, selection: Selection) -> int:
    if output == "json":
        return write_json(rows, out)
    if output == "csv":
        return write_csv(rows, out, selection.filters.show_suppressed)
    return write_table(rows, out, selection)


# -- the command --------------------------------------------------------------------------------------------


def _kube(args: argparse.Namespace) -> tuple[client.ApiClient, str | None]:
    """A client for the kubeconfig context (--kubeconfig, --context, KUBECONFIG) and that context's namespace."""
    try:
        kube = kubeconfig.from_args(args)
    except kubeconfig.KubeconfigError as exc:
        raise CliError(str(exc)) from None
    return kube.api, kube.namespace


def _kube_error(exc: ApiException) -> CliError:
    detail = exc.reason or ""
    with contextlib.suppress(ValueError, AttributeError):  # a body that is not a Status object
        detail = json.loads(exc.body or "{}").get("message") or detail  # names the object it could not read
    return CliError(f"Kubernetes API error: {exc.status} {_one_line(str(detail))}".rstrip())


def _schedule(api: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    obj = get_object(api, "ScanSchedule", namespace, name)
    if obj is None:
        raise CliError(f"ScanSchedule {name!r} not found in namespace {namespace!r}")
    return obj


def _where(
    api: client.ApiClient, factory: ClientFactory, region: str, namespace: str, spec: ScanScheduleSpec
) -> list[Placement]:
    try:
        return placements(api, factory, region, namespace, spec.account_ref, spec.regions)
    except AccountNotReadyError as exc:
        if exc.reason == ACCOUNT_NOT_FOUND and spec.account_ref is not None:
            ref = spec.account_ref.name
            raise CliError(f"AWSAccount {ref!r} (spec.accountRef) not found in namespace {namespace!r}") from None
        raise CliError(_one_line(exc.message)) from None
    except Exception as exc:
        if not is_aws_error(exc):
            raise
        raise CliError(f"AWS error finding the account to list in: {_one_line(error_message(exc))}") from exc


def _aws_now(factory: ClientFactory) -> Callable[[], datetime]:
    def now() -> datetime:
        if not factory.clock.known:
            print(f"{PROG}: AWS sent no Date; suppression expiry checked by this machine's clock", file=sys.stderr)
        return factory.clock.now()

    return now


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    if getattr(args, "api_url", None):
        from sreops import findings_view_cli  # noqa: PLC0415 - only this mode needs it

        return findings_view_cli.run(args)
    out = out or sys.stdout
    try:
        return _run(args, out)
    except CliError as exc:
        out.flush()
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `sreops findings x | head`: the reader has gone; say nothing more (stdout can take nothing either).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _run(args: argparse.Namespace, out: TextIO) -> int:
    api, context_namespace = _kube(args)
    try:
        namespace = args.namespace or context_namespace or "default"
        what = f"ScanSchedule {namespace}/{args.schedule}"
        try:
            obj = _schedule(api, namespace, args.schedule)
            try:
                spec = parse_spec(ScanScheduleSpec, obj.get("spec"))
            except SpecError as exc:
                raise CliError(f"{what} has an invalid spec: {exc}") from None
            region = os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
            factory = ClientFactory(sts_region=region, session_name="sreops-findings")
            where = _where(api, factory, region, namespace, spec)
        except ApiException as exc:
            raise _kube_error(exc) from None
        except Urllib3Error as exc:
            raise CliError(f"cannot reach the Kubernetes API: {_one_line(str(exc))}") from None
    finally:
        api.close()
    last_scan = parse_time((obj.get("status") or {}).get("lastScanTime"))
    filters = Filters(
        min_severity=args.severity.upper() if args.severity else None,
        new_after=last_scan if args.new else None,
        show_suppressed=args.show_suppressed,
    )
    selection = Selection(filters, spec.suppressions, _aws_now(factory))
    write(args.output, live_rows(factory, spec, where, selection), out, selection)
    out.flush()
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("schedule", metavar="SCHEDULE", help="the ScanSchedule's name")
    parser.add_argument(
        "-n", "--namespace", help="its namespace (default: the kubeconfig context's namespace, else 'default')"
    )
    parser.add_argument(
        "--severity",
        type=str.upper,
        choices=SEVERITY_ORDER,
        metavar="LEVEL",
        help="only findings at or above LEVEL: CRITICAL > HIGH > MEDIUM > LOW > INFORMATIONAL "
        "(UNTRIAGED counts as INFORMATIONAL)",
    )
    parser.add_argument(
        "--new",
        action="store_true",
        help="only findings first observed after the schedule's status.lastScanTime (all if it has none)",
    )
    parser.add_argument(
        "--show-suppressed",
        action="store_true",
        help='include suppressed findings too, marked in a SUPPRESSED column (json: "suppressed": true)',
    )
    parser.add_argument("--output", "-o", choices=OUTPUTS, default="table", help="format (default table)")
    kubeconfig.add_arguments(parser)
    parser.add_argument(
        "--api-url",
        metavar="URL",
        default=os.environ.get("SREOPS_API_URL") or None,
        help="instead: the gateway's findings view (the schedule's status: counts and top 10) at URL "
        "(default: $SREOPS_API_URL; key in $SREOPS_API_KEY)",
    )


DESCRIPTION = "List a ScanSchedule's findings live from Amazon Inspector, with its suppressions applied."
EPILOG = """\
Reads the ScanSchedule and its AWSAccount from the current kubeconfig context (KUBECONFIG honoured), then
lists, as the operator's sweep does, the ACTIVE findings of its resource types in each of its account x
regions whose resource carries all targets.tags; no finding comes from etcd or the schedule's status. AWS
credentials are the usual boto3 chain; a schedule naming an AWSAccount assumes its role. A schedule without
regions whose account has none lists in $AWS_DEFAULT_REGION (else us-east-1): set it to the operator's
--default-region. Suppressions apply by AWS's clock (the Date of its answers), as in the operator.

Output: table is sorted like status.topFindings (most severe first, then oldest first) and ends with a
line "N findings (M suppressed hidden)"; json (a list of objects with keys severity, vulnerabilityId,
resource, account, region, firstObserved, title, findingArn, suppressed) and csv (a header row, then the
table's columns) are streamed unsorted, in Inspector's listing order, as the pages arrive.

Exit status: 0 listed, 1 the schedule, its account or AWS could not be read (one line on stderr; json or
csv output may then be incomplete), 2 bad usage."""
