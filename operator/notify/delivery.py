"""Delivery of one Notifier's events: the ledger says what is settled, the plan what is due, and this module
sends it to Slack and Teams, once.

Each step: record intent (`pending`) for what it is about to send, send, confirm (`sent`, with the Slack ts).
A `pending` entry found at the start of a step was perhaps sent by a process that died before confirming:
for Slack the step looks for the event key in the message metadata of the channel's recent messages (or the
run's thread) and confirms what it finds instead of sending again. A Teams webhook cannot be read back, so a
crash between a Teams post and its confirmation can repeat that one card (the window is one HTTP request).

A run's events share one Slack thread: RunStarted posts the parent, RunProgress and the run's end update it
in place (`chat.update`), and RunFailed adds a threaded reply with the failing instances. Teams gets one card
per event (not RunProgress: a webhook card cannot be edited).

Sends that fail are retried on later steps; after MAX_ATTEMPTS an event is recorded `failed`, counted in
status and reported with a Warning event. Nothing is dropped silently.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sreops.bots.notify import slack_blocks, teams_cards
from sreops.bots.notify.events import Event, digest_event
from sreops.bots.notify.slack_sender import SlackError, SlackRateLimitedError, SlackSender, SlackUnavailableError
from sreops.bots.notify.teams_sender import TeamsDestination, TeamsError, TeamsRateLimitedError
from sreops.operator.api.notifier import NotifierSpec
from sreops.operator.metrics import OperatorMetrics
from sreops.operator.notify.ledger import Entry, LedgerConflictError, LedgerStore
from sreops.operator.notify.messages import to_event
from sreops.operator.notify.plan import RateLimiter, all_keys, batch, due, selection
from sreops.operator.notify.transitions import Occurrence

MAX_ATTEMPTS = 5
Logger = logging.Logger | logging.LoggerAdapter[Any]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class StepResult:
    sent: int = 0
    failed: list[str] = field(default_factory=list)  # one line per event given up on
    wait: float = 0.0  # a rate limit asked to wait this long


@dataclass
class Destinations:
    slack: SlackSender | None = None
    slack_channel: str | None = None  # the channel id (resolved when the Notifier was checked)
    teams: TeamsDestination | None = None
    # Checked before every send: only the leader notifies (leadership.Fence.check raises otherwise).
    guard: Callable[[], None] | None = None


class Delivery:
    def __init__(
        self,
        store: LedgerStore,
        spec: NotifierSpec,
        destinations: Destinations,
        logger: Logger,
        metrics: OperatorMetrics | None = None,
        carried: tuple[int, int] = (0, 0),
    ) -> None:
        self.metrics = metrics
        self.store = store
        self.spec = spec
        self.to = destinations
        self.logger = logger
        self.limiter = RateLimiter(spec.rate_limit.per_minute)
        self.ledger, self.version = store.load()
        if self.ledger.sent_total is None:  # a ledger from before totals were kept: start from status
            self.ledger.sent_total, self.ledger.failed_total = carried
        self.started = time.time()
        self.maybe_sent: set[str] = set()

    @property
    def totals(self) -> tuple[int, int]:
        """(sent, failed) since the Notifier exists, as the ledger holds them (status.sent / status.failed)."""
        return self.ledger.sent_total or 0, self.ledger.failed_total or 0

    @property
    def last_sent(self) -> str | None:
        return self.ledger.last_sent()

    def step(self, sources: Iterable[Mapping[str, Any]]) -> StepResult:
        bodies = {str((b.get("metadata") or {}).get("uid")): b for b in sources}
        result = StepResult()
        wants = selection(self.spec)
        if self.version is None or self.ledger.selection not in (wants, None):
            # A new Notifier, or one that now selects something else: what exists already is history, not news.
            self.ledger.baseline(all_keys(self.spec, bodies.values()), _now())
            self.ledger.selection = wants
            self._save()
            return result
        if self.ledger.selection is None:  # a ledger from before selections were recorded: keep it as it is
            self.ledger.selection = wants
        pending = due(self.spec, bodies.values(), self.ledger)
        if not pending:
            return result
        # Pending before this step: a process (maybe this one) may have sent them and died before confirming.
        self.maybe_sent = set(self.ledger.pending())
        plan = batch(pending, self.limiter, time.monotonic())
        for occ in [*plan.single, *plan.updates, *(o for d in plan.digests for o in d)]:
            if self.ledger.get(occ.key) is None:
                self.ledger.set(occ.key, Entry("pending", _now()))
        self._save()  # intent recorded before anything is sent
        try:
            for occ in [*plan.single, *plan.updates]:
                self._deliver(occ, bodies.get(occ.uid) or {}, result)
            for digest in plan.digests:
                self._deliver_digest(digest, bodies, result)
        except (SlackRateLimitedError, TeamsRateLimitedError) as exc:
            result.wait = float(exc.retry_after)
        finally:
            self._save()
        return result

    # -- one event ----------------------------------------------------------------------------------------

    def _thread(self, occ: Occurrence) -> Entry | None:
        if occ.thread is None:
            return None
        parent = self.ledger.get(f"{occ.thread}/RunStarted/start")
        return parent if parent is not None and parent.state == "sent" and parent.ts else None

    def _deliver(self, occ: Occurrence, body: Mapping[str, Any], result: StepResult) -> None:
        if self.to.guard is not None:
            self.to.guard()
        entry = self.ledger.get(occ.key) or Entry("pending", _now())
        event = to_event(occ, body)
        started = time.monotonic()
        try:
            ts = self._slack(occ, event, entry) if self.to.slack is not None else None
            if self.to.teams is not None and occ.type != "RunProgress":
                self.to.teams.send(teams_cards.card(event))
            self.ledger.set(occ.key, Entry("sent", _now(), ts=ts, channel=self.to.slack_channel))
            self.ledger.count(sent=int(occ.type != "RunProgress"))
            self._save()  # confirmed (and counted) at once: the crash window is this one write
            result.sent += occ.type != "RunProgress"
            self._count("sent", teams=occ.type != "RunProgress")
            if self.metrics is not None:
                self.metrics.notification_send_duration.observe(time.monotonic() - started)
        except (SlackRateLimitedError, TeamsRateLimitedError):
            self._count("retry")
            raise
        except (SlackError, TeamsError) as exc:
            self._attempt_failed(occ.key, entry, exc, result)

    def _slack(self, occ: Occurrence, event: Event, entry: Entry) -> str | None:
        slack, channel = self.to.slack, self.to.slack_channel
        assert slack is not None and channel is not None
        parent = self._thread(occ)
        text, blocks = slack_blocks.message(event)
        if parent is not None and occ.type in ("RunProgress", "RunSucceeded", "RunFailed"):
            assert parent.ts is not None
            # The parent keeps the run's first key as well, so a lookup after a crash still finds it.
            parent_key = f"{occ.thread}/RunStarted/start"
            text, blocks = slack_blocks.message(event, thread_key=parent_key)
            slack.update(channel, parent.ts, text, blocks, key=parent_key)
            if occ.type == "RunFailed":
                # A reply that a crash may already have posted is looked up before it is posted again.
                maybe = self._maybe_sent(occ.key, entry)
                found = slack.find_message(channel, occ.key, part="reply", thread_ts=parent.ts) if maybe else None
                if found is None:
                    reply_text, reply_blocks = slack_blocks.reply(event)
                    slack.post(channel, reply_text, reply_blocks, thread_ts=parent.ts, key=occ.key, part="reply")
            return parent.ts
        if occ.type == "RunProgress":
            return None  # nothing to update: the run's first message was not ours (it started before us)
        found = slack.find_message(channel, occ.key) if self._maybe_sent(occ.key, entry) else None
        return found or slack.post(channel, text, blocks, key=occ.key)

    def _maybe_sent(self, key: str, entry: Entry) -> bool:
        return key in self.maybe_sent or entry.attempts > 0

    def _deliver_digest(
        self, events: list[Occurrence], bodies: Mapping[str, Mapping[str, Any]], result: StepResult
    ) -> None:
        if self.to.guard is not None:
            self.to.guard()
        built = [to_event(o, bodies.get(o.uid) or {}) for o in events]
        digest = digest_event(built)
        entry = self.ledger.get(events[0].key) or Entry("pending", _now())
        try:
            ts = None
            if self.to.slack is not None and self.to.slack_channel is not None:
                maybe = self._maybe_sent(events[0].key, entry)
                found = self.to.slack.find_message(self.to.slack_channel, digest.key) if maybe else None
                text, blocks = slack_blocks.digest(built)
                ts = found or self.to.slack.post(self.to.slack_channel, text, blocks, key=digest.key)
            if self.to.teams is not None:
                self.to.teams.send(teams_cards.digest(built))
        except (SlackRateLimitedError, TeamsRateLimitedError):
            raise
        except (SlackError, TeamsError) as exc:
            for o in events:
                self._attempt_failed(o.key, self.ledger.get(o.key) or Entry("pending", _now()), exc, result)
            return
        for o in events:
            self.ledger.set(o.key, Entry("sent", _now(), ts=ts, channel=self.to.slack_channel))
        self.ledger.count(sent=len(events))
        self._save()
        result.sent += len(events)
        self._count("sent")
        if self.metrics is not None:
            self.metrics.notification_digests.inc()
        self.logger.info("sent a digest of %d events", len(events))

    def _count(self, result: str, teams: bool = True) -> None:
        if self.metrics is None:
            return
        if self.to.slack is not None:
            self.metrics.notifications.labels("slack", result).inc()
        if self.to.teams is not None and teams:
            self.metrics.notifications.labels("teams", result).inc()

    def _attempt_failed(self, key: str, entry: Entry, exc: Exception, result: StepResult) -> None:
        attempts = entry.attempts + 1
        self._count("failed" if attempts >= MAX_ATTEMPTS else "retry")
        maybe = isinstance(exc, SlackUnavailableError)
        if attempts >= MAX_ATTEMPTS and not maybe:
            self.ledger.set(key, Entry("failed", _now(), attempts=attempts, error=str(exc)[:200]))
            self.ledger.count(failed=1)
            result.failed.append(f"{key}: {exc}")
        else:
            self.ledger.set(key, Entry("pending", _now(), attempts=attempts, error=str(exc)[:200]))
        self.logger.warning("sending %s failed (attempt %d): %s", key, attempts, exc)

    def _save(self) -> None:
        if self.metrics is not None:
            labels = (self.store.namespace, self.store.notifier)
            self.metrics.notification_ledger_entries.labels(*labels).set(len(self.ledger.entries))
        try:
            self.version = self.store.save(self.ledger, self.version)
        except LedgerConflictError:
            # Another writer (a second replica, our previous self): take its view; what we did not record we
            # find again as due, and pending entries are looked up before being sent again.
            fresh, self.version = self.store.load()
            for key, entry in self.ledger.entries.items():
                if entry.state in ("sent", "baseline") and not fresh.settled(key):
                    fresh.set(key, entry)
                    if entry.state == "sent" and "/RunProgress/" not in key:
                        fresh.count(sent=1)
            fresh.selection = self.ledger.selection or fresh.selection
            self.ledger = fresh
            self.version = self.store.save(self.ledger, self.version)
