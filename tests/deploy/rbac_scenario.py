"""A run of the real operator (and the real gateway) against the Kubernetes stand-in with its audit log on,
through every kind's life: the permissions they used, read back from the audit log.

The operator runs with a token of its own (the chart's service account user); what it may do is whatever
RBAC objects `authorize()` applies. The test that uses this compares what was used with what the chart grants.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config, utils
from kubernetes.client.exceptions import ApiException

from sreops.operator.api import GROUP, VERSION
from sreops.sandbox.aws.scenario import SANDBOX_EXTERNAL_ID
from sreops.sandbox.kube.server import KubeServer

NS = "default"
RUN_NOW = "sreops.io/run-now"
SCAN_NOW = "sreops.io/scan-now"
SAMPLES = Path(__file__).resolve().parents[2] / "crds" / "samples"


@dataclass(frozen=True, order=True)
class Permission:
    api_group: str
    resource: str  # "patchpolicies" or "patchpolicies/status"
    verb: str
    namespaced: bool = True

    def __str__(self) -> str:
        return f"{self.verb} {self.resource}.{self.api_group or 'core'}" + ("" if self.namespaced else " (cluster)")


def used_permissions(audit_log: Path, username: str) -> tuple[set[Permission], list[dict[str, Any]]]:
    """(group, resource[/subresource], verb, namespaced) of every resource request `username` made itself
    (not impersonating), and the requests RBAC refused."""
    used: set[Permission] = set()
    refused = []
    for line in audit_log.read_text().splitlines():
        event = json.loads(line)
        # A watch is logged at ResponseStarted when its stream opens (ResponseComplete only once it ends).
        if (
            event.get("stage") not in ("ResponseStarted", "ResponseComplete")
            or event["user"].get("username") != username
        ):
            continue
        ref = event.get("objectRef")
        annotations = event.get("annotations") or {}
        if annotations.get("authorization.k8s.io/decision") == "forbid":
            refused.append(event)
        if ref is None:
            continue  # a non-resource path (/api, /apis, /version): system:discovery grants those to everyone
        resource = ref["resource"] + (f"/{ref['subresource']}" if ref.get("subresource") else "")
        if "impersonatedUser" in event:
            continue  # done as a chat user; the impersonate requests themselves are logged for `username`
        used.add(Permission(ref.get("apiGroup", ""), resource, event["verb"], bool(ref.get("namespace"))))
    return used, refused


def impersonations(audit_log: Path, username: str) -> set[Permission]:
    """Impersonation is authorized as `impersonate` on users/groups; the audit log shows it on the request made
    as the impersonated user (its `user` is the impersonator)."""
    found: set[Permission] = set()
    for line in audit_log.read_text().splitlines():
        event = json.loads(line)
        if event.get("stage") != "ResponseComplete" or event["user"].get("username") != username:
            continue
        who = event.get("impersonatedUser")
        if who:
            found.add(Permission("", "users", "impersonate", False))
            if set(who.get("groups") or []) - {"system:authenticated"}:
                found.add(Permission("", "groups", "impersonate", False))
    return found


def wait_for(what: str, predicate: Callable[[], Any], timeout: float = 60.0, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def token_kubeconfig(server: KubeServer, path: Path, user: str, groups: tuple[str, ...]) -> Path:
    """A kubeconfig like the sandbox's, with a token of `user` in `groups` (a service account's, as the pod's
    projected token would be)."""
    kubeconfig = yaml.safe_load(server.kubeconfig_path.read_text())
    kubeconfig["users"][0]["user"]["token"] = server.issue_token(user, groups)
    path.write_text(yaml.safe_dump(kubeconfig))
    path.chmod(0o600)
    return path


def apply_all(api: client.ApiClient, docs: Iterable[dict[str, Any]], namespace: str) -> None:
    """Create each object as the admin would (`kubectl create -f`)."""
    for doc in docs:
        utils.create_from_dict(api, doc, namespace=namespace)


def _sample(kind_file: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((SAMPLES / kind_file).read_text())
    return doc


def _get(custom: client.CustomObjectsApi, plural: str, name: str) -> dict[str, Any] | None:
    try:
        obj: dict[str, Any] = custom.get_namespaced_custom_object(GROUP, VERSION, NS, plural, name)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return obj


def _condition(obj: dict[str, Any] | None, kind: str = "Ready") -> dict[str, Any]:
    conditions = ((obj or {}).get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c.get("type") == kind), {})


def _ready(custom: client.CustomObjectsApi, plural: str, name: str) -> bool:
    obj = _get(custom, plural, name)
    return bool(obj) and _condition(obj).get("status") == "True"


@dataclass
class Statuses:
    """Status bodies the operator wrote during the scenario (for the Argo CD health check's test)."""

    objects: list[dict[str, Any]]


def run_scenario(
    api: client.ApiClient,
    slack_token: str,
    teams_url: str,
    advance: Callable[[str], None],
    during: Callable[[], None] = lambda: None,
) -> Statuses:
    """Every kind through its life as a user would drive it: Secrets, an AWSAccount with a role and external id,
    a PatchPolicy (Synced, a run-now run to its end), a ScanSchedule (a scan-now sweep), a Notifier (Ready,
    deliveries into its ledger), an invalid PatchPolicy (a Warning event), `during()` while all of them exist,
    then every object deleted."""
    core = client.CoreV1Api(api)
    custom = client.CustomObjectsApi(api)
    seen: list[dict[str, Any]] = []
    for name, data in (
        ("prod-aws", {"externalId": SANDBOX_EXTERNAL_ID}),
        ("slack-bot", {"token": slack_token}),
        ("teams", {"url": teams_url}),
    ):
        core.create_namespaced_secret(NS, client.V1Secret(metadata=client.V1ObjectMeta(name=name), string_data=data))
    policy = _sample("patchpolicy.yaml")
    policy["spec"]["operation"] = "Scan"  # a scan finishes in seconds of the stand-in's clock
    policy["spec"]["historyLimit"] = 1  # the second run prunes the first
    invalid = {**_sample("patchpolicy.yaml"), "metadata": {"name": "bad-cron"}}
    # The CRD's pattern lets the zone through; the operator's model knows it is no IANA zone: InvalidSpec.
    invalid["spec"] = {**invalid["spec"], "schedule": {"cron": "0 3 * * 0", "timezone": "Mars/Olympus_Mons"}}
    for plural, body in (
        ("awsaccounts", _sample("awsaccount.yaml")),
        ("notifiers", _sample("notifier.yaml")),
        ("patchpolicies", policy),
        ("scanschedules", _sample("scanschedule.yaml")),
        ("patchpolicies", invalid),
    ):
        custom.create_namespaced_custom_object(GROUP, VERSION, NS, plural, body)
    for plural, name in (
        ("awsaccounts", "prod"),
        ("patchpolicies", "web-fleet"),
        ("scanschedules", "prod-hourly"),
        ("notifiers", "sre-alerts"),
    ):
        wait_for(f"{plural}/{name} Ready", lambda p=plural, n=name: _ready(custom, p, n), timeout=90)
    wait_for(
        "bad-cron InvalidSpec",
        lambda: _condition(_get(custom, "patchpolicies", "bad-cron")).get("reason") == "InvalidSpec",
    )

    def runs() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = custom.list_namespaced_custom_object(GROUP, VERSION, NS, "patchruns")["items"]
        return items

    def finished(name: str) -> dict[str, Any] | None:
        run = _get(custom, "patchruns", name)
        done = any(_condition(run, t).get("status") == "True" for t in ("Complete", "Failed"))
        return run if done else None

    names: list[str] = []
    for value in (secrets.token_hex(4), secrets.token_hex(4)):
        custom.patch_namespaced_custom_object(
            GROUP, VERSION, NS, "patchpolicies", "web-fleet", {"metadata": {"annotations": {RUN_NOW: value}}}
        )
        new = wait_for("the run-now PatchRun", lambda: [r for r in runs() if r["metadata"]["name"] not in names])
        names.append(new[0]["metadata"]["name"])
        wait_for(
            "the run's commands sent",
            lambda: ((_get(custom, "patchruns", names[-1]) or {}).get("status") or {}).get("commandIds"),
        )
        running = _get(custom, "patchruns", names[-1])
        assert running is not None
        seen.append(running)  # in progress: Ready=False, reason Running
        advance("10m")  # the stand-in's commands run to their end on its (frozen) clock
        run = wait_for("the run-now PatchRun to finish", lambda: finished(names[-1]))
    wait_for("the first run pruned (historyLimit 1)", lambda: _get(custom, "patchruns", names[0]) is None)
    custom.patch_namespaced_custom_object(
        GROUP, VERSION, NS, "scanschedules", "prod-hourly", {"metadata": {"annotations": {SCAN_NOW: value}}}
    )
    wait_for(
        "the scan-now sweep",
        lambda: (
            value
            in ((_get(custom, "scanschedules", "prod-hourly") or {}).get("status") or {}).get("scanNowHandled", [])
        ),
    )
    wait_for(
        "the Notifier's ledger",
        lambda: any(cm.metadata.name.startswith("sreops-ledger-") for cm in core.list_namespaced_config_map(NS).items),
    )
    for plural, name in (
        ("awsaccounts", "prod"),
        ("patchpolicies", "web-fleet"),
        ("patchpolicies", "bad-cron"),
        ("scanschedules", "prod-hourly"),
        ("notifiers", "sre-alerts"),
    ):
        obj = _get(custom, plural, name)
        assert obj is not None
        seen.append(obj)
    seen.append(run)
    during()

    # The account last: deleting it first would only wait (InUse) until the others are gone.
    for batch in (
        (
            ("notifiers", "sre-alerts"),
            ("scanschedules", "prod-hourly"),
            ("patchpolicies", "bad-cron"),
            ("patchpolicies", "web-fleet"),
        ),
        (("awsaccounts", "prod"),),
    ):
        for plural, name in batch:
            custom.delete_namespaced_custom_object(GROUP, VERSION, NS, plural, name)
        for plural, name in batch:
            wait_for(f"{plural}/{name} gone", lambda p=plural, n=name: _get(custom, p, n) is None, timeout=90)
    wait_for("every PatchRun gone", lambda: not runs(), timeout=30)
    return Statuses(seen)


def admin_client(server: KubeServer) -> client.ApiClient:
    api: client.ApiClient = config.new_client_from_config(config_file=str(server.kubeconfig_path))
    return api
