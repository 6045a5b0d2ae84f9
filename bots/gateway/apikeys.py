"""API keys for /api/v1: the Secret `sreops-api-keys` in the gateway's namespace holds their SHA-256 hashes.

Data layout (values are what `kubectl create secret generic --from-literal` takes, before base64)::

    ci-bot: <sha256 hex of the key>          # the key's name -> the hash of the key
    ci-bot.user: ci-bot@example.com          # optional: the Kubernetes user the key acts as
    ci-bot.groups: sreops:operators,sre      # optional: its groups, comma-separated

A key without `.user` acts as user `sreops:apikey:<name>` with no groups. The key itself is never stored;
clients send `Authorization: Bearer <key>`. Create one with::

    key=$(openssl rand -hex 24)
    kubectl create secret generic sreops-api-keys \
      --from-literal=ci-bot="$(printf %s "$key" | sha256sum | cut -d' ' -f1)"
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .identity import Identity

SECRET = "sreops-api-keys"  # noqa: S105 - the Secret's name
_HASH = re.compile(r"[0-9a-f]{64}")
_KEY_NAME = re.compile(r"[-._a-zA-Z0-9]+")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    name: str
    digest: str
    identity: Identity


@dataclass(frozen=True)
class ApiKeys:
    by_digest: Mapping[str, ApiKey]

    def find(self, presented: str) -> ApiKey | None:
        digest = hash_key(presented)
        found = self.by_digest.get(digest)
        # The lookup is by hash of the secret, so timing reveals nothing about stored keys; compare anyway.
        if found is not None and hmac.compare_digest(found.digest, digest):
            return found
        return None


def parse_api_keys(data: Mapping[str, str]) -> ApiKeys:
    keys: dict[str, ApiKey] = {}
    for name, value in data.items():
        if "." in name and name.rsplit(".", 1)[1] in ("user", "groups"):
            continue
        digest = value.strip().lower()
        if not _KEY_NAME.fullmatch(name) or not _HASH.fullmatch(digest):
            continue  # not a key entry (or a malformed one); never log the value
        user = data.get(f"{name}.user", "").strip() or f"sreops:apikey:{name}"
        groups = tuple(g.strip() for g in data.get(f"{name}.groups", "").split(",") if g.strip())
        keys[digest] = ApiKey(name, digest, Identity(user, groups))
    return ApiKeys(keys)
