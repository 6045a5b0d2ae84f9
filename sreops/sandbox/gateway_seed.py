"""What the sandbox seeds for the gateway: who chat users are in Kubernetes, what they may do, and an API key.

- ClusterRoles `sreops-chat-operator` (read every sreops kind; patch PatchPolicies and ScanSchedules, which
  is what run/scan/pause/resume are) and `sreops-chat-viewer` (read only), bound in the namespace to the
  groups `sreops:operators` and `sreops:viewers` (the group unmapped users act in, see
  sreops.bots.gateway.identity).
- The ConfigMap `sreops-chat-identities`: the Slack stand-in's user `U0SANDBOX1` in team `T0SANDBOX` (the
  one `sreops sandbox slack` and slack_signing.slash_command_body use) and the Teams user
  `TEAMS_OPERATOR` are operators; Slack `U0SANDBOX2` and Teams `TEAMS_VIEWER` are viewers. Any other Slack
  or Teams user is an operator too (wildcard entries), so a demo or a
  test can sign a command as any user; the two viewers show a refusal.
- The Secret `sreops-api-keys` with one key, `sandbox`, acting as `sandbox-api@example.com` in
  `sreops:operators`; the key itself goes to sandbox.env as SREOPS_API_KEY.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, cast

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

RBAC_GROUP = "rbac.authorization.k8s.io"
OPERATORS, VIEWERS = "sreops:operators", "sreops:viewers"
SLACK_TEAM = "T0SANDBOX"
SLACK_OPERATOR, SLACK_VIEWER = "U0SANDBOX1", "U0SANDBOX2"
TEAMS_OPERATOR = "6d1f4a53-8e2b-4c1e-9a51-2f8c2f9e0c11"  # AAD object ids
TEAMS_VIEWER = "0b7c3e29-4f6a-4d8e-b1c2-7a9e5d3f1a20"
API_KEY_NAME = "sandbox"
SREOPS_RESOURCES = ["awsaccounts", "patchpolicies", "patchruns", "scanschedules", "notifiers"]
READ = {"apiGroups": ["sreops.io"], "resources": SREOPS_RESOURCES, "verbs": ["get", "list", "watch"]}
CONFLICT = 409


def identities() -> dict[str, dict[str, dict[str, Any]]]:
    return {
        "slack": {
            f"{SLACK_TEAM}/{SLACK_OPERATOR}": {"user": "operator@sandbox.example", "groups": [OPERATORS]},
            f"{SLACK_TEAM}/{SLACK_VIEWER}": {"user": "viewer@sandbox.example", "groups": [VIEWERS]},
            "*": {"user": "slack:{id}", "groups": [OPERATORS]},
        },
        "teams": {
            TEAMS_OPERATOR: {"user": "teams-operator@sandbox.example", "groups": [OPERATORS]},
            TEAMS_VIEWER: {"user": "teams-viewer@sandbox.example", "groups": [VIEWERS]},
            "*": {"user": "teams:{id}", "groups": [OPERATORS]},
        },
    }


def cluster_roles() -> list[dict[str, Any]]:
    write = {"apiGroups": ["sreops.io"], "resources": ["patchpolicies", "scanschedules"], "verbs": ["patch"]}
    return [
        {"metadata": {"name": "sreops-chat-operator"}, "rules": [READ, write]},
        {"metadata": {"name": "sreops-chat-viewer"}, "rules": [READ]},
    ]


def role_bindings() -> list[dict[str, Any]]:
    def binding(name: str, role: str, group: str) -> dict[str, Any]:
        return {
            "metadata": {"name": name},
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": RBAC_GROUP, "kind": "Group", "name": group}],
        }

    return [
        binding("sreops-chat-operators", "sreops-chat-operator", OPERATORS),
        binding("sreops-chat-viewers", "sreops-chat-viewer", VIEWERS),
    ]


def _create_or_replace(create: Any, replace: Any, name: str, *args: Any) -> None:
    try:
        create(*args)
    except ApiException as exc:
        if exc.status != CONFLICT:
            raise
        replace(name, *args)


def seed_rbac(api: client.ApiClient, namespace: str) -> None:
    rbac = client.RbacAuthorizationV1Api(api)
    for role in cluster_roles():
        body = {"apiVersion": f"{RBAC_GROUP}/v1", "kind": "ClusterRole", **role}
        _create_or_replace(rbac.create_cluster_role, rbac.replace_cluster_role, role["metadata"]["name"], body)
    for binding in role_bindings():
        body = {"apiVersion": f"{RBAC_GROUP}/v1", "kind": "RoleBinding", **binding}
        name = binding["metadata"]["name"]
        create, replace = rbac.create_namespaced_role_binding, rbac.replace_namespaced_role_binding
        _create_or_replace(create, replace, name, namespace, cast(Any, body))


def seed_identities(
    api: client.ApiClient, namespace: str, entries: Mapping[str, Mapping[str, Any]] | None = None
) -> None:
    data = {"identities.yaml": yaml.safe_dump(dict(entries if entries is not None else identities()))}
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "sreops-chat-identities"},
        "data": data,
    }
    core = client.CoreV1Api(api)
    create, replace = core.create_namespaced_config_map, core.replace_namespaced_config_map
    _create_or_replace(create, replace, "sreops-chat-identities", namespace, cast(Any, body))


def seed_api_key(api: client.ApiClient, namespace: str, key: str, name: str = API_KEY_NAME) -> None:
    """The Secret `sreops-api-keys` holding the hash of `key` (never the key), acting as an operator."""
    data = {
        name: hashlib.sha256(key.encode()).hexdigest(),
        f"{name}.user": f"{name}-api@sandbox.example",
        f"{name}.groups": OPERATORS,
    }
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "sreops-api-keys"},
        "stringData": data,
    }
    core = client.CoreV1Api(api)
    create, replace = core.create_namespaced_secret, core.replace_namespaced_secret
    _create_or_replace(create, replace, "sreops-api-keys", namespace, cast(Any, body))


def seed_gateway(api: client.ApiClient, namespace: str, api_key: str) -> None:
    seed_rbac(api, namespace)
    seed_identities(api, namespace)
    seed_api_key(api, namespace, api_key)
