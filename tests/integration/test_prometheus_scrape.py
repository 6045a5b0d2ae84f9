"""Every dashboard query and every alert expression against the real Prometheus server, scraping the real
operator and gateway while they work through a scenario with runs, failed instances, findings, notifications,
throttling, AccessDenied, refused and rate-limited gateway requests and gateway 5xx answers (Kubernetes gone).

Each query must be valid PromQL (/api/v1/query answers success) and return series; for an alert that is its
data queries (the expression without the threshold, kept next to it in sreops/observability/alerts.py) and
the expression itself is checked valid. Dashboard variables are their "All" value (`.*`), `$__rate_interval` 1m.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from sreops.observability import alerts
from sreops.observability.prometheus import PrometheusConfig, PrometheusServer, prometheus_binary
from sreops.observability.render import DASHBOARD_PATH
from sreops.operator.api import GROUP, VERSION
from sreops.sandbox.aws.scenario import SANDBOX_EXTERNAL_ID
from sreops.sandbox.chat.server import ChatSandbox, ThreadedChatSandbox
from sreops.sandbox.gateway_seed import seed_gateway
from sreops.sandbox.kube.server import KubeServer
from sreops.sandbox.processes import Child, free_port, start_aws_standin
from sreops.sandbox.seed import install_crds
from tests.integration.conftest import Aws, Kube, make_operator, wait_for
from tests.logs import print_log

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
NS = "default"
PROD_ROLE = "arn:aws:iam::111122223333:role/sreops"
VARIABLES = {"$namespace": ".*", "$policy": ".*", "$schedule": ".*", "$__rate_interval": "1m"}


@dataclass(frozen=True)
class Check:
    what: str
    expr: str
    needs_data: bool = True


def _dashboard_checks() -> list[Check]:
    board = json.loads((ROOT / DASHBOARD_PATH).read_text())
    checks = []
    for panel in board["panels"]:
        for target in panel.get("targets") or []:
            expr = target["expr"]
            for name, value in VARIABLES.items():
                expr = expr.replace(name, value)
            checks.append(Check(f"panel {panel['title']!r} {target['refId']}", expr))
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":  # label_values(SELECTOR, label): its selector must have series
            selector = variable["query"].removeprefix("label_values(").rsplit(",", 1)[0]
            checks.append(Check(f"variable {variable['name']}", selector.replace("$namespace", ".*")))
    return checks


def _alert_checks() -> list[Check]:
    checks = []
    for alert in alerts.ALERTS:
        checks.append(Check(f"alert {alert.name} expression", alert.expr, needs_data=False))
        checks.extend(Check(f"alert {alert.name} data {n}", q) for n, q in enumerate(alert.data))
    return checks


def _request(url: str, method: str = "GET", key: str | None = None) -> int:
    request = urllib.request.Request(url, method=method)
    if key is not None:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _create(kube: Kube, plural: str, kind: str, name: str, spec: dict[str, Any]) -> None:
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind, "metadata": {"name": name}, "spec": spec}
    kube.custom.create_namespaced_custom_object(GROUP, VERSION, NS, plural, body)


def _status(kube: Kube, plural: str, name: str) -> dict[str, Any]:
    return kube.custom.get_namespaced_custom_object(GROUP, VERSION, NS, plural, name).get("status") or {}


def _ready(kube: Kube, plural: str, name: str) -> str:
    conditions = _status(kube, plural, name).get("conditions") or []
    return next((c["status"] for c in conditions if c["type"] == "Ready"), "")


def _runs(kube: Kube) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = kube.custom.list_namespaced_custom_object(GROUP, VERSION, NS, "patchruns")["items"]
    return items


def _ledger(kube: Kube, notifier: str) -> bool:
    try:
        kube.core.read_namespaced_config_map(f"sreops-ledger-{notifier}", NS)
    except client.ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def stack(workdir: Path) -> Iterator[dict[str, Any]]:
    """Kubernetes, AWS and chat stand-ins, the operator, the gateway and Prometheus scraping both."""
    assert prometheus_binary(), "prometheus is missing: scripts/setup-env.sh installs the Debian package"
    handle = KubeServer(workdir / "kube").start_in_thread()
    api = config.new_client_from_config(config_file=str(handle.kubeconfig_path))
    install_crds(api)
    kube = Kube(handle, api)
    aws = Aws(*start_aws_standin(workdir / "aws.log"))
    chat = ThreadedChatSandbox(ChatSandbox(workdir / "chat"))
    sandbox = chat.start()
    operator = make_operator(
        kube, {**aws.env, "SREOPS_SLACK_API_URL": sandbox.slack_api_url, "SREOPS_RUN_POLL_SECONDS": "1"}, workdir
    )
    api_key = "sk-" + secrets.token_hex(16)
    seed_gateway(api, NS, api_key)
    gateway_port = free_port()
    gateway = Child(
        name="gateway",
        argv=["gateway", "--host=127.0.0.1", f"--port={gateway_port}", f"--namespace={NS}", "--rate-per-second=2"],
        env={"KUBECONFIG": str(handle.kubeconfig_path), "HOME": str(workdir), "SREOPS_SLACK_SIGNING_SECRET": "s"},
        log=workdir / "gateway.log",
        health_url=f"http://127.0.0.1:{gateway_port}/health",
    )
    prometheus = PrometheusServer(
        PrometheusConfig(f"127.0.0.1:{operator.metrics_port}", f"127.0.0.1:{gateway_port}"),
        workdir / "prometheus",
        free_port(),
    )
    try:
        # Both children start at once (each takes seconds to import); Prometheus meanwhile.
        operator.child.spawn()
        gateway.spawn()
        prometheus.start()
        operator.child.wait_healthy(60)
        gateway.wait_healthy(60)
        yield {
            "kube": kube,
            "aws": aws,
            "chat": sandbox,
            "operator": operator,
            "gateway": f"http://127.0.0.1:{gateway_port}",
            "api_key": api_key,
            "prometheus": prometheus,
            "handle": handle,
        }
    finally:
        prometheus.stop()
        # Side by side: without Kubernetes each takes seconds to wind down.
        stops = [threading.Thread(target=child.stop) for child in (gateway, operator.child)]
        for thread in stops:
            thread.start()
        for thread in stops:
            thread.join()
        print_log(operator.child.log, tail=40)
        chat.stop()
        aws.proc.terminate()
        aws.proc.wait(timeout=20)
        api.close()
        handle.stop()


def _scenario(stack: dict[str, Any]) -> None:
    kube, aws, chat = stack["kube"], stack["aws"], stack["chat"]
    aws.admin("PUT", "faults", {"spec": "sts:GetCallerIdentity=throttle:1x"})
    for name, data in (
        ("prod-aws", {"externalId": SANDBOX_EXTERNAL_ID}),
        ("slack-bot", {"token": chat.slack_token}),
        ("teams", {"url": chat.teams_webhook_url}),
        ("dead-teams", {"url": "http://127.0.0.1:9/webhook"}),  # nothing listens: every send fails
    ):
        kube.core.create_namespaced_secret(
            NS, client.V1Secret(metadata=client.V1ObjectMeta(name=name), string_data=data)
        )
    regions = ["us-west-2", "us-east-1"]
    ref = {"name": "prod-aws", "key": "externalId"}
    _create(
        kube,
        "awsaccounts",
        "AWSAccount",
        "prod",
        {"roleArn": PROD_ROLE, "externalIdSecretRef": ref, "regions": regions},
    )
    _create(kube, "awsaccounts", "AWSAccount", "denied", {"roleArn": PROD_ROLE})  # no ExternalId: AccessDenied
    slack = {"channel": "#sre-alerts", "tokenSecretRef": {"name": "slack-bot", "key": "token"}}
    _create(
        kube,
        "notifiers",
        "Notifier",
        "runs",
        {
            "slack": slack,
            "teams": {"webhookSecretRef": {"name": "teams", "key": "url"}},
            "selector": {"kinds": ["PatchRun"]},
        },
    )
    _create(
        kube,
        "notifiers",
        "Notifier",
        "dead",
        {
            "slack": slack,
            "teams": {"webhookSecretRef": {"name": "dead-teams", "key": "url"}},
            "selector": {"kinds": ["PatchRun"]},
        },
    )
    wait_for(lambda: _ready(kube, "awsaccounts", "prod") == "True", timeout=30)
    # A Notifier sends only what happens after its baseline (its ledger) is recorded.
    wait_for(lambda: all(_ledger(kube, n) for n in ("runs", "dead")), timeout=30)
    _create(
        kube,
        "patchpolicies",
        "PatchPolicy",
        "db-fleet",
        {
            "accountRef": {"name": "prod"},
            "targets": {"tags": {"Role": "db", "Env": "prod"}},
            "operatingSystem": "AMAZON_LINUX_2023",
            "schedule": {"cron": "0 3 1 1 *", "timezone": "UTC"},
            "operation": "Install",
            "rollout": {"maxConcurrency": "50%", "maxErrors": "1"},
        },
    )
    _create(
        kube,
        "scanschedules",
        "ScanSchedule",
        "prod-findings",
        {
            "accountRef": {"name": "prod"},
            "regions": ["us-west-2"],
            "schedule": {"cron": "0 * * * *", "timezone": "UTC"},
        },
    )
    wait_for(lambda: _ready(kube, "patchpolicies", "db-fleet") == "True", timeout=40)
    patch = {"metadata": {"annotations": {"sreops.io/run-now": "scrape-1"}}}
    kube.custom.patch_namespaced_custom_object(GROUP, VERSION, NS, "patchpolicies", "db-fleet", patch)
    wait_for(lambda: any(len((r.get("status") or {}).get("commandIds") or []) == 2 for r in _runs(kube)), timeout=30)
    aws.advance("10m")  # the commands finish (one instance fails); Inspector finishes its first scans
    wait_for(lambda: (_status(kube, "patchpolicies", "db-fleet").get("lastRun") or {}).get("result"), timeout=40)
    wait_for(lambda: _status(kube, "scanschedules", "prod-findings").get("lastScanTime"), timeout=40)
    # The Notifiers deliver the run's events (one destination is dead: retried) before Kubernetes goes away.
    operator = stack["operator"]
    wait_for(lambda: all(f'result="{r}"' in operator.metrics() for r in ("sent", "retry")), timeout=30)


def _gateway_traffic(stack: dict[str, Any]) -> None:
    base, key = stack["gateway"], stack["api_key"]
    assert _request(f"{base}/health") == 200
    assert _request(f"{base}/api/v1/status?namespace={NS}") == 401  # no key
    assert _request(f"{base}/api/v1/status?namespace={NS}", key="sk-not-a-key") == 401
    assert _request(f"{base}/no/such/path") == 404
    answers = [_request(f"{base}/api/v1/status?namespace={NS}", key=key) for _ in range(4)]
    assert 200 in answers and 429 in answers, answers  # 2 a second allowed
    stack["handle"].stop()  # Kubernetes goes away: the gateway answers 503
    assert _request(f"{base}/ready") == 503


def test_every_dashboard_query_and_alert_expression_returns_data(stack: dict[str, Any]) -> None:
    prometheus: PrometheusServer = stack["prometheus"]
    started = time.monotonic()
    _scenario(stack)
    scenario = time.monotonic() - started
    _gateway_traffic(stack)
    checks = _dashboard_checks() + _alert_checks()
    assert len(checks) > 40

    def failures() -> list[str]:
        bad = []
        for check in checks:
            answer = prometheus.query(check.expr)
            if answer.get("status") != "success":
                bad.append(f"{check.what}: invalid: {answer.get('error')} in {check.expr}")
            elif check.needs_data and not answer["data"]["result"]:
                bad.append(f"{check.what}: no data: {check.expr}")
        return bad

    # Rates need two scrapes after the last change; wait for the data, not for a fixed time.
    try:
        wait_for(lambda: not failures(), timeout=15, interval=1)
    except AssertionError:
        pytest.fail("\n".join(failures()))
    print(f"scenario {scenario:.1f} s, all queries with data after {time.monotonic() - started:.1f} s")
    rules = json.loads(urllib.request.urlopen(f"{prometheus.url}/api/v1/rules", timeout=5).read())
    loaded = {r["name"] for g in rules["data"]["groups"] for r in g["rules"]}
    assert loaded == {a.name for a in alerts.ALERTS}
    assert all(r["health"] == "ok" for g in rules["data"]["groups"] for r in g["rules"])
