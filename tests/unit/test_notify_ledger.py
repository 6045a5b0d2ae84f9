"""The delivery ledger: bounded, pending entries never dropped, and two writers cannot both claim an event
(optimistic concurrency on the ConfigMap, against the Kubernetes stand-in over HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config

from sreops.operator.notify.ledger import Entry, Ledger, LedgerConflictError, LedgerStore
from sreops.sandbox.kube.server import KubeServer
from sreops.sandbox.seed import install_crds

AT = "2026-01-05T12:00:00Z"


def test_bounded_oldest_settled_first_and_pending_kept() -> None:
    ledger = Ledger()
    ledger.set("p", Entry("pending", AT))
    for n in range(10):
        ledger.set(f"k{n}", Entry("sent", AT, ts=f"{n}.0"))
    ledger.prune(limit=5)
    assert list(ledger.entries) == ["p", "k6", "k7", "k8", "k9"]
    assert ledger.pending() == ["p"] and not ledger.settled("p") and ledger.settled("k9")


def test_baseline_marks_only_unknown_keys_and_survives_a_round_trip() -> None:
    ledger = Ledger({"a": Entry("sent", AT, ts="1.0", channel="C1")})
    assert ledger.baseline(["a", "b", "c"], AT) == 2
    again = Ledger.from_json(ledger.to_json())
    assert again.get("a") == Entry("sent", AT, ts="1.0", channel="C1")
    assert again.get("b") == Entry("baseline", AT) and again.settled("c")
    assert Ledger.from_json("not json").entries == {}
    assert Ledger.from_json('{"x": {"bogus": 1}}').entries == {}


def test_a_failed_attempt_backs_off_doubling() -> None:
    ledger = Ledger({"k": Entry("pending", "2026-01-05T12:00:00Z", attempts=3)})
    at = 1767614400.0  # 2026-01-05T12:00:00Z
    assert ledger.waiting_to_retry("k", at + 7.9) and not ledger.waiting_to_retry("k", at + 8.0)
    assert not Ledger({"k": Entry("pending", AT)}).waiting_to_retry("k", at)  # never tried: not waiting


@pytest.fixture
def api(tmp_path: Path) -> Iterator[client.ApiClient]:
    handle = KubeServer(tmp_path / "kube").start_in_thread()
    api = config.new_client_from_config(config_file=str(handle.kubeconfig_path))
    try:
        yield api
    finally:
        api.close()
        handle.stop()


@pytest.mark.integration
def test_two_writers_cannot_both_claim_an_event(api: client.ApiClient) -> None:
    install_crds(api)
    notifier = {
        "apiVersion": "sreops.io/v1alpha1",
        "kind": "Notifier",
        "metadata": {"name": "sre-alerts"},
        "spec": {"teams": {"webhookSecretRef": {"name": "teams", "key": "url"}}},
    }
    created = client.CustomObjectsApi(api).create_namespaced_custom_object(
        "sreops.io", "v1alpha1", "default", "notifiers", notifier
    )
    uid = created["metadata"]["uid"]  # a real owner: the garbage collector keeps the ledger while it exists
    one = LedgerStore(api, "default", "sre-alerts", uid)
    two = LedgerStore(api, "default", "sre-alerts", uid)
    ledger, version = one.load()
    assert version is None and ledger.entries == {}
    version = one.save(ledger, version)
    a, va = one.load()
    b, vb = two.load()
    a.set("event-1", Entry("pending", AT))
    one.save(a, va)
    b.set("event-1", Entry("pending", AT))
    with pytest.raises(LedgerConflictError):
        two.save(b, vb)  # the loser reloads and sees the other's intent
    fresh, _ = two.load()
    assert fresh.get("event-1") == Entry("pending", AT)
    cm = client.CoreV1Api(api).read_namespaced_config_map("sreops-ledger-sre-alerts", "default")
    assert cm.metadata.owner_references[0].kind == "Notifier"


@pytest.mark.integration
def test_the_selection_and_the_totals_are_kept_in_the_configmap(api: client.ApiClient) -> None:
    install_crds(api)
    notifier = {
        "apiVersion": "sreops.io/v1alpha1",
        "kind": "Notifier",
        "metadata": {"name": "totals"},
        "spec": {"teams": {"webhookSecretRef": {"name": "teams", "key": "url"}}},
    }
    created = client.CustomObjectsApi(api).create_namespaced_custom_object(
        "sreops.io", "v1alpha1", "default", "notifiers", notifier
    )
    store = LedgerStore(api, "default", "totals", created["metadata"]["uid"])
    ledger, version = store.load()
    assert (ledger.sent_total, ledger.failed_total, ledger.selection) == (None, None, None)
    ledger.set("event-1", Entry("sent", AT, ts="1.0"))
    ledger.count(sent=1)
    ledger.selection = "abc"
    store.save(ledger, version)
    again, _ = store.load()
    assert (again.sent_total, again.failed_total, again.selection) == (1, 0, "abc")
    assert again.last_sent() == AT
