"""The gateway's own Kubernetes client, and objects it re-reads with a short TTL (identities, API keys).

The gateway's own identity (its service account, or the kubeconfig it is given) reads the identities
ConfigMap and the API keys Secret and writes audit Events; everything a chat or API user asks for is
done with impersonation (sreops.bots.actions).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Generic, TypeVar

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from .errors import GatewayError

log = logging.getLogger("sreops.gateway")
T = TypeVar("T")
NOT_FOUND = 404


def load_api_client() -> client.ApiClient:
    """In a pod: the service account. Elsewhere: KUBECONFIG / ~/.kube/config (as kubectl)."""
    try:
        config.load_incluster_config()
        return client.ApiClient()
    except config.ConfigException:
        api: client.ApiClient = config.new_client_from_config()
        return api


def reachable(api: client.ApiClient, timeout: float = 2.0) -> bool:
    """True when the API server answers `GET /version` (what /ready reports)."""
    try:
        client.VersionApi(api).get_code(_request_timeout=timeout)
    except Exception:  # noqa: BLE001 - any failure means not ready; the reason is not the caller's business
        return False
    return True


class TtlCached(Generic[T]):
    """A value loaded by a blocking `load()` (in `executor`), kept for `ttl` seconds. When a reload fails the
    last good value keeps being served (Kubernetes briefly away must not lock everyone out); with none, 503."""

    def __init__(
        self,
        name: str,
        load: Callable[[], T],
        ttl: float,
        executor: Executor | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._load = load
        self._ttl = ttl
        self._executor = executor
        self._clock = clock
        self._value: T | None = None
        self._loaded_at = -float("inf")
        self._lock = asyncio.Lock()

    async def get(self) -> T:
        if self._value is not None and self._clock() - self._loaded_at < self._ttl:
            return self._value
        async with self._lock:
            if self._value is not None and self._clock() - self._loaded_at < self._ttl:
                return self._value
            try:
                value = await asyncio.get_running_loop().run_in_executor(self._executor, self._load)
            except Exception as exc:
                if self._value is not None:
                    log.warning(
                        "could not re-read %s; using the last copy", self.name, extra={"error": type(exc).__name__}
                    )
                    self._loaded_at = self._clock() - self._ttl / 2  # retry soon, not on every request
                    return self._value
                raise GatewayError(
                    503, "KubernetesUnavailable", f"The gateway cannot read its {self.name} from Kubernetes."
                ) from exc
            self._value, self._loaded_at = value, self._clock()
            return value


def read_config_map_data(api: client.ApiClient, namespace: str, name: str) -> dict[str, str]:
    """The ConfigMap's data, or {} when it does not exist."""
    try:
        cm = client.CoreV1Api(api).read_namespaced_config_map(name, namespace)
    except ApiException as exc:
        if exc.status == NOT_FOUND:
            return {}
        raise
    return dict(cm.data or {})


def read_secret_data(api: client.ApiClient, namespace: str, name: str) -> dict[str, str]:
    """The Secret's data, base64-decoded, or {} when it does not exist."""
    try:
        secret = client.CoreV1Api(api).read_namespaced_secret(name, namespace)
    except ApiException as exc:
        if exc.status == NOT_FOUND:
            return {}
        raise
    out: dict[str, str] = {}
    for key, value in (secret.data or {}).items():
        try:
            out[key] = base64.b64decode(value).decode()
        except (ValueError, UnicodeDecodeError):
            log.warning("ignoring an undecodable entry of Secret %s", name, extra={"key": key})
    return out
