"""The CLI's paths that need no operator, in-process: against the Kubernetes stand-in with a kubeconfig, and
over --api-url against a tiny aiohttp server speaking the gateway's /api/v1 contract (routes, Bearer key,
`{"error": {...}}` answers) so the client's requests and its error mapping are checked over real HTTP."""

from __future__ import annotations

import asyncio
import copy
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from sreops import cli, status_cli
from sreops.operator.api import GROUP, VERSION
from sreops.sandbox.kube.server import KubeServer, ThreadHandle
from sreops.sandbox.seed import SAMPLES_DIR, install_crds, load_documents

SAMPLES = {d["kind"]: d for d in load_documents(sorted(SAMPLES_DIR.glob("*.yaml")))}
KEY = "k-0123456789abcdef"


@pytest.fixture(scope="module")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadHandle]:
    handle = KubeServer(tmp_path_factory.mktemp("kube"), port=0).start_in_thread()
    api = k8s_config.new_client_from_config(config_file=str(handle.kubeconfig_path))
    install_crds(api)
    body = copy.deepcopy(SAMPLES["PatchPolicy"])
    k8s.CustomObjectsApi(api).create_namespaced_custom_object(GROUP, VERSION, "default", "patchpolicies", body)
    api.close()
    yield handle
    handle.stop()


def sreops(*words: str) -> int:
    return cli.main(list(words))


def test_targets() -> None:
    assert status_cli.parse_target("pp/web-fleet") == ("PatchPolicy", "web-fleet")
    assert status_cli.parse_target("scanschedules") == ("ScanSchedule", None)
    assert status_cli.parse_target("web-fleet") == (None, "web-fleet")
    with pytest.raises(status_cli.ops_cli.UsageError):
        status_cli.parse_target("pp/")


def test_kubeconfig_mode_paths(
    kube: ThreadHandle, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SREOPS_API_URL", raising=False)
    config = ("--kubeconfig", str(kube.kubeconfig_path))
    assert sreops("status", "pp", "-A", *config) == 0
    assert capsys.readouterr().out.splitlines()[0].split()[:2] == ["NAMESPACE", "PATCHPOLICY"]
    assert sreops("status", "pp/nope", *config) == 1
    assert capsys.readouterr().err == "sreops status: PatchPolicy 'nope' not found in namespace 'default'\n"
    assert sreops("status", "deployments/x", *config) == 2
    assert "unknown kind 'deployments'" in capsys.readouterr().err
    assert sreops("pause", "web-fleet", *config) == 0
    assert sreops("pause", "web-fleet", *config) == 0
    assert (
        capsys.readouterr().out.splitlines()[-1] == "PatchPolicy default/web-fleet was already paused (nothing changed)"
    )
    assert sreops("scan", "nope", *config) == 1
    assert capsys.readouterr().err == "sreops scan: ScanSchedule 'nope' not found in namespace 'default'\n"
    assert sreops("run", "Bad_Name", *config) == 2
    assert capsys.readouterr().err.startswith("sreops run: policy 'Bad_Name' is not a Kubernetes name")
    assert sreops("status", "--kubeconfig", "/nonexistent") == 1
    assert capsys.readouterr().err.startswith("sreops status: no usable kubeconfig: ")


# -- --api-url ----------------------------------------------------------------------------------------------


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, "field": None}}, status=status)


class Gateway:
    """The contract's routes with fixed answers; a run ends on its second read."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, str]] = []
        self.reads = 0
        self.url = ""

    def app(self) -> web.Application:
        @web.middleware
        async def auth(request: web.Request, handler: Any) -> web.StreamResponse:
            self.requests.append((request.method, request.path_qs, request.headers.get("Authorization", "")))
            if request.headers.get("Authorization") != f"Bearer {KEY}":
                return _error(401, "Unauthorized", "missing or unknown API key")
            return await handler(request)

        ready = {"type": "Ready", "status": "False", "reason": "AccountNotFound", "message": "no prod"}

        async def status(request: web.Request) -> web.Response:
            item = {
                "kind": "PatchPolicy",
                "namespace": "default",
                "name": "web-fleet",
                "ready": ready,
                "summary": {"operation": "Install", "created": "2026-01-05T10:00:00Z"},
            }
            return web.json_response({"items": [item]})

        async def run(request: web.Request) -> web.Response:
            if request.match_info["name"] != "web-fleet":
                return _error(404, "NotFound", "PatchPolicy 'nope' not found in namespace 'default'")
            body = {"namespace": "default", "policy": "web-fleet", "value": "v1", "run": "web-fleet-now-1"}
            return web.json_response(body, status=202)

        async def progress(request: web.Request) -> web.Response:
            self.reads += 1
            if self.reads == 1:
                return _error(404, "NotFound", "not yet")
            return web.json_response(
                {
                    "namespace": "default",
                    "name": "web-fleet-now-1",
                    "done": True,
                    "result": "Succeeded",
                    "instances": {"total": 2, "succeeded": 2, "failed": 0, "inProgress": 0, "timedOut": 0},
                    "failed_instances": [],
                }
            )

        async def pause(request: web.Request) -> web.Response:
            return web.json_response({"namespace": "default", "policy": "web-fleet", "suspend": True, "changed": True})

        async def findings(request: web.Request) -> web.Response:
            return web.json_response(
                {
                    "namespace": "default",
                    "schedule": "prod-hourly",
                    "ready": None,
                    "last_scan_time": "2026-01-05T11:00:00Z",
                    "counts": {"critical": 1, "high": 0, "medium": 0, "low": 0, "informational": 0, "suppressed": 0},
                    "top": [
                        {"vulnerabilityId": "CVE-2024-3094", "severity": "CRITICAL", "resource": "i-1", "title": "xz"}
                    ],
                }
            )

        app = web.Application(middlewares=[auth])
        app.router.add_get("/api/v1/status", status)
        app.router.add_post("/api/v1/namespaces/{namespace}/policies/{name}/run", run)
        app.router.add_post("/api/v1/namespaces/{namespace}/policies/{name}/pause", pause)
        app.router.add_get("/api/v1/namespaces/{namespace}/runs/{name}", progress)
        app.router.add_get("/api/v1/namespaces/{namespace}/schedules/{name}/findings", findings)
        return app


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    gw = Gateway()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(gw.app())
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    gw.url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("SREOPS_API_KEY", KEY)
    monkeypatch.setattr("sreops.run_cli.POLL_SECONDS", 0.01)
    try:
        yield gw
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_api_mode_speaks_the_contract(gateway: Gateway, capsys: pytest.CaptureFixture[str]) -> None:
    api = ("--api-url", gateway.url)
    assert sreops("status", "pp/web-fleet", "-o", "json", *api) == 0
    [item] = json.loads(capsys.readouterr().out)["items"]
    assert item["ready"]["reason"] == "AccountNotFound"
    assert sreops("run", "web-fleet", "--wait", *api) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "web-fleet-now-1"
    assert out[-1] == "PatchRun web-fleet-now-1 Succeeded: 2 of 2 instances succeeded, 0 failed"
    assert sreops("pause", "web-fleet", *api) == 0
    assert capsys.readouterr().out == "PatchPolicy default/web-fleet paused\n"
    assert sreops("findings", "prod-hourly", *api) == 0
    table = capsys.readouterr().out
    assert "1 critical" in table and "CVE-2024-3094" in table
    assert sreops("run", "nope", *api) == 1
    assert capsys.readouterr().err == "sreops run: PatchPolicy 'nope' not found in namespace 'default'\n"
    paths = [(m, p) for m, p, _ in gateway.requests]
    assert ("GET", "/api/v1/status?namespace=default&kind=PatchPolicy&name=web-fleet") in paths
    assert ("POST", "/api/v1/namespaces/default/policies/web-fleet/run") in paths
    assert ("GET", "/api/v1/namespaces/default/runs/web-fleet-now-1") in paths
    assert {a for _, _, a in gateway.requests} == {f"Bearer {KEY}"}


def test_api_mode_errors(gateway: Gateway, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SREOPS_API_KEY", "wrong")
    assert sreops("status", "--api-url", gateway.url) == 1
    err = capsys.readouterr().err
    assert err == "sreops status: missing or unknown API key\n" and "wrong" not in err
    monkeypatch.delenv("SREOPS_API_KEY")
    assert sreops("status", "--api-url", gateway.url) == 2
    assert capsys.readouterr().err == "sreops status: --api-url needs the API key in $SREOPS_API_KEY\n"
    monkeypatch.setenv("SREOPS_API_KEY", KEY)
    assert sreops("status", "--api-url", "http://127.0.0.1:9") == 1
    assert capsys.readouterr().err.startswith("sreops status: cannot reach the gateway at http://127.0.0.1:9: ")
