"""Sign requests the way Slack signs the requests it sends to an app (slash commands, interactions).

Slack computes ``v0=`` + hex HMAC-SHA256, keyed with the app's signing secret, of
``v0:{X-Slack-Request-Timestamp}:{raw body}``, and sends it as ``X-Slack-Signature``. Apps reject
requests whose timestamp is more than five minutes off. Tests use these helpers to send genuine
(and deliberately broken) slash commands to the bots gateway.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlencode

SIGNATURE_HEADER = "X-Slack-Signature"
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def slack_signature(signing_secret: str, timestamp: int | str, body: bytes | str) -> str:
    raw = body.encode() if isinstance(body, str) else body
    base = b"v0:" + str(timestamp).encode() + b":" + raw
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(signing_secret: str, body: bytes | str, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends with ``body``: signature, timestamp and the form content type."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        TIMESTAMP_HEADER: str(ts),
        SIGNATURE_HEADER: slack_signature(signing_secret, ts, body),
        "Content-Type": FORM_CONTENT_TYPE,
    }


def slash_command_body(
    text: str,
    *,
    command: str = "/sreops",
    user_id: str = "U0SANDBOX1",
    user_name: str = "sandbox.user",
    channel_id: str = "C0SREALERTS",
    channel_name: str = "sre-alerts",
    team_id: str = "T0SANDBOX",
    team_domain: str = "sreops-sandbox",
    response_url: str = "https://hooks.slack.invalid/commands/T0SANDBOX/1/sandbox",
    trigger_id: str = "1.1.sandbox",
) -> bytes:
    """A form-encoded slash-command payload with the fields Slack sends."""
    fields = {
        "token": "deprecated-verification-token",
        "team_id": team_id,
        "team_domain": team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": "A0SREOPS",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }
    return urlencode(fields).encode()


def signed_slash_command(
    signing_secret: str, text: str, *, timestamp: int | None = None, command: str = "/sreops"
) -> tuple[bytes, dict[str, str]]:
    """Body and headers of a slash command exactly as Slack would POST it to the app."""
    body = slash_command_body(text, command=command)
    return body, signed_headers(signing_secret, body, timestamp)
