"""The thread pool kopf runs sync handlers on, taking change-driven work before background work.

kopf's default is one ThreadPoolExecutor with a FIFO queue shared by every handler, timer and indexer. A timer
fires again only after its last run ended, so under load the queue holds up to one resync per object: 400
policies' resyncs waiting for a throttled AWS budget kept 200 new PatchRuns from their first reconcile for
more than eight minutes (the full fault suite). Here work marked `background` (the drift resync) has a queue of
its own: a thread that frees up takes the next change-driven item (changes, deletions, run-now, progress polls
of runs in flight, kopf's retries) and only one time in BACKGROUND_SHARE, or when no change waits, the next
background one (the drift resync and the run-triggers look for window executions).

A separate, smaller pool for the resyncs was tried and measured worse (docs/design.md): a fixed split
either starves resyncs' retries or leaves threads idle. One pool with two queues uses every thread for
whichever work there is.
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
_BACKGROUND: set[Callable[..., Any]] = set()
_running = threading.local()  # .background, .uid: the current thread runs background work now, for this object
_EXECUTORS: weakref.WeakSet[PriorityExecutor] = weakref.WeakSet()
_deleting: set[str] = set()  # uids of objects being deleted (see expedite)
_deleting_lock = threading.Lock()


def background(fn: F) -> F:
    """Marks a handler as background work: it runs when no change-driven work waits for a thread."""
    _BACKGROUND.add(fn)
    return fn


def running_background() -> bool:
    """Whether the calling thread is running background work for a PriorityExecutor (the AWS budget lets
    change-driven calls go first, ratelimit.py). Not for an object being deleted: its deletion waits for it."""
    if not getattr(_running, "background", False):
        return False
    with _deleting_lock:
        return getattr(_running, "uid", None) not in _deleting


def expedite(uid: str) -> None:
    """The object is being deleted. kopf holds its finalizer until each of its timers' calls has ended, and a
    call queued behind the background work of hundreds of other objects (each waiting for the AWS budget) held a
    deletion for many minutes: its queued background calls go to the front of the changes (they return at once
    for a deleted object), and a running one no longer yields the AWS budget (`running_background`)."""
    with _deleting_lock:
        _deleting.add(uid)
    for executor in list(_EXECUTORS):
        executor.expedite(uid)


def forget_deleted(uid: str) -> None:
    """The object is gone."""
    with _deleting_lock:
        _deleting.discard(uid)


def _unwrapped(fn: Callable[..., Any]) -> Iterator[Any]:
    """`fn` and what it wraps: kopf wraps each call in functools.partial, twice (its kwargs, then its
    contextvars, whose partial holds the first in its args). At most 16 items."""
    todo: list[Any] = [fn]
    for _ in range(16):
        if not todo:
            return
        item = todo.pop()
        yield item
        if isinstance(item, functools.partial):
            todo.append(item.func)
            todo.extend(a for a in item.args if callable(a))


def _object_uid(fn: Callable[..., Any]) -> str | None:
    """The uid of the `body` kopf passes to the handler (in the keywords of its functools.partial)."""
    for item in _unwrapped(fn):
        body = item.keywords.get("body") if isinstance(item, functools.partial) else None
        if isinstance(body, Mapping):
            uid = (body.get("metadata") or {}).get("uid")
            return str(uid) if uid else None
    return None


def _marked(item: Any) -> bool:
    try:
        return item in _BACKGROUND
    except TypeError:  # unhashable
        return False


def is_background(fn: Callable[..., Any]) -> bool:
    """Whether `fn` is, or wraps, a `background` handler."""
    return any(_marked(item) for item in _unwrapped(fn))


# While both queues hold work, one thread in this many that frees up takes background work: resyncs are not
# starved by a long stream of changes, and a deleted object whose resync is queued (kopf keeps the finalizer
# until its timer's call has ended, and a queued call cannot be cancelled) is not held behind the stream.
# The share also bounds how many threads run background work at once: at most one in this many while changes
# wait, and never so many that fewer than that many are left for changes. A share of the picks alone did not:
# a resync waiting for the AWS budget holds its thread far longer than most changes, so the threads filled up
# with resyncs, and under the fault suite's throttling a failed create's retry waited 10 minutes for a thread.
BACKGROUND_SHARE = 4

# future, fn, args, kwargs, background, the object's uid (background work only)
_WorkItem = tuple["Future[Any]", Callable[..., Any], tuple[Any, ...], dict[str, Any], bool, str | None]


class PriorityExecutor(Executor):
    """Up to `max_workers` threads, started as work arrives; queued change-driven work first, background
    work (see `background`) after it, each in arrival order."""

    def __init__(self, max_workers: int, thread_name_prefix: str = "handler") -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be 1 or more")
        self._max_workers = max_workers  # the name kopf's settings.execution.max_workers sets
        self._prefix = thread_name_prefix
        self._changes: deque[_WorkItem] = deque()
        self._background: deque[_WorkItem] = deque()
        self._ready = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._shutdown = False
        self._picks = 0
        self._running_background = 0
        # Background threads at most: while changes wait, and while none does (the rest is kept for changes).
        self._background_while_changes = max(1, max_workers // BACKGROUND_SHARE)
        self._background_alone = max(1, max_workers - max_workers // BACKGROUND_SHARE)
        _EXECUTORS.add(self)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        with self._ready:
            if self._shutdown:
                raise RuntimeError("cannot schedule new work after shutdown")
            later = is_background(fn)
            uid = _object_uid(fn) if later else None
            (self._background if later else self._changes).append((future, fn, args, kwargs, later, uid))
            self._ready.notify()
            # An idle thread, woken but not yet running, still counts as idle and its item as queued: one thread
            # more for each item beyond the idle ones.
            if len(self._changes) + len(self._background) > self._idle and len(self._threads) < self._max_workers:
                thread = threading.Thread(target=self._work, name=f"{self._prefix}-{len(self._threads)}", daemon=True)
                self._threads.append(thread)
                thread.start()
        return future

    def queued(self) -> tuple[int, int]:
        """(change-driven, background) items waiting for a thread."""
        with self._ready:
            return len(self._changes), len(self._background)

    def expedite(self, uid: str) -> None:
        """Moves the object's queued background work to the front of the changes."""
        with self._ready:
            found = [item for item in self._background if item[5] == uid]
            if not found:
                return
            for item in found:
                self._background.remove(item)
            self._changes.extendleft(reversed(found))
            self._ready.notify(len(found))

    def background_running(self) -> int:
        """Threads running background work now."""
        with self._ready:
            return self._running_background

    def _pick(self) -> _WorkItem | None:
        """The next item for a free thread, or None if there is none it may take. Holds the lock."""
        if self._changes and self._background:
            self._picks += 1
            if self._picks % BACKGROUND_SHARE == 0 and self._running_background < self._background_while_changes:
                return self._background.popleft()
            return self._changes.popleft()
        if self._changes:
            return self._changes.popleft()
        if self._background and self._running_background < self._background_alone:
            return self._background.popleft()
        return None

    def _next(self) -> _WorkItem | None:
        with self._ready:
            while (item := self._pick()) is None:
                if self._shutdown and not self._changes and not self._background:
                    return None
                self._idle += 1
                self._ready.wait()
                self._idle -= 1
            if item[4]:
                self._running_background += 1
            return item

    def _background_ended(self) -> None:
        with self._ready:
            self._running_background -= 1
            self._ready.notify()  # a thread the cap kept from queued background work may take it now

    def _work(self) -> None:
        while (item := self._next()) is not None:
            future, fn, args, kwargs, later, uid = item
            if not future.set_running_or_notify_cancel():
                if later:
                    self._background_ended()
                continue
            _running.background, _running.uid = later, uid
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting coroutine, as ThreadPoolExecutor does
                future.set_exception(exc)
            else:
                future.set_result(result)
            finally:
                _running.background, _running.uid = False, None
                if later:
                    self._background_ended()
            del item, future, fn, args, kwargs  # no reference kept to the last call's arguments while idle

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._ready:
            self._shutdown = True
            if cancel_futures:
                for queue in (self._changes, self._background):
                    while queue:
                        queue.popleft()[0].cancel()
            self._ready.notify_all()
            threads = list(self._threads)
        if wait:
            for thread in threads:
                thread.join()
