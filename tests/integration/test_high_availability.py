"""Two operator replicas and label shards against the stand-ins.

Replicas: the leader is SIGKILLed while policies are being applied, then (with the next batch) SIGSTOPped;
each time the standby takes over within lease duration + retry period (+ the time to see it), every policy
becomes Ready, SSM holds exactly one baseline and one window per policy, each run-now value sent exactly one
SendCommand, and the resumed leader exits (code 75) without a single write. Shards: policies labelled a, b and
unlabelled are each written by exactly one shard's user (the kube audit log), and a relabel moves them with
no second set of AWS resources.

`make test` runs 10 policies per phase and 5 per shard; `make ha` (SREOPS_HA_FULL=1) the acceptance sizes:
200 policies, and 3,000 over three shards plus the unlabelled set, relabelling 100.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kubernetes import client, config

from sreops.operator.api import GROUP, VERSION
from sreops.sandbox.chat.server import ChatSandbox, ThreadedChatSandbox
from sreops.sandbox.kube.server import KubeServer
from sreops.sandbox.processes import start_aws_standin
from sreops.sandbox.seed import install_crds
from tests.integration import ha_support as ha
from tests.integration.conftest import Aws, Kube, OperatorProcess, wait_for
from tests.logs import print_log

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def audited_kube(tmp_path: Path) -> Iterator[Kube]:
    handle = KubeServer(tmp_path / "kube", audit_log=tmp_path / "audit.jsonl").start_in_thread()
    api = config.new_client_from_config(config_file=str(handle.kubeconfig_path))
    install_crds(api)
    try:
        yield Kube(handle, api)
    finally:
        api.close()
        handle.stop()


@pytest.fixture
def aws_standin(tmp_path: Path) -> Iterator[Aws]:
    proc, env = start_aws_standin(tmp_path / "aws.log")
    try:
        yield Aws(proc, env)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _stop_all(ops: list[OperatorProcess]) -> None:
    for op in ops:
        if op.child.proc is not None and op.child.proc.poll() is None:
            os.kill(op.child.proc.pid, signal.SIGCONT)
        op.stop()
    for op in ops:
        print_log(op.child.log, tail=30)


def _leader(kube: Kube, ops: dict[str, OperatorProcess], lease: str = "sreops-operator") -> OperatorProcess:
    name = wait_for(lambda: ha.lease_holder(kube, lease), timeout=20)
    return ops[name]


def _converged(kube: Kube, aws: Aws, names: set[str], timeout: float) -> None:
    wait_for(lambda: not ha.not_ready(kube, names), timeout=timeout, interval=0.5)
    baselines, windows = ha.ssm_resources(aws)
    expected = {f"sreops-{ha.NAMESPACE}-{n}" for n in names}
    assert {b: c for b, c in baselines.items() if b in expected} == dict.fromkeys(expected, 1)
    assert {w: c for w, c in windows.items() if w in expected} == dict.fromkeys(expected, 1)


def _takeover(
    kube: Kube, ops: dict[str, OperatorProcess], old: OperatorProcess, started: float, lease: str = "sreops-operator"
) -> float:
    """Seconds from the failure until another replica holds the lease."""
    wait_for(lambda: ha.lease_holder(kube, lease) not in ("", old.child.name), timeout=30, interval=0.1)
    return time.monotonic() - started


def _apply_in_background(kube: Kube, docs: list[dict[str, object]]) -> threading.Thread:
    thread = threading.Thread(target=ha.apply_all, args=(kube, docs, 4))
    thread.start()
    return thread


@pytest.fixture
def chat(tmp_path: Path) -> Iterator[ChatSandbox]:
    sandbox = ThreadedChatSandbox(ChatSandbox(tmp_path / "chat"))
    try:
        yield sandbox.start()
    finally:
        sandbox.stop()


def _notify_on_run_start(kube: Kube, chat: ChatSandbox) -> None:
    """A Notifier posting each run's RunStarted to Slack: across failovers no message may be posted twice."""
    client.CoreV1Api(kube.api).create_namespaced_secret(
        ha.NAMESPACE,
        client.V1Secret(metadata=client.V1ObjectMeta(name="slack-bot"), string_data={"token": chat.slack_token}),
    )
    spec = {
        "slack": {"channel": "#sre-alerts", "tokenSecretRef": {"name": "slack-bot", "key": "token"}},
        "selector": {"kinds": ["PatchRun"], "matchLabels": {"team": "web"}},
        "events": ["RunStarted"],
        "rateLimit": {"perMinute": 60},
    }
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Notifier", "metadata": {"name": "runs"}, "spec": spec}
    client.CustomObjectsApi(kube.api).create_namespaced_custom_object(GROUP, VERSION, ha.NAMESPACE, "notifiers", body)


def _slack_posts(chat: ChatSandbox) -> Counter[tuple[str, str | None, str]]:
    path = chat.slack_messages_path
    lines = path.read_text().splitlines() if path.exists() else []
    return Counter(
        (m["channel"], m.get("thread_ts"), m["text"])
        for m in (json.loads(line) for line in lines)
        if m["method"] == "chat.postMessage"
    )


def test_the_standby_takes_over_from_a_killed_and_from_a_paused_leader(
    audited_kube: Kube, aws_standin: Aws, chat: ChatSandbox, tmp_path: Path
) -> None:
    kube, aws = audited_kube, aws_standin
    size = 200 if ha.full_size() else 10
    # How long 200 policies and their runs take to converge on this 2-core machine (the operator, the standby
    # and both stand-ins share it); the takeover itself is bounded by the lease, asserted below.
    settle = 300.0 if size > 20 else 60.0
    _notify_on_run_start(kube, chat)
    slack = Aws(aws.proc, {**aws.env, "SREOPS_SLACK_API_URL": chat.slack_api_url})  # the replicas' environment
    ops = {n: ha.replica(kube, slack, tmp_path, n) for n in ("op-0", "op-1")}
    try:
        for op in ops.values():
            op.start()  # a standby is healthy too
        leader = _leader(kube, ops)
        assert ha.lease_spec(kube).lease_duration_seconds == int(ha.LEASE_DURATION)

        # -- SIGKILL during an apply -----------------------------------------------------------------------
        first = [ha.policy(f"k{i}", run_now="v1") for i in range(size)]
        applying = _apply_in_background(kube, first)
        wait_for(lambda: len(ha.not_ready(kube, {d["metadata"]["name"] for d in first})) < size, timeout=settle)
        transitions = ha.lease_spec(kube).lease_transitions
        assert leader.child.proc is not None
        leader.child.proc.send_signal(signal.SIGKILL)
        took = _takeover(kube, ops, leader, time.monotonic())
        applying.join()
        assert took <= ha.LEASE_DURATION + ha.RETRY_PERIOD + 1.5, took  # + the poll and the acquire request
        assert ha.lease_spec(kube).lease_transitions == transitions + 1
        names = {d["metadata"]["name"] for d in first}
        _converged(kube, aws, names, timeout=settle)
        wait_for(
            lambda: len([r for r in ha.patch_runs(kube) if r["spec"]["policyRef"]["name"] in names]) >= size,
            timeout=settle,
        )
        runs = [r for r in ha.patch_runs(kube) if r["spec"]["policyRef"]["name"] in names]
        assert sorted(r["spec"]["policyRef"]["name"] for r in runs) == sorted(names)  # one run per value
        wait_for(lambda: ha.send_commands(aws) >= size, timeout=settle)
        leader.child.proc.wait()
        ops[leader.child.name].child.start()  # the killed one comes back as a standby (as its Deployment would)

        # -- SIGSTOP during an apply; SIGCONT after the takeover ---------------------------------------------
        leader = _leader(kube, ops)
        second = [ha.policy(f"s{i}", run_now="v1") for i in range(size)]
        applying = _apply_in_background(kube, second)
        wait_for(lambda: len(ha.not_ready(kube, {d["metadata"]["name"] for d in second})) < size, timeout=settle)
        assert leader.child.proc is not None
        leader.child.proc.send_signal(signal.SIGSTOP)
        took = _takeover(kube, ops, leader, time.monotonic())
        applying.join()
        assert took <= ha.LEASE_DURATION + ha.RETRY_PERIOD + 1.5, took
        resumed_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        leader.child.proc.send_signal(signal.SIGCONT)
        assert leader.child.proc.wait(timeout=10) == 75  # it noticed its lease was stale and stopped
        names2 = {d["metadata"]["name"] for d in second}
        _converged(kube, aws, names | names2, timeout=settle)
        wanted = names | names2

        def runs_of_both() -> list[str]:
            return sorted(
                r["spec"]["policyRef"]["name"] for r in ha.patch_runs(kube) if r["spec"]["policyRef"]["name"] in wanted
            )

        wait_for(lambda: len(runs_of_both()) >= 2 * size, timeout=settle)
        assert runs_of_both() == sorted(wanted)  # one run per value
        wait_for(lambda: ha.send_commands(aws) >= 2 * size, timeout=settle)
        time.sleep(2 * ha.RESYNC)  # two resync intervals: any duplicate command would have been sent by now
        assert ha.send_commands(aws) == 2 * size  # each run-now value ran once, across both failovers
        # The resumed process started nothing after it was resumed: the only writes the server received from it
        # then (a refused lease write aside) were requests already past the fence when it was paused, which
        # arrive in the first instant after SIGCONT; the duplicate checks above show they changed nothing.
        user = f"system:serviceaccount:sreops:{leader.child.name}"
        late = [
            e["requestReceivedTimestamp"]
            for e in ha.audit(tmp_path / "audit.jsonl")
            if e["user"].get("username") == user
            and e["requestReceivedTimestamp"] >= resumed_at
            and e.get("verb") not in ("get", "list", "watch")
            and (e.get("objectRef") or {}).get("resource") != "leases"
        ]
        resumed = datetime.strptime(resumed_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        for stamp in late:
            at = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
            assert (at - resumed).total_seconds() < 0.5, (stamp, resumed_at)
        assert "refusing to act" in leader.child.log.read_text() or "stopping:" in leader.child.log.read_text()
        # Every run's start was announced, and no message twice, across both failovers (the delivery ledger).
        started = {r["metadata"]["name"] for r in ha.patch_runs(kube) if r["spec"]["policyRef"]["name"] in wanted}

        def unannounced() -> set[str]:
            texts = " ".join(text for _, _, text in _slack_posts(chat))
            return {name for name in started if f"PatchRun {name} " not in texts}

        wait_for(lambda: not unannounced(), timeout=settle, on_timeout=lambda: print("unannounced:", unannounced()))
        assert [k for k, n in _slack_posts(chat).items() if n > 1] == []
    finally:
        _stop_all(list(ops.values()))


def _relabel(kube: Kube, name: str, shard: str | None) -> None:
    client.CustomObjectsApi(kube.api).patch_namespaced_custom_object(
        GROUP, VERSION, ha.NAMESPACE, ha.PLURAL, name, {"metadata": {"labels": {ha.SHARD_LABEL: shard}}}
    )


def test_each_shard_reconciles_only_its_objects_and_a_relabel_moves_them_without_duplicates(
    audited_kube: Kube, aws_standin: Aws, tmp_path: Path
) -> None:
    kube, aws = audited_kube, aws_standin
    per_shard = 750 if ha.full_size() else 5
    moved = 100 if ha.full_size() else 3
    shards = {"a": "a", "b": "b", "c": "c", "none": None} if ha.full_size() else {"a": "a", "b": "b", "none": None}
    # The chart's election durations: creating 3,000 objects stalls the in-process Kubernetes stand-in for longer
    # than the failover tests' 3 s renew deadline (every shard lost its lease at once); failover is tested above.
    election = ha.DEFAULT_ELECTION if ha.full_size() else ()
    ops = {f"shard-{s}": ha.replica(kube, aws, tmp_path, f"shard-{s}", f"--shard={s}", *election) for s in shards}
    try:
        for op in ops.values():
            op.child.spawn()
        for op in ops.values():
            op.child.wait_healthy(60)
        docs = [ha.policy(f"{s}-{i}", shard=label) for s, label in shards.items() for i in range(per_shard)]
        ha.apply_all(kube, docs)
        names = {d["metadata"]["name"] for d in docs}
        _converged(kube, aws, names, timeout=900 if ha.full_size() else 60)
        for s in shards:
            assert ha.lease_holder(kube, f"sreops-operator-{s}") == f"shard-{s}"
        writers = ha.writers_by_policy(tmp_path / "audit.jsonl")
        for name in names:
            assert writers.get(name) == {f"shard-{name.split('-', 1)[0]}"}, (name, writers.get(name))

        # Relabel some of a's to b: a lets go (its watch sees them leave), b adopts them by their uid tags.
        since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        movers = [f"a-{i}" for i in range(moved)]
        for name in movers:
            _relabel(kube, name, "b")
        client.CustomObjectsApi(kube.api).patch_namespaced_custom_object(
            GROUP, VERSION, ha.NAMESPACE, ha.PLURAL, movers[0], {"spec": {"window": {"durationHours": 4}}}
        )  # a spec change after the move is reconciled by b alone
        wait_for(
            lambda: (
                "shard-b" in ha.writers_by_policy(tmp_path / "audit.jsonl", since).get(movers[0], set())
                and ha.ready(next(p for p in ha.policies(kube) if p["metadata"]["name"] == movers[0]))
            ),
            timeout=300 if ha.full_size() else 60,  # the new shard's watch has the other 99 moves to take in too
            on_timeout=lambda: print(next(p for p in ha.policies(kube) if p["metadata"]["name"] == movers[0])),
        )
        # From now on (a write of a's already under way at the relabel has landed) only b writes them.
        settled = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        time.sleep(2 * ha.RESYNC)  # two resyncs: the old shard would have written again by now if it still held them
        late = ha.writers_by_policy(tmp_path / "audit.jsonl", settled)
        for name in movers:
            assert "shard-a" not in late.get(name, set()), (name, late.get(name))
        _converged(kube, aws, names, timeout=300 if ha.full_size() else 60)  # still one baseline and window each
    finally:
        _stop_all(list(ops.values()))
