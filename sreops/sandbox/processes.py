"""Child processes of the sandbox (the operator, later the gateway): logs to files, clean stop."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM when the thread that started it dies, even by SIGKILL, so a killed
    sandbox or test run never leaves an operator running (prctl PR_SET_PDEATHSIG). Start children from a
    long-lived thread (the main one)."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - our own loopback URL
            return bool(200 <= response.status < 300)
    except OSError:
        return False


@dataclass
class Child:
    """A `python -m sreops.cli ...` child with its output in `log`, healthy when `health_url` answers 2xx."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    log: Path
    health_url: str
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self, timeout: float = 60.0) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-P", "-m", "sreops.cli", *self.argv],
                env={**os.environ, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C in the terminal reaches us; we stop the child ourselves
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - only calls prctl, safe before exec
            )
        deadline = time.monotonic() + timeout
        while not http_ok(self.health_url):
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} did not become healthy in {timeout:.0f}s; see {self.log}")
            time.sleep(0.2)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_aws_standin(log: Path, *extra_args: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """`sreops sandbox aws` as a child process (moto's state is per process), frozen clock unless
    `extra_args` say otherwise; returns it with the environment it printed (AWS_ENDPOINT_URL, keys...)."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-P",
            "-m",
            "sreops.cli",
            "sandbox",
            "aws",
            "--port",
            str(free_port()),
            "--speed",
            "0",
            *extra_args,
        ],
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
    )
    env: dict[str, str] = {}
    assert proc.stdout is not None
    for line in proc.stdout:  # it prints KEY=value lines, then "# admin: ..." once it serves
        if line.startswith("# admin"):
            break
        key, _, value = line.strip().partition("=")
        env[key] = value
    if "AWS_ENDPOINT_URL" not in env:
        proc.kill()
        raise RuntimeError(f"the AWS stand-in did not start: {log.read_text()[-2000:]}")
    return proc, env


def operator_child(
    env: Mapping[str, str],
    log: Path,
    *settings: str,
    health_port: int | None = None,
    metrics_port: int | None = None,
) -> tuple[Child, int]:
    """`sreops operator` as a child, configured only by `env` (KUBECONFIG, AWS_*) and its flags, as it would
    be in a pod; returns it unstarted, with the port of its /metrics."""
    health = health_port or free_port()
    metrics = metrics_port or free_port()
    child = Child(
        name="operator",
        argv=["operator", f"--health-port={health}", f"--metrics-port={metrics}", *settings],
        env={"HOME": str(log.parent), "AWS_RETRY_MODE": "standard", **env},
        log=log,
        health_url=f"http://127.0.0.1:{health}/healthz",
    )
    return child, metrics
