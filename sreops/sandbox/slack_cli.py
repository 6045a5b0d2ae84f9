"""`sreops sandbox slack "/sreops status"`: a slash command signed as Slack signs it, sent to the gateway.

It reads the gateway's URL and the signing secret from the sandbox's env file (`--state-dir`), or from
SREOPS_GATEWAY_URL and SREOPS_SLACK_SIGNING_SECRET, posts the command as the sandbox's operator user
(`--user` for another Slack user id), and prints the answer's text. An answer that comes later (Slack's
`response_url`, for commands slower than 2 s) is received on a local port and printed too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sreops.sandbox.chat.slack_signing import signed_headers, slash_command_body
from sreops.sandbox.envfile import ENV_FILE, read_env_file
from sreops.sandbox.gateway_seed import SLACK_OPERATOR, SLACK_TEAM

HELP = "send a signed slash command to the sandbox's gateway and print the reply"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("text", help='the command as typed in Slack, e.g. "/sreops status" or "/sreops run web-fleet"')
    parser.add_argument(
        "--state-dir", dest="slack_state_dir", type=Path, help="the sandbox's state dir (default: the environment)"
    )
    parser.add_argument("--user", default=SLACK_OPERATOR, help=f"Slack user id (default {SLACK_OPERATOR}, an operator)")
    parser.add_argument("--team", default=SLACK_TEAM, help=f"Slack team id (default {SLACK_TEAM})")
    parser.add_argument("--wait", type=float, default=30.0, help="seconds to wait for a delayed answer (default 30)")
    parser.add_argument("--json", action="store_true", help="print the answers as JSON instead of their text")


class _Receiver(BaseHTTPRequestHandler):
    answers: list[Any]
    arrived: threading.Event

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        with contextlib.suppress(ValueError):
            type(self).answers.append(json.loads(self.rfile.read(length)))
        type(self).arrived.set()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        return


def _print(answer: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(answer, indent=2))
        return
    blocks = answer.get("blocks") or []
    lines = [b["text"]["text"] for b in blocks if isinstance(b, dict) and isinstance(b.get("text"), dict)]
    print("\n".join(lines) if lines else answer.get("text", ""))


def run(args: argparse.Namespace) -> int:
    env = dict(os.environ)
    state_dir = args.slack_state_dir or getattr(args, "state_dir", None)
    if state_dir is not None:
        env.update(read_env_file(state_dir / ENV_FILE))
    url, secret = env.get("SREOPS_GATEWAY_URL"), env.get("SREOPS_SLACK_SIGNING_SECRET")
    if not url or not secret:
        print(
            "sreops sandbox slack: need --state-dir or SREOPS_GATEWAY_URL and SREOPS_SLACK_SIGNING_SECRET",
            file=sys.stderr,
        )
        return 2
    words = args.text.split(maxsplit=1)
    command, text = (
        (words[0], words[1] if len(words) > 1 else "") if words and words[0].startswith("/") else ("/sreops", args.text)
    )

    handler: type[_Receiver] = type("Receiver", (_Receiver,), {"answers": [], "arrived": threading.Event()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    response_url = f"http://127.0.0.1:{server.server_address[1]}/commands/{args.team}/sandbox"
    body = slash_command_body(text, command=command, user_id=args.user, team_id=args.team, response_url=response_url)
    headers = signed_headers(secret, body)
    request = urllib.request.Request(url + "/slack/commands", data=body, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - the sandbox's gateway
            answer = json.load(response)
    except urllib.error.HTTPError as exc:
        print(
            f"sreops sandbox slack: the gateway answered {exc.code}: {exc.read().decode(errors='replace')}",
            file=sys.stderr,
        )
        server.shutdown()
        return 1
    except OSError as exc:
        print(f"sreops sandbox slack: cannot reach the gateway at {url}: {exc}", file=sys.stderr)
        server.shutdown()
        return 1
    _print(answer, args.json)
    if str(answer.get("text", "")).startswith("Working on it") and handler.arrived.wait(args.wait):
        for later in handler.answers:
            _print(later, args.json)
    server.shutdown()
    return 0
