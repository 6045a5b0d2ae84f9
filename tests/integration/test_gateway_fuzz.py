"""The gateway under generated and malformed input, over real HTTP: schemathesis against the OpenAPI
document it serves (stateless, positive and negative cases for every operation), and a fuzz of malformed
requests to every route (bad JSON, huge bodies, wrong content types, unicode, bad signatures, bad
tokens). No answer may be a 5xx, every error is the JSON error shape, and the gateway keeps serving.

`make test` runs a reduced form; `make fuzz` sets SREOPS_FUZZ_CASES (schemathesis cases, >= 1,000) and
SREOPS_FUZZ_REQUESTS (malformed requests, >= 2,000 to every route)."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from sreops.bots.gateway.api import openapi_document
from sreops.sandbox import gateway_seed
from sreops.sandbox.chat.server import ChatSandbox, ThreadedChatSandbox
from sreops.sandbox.chat.slack_signing import signed_headers
from tests.integration.conftest import Kube
from tests.integration.gateway_support import (
    API_KEY,
    SIGNING_SECRET,
    GatewayServer,
    apply_samples,
    http,
    seed_chat_users,
)
from tests.integration.gateway_support import settings as gateway_settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]
CASES = int(os.environ.get("SREOPS_FUZZ_CASES", "100"))  # schemathesis cases in all
REQUESTS = int(os.environ.get("SREOPS_FUZZ_REQUESTS", "100"))  # malformed requests to each route
AUTH = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture
def gateway(kube: Kube, tmp_path: Path) -> Iterator[tuple[GatewayServer, ChatSandbox]]:
    apply_samples(kube.api, "web-fleet", "prod", "nightly-scan")
    seed_chat_users(kube.api)
    gateway_seed.seed_api_key(kube.api, "default", API_KEY, name="fuzz")
    with ThreadedChatSandbox(ChatSandbox(tmp_path / "chat")) as chat:
        config = gateway_settings(
            rate_per_second=1_000_000,
            rate_per_day=10_000_000,
            teams_app_id=chat.bot_app.app_id,
            teams_app_password=chat.bot_app.password,
            teams_openid_metadata_url=chat.openid_metadata_url,
            teams_token_url=chat.botframework_token_url,
        )
        server = GatewayServer(config, kube.api)
        try:
            yield server, chat
        finally:
            server.stop()


def test_schemathesis_finds_no_server_error_or_nonconforming_answer(gateway: tuple[GatewayServer, ChatSandbox]) -> None:
    server, _ = gateway
    schema = schemathesis.openapi.from_dict(openapi_document())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 7
    per_strategy = max(1, CASES // (2 * len(operations)))
    counted = {"cases": 0}
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=per_strategy,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case: Any) -> None:
                case.call_and_validate(base_url=server.url, headers=AUTH, checks=checks)
                counted["cases"] += 1

            run()
    print(f"schemathesis: {counted['cases']} cases over {len(operations)} operations")
    assert counted["cases"] >= min(CASES, 1000) * 0.9  # hypothesis may stop early when a space is exhausted
    assert http("GET", server.url + "/health").status == 200


ROUTES = [
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/metrics"),
    ("POST", "/slack/commands"),
    ("POST", "/slack/actions"),
    ("POST", "/api/messages"),
    ("GET", "/api/v1/status"),
    ("POST", "/api/v1/namespaces/default/policies/web-fleet/run"),
    ("POST", "/api/v1/namespaces/default/schedules/nightly-scan/scan"),
    ("POST", "/api/v1/namespaces/default/policies/web-fleet/pause"),
    ("POST", "/api/v1/namespaces/default/policies/web-fleet/resume"),
    ("GET", "/api/v1/namespaces/default/schedules/nightly-scan/findings"),
    ("GET", "/api/v1/namespaces/default/runs/web-fleet-x"),
    ("GET", "/api/v1/openapi.json"),
]
UNICODE = ["\u00e9", "\u2603", "\U0001f525", "\u202e", "\ufeff", "\x00", "\ud7ff", "\u0301", "\u4e2d\u6587"]
CONTENT_TYPES = [
    "application/json",
    "application/x-www-form-urlencoded",
    "text/plain",
    "multipart/form-data; boundary=x",
    "application/json; charset=utf-16",
    "application/octet-stream",
    "\u00e9/\u00e9",
    "",
]


def malformed_body(rng: random.Random) -> bytes:
    kind = rng.randrange(9)
    if kind == 0:
        return b"{" * rng.randrange(1, 2000)  # deeply nested / unterminated JSON
    if kind == 1:
        return json.dumps({"type": "message", "text": rng.choice(UNICODE) * rng.randrange(1, 500)}).encode()
    if kind == 2:
        return b"x" * rng.choice([300_000, 1_000_000])  # over the 256 KiB limit
    if kind == 3:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
    if kind == 4:
        return ("payload=" + json.dumps({"type": "block_actions", "actions": [{"action_id": "sreops_pause"}]})).encode()
    if kind == 5:
        return ("text=" + "".join(rng.choice(UNICODE) for _ in range(50)) + "&command=%2Fsreops").encode(
            "utf-8", "surrogatepass"
        )
    if kind == 6:
        return json.dumps([None, 1e308, -0.0, "\u0000", {"a": [[[[[]]]]]}]).encode()
    if kind == 7:
        return b'{"type": "message", "serviceUrl": 5, "channelId": null, "conversation": "x"}'
    return b""


def malformed_headers(rng: random.Random, body: bytes) -> dict[str, str]:
    headers = {"Content-Type": rng.choice(CONTENT_TYPES)}
    choice = rng.randrange(7)
    if choice == 0:
        headers["Authorization"] = "Bearer " + "".join(rng.choice("abc\u00e9=") for _ in range(rng.randrange(1, 80)))
    elif choice == 1:
        headers.update(signed_headers("not-the-secret", body))
    elif choice == 2:
        headers.update(signed_headers(SIGNING_SECRET, body, timestamp=rng.choice([0, 1, 10**11])))
    elif choice == 3:
        headers["X-Slack-Request-Timestamp"] = rng.choice(["-1", "1e9", "\u0661\u0662", " 12", "9" * 40])
        headers["X-Slack-Signature"] = rng.choice(["v0=", "v1=" + "0" * 64, "v0=" + "\u00e9" * 64, ""])
    elif choice == 4:
        headers.update(AUTH)
    elif choice == 5:
        headers["Authorization"] = "Bearer eyJhbGciOiJub25lIn0.eyJhdWQiOiJ4In0."  # alg none
    # Header values go out as their raw UTF-8 bytes (http.client sends latin-1).
    return {k: v.encode("utf-8").decode("latin-1") for k, v in headers.items()}


def test_malformed_requests_to_every_route_never_get_a_5xx(
    gateway: tuple[GatewayServer, ChatSandbox], kube: Kube
) -> None:
    server, _ = gateway
    rng = random.Random(20260105)
    statuses: dict[int, int] = {}
    for method, path in ROUTES:
        for _ in range(REQUESTS):
            body = malformed_body(rng)
            query = ""
            if rng.random() < 0.3:
                query = "?" + rng.choice(
                    ["kind=%ff", "namespace=" + "a" * 300, "x=1&x=2", "%zz", "name=%C3%A9%E2%98%83"]
                )
            answer = http(method, server.url + path + query, body or None, malformed_headers(rng, body))
            statuses[answer.status] = statuses.get(answer.status, 0) + 1
            assert answer.status < 500 or (path == "/ready" and answer.status == 503), (method, path, answer.status)
            if answer.status >= 400:
                error = json.loads(answer.body)["error"]
                assert error["code"] and error["message"]
                assert SIGNING_SECRET not in answer.body.decode("utf-8", "replace")
    print(f"fuzz: {REQUESTS} requests to each of {len(ROUTES)} routes; statuses {sorted(statuses.items())}")
    assert http("GET", server.url + "/health").status == 200
    assert http("GET", server.url + "/api/v1/status?namespace=default", headers=AUTH).status == 200
    obj = kube.custom.get_namespaced_custom_object("sreops.io", "v1alpha1", "default", "patchpolicies", "web-fleet")
    # Only requests with the real API key may have asked for a run; nothing unsigned came through chat.
    assert (obj["metadata"].get("annotations") or {}).get("sreops.io/run-now-by", "api:fuzz") == "api:fuzz"
