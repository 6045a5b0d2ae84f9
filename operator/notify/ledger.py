"""The delivery ledger: which events a Notifier has sent, kept in the cluster so nothing is sent twice.

One ConfigMap per Notifier (`sreops-ledger-<notifier>`, owned by it, so it goes with it) holds the entries as
JSON under `ledger.json`. Every write is a replace at the resourceVersion read, so two writers (a second
replica, a restarted process racing its old self) cannot both claim the same event: the loser gets 409,
reloads, and sees the other's entry.

The crash window between sending and recording is closed in three steps:
1. record intent: the entry is written `pending` before anything is sent;
2. send, carrying the event key in the message (Slack message metadata);
3. confirm: the entry becomes `sent` with the message's ts.
An entry found `pending` after a restart was maybe sent: the sender looks for the key in the channel's recent
history before sending it again, and confirms what it finds.

Entries are bounded (MAX_ENTRIES); the oldest settled ones go first, pending ones are never dropped. A key
pruned long ago is not sent again because events are read off current status and a Notifier's baseline
(see `baseline`) marks what existed before it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Literal

from kubernetes import client
from kubernetes.client.exceptions import ApiException

State = Literal["pending", "sent", "failed", "baseline"]
RETRY_FIRST_SECONDS = 2.0
MAX_ENTRIES = 2000  # about 300 KB of JSON at most, well under a ConfigMap's 1 MiB
DATA_KEY = "ledger.json"
SELECTION_KEY = "selection"  # what the baseline was taken for (plan.selection)
TOTALS_KEY = "totals"  # {"sent", "failed"}: written with the entries they count, so a crash cannot split them
CONFLICT = 409
NOT_FOUND = 404


@dataclass
class Entry:
    state: State
    at: str  # when the state was set (RFC 3339)
    ts: str | None = None  # Slack message ts (the thread parent for a run)
    channel: str | None = None
    attempts: int = 0
    error: str | None = None


class Ledger:
    def __init__(self, entries: dict[str, Entry] | None = None, selection: str | None = None) -> None:
        self.entries: dict[str, Entry] = dict(entries or {})
        self.selection = selection  # None: a ledger written before selections were recorded
        # Events sent and given up on since the Notifier exists (status.sent / status.failed); None: a ledger
        # written before totals were kept.
        self.sent_total: int | None = None
        self.failed_total: int | None = None

    def count(self, sent: int = 0, failed: int = 0) -> None:
        self.sent_total = (self.sent_total or 0) + sent
        self.failed_total = (self.failed_total or 0) + failed

    def get(self, key: str) -> Entry | None:
        return self.entries.get(key)

    def settled(self, key: str) -> bool:
        entry = self.entries.get(key)
        return entry is not None and entry.state in ("sent", "failed", "baseline")

    def set(self, key: str, entry: Entry) -> None:
        self.entries.pop(key, None)  # re-inserted last: insertion order is age order
        self.entries[key] = entry
        self.prune()

    def baseline(self, keys: Iterable[str], at: str) -> int:
        """Marks events that existed before the Notifier did: they are not sent. Returns how many."""
        n = 0
        for key in keys:
            if key not in self.entries:
                self.entries[key] = Entry("baseline", at)
                n += 1
        self.prune()
        return n

    def waiting_to_retry(self, key: str, now: float) -> bool:
        """A failed attempt backs off: 2 s, then doubling (4, 8, 16 s) before the next one."""
        entry = self.entries.get(key)
        if entry is None or entry.state != "pending" or entry.attempts == 0:
            return False
        try:
            last = datetime.fromisoformat(entry.at.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return False
        return bool(now < last + RETRY_FIRST_SECONDS * 2.0 ** (entry.attempts - 1))

    def last_sent(self) -> str | None:
        """When the newest sent entry was confirmed (RFC 3339; they sort as text)."""
        return max((e.at for e in self.entries.values() if e.state == "sent"), default=None)

    def pending(self) -> list[str]:
        return [k for k, e in self.entries.items() if e.state == "pending"]

    def prune(self, limit: int = MAX_ENTRIES) -> None:
        excess = len(self.entries) - limit
        if excess <= 0:
            return
        for key in [k for k, e in self.entries.items() if e.state != "pending"][:excess]:
            del self.entries[key]

    def to_json(self) -> str:
        return json.dumps({k: asdict(e) for k, e in self.entries.items()}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> Ledger:
        try:
            raw = json.loads(text or "{}")
        except ValueError:
            raw = {}
        entries: dict[str, Entry] = {}
        if isinstance(raw, dict):
            for key, value in raw.items():
                try:
                    entries[str(key)] = Entry(**value)
                except TypeError:
                    continue  # an entry we cannot read is dropped, not fatal
        return cls(entries)


class LedgerConflictError(RuntimeError):
    """Someone else wrote the ledger since it was read: reload and look again."""


def _totals(text: str | None) -> tuple[int | None, int | None]:
    try:
        raw = json.loads(text) if text else None
    except ValueError:
        raw = None
    if not isinstance(raw, dict):
        return None, None
    sent, failed = raw.get("sent"), raw.get("failed")
    return (sent if isinstance(sent, int) else None), (failed if isinstance(failed, int) else None)


def _version(cm: client.V1ConfigMap) -> str:
    return str(cm.metadata.resource_version if cm.metadata is not None else "")


def configmap_name(notifier: str) -> str:
    return f"sreops-ledger-{notifier}"[:253]


class LedgerStore:
    """Reads and writes one Notifier's ledger ConfigMap with optimistic concurrency."""

    def __init__(self, api: client.ApiClient, namespace: str, notifier: str, owner_uid: str) -> None:
        self._core = client.CoreV1Api(api)
        self.namespace = namespace
        self.notifier = notifier
        self.owner_uid = owner_uid
        self.name = configmap_name(notifier)

    def load(self) -> tuple[Ledger, str | None]:
        """The ledger and the resourceVersion it was read at (None: no ConfigMap yet)."""
        try:
            cm = self._core.read_namespaced_config_map(self.name, self.namespace)
        except ApiException as exc:
            if exc.status == NOT_FOUND:
                return Ledger(), None
            raise
        data = cm.data or {}
        ledger = Ledger.from_json(data.get(DATA_KEY))
        ledger.selection = data.get(SELECTION_KEY)
        ledger.sent_total, ledger.failed_total = _totals(data.get(TOTALS_KEY))
        return ledger, _version(cm)

    def save(self, ledger: Ledger, resource_version: str | None) -> str:
        """Writes the ledger if nobody else did since `resource_version`; returns the new resourceVersion."""
        owner = client.V1OwnerReference(
            api_version="sreops.io/v1alpha1",
            kind="Notifier",
            name=self.notifier,
            uid=self.owner_uid,
            controller=True,
            block_owner_deletion=False,
        )
        meta = client.V1ObjectMeta(
            name=self.name,
            namespace=self.namespace,
            labels={"app.kubernetes.io/managed-by": "sreops", "sreops.io/notifier": self.notifier[:63]},
            owner_references=[owner],
            resource_version=resource_version,
        )
        data = {DATA_KEY: ledger.to_json()}
        if ledger.selection is not None:
            data[SELECTION_KEY] = ledger.selection
        if ledger.sent_total is not None or ledger.failed_total is not None:
            data[TOTALS_KEY] = json.dumps({"sent": ledger.sent_total or 0, "failed": ledger.failed_total or 0})
        body = client.V1ConfigMap(api_version="v1", kind="ConfigMap", metadata=meta, data=data)
        try:
            if resource_version is None:
                return _version(self._core.create_namespaced_config_map(self.namespace, body))
            return _version(self._core.replace_namespaced_config_map(self.name, self.namespace, body))
        except ApiException as exc:
            if exc.status == CONFLICT:
                raise LedgerConflictError(f"ledger {self.namespace}/{self.name} changed meanwhile") from exc
            raise
