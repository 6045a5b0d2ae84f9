"""`sreops notify test NOTIFIER`: checks a Notifier's destinations and sends each one a Test message.

The Notifier and its Secrets (the Slack bot token, the Teams webhook URL) are read through the Kubernetes
API of the current kubeconfig context, with the user's own rights; no operator is involved. Each
destination is checked as the operator's Notifier controller checks it (Slack: `auth.test`, the channel
found by name or id and the bot in it; Teams: the Secret holds an http(s) URL) and then sent one `Test`
event (Slack: `chat.postMessage` of :func:`sreops.bots.notify.slack_blocks.message`; Teams: the card of
:func:`sreops.bots.notify.teams_cards.card` through the Workflows webhook). A destination that fails does
not stop the others.

One line per destination on stdout, sent or failed with Slack's error code or the webhook's problem. The
token and the webhook URL are never printed: errors come from the senders (which never carry them) and
every line is redacted of both besides.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import parse_qsl, urlsplit

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError as Urllib3Error

from sreops import __version__, kubeconfig
from sreops.bots.notify import slack_blocks, teams_cards
from sreops.bots.notify.events import Event, kubectl_get, one_line
from sreops.bots.notify.slack_sender import DEFAULT_BASE_URL, SlackError, SlackSender
from sreops.bots.notify.teams_sender import TeamsError, WorkflowWebhook
from sreops.operator.api import NotifierSpec, SpecError, parse_spec
from sreops.operator.api.common import SecretKeyRef
from sreops.operator.api.notifier import SlackTarget, TeamsTarget
from sreops.operator.kube import SecretMissingError, get_object, read_secret_value

PROG = "sreops notify test"
SLACK_API_URL_VARIABLE = "SREOPS_SLACK_API_URL"


class CliError(Exception):
    """What stops the whole command, in one line for stderr (exit status 1)."""


class DestinationError(Exception):
    """What stops one destination (its Secret cannot be read), in one line."""


# -- the test event -----------------------------------------------------------------------------------------


def rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_test_event(notifier: Mapping[str, Any], now: datetime) -> Event:
    """The Test event for a Notifier, keyed ``test/<uid>/<time>`` (never a key the operator's ledger uses)."""
    meta = notifier.get("metadata") or {}
    namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
    stamp = rfc3339(now)
    where = f"{namespace}/{name}" if namespace else name
    return Event(
        type="Test",
        key=f"test/{meta.get('uid') or where}/{stamp}",
        kind="Notifier",
        namespace=namespace,
        name=name,
        title=f"Test notification from sreops for Notifier {where}",
        summary=f"Sent by 'sreops notify test' to check Notifier {where}: if you can read this, it can post here.",
        time=stamp,
        facts=[("Notifier", where), ("Sent by", f"sreops notify test (sreops {__version__})")],
        kubectl=kubectl_get("Notifier", namespace, name),
    )


# -- one destination ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What happened at one destination: ``slack #sre-alerts (C0123): sent, ts 1767614400.000100``."""

    destination: str
    sent: bool
    detail: str

    def line(self) -> str:
        return f"{self.destination}: {self.detail if self.sent else 'failed: ' + self.detail}"


@dataclass
class Secrets:
    """The secret values read so far, to be kept out of every line printed (besides the senders' care)."""

    values: list[str] = field(default_factory=list)

    def add(self, value: str) -> str:
        """Keeps ``value`` (and, of a URL, its query values: a webhook's ``sig``); returns it."""
        query = urlsplit(value.strip()).query if "://" in value else ""
        for secret in (value, value.strip(), *(v for _, v in parse_qsl(query) if len(v) >= 8)):
            if len(secret) >= 4 and secret not in self.values:
                self.values.append(secret)
        return value

    def redact(self, text: str) -> str:
        for secret in sorted(self.values, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text


def channel_shown(channel: str) -> str:
    """A channel as the user wrote it, a name with its ``#`` (``sre-alerts`` -> ``#sre-alerts``)."""
    channel = channel.strip()
    return channel if channel.startswith("#") or re.fullmatch(r"[CGD][A-Z0-9]{8,}", channel) else f"#{channel}"


def slack_label(channel: str, channel_id: str | None = None) -> str:
    return f"slack {channel_shown(channel)}" + (f" ({channel_id})" if channel_id else "")


def _kube_error(exc: ApiException) -> str:
    detail = exc.reason or ""
    with contextlib.suppress(ValueError, AttributeError):  # a body that is not a Status object
        detail = json.loads(exc.body or "{}").get("message") or detail
    return f"Kubernetes API error: {exc.status} {one_line(str(detail))}".rstrip()


SecretReader = Callable[[str, SecretKeyRef], str]


def secret_reader(api: client.ApiClient, namespace: str, secrets: Secrets) -> SecretReader:
    """Reads the Secret key a spec field names; errors name the field and the Secret, never the value."""

    def read(field_path: str, ref: SecretKeyRef) -> str:
        try:
            return secrets.add(read_secret_value(api, namespace, ref.name, ref.key))
        except SecretMissingError as exc:
            raise DestinationError(f"{field_path}: {exc}") from None
        except ApiException as exc:
            raise DestinationError(f"{field_path}: {_kube_error(exc)}") from None
        except Urllib3Error as exc:
            raise DestinationError(f"{field_path}: cannot reach the Kubernetes API: {one_line(str(exc))}") from None
        except ValueError:  # not base64 or not UTF-8; the value itself is not shown
            raise DestinationError(f"{field_path}: Secret {ref.name!r} key {ref.key!r} is not UTF-8 text") from None

    return read


def _unexpected(exc: Exception) -> str:
    # Only the type: the message of an exception nobody expected could hold anything.
    return f"unexpected error ({type(exc).__name__})"


def send_slack(target: SlackTarget, event: Event, read: SecretReader, base_url: str) -> Outcome:
    label = slack_label(target.channel)
    try:
        token = read("spec.slack.tokenSecretRef", target.token_secret_ref)
        sender = SlackSender(token, base_url=base_url)
        check = sender.check(target.channel)
        label = slack_label(f"#{check.channel.name}" if check.channel.name else target.channel, check.channel.id)
        text, blocks = slack_blocks.message(event)
        ts = sender.post(check.channel.id, text, blocks, key=event.key)
    except (DestinationError, SlackError) as exc:
        return Outcome(label, False, one_line(str(exc)))
    except Exception as exc:  # noqa: BLE001 - one destination's failure, reported without its message
        return Outcome(label, False, _unexpected(exc))
    return Outcome(label, True, f"sent, ts {ts}")


def send_teams(target: TeamsTarget, event: Event, read: SecretReader) -> Outcome:
    label = "teams"
    try:
        webhook = WorkflowWebhook(read("spec.teams.webhookSecretRef", target.webhook_secret_ref))
        label = f"teams {webhook.description}"
        webhook.send(teams_cards.card(event))
    except (DestinationError, TeamsError) as exc:
        return Outcome(label, False, one_line(str(exc)))
    except Exception as exc:  # noqa: BLE001 - one destination's failure, reported without its message
        return Outcome(label, False, _unexpected(exc))
    return Outcome(label, True, "sent")


def send_all(spec: NotifierSpec, event: Event, read: SecretReader, slack_api_url: str) -> Iterator[Outcome]:
    """Each destination of the spec checked and sent the event, in the spec's order (Slack, then Teams)."""
    if spec.slack is not None:
        yield send_slack(spec.slack, event, read, slack_api_url)
    if spec.teams is not None:
        yield send_teams(spec.teams, event, read)


def summary(outcomes: Iterable[Outcome]) -> str | None:
    """The last line, on stderr, when a destination failed."""
    done = list(outcomes)
    failed = sum(not o.sent for o in done)
    if not failed:
        return None
    return f"{failed} of {len(done)} destinations failed" if len(done) > 1 else "the destination failed"


# -- the command --------------------------------------------------------------------------------------------


def slack_api_url(environ: Mapping[str, str]) -> str:
    """``SREOPS_SLACK_API_URL`` (default https://slack.com/api/), checked as the operator checks it."""
    url = environ.get(SLACK_API_URL_VARIABLE, DEFAULT_BASE_URL)
    if not re.fullmatch(r"https?://\S+", url):
        raise CliError(f"Slack API URL {url!r} ({SLACK_API_URL_VARIABLE}) is not an http(s) URL")
    return url


def _kube(args: argparse.Namespace) -> tuple[client.ApiClient, str | None]:
    """A client for the kubeconfig context (--kubeconfig, --context, KUBECONFIG) and that context's namespace."""
    try:
        kube = kubeconfig.from_args(args)
    except kubeconfig.KubeconfigError as exc:
        raise CliError(str(exc)) from None
    return kube.api, kube.namespace


def _notifier(api: client.ApiClient, namespace: str, name: str) -> tuple[dict[str, Any], NotifierSpec]:
    try:
        obj = get_object(api, "Notifier", namespace, name)
    except ApiException as exc:
        raise CliError(_kube_error(exc)) from None
    except Urllib3Error as exc:
        raise CliError(f"cannot reach the Kubernetes API: {one_line(str(exc))}") from None
    if obj is None:
        raise CliError(f"Notifier {name!r} not found in namespace {namespace!r}")
    try:
        spec = parse_spec(NotifierSpec, obj.get("spec"))
    except SpecError as exc:
        raise CliError(f"Notifier {namespace}/{name} has an invalid spec: {one_line(str(exc))}") from None
    return obj, spec


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    secrets = Secrets()
    try:
        return _run(args, out, err, secrets, datetime.now(UTC))
    except CliError as exc:
        out.flush()
        print(f"{PROG}: {secrets.redact(str(exc))}", file=err)
        return 1
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace, out: TextIO, err: TextIO, secrets: Secrets, now: datetime) -> int:
    api, context_namespace = _kube(args)
    outcomes: list[Outcome] = []
    try:
        namespace = args.namespace or context_namespace or "default"
        obj, spec = _notifier(api, namespace, args.notifier)
        event = build_test_event(obj, now)
        base_url = slack_api_url(os.environ) if spec.slack is not None else DEFAULT_BASE_URL
        read = secret_reader(api, namespace, secrets)
        for outcome in send_all(spec, event, read, base_url):
            outcomes.append(outcome)
            out.write(secrets.redact(outcome.line()) + "\n")
            out.flush()
    finally:
        api.close()
    last = summary(outcomes)
    if last is None:
        return 0
    print(f"{PROG}: {last}", file=err)
    return 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `notify` group: its subcommands (only `test` for now)."""
    commands = parser.add_subparsers(dest="notify_command", metavar="COMMAND", required=True)
    test = commands.add_parser(
        "test",
        help="check a Notifier's Slack and Teams destinations and send each one a test message",
        description=TEST_DESCRIPTION,
        epilog=TEST_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    test.add_argument("notifier", metavar="NOTIFIER", help="the Notifier's name")
    test.add_argument(
        "-n", "--namespace", help="its namespace (default: the kubeconfig context's namespace, else 'default')"
    )
    kubeconfig.add_arguments(test)
    test.set_defaults(func=run)


HELP = "notifications: send a Notifier's destinations a test message"
DESCRIPTION = "Notifications. `sreops notify test NOTIFIER` checks a Notifier's destinations and sends a test."
TEST_DESCRIPTION = "Check a Notifier's destinations as the operator does and send each one a Test message."
TEST_EPILOG = f"""\
Reads the Notifier and its Secrets (spec.slack.tokenSecretRef, spec.teams.webhookSecretRef) from the current
kubeconfig context (KUBECONFIG honoured), with your rights: the operator is not involved. Slack: auth.test,
the channel found by name or id with the bot in it, then chat.postMessage; the API base URL is
${SLACK_API_URL_VARIABLE} (default {DEFAULT_BASE_URL}), as for the operator. Teams: the card is posted to the
Workflows webhook. A failing destination does not stop the others. The token and the webhook URL are never
printed.

Output: one line per destination, e.g.
  slack #sre-alerts (C0123ABCD): sent, ts 1767614400.000100
  teams Teams Workflows webhook on prod.westus.logic.azure.com: sent
  slack #sre-alerts: failed: Slack auth.test: invalid_auth

Exit status: 0 every destination was sent the message, 1 one was not (the last line on stderr says how many)
or the Notifier could not be read (one line on stderr), 2 bad usage."""
