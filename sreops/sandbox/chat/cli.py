"""Run the chat stand-ins on their own: ``add_arguments(parser)`` and ``run(args)``.

Secrets come from the environment when set (``SREOPS_SLACK_TOKEN``, ``SREOPS_SLACK_SIGNING_SECRET``,
``SREOPS_TEAMS_APP_ID``, ``SREOPS_TEAMS_APP_PASSWORD``), else are generated. They are written, with the
URLs, to ``STATE_DIR/chat.env`` (mode 0600, ``KEY=value`` lines); only secret-free endpoints are
printed. Serves until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shlex
import signal
import sys
import tempfile
from pathlib import Path

from .botframework import BotApp
from .server import ChatSandbox

ENV_FILE = "chat.env"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    parser.add_argument(
        "--state-dir", type=Path, default=None, help="where recordings go (default: a new temporary folder)"
    )
    parser.add_argument(
        "--allow-anonymous-bot",
        action="store_true",
        help="let the Bot Framework connector take replies without a token (botbuilder with an empty app id)",
    )
    parser.add_argument(
        "--teams-oversize",
        choices=["reject", "accept-and-drop"],
        default="reject",
        help="webhook posts over 28 KB: 413 (default) or 202 and dropped, as real Workflows do",
    )
    parser.add_argument(
        "--faults",
        default="",
        metavar="SPEC",
        help="fault injection, e.g. 'slack:chat.postMessage=ratelimit:0.3,teams:webhook=error503:2x' (faults.py)",
    )


def build_sandbox(args: argparse.Namespace, state_dir: Path) -> ChatSandbox:
    token = os.environ.get("SREOPS_SLACK_TOKEN")
    app_id, password = os.environ.get("SREOPS_TEAMS_APP_ID"), os.environ.get("SREOPS_TEAMS_APP_PASSWORD")
    return ChatSandbox(
        state_dir,
        host=args.host,
        port=args.port,
        slack_tokens=[token] if token else None,
        slack_signing_secret=os.environ.get("SREOPS_SLACK_SIGNING_SECRET") or None,
        bot_apps=[BotApp(app_id=app_id, password=password)] if app_id and password else None,
        allow_anonymous_bot=args.allow_anonymous_bot,
        teams_oversize=args.teams_oversize,
        faults=getattr(args, "faults", ""),
    )


def write_env_file(path: Path, env: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.writelines(f"{key}={shlex.quote(value)}\n" for key, value in env.items())


async def serve(sandbox: ChatSandbox, env_file: Path, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await sandbox.start()
        write_env_file(env_file, sandbox.env())
        for name, url in sandbox.endpoints().items():
            print(f"{name}: {url}", flush=True)
        print(f"settings with secrets: {env_file}", flush=True)
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await sandbox.stop()


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    state_dir: Path = args.state_dir or Path(tempfile.mkdtemp(prefix="sreops-chat-"))
    if args.state_dir is None:
        print(f"state dir: {state_dir}", flush=True)
    try:
        sandbox = build_sandbox(args, state_dir)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(sandbox, state_dir / ENV_FILE))
    except OSError as err:
        print(f"error: cannot serve on {args.host}:{args.port}: {err}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sreops.sandbox.chat.cli", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
