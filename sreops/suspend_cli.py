"""`sreops pause POLICY` / `sreops resume POLICY`: set a PatchPolicy's spec.suspend (true: its maintenance
window is disabled and no new runs start; a run-now still starts one). Already so is not an error."""

from __future__ import annotations

import argparse
from typing import TextIO

from sreops import ops_cli


def run(args: argparse.Namespace) -> int:
    suspend = args.command == "pause"

    def body(backend: ops_cli.Backend, out: TextIO) -> int:
        namespace = backend.namespace(args.namespace)
        changed = backend.set_suspend(namespace, args.policy, suspend)
        state = "paused" if suspend else "resumed"
        what = f"PatchPolicy {namespace}/{args.policy}"
        out.write(f"{what} {state}\n" if changed.changed else f"{what} was already {state} (nothing changed)\n")
        return ops_cli.EXIT_OK

    return ops_cli.main(f"sreops {args.command}", args, body)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("policy", metavar="POLICY", help="the PatchPolicy's name")
    ops_cli.add_namespace_argument(parser)
    ops_cli.add_connection_arguments(parser)
    parser.set_defaults(func=run)
