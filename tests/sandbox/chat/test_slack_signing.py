"""Signing slash commands the way Slack does, checked with slack_sdk's own SignatureVerifier."""

from __future__ import annotations

import time
from urllib.parse import parse_qs

from slack_sdk.signature import SignatureVerifier

from sreops.sandbox.chat.slack_signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signed_headers,
    signed_slash_command,
    slack_signature,
)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def test_signed_slash_command_verifies_with_slack_sdk() -> None:
    """Slack signs `v0:{timestamp}:{body}` with HMAC-SHA256 under the signing secret and sends
    X-Slack-Signature `v0=<hex>` and X-Slack-Request-Timestamp; apps verify exactly that."""
    body, headers = signed_slash_command(SECRET, "run web-fleet")
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid_request(body, headers)
    fields = parse_qs(body.decode())
    assert fields["command"] == ["/sreops"]
    assert fields["text"] == ["run web-fleet"]
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_tampered_body_wrong_secret_and_stale_timestamp_fail() -> None:
    """A changed body, another secret, or a timestamp over five minutes old must be rejected."""
    body, headers = signed_slash_command(SECRET, "status")
    verifier = SignatureVerifier(SECRET)
    assert not verifier.is_valid_request(body.replace(b"status", b"pause+web"), headers)
    assert not SignatureVerifier("another-secret").is_valid_request(body, headers)
    stale_body, stale = signed_slash_command(SECRET, "status", timestamp=int(time.time()) - 6 * 60)
    assert not verifier.is_valid_request(stale_body, stale)


def test_signature_matches_slacks_documented_example() -> None:
    """The example from Slack's 'Verifying requests from Slack' guide."""
    body = (
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&"
        "channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&"
        "response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
        "trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    assert slack_signature(SECRET, 1531420618, body) == expected
    headers = signed_headers(SECRET, body, 1531420618)
    assert headers[SIGNATURE_HEADER] == expected
    assert headers[TIMESTAMP_HEADER] == "1531420618"
