"""Fixtures for the chat stand-ins: a manual clock, the sandbox in a thread or on the test's loop."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from botframework.connector.auth import AppCredentials, ChannelValidation
from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor

from sreops.sandbox.chat.ratelimit import ManualClock
from sreops.sandbox.chat.server import ChatSandbox, ThreadedChatSandbox
from sreops.sandbox.chat.tokens import fetch_connector_token


class SandboxAppCredentials(AppCredentials):  # type: ignore[misc]
    """botframework AppCredentials that get their token from the stand-in's token endpoint.

    (MicrosoftAppCredentials goes through msal, which accepts only https authorities.)
    """

    def __init__(self, app_id: str, password: str, token_url: str) -> None:
        super().__init__(app_id=app_id)
        self._password = password
        self._token_url = token_url

    def get_access_token(self, force_refresh: bool = False) -> str:
        return fetch_connector_token(self._token_url, self.microsoft_app_id, self._password)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sandbox(tmp_path: Path, clock: ManualClock) -> Iterator[ChatSandbox]:
    """The stand-ins on a random free port, served from their own thread (sync clients work)."""
    with ThreadedChatSandbox(ChatSandbox(tmp_path, clock=clock)) as running:
        yield running


@pytest.fixture
async def loop_sandbox(tmp_path: Path, clock: ManualClock) -> AsyncIterator[ChatSandbox]:
    """The stand-ins on the test's own event loop (for async clients)."""
    async with ChatSandbox(tmp_path, clock=clock) as running:
        yield running


@pytest.fixture
def openid_metadata(sandbox: ChatSandbox) -> Iterator[str]:
    """Point botframework's channel-token validation at the stand-in; restore it afterwards."""
    previous = ChannelValidation.open_id_metadata_endpoint
    ChannelValidation.open_id_metadata_endpoint = sandbox.openid_metadata_url
    yield sandbox.openid_metadata_url
    ChannelValidation.open_id_metadata_endpoint = previous
    JwtTokenExtractor.metadataCache.pop(sandbox.openid_metadata_url, None)


@pytest.fixture
def app_credentials(sandbox: ChatSandbox) -> AppCredentials:
    """Credentials of the sandbox's bot app, for BotFrameworkAdapterSettings(app_credentials=...)."""
    app = sandbox.bot_app
    return SandboxAppCredentials(app.app_id, app.password, sandbox.botframework_token_url)
