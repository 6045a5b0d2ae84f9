"""The `sreops` command line. Every subcommand has --help; heavy imports happen only in the chosen one."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

from sreops import __version__


def _operator(args: argparse.Namespace) -> int:
    from sreops.operator import main, settings

    try:
        config = settings.from_environment(args)
    except settings.SettingsError as exc:
        print(f"sreops operator: {exc}", file=sys.stderr)
        return 2
    main.run(config)
    return 0


def _iam_policy(_args: argparse.Namespace) -> int:
    from sreops.operator.aws.permissions import iam_policy_json

    print(iam_policy_json())
    return 0


# Stand-ins that can run on their own: `sreops sandbox NAME ...` (module with add_arguments and run).
STANDINS = {
    "kube": ("sreops.sandbox.kube.cli", "the Kubernetes API server stand-in"),
    "aws": ("sreops.sandbox.aws.cli", "the AWS stand-in (moto, extended), with a simulated fleet"),
    "chat": ("sreops.sandbox.chat.cli", "the Slack and Microsoft Teams stand-ins"),
}


def _load(module: str) -> ModuleType | None:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            return None
        raise


def build_parser() -> argparse.ArgumentParser:
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

    iam = commands.add_parser(
        "iam-policy",
        help="print the least-privilege IAM policy the operator needs",
        description="Print the IAM policy derived from the AWS calls the operator's code declares.",
    )
    iam.set_defaults(func=_iam_policy)

    sandbox = commands.add_parser("sandbox", help="the local environment: stand-ins for Kubernetes, AWS, Slack, Teams")
    parts = sandbox.add_subparsers(dest="part", metavar="PART", required=True)
    for name, (module_name, help_text) in STANDINS.items():
        module = _load(module_name)
        if module is None:
            continue
        sub = parts.add_parser(name, help=f"run only {help_text}", description=f"Run only {help_text}.")
        module.add_arguments(sub)
        run: Callable[[argparse.Namespace], int] = module.run
        sub.set_defaults(func=run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
