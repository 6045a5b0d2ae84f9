"""Children of the sandbox never outlive it, even when it is killed with SIGKILL; the supervisor restarts
them with a backoff and keeps each run's log."""

from __future__ import annotations

import math
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sreops.sandbox.processes import Backoff, Exit, Supervisor, _ephemeral_ports, free_port, rotate_logs
from sreops.sandbox.status_view import processes_table

PARENT = """
import subprocess, sys, time
from sreops.sandbox.processes import _die_with_parent
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], preexec_fn=_die_with_parent)
print(child.pid, flush=True)
time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is dead for our purposes.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")
def test_child_gets_sigterm_when_its_parent_is_killed() -> None:
    parent = subprocess.Popen([sys.executable, "-P", "-c", PARENT], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child_pid = int(parent.stdout.readline())
    assert _alive(child_pid)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while _alive(child_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child_pid)


# -- supervision: backoff, log rotation and restarts, on a fake clock and a fake child ---------------------


def test_backoff_doubles_from_one_second_to_thirty() -> None:
    backoff = Backoff()
    assert [backoff.delay(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 30, 30, 30]
    assert backoff.delay(10_000) == 30  # no overflow after a long crash loop
    assert Backoff(initial=0.5, maximum=3).delay(4) == 3


def test_rotate_logs_keeps_the_newest_runs(tmp_path: Path) -> None:
    log = tmp_path / "operator.log"
    rotate_logs(log, keep=3)  # nothing to rotate yet
    assert list(tmp_path.iterdir()) == []
    for run in range(1, 6):
        rotate_logs(log, keep=3)
        log.write_text(f"run {run}\n")
    assert log.read_text() == "run 5\n"
    assert [(tmp_path / f"operator.log.{n}").read_text() for n in (1, 2, 3)] == ["run 4\n", "run 3\n", "run 2\n"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "operator.log",
        "operator.log.1",
        "operator.log.2",
        "operator.log.3",
    ]


WHEN = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def test_exit_names_the_signal_or_the_code() -> None:
    assert Exit.of(-signal.SIGKILL, WHEN).to_json() == {
        "signal": "SIGKILL",
        "reason": "Signaled",
        "time": "2026-01-05T12:00:00Z",
    }
    assert Exit.of(1, WHEN).to_json() == {"code": 1, "reason": "Error", "time": "2026-01-05T12:00:00Z"}
    assert Exit.of(0, WHEN).reason == "Completed"
    assert Exit.of(-signal.SIGTERM, WHEN).describe() == "SIGTERM (Signaled) at 2026-01-05T12:00:00Z"


class FakeChild:
    """A child whose exits and health the test decides; each run appends `run N` to its log."""

    def __init__(self, log: Path) -> None:
        self.name = "operator"
        self.log = log
        self.runs = 0
        self.code: int | None = None
        self.is_healthy = True
        self.stopped = 0

    def spawn(self) -> None:
        self.runs += 1
        self.code = None
        with self.log.open("a") as out:
            out.write(f"run {self.runs}\n")

    def wait_healthy(self, timeout: float) -> None:
        assert self.is_healthy

    def healthy(self) -> bool:
        return self.is_healthy

    @property
    def pid(self) -> int | None:
        return 1000 + self.runs if self.runs else None

    def returncode(self) -> int | None:
        return self.code

    def stop(self) -> None:
        self.stopped += 1
        if self.code is None:
            self.code = -signal.SIGTERM


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _supervised(tmp_path: Path) -> tuple[Supervisor, FakeChild, Clock]:
    child, clock = FakeChild(tmp_path / "logs" / "operator.log"), Clock()
    child.log.parent.mkdir()
    sup = Supervisor(
        child,
        keep_logs=2,
        pid_file=tmp_path / "run" / "operator.pid",
        clock=clock,
        wall_clock=lambda: WHEN + timedelta(seconds=clock.now),
    )
    return sup, child, clock


def _crash_and_restart(sup: Supervisor, child: FakeChild, clock: Clock, code: int = -signal.SIGKILL) -> float:
    """The child exits; returns the delay the supervisor waited before starting it again."""
    child.code = code
    delay = sup.poll()
    runs = child.runs
    clock.now += delay - 0.01
    assert sup.poll() == pytest.approx(0.01) and child.runs == runs  # not a moment early
    clock.now += 0.01
    assert sup.poll() == math.inf and child.runs == runs + 1
    return delay


def test_a_killed_child_is_restarted_after_a_growing_backoff(tmp_path: Path) -> None:
    sup, child, clock = _supervised(tmp_path)
    sup.start()
    assert sup.pid_file is not None and sup.pid_file.read_text() == "1001\n"
    assert sup.poll() == math.inf  # running: nothing to do

    child.code = -signal.SIGKILL
    assert sup.poll() == 1.0
    status = sup.status()
    assert (status.running, status.pid, status.restarts) == (False, None, 0)
    assert status.last_exit is not None and status.last_exit.to_json()["signal"] == "SIGKILL"
    assert status.to_json()["nextRestartTime"] == "2026-01-05T12:01:41Z"  # exit at 100 s + 1 s backoff
    assert not sup.pid_file.exists()  # nothing runs while it backs off
    clock.now += 1.0
    assert sup.poll() == math.inf
    assert (sup.status().running, sup.status().pid, sup.status().restarts) == (True, 1002, 1)
    assert sup.pid_file.read_text() == "1002\n"

    # Exits in a row back off further, whatever the exit code.
    assert [_crash_and_restart(sup, child, clock, code) for code in (1, 0, -signal.SIGSEGV, 1, 1)] == [2, 4, 8, 16, 30]
    assert sup.restarts == 6
    assert sup.status().to_json()["lastExit"] == {
        "code": 1,
        "reason": "Error",
        "time": "2026-01-05T12:02:11Z",
    }  # 100 + 1+2+4+8+16 s

    # Each run's log is kept: the current one, then the newest `keep_logs` before it.
    assert child.log.read_text() == "run 7\n"
    assert [child.log.with_name(f"operator.log.{n}").read_text() for n in (1, 2)] == ["run 6\n", "run 5\n"]
    assert not child.log.with_name("operator.log.3").exists()


def test_backoff_resets_after_a_minute_of_healthy_running(tmp_path: Path) -> None:
    sup, child, clock = _supervised(tmp_path)
    sup.start()
    assert [_crash_and_restart(sup, child, clock) for _ in range(3)] == [1, 2, 4]
    sup.poll()  # the new run answers its health check
    assert sup.status().ready
    clock.now += 59
    assert _crash_and_restart(sup, child, clock) == 8  # 59 s healthy is not enough
    sup.poll()
    clock.now += 60
    assert _crash_and_restart(sup, child, clock) == 1
    # Time alive without ever being healthy does not count.
    child.is_healthy = False
    sup.poll()
    assert not sup.status().ready
    clock.now += 600
    assert _crash_and_restart(sup, child, clock) == 2


def test_stop_during_a_backoff_wait_starts_nothing_again(tmp_path: Path) -> None:
    sup, child, clock = _supervised(tmp_path)
    sup.start()
    child.code = 1
    assert sup.poll() == 1.0
    sup.stop()
    clock.now += 3600
    assert sup.poll() == math.inf
    assert child.runs == 1 and not sup.status().running and sup.status().next_restart is None
    assert sup.pid_file is not None and not sup.pid_file.exists()


def test_stop_stops_a_running_child_for_good(tmp_path: Path) -> None:
    sup, child, clock = _supervised(tmp_path)
    sup.start()
    sup.stop()
    assert child.stopped == 1 and child.code == -signal.SIGTERM
    clock.now += 3600
    assert sup.poll() == math.inf and child.runs == 1
    assert sup.pid_file is not None and not sup.pid_file.exists()


def test_the_table_shows_state_restarts_and_last_exit(tmp_path: Path) -> None:
    sup, child, clock = _supervised(tmp_path)
    sup.start()
    child.code = -signal.SIGKILL
    sup.poll()
    backing_off = processes_table([sup.status()]).splitlines()
    assert backing_off[0].split() == ["PROCESS", "STATE", "PID", "RESTARTS", "LAST", "EXIT"]
    assert backing_off[1].split() == [
        "operator",
        "BackOff,",
        "restart",
        "at",
        "2026-01-05T12:01:41Z",
        "-",
        "0",
        "SIGKILL",
        "(Signaled)",
        "at",
        "2026-01-05T12:01:40Z",
    ]
    clock.now += 1
    sup.poll()  # restarted; healthy is seen on the next step
    assert processes_table([sup.status()]).splitlines()[1].split()[:4] == ["operator", "Starting", "1002", "1"]
    sup.poll()
    assert processes_table([sup.status()]).splitlines()[1].split()[:4] == ["operator", "Running", "1002", "1"]


def test_free_ports_are_below_the_kernels_ephemeral_range_and_bindable() -> None:
    """Outgoing connections take their local ports from the ephemeral range; a listening port chosen there
    could be taken by one between the choice and the child's bind."""
    low, _ = _ephemeral_ports()
    ports = {free_port() for _ in range(20)}
    assert all(p < low for p in ports)
    assert len(ports) > 10  # spread, not one fixed port
    for port in list(ports)[:3]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))
