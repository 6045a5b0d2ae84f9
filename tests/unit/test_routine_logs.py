"""kopf's routine success lines stay out of the log; change handlers' outcomes and every warning stay in."""

from __future__ import annotations

import logging
from dataclasses import replace

from sreops.operator import routine_logs
from sreops.operator.main import build_registry
from sreops.operator.routine_logs import RoutineSuccesses
from sreops.operator.settings import Settings


def _kept(level: int, message: str) -> bool:
    record = logging.LogRecord("kopf.objects", level, __file__, 1, message, None, None)
    return bool(RoutineSuccesses().filter(record))


def test_routine_successes_are_dropped() -> None:
    assert not _kept(logging.INFO, "Timer 'resync' succeeded.")
    assert not _kept(logging.INFO, "Timer 'run-triggers' succeeded.")
    assert not _kept(logging.INFO, "Handler 'references' succeeded.")
    assert not _kept(logging.INFO, "Handler 'secret-references' succeeded.")


def test_what_a_reader_needs_is_kept() -> None:
    assert _kept(logging.INFO, "Handler 'reconcile' succeeded.")
    assert _kept(logging.INFO, "Creation is processed: 1 succeeded; 0 failed.")
    assert _kept(logging.ERROR, "Timer 'resync' failed temporarily: syncing us-east-1: ThrottlingException")
    assert _kept(logging.WARNING, "Timer 'resync' succeeded.")  # not at INFO: not kopf's routine line
    assert _kept(logging.INFO, "applied the spec: us-west-2: baseline pb-1 created")


def test_verbose_keeps_everything() -> None:
    objects = logging.getLogger("kopf.objects")
    before = list(objects.filters)
    try:
        routine_logs.install(verbose=True)
        assert objects.filters == before
        routine_logs.install(verbose=False)
        assert any(isinstance(f, RoutineSuccesses) for f in objects.filters)
    finally:
        objects.filters[:] = before


def test_every_watch_event_handler_is_known_to_the_filter() -> None:
    """EVENT_HANDLERS lists the operator's kopf.on.event ids: a new one would log a line per event."""
    registry = build_registry(replace(Settings(), shard="a"))  # a shard adds shard-departures
    ids = {str(h.id) for h in registry._watching.get_all_handlers()}
    assert ids == set(routine_logs.EVENT_HANDLERS)
