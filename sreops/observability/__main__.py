"""Writes the generated observability files: `python -P -m sreops.observability [--check]`.

--check writes nothing and exits 1 if a committed file differs from what the code generates.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sreops.observability.render import generated_files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sreops.observability", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="repository root (default: .)")
    parser.add_argument("--check", action="store_true", help="only check the committed files are up to date")
    args = parser.parse_args(argv)
    stale = []
    for relative, text in generated_files().items():
        path = args.root / relative
        if path.exists() and path.read_text() == text:
            continue
        stale.append(relative)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    for relative in stale:
        print(f"{'out of date' if args.check else 'wrote'}: {relative}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
