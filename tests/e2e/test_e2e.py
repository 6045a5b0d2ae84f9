"""What a user sees of sreops, end to end: apply, Ready, run-now once, drift repaired, notifications arrive,
gateway commands act, delete cleans AWS. Written against a kubeconfig, AWS credentials, the Slack Web API and
the gateway's URL only, so the same checks run on the sandbox and on a real cluster and account.

The tests share one set of objects and run in file order (pytest's default); the last one deletes them.
Steps that need the sandbox (its clock, its fault controls, its recordings) skip elsewhere and say so.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from slack_sdk import WebClient

from .cluster import Cluster, condition, owned_in_ssm, patch_group_registered, ready_for_generation, run_ended
from .conftest import E2eRun
from .target import Target, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]
API = "sreops.io/v1alpha1"
READY_TIMEOUT = 120.0
RUN_TIMEOUT = 300.0  # a Scan of a few instances; SSM on a real fleet takes minutes
SANDBOX_ONLY = "needs the sandbox's {}: skipped against a real cluster and account"


@dataclass
class Objects:
    policy: str
    schedule: str
    notifier: str | None  # None without Slack settings
    patch_group: str
    started: float  # time.time() before anything was applied (Slack's `oldest`)


@pytest.fixture(scope="module")
def objects(target: Target, cluster: Cluster, e2e_run: E2eRun) -> Objects:
    """A Notifier (first, so the runs are news to it), an AWSAccount-free PatchPolicy in the home account and
    a ScanSchedule; each Ready for its generation."""
    started = time.time()
    policy, schedule = e2e_run.name("web"), e2e_run.name("scan")
    notifier = None
    if target.slack_token:
        notifier = e2e_run.name("alerts")
        secret = e2e_run.name("slack")
        cluster.apply(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": secret, "labels": e2e_run.labels},
                "stringData": {"token": target.slack_token},
            },
            {
                "apiVersion": API,
                "kind": "Notifier",
                "metadata": {"name": notifier, "labels": e2e_run.labels},
                "spec": {
                    "slack": {"channel": target.slack_channel, "tokenSecretRef": {"name": secret, "key": "token"}},
                    "selector": {"kinds": ["PatchRun"], "matchLabels": e2e_run.labels},
                    "events": ["RunStarted", "RunSucceeded", "RunFailed"],
                },
            },
        )
        wait_for(f"Notifier {notifier} Ready", lambda: ready_for_generation(cluster.get("Notifier", notifier)), 60)
    cluster.apply(
        {
            "apiVersion": API,
            "kind": "PatchPolicy",
            "metadata": {"name": policy, "labels": e2e_run.labels},
            "spec": {
                "regions": [target.region],
                "targets": {"tags": target.target_tags},
                "operatingSystem": "AMAZON_LINUX_2023",
                "baseline": {
                    "approvalRules": [
                        {
                            "classifications": ["Security"],
                            "severities": ["Critical", "Important"],
                            "approveAfterDays": 7,
                        }
                    ]
                },
                # 1 January only: no scheduled window fires while the suite runs, so every run is one of ours.
                "schedule": {"cron": "0 3 1 1 *", "timezone": "UTC"},
                "operation": "Scan",  # reads patch state only: nothing installed, nothing rebooted
                "rebootOption": "NoReboot",
                "rollout": {"maxConcurrency": "50%", "maxErrors": "100%"},
            },
        },
        {
            "apiVersion": API,
            "kind": "ScanSchedule",
            "metadata": {"name": schedule, "labels": e2e_run.labels},
            "spec": {
                "regions": [target.region],
                "resourceTypes": ["EC2"],
                "schedule": {"cron": "0 * * * *", "timezone": "UTC"},
                "targets": {"tags": target.target_tags},
                "severityThreshold": "CRITICAL",
            },
        },
    )
    found = wait_for(
        f"PatchPolicy {policy} Ready",
        lambda: (p := cluster.get("PatchPolicy", policy)) and ready_for_generation(p) and p,
        READY_TIMEOUT,
    )
    e2e_run.policy_uids.add(found["metadata"]["uid"])
    wait_for(
        f"ScanSchedule {schedule} Ready",
        lambda: ready_for_generation(cluster.get("ScanSchedule", schedule)),
        READY_TIMEOUT,
    )
    return Objects(policy, schedule, notifier, f"{cluster.namespace}-{policy}", started)


def test_policy_and_schedule_are_ready_with_their_aws_resources(
    objects: Objects, cluster: Cluster, target: Target
) -> None:
    policy = cluster.get("PatchPolicy", objects.policy)
    assert policy is not None
    assert condition(policy, "Synced")["status"] == "True"
    (placement,) = policy["status"]["targets"]
    assert placement["region"] == target.region
    uid = policy["metadata"]["uid"]
    ssm = target.aws("ssm")
    window = ssm.get_maintenance_window(WindowId=placement["windowId"])
    assert window["Name"] == f"sreops-{cluster.namespace}-{objects.policy}"
    tags = ssm.list_tags_for_resource(ResourceType="MaintenanceWindow", ResourceId=placement["windowId"])["TagList"]
    assert {"Key": "sreops.io/owner", "Value": f"{cluster.namespace}/{objects.policy}"} in tags
    assert {"Key": "sreops.io/uid", "Value": uid} in tags
    assert sorted(owned_in_ssm(target, uid)) == sorted(
        [f"MaintenanceWindow {placement['windowId']}", f"PatchBaseline {placement['baselineId']}"]
    )
    assert patch_group_registered(target, objects.patch_group)
    schedule = cluster.get("ScanSchedule", objects.schedule)
    assert condition(schedule, "Ready")["reason"] == "Scanning"
    enabling = condition(schedule, "ScanningEnabled")
    assert enabling["status"] == "True" or enabling["reason"] == "Enabling", enabling
    (placement,) = schedule["status"]["targets"]  # type: ignore[index]
    assert set(placement.get("enabledBySreops", [])) | set(placement.get("alreadyEnabled", [])) == {"EC2"}


def _run_now(cluster: Cluster, policy: str, value: str) -> dict[str, Any]:
    """Set a new run-now value; the one PatchRun it starts, once it has ended."""
    before = {r["metadata"]["name"] for r in cluster.runs_of(policy)}
    cluster.annotate("PatchPolicy", policy, {"sreops.io/run-now": value})

    new = wait_for(
        f"a PatchRun for run-now {value}",
        lambda: [r for r in cluster.runs_of(policy) if r["metadata"]["name"] not in before],
        READY_TIMEOUT,
    )
    name = new[0]["metadata"]["name"]
    wait_for(f"PatchRun {name} to end", lambda: run_ended(cluster.get("PatchRun", name) or {}), RUN_TIMEOUT)
    after = [r for r in cluster.runs_of(policy) if r["metadata"]["name"] not in before]
    assert [r["metadata"]["name"] for r in after] == [name], "one run-now value started more than one PatchRun"
    run = cluster.get("PatchRun", name)
    assert run is not None
    return run


def test_run_now_starts_exactly_one_patch_run_that_ends(objects: Objects, cluster: Cluster, target: Target) -> None:
    run = _run_now(cluster, objects.policy, f"e2e-{int(time.time())}")
    assert run["spec"]["trigger"] == "Manual" and run["spec"]["operation"] == "Scan"
    status = run["status"]
    assert status["startedAt"] and status["finishedAt"]
    (command,) = status["commandIds"]
    assert command["region"] == target.region
    sent = target.aws("ssm").list_commands(CommandId=command["commandId"])["Commands"]
    assert [c["DocumentName"] for c in sent] == ["AWS-RunPatchBaseline"]
    assert sent[0]["Parameters"]["Operation"] == ["Scan"]
    # The policy reports the run as its last one.
    wait_for(
        "the policy's lastRun",
        lambda: (
            ((cluster.get("PatchPolicy", objects.policy) or {}).get("status") or {}).get("lastRun", {}).get("name")
            == run["metadata"]["name"]
        ),
        60,
    )


def _slack_messages(target: Target, oldest: float) -> list[dict[str, Any]]:
    """Top-level messages of the Notifier's channel since `oldest`, and the replies of their threads."""
    slack = WebClient(token=target.slack_token, base_url=target.slack_api_url or WebClient.BASE_URL)
    name = target.slack_channel.lstrip("#")
    channels = slack.conversations_list(types="public_channel,private_channel", limit=1000)["channels"]
    channel = next((c["id"] for c in channels if name in {c["name"], c["id"]}), None)
    assert channel, f"channel {target.slack_channel} not found by the bot"
    messages = list(slack.conversations_history(channel=channel, oldest=f"{oldest:.6f}", limit=200)["messages"])
    for parent in list(messages):
        if parent.get("reply_count"):
            messages += slack.conversations_replies(channel=channel, ts=parent["ts"])["messages"][1:]
    return messages


def _mentions(message: dict[str, Any], word: str) -> bool:
    return word in message.get("text", "") or word in json.dumps(message.get("blocks") or [])


def test_the_notifier_posts_the_run_to_slack(objects: Objects, cluster: Cluster, target: Target) -> None:
    if objects.notifier is None:
        pytest.skip("no Slack: set SREOPS_E2E_SLACK_TOKEN (and SREOPS_E2E_SLACK_CHANNEL) to check notifications")
    run = cluster.get("PatchPolicy", objects.policy)["status"]["lastRun"]["name"]  # type: ignore[index]
    messages = wait_for(
        f"a Slack message about PatchRun {run} in {target.slack_channel}",
        lambda: [m for m in _slack_messages(target, objects.started) if _mentions(m, run)],
        60,
        interval=2,
    )
    assert messages
    # The Notifier counts what it confirmed.
    wait_for(
        "Notifier status.sent",
        lambda: ((cluster.get("Notifier", objects.notifier or "") or {}).get("status") or {}).get("sent", 0) >= 1,
        60,
    )


def test_the_sandbox_recorded_each_message_once(objects: Objects, target: Target, cluster: Cluster) -> None:
    if target.sandbox is None:
        pytest.skip(SANDBOX_ONLY.format("recordings (DIR/slack/messages.jsonl)"))
    run = cluster.get("PatchPolicy", objects.policy)["status"]["lastRun"]["name"]  # type: ignore[index]
    path = target.sandbox.state_dir / "slack" / "messages.jsonl"
    ours = [m for m in map(json.loads, path.read_text().splitlines()) if _mentions(m, run)]
    posts = [m for m in ours if m["method"] == "chat.postMessage"]
    assert posts, f"nothing about {run} in {path}"
    # One thread per run: one parent; a post is never repeated; updates edit the parent in place.
    parents = [m for m in posts if not m.get("thread_ts")]
    assert len(parents) == 1
    assert len({(m["thread_ts"], m["text"]) for m in posts}) == len(posts)
    assert {m["ts"] for m in ours if m["method"] == "chat.update"} <= {parents[0]["ts"]}


class _ResponseUrl:
    """A local `response_url`: Slack's delayed answers to a slash command arrive here."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                outer.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/commands/e2e"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def response_url(target: Target) -> Iterator[str]:
    if not target.is_sandbox:
        # A real gateway posts only under https://hooks.slack.com/; this one goes nowhere, the answer is inline.
        yield "https://hooks.slack.com/commands/T0E2E/0/e2e"
        return
    receiver = _ResponseUrl()
    try:
        yield receiver.url
    finally:
        receiver.close()


def _signed_slash_command(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    """Slack's request signing: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret."""
    digest = hmac.new(secret.encode(), b"v0:%d:%s" % (timestamp, body), hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_a_signed_slack_run_command_starts_a_chat_run(
    objects: Objects, cluster: Cluster, target: Target, response_url: str
) -> None:
    if not (target.gateway_url and target.slack_signing_secret):
        pytest.skip("no gateway: set SREOPS_E2E_GATEWAY_URL and SREOPS_E2E_SLACK_SIGNING_SECRET to check it")
    text = f"run {objects.policy} -n {cluster.namespace}"
    form = {
        "token": "unused",
        "team_id": target.slack_team_id,
        "team_domain": "e2e",
        "channel_id": "C0E2E",
        "channel_name": "sre-ops",
        "user_id": target.slack_user_id,
        "user_name": "e2e",
        "command": "/sreops",
        "text": text,
        "response_url": response_url,
        "trigger_id": "1.1.e2e",
    }
    body = urllib.parse.urlencode(form).encode()
    url = target.gateway_url + "/slack/commands"
    before = {r["metadata"]["name"] for r in cluster.runs_of(objects.policy)}

    # A wrong signature is refused before anything is read, and changes nothing.
    forged = _signed_slash_command("not-the-secret", body, int(time.time()))
    assert _post(url, body, forged)[0] == 401

    status, answer = _post(url, body, _signed_slash_command(target.slack_signing_secret, body, int(time.time())))
    assert status == 200, answer
    new = wait_for(
        "a PatchRun started from Slack",
        lambda: [r for r in cluster.runs_of(objects.policy) if r["metadata"]["name"] not in before],
        READY_TIMEOUT,
    )
    assert len(new) == 1, "one /sreops run started more than one PatchRun (or the forged one counted)"
    run = new[0]
    assert run["spec"]["trigger"] == "Chat"
    name = run["metadata"]["name"]
    assert name in answer or "Working on it" in answer, answer
    wait_for(f"PatchRun {name} to end", lambda: run_ended(cluster.get("PatchRun", name) or {}), RUN_TIMEOUT)
    audit = cluster.events_for(objects.policy, "ChatOpsAction")
    assert any(target.slack_user_id in (e.message or "") for e in audit), [e.message for e in audit]


def test_the_gateway_api_reports_status_with_a_key(objects: Objects, cluster: Cluster, target: Target) -> None:
    if not (target.gateway_url and target.api_key):
        pytest.skip("no gateway API: set SREOPS_E2E_GATEWAY_URL and SREOPS_E2E_API_KEY to check it")
    query = urllib.parse.urlencode({"namespace": cluster.namespace, "kind": "PatchPolicy", "name": objects.policy})
    url = f"{target.gateway_url}/api/v1/status?{query}"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=10)
    assert refused.value.code == 401
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {target.api_key}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200
        items = json.loads(answer.read())["items"]
    assert [(i["kind"], i["namespace"], i["name"]) for i in items] == [
        ("PatchPolicy", cluster.namespace, objects.policy)
    ]
    assert items[0]["ready"]["status"] == "True"


def _aws_admin(target: Target, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """The sandbox's AWS stand-in controls (docs/sandbox.md, "Controlling the AWS stand-in")."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{target.aws_endpoint_url}/_sandbox/{path}", data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read() or b"null")


def test_run_now_under_aws_throttling_still_sends_one_command(
    objects: Objects, cluster: Cluster, target: Target
) -> None:
    if target.sandbox is None:
        pytest.skip(SANDBOX_ONLY.format("AWS fault controls"))
    _aws_admin(target, "PUT", "faults", {"spec": "ssm:SendCommand=throttle:0.5,ssm:ListCommands=throttle:0.3"})
    try:
        run = _run_now(cluster, objects.policy, f"e2e-throttled-{int(time.time())}")
    finally:
        _aws_admin(target, "DELETE", "faults")
    uid = run["metadata"]["uid"]
    commands = [
        c
        for page in target.aws("ssm").get_paginator("list_commands").paginate()
        for c in page["Commands"]
        if uid in c.get("Comment", "")
    ]
    assert len(commands) == len(run["status"]["commandIds"]) == 1, commands


def test_a_scheduled_sweep_runs_when_the_clock_passes_next_scan_time(
    objects: Objects, cluster: Cluster, target: Target
) -> None:
    if target.sandbox is None:
        pytest.skip(SANDBOX_ONLY.format("clock (an hourly sweep would take an hour)"))
    schedule = wait_for(
        "the first sweep",
        lambda: (
            (s := cluster.get("ScanSchedule", objects.schedule)) and (s.get("status") or {}).get("lastScanTime") and s
        ),
        READY_TIMEOUT,
    )
    first = schedule["status"]["lastScanTime"]
    next_scan = datetime.fromisoformat(schedule["status"]["nextScanTime"].replace("Z", "+00:00"))
    now = datetime.fromisoformat(_aws_admin(target, "GET", "clock")["now"].replace("Z", "+00:00"))
    _aws_admin(target, "POST", "clock", {"advance": f"{int((next_scan - now).total_seconds()) + 60}s"})
    swept = wait_for(
        "a scheduled sweep after nextScanTime",
        lambda: (
            ((cluster.get("ScanSchedule", objects.schedule) or {}).get("status") or {}).get("lastScanTime", first)
            != first
            and cluster.get("ScanSchedule", objects.schedule)
        ),
        2 * target.resync_seconds + 60,
    )
    assert datetime.fromisoformat(swept["status"]["lastScanTime"].replace("Z", "+00:00")) >= next_scan


def test_drift_in_aws_is_repaired_on_resync(objects: Objects, cluster: Cluster, target: Target) -> None:
    policy = cluster.get("PatchPolicy", objects.policy)
    assert policy is not None
    uid = policy["metadata"]["uid"]
    old_window = policy["status"]["targets"][0]["windowId"]
    ssm = target.aws("ssm")
    ssm.delete_maintenance_window(WindowId=old_window)  # someone removes it in the console

    def repaired() -> str | None:
        targets = ((cluster.get("PatchPolicy", objects.policy) or {}).get("status") or {}).get("targets") or [{}]
        window = targets[0].get("windowId")
        return window if window and window != old_window else None

    # The operator re-checks each policy every resync interval; give it two, and time to converge.
    new_window = wait_for("the maintenance window put back", repaired, 2 * target.resync_seconds + 60, interval=2)
    assert ssm.get_maintenance_window(WindowId=new_window)["Name"] == f"sreops-{cluster.namespace}-{objects.policy}"
    assert f"MaintenanceWindow {new_window}" in owned_in_ssm(target, uid)
    assert f"MaintenanceWindow {old_window}" not in owned_in_ssm(target, uid)
    wait_for("a DriftRepaired event", lambda: cluster.events_for(objects.policy, "DriftRepaired"), 30)
    assert ready_for_generation(cluster.get("PatchPolicy", objects.policy))


def _gone(cluster: Cluster, kind: str, name: str) -> bool:
    return cluster.get(kind, name) is None


def test_deleting_them_cleans_aws(objects: Objects, cluster: Cluster, target: Target) -> None:
    policy = cluster.get("PatchPolicy", objects.policy)
    assert policy is not None
    uid = policy["metadata"]["uid"]
    assert owned_in_ssm(target, uid)
    schedule = cluster.get("ScanSchedule", objects.schedule)
    assert schedule is not None
    (scanning,) = schedule["status"]["targets"]
    cluster.kubectl("delete", f"patchpolicy/{objects.policy}", f"scanschedule/{objects.schedule}", "--wait=false")
    for kind, name in (("PatchPolicy", objects.policy), ("ScanSchedule", objects.schedule)):
        wait_for(f"{kind} {name} gone (its finalizer released)", partial(_gone, cluster, kind, name), READY_TIMEOUT)
    assert owned_in_ssm(target, uid) == []
    assert not patch_group_registered(target, objects.patch_group)
    # The schedule turns off only what it turned on (nothing else of ours wants it); what was on stays on.
    inspector = target.aws("inspector2")
    (account,) = inspector.batch_get_account_status(accountIds=[scanning["account"]])["accounts"]
    ec2 = account["resourceState"]["ec2"]["status"]
    if "EC2" in scanning.get("enabledBySreops", []):
        assert ec2 in {"DISABLED", "DISABLING"}, account
    else:
        assert ec2 == "ENABLED", account  # the sandbox's home account has EC2 scanning on from the start
    # Its PatchRuns go with it (owner references).
    wait_for("the policy's PatchRuns gone", lambda: not cluster.runs_of(objects.policy), READY_TIMEOUT)
