"""The gateway for tests: served from a thread of the test process (its own event loop, a real port), or
as a `sreops gateway` child process; a receiver standing in for Slack's response_url; HTTP helpers."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web
from kubernetes import client

from sreops.bots.gateway.apikeys import SECRET, hash_key
from sreops.bots.gateway.app import build_app
from sreops.bots.gateway.context import Gateway
from sreops.bots.gateway.identity import CONFIG_MAP, DATA_KEY
from sreops.bots.gateway.settings import Settings
from sreops.sandbox import gateway_seed
from sreops.sandbox.seed import apply_object, load_documents

SAMPLES = Path(__file__).resolve().parents[2] / "crds" / "samples"
SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
SLACK_TEAM = gateway_seed.SLACK_TEAM
OPERATOR_USER = gateway_seed.SLACK_OPERATOR  # alice: group sreops:operators
VIEWER_USER = gateway_seed.SLACK_VIEWER  # bob: group sreops:viewers
API_KEY = "test-api-key-" + "a" * 24


@dataclass
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(
    method: str, url: str, body: bytes | None = None, headers: Mapping[str, str] | None = None, timeout: float = 10
) -> Answer:
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Answer(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, dict(exc.headers), exc.read())


class LoopThread:
    """An event loop in a daemon thread, for servers the (synchronous) tests talk to over HTTP."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


async def _serve(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.setblocking(False)
    await web.SockSite(runner, sock).start()
    return runner, int(sock.getsockname()[1])


@dataclass
class ResponseUrls:
    """Slack's response_url: accepts JSON posts (200 "ok", as Slack does) and keeps them."""

    base: str = ""
    posts: list[tuple[str, Any]] = field(default_factory=list)
    _seen: threading.Condition = field(default_factory=threading.Condition)

    async def handle(self, request: web.Request) -> web.Response:
        payload = await request.json()
        with self._seen:
            self.posts.append((request.path, payload))
            self._seen.notify_all()
        return web.Response(text="ok")

    def url(self, name: str = "r1") -> str:
        return f"{self.base}/commands/{SLACK_TEAM}/{name}"

    def wait(self, count: int = 1, timeout: float = 15) -> list[tuple[str, Any]]:
        with self._seen:
            if not self._seen.wait_for(lambda: len(self.posts) >= count, timeout):
                raise AssertionError(f"{len(self.posts)} response_url posts after {timeout}s, expected {count}")
            return list(self.posts)


class GatewayServer:
    """`build_app` served in a LoopThread, with a response_url receiver beside it."""

    def __init__(self, settings: Settings, api: client.ApiClient, clock: Callable[[], float] = time.time) -> None:
        self.threads = LoopThread()
        self.responses = ResponseUrls()
        receiver = web.Application()
        receiver.router.add_post("/commands/{tail:.*}", self.responses.handle)
        self._receiver, receiver_port = self.threads.run(_serve(receiver))
        self.responses.base = f"http://127.0.0.1:{receiver_port}"
        settings = replace(settings, slack_response_url_prefixes=(self.responses.base + "/commands/",))
        self.gateway = Gateway(settings, api, clock=clock)
        self._runner, port = self.threads.run(_serve(build_app(self.gateway)))
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        try:
            self.threads.run(self._runner.cleanup())
            self.threads.run(self._receiver.cleanup())
        finally:
            self.threads.close()


def settings(**overrides: Any) -> Settings:
    base = Settings(
        host="127.0.0.1", port=0, namespace="default", slack_signing_secret=SIGNING_SECRET, config_ttl_seconds=0.5
    )
    return replace(base, **overrides)


def apply_samples(api: client.ApiClient, *names: str) -> None:
    for doc in load_documents(sorted(SAMPLES.glob("*.yaml"))):
        if not names or doc["metadata"]["name"] in names:
            apply_object(api, doc, "default")


def seed_chat_users(api: client.ApiClient) -> None:
    """The sandbox's Roles and bindings; alice (Slack OPERATOR_USER) an operator, bob (VIEWER_USER) a viewer."""
    gateway_seed.seed_rbac(api, "default")
    write_identities(
        api,
        {
            "slack": {
                f"{SLACK_TEAM}/{OPERATOR_USER}": {"user": "alice@example.com", "groups": [gateway_seed.OPERATORS]},
                f"{SLACK_TEAM}/{VIEWER_USER}": {"user": "bob@example.com", "groups": [gateway_seed.VIEWERS]},
            },
            "teams": {
                gateway_seed.TEAMS_OPERATOR: {"user": "carol@example.com", "groups": [gateway_seed.OPERATORS]},
                gateway_seed.TEAMS_VIEWER: {"user": "dave@example.com", "groups": [gateway_seed.VIEWERS]},
            },
        },
    )


def write_identities(
    api: client.ApiClient, entries: Mapping[str, Mapping[str, Any]], namespace: str = "default"
) -> None:
    body = client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name=CONFIG_MAP), data={DATA_KEY: yaml.safe_dump(dict(entries))}
    )
    core = client.CoreV1Api(api)
    try:
        core.create_namespaced_config_map(namespace, body)
    except client.ApiException as exc:
        if exc.status != 409:
            raise
        core.replace_namespaced_config_map(CONFIG_MAP, namespace, body)


def write_api_keys(api: client.ApiClient, keys: Mapping[str, str], namespace: str = "default") -> None:
    """`keys`: name -> the key itself (hashed here, as an admin would)."""
    data = {name: hash_key(key) for name, key in keys.items()}
    body = client.V1Secret(metadata=client.V1ObjectMeta(name=SECRET), string_data=data)
    core = client.CoreV1Api(api)
    try:
        core.create_namespaced_secret(namespace, body)
    except client.ApiException as exc:
        if exc.status != 409:
            raise
        core.replace_namespaced_secret(SECRET, namespace, body)


def chat_events(api: client.ApiClient, namespace: str = "default") -> list[Any]:
    events = client.CoreV1Api(api).list_namespaced_event(namespace).items
    return [e for e in events if e.reason == "ChatOpsAction"]
