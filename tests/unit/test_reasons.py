"""Condition reasons are a documented vocabulary: the code's table and docs/api.md's agree, and no other
reason can be set."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from sreops.operator.api import KINDS, reasons

ROOT = Path(__file__).resolve().parents[2]
CAMEL_CASE = re.compile(r"^[A-Z][a-z]+(?:[A-Z][a-z]*)*$")


def _documented() -> dict[str, dict[str, set[str]]]:
    """kind -> condition -> reasons, from the tables under docs/api.md's "Condition reasons"."""
    text = (ROOT / "docs" / "api.md").read_text()
    section = text.split("## Condition reasons", 1)[1]
    found: dict[str, dict[str, set[str]]] = {}
    kind = ""
    for line in section.splitlines():
        if line.startswith("### "):
            kind = line[4:].strip()
        elif line.startswith("| ") and not line.startswith(("| Condition", "|---")):
            condition, reason = (cell.strip() for cell in line.strip("|").split("|")[:2])
            found.setdefault(kind, {}).setdefault(condition, set()).add(reason)
    return found


def test_docs_list_exactly_the_reasons_the_code_can_set() -> None:
    code = {kind: {c: set(r) for c, r in conditions.items()} for kind, conditions in reasons.VOCABULARY.items()}
    assert _documented() == code


def test_every_kind_has_a_vocabulary_with_ready() -> None:
    assert set(reasons.VOCABULARY) == set(KINDS)
    assert all("Ready" in conditions for conditions in reasons.VOCABULARY.values())


def test_reasons_are_camel_case_words_for_users() -> None:
    every = {r for conditions in reasons.VOCABULARY.values() for rs in conditions.values() for r in rs}
    for reason in every:
        assert CAMEL_CASE.match(reason), reason
        assert not reason.endswith(("Error", "Exception")), reason


def test_waits_are_reasons_of_some_kind() -> None:
    every = {r for conditions in reasons.VOCABULARY.values() for rs in conditions.values() for r in rs}
    assert every >= reasons.WAITING


def test_an_undocumented_reason_is_refused() -> None:
    assert reasons.check("PatchPolicy", "Ready", "Synced") == "Synced"
    with pytest.raises(reasons.UnknownReasonError):
        reasons.check("PatchPolicy", "Ready", "AccountNotReadyError")
    with pytest.raises(reasons.UnknownReasonError):
        reasons.check("PatchPolicy", "Ready", "Running")  # a PatchRun reason, not a PatchPolicy one
    with pytest.raises(reasons.UnknownReasonError):
        reasons.check("PatchPolicy", "Bogus", "Synced")


def _literal_reasons_in_condition_calls() -> list[tuple[str, int, str]]:
    """String literals passed as the reason (third argument) of set_condition/condition_patch_fn calls."""
    found = []
    for path in (ROOT / "operator").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name not in ("set_condition", "condition_patch_fn") or len(node.args) < 3:
                continue
            index = 3 if name == "set_condition" and not isinstance(node.func, ast.Attribute) else 2
            if len(node.args) > index and isinstance(node.args[index], ast.Constant):
                found.append((str(path.relative_to(ROOT)), node.lineno, str(node.args[index].value)))
    return found


def test_code_names_reasons_by_their_constants() -> None:
    """Reasons come from operator/api/reasons.py, so the vocabulary check above sees every one."""
    assert _literal_reasons_in_condition_calls() == []
