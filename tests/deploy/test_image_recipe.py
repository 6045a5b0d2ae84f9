"""The Dockerfile without a Docker engine: its stages' install steps run on this machine, in fresh directories
that stand in for the image's filesystem, so a recipe that cannot build (a missing file, a pip conflict, a
package that no longer imports) fails CI.

How the stand-in works: each stage gets its own root directory; absolute paths in RUN commands (/src, /wheels,
/opt/venv) are mapped under it, `python` is a fresh virtualenv standing in for the base image's interpreter,
COPY copies from the repo (or, with --from, from the builder's root), WORKDIR is the working directory. The
builder's root is moved aside and deleted before the runtime stage is checked, so the runtime virtualenv must
stand on its own, at the very path (/opt/venv under the root) the image has it.

pip reads the packages from a local wheelhouse (PIP_NO_INDEX + PIP_FIND_LINKS, the usual way to point a build at
a mirror) filled once per pyproject.toml + constraints.txt from the index with the same constraints: the RUN
commands are the Dockerfile's own, only the source of the files differs, and a warm run takes seconds of
network instead of a minute of index pages. OS-level steps (useradd) cannot run here; they are checked for
what they must do instead.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from tests.deploy.dockerfile import Stage, key_values, stages

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
# Commands a RUN step may run here, and the OS-level ones that are only inspected.
RUNNABLE = re.compile(r"^(python|/opt/venv/bin/python)\b")
OS_ONLY = ("groupadd", "useradd")
# `make image-recipe`: the recipe exactly, bytecode compilation included (make test skips that part).
FULL = os.environ.get("SREOPS_IMAGE_FULL") == "1"
pytestmark = pytest.mark.slow


def _parts(run: str) -> list[str]:
    return [p.strip() for p in run.split("&&")]


def _wheelhouse() -> Path:
    """Wheels for the runtime dependencies and the build backend, fetched once per dependency set."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wants = [*project["project"]["dependencies"], *project["build-system"]["requires"], "wheel"]
    key = hashlib.sha256(("\n".join(wants) + (ROOT / "constraints.txt").read_text()).encode()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sreops-image-wheels" / key
    if not (cache / ".complete").exists():
        cache.mkdir(parents=True, exist_ok=True)
        pip = [sys.executable, "-P", "-m", "pip", "download", "-q", "--dest", str(cache)]
        subprocess.run(
            [*pip, "--constraint", str(ROOT / "constraints.txt"), *wants],
            check=True,
            env={**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_FIND_LINKS": ""},
        )
        (cache / ".complete").write_text("ok\n")
    return cache


class Builder:
    """Runs one stage's instructions with its root directory standing in for the image's filesystem."""

    def __init__(self, root: Path, python: Path, env: dict[str, str]) -> None:
        self.root = root
        self.python = python
        self.env = dict(env)
        self.workdir = root
        self.skipped: list[str] = []

    def path(self, image_path: str) -> Path:
        return self.root / image_path.lstrip("/")

    def _map(self, command: str) -> str:
        words = []
        for word in shlex.split(command):
            mapped = word
            if word == "python":
                mapped = str(self.python)
            elif word.startswith("/"):
                mapped = str(self.path(word))
            words.append(shlex.quote(mapped))
        return " ".join(words)

    def apply(self, stage: Stage, others: dict[str, Path]) -> None:
        for ins in stage.instructions:
            if ins.keyword == "WORKDIR":
                self.workdir = self.path(ins.value)
                self.workdir.mkdir(parents=True, exist_ok=True)
            elif ins.keyword == "ENV":
                for key, value in key_values(ins.value).items():
                    expanded = value.replace("$PATH", self.env.get("PATH", ""))
                    self.env[key] = expanded.replace("/opt/venv", str(self.path("/opt/venv")))
            elif ins.keyword == "COPY":
                self._copy(ins.value.split(), others)
            elif ins.keyword == "RUN":
                self._run(ins.value, ins.line)

    def _copy(self, words: list[str], others: dict[str, Path]) -> None:
        source_root = ROOT
        if words[0].startswith("--from="):
            source_root = others[words[0].removeprefix("--from=")]
            words = words[1:]
        *sources, dest = words
        for source in sources:
            src = source_root / source.lstrip("/")
            target = self.path(dest) if dest.startswith("/") else self.workdir / dest
            if src.is_dir():
                # .dockerignore keeps bytecode out of the build context; a copy between stages takes everything.
                ignore = shutil.ignore_patterns("__pycache__") if source_root == ROOT else None
                shutil.copytree(src, target, symlinks=True, dirs_exist_ok=True, ignore=ignore)
                continue
            if dest.endswith("/"):
                target = target / src.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)

    def _run(self, command: str, line: int) -> None:
        parts = _parts(command)
        if all(p.split()[0] in OS_ONLY for p in parts):
            self.skipped.append(command)
            return
        for part in parts:
            assert RUNNABLE.match(part), f"Dockerfile line {line}: {part!r} cannot be checked here; keep RUN steps "
            "to python/pip, or OS-level user creation on its own"
            done = subprocess.run(
                ["/bin/sh", "-c", self._map(part)],
                cwd=self.workdir,
                env=self.env,
                capture_output=True,
                text=True,
                check=False,
            )
            assert done.returncode == 0, f"Dockerfile line {line}: {part}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[Stage], Builder]]:
    tmp = tmp_path_factory.mktemp("image")
    wheels = _wheelhouse()
    # The base image's interpreter (Python 3.11 with pip): this test's own. The virtualenv the recipe makes is
    # new and gets nothing of it (--without-pip, no system site-packages).
    base_python = Path(sys.executable)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp / "home"),
        "PIP_CONFIG_FILE": os.devnull,  # this machine's pip configuration is not the image's
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheels),
    }
    if not FULL:
        env["PIP_COMPILE"] = "false"  # byte-compiling 4,000 files is half the time; `make image-recipe` does it
    all_stages = stages(DOCKERFILE)
    *build_stages, runtime = all_stages
    roots: dict[str, Path] = {}
    for stage in build_stages:
        root = tmp / "root"
        Builder(root, base_python, env).apply(stage, roots)
        roots[stage.name] = root.rename(tmp / f"stage-{stage.name}")
    final = Builder(tmp / "root", base_python, env)
    final.apply(runtime, roots)
    for built in roots.values():
        shutil.rmtree(built)  # the runtime image holds nothing of the builder but what it copied
    if not FULL:
        # Without build-time bytecode, let the first check write it, so the others do not compile everything again.
        final.env.pop("PYTHONDONTWRITEBYTECODE", None)
    yield final.root, all_stages, final


def _venv_python(root: Path) -> Path:
    return root / "opt" / "venv" / "bin" / "python"


def test_stages_use_the_slim_python_311_base() -> None:
    all_stages = stages(DOCKERFILE)
    assert len(all_stages) >= 2, "multi-stage: a builder and the runtime"
    for stage in all_stages:
        assert re.fullmatch(r"python:3\.1[1-9][\w.-]*-slim[\w.-]*", stage.base), stage.base


def test_runtime_stage_has_no_build_tools_and_runs_as_non_root() -> None:
    *_, runtime = stages(DOCKERFILE)
    for run in runtime.all("RUN"):
        assert not re.search(r"\b(apt-get|apk|gcc|build-essential|pip)\b", run.value), run.value
    copies = [c.value for c in runtime.all("COPY")]
    assert copies == ["--from=builder /opt/venv /opt/venv"], "only the built virtualenv enters the runtime image"
    (user,) = runtime.all("USER")
    uid = user.value.split(":")[0]
    assert uid.isdigit() and int(uid) >= 1000, "a numeric non-root uid (runAsNonRoot can verify it)"
    creates = " ".join(r.value for r in runtime.all("RUN"))
    assert f"--uid {uid}" in creates and "--shell /usr/sbin/nologin" in creates


def test_labels_entrypoint_and_healthcheck() -> None:
    *_, runtime = stages(DOCKERFILE)
    labels: dict[str, str] = {}
    for label in runtime.all("LABEL"):
        labels.update(key_values(label.value))
    for key in ("title", "description", "version", "source", "licenses"):
        assert labels.get(f"org.opencontainers.image.{key}"), key
    (entrypoint,) = runtime.all("ENTRYPOINT")
    (cmd,) = runtime.all("CMD")
    assert entrypoint.exec_form() == ["sreops"]
    assert cmd.exec_form()[0] == "operator"
    (health,) = runtime.all("HEALTHCHECK")
    assert health.exec_form() == ["python", "-P", "-m", "sreops.healthcheck"]


def test_hadolint_is_clean() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    done = subprocess.run([str(hadolint), str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_runtime_venv_holds_sreops_and_no_pip(image: tuple[Path, list[Stage], Builder]) -> None:
    root, _, final = image
    site = next((root / "opt" / "venv" / "lib").glob("python3.*/site-packages"))
    assert not (site / "pip").exists() and not (site / "setuptools").exists()
    assert not (root / "src").exists(), "the source tree stays in the builder"
    assert final.skipped and all(s.split()[0] in ("groupadd",) for s in final.skipped)


@pytest.mark.skipif(not FULL, reason="make image-recipe compiles the bytecode")
def test_bytecode_is_compiled_at_build_time(image: tuple[Path, list[Stage], Builder]) -> None:
    root, _, _ = image
    site = next((root / "opt" / "venv" / "lib").glob("python3.*/site-packages"))
    # The container's root filesystem is read-only: nothing can be compiled at run time.
    assert list((site / "sreops" / "operator").glob("__pycache__/*.pyc"))
    assert list((site / "kopf").glob("__pycache__/*.pyc"))


def test_runtime_imports_both_processes(image: tuple[Path, list[Stage], Builder]) -> None:
    root, _, final = image
    code = "import sreops.operator.main, sreops.bots.gateway.main, kopf, aiohttp, botbuilder.core; print('ok')"
    done = subprocess.run(
        [str(_venv_python(root)), "-P", "-c", code],
        check=False,
        env=final.env,
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


@pytest.mark.parametrize("command", [["--version"], ["operator", "--help"], ["gateway", "--help"], ["iam-policy"]])
def test_entrypoints_run_from_the_runtime_venv(image: tuple[Path, list[Stage], Builder], command: list[str]) -> None:
    root, _, final = image
    script = root / "opt" / "venv" / "bin" / "sreops"  # ENTRYPOINT ["sreops"] with PATH=/opt/venv/bin first
    done = subprocess.run([str(script), *command], env=final.env, cwd=root, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()


def test_healthcheck_command_follows_the_process(image: tuple[Path, list[Stage], Builder]) -> None:
    root, all_stages, final = image
    (health,) = all_stages[-1].all("HEALTHCHECK")
    argv = [str(_venv_python(root)), *health.exec_form()[1:]]
    server = HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = str(server.server_address[1])
        env = {**final.env, "SREOPS_HEALTH_PORT": port, "SREOPS_GATEWAY_PORT": "9"}
        assert subprocess.run(argv, env=env, cwd=root, check=False).returncode == 0
    finally:
        server.shutdown()
        server.server_close()
    env = {**final.env, "SREOPS_HEALTH_PORT": port, "SREOPS_GATEWAY_PORT": "9"}  # nothing listens now
    assert subprocess.run(argv, env=env, cwd=root, check=False).returncode == 1
