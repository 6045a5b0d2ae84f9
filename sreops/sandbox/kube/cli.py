"""`sreops sandbox kube`: runs the Kubernetes API stand-in until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import tempfile
from pathlib import Path

from .faults import FaultSpecError
from .server import KubeServer


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: 0, a free port)")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="directory for kubeconfig, token and persisted objects (default: a new temporary directory)",
    )
    parser.add_argument("--no-persist", action="store_true", help="keep objects in memory only")
    parser.add_argument("--access-log", action="store_true", help="log every request")
    parser.add_argument(
        "--audit-log",
        type=Path,
        default=None,
        metavar="PATH",
        help="append an audit.k8s.io/v1 Event (level Metadata) per request to this file, as JSON lines",
    )
    parser.add_argument(
        "--token-auth-file",
        type=Path,
        default=None,
        metavar="PATH",
        help='more users: CSV lines token,user,uid,"group1,group2" (kube-apiserver\'s --token-auth-file)',
    )
    parser.add_argument(
        "--faults",
        default="",
        metavar="SPEC",
        help="fault injection, e.g. 'patch:*=throttle:0.2,watch:*=watch-drop:0.05' (see faults.py; "
        "changed at run time through /_sandbox/faults)",
    )


async def _serve(server: KubeServer) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    print(f"Kubernetes API stand-in serving at {server.url}", flush=True)
    print(f"KUBECONFIG={server.kubeconfig_path}", flush=True)
    try:
        await stop.wait()
    finally:
        await server.stop()


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    state_dir = args.state_dir or Path(tempfile.mkdtemp(prefix="sreops-kube-"))
    try:
        server = _server(args, state_dir)
    except FaultSpecError as exc:
        print(f"sreops sandbox kube: --faults: {exc}", file=sys.stderr)
        return 2
    asyncio.run(_serve(server))
    return 0


def _server(args: argparse.Namespace, state_dir: Path) -> KubeServer:
    return KubeServer(
        state_dir,
        host=args.host,
        port=args.port,
        persist=not getattr(args, "no_persist", False),
        access_log=getattr(args, "access_log", False),
        token_auth_file=getattr(args, "token_auth_file", None),
        audit_log=getattr(args, "audit_log", None),
        faults=getattr(args, "faults", ""),
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="sreops sandbox kube", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args())


if __name__ == "__main__":
    raise SystemExit(main())
