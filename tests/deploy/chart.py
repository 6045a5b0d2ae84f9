"""Rendering the Helm chart for the tests (helm from .venv/bin, installed by scripts/setup-env.sh)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "sreops"
FULL_VALUES = Path(__file__).with_name("values-full.yaml")
HELM = Path(sys.executable).parent / "helm"
RELEASE = "sreops"
NAMESPACE = "sreops"


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(HELM), *args], capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)}: {done.stderr}")
    return done


def render(*extra: str, values: Path | None = None) -> list[dict[str, Any]]:
    args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE, *extra]
    if values is not None:
        args += ["--values", str(values)]
    return [d for d in yaml.safe_load_all(helm(*args).stdout) if d]


def rbac_rules(docs: list[dict[str, Any]], subject: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(role kind, role namespace, rule) of every rule bound to service account `subject`."""
    bound = set()
    for doc in docs:
        if doc["kind"] in ("RoleBinding", "ClusterRoleBinding"):
            for s in doc["subjects"]:
                if s["kind"] == "ServiceAccount" and s["name"] == subject and s["namespace"] == NAMESPACE:
                    ref = doc["roleRef"]
                    bound.add((ref["kind"], doc["metadata"].get("namespace", ""), ref["name"]))
    out = []
    for doc in docs:
        if doc["kind"] in ("Role", "ClusterRole"):
            key = (doc["kind"], doc["metadata"].get("namespace", ""), doc["metadata"]["name"])
            if key in bound:
                out += [(doc["kind"], key[1], rule) for rule in doc.get("rules") or []]
    return out
