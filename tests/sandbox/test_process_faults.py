"""Process faults: SIGKILL (an OOM kill or node failure: no clean-up runs) and SIGTERM (a pod deletion: the
process has its grace period), each followed by a restart, as a kubelet with restartPolicy Always does."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from sreops.sandbox.process_faults import FaultSpecError, ProcessFaults, parse_spec

# Exits 0 on SIGTERM after finishing its "in-flight work", as a well-behaved operator should.
# It says so once its handler is installed: a signal before that (Python starting on a loaded machine can take
# longer than any fixed wait) would end it with -15 and fail the test for the wrong reason.
PROGRAM = (
    "import signal,sys,time\nsignal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\n"
    "print('ready', flush=True)\ntime.sleep(60)\n"
)


class Sleeper:
    name = "operator"

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.spawns = 0

    def spawn(self) -> None:
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()  # the previous, stopped process's
        self.proc = subprocess.Popen([sys.executable, "-c", PROGRAM], stdout=subprocess.PIPE)
        self.spawns += 1
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline() == b"ready\n"

    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid


def _until(check: object, faults: ProcessFaults, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        faults.tick()
        if callable(check) and check():
            return
        time.sleep(0.05)
    raise AssertionError("not reached")


def test_kill_then_term_each_followed_by_a_restart() -> None:
    child = Sleeper()
    child.spawn()
    faults = ProcessFaults(child, "process:operator=kill:1x,process:*=term:1x", restart_delay_s=0.2)
    faults.schedule(window_s=0.0)
    try:
        _until(lambda: len(faults.fired) == 2 and child.spawns == 3 and child.returncode() is None, faults)
    finally:
        assert child.proc is not None
        child.proc.kill()
        child.proc.wait()
        if child.proc.stdout is not None:
            child.proc.stdout.close()
    kinds = [(f.kind, f.exit_code) for f in faults.fired]
    assert kinds == [("kill", -signal.SIGKILL), ("term", 0)] or kinds == [("term", 0), ("kill", -signal.SIGKILL)]
    assert faults.pending == 0


def test_spec() -> None:
    assert [r.kind for r in parse_spec("process:operator=kill:10x+term:1x")] == ["kill", "term"]
    for bad in ("process:operator=kill", "process:operator=kill:0.5", "proc:operator=kill:1x", "process:x=stop:1x"):
        with pytest.raises(FaultSpecError):
            parse_spec(bad)
    assert ProcessFaults(Sleeper(), "process:gateway=kill:3x").rules == []  # another process's rule
