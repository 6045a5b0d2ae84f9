"""`sreops sandbox --operator-replicas 2`: two supervised operator processes, one leading on the Lease; SIGKILL
the leader and the standby takes over within lease duration + retry period, while the killed one comes back as
a standby. What the test sees comes from the sandbox's own `--output json` snapshots, checked against the Lease."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import pytest
from kubernetes import client, config

from sreops.operator.leader_election import JITTER_FACTOR
from sreops.operator.settings import Settings
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]
DEFAULTS = Settings()
# The standby retries every retry period (jittered up to JITTER_FACTOR) and may take a lease unrenewed for its
# duration; the leader renewed it at most one retry period before it was killed.
TAKEOVER_BOUND = DEFAULTS.lease_duration_seconds + DEFAULTS.retry_period_seconds * JITTER_FACTOR + 0.5


class Snapshots:
    """The sandbox prints a JSON snapshot whenever its view changes; keeps the latest one."""

    def __init__(self, stream: IO[str]) -> None:
        self.latest: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        decoder = json.JSONDecoder()
        buffer = ""
        for line in stream:
            buffer += line
            try:
                doc, end = decoder.raw_decode(buffer.lstrip())
            except ValueError:
                continue
            buffer = buffer.lstrip()[end:]
            with self._lock:
                self.latest = doc

    def operators(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            procs = [] if self.latest is None else self.latest["processes"]
        return {p["name"]: p for p in procs if p["name"].startswith("operator")}


def _holder(api: client.ApiClient) -> str:
    try:
        lease = client.CoordinationV1Api(api).read_namespaced_lease("sreops-operator", "default")
    except client.exceptions.ApiException:
        return ""
    return str(lease.spec.holder_identity or "")


def test_two_replicas_one_leads_and_the_standby_takes_over_from_a_killed_leader(tmp_path: Path) -> None:
    state = tmp_path / "state"
    argv = ["sandbox", "--state-dir", str(state), "--operator-replicas", "2", "--no-samples", "--output", "json"]
    proc = subprocess.Popen(
        [sys.executable, "-P", "-m", "sreops.cli", *argv],
        stdout=subprocess.PIPE,
        stderr=(tmp_path / "sandbox.err").open("w"),
        text=True,
    )
    assert proc.stdout is not None
    seen = Snapshots(proc.stdout)
    try:
        # Both supervised and ready, exactly one of them leading, and it is the Lease's holder.
        def one_leader() -> str | None:
            ops = seen.operators()
            leaders = [n for n, p in ops.items() if p["leading"]]
            ready = set(ops) == {"operator-0", "operator-1"} and all(p["ready"] for p in ops.values())
            return leaders[0] if ready and len(leaders) == 1 else None

        leader = wait_for(one_leader, timeout=45, on_timeout=lambda: print(seen.latest))
        other = ({"operator-0", "operator-1"} - {leader}).pop()
        ops = seen.operators()
        assert ops[leader]["lease"] == ops[other]["lease"] == "sreops-operator"
        assert ops[leader]["identity"] != ops[other]["identity"]
        api = config.new_client_from_config(config_file=str(state / "kubeconfig"))
        assert _holder(api) == ops[leader]["identity"]
        pid = int((state / "run" / f"{leader}.pid").read_text())
        assert pid == ops[leader]["pid"]
        assert (state / "logs" / f"{leader}.log").exists() and (state / "logs" / f"{other}.log").exists()

        killed_at = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: _holder(api) == ops[other]["identity"], timeout=TAKEOVER_BOUND + 5, interval=0.1)
        takeover = time.monotonic() - killed_at
        assert takeover <= TAKEOVER_BOUND, f"took {takeover:.1f}s"

        # The sandbox shows the same, and restarted the killed one as a fresh standby (a new identity).
        def after() -> bool:
            now = seen.operators()
            old, new = now.get(leader, {}), now.get(other, {})
            return bool(
                new.get("leading")
                and old.get("ready")
                and old.get("restarts") == 1
                and not old.get("leading")
                and old.get("pid") not in (None, pid)
            )

        wait_for(after, timeout=20, on_timeout=lambda: print(seen.latest))
        now = seen.operators()
        assert now[leader]["lastExit"]["signal"] == "SIGKILL"
        assert now[leader]["identity"] not in (None, ops[leader]["identity"])
        assert (state / "logs" / f"{leader}.log.1").exists()  # the killed run's log, rotated
        api.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
