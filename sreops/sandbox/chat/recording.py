"""The JSON-lines recordings of what the chat stand-ins accepted (a contract: docs/API.md, "The sandbox").

- ``STATE_DIR/slack/messages.jsonl``: one object per accepted ``chat.postMessage`` or ``chat.update``,
  with exactly the keys ``method, channel, ts, thread_ts, text, blocks, time``.
- ``STATE_DIR/teams/cards.jsonl``: one object per accepted webhook post or bot reply, with exactly the
  keys ``kind`` (``"webhook"`` or ``"reply"``), ``payload``, ``time``.

``time`` is the wall-clock time of acceptance, RFC 3339 in UTC with milliseconds
(``2026-01-31T12:00:00.123Z``). Each line is written whole and flushed before the HTTP response is
sent, so a reader that sees the response also sees the line. Secrets never go into a recording.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

SLACK_MESSAGES = Path("slack") / "messages.jsonl"
TEAMS_CARDS = Path("teams") / "cards.jsonl"

WallClock = Callable[[], float]
TeamsKind = Literal["webhook", "reply"]


def rfc3339(epoch_seconds: float) -> str:
    moment = datetime.fromtimestamp(epoch_seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class JsonlRecorder:
    """Appends one JSON object per line to a file, creating its folder. Thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(line)
                out.flush()


class SlackRecorder:
    def __init__(self, state_dir: Path, wall_clock: WallClock = time.time) -> None:
        self._out = JsonlRecorder(state_dir / SLACK_MESSAGES)
        self._wall_clock = wall_clock
        self.path = self._out.path

    def record(
        self,
        *,
        method: Literal["chat.postMessage", "chat.update"],
        channel: str,
        ts: str,
        thread_ts: str | None,
        text: str | None,
        blocks: list[Any] | None,
    ) -> None:
        self._out.append(
            {
                "method": method,
                "channel": channel,
                "ts": ts,
                "thread_ts": thread_ts,
                "text": text,
                "blocks": blocks,
                "time": rfc3339(self._wall_clock()),
            }
        )


class TeamsRecorder:
    def __init__(self, state_dir: Path, wall_clock: WallClock = time.time) -> None:
        self._out = JsonlRecorder(state_dir / TEAMS_CARDS)
        self._wall_clock = wall_clock
        self.path = self._out.path

    def record(self, kind: TeamsKind, payload: Any) -> None:
        self._out.append({"kind": kind, "payload": payload, "time": rfc3339(self._wall_clock())})


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """All records of a recording (an empty list if nothing was recorded yet)."""
    if not path.exists():
        return []
    records: list[dict[str, Any]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            records.append(json.loads(line))
    return records
