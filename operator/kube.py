"""Reads of other objects that handlers need (referenced AWSAccounts, Secrets), through the Kubernetes API."""

from __future__ import annotations

import base64
from typing import Any, cast

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from sreops.operator.api import GROUP, KINDS, VERSION

NOT_FOUND = 404


def get_object(api: client.ApiClient, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
    try:
        obj = client.CustomObjectsApi(api).get_namespaced_custom_object(
            GROUP, VERSION, namespace, KINDS[kind].plural, name
        )
    except ApiException as exc:
        if exc.status == NOT_FOUND:
            return None
        raise
    return cast(dict[str, Any], obj)


def list_objects(api: client.ApiClient, kind: str, namespace: str) -> list[dict[str, Any]]:
    listing = client.CustomObjectsApi(api).list_namespaced_custom_object(GROUP, VERSION, namespace, KINDS[kind].plural)
    return cast(list[dict[str, Any]], cast(dict[str, Any], listing).get("items", []))


def list_all(api: client.ApiClient, kind: str, namespaces: tuple[str, ...]) -> list[dict[str, Any]]:
    """Every object of a kind in the watched namespaces (cluster-wide when none are named)."""
    if namespaces:
        return [obj for ns in namespaces for obj in list_objects(api, kind, ns)]
    listing = client.CustomObjectsApi(api).list_cluster_custom_object(GROUP, VERSION, KINDS[kind].plural)
    return cast(list[dict[str, Any]], cast(dict[str, Any], listing).get("items", []))


class SecretMissingError(LookupError):
    """The Secret or its key does not exist; the message names which (never the value)."""


def read_secret_value(api: client.ApiClient, namespace: str, name: str, key: str) -> str:
    try:
        secret = client.CoreV1Api(api).read_namespaced_secret(name, namespace)
    except ApiException as exc:
        if exc.status == NOT_FOUND:
            raise SecretMissingError(f"Secret {name!r} not found in namespace {namespace!r}") from None
        raise
    data = secret.data or {}
    if key not in data:
        raise SecretMissingError(f"Secret {name!r} has no key {key!r}")
    return base64.b64decode(data[key]).decode()
