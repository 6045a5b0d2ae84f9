"""Who acts: the chat/API/CLI user, and a Kubernetes client that makes every request as that user.

Impersonation is Kubernetes' own (`Impersonate-User`, one `Impersonate-Group` header per group, as
kube-apiserver reads them: it does not split a header at commas), so cluster RBAC decides what a chat user
may do. The caller's own identity needs the `impersonate` verb on users and groups for that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubernetes.client import ApiClient
from urllib3 import HTTPHeaderDict

IMPERSONATE_USER = "Impersonate-User"
IMPERSONATE_GROUP = "Impersonate-Group"
CHANNELS = ("slack", "teams", "api", "cli")


@dataclass(frozen=True)
class Actor:
    user: str = ""  # Kubernetes user to impersonate; "" = no impersonation (the CLI with a kubeconfig)
    groups: tuple[str, ...] = ()  # Kubernetes groups to impersonate (only with a user)
    via: str = "cli"  # slack | teams | api | cli
    chat_id: str = ""  # who in that channel: "T0123/U0456", an AAD object id, an API key's name, a login

    def describe(self) -> str:
        """``alice@example.com via slack (T0123/U0456)``; never a secret (an API key's name, not the key)."""
        who = self.user or self.chat_id or "unknown user"
        detail = f" ({self.chat_id})" if self.user and self.chat_id and self.chat_id != self.user else ""
        return f"{who} via {self.via}{detail}"

    def requested_by(self) -> str:
        """The `sreops.io/run-now-by` value: ``<via>:<chat_id or user>`` (slack:/teams: make trigger=Chat)."""
        who = self.chat_id or self.user
        return f"{self.via}:{who}" if who else self.via


class ImpersonatingApiClient(ApiClient):
    """An ApiClient sending the impersonation headers with every request. It shares the base client's
    configuration and connection pool (closing it leaves the base client usable)."""

    def __init__(self, base: ApiClient, user: str, groups: tuple[str, ...]) -> None:
        super().__init__(base.configuration)
        self.rest_client.close()  # the fresh pool is not needed: requests go through the base's
        self.rest_client = base.rest_client
        self.default_headers = dict(base.default_headers)
        self.impersonated_user = user
        self.impersonated_groups = groups

    def call_api(
        self,
        method: Any,
        url: Any,
        header_params: Any = None,
        body: Any = None,
        post_params: Any = None,
        _request_timeout: Any = None,
    ) -> Any:
        headers = HTTPHeaderDict(header_params or {})
        headers[IMPERSONATE_USER] = self.impersonated_user
        for group in self.impersonated_groups:
            headers.add(IMPERSONATE_GROUP, group)
        return super().call_api(method, url, headers, body, post_params, _request_timeout)

    def close(self) -> None:
        """Leaves the shared connection pool open (it is the base client's)."""


def impersonating(api: ApiClient, actor: Actor) -> ApiClient:
    """`api` itself for an actor without a user; else a client acting as `actor.user` and `actor.groups`."""
    if not actor.user:
        return api
    return ImpersonatingApiClient(api, actor.user, tuple(actor.groups))
