"""The fault suite's environment and checker.

Environment: the Kubernetes stand-in (in-process, with its fault control), the AWS stand-in (a child process,
faults and credentials through its admin API), the chat stand-ins (in-process) and the real operator process,
restarted by `ProcessFaults` whenever it exits (as the sandbox's supervisor and a kubelet do).

Checker: compares what the stand-ins hold with what the specs ask for, per scenario:
- converged: every AWSAccount, PatchPolicy and ScanSchedule Ready for its generation, every Notifier Ready,
  every PatchRun finished with a terminal condition, nothing left deleting;
- duplicates: AWS baselines or windows beyond one per (policy uid, account, region); PatchRuns beyond one per
  run-now value; Slack messages posted twice (same channel, thread and text);
- orphans: AWS baselines or windows tagged with a sreops uid that no live policy has;
- lost: a (policy, account, region) without its baseline or window; a run-now value with no PatchRun;
  a PatchRun with no terminal condition.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from sreops.operator.api import GROUP, VERSION
from sreops.sandbox.aws.scenario import SANDBOX_EXTERNAL_ID
from sreops.sandbox.chat.server import ChatSandbox, ThreadedChatSandbox
from sreops.sandbox.kube.server import KubeServer, ThreadHandle
from sreops.sandbox.process_faults import ProcessFaults
from sreops.sandbox.processes import Child, operator_child, start_aws_standin
from sreops.sandbox.seed import ensure_namespace, ensure_secret, install_crds

REGIONS = ["us-west-2", "us-east-1"]
HOME = "123456789012"
PROD = "111122223333"
PROD_ROLE = f"arn:aws:iam::{PROD}:role/sreops"
NEVER = "0 3 1 1 *"
KINDS = ("awsaccounts", "patchpolicies", "patchruns", "scanschedules", "notifiers")


def full() -> bool:
    """`make faults` sets SREOPS_FAULTS_FULL=1: the sizes of the issue; otherwise the reduced form."""
    return os.environ.get("SREOPS_FAULTS_FULL") == "1"


@dataclass
class Row:
    scenario: str
    faults: str
    objects: int = 0
    converged: bool = False
    duplicates: int = 0
    orphans: int = 0
    lost: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.converged and not (self.duplicates or self.orphans or self.lost)


def table(rows: list[Row]) -> str:
    head = ("SCENARIO", "FAULTS INJECTED", "OBJECTS", "CONVERGED", "DUPLICATES", "ORPHANS", "LOST", "SECONDS")
    body = [
        (r.scenario, r.faults, str(r.objects), "yes" if r.converged else "NO", str(r.duplicates), str(r.orphans),
         str(r.lost), f"{r.seconds:.0f}")
        for r in rows
    ]  # fmt: skip
    widths = [max(len(x) for x in col) for col in zip(head, *body, strict=True)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in [head, *body])


def _http(method: str, url: str, body: Any = None, token: str | None = None, cafile: str | None = None) -> Any:
    import ssl  # noqa: PLC0415

    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    ctx = ssl.create_default_context(cafile=cafile) if cafile else None
    with urllib.request.urlopen(req, timeout=30, context=ctx) as resp:
        return json.loads(resp.read() or b"null")


class Env:
    """Stand-ins + operator; namespaces per scenario share them."""

    def __init__(self, workdir: Path, kube: ThreadHandle, aws_proc: Any, aws_env: dict[str, str]) -> None:
        self.workdir = workdir
        self.kube = kube
        self.aws_proc = aws_proc
        self.aws_env = aws_env
        self.api = config.new_client_from_config(config_file=str(kube.kubeconfig_path))
        self.custom = client.CustomObjectsApi(self.api)
        self.core = client.CoreV1Api(self.api)
        self.chat_thread = ThreadedChatSandbox(ChatSandbox(workdir / "chat"))
        self.chat = self.chat_thread.start()
        self.operator: Child | None = None
        self.process_faults: ProcessFaults | None = None
        self.kills = 0

    # -- stand-in controls -----------------------------------------------------------------------------
    def aws_admin(self, method: str, path: str, body: Any = None) -> Any:
        return _http(method, f"{self.aws_env['AWS_ENDPOINT_URL']}/_sandbox/{path}", body)

    def kube_faults(self, spec: str) -> Any:
        cafile = str(self.kube.server.state_dir / "ca.crt")
        return _http("PUT", f"{self.kube.url}/_sandbox/faults", {"spec": spec}, self.kube.token, cafile)

    def chat_faults(self, spec: str) -> Any:
        return _http("PUT", f"{self.chat.base_url}/_sandbox/faults", {"spec": spec})

    def clear_faults(self) -> None:
        self.aws_admin("DELETE", "faults")
        self.kube_faults("")
        self.chat_faults("")

    # -- operator ----------------------------------------------------------------------------------------
    def start_operator(self, process_spec: str = "", seed: int = 0) -> None:
        child, _ = operator_child(
            {
                **self.aws_env,
                "SREOPS_SLACK_API_URL": self.chat.slack_api_url,
                "KUBECONFIG": str(self.kube.kubeconfig_path),
                "HOME": str(self.workdir),
                "AWS_MAX_ATTEMPTS": "3",
            },
            self.workdir / "operator.log",
            "--resync-seconds=5",
            "--run-poll-seconds=1",
            "--default-region=us-west-2",
        )
        self.operator = child
        child.start()
        self.process_faults = ProcessFaults(child, process_spec, seed=seed)

    def tick(self) -> None:
        if self.process_faults is not None:
            self.process_faults.tick()

    def wait(self, predicate: Callable[[], Any], timeout: float, interval: float = 0.5) -> bool:
        """Polls `predicate` (ticking the process faults) until it holds; False after `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.tick()
            if predicate():
                return True
            time.sleep(interval)
        return False

    def stop(self) -> None:
        if self.operator is not None:
            self.operator.stop()
        self.chat_thread.stop()
        self.api.close()

    # -- objects -----------------------------------------------------------------------------------------
    def namespace(self, ns: str, account: bool = False) -> None:
        ensure_namespace(self.api, ns)
        ensure_secret(self.api, ns, "slack-bot", {"token": self.chat.slack_token})
        if account:
            ensure_secret(self.api, ns, "prod-aws", {"externalId": SANDBOX_EXTERNAL_ID})
            self.create(
                ns,
                "awsaccounts",
                "prod",
                {"roleArn": PROD_ROLE, "externalIdSecretRef": {"name": "prod-aws", "key": "externalId"}},
            )

    def create(self, ns: str, plural: str, name: str, spec: dict[str, Any], **meta: Any) -> None:
        body = {"metadata": {"name": name, **meta}, "spec": spec}
        self._retry(lambda: self.custom.create_namespaced_custom_object(GROUP, VERSION, ns, plural, body))

    def patch(self, ns: str, plural: str, name: str, body: dict[str, Any]) -> None:
        self._retry(lambda: self.custom.patch_namespaced_custom_object(GROUP, VERSION, ns, plural, name, body))

    def delete(self, ns: str, plural: str, name: str) -> None:
        self._retry(lambda: self.custom.delete_namespaced_custom_object(GROUP, VERSION, ns, plural, name))

    def items(self, ns: str, plural: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._retry(
            lambda: self.custom.list_namespaced_custom_object(GROUP, VERSION, ns, plural)
        )["items"]
        return result

    def _retry(self, call: Callable[[], Any]) -> Any:
        """The test's own requests wait out the faults it injected, as kubectl's users would retry: 429 and
        500 are retried; 409 AlreadyExists on a create that went through is success."""
        for _ in range(50):
            try:
                return call()
            except ApiException as exc:
                if exc.status == 409 and "already exists" in (exc.body or ""):
                    return None
                if exc.status in (429, 500, 409):
                    time.sleep(0.2)
                    continue
                raise
        raise AssertionError("the test's own request kept failing")

    def policy_spec(self, account: bool = False) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "targets": {"tags": {"Role": "web", "Env": "prod"}},
            "operatingSystem": "AMAZON_LINUX_2023",
            "schedule": {"cron": NEVER, "timezone": "UTC"},
            "regions": REGIONS,
            "operation": "Scan",
        }
        if account:
            spec["accountRef"] = {"name": "prod"}
        return spec

    def apply_fleet(self, ns: str, policies: int, schedules: int, notifiers: int, account: bool = False) -> None:
        for n in range(policies):
            self.create(ns, "patchpolicies", f"pp-{n:03d}", self.policy_spec(account), labels={"team": "web"})
        for n in range(schedules):
            spec = {"schedule": {"cron": "0 * * * *", "timezone": "UTC"}, "regions": REGIONS}
            self.create(ns, "scanschedules", f"scan-{n:02d}", spec)
        for n in range(notifiers):
            spec = {
                "slack": {"channel": "#sre-alerts", "tokenSecretRef": {"name": "slack-bot", "key": "token"}},
                "selector": {"kinds": ["PatchRun"], "matchLabels": {"notify": f"n{n}"}},
                "events": ["RunSucceeded", "RunFailed"],
            }
            self.create(ns, "notifiers", f"ntf-{n:02d}", spec)

    # -- AWS as it is --------------------------------------------------------------------------------------
    def ssm(self, account: str, region: str) -> Any:
        cfg = Config(retries={"mode": "standard", "total_max_attempts": 10})
        kw: dict[str, Any] = {
            "endpoint_url": self.aws_env["AWS_ENDPOINT_URL"],
            "region_name": region,
            "aws_access_key_id": self.aws_env["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": self.aws_env["AWS_SECRET_ACCESS_KEY"],
            "config": cfg,
        }
        if account != HOME:
            creds = boto3.client("sts", **kw).assume_role(
                RoleArn=PROD_ROLE, RoleSessionName="fault-checker", ExternalId=SANDBOX_EXTERNAL_ID
            )["Credentials"]
            kw.update(
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
            )
        return boto3.client("ssm", **kw)

    def owned(self, account: str) -> Counter[tuple[str, str, str]]:
        """(kind, uid, region) -> how many baselines/windows in AWS carry that sreops uid."""
        found: Counter[tuple[str, str, str]] = Counter()
        for region in REGIONS:
            ssm = self.ssm(account, region)
            baselines = [
                b["BaselineId"]
                for page in ssm.get_paginator("describe_patch_baselines").paginate(
                    Filters=[{"Key": "OWNER", "Values": ["Self"]}]
                )
                for b in page["BaselineIdentities"]
            ]
            windows = [
                w["WindowId"]
                for page in ssm.get_paginator("describe_maintenance_windows").paginate()
                for w in page["WindowIdentities"]
            ]
            for kind, ids in (("PatchBaseline", baselines), ("MaintenanceWindow", windows)):
                for rid in ids:
                    tags = {
                        t["Key"]: t["Value"]
                        for t in ssm.list_tags_for_resource(ResourceType=kind, ResourceId=rid)["TagList"]
                    }
                    if "sreops.io/uid" in tags:
                        found[(kind, tags["sreops.io/uid"], region)] += 1
        return found

    def slack_duplicates(self) -> int:
        path = self.chat.slack_messages_path
        if not path.exists():
            return 0
        posts = Counter(
            (m["channel"], m.get("thread_ts"), m["text"])
            for m in (json.loads(line) for line in path.read_text().splitlines())
            if m["method"] == "chat.postMessage"
        )
        return sum(n - 1 for n in posts.values() if n > 1)

    def rss_mib(self) -> float:
        pid = self.operator.pid if self.operator else None
        if pid is None:
            return 0.0
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0


def _ready(obj: dict[str, Any]) -> dict[str, Any]:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == "Ready"), {})


def unconverged(env: Env, ns: str) -> list[str]:
    wrong: list[str] = []
    for plural in KINDS:
        for obj in env.items(ns, plural):
            md, status = obj["metadata"], obj.get("status") or {}
            label = f"{plural}/{md['name']}"
            ready = _ready(obj)
            if md.get("deletionTimestamp"):
                wrong.append(f"{label} deleting")
            elif plural == "patchruns":
                terminal = [
                    c
                    for c in status.get("conditions") or []
                    if c["type"] in ("Complete", "Failed") and c["status"] == "True"
                ]
                if not terminal:
                    wrong.append(f"{label} not finished ({ready.get('reason')})")
            elif plural == "notifiers":
                if ready.get("status") != "True":
                    wrong.append(f"{label} {ready.get('reason')}")
            elif status.get("observedGeneration") != md["generation"] or ready.get("status") != "True":
                wrong.append(f"{label} {ready.get('status')} {ready.get('reason')} {ready.get('message', '')[:80]}")
    return wrong


def check(env: Env, row: Row, namespaces: list[str], accounts: list[str], run_now: dict[str, str] | None = None) -> Row:
    """Fills the row from what the stand-ins hold (faults cleared first, so reading is not what fails)."""
    env.clear_faults()
    wrong = [w for ns in namespaces for w in unconverged(env, ns)]
    row.converged = not wrong
    row.notes += wrong[:10]
    row.objects = sum(len(env.items(ns, plural)) for ns in namespaces for plural in KINDS)
    # Live policies of every namespace (other scenarios' resources are theirs, not orphans); expected ones
    # only of this scenario's namespaces.
    everywhere = env.custom.list_cluster_custom_object(GROUP, VERSION, "patchpolicies")["items"]
    live = {p["metadata"]["uid"]: p for p in everywhere}
    mine = {p["metadata"]["uid"]: p for p in everywhere if p["metadata"]["namespace"] in namespaces}
    owned: Counter[tuple[str, str, str]] = Counter()
    for account in accounts:
        owned += env.owned(account)
    for (kind, uid, region), n in owned.items():
        if uid not in live:
            row.orphans += n
            row.notes.append(f"orphan {kind} of uid {uid} in {region}")
        elif n > 1 and uid in mine:
            row.duplicates += n - 1
            row.notes.append(f"{n} x {kind} for {live[uid]['metadata']['name']} in {region}")
    for uid, policy in mine.items():
        for region in policy["spec"].get("regions") or REGIONS:
            for kind in ("PatchBaseline", "MaintenanceWindow"):
                if owned[(kind, uid, region)] == 0:
                    row.lost += 1
                    row.notes.append(f"no {kind} for {policy['metadata']['name']} in {region}")
    if run_now:
        runs = [r for ns in namespaces for r in env.items(ns, "patchruns")]
        per_policy = Counter(r["spec"]["policyRef"]["name"] for r in runs if r["spec"].get("trigger") == "Manual")
        for policy in run_now:
            n = per_policy[policy]
            if n == 0:
                row.lost += 1
                row.notes.append(f"run-now on {policy}: no PatchRun")
            elif n > 1:
                row.duplicates += n - 1
                row.notes.append(f"run-now on {policy}: {n} PatchRuns")
    dup_messages = env.slack_duplicates()
    row.duplicates += dup_messages
    if dup_messages:
        row.notes.append(f"{dup_messages} Slack messages posted twice")
    return row


@contextmanager
def environment(workdir: Path, aws_faults: str = "") -> Iterator[Env]:
    kube = KubeServer(workdir / "kube", persist=False).start_in_thread()
    api = config.new_client_from_config(config_file=str(kube.kubeconfig_path))
    install_crds(api)
    api.close()
    args = ("--faults", aws_faults) if aws_faults else ()
    proc, aws_env = start_aws_standin(workdir / "aws.log", *args)
    env = Env(workdir, kube, proc, aws_env)
    try:
        yield env
    finally:
        env.stop()
        proc.terminate()
        proc.wait(timeout=20)
        kube.stop()
