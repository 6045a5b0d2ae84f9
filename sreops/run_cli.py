"""`sreops run POLICY [--wait]` and `sreops scan SCHEDULE [--wait]`: ask the operator for a run or a sweep now.

`run` sets a new `sreops.io/run-now` value (one PatchRun per call) and prints the PatchRun's name. With
--wait it follows the run until it ends: a progress bar redrawn in place on a terminal, else one line each
time the counts change; then the result and any failed instances. Exit 0 if the run succeeded, 1 if it
failed. `scan` sets a new `sreops.io/scan-now` value; with --wait it returns once the operator has swept for
it and prints the schedule's findings counts.
"""

from __future__ import annotations

import argparse
import time
from typing import TextIO

from sreops import ops_cli
from sreops.bots.actions import FindingsView, RunProgress

POLL_SECONDS = 1.0
BAR_WIDTH = 30


def _counts(progress: RunProgress) -> tuple[int, int, int, int]:
    i = progress.instances
    total = i.get("total", 0)
    succeeded, failed = i.get("succeeded", 0), i.get("failed", 0) + i.get("timedOut", 0)
    return total, succeeded, failed, i.get("inProgress", max(0, total - succeeded - failed))


def progress_line(progress: RunProgress) -> str:
    total, succeeded, failed, running = _counts(progress)
    if not total and not progress.done:
        return f"{progress.name}: starting"
    done = f"{succeeded + failed}/{total} done"
    return f"{progress.name}: {done}, {succeeded} succeeded, {failed} failed, {running} in progress"


def progress_bar(progress: RunProgress) -> str:
    total, succeeded, failed, _ = _counts(progress)
    filled = BAR_WIDTH * (succeeded + failed) // total if total else 0
    bar = "#" * filled + "-" * (BAR_WIDTH - filled)
    return f"[{bar}] {succeeded + failed}/{total}  {succeeded} succeeded  {failed} failed"


def final_lines(progress: RunProgress) -> list[str]:
    total, succeeded, failed, _ = _counts(progress)
    lines = [f"PatchRun {progress.name} {progress.result}: {succeeded} of {total} instances succeeded, {failed} failed"]
    for f in progress.failed_instances:
        detail = f" ({f['detail']})" if f.get("detail") else ""
        lines.append(f"  {f.get('instanceId')} {f.get('account')} {f.get('region')}: {f.get('status')}{detail}")
    return lines


class Deadline:
    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.end = None if seconds is None else time.monotonic() + seconds

    def passed(self) -> bool:
        return self.end is not None and time.monotonic() > self.end


def follow_run(backend: ops_cli.Backend, namespace: str, name: str, out: TextIO, deadline: Deadline) -> int:
    tty = out.isatty()
    last = ""
    while True:
        progress = backend.run_progress(namespace, name)
        if progress is not None:
            line = progress_bar(progress) if tty else progress_line(progress)
            if line != last:
                out.write(("\r\033[K" + line) if tty else line + "\n")
                out.flush()
                last = line
            if progress.done:
                if tty:
                    out.write("\n")
                out.write("\n".join(final_lines(progress)) + "\n")
                return ops_cli.EXIT_OK if progress.result == "Succeeded" else ops_cli.EXIT_FAILED
        elif not last:
            last = f"waiting for the operator to create PatchRun {name}"
            out.write(last + ("" if tty else "\n"))
            out.flush()
        if deadline.passed():
            if tty:
                out.write("\n")
            raise ops_cli.WaitTimeoutError(f"PatchRun {name} has not ended after {deadline.seconds:g} s (--timeout)")
        time.sleep(POLL_SECONDS)


def run_policy(args: argparse.Namespace) -> int:
    def body(backend: ops_cli.Backend, out: TextIO) -> int:
        namespace = backend.namespace(args.namespace)
        requested = backend.run_now(namespace, args.policy)
        out.write(requested.run + "\n")
        out.flush()
        if not args.wait:
            return ops_cli.EXIT_OK
        return follow_run(backend, namespace, requested.run, out, Deadline(args.timeout))

    return ops_cli.main("sreops run", args, body)


def findings_line(view: FindingsView) -> str:
    c = view.counts
    counts = ", ".join(f"{c.get(k, 0)} {k}" for k in ("critical", "high", "medium", "low", "informational"))
    extra = f"; {c.get('new', 0)} new, {c.get('resolved', 0)} resolved" if "new" in c else ""
    ready = f"; Ready {view.ready.status} ({view.ready.reason})" if view.ready and view.ready.status != "True" else ""
    return f"ScanSchedule {view.schedule} swept at {view.last_scan_time}: {counts}{extra}{ready}"


def scan_schedule(args: argparse.Namespace) -> int:
    def body(backend: ops_cli.Backend, out: TextIO) -> int:
        namespace = backend.namespace(args.namespace)
        before = backend.findings(namespace, args.schedule).last_scan_time if args.wait else None
        requested = backend.scan_now(namespace, args.schedule)
        out.write(f"scan-now {requested.value} requested for ScanSchedule {namespace}/{args.schedule}\n")
        out.flush()
        if not args.wait:
            return ops_cli.EXIT_OK

        def wait() -> int:
            deadline = Deadline(args.timeout)
            while not backend.scan_done(requested, before):
                if deadline.passed():
                    raise ops_cli.WaitTimeoutError(
                        f"no sweep for scan-now {requested.value} after {args.timeout:g} s (--timeout)"
                    )
                time.sleep(POLL_SECONDS)
            out.write(findings_line(backend.findings(namespace, args.schedule)) + "\n")
            return ops_cli.EXIT_OK

        return wait()

    return ops_cli.main("sreops scan", args, body)


def _timeout(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def _wait_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--wait", action="store_true", help=f"follow it until {what}")
    parser.add_argument(
        "--timeout", type=_timeout, metavar="SECONDS", help="with --wait: give up after SECONDS (exit 3)"
    )


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("policy", metavar="POLICY", help="the PatchPolicy's name")
    ops_cli.add_namespace_argument(parser)
    _wait_arguments(parser, "the run ends (exit 0 succeeded, 1 failed)")
    ops_cli.add_connection_arguments(parser)
    parser.set_defaults(func=run_policy)


def add_scan_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("schedule", metavar="SCHEDULE", help="the ScanSchedule's name")
    ops_cli.add_namespace_argument(parser)
    _wait_arguments(parser, "the operator has swept for this request")
    ops_cli.add_connection_arguments(parser)
    parser.set_defaults(func=scan_schedule)
