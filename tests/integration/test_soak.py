"""Soak: the real operator under continuous activity on every kind, across many watch reconnects.

The operator's watches last `--watch-timeout-seconds=3`, so kopf reconnects each of them from its last
resourceVersion every few seconds, while objects of all kinds (ours, Secrets, ConfigMaps, Events) are
created, changed and deleted, references appear after the objects that name them, and runs are started.
It asserts the operator process never exits, every object converges, and its log has no handler error.

`make test` runs it for SREOPS_SOAK_SECONDS (default 30: ten watch reconnects); `make soak` for 30 minutes,
printing what it counted.
"""

from __future__ import annotations

import os
import random
import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from sreops.operator.api import GROUP, KINDS, VERSION
from sreops.operator.api.reasons import WAITING
from sreops.sandbox.aws.scenario import SANDBOX_EXTERNAL_ID
from sreops.sandbox.processes import operator_child
from sreops.sandbox.seed import ensure_namespace
from tests.integration.conftest import Aws, Kube, wait_for
from tests.logs import print_log

pytestmark = [pytest.mark.integration, pytest.mark.slow]
NS = "soak"
WATCH_TIMEOUT = 3
MAX_POLICIES = 12
NEVER = "0 3 1 1 *"
ROLE = "arn:aws:iam::111122223333:role/sreops"
# What the log of a healthy operator never holds.
LOG_FAILURES = ("Traceback", "unrecoverable", "failed temporarily", "failed permanently", "failed with an exception")
# Except this retry, which is right: a policy deleted before its account is verified keeps its finalizer
# until the account can be used to delete what it may have created (kopf logs each retry as an error).
EXPECTED_RETRY = re.compile(r"Handler 'cleanup' failed temporarily: AWSAccount late: not verified yet$")


def _soak_seconds() -> float:
    return float(os.environ.get("SREOPS_SOAK_SECONDS", "30"))


class Activity:
    """Random but seeded changes to every kind, at most MAX_POLICIES policies at a time."""

    def __init__(self, kube: Kube, aws: Aws, seed: int) -> None:
        self.kube = kube
        self.aws = aws
        self.rng = random.Random(seed)
        self.counts: Counter[str] = Counter()
        self.serial = 0
        self.policies: set[str] = set()
        self.runs: set[str] = set()
        self.late_account = False

    # -- helpers --------------------------------------------------------------------------------------
    def _name(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}-{self.serial}"

    def _custom(self, verb: str, plural: str, *args: Any) -> Any:
        fn = getattr(self.kube.custom, f"{verb}_namespaced_custom_object")
        return fn(GROUP, VERSION, NS, plural, *args)

    def _secret(self, name: str, data: dict[str, str]) -> None:
        body = client.V1Secret(metadata=client.V1ObjectMeta(name=name), string_data=data)
        try:
            self.kube.core.create_namespaced_secret(NS, body)
        except ApiException as exc:
            if exc.status != 409:
                raise
            self.kube.core.patch_namespaced_secret(name, NS, {"stringData": data})

    # -- actions --------------------------------------------------------------------------------------
    def create_policy(self) -> None:
        if len(self.policies) >= MAX_POLICIES:
            return self.delete_policy()
        name = self._name("pp")
        # Some name the account that is created later: they wait for it, then follow.
        account = self.rng.choice([None, "prod", "late"])
        spec: dict[str, Any] = {
            "targets": {"tags": {"Role": self.rng.choice(["web", "db"]), "Env": "prod"}},
            "operatingSystem": "AMAZON_LINUX_2023",
            "schedule": {"cron": NEVER, "timezone": "UTC"},
            "regions": ["us-west-2"],
        }
        if account:
            spec["accountRef"] = {"name": account}
        self._custom("create", "patchpolicies", {"metadata": {"name": name}, "spec": spec})
        self.policies.add(name)
        self.counts["PatchPolicy created"] += 1
        return None

    def update_policy(self) -> None:
        if not self.policies:
            return self.create_policy()
        name = self.rng.choice(sorted(self.policies))
        rollout = {"maxConcurrency": f"{self.rng.randint(1, 9) * 10}%", "maxErrors": str(self.rng.randint(0, 3))}
        self._custom("patch", "patchpolicies", name, {"spec": {"rollout": rollout}})
        self.counts["PatchPolicy updated"] += 1
        return None

    def delete_policy(self) -> None:
        if not self.policies:
            return
        name = self.rng.choice(sorted(self.policies))
        self._custom("delete", "patchpolicies", name)
        self.policies.discard(name)
        self.runs = {r for r in self.runs if not r.startswith(f"{name}/")}
        self.counts["PatchPolicy deleted"] += 1
        return

    def run_now(self) -> None:
        if not self.policies:
            return
        name = self.rng.choice(sorted(self.policies))
        value = self._name("now")
        self._custom("patch", "patchpolicies", name, {"metadata": {"annotations": {"sreops.io/run-now": value}}})
        self.counts["run-now"] += 1
        return

    def create_run(self) -> None:
        if not self.policies:
            return
        policy = self.rng.choice(sorted(self.policies))
        name = self._name("run")
        self._custom("create", "patchruns", {"metadata": {"name": name}, "spec": {"policyRef": {"name": policy}}})
        self.runs.add(f"{policy}/{name}")
        self.counts["PatchRun created"] += 1
        return

    def scan_and_notifier(self) -> None:
        name = self._name("scan")
        spec = {"schedule": {"cron": "0 * * * *", "timezone": "UTC"}, "accountRef": {"name": "prod"}}
        self._custom("create", "scanschedules", {"metadata": {"name": name}, "spec": spec})
        notifier = {"slack": {"channel": "#sre", "tokenSecretRef": {"name": "slack-bot", "key": "token"}}}
        self._custom("create", "notifiers", {"metadata": {"name": self._name("ntf")}, "spec": notifier})
        self.counts["ScanSchedule+Notifier created"] += 1
        return

    def other_kinds(self) -> None:
        name = self._name("noise")
        self.kube.core.create_namespaced_config_map(
            NS, client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name), data={"n": name})
        )
        self._secret("noise", {"n": name})
        self.kube.core.create_namespaced_event(
            NS,
            client.CoreV1Event(
                metadata=client.V1ObjectMeta(name=name),
                involved_object=client.V1ObjectReference(kind="ConfigMap", name=name, namespace=NS),
                reason="Soak",
                message="noise",
                type="Normal",
            ),
        )
        if self.rng.random() < 0.5:
            self.kube.core.delete_namespaced_config_map(name, NS)
        self.counts["ConfigMap/Secret/Event changes"] += 1
        return

    def step(self, elapsed_fraction: float) -> None:
        if not self.late_account and elapsed_fraction > 0.3:
            # The account some policies named from the start; its Secret comes last.
            account = {
                "metadata": {"name": "late"},
                "spec": {"roleArn": ROLE, "externalIdSecretRef": {"name": "late-aws", "key": "externalId"}},
            }
            self._custom("create", "awsaccounts", account)
            self._secret("late-aws", {"externalId": SANDBOX_EXTERNAL_ID})
            self.late_account = True
            self.counts["late AWSAccount created"] += 1
        actions: list[tuple[float, Callable[[], None]]] = [
            (3, self.create_policy),
            (3, self.update_policy),
            (1.5, self.delete_policy),
            (1.5, self.run_now),
            (1, self.create_run),
            (0.5, self.scan_and_notifier),
            (3, self.other_kinds),
        ]
        action = self.rng.choices([a for _, a in actions], weights=[w for w, _ in actions])[0]
        action()


def _ready(obj: dict[str, Any]) -> dict[str, Any]:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == "Ready"), {})


def _unconverged(kube: Kube) -> list[str]:
    """Objects whose status does not (yet) describe their current spec, or that are not where they should be."""
    wrong = []
    for kind in KINDS.values():
        for obj in kube.custom.list_namespaced_custom_object(GROUP, VERSION, NS, kind.plural)["items"]:
            meta, status, ready = obj["metadata"], obj.get("status") or {}, _ready(obj)
            label = f"{kind.kind}/{meta['name']}: {ready.get('status')} {ready.get('reason')} {ready.get('message')}"
            if meta.get("deletionTimestamp"):
                wrong.append(f"{label} (still deleting)")
            elif status.get("observedGeneration") != meta["generation"]:
                wrong.append(f"{label} (generation {meta['generation']} not observed)")
            elif kind.kind in ("AWSAccount", "PatchPolicy", "ScanSchedule") and ready.get("status") != "True":
                wrong.append(label)
            elif kind.kind == "PatchRun" and not status.get("finishedAt") and not _orphan(kube, obj):
                wrong.append(f"{label} (not finished)")
            elif kind.kind == "Notifier" and (not ready or ready.get("reason") in WAITING):
                wrong.append(label)
    return wrong


def _orphan(kube: Kube, run: dict[str, Any]) -> bool:
    """A run whose policy was deleted before the run was adopted waits for it, as it should."""
    if _ready(run).get("reason") != "PolicyNotFound":
        return False
    try:
        kube.custom.get_namespaced_custom_object(GROUP, VERSION, NS, "patchpolicies", run["spec"]["policyRef"]["name"])
    except ApiException as exc:
        return exc.status == 404
    return False


def test_operator_survives_watch_reconnects_under_continuous_activity(kube: Kube, aws: Aws, tmp_path: Path) -> None:
    duration = _soak_seconds()
    ensure_namespace(kube.api, NS)
    for name, data in (
        ("prod-aws", {"externalId": SANDBOX_EXTERNAL_ID}),
        ("slack-bot", {"token": "xoxb-soak"}),
    ):
        kube.core.create_namespaced_secret(
            NS, client.V1Secret(metadata=client.V1ObjectMeta(name=name), string_data=data)
        )
    account = {
        "metadata": {"name": "prod"},
        "spec": {"roleArn": ROLE, "externalIdSecretRef": {"name": "prod-aws", "key": "externalId"}},
    }
    kube.custom.create_namespaced_custom_object(GROUP, VERSION, NS, "awsaccounts", account)
    operator, _ = operator_child(
        {**aws.env, "KUBECONFIG": str(kube.kubeconfig), "HOME": str(tmp_path), "AWS_MAX_ATTEMPTS": "2"},
        tmp_path / "operator.log",
        "--resync-seconds=5",
        "--run-poll-seconds=1",
        f"--watch-timeout-seconds={WATCH_TIMEOUT}",
        "--default-region=us-west-2",
    )
    operator.start()
    hub = kube.handle.server.hub
    resumed_before = hub.resumed
    activity = Activity(kube, aws, seed=int(os.environ.get("SREOPS_SOAK_SEED", "8")))
    try:
        assert operator.proc is not None
        pid = operator.proc.pid
        start = time.monotonic()
        last_advance = start
        while (elapsed := time.monotonic() - start) < duration:
            activity.step(elapsed / duration)
            if time.monotonic() - last_advance > 5:
                aws.advance("10m")  # runs in progress finish
                last_advance = time.monotonic()
            assert operator.running, f"the operator exited: {operator.log.read_text()[-3000:]}"
            time.sleep(0.3)

        def converged() -> bool:
            # The simulated clock moves on while waiting: a run sent after the activity stopped (it waited for
            # its policy) finishes too. The 30-minute soak failed on two such runs with the clock frozen.
            aws.advance("10m")
            return not _unconverged(kube)

        wait_for(converged, timeout=180, interval=2.0)
        assert operator.running and operator.proc.pid == pid
        log = operator.log.read_text()
        failures = [
            line
            for line in log.splitlines()
            if any(f in line for f in LOG_FAILURES) and not EXPECTED_RETRY.search(line)
        ]
        assert failures == [], "\n".join(failures[:20])
        resumed = hub.resumed - resumed_before
        # Each of kopf's watches (five kinds, Secrets, CRDs) reconnected from its resourceVersion every few seconds.
        assert resumed >= 7 * duration / (2 * WATCH_TIMEOUT)
        print(f"\nsoak: {duration:.0f} s, {resumed} watches resumed from a resourceVersion, operator exits 0")
        for what, n in sorted(activity.counts.items()):
            print(f"soak: {what}: {n}")
        print(f"soak: every object converged ({sum(1 for _ in _objects(kube))} at the end)")
    finally:
        print("unconverged:", *_unconverged(kube)[:30], sep="\n  ")
        operator.stop()
        print_log(operator.log)


def _objects(kube: Kube) -> list[dict[str, Any]]:
    return [
        obj
        for kind in KINDS.values()
        for obj in kube.custom.list_namespaced_custom_object(GROUP, VERSION, NS, kind.plural)["items"]
    ]
