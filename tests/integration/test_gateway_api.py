"""The HTTP API over real HTTP against the Kubernetes stand-in: API keys (hashed in the Secret), the
per-key limits (100 in any second, 10,000 in any day; the clock is injected so a day passes at once),
input checks naming the field, and actions made as the key's identity."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from http.client import HTTPConnection
from typing import Any

import pytest

from sreops.sandbox import gateway_seed
from tests.integration.conftest import Kube
from tests.integration.gateway_support import (
    API_KEY,
    GatewayServer,
    apply_samples,
    chat_events,
    http,
    seed_chat_users,
    settings,
)

pytestmark = pytest.mark.integration
# The day's limit in make test (the same code path, 2 s of requests); `make fuzz` runs the real 10,000.
DAY_LIMIT = int(os.environ.get("SREOPS_GATEWAY_DAY_LIMIT", "1000"))
AUTH = {"Authorization": f"Bearer {API_KEY}"}


class Clock:
    now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def gateway(kube: Kube, clock: Clock) -> Iterator[GatewayServer]:
    apply_samples(kube.api, "web-fleet", "prod")
    seed_chat_users(kube.api)
    gateway_seed.seed_api_key(kube.api, "default", API_KEY, name="ci")
    server = GatewayServer(settings(), kube.api, clock=clock)
    try:
        yield server
    finally:
        server.stop()


def call(
    gw: GatewayServer, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | None = None
) -> Any:
    return http(method, gw.url + path, body, {**AUTH, **(headers or {})})


def test_keys_missing_or_unknown_get_401(gateway: GatewayServer) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Basic " + API_KEY},
        {"Authorization": "Bearer "},
    ):
        answer = http("GET", gateway.url + "/api/v1/status", None, headers)
        assert answer.status == 401
        assert answer.json()["error"]["field"] == "Authorization"
        assert answer.headers["WWW-Authenticate"] == "Bearer"
    metrics = http("GET", gateway.url + "/metrics").body.decode()
    assert 'sreops_gateway_auth_failures_total{channel="api",reason="missing_key"} 3.0' in metrics
    assert 'sreops_gateway_auth_failures_total{channel="api",reason="unknown_key"} 1.0' in metrics


def test_status_and_writes_act_as_the_keys_identity(gateway: GatewayServer, kube: Kube) -> None:
    answer = call(gateway, "GET", "/api/v1/status?namespace=default&kind=pp")
    assert answer.status == 200
    (item,) = answer.json()["items"]
    assert (item["kind"], item["name"]) == ("PatchPolicy", "web-fleet")
    paused = call(gateway, "POST", "/api/v1/namespaces/default/policies/web-fleet/pause")
    assert paused.status == 200
    assert paused.json() == {"namespace": "default", "policy": "web-fleet", "suspend": True, "changed": True}
    (event,) = chat_events(kube.api)
    assert "ci-api@sandbox.example via api (ci)" in event.message
    assert API_KEY not in event.message
    run = call(gateway, "POST", "/api/v1/namespaces/default/policies/web-fleet/run")
    assert run.status == 202
    assert run.json()["run"].startswith("web-fleet-")
    progress = call(gateway, "GET", f"/api/v1/namespaces/default/runs/{run.json()['run']}")
    assert progress.status == 404  # no operator here: the run does not exist (yet)
    assert call(gateway, "GET", "/api/v1/namespaces/default/policies/web-fleet/run").status == 405
    assert call(gateway, "GET", "/api/v1/namespaces/default/schedules/nope/findings").status == 404


def test_invalid_requests_name_the_field(gateway: GatewayServer) -> None:
    cases = {
        "/api/v1/status?colour=blue": ("GET", {}, None, 400, "colour"),
        "/api/v1/status?namespace=Not_OK": ("GET", {}, None, 400, "namespace"),
        "/api/v1/status?name=a&name=b": ("GET", {}, None, 400, "name"),
        "/api/v1/status?kind=gizmo": ("GET", {}, None, 400, "kind"),
        "/api/v1/namespaces/UPPER/policies/web-fleet/pause": ("POST", {}, None, 400, "namespace"),
        "/api/v1/namespaces/default/policies/web_fleet/pause": ("POST", {}, None, 400, "name"),
        "/api/v1/namespaces/default/policies/web-fleet/resume": (
            "POST",
            {"Content-Type": "text/plain"},
            b"x",
            415,
            "Content-Type",
        ),
        "/api/v1/namespaces/default/policies/web-fleet/run": (
            "POST",
            {"Content-Type": "application/json"},
            b"{",
            400,
            "body",
        ),
        "/api/v1/namespaces/default/schedules/web-fleet/scan": (
            "POST",
            {"Content-Type": "application/json"},
            b'{"a":1}',
            400,
            "body",
        ),
    }
    for path, (method, headers, body, status, field) in cases.items():
        answer = call(gateway, method, path, headers, body)
        assert answer.status == status, path
        assert answer.json()["error"]["field"] == field, path
    huge = call(
        gateway,
        "POST",
        "/api/v1/namespaces/default/policies/web-fleet/run",
        {"Content-Type": "application/json"},
        b" " * 300_000,
    )
    assert huge.status == 413
    assert call(gateway, "GET", "/api/v1/nothing-here").status == 404


def test_the_101st_request_within_a_second_gets_429(gateway: GatewayServer, clock: Clock) -> None:
    path = "/api/v1/namespaces/default/runs/Bad_Name"  # answered 400 at once, after the limits count it
    answers = [call(gateway, "GET", path).status for _ in range(100)]
    assert answers == [400] * 100
    refused = call(gateway, "GET", path)
    assert refused.status == 429
    assert refused.headers["Retry-After"] == "1"
    assert refused.json()["error"]["code"] == "TooManyRequests"
    clock.now += 1.01
    assert call(gateway, "GET", path).status == 400
    metrics = http("GET", gateway.url + "/metrics").body.decode()
    assert 'sreops_gateway_rate_limited_total{window="second"} 1.0' in metrics


@pytest.fixture
def day_gateway(kube: Kube, clock: Clock) -> Iterator[GatewayServer]:
    seed_chat_users(kube.api)
    gateway_seed.seed_api_key(kube.api, "default", API_KEY, name="ci")
    server = GatewayServer(settings(rate_per_day=DAY_LIMIT), kube.api, clock=clock)
    try:
        yield server
    finally:
        server.stop()


def test_the_request_over_the_days_limit_gets_429(day_gateway: GatewayServer, clock: Clock) -> None:
    """With the default limit (make fuzz): the 10,001st request within a day."""
    gateway = day_gateway
    host, port = gateway.url.removeprefix("http://").split(":")
    connection = HTTPConnection(host, int(port), timeout=10)  # keep-alive: 10,000 requests in seconds
    path = "/api/v1/namespaces/default/runs/Bad_Name"

    def get() -> tuple[int, dict[str, str], Any]:
        connection.request("GET", path, headers=AUTH)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())

    start = clock.now
    statuses: dict[int, int] = {}
    for _ in range(DAY_LIMIT):
        clock.now += 0.011  # 91 a second: never the per-second limit
        status, _, _ = get()
        statuses[status] = statuses.get(status, 0) + 1
    assert statuses == {400: DAY_LIMIT}
    status, headers, body = get()
    assert status == 429
    assert body["error"]["code"] == "TooManyRequests"
    assert int(headers["Retry-After"]) == pytest.approx(86_400 - (clock.now - start), abs=2)
    clock.now = start + 86_400 + 0.02  # the first request of the day has left the window
    assert get()[0] == 400
    connection.close()
    metrics = http("GET", gateway.url + "/metrics").body.decode()
    assert 'sreops_gateway_rate_limited_total{window="day"} 1.0' in metrics
