"""The layout traps from ARCHITECTURE.md: `operator` and `pulumi` are names Python already uses."""

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_stdlib_operator_is_not_shadowed_from_repo_root() -> None:
    out = _run("import operator, sreops.operator; print(operator.__file__); print(sreops.operator.__file__)")
    stdlib_file, ours = out.splitlines()
    assert Path(stdlib_file).name == "operator.py"
    assert Path(ours) == ROOT / "operator" / "__init__.py"


def test_pulumi_imports_the_sdk_not_the_folder() -> None:
    assert not (ROOT / "pulumi" / "__init__.py").exists()
    out = _run("import pulumi; print(pulumi.__file__)")
    assert "site-packages" in out


def test_every_package_folder_is_listed_in_pyproject() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    mapping: dict[str, str] = config["package-dir"]
    found = set()
    for name, folder in mapping.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join([name, *rel.parts]))
    assert found == listed
