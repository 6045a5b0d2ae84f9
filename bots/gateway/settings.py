"""Gateway settings: flags, then `SREOPS_*` environment, then defaults; read once by `sreops gateway`.

Secrets (the Slack signing secret, the Teams app password) come only from the environment or from a file
named by a flag (a mounted Secret), never from a flag's value: flags show up in `ps` and in pod specs.
`Settings.__repr__` leaves them out, so logging the settings cannot leak them.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Unmapped = Literal["read", "none"]
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


class SettingsError(ValueError):
    """A setting has a value the gateway cannot start with."""


@dataclass(frozen=True)
class Settings:
    host: str = "0.0.0.0"  # noqa: S104 - a server in a pod listens on all interfaces
    port: int = 8000
    # Where the identities ConfigMap and the API keys Secret live, and the default namespace of commands.
    namespace: str = "default"
    unmapped: Unmapped = "read"
    max_body_bytes: int = 256 * 1024
    shutdown_seconds: float = 10.0
    # How long the identities ConfigMap and the API keys Secret are trusted before they are read again.
    config_ttl_seconds: float = 5.0
    rate_per_second: int = 100
    rate_per_day: int = 10_000
    # Slack answers a slash command inline when the action finishes within this, else via response_url.
    slack_inline_seconds: float = 2.0
    # Where response_url may point (a signed request names it, but never let it reach anything else).
    slack_response_url_prefixes: tuple[str, ...] = ("https://hooks.slack.com/",)
    teams_app_id: str = ""
    teams_openid_metadata_url: str = ""  # empty: the Bot Framework's public one
    teams_token_url: str = ""  # empty: login.microsoftonline.com through msal
    log_format: Literal["json", "text"] = "json"
    slack_signing_secret: str = field(default="", repr=False)
    teams_app_password: str = field(default="", repr=False)

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_signing_secret)

    @property
    def teams_enabled(self) -> bool:
        return bool(self.teams_app_id and self.teams_app_password)

    @classmethod
    def from_sources(cls, args: argparse.Namespace, env: Mapping[str, str]) -> Settings:
        def pick(name: str, var: str, default: str) -> str:
            flag = getattr(args, name, None)
            return str(flag) if flag not in (None, "") else env.get(var, default)

        try:
            port = int(pick("port", "SREOPS_GATEWAY_PORT", "8000"))
            max_body = int(pick("max_body_bytes", "SREOPS_GATEWAY_MAX_BODY_BYTES", str(256 * 1024)))
            shutdown = float(pick("shutdown_seconds", "SREOPS_GATEWAY_SHUTDOWN_SECONDS", "10"))
            ttl = float(pick("config_ttl_seconds", "SREOPS_GATEWAY_CONFIG_TTL_SECONDS", "5"))
            per_second = int(pick("rate_per_second", "SREOPS_GATEWAY_RATE_PER_SECOND", "100"))
            per_day = int(pick("rate_per_day", "SREOPS_GATEWAY_RATE_PER_DAY", "10000"))
            inline = float(pick("slack_inline_seconds", "SREOPS_SLACK_INLINE_SECONDS", "2"))
        except ValueError as exc:
            raise SettingsError(f"not a number: {exc}") from exc
        namespace = pick("namespace", "SREOPS_GATEWAY_NAMESPACE", "") or _own_namespace()
        unmapped = pick("unmapped", "SREOPS_GATEWAY_UNMAPPED", "read")
        log_format = pick("log_format", "SREOPS_LOG_FORMAT", "json")
        prefixes = tuple(
            p.strip()
            for p in pick("slack_response_url_prefix", "SREOPS_SLACK_RESPONSE_URL_PREFIXES", "https://hooks.slack.com/")
            .replace(",", " ")
            .split()
        )
        if not 0 < port < 65536:
            raise SettingsError(f"port {port} is not a TCP port")
        if not DNS1123_LABEL.fullmatch(namespace) or len(namespace) > 63:
            raise SettingsError(f"namespace {namespace!r} is not a Kubernetes namespace name")
        if unmapped not in ("read", "none"):
            raise SettingsError(f"--unmapped {unmapped!r} must be read or none")
        if log_format not in ("json", "text"):
            raise SettingsError(f"log format {log_format!r} must be json or text")
        if max_body < 1024 or shutdown < 0 or ttl < 0 or per_second < 1 or per_day < 1 or inline < 0:
            raise SettingsError("body limit >= 1024, rates >= 1, and durations >= 0 are required")
        for prefix in prefixes:
            # Ends in a path ("https://hooks.slack.com/") or a port's colon ("http://127.0.0.1:"), so a prefix
            # can never be extended into another host name.
            if not re.fullmatch(r"https?://[^/\s]+(/\S*|:)", prefix):
                raise SettingsError(f"response URL prefix {prefix!r} must be an http(s) URL ending in '/' or ':'")
        return cls(
            host=pick("host", "SREOPS_GATEWAY_HOST", "0.0.0.0"),  # noqa: S104
            port=port,
            namespace=namespace,
            unmapped="none" if unmapped == "none" else "read",
            max_body_bytes=max_body,
            shutdown_seconds=shutdown,
            config_ttl_seconds=ttl,
            rate_per_second=per_second,
            rate_per_day=per_day,
            slack_inline_seconds=inline,
            slack_response_url_prefixes=prefixes,
            teams_app_id=pick("teams_app_id", "SREOPS_TEAMS_APP_ID", ""),
            teams_openid_metadata_url=pick("teams_openid_metadata_url", "SREOPS_BOTFRAMEWORK_OPENID_METADATA_URL", ""),
            teams_token_url=pick("teams_token_url", "SREOPS_BOTFRAMEWORK_TOKEN_URL", ""),
            log_format="text" if log_format == "text" else "json",
            slack_signing_secret=_secret(args, "slack_signing_secret_file", env, "SREOPS_SLACK_SIGNING_SECRET"),
            teams_app_password=_secret(args, "teams_app_password_file", env, "SREOPS_TEAMS_APP_PASSWORD"),
        )


def _secret(args: argparse.Namespace, file_flag: str, env: Mapping[str, str], var: str) -> str:
    path = getattr(args, file_flag, None)
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise SettingsError(f"cannot read --{file_flag.replace('_', '-')}: {exc.strerror}") from exc
    return env.get(var, "").strip()


def _own_namespace() -> str:
    try:
        return SERVICE_ACCOUNT_NAMESPACE.read_text().strip() or "default"
    except OSError:
        return "default"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (env SREOPS_GATEWAY_HOST; default 0.0.0.0)")
    parser.add_argument("--port", type=int, help="port for every route and /metrics (env SREOPS_GATEWAY_PORT; 8000)")
    parser.add_argument(
        "--namespace",
        "-n",
        help="the gateway's namespace: its identities ConfigMap, API keys Secret, and the namespace commands act in "
        "unless they name one (env SREOPS_GATEWAY_NAMESPACE; default the pod's own, else default)",
    )
    parser.add_argument(
        "--unmapped",
        choices=["read", "none"],
        help="chat users not in the identities ConfigMap may read (as sreops:unmapped) or nothing (default read)",
    )
    parser.add_argument(
        "--slack-signing-secret-file",
        help="file holding the Slack signing secret (else env SREOPS_SLACK_SIGNING_SECRET; unset: Slack is off)",
    )
    parser.add_argument(
        "--slack-response-url-prefix",
        help="URL prefixes (comma-separated) a response_url may have (default https://hooks.slack.com/)",
    )
    parser.add_argument(
        "--slack-inline-seconds", type=float, help="answer inline when done within this, else via response_url (2)"
    )
    parser.add_argument("--teams-app-id", help="the bot's Microsoft app id (env SREOPS_TEAMS_APP_ID; unset: Teams off)")
    parser.add_argument(
        "--teams-app-password-file", help="file holding the bot's client secret (else env SREOPS_TEAMS_APP_PASSWORD)"
    )
    parser.add_argument(
        "--teams-openid-metadata-url",
        help="OpenID metadata that channel tokens are checked against (env SREOPS_BOTFRAMEWORK_OPENID_METADATA_URL)",
    )
    parser.add_argument(
        "--teams-token-url",
        help="client-credentials token endpoint for replies (env SREOPS_BOTFRAMEWORK_TOKEN_URL; default: msal)",
    )
    parser.add_argument("--max-body-bytes", type=int, help="largest request body accepted (default 262144)")
    parser.add_argument("--shutdown-seconds", type=float, help="how long in-flight requests may finish (default 10)")
    parser.add_argument("--config-ttl-seconds", type=float, help="re-read identities and API keys after (default 5)")
    parser.add_argument("--rate-per-second", type=int, help="requests per API key per second (default 100)")
    parser.add_argument("--rate-per-day", type=int, help="requests per API key per day (default 10000)")
    parser.add_argument("--log-format", choices=["json", "text"], help="log line format (default json)")
