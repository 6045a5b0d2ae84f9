"""The operator process against the stand-ins: the InvalidSpec contract, AWSAccount, restarts."""

from __future__ import annotations

import copy
import json
import signal
from pathlib import Path
from typing import Any

import kopf
import pytest
import yaml
from kubernetes import client

from sreops.operator.api import GROUP, KINDS, VERSION
from sreops.sandbox.aws.scenario import SANDBOX_EXTERNAL_ID
from tests.integration.conftest import Aws, Kube, OperatorProcess, make_operator, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SAMPLES = Path(__file__).resolve().parents[2] / "crds" / "samples"


def _sample(kind: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((SAMPLES / f"{kind.lower()}.yaml").read_text())
    return doc


def _get(kube: Kube, kind: str, name: str) -> dict[str, Any]:
    obj: dict[str, Any] = kube.custom.get_namespaced_custom_object(GROUP, VERSION, "default", KINDS[kind].plural, name)
    return obj


def _ready(kube: Kube, kind: str, name: str) -> dict[str, Any] | None:
    status = _get(kube, kind, name).get("status") or {}
    return next((c for c in status.get("conditions", []) if c["type"] == "Ready"), None)


def _events(kube: Kube, name: str, reason: str) -> list[Any]:
    events = client.CoreV1Api(kube.api).list_namespaced_event("default").items
    return [e for e in events if e.involved_object.name == name and e.reason == reason]


def _external_id_secret(kube: Kube, value: str = SANDBOX_EXTERNAL_ID) -> None:
    kube.core.create_namespaced_secret(
        "default", client.V1Secret(metadata=client.V1ObjectMeta(name="prod-aws"), string_data={"externalId": value})
    )


def test_every_valid_sample_is_accepted(kube: Kube, operator_process: OperatorProcess) -> None:
    _external_id_secret(kube)
    for kind in KINDS.values():
        kube.custom.create_namespaced_custom_object(GROUP, VERSION, "default", kind.plural, _sample(kind.kind))
    for kind in KINDS.values():
        name = _sample(kind.kind)["metadata"]["name"]
        ready = wait_for(lambda k=kind.kind, n=name: _ready(kube, k, n))
        assert ready["reason"] != "InvalidSpec"
        obj = _get(kube, kind.kind, name)
        assert obj["status"]["observedGeneration"] == obj["metadata"]["generation"]
        assert ready["observedGeneration"] == obj["metadata"]["generation"]
    account = wait_for(lambda: (r := _ready(kube, "AWSAccount", "prod")) and r["status"] == "True" and r)
    assert account["reason"] == "Verified"
    assert _get(kube, "AWSAccount", "prod")["status"]["accountId"] == "111122223333"


def test_account_whose_role_cannot_be_assumed_says_why(kube: Kube, operator_process: OperatorProcess) -> None:
    """A wrong external id: STS answers AccessDenied, and the account says so with AWS's message."""
    _external_id_secret(kube, "not-the-external-id")
    kube.custom.create_namespaced_custom_object(GROUP, VERSION, "default", "awsaccounts", _sample("AWSAccount"))
    ready = wait_for(lambda: (r := _ready(kube, "AWSAccount", "prod")) and r["reason"] == "AssumeRoleFailed" and r)
    assert ready["status"] == "False"
    assert "AccessDenied" in ready["message"] and "arn:aws:iam::111122223333:role/sreops" in ready["message"]
    assert "not-the-external-id" not in ready["message"]

    # A change of Ready is an Event too (once, not on every resync), with AWS's words and no secret.
    lost = wait_for(lambda: _events(kube, "prod", "AssumeRoleFailed"))
    assert [e.type for e in lost] == ["Warning"] and "AccessDenied" in lost[0].message
    assert "not-the-external-id" not in lost[0].message

    # Fixing the Secret is enough: the resync picks it up without a spec change.
    kube.core.patch_namespaced_secret("prod-aws", "default", {"stringData": {"externalId": SANDBOX_EXTERNAL_ID}})
    wait_for(lambda: (r := _ready(kube, "AWSAccount", "prod")) and r["status"] == "True", timeout=30)
    assert [e.type for e in wait_for(lambda: _events(kube, "prod", "Verified"))] == ["Normal"]
    assert len(_events(kube, "prod", "AssumeRoleFailed")) == 1  # the resyncs in between did not repeat it


def test_missing_secret_is_a_wait_until_it_appears(kube: Kube, operator_process: OperatorProcess) -> None:
    kube.custom.create_namespaced_custom_object(GROUP, VERSION, "default", "awsaccounts", _sample("AWSAccount"))
    ready = wait_for(lambda: _ready(kube, "AWSAccount", "prod"))
    assert (ready["status"], ready["reason"]) == ("False", "SecretNotFound")
    assert ready["message"] == "spec.externalIdSecretRef: Secret 'prod-aws' not found in namespace 'default'"
    assert wait_for(lambda: _events(kube, "prod", "SecretNotFound"))[0].type == "Normal"
    assert not _events(kube, "prod", "InvalidSpec")

    # The Secret appears: the account is verified without anyone touching it.
    _external_id_secret(kube)
    wait_for(lambda: (r := _ready(kube, "AWSAccount", "prod")) and r["status"] == "True", timeout=30)


def test_invalid_spec_sets_ready_false_with_the_field_and_a_warning(
    kube: Kube, operator_process: OperatorProcess
) -> None:
    """A cron the CRD's pattern accepts but cron cannot run: only the operator's model can reject it."""
    policy = _sample("PatchPolicy")
    policy["metadata"]["name"] = "bad-cron"
    policy["spec"]["schedule"] = {"cron": "61 3 * * *", "timezone": "UTC"}
    kube.custom.create_namespaced_custom_object(GROUP, VERSION, "default", "patchpolicies", policy)

    ready = wait_for(lambda: _ready(kube, "PatchPolicy", "bad-cron"))
    assert (ready["status"], ready["reason"]) == ("False", "InvalidSpec")
    assert ready["message"].startswith("spec.schedule.cron:")
    assert wait_for(lambda: _events(kube, "bad-cron", "InvalidSpec"))[0].type == "Warning"
    first_transition = ready["lastTransitionTime"]

    # Fixing the spec is picked up at once; Ready flips, so its transition time moves.
    fixed = copy.deepcopy(policy["spec"])
    fixed["schedule"]["cron"] = "0 3 * * 0"
    fixed["accountRef"] = None  # no AWSAccount in this test: the operator's own credentials
    kube.custom.patch_namespaced_custom_object(GROUP, VERSION, "default", "patchpolicies", "bad-cron", {"spec": fixed})
    ready = wait_for(lambda: (r := _ready(kube, "PatchPolicy", "bad-cron")) and r["status"] == "True" and r)
    assert ready["observedGeneration"] == 2
    assert ready["lastTransitionTime"] >= first_transition
    assert 'sreops_reconciles_total{kind="PatchPolicy",result="invalid_spec"} 1.0' in operator_process.metrics()


def test_restart_loses_nothing_and_repeats_no_warning(kube: Kube, operator_process: OperatorProcess) -> None:
    bad = _sample("ScanSchedule")
    bad["metadata"]["name"] = "bad-zone"
    bad["spec"]["schedule"] = {"cron": "0 * * * *", "timezone": "Mars/Olympus_Mons"}
    kube.custom.create_namespaced_custom_object(GROUP, VERSION, "default", "scanschedules", bad)
    wait_for(lambda: _events(kube, "bad-zone", "InvalidSpec"))

    operator_process.stop()
    # Created while the operator is down: handled after it comes back.
    kube.custom.create_namespaced_custom_object(GROUP, VERSION, "default", "notifiers", _sample("Notifier"))
    operator_process.start()

    ready = wait_for(lambda: _ready(kube, "Notifier", "sre-alerts"))
    assert ready["reason"] == "SecretNotFound"
    # Its Secrets appear: a watch on Secrets re-triggers it, nobody touches the Notifier.
    for name, key in (("slack-bot", "token"), ("teams", "url")):
        kube.core.create_namespaced_secret(
            "default", client.V1Secret(metadata=client.V1ObjectMeta(name=name), string_data={key: "s3cr3t-value"})
        )
    # The wait ends; Slack (not running here) cannot be reached, which Ready now says.
    ready = wait_for(lambda: (r := _ready(kube, "Notifier", "sre-alerts")) and r["reason"] == "ChatUnavailable" and r)
    notifier = _get(kube, "Notifier", "sre-alerts")
    assert " Secret/" in notifier["metadata"]["annotations"]["sreops.io/reconcile-requested"]
    assert "s3cr3t-value" not in operator_process.child.log.read_text()
    # The resumed invalid object is re-validated but not warned about again.
    assert len(_events(kube, "bad-zone", "InvalidSpec")) == 1
    assert _ready(kube, "ScanSchedule", "bad-zone")["reason"] == "InvalidSpec"  # type: ignore[index]


def test_delete_waits_for_the_operator_to_release_its_finalizer(kube: Kube, operator_process: OperatorProcess) -> None:
    """kopf holds a finalizer on every object it times; deletion completes only after the operator lets go."""
    kube.custom.create_namespaced_custom_object(GROUP, VERSION, "default", "notifiers", _sample("Notifier"))
    wait_for(
        lambda: "sreops.io/finalizer" in (_get(kube, "Notifier", "sre-alerts")["metadata"].get("finalizers") or [])
    )
    operator_process.stop()
    kube.custom.delete_namespaced_custom_object(GROUP, VERSION, "default", "notifiers", "sre-alerts")
    held = _get(kube, "Notifier", "sre-alerts")
    assert held["metadata"]["deletionTimestamp"]  # held by the finalizer while the operator is down
    operator_process.start()

    def gone() -> bool:
        try:
            _get(kube, "Notifier", "sre-alerts")
        except client.ApiException as exc:
            return exc.status == 404
        return False

    wait_for(gone)


def test_aws_calls_and_throttles_are_counted(kube: Kube, aws: Aws, operator_process: OperatorProcess) -> None:
    """Every AWS call is counted by service, operation and code; each throttled attempt is counted too."""
    aws.admin("PUT", "faults", {"spec": "sts:GetCallerIdentity=throttle:1x"})  # the next call only
    _external_id_secret(kube)
    kube.custom.create_namespaced_custom_object(GROUP, VERSION, "default", "awsaccounts", _sample("AWSAccount"))
    wait_for(lambda: (r := _ready(kube, "AWSAccount", "prod")) and r["status"] == "True")
    metrics = operator_process.metrics()
    assert (
        'sreops_aws_throttles_total{account="111122223333",operation="GetCallerIdentity",service="sts"} 1.0' in metrics
    )
    # botocore's standard retry hid the throttle: the call itself succeeded.
    assert (
        'sreops_aws_calls_total{account="111122223333",code="OK",operation="GetCallerIdentity",service="sts"}'
        in metrics
    )
    assert 'sreops_aws_calls_total{account="111122223333",code="OK",operation="AssumeRole",service="sts"}' in metrics


def test_an_upgrade_from_the_old_annotation_prefix_runs_no_creation_again(
    kube: Kube, operator_process: OperatorProcess
) -> None:
    """An object handled by an earlier version carries kopf's bookkeeping under sreops.io/: it is resumed,
    not created again, and its old keys move to kopf.sreops.io/."""
    for name, key in (("slack-bot", "token"), ("teams", "url")):
        kube.core.create_namespaced_secret(
            "default", client.V1Secret(metadata=client.V1ObjectMeta(name=name), string_data={key: "x"})
        )
    operator_process.stop()
    created = kube.custom.create_namespaced_custom_object(GROUP, VERSION, "default", "notifiers", _sample("Notifier"))
    # What the earlier version left: its diff base, marker and finalizer.
    legacy = kopf.AnnotationsDiffBaseStorage(prefix="sreops.io", key="last-handled-configuration")
    essence = legacy.build(body=kopf.Body(created))
    annotations = {
        "sreops.io/last-handled-configuration": json.dumps(essence, separators=(",", ":")) + "\n",
        "sreops.io/kopf-managed": "yes",
    }
    patch = {"metadata": {"annotations": annotations, "finalizers": ["sreops.io/finalizer"]}}
    kube.custom.patch_namespaced_custom_object(GROUP, VERSION, "default", "notifiers", "sre-alerts", patch)
    operator_process.start()

    wait_for(lambda: (r := _ready(kube, "Notifier", "sre-alerts")) and r["reason"] == "ChatUnavailable")
    log = operator_process.child.log.read_text()
    assert "[default/sre-alerts] Resuming is processed" in log  # an object's lines name it
    assert "Creation is processed" not in log

    # The next change is handled as an update, and the old keys are gone.
    kube.custom.patch_namespaced_custom_object(
        GROUP, VERSION, "default", "notifiers", "sre-alerts", {"spec": {"minSeverity": "CRITICAL"}}
    )

    def migrated() -> dict[str, str] | None:
        found: dict[str, str] = _get(kube, "Notifier", "sre-alerts")["metadata"].get("annotations") or {}
        return found if "kopf.sreops.io/last-handled-configuration" in found else None

    found = wait_for(migrated)
    assert not {k for k in found if k.startswith("sreops.io/")} & set(annotations)
    assert "Updating is processed" in operator_process.child.log.read_text()
    assert "Creation is processed" not in operator_process.child.log.read_text()


def _catches_sigterm(pid: int) -> bool:
    """Whether the process has a SIGTERM handler (Linux: the SigCgt mask in /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signal.SIGTERM - 1) & 1)
    return False


def _imported_aiohttp(pid: int) -> bool:
    """Whether the process has loaded aiohttp (kopf's HTTP client): its C extension is mapped then."""
    return "aiohttp/_http" in Path(f"/proc/{pid}/maps").read_text()


def test_a_sigterm_while_it_starts_is_a_clean_stop(kube: Kube, aws: Aws, tmp_path: Path) -> None:
    """A pod deleted or rolled while its process starts gets SIGTERM during the parser's and the operator's
    imports (up to seconds on a loaded node): the operator must exit 0 as it does when stopped later, not die of
    the signal (-15) because no handler existed yet. The child is paused the moment it has a SIGTERM handler,
    which must be before kopf and aiohttp are loaded; the signal then lands inside the imports, however fast
    this machine is."""
    op = make_operator(kube, aws.env, tmp_path)
    op.child.spawn()
    proc = op.child.proc
    assert proc is not None
    try:
        wait_for(lambda: proc.poll() is not None or _catches_sigterm(proc.pid), timeout=30, interval=0.005)
        proc.send_signal(signal.SIGSTOP)
        assert proc.poll() is None, "exited before the signal"
        assert not _imported_aiohttp(proc.pid), "its first SIGTERM handler came only after the imports"
        proc.send_signal(signal.SIGTERM)
    finally:
        proc.send_signal(signal.SIGCONT)
    assert proc.wait(timeout=30) == 0, op.child.log.read_text()[-2000:]
