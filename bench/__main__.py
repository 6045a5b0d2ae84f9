"""Runs every benchmark module in bench/ (files named bench_*.py), each printing its own figures.

`make bench` runs them all; `make bench ARGS=kube` runs those whose name contains "kube".
"""

import importlib
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    wanted = argv[0] if argv else ""
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_"))
    selected = [n for n in names if wanted in n]
    if not selected:
        print(f"no benchmark matches {wanted!r}; have: {', '.join(names) or 'none yet'}")
        return 0
    for name in selected:
        print(f"== {name}")
        importlib.import_module(f"bench.{name}").run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
