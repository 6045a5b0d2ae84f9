"""`STATE_DIR/sandbox.env`: shell-sourceable `KEY=value` lines that point clients at the sandbox."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path

ENV_FILE = "sandbox.env"


def write_env_file(state_dir: Path, values: Mapping[str, str]) -> Path:
    path = state_dir / ENV_FILE
    lines = [f"{key}={shlex.quote(value)}" for key, value in values.items()]
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        "# Written by `sreops sandbox`; source it: set -a; . ./sandbox.env; set +a\n" + "\n".join(lines) + "\n"
    )
    tmp.replace(path)  # atomic: a reader never sees half a file
    return path


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, _, raw = line.partition("=")
        (values[key],) = shlex.split(raw) or [""]
    return values
