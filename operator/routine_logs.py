"""Keeps kopf's line for every routine success out of the operator's log (shown with --verbose).

kopf logs "Timer 'x' succeeded." after every timer run and "Handler 'x' succeeded." after every watch-event
handler: for 5,000 policies with two timers each at a 300 s resync, about 33 lines a second that say nothing,
and in the full fault suite a third of the log was the reference watch's line. Successes of change handlers
("Handler 'reconcile' succeeded.", "Creation is processed") stay, as does every warning and error.
"""

from __future__ import annotations

import logging
import re

# The ids of watch-event handlers (kopf.on.event), whose success is routine like a timer's.
EVENT_HANDLERS = ("references", "secret-references", "shard-departures", "deletions")
_EVENT_IDS = "|".join(map(re.escape, EVENT_HANDLERS))
_ROUTINE = re.compile(rf"(Timer '[^']*'|Handler '({_EVENT_IDS})') succeeded\.\Z")


class RoutineSuccesses(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno == logging.INFO and _ROUTINE.search(record.getMessage()))


def install(verbose: bool) -> None:
    if not verbose:
        logging.getLogger("kopf.objects").addFilter(RoutineSuccesses())
