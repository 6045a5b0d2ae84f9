#!/usr/bin/env bash
# mypy cannot follow setuptools' package-dir mapping (operator/ -> sreops.operator), so give it a tree of
# symlinks laid out by import name, and check the packages by name.
set -euo pipefail
cd "$(dirname "$0")/.."
tree=build/typecheck
rm -rf "$tree" && mkdir -p "$tree/sreops"
for entry in sreops/*; do ln -s "$PWD/$entry" "$tree/sreops/"; done
ln -s "$PWD/operator" "$tree/sreops/operator"
ln -s "$PWD/bots" "$tree/sreops/bots"
MYPYPATH=$tree exec .venv/bin/mypy -p sreops "$@"
