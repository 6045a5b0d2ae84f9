"""What `sreops status|run|scan|pause|resume` share: where they talk to (the user's kubeconfig, or the gateway's
HTTP API with --api-url), and how a failure is shown (one line on stderr, an exit status, no traceback).

Exit status: 0 done, 1 failed (an error, a run that failed, an object not found), 2 bad usage (argparse,
or input the API refuses as invalid: a 400), 3 --timeout passed before the end, 130 interrupted.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TextIO

from sreops import kubeconfig
from sreops.api_client import KEY_VARIABLE, URL_VARIABLE, GatewayClient
from sreops.bots import actions
from sreops.bots.actions import (
    ActionError,
    Actor,
    FindingsView,
    ResourceStatus,
    RunProgress,
    RunRequested,
    ScanRequested,
    SuspendChanged,
)
from sreops.bots.actions.kinds import kind_view
from sreops.bots.actions.reads import get_object

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_TIMEOUT, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class UsageError(Exception):
    """Bad usage found after parsing (exit status 2)."""


class WaitTimeoutError(Exception):
    """--timeout passed before what --wait waits for (exit status 3)."""


class Backend(Protocol):
    where: str  # for messages: "the Kubernetes API" or the gateway's URL

    def namespace(self, given: str | None) -> str: ...
    def status(self, namespace: str | None, kind: str | None, name: str | None) -> list[ResourceStatus]: ...
    def run_now(self, namespace: str, policy: str) -> RunRequested: ...
    def scan_now(self, namespace: str, schedule: str) -> ScanRequested: ...
    def set_suspend(self, namespace: str, policy: str, suspend: bool) -> SuspendChanged: ...
    def findings(self, namespace: str, schedule: str) -> FindingsView: ...
    def run_progress(self, namespace: str, run: str) -> RunProgress | None: ...
    def scan_done(self, requested: ScanRequested, last_scan_before: str | None) -> bool: ...
    def close(self) -> None: ...


def cli_actor() -> Actor:
    """The local user, named in run-now-by (``cli:alice``) and in audit Events."""
    try:
        login = getpass.getuser()
    except (OSError, KeyError):
        login = ""
    return Actor(via="cli", chat_id=login)


@dataclass
class KubeBackend:
    """The user's own kubeconfig: their RBAC decides. Each write leaves an audit Event (source sreops-cli); one
    that cannot be written is a warning, not a failure (the action itself was done)."""

    kube: kubeconfig.Kube
    actor: Actor
    warn: Callable[[str], None]
    where: str = "the Kubernetes API"

    def namespace(self, given: str | None) -> str:
        return self.kube.namespace_or_default(given)

    def _audit(self, namespace: str, kind: str, name: str, action: str, message: str) -> None:
        try:
            actions.audit(self.kube.api, namespace, {"kind": kind, "name": name}, self.actor, action, message)
        except ActionError as exc:
            self.warn(f"warning: the audit Event was not written: {exc.message}")

    def status(self, namespace: str | None, kind: str | None, name: str | None) -> list[ResourceStatus]:
        return actions.status(self.kube.api, namespace, kind, name)

    def run_now(self, namespace: str, policy: str) -> RunRequested:
        requested = actions.run_now(self.kube.api, namespace, policy, self.actor)
        self._audit(namespace, "PatchPolicy", policy, "run", f"run-now {requested.value}, PatchRun {requested.run}")
        return requested

    def scan_now(self, namespace: str, schedule: str) -> ScanRequested:
        requested = actions.scan_now(self.kube.api, namespace, schedule, self.actor)
        self._audit(namespace, "ScanSchedule", schedule, "scan", f"scan-now {requested.value}")
        return requested

    def set_suspend(self, namespace: str, policy: str, suspend: bool) -> SuspendChanged:
        changed = actions.set_suspend(self.kube.api, namespace, policy, suspend, self.actor)
        if changed.changed:
            action = "pause" if suspend else "resume"
            self._audit(namespace, "PatchPolicy", policy, action, f"spec.suspend set to {str(suspend).lower()}")
        return changed

    def findings(self, namespace: str, schedule: str) -> FindingsView:
        return actions.findings(self.kube.api, namespace, schedule)

    def run_progress(self, namespace: str, run: str) -> RunProgress | None:
        return actions.run_progress(self.kube.api, namespace, run)

    def scan_done(self, requested: ScanRequested, last_scan_before: str | None) -> bool:
        """The operator records each scan-now value it swept for in status.scanNowHandled."""
        obj = get_object(self.kube.api, kind_view("ScanSchedule"), requested.namespace, requested.schedule)
        return requested.value in ((obj.get("status") or {}).get("scanNowHandled") or [])

    def close(self) -> None:
        self.kube.api.close()


@dataclass
class ApiBackend:
    """The gateway's HTTP API: the key's identity and RBAC decide; the gateway writes the audit Events."""

    client: GatewayClient
    where: str = field(default="")

    def __post_init__(self) -> None:
        self.where = self.where or f"the gateway at {self.client.base_url}"

    def namespace(self, given: str | None) -> str:
        return given or kubeconfig.DEFAULT_NAMESPACE

    def status(self, namespace: str | None, kind: str | None, name: str | None) -> list[ResourceStatus]:
        return self.client.status(namespace, kind, name)

    def run_now(self, namespace: str, policy: str) -> RunRequested:
        return self.client.run_now(namespace, policy)

    def scan_now(self, namespace: str, schedule: str) -> ScanRequested:
        return self.client.scan_now(namespace, schedule)

    def set_suspend(self, namespace: str, policy: str, suspend: bool) -> SuspendChanged:
        return self.client.set_suspend(namespace, policy, suspend)

    def findings(self, namespace: str, schedule: str) -> FindingsView:
        return self.client.findings(namespace, schedule)

    def run_progress(self, namespace: str, run: str) -> RunProgress | None:
        return self.client.run_progress(namespace, run)

    def scan_done(self, requested: ScanRequested, last_scan_before: str | None) -> bool:
        """The API shows no scanNowHandled: a sweep has run once status.lastScanTime moved past its value
        read before the request."""
        last = self.findings(requested.namespace, requested.schedule).last_scan_time
        return last is not None and last != last_scan_before

    def close(self) -> None:
        pass


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    kubeconfig.add_arguments(parser)
    group = parser.add_argument_group("the gateway's HTTP API (instead of a kubeconfig)")
    group.add_argument(
        "--api-url",
        metavar="URL",
        default=os.environ.get(URL_VARIABLE) or None,
        help=f"the gateway's base URL, e.g. http://127.0.0.1:8000 (default: ${URL_VARIABLE}); the key is "
        f"read from ${KEY_VARIABLE}",
    )


def add_namespace_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-n", "--namespace", help="the namespace (default: the kubeconfig context's namespace, else 'default')"
    )


def backend(args: argparse.Namespace, warn: Callable[[str], None]) -> Backend:
    if args.api_url:
        if args.kubeconfig or args.context:
            raise UsageError("--api-url talks to the gateway: --kubeconfig and --context do not apply")
        key = os.environ.get(KEY_VARIABLE, "")
        if not key:
            raise UsageError(f"--api-url needs the API key in ${KEY_VARIABLE}")
        return ApiBackend(GatewayClient(args.api_url, key))
    return KubeBackend(kubeconfig.from_args(args), cli_actor(), warn)


def main(prog: str, args: argparse.Namespace, body: Callable[[Backend, TextIO], int], out: TextIO | None = None) -> int:
    """Runs `body` with the chosen backend; every failure is one line `<prog>: <message>` on stderr."""
    out = out or sys.stdout

    def warn(text: str) -> None:
        out.flush()
        print(f"{prog}: {text}", file=sys.stderr)

    try:
        chosen = backend(args, warn)
    except UsageError as exc:
        warn(str(exc))
        return EXIT_USAGE
    except kubeconfig.KubeconfigError as exc:
        warn(str(exc))
        return EXIT_FAILED
    except ActionError as exc:
        warn(exc.message)
        return EXIT_USAGE if exc.status == 400 else EXIT_FAILED
    try:
        return body(chosen, out)
    except UsageError as exc:
        warn(str(exc))
        return EXIT_USAGE
    except ActionError as exc:
        warn(exc.message)
        return EXIT_USAGE if exc.status == 400 else EXIT_FAILED
    except WaitTimeoutError as exc:
        warn(str(exc))
        return EXIT_TIMEOUT
    except KeyboardInterrupt:
        out.write("\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    finally:
        chosen.close()


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
