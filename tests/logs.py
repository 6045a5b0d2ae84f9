"""What a failing test prints about a process it ran: pytest shows captured output only for failures."""

from __future__ import annotations

from pathlib import Path

LINE_CHARS = 400  # kopf's "unprocessed streams" warning lists every uid
# Lines kept from anywhere in the log besides its tail: what went wrong may have happened long before the end.
NOTABLE = ("WARNING", "ERROR", "Traceback", '"level": "warning"', '"level": "error"')


def print_log(path: Path, tail: int = 60, notable: int = 60) -> None:
    """The log's warnings and errors (the last `notable` of them), then its last `tail` lines."""
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    head = lines[:-tail] if tail else lines
    found = [line[:LINE_CHARS] for line in head if any(mark in line for mark in NOTABLE)][-notable:]
    if found:
        print(f"--- {path.name} (warnings and errors before the tail) ---", *found, sep="\n")
    print(f"--- {path.name} (tail) ---", *(line[:LINE_CHARS] for line in lines[-tail:]), sep="\n")
