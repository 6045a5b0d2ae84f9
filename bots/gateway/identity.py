"""Who a chat user is in Kubernetes: the ConfigMap `sreops-chat-identities` in the gateway's namespace.

Its data key `identities.yaml` maps each channel's ids to a Kubernetes user and groups::

    slack:                                  # "<team id>/<user id>", as in a slash command's team_id/user_id
      T0123ABCD/U0456EFGH: {user: alice@example.com, groups: [sre]}
      T0123ABCD/*: {user: "slack:{id}", groups: [sre-viewers]}   # anyone else in that workspace
    teams:                                  # the user's AAD object id (activity.from.aadObjectId)
      6d1f4a53-8e2b-4c1e-9a51-2f8c2f9e0c11: {user: bob@example.com, groups: [sre-viewers]}
      "*": {user: "teams:{id}", groups: [sre-viewers]}             # any other Teams user the bot hears from

A wildcard entry (`<team id>/*` for a Slack workspace, `*` for any Slack or Teams user) maps everyone it
covers who has no entry of their own; `{id}` in its user is replaced by their chat id, so each person keeps a
Kubernetes name of their own (in audit Events and RBAC decisions) while the group decides what they may do.

The gateway impersonates that user and those groups for everything the person asks for, so Roles and
RoleBindings in the cluster decide what they may do. Someone not in the map is *unmapped*: with
`--unmapped read` (the default) they act as user `sreops:unmapped` in group `sreops:viewers`, which may
read whatever that group is bound to and write nothing (the gateway refuses their writes itself);
with `--unmapped none` they are refused everything. The ConfigMap is re-read at most every
`--config-ttl-seconds` (5 s), so an edit takes effect within that.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

CONFIG_MAP = "sreops-chat-identities"
DATA_KEY = "identities.yaml"
UNMAPPED_USER = "sreops:unmapped"
UNMAPPED_GROUPS = ("sreops:viewers",)
CHANNELS = ("slack", "teams")
# Kubernetes user and group names are free-form strings; refuse only what cannot be an HTTP header value.
_NAME = re.compile(r"[^\x00-\x1f\x7f]{1,253}")


@dataclass(frozen=True)
class Identity:
    user: str
    groups: tuple[str, ...] = ()
    mapped: bool = True


@dataclass(frozen=True)
class IdentityMap:
    entries: Mapping[str, Mapping[str, Identity]]  # channel -> chat id -> identity
    problems: tuple[str, ...] = ()  # entries that were skipped, and why (logged, never fatal)

    def lookup(self, channel: str, chat_id: str) -> Identity | None:
        """The entry for this chat id, else the wildcard covering it (its workspace's for Slack)."""
        ids = self.entries.get(channel, {})
        found = ids.get(chat_id)
        if found is not None:
            return found
        team, slash, _ = chat_id.partition("/")
        wildcards = [f"{team}/*", "*"] if channel == "slack" and slash else ["*"]
        template = next((ids[w] for w in wildcards if w in ids), None)
        if template is None:
            return None
        return Identity(template.user.replace("{id}", chat_id), template.groups)


def unmapped_identity() -> Identity:
    return Identity(UNMAPPED_USER, UNMAPPED_GROUPS, mapped=False)


def parse_identities(data: Mapping[str, str]) -> IdentityMap:
    """The map from the ConfigMap's data; malformed entries are skipped (with a problem), never fatal:
    one typo must not lock every user out."""
    raw_text = data.get(DATA_KEY, "")
    if not raw_text.strip():
        return IdentityMap({})
    try:
        raw = yaml.safe_load(raw_text)
    except yaml.YAMLError:
        return IdentityMap({}, (f"{DATA_KEY} is not valid YAML",))
    if not isinstance(raw, dict):
        return IdentityMap({}, (f"{DATA_KEY} must be a mapping of channel to ids",))
    entries: dict[str, dict[str, Identity]] = {}
    problems: list[str] = []
    for channel, ids in raw.items():
        if channel not in CHANNELS:
            problems.append(f"unknown channel {channel!r} (expected slack or teams)")
            continue
        if not isinstance(ids, dict):
            problems.append(f"{channel} must map ids to {{user, groups}}")
            continue
        for chat_id, value in ids.items():
            identity = _identity(value)
            if identity is None:
                problems.append(f"{channel}.{chat_id}: needs a user (a string) and optional groups (strings)")
                continue
            entries.setdefault(channel, {})[str(chat_id)] = identity
    return IdentityMap(entries, tuple(problems))


def _identity(value: Any) -> Identity | None:
    if isinstance(value, str):
        value = {"user": value}
    if not isinstance(value, dict):
        return None
    user, groups = value.get("user"), value.get("groups", [])
    if not isinstance(user, str) or not _NAME.fullmatch(user):
        return None
    if not isinstance(groups, list) or not all(isinstance(g, str) and _NAME.fullmatch(g) for g in groups):
        return None
    return Identity(user, tuple(groups))
