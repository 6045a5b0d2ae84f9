"""Least privilege, measured: the real operator and the real gateway run against the Kubernetes stand-in as the
chart's service accounts, bound to the chart's rendered RBAC and nothing else, through a scenario that touches
every kind (rbac_scenario.py). From the stand-in's audit log: nothing they asked for was refused (everything
used is granted), and every verb x resource the chart grants was used, except the few listed with a reason."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sreops.sandbox import gateway_seed
from sreops.sandbox.chat.server import ChatSandbox, ThreadedChatSandbox
from sreops.sandbox.chat.slack_signing import signed_headers, slash_command_body
from sreops.sandbox.kube.server import KubeServer
from sreops.sandbox.processes import Child, gateway_child, operator_child, start_aws_standin
from sreops.sandbox.seed import ensure_namespace, install_crds
from tests.deploy.chart import NAMESPACE, ROOT, rbac_rules, render
from tests.deploy.rbac_scenario import (
    NS,
    Permission,
    Statuses,
    admin_client,
    apply_all,
    impersonations,
    run_scenario,
    token_kubeconfig,
    used_permissions,
    wait_for,
)
from tests.integration.conftest import Aws
from tests.integration.gateway_support import SIGNING_SECRET, SLACK_TEAM, http
from tests.logs import print_log

pytestmark = [pytest.mark.integration, pytest.mark.slow]
OPERATOR_SA = "sreops-operator"
GATEWAY_SA = "sreops-gateway"
RBAC_TEMPLATES = ("templates/operator-rbac.yaml", "templates/gateway-rbac.yaml")
# Granted although the scenario does not use them, and why.
UNUSED_ON_PURPOSE = {
    # Leader election: the HA work's Lease. Granted so a multi-replica operator can run; a single operator
    # without election reads and writes no Lease.
    Permission("coordination.k8s.io", "leases", "get"): "leader election",
    Permission("coordination.k8s.io", "leases", "create"): "leader election",
    Permission("coordination.k8s.io", "leases", "update"): "leader election",
}


def _user(sa: str) -> str:
    return f"system:serviceaccount:{NAMESPACE}:{sa}"


def _groups() -> tuple[str, ...]:
    # What a projected service-account token authenticates as (plus system:authenticated, added by the server).
    return ("system:serviceaccounts", f"system:serviceaccounts:{NAMESPACE}")


def _granted(rules: list[tuple[str, str, dict[str, Any]]]) -> set[Permission]:
    out = set()
    for _kind, _ns, rule in rules:
        for group in rule.get("apiGroups", []):
            for resource in rule.get("resources", []):
                for verb in rule["verbs"]:
                    out.add(Permission(group, resource, verb))
    return out


def _strip(used: set[Permission]) -> set[Permission]:
    """Compare without the scope: a ClusterRole's rules cover both cluster-wide and namespaced requests."""
    return {Permission(p.api_group, p.resource, p.verb) for p in used}


@dataclass
class Recorded:
    audit_log: Path
    statuses: Statuses
    gateway_answers: dict[str, int]


def _drive_gateway(url: str, key: str) -> dict[str, int]:
    """Every API command once, as the API key's user (an operator through the sandbox's RBAC)."""
    auth = {"Authorization": f"Bearer {key}"}
    base = f"{url}/api/v1/namespaces/{NS}"
    answers = {
        "status": http("GET", f"{url}/api/v1/status?namespace={NS}", headers=auth).status,
        "pause": http("POST", f"{base}/policies/web-fleet/pause", headers=auth).status,
        "resume": http("POST", f"{base}/policies/web-fleet/resume", headers=auth).status,
        "scan": http("POST", f"{base}/schedules/prod-hourly/scan", headers=auth).status,
        "findings": http("GET", f"{base}/schedules/prod-hourly/findings", headers=auth).status,
    }
    run = http("POST", f"{base}/policies/web-fleet/run", headers=auth)
    answers["run"] = run.status
    name = run.json()["run"]
    answers["progress"] = wait_for(
        "the gateway's run", lambda: http("GET", f"{base}/runs/{name}", headers=auth).status == 200 and 200
    )
    # A Slack user: the identities ConfigMap is read to map them (a closed response_url: answered inline).
    body = slash_command_body(
        f"status -n {NS}", user_id=gateway_seed.SLACK_OPERATOR, team_id=SLACK_TEAM, response_url="http://127.0.0.1:9/r"
    )
    answers["slack"] = http("POST", f"{url}/slack/commands", body, signed_headers(SIGNING_SECRET, body)).status
    return answers


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    work = tmp_path_factory.mktemp("rbac")
    audit = work / "audit.jsonl"
    server = KubeServer(work / "kube", audit_log=audit)
    handle = server.start_in_thread()
    api = admin_client(server)
    children: list[Child] = []
    aws_proc = None
    chat = ThreadedChatSandbox(ChatSandbox(work / "chat"))
    try:
        install_crds(api)
        ensure_namespace(api, NAMESPACE)
        rbac = [d for d in render(*(f"--show-only={t}" for t in RBAC_TEMPLATES))]
        apply_all(api, rbac, NAMESPACE)
        # The chat users' own RBAC (what the gateway impersonates), its identities and an API key.
        gateway_seed.seed_rbac(api, NS)
        gateway_seed.seed_identities(api, NAMESPACE)
        key = secrets.token_hex(24)
        gateway_seed.seed_api_key(api, NAMESPACE, key)

        aws_proc, aws_env = start_aws_standin(work / "aws.log")
        chat_server = chat.start()
        op_config = token_kubeconfig(server, work / "operator.kubeconfig", _user(OPERATOR_SA), _groups())
        operator, _ = operator_child(
            {
                **aws_env,
                "KUBECONFIG": str(op_config),
                "SREOPS_SLACK_API_URL": chat_server.slack_api_url,
                "SREOPS_RUN_POLL_SECONDS": "1",
                "AWS_MAX_ATTEMPTS": "2",
                "POD_NAMESPACE": NAMESPACE,  # as the chart's Deployment sets it
            },
            work / "operator.log",
            "--resync-seconds=5",
            "--default-region=us-west-2",
        )
        gw_config = token_kubeconfig(server, work / "gateway.kubeconfig", _user(GATEWAY_SA), _groups())
        gateway, port = gateway_child(
            {"KUBECONFIG": str(gw_config), "SREOPS_SLACK_SIGNING_SECRET": SIGNING_SECRET},
            work / "gateway.log",
            f"--namespace={NAMESPACE}",
            "--slack-response-url-prefix=http://127.0.0.1:9/",
        )
        children += [operator, gateway]
        operator.start()
        gateway.start(timeout=30)
        answers: dict[str, int] = {}
        statuses = run_scenario(
            api,
            chat_server.slack_token,
            chat_server.teams_webhook_url,
            Aws(aws_proc, aws_env).advance,
            during=lambda: answers.update(_drive_gateway(f"http://127.0.0.1:{port}", key)),
        )
        for child in children:
            child.stop()
        yield Recorded(audit, statuses, answers)
    finally:
        for child in children:
            child.stop()
            print_log(child.log, tail=40)
        chat.stop()
        if aws_proc is not None:
            aws_proc.terminate()
            aws_proc.wait(timeout=20)
        api.close()
        handle.stop()


def test_the_gateway_did_its_work_with_the_charts_rbac(recorded: Recorded) -> None:
    assert recorded.gateway_answers == {
        "status": 200,
        "pause": 200,
        "resume": 200,
        "scan": 202,
        "findings": 200,
        "run": 202,
        "progress": 200,
        "slack": 200,
    }


@pytest.mark.parametrize("sa", [OPERATOR_SA, GATEWAY_SA])
def test_nothing_the_code_asked_for_was_refused(recorded: Recorded, sa: str) -> None:
    used, refused = used_permissions(recorded.audit_log, _user(sa))
    assert used, f"{sa} made no requests"
    assert not refused, "\n".join(
        f"{e['verb']} {e.get('objectRef')}: {e['annotations'].get('authorization.k8s.io/reason', '')}" for e in refused
    )


@pytest.mark.parametrize("sa", [OPERATOR_SA, GATEWAY_SA])
def test_the_chart_grants_exactly_what_the_code_uses(recorded: Recorded, sa: str) -> None:
    rules = rbac_rules(render(*(f"--show-only={t}" for t in RBAC_TEMPLATES)), sa)
    granted = _granted(rules)
    used = _strip(used_permissions(recorded.audit_log, _user(sa))[0] | impersonations(recorded.audit_log, _user(sa)))
    assert used <= granted, f"used but not granted: {sorted(map(str, used - granted))}"
    unused = granted - used - set(UNUSED_ON_PURPOSE)
    assert not unused, f"granted but never used (remove them, or list them with a reason): {sorted(map(str, unused))}"


# --- Argo CD health check (docs/deploy.md) against the status objects the operator wrote above ---------------


def _argocd_health() -> Any:
    import lupa  # noqa: PLC0415 - only this test needs a Lua runtime

    doc = (ROOT / "docs" / "deploy.md").read_text()
    snippet = doc.split("```lua\n", 1)[1].split("```", 1)[0]
    lua = lupa.LuaRuntime(unpack_returned_tuples=True)
    check = lua.eval(f"function(obj)\n{snippet}\nend")

    def health(obj: dict[str, Any]) -> tuple[str, str]:
        # Argo CD hands the object to Lua as nested tables, as lupa's recursive table_from does.
        result = check(lua.table_from(obj, recursive=True))
        return str(result["status"]), str(result["message"])

    return health


def _by(statuses: Statuses, kind: str, name: str | None = None, reason: str | None = None) -> dict[str, Any]:
    for obj in statuses.objects:
        ready = next((c for c in obj["status"].get("conditions", []) if c["type"] == "Ready"), {})
        if obj["kind"] == kind and name in (None, obj["metadata"]["name"]) and reason in (None, ready.get("reason")):
            return obj
    raise AssertionError(f"no {kind} {name or ''} {reason or ''} recorded")


def test_argocd_health_check_reads_the_operators_status(recorded: Recorded) -> None:
    health = _argocd_health()
    s = recorded.statuses
    for kind, name in (
        ("AWSAccount", "prod"),
        ("PatchPolicy", "web-fleet"),
        ("ScanSchedule", "prod-hourly"),
        ("Notifier", "sre-alerts"),
    ):
        assert health(_by(s, kind, name))[0] == "Healthy", kind
    status, message = health(_by(s, "PatchPolicy", "bad-cron"))
    assert status == "Degraded" and message.startswith("InvalidSpec: spec.schedule.timezone")
    assert health(_by(s, "PatchRun", reason="Running"))[0] == "Progressing"
    finished = next(o for o in s.objects if o["kind"] == "PatchRun" and o["status"].get("finishedAt"))
    complete = next(c for c in finished["status"]["conditions"] if c["type"] == "Complete")
    assert health(finished)[0] == ("Healthy" if complete["status"] == "True" else "Degraded")


def test_argocd_health_check_waits_for_the_latest_generation_and_for_references(recorded: Recorded) -> None:
    health = _argocd_health()
    policy = _by(recorded.statuses, "PatchPolicy", "web-fleet")
    newer = {**policy, "metadata": {**policy["metadata"], "generation": policy["metadata"]["generation"] + 1}}
    assert health(newer) == (
        "Progressing",
        f"Waiting for the sreops operator to observe generation {newer['metadata']['generation']}",
    )
    assert health({k: v for k, v in policy.items() if k != "status"})[0] == "Progressing"
    waiting = {
        **policy,
        "status": {
            **policy["status"],
            "conditions": [
                {**c, "status": "False", "reason": "AccountNotFound", "message": "AWSAccount prod not found"}
                for c in policy["status"]["conditions"]
                if c["type"] == "Ready"
            ],
        },
    }
    assert health(waiting) == ("Progressing", "AccountNotFound: AWSAccount prod not found")
