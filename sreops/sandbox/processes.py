"""Child processes of the sandbox (the operator, later the gateway): logs to files, clean stop, and a
supervisor that restarts them like a kubelet."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import math
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM when the thread that started it dies, even by SIGKILL, so a killed
    sandbox or test run never leaves an operator running (prctl PR_SET_PDEATHSIG). Start children from a
    long-lived thread (the main one)."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


_PORTS = random.SystemRandom()  # not the global generator: a test that seeds it would give every process one sequence


def _ephemeral_ports() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def free_port(host: str = "127.0.0.1") -> int:
    """A port free now, for a child to listen on, chosen below the kernel's ephemeral range: a port the kernel
    handed out by bind(0) is also where it puts the next outgoing connections' local ends, and one of those (a
    test's many HTTP requests) took it before the child could listen ("Address already in use")."""
    low, _high = _ephemeral_ports()
    first = 10000 if low > 12000 else 1024
    for _ in range(200):
        port = _PORTS.randrange(first, low)
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    with socket.socket() as s:  # everything below the range taken: the kernel's choice
        s.bind((host, 0))
        chosen: int = s.getsockname()[1]
        return chosen


def http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - our own loopback URL
            return bool(200 <= response.status < 300)
    except OSError:
        return False


class ChildFailedError(RuntimeError):
    """A child exited or stayed unhealthy while it was being started; the message names its log."""


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
        self.spawn()
        self.wait_healthy(timeout)

    def spawn(self) -> None:
        """Start the process and return at once (output appended to `log`)."""
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

    def wait_healthy(self, timeout: float) -> None:
        assert self.proc is not None, "spawn() first"
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if self.proc.poll() is not None:
                raise ChildFailedError(f"{self.name} exited with {self.proc.returncode}; see {self.log}")
            if time.monotonic() > deadline:
                self.stop()
                raise ChildFailedError(f"{self.name} did not become healthy in {timeout:.0f}s; see {self.log}")
            time.sleep(0.2)

    def healthy(self) -> bool:
        return http_ok(self.health_url)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def returncode(self) -> int | None:
        """The exit status once it has exited (negative: killed by that signal), else None."""
        return None if self.proc is None else self.proc.poll()

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# -- supervision ----------------------------------------------------------------------------------------


class Process(Protocol):
    """What a Supervisor needs of a child (Child is one)."""

    name: str
    log: Path

    def spawn(self) -> None: ...
    def wait_healthy(self, timeout: float) -> None: ...
    def healthy(self) -> bool: ...
    @property
    def pid(self) -> int | None: ...
    def returncode(self) -> int | None: ...
    def stop(self) -> None: ...


@dataclass(frozen=True)
class Backoff:
    """Delays before restarts, like the kubelet's CrashLoopBackOff (10 s doubling to 5 min, reset after
    10 min of running) scaled for a laptop: 1 s doubling to 30 s, reset once a run has been healthy for
    60 s (twice the longest delay, so a process that crashes every half minute still backs off)."""

    initial: float = 1.0
    maximum: float = 30.0
    reset_after: float = 60.0

    def delay(self, crashes: int) -> float:
        """The wait before restarting after the `crashes`-th exit in a row (1, 2, 3, ...)."""
        return min(self.maximum, self.initial * 2.0 ** min(max(crashes - 1, 0), 62))


def rotate_logs(path: Path, keep: int) -> None:
    """`path` becomes `path.1`, `path.1` becomes `path.2` ... up to `path.<keep>`; older ones are deleted."""
    if keep < 1:
        path.unlink(missing_ok=True)
        return
    path.with_name(f"{path.name}.{keep}").unlink(missing_ok=True)
    for n in range(keep - 1, 0, -1):
        older = path.with_name(f"{path.name}.{n}")
        if older.exists():
            older.replace(path.with_name(f"{path.name}.{n + 1}"))
    if path.exists():
        path.replace(path.with_name(f"{path.name}.1"))


def rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Exit:
    """How a run ended: an exit code, or the signal that killed it (kubelet-style reason), and when."""

    code: int | None
    signal: str | None
    time: datetime

    @classmethod
    def of(cls, returncode: int, when: datetime) -> Exit:
        if returncode < 0:
            try:
                name = signal.Signals(-returncode).name
            except ValueError:
                name = f"signal {-returncode}"
            return cls(None, name, when)
        return cls(returncode, None, when)

    @property
    def reason(self) -> Literal["Completed", "Error", "Signaled"]:
        if self.signal is not None:
            return "Signaled"
        return "Completed" if self.code == 0 else "Error"

    def describe(self) -> str:
        how = self.signal if self.signal is not None else f"code {self.code}"
        return f"{how} ({self.reason}) at {rfc3339(self.time)}"

    def to_json(self) -> dict[str, Any]:
        how: dict[str, Any] = {"signal": self.signal} if self.signal is not None else {"code": self.code}
        return {**how, "reason": self.reason, "time": rfc3339(self.time)}


@dataclass(frozen=True)
class ProcessStatus:
    name: str
    running: bool
    ready: bool  # has answered its health check during this run
    pid: int | None
    restarts: int
    started_at: datetime | None
    last_exit: Exit | None
    next_restart: datetime | None  # while waiting out a backoff

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "running": self.running,
            "ready": self.ready,
            "pid": self.pid,
            "restarts": self.restarts,
            "startedAt": None if self.started_at is None else rfc3339(self.started_at),
            "lastExit": None if self.last_exit is None else self.last_exit.to_json(),
            "nextRestartTime": None if self.next_restart is None else rfc3339(self.next_restart),
        }


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Supervisor:
    """Keeps one child running, like a kubelet with restartPolicy Always: whenever it exits (crash, signal,
    even code 0) it is started again after a Backoff delay. Each run writes a fresh log; the previous ones
    are rotated beside it (`<log>.1` is the last run, up to `<log>.<keep_logs>`). `pid_file`, if given,
    holds the running child's pid and is absent while none runs.

    Not threaded: `poll()` is called from the sandbox's main loop, so children are always started from the
    main thread (their PR_SET_PDEATHSIG is tied to the thread that starts them) and nothing races `stop()`.
    """

    def __init__(
        self,
        child: Process,
        backoff: Backoff | None = None,
        keep_logs: int = 5,
        pid_file: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.child = child
        self.backoff = backoff or Backoff()
        self.keep_logs = keep_logs
        self.pid_file = pid_file
        self._clock = clock
        self._wall = wall_clock
        self.restarts = 0
        self.crashes = 0  # exits in a row without a long healthy run: what the backoff grows with
        self.last_exit: Exit | None = None
        self._alive = False  # a run was spawned and has not been seen to exit
        self._started_at: datetime | None = None
        self._healthy_since: float | None = None
        self._restart_at: float | None = None  # on self._clock
        self._next_restart: datetime | None = None  # the same moment on the wall clock, for people
        self._stopped = False

    @property
    def name(self) -> str:
        return self.child.name

    def start(self, timeout: float = 60.0) -> None:
        """The first run, waited for: a child that cannot become healthy at all is an error to report, not
        a crash loop to sit in."""
        self._spawn()
        self.child.wait_healthy(timeout)
        self._healthy_since = self._clock()

    def poll(self) -> float:
        """One supervision step: notice an exit, restart when the backoff is over. Returns the seconds
        until it next needs calling (math.inf: whenever convenient)."""
        if self._stopped or not (self._alive or self._restart_at is not None):
            return math.inf
        now = self._clock()
        if self._alive:
            code = self.child.returncode()
            if code is None:
                if self._healthy_since is None and self.child.healthy():
                    self._healthy_since = now
                return math.inf
            self._exited(code, now)
        assert self._restart_at is not None
        if now < self._restart_at:
            return self._restart_at - now
        self.restarts += 1
        self._spawn()
        return math.inf

    def _exited(self, code: int, now: float) -> None:
        self._alive = False
        self.last_exit = Exit.of(code, self._wall())
        if self.pid_file is not None:
            self.pid_file.unlink(missing_ok=True)
        if self._healthy_since is not None and now - self._healthy_since >= self.backoff.reset_after:
            self.crashes = 0
        self.crashes += 1
        delay = self.backoff.delay(self.crashes)
        self._restart_at = now + delay
        self._next_restart = self._wall() + timedelta(seconds=delay)
        log.warning("%s exited: %s; restarting in %.0fs", self.name, self.last_exit.describe(), delay)

    def _spawn(self) -> None:
        self._restart_at = self._next_restart = None
        self._healthy_since = None
        rotate_logs(self.child.log, self.keep_logs)
        self.child.spawn()
        self._alive = True
        self._started_at = self._wall()
        if self.pid_file is not None and self.child.pid is not None:
            self.pid_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.pid_file.with_name(self.pid_file.name + ".tmp")
            tmp.write_text(f"{self.child.pid}\n")
            tmp.replace(self.pid_file)  # atomic: a reader never sees an empty file

    def stop(self) -> None:
        """Stop for good: no restart, also when called during a backoff wait."""
        self._stopped = True
        self._restart_at = self._next_restart = None
        self.child.stop()
        self._alive = False
        if self.pid_file is not None:
            self.pid_file.unlink(missing_ok=True)

    def status(self) -> ProcessStatus:
        return ProcessStatus(
            name=self.name,
            running=self._alive,
            ready=self._alive and self._healthy_since is not None,
            pid=self.child.pid if self._alive else None,
            restarts=self.restarts,
            started_at=self._started_at if self._alive else None,
            last_exit=self.last_exit,
            next_restart=self._next_restart,
        )


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
        preexec_fn=_die_with_parent,  # noqa: PLW1509 - only calls prctl; a killed test run leaves no stand-in
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
    name: str = "operator",
) -> tuple[Child, int]:
    """`sreops operator` as a child, configured only by `env` (KUBECONFIG, AWS_*) and its flags, as it would
    be in a pod; returns it unstarted, with the port of its /metrics."""
    health = health_port or free_port()
    metrics = metrics_port or free_port()
    child = Child(
        name=name,
        argv=["operator", f"--health-port={health}", f"--metrics-port={metrics}", *settings],
        env={"HOME": str(log.parent), "AWS_RETRY_MODE": "standard", **env},
        log=log,
        health_url=f"http://127.0.0.1:{health}/healthz",
    )
    return child, metrics


def gateway_child(env: Mapping[str, str], log: Path, *settings: str, port: int | None = None) -> tuple[Child, int]:
    """`sreops gateway` as a child, configured by `env` (KUBECONFIG, SREOPS_SLACK_SIGNING_SECRET, SREOPS_TEAMS_*)
    and its flags; returns it unstarted, with its port (every route, /health and /metrics)."""
    port = port or free_port()
    child = Child(
        name="gateway",
        argv=["gateway", "--host=127.0.0.1", f"--port={port}", *settings],
        env={"HOME": str(log.parent), **env},
        log=log,
        health_url=f"http://127.0.0.1:{port}/health",
    )
    return child, port
