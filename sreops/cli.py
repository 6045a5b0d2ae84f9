"""The `sreops` command line. Every subcommand has --help; heavy imports happen only in the chosen one."""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from sreops import __version__


def _remember_stop_signals() -> threading.Event:
    """For the operator, first of all: the parser and the operator's imports take 2-4 s (more on a loaded node),
    and a SIGTERM in that time (a pod deleted or rolled while it starts) would kill the interpreter with -15.
    Remembered instead, it reaches the operator's loop, which stops cleanly with 0."""
    stopped = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopped.set())
    return stopped


def _operator(args: argparse.Namespace) -> int:
    stopped: threading.Event | None = getattr(args, "stopped_early", None)
    from sreops.operator import main, settings

    try:
        config = settings.from_environment(args)
    except settings.SettingsError as exc:
        print(f"sreops operator: {exc}", file=sys.stderr)
        return 2
    main.run(config, stopped)
    return 0


def _gateway(args: argparse.Namespace) -> int:
    from sreops.bots.gateway.main import run

    return run(args)


def _iam_policy(_args: argparse.Namespace) -> int:
    from sreops.operator.aws.permissions import iam_policy_json

    print(iam_policy_json())
    return 0


def _sandbox(args: argparse.Namespace) -> int:
    from sreops.sandbox.launcher import Options, run

    options = Options(
        state_dir=args.state_dir,
        scenario=args.scenario,
        faults=args.faults,
        speed=args.speed,
        exit_after=args.exit_after,
        output=args.output,
        port_base=args.port_base,
        seed_samples=not args.no_samples,
        prometheus=args.prometheus,
        operator_replicas=args.operator_replicas,
        shards=args.shards,
    )
    return run(options)


def _replicas(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of replicas (1 or more)")
    return count


def _shard_list(text: str) -> tuple[str, ...]:
    from sreops.operator.settings import NO_SHARD, is_label_value

    shards = tuple(s.strip() for s in text.split(","))
    for shard in shards:
        if not is_label_value(shard):
            raise argparse.ArgumentTypeError(f"shard {shard!r} is not a label value (letters, digits, -_.; 63 at most)")
    if NO_SHARD in shards or len(set(shards)) != len(shards):
        raise argparse.ArgumentTypeError(f"shards must be distinct and not {NO_SHARD!r} (it is always run)")
    return shards


# Stand-ins that can run on their own: `sreops sandbox NAME ...` (module with add_arguments and run).
STANDINS = {
    "kube": ("sreops.sandbox.kube.cli", "the Kubernetes API server stand-in"),
    "aws": ("sreops.sandbox.aws.cli", "the AWS stand-in (moto, extended), with a simulated fleet"),
    "chat": ("sreops.sandbox.chat.cli", "the Slack and Microsoft Teams stand-ins"),
}


def _standin_runner(module_name: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        result: int = importlib.import_module(module_name).run(args)
        return result

    return run


OPS_EPILOG = """\
Talks to Kubernetes with your kubeconfig (--kubeconfig, --context, $KUBECONFIG; your RBAC applies and
each change leaves an Event from sreops-cli), or to the sreops gateway with --api-url URL ($SREOPS_API_URL)
and the key in $SREOPS_API_KEY. Exit status: 0 done, 1 failed (error, not found, a run that failed),
2 bad usage, 3 --timeout passed, 130 interrupted. Errors are one line on stderr. See docs/api.md."""


# The day-to-day commands: their modules load only when chosen (name -> module, its add_arguments, help).
OPS_COMMANDS = {
    "status": (
        "sreops.status_cli",
        "add_arguments",
        "show sreops objects and whether they are Ready, one table per kind",
    ),
    "run": (
        "sreops.run_cli",
        "add_run_arguments",
        "start a PatchPolicy's run now (prints the PatchRun; --wait follows it)",
    ),
    "scan": ("sreops.run_cli", "add_scan_arguments", "sweep a ScanSchedule's findings now (--wait until it has)"),
    "pause": ("sreops.suspend_cli", "add_arguments", "pause a PatchPolicy (spec.suspend: true): no scheduled runs"),
    "resume": ("sreops.suspend_cli", "add_arguments", "resume a paused PatchPolicy (spec.suspend: false)"),
}


def _command(words: Sequence[str]) -> str | None:
    """The subcommand named in the arguments: the first word that is not an option."""
    return next((w for w in words if not w.startswith("-")), None)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser. With `argv`, a stand-in's own arguments (and its imports: moto takes seconds) are added only
    when `argv` names it; without, all are."""
    parser = argparse.ArgumentParser(
        prog="sreops",
        description="SRE operations assistant: patch and scan EC2 fleets through a Kubernetes operator.",
    )
    parser.add_argument("--version", action="version", version=f"sreops {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    from sreops.operator.settings import add_arguments as operator_arguments

    op = commands.add_parser(
        "operator",
        help="run the operator (kopf) against the current kubeconfig context",
        description="Run the sreops operator. Settings come from flags, then SREOPS_* environment, then defaults.",
    )
    operator_arguments(op)
    op.set_defaults(func=_operator)

    from sreops.bots.gateway.settings import add_arguments as gateway_arguments

    gw = commands.add_parser(
        "gateway",
        help="run the bots gateway: Slack commands and buttons, the Teams bot, the HTTP API (port 8000)",
        description="Run the sreops gateway. Settings come from flags, then SREOPS_* environment, then defaults; "
        "secrets only from the environment or files.",
    )
    gateway_arguments(gw)
    gw.set_defaults(func=_gateway)

    iam = commands.add_parser(
        "iam-policy",
        help="print the least-privilege IAM policy the operator needs",
        description="Print the IAM policy derived from the AWS calls the operator's code declares.",
    )
    iam.set_defaults(func=_iam_policy)

    from sreops import findings_cli

    findings = commands.add_parser(
        "findings",
        help="list a ScanSchedule's findings live from Amazon Inspector, suppressions applied",
        description=findings_cli.DESCRIPTION,
        epilog=findings_cli.EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    findings_cli.add_arguments(findings)
    findings.set_defaults(func=findings_cli.run)

    words = list(argv) if argv is not None else None
    command = _command(words) if words is not None else None
    for name, (module_name, adder, help_text) in OPS_COMMANDS.items():
        sub = commands.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=OPS_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if words is None or command == name:  # the kubernetes client takes a second or two to import
            getattr(importlib.import_module(module_name), adder)(sub)

    from sreops import notify_cli

    notify_cli.add_arguments(commands.add_parser("notify", help=notify_cli.HELP, description=notify_cli.DESCRIPTION))

    sandbox = commands.add_parser(
        "sandbox",
        help="the whole system locally, on stand-ins for Kubernetes, AWS, Slack and Teams",
        description="Start the stand-ins and the operator, seed a scenario and the samples, and show their status. "
        "PART runs one stand-in on its own.",
    )
    sandbox.add_argument(
        "--state-dir", type=Path, help="kubeconfig, sandbox.env, recordings, logs (default: new temp dir)"
    )
    sandbox.add_argument(
        "--scenario", type=Path, metavar="FILE", help="fleet scenario YAML (default: generated demo fleet)"
    )
    sandbox.add_argument("--faults", default="", metavar="SPEC", help="AWS fault injection, e.g. 'ssm:*=throttle:0.1'")
    sandbox.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second (default 1)")
    sandbox.add_argument("--exit-after", type=float, metavar="SECONDS", help="print the final status and exit 0")
    sandbox.add_argument("--output", choices=["table", "json"], default="table", help="status format (default table)")
    sandbox.add_argument("--port-base", type=int, default=0, help="first of 5 consecutive ports (default: free ports)")
    sandbox.add_argument("--no-samples", action="store_true", help="do not apply crds/samples/")
    sandbox.add_argument(
        "--prometheus",
        action="store_true",
        help="also run Prometheus (the Debian package) scraping the operator and gateway, with the alert rules",
    )
    sandbox.add_argument(
        "--operator-replicas",
        type=_replicas,
        default=1,
        metavar="N",
        help="operator processes per shard, one leading per Lease, the others hot standbys (default 1)",
    )
    sandbox.add_argument(
        "--shards",
        type=_shard_list,
        default=(),
        metavar="A,B,...",
        help="run operators with --shard A, --shard B ... and --shard none (default: one set serving every object)",
    )
    sandbox.set_defaults(func=_sandbox)
    parts = sandbox.add_subparsers(dest="part", metavar="PART")
    words = list(argv) if argv is not None else ["sandbox", *STANDINS]
    chosen = words[words.index("sandbox") + 1 :] if "sandbox" in words else []
    for name, (module_name, help_text) in STANDINS.items():
        sub = parts.add_parser(name, help=f"run only {help_text}", description=f"Run only {help_text}.")
        if name in chosen:
            importlib.import_module(module_name).add_arguments(sub)
        sub.set_defaults(func=_standin_runner(module_name))
    from sreops.sandbox import slack_cli

    slack = parts.add_parser("slack", help=slack_cli.HELP, description=slack_cli.__doc__)
    slack_cli.add_arguments(slack)
    slack.set_defaults(func=slack_cli.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    stopped = _remember_stop_signals() if _command(words) == "operator" else None
    args = build_parser(words).parse_args(words)
    if stopped is not None:
        args.stopped_early = stopped
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
