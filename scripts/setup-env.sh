#!/usr/bin/env bash
# Creates or refreshes the project's virtualenv (.venv) and the system tools the tests use.
# Idempotent: a second run with unchanged pyproject.toml/constraints.txt only checks stamps.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv
py=${PYTHON:-python3}

need_apt=()
command -v kubectl >/dev/null 2>&1 || need_apt+=(kubectl)
# prometheus + promtool: the alert rules' unit tests and the real-scrape test (tests/observability, integration).
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
if ((${#need_apt[@]})); then
  echo "setup: installing ${need_apt[*]} with apt-get" >&2
  sudo_cmd=(); [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

if [[ ! -x $venv/bin/python ]]; then
  "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "setup: Python 3.11+ required" >&2; exit 1; }
  "$py" -m venv "$venv"
fi
stamp=$venv/.sreops-installed
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  # -P keeps the repo root off sys.path: its operator/ folder would shadow the standard library's
  # `operator` before the editable install exists (see docs/design.md, Layout).
  echo "setup: installing Python packages into $venv (first run takes a few minutes)" >&2
  "$venv/bin/python" -P -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[sandbox,dev]' 2>&1 \
    | grep -v "^WARNING: Location" || true
  "$venv/bin/python" -P -c "import sreops.operator, kopf, moto" # fail here, not in the tests, if the install broke
  echo "$want" >"$stamp"
fi
