"""WATCH: newline-delimited JSON events over a chunked `application/json` response.

Mirrors kube-apiserver: without a resourceVersion (or with "0") the stream starts with synthetic
ADDED events for what exists; with one, it replays the changes after it from the history (an ERROR
event with a 410 Status when that version is older than the history window); `sendInitialEvents`
ends the initial ADDED events with a bookmark annotated `k8s.io/initial-events-end`; label/field
selectors turn objects that stop or start matching into DELETED/ADDED; `allowWatchBookmarks` adds
periodic BOOKMARK events; `timeoutSeconds` ends the stream.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .operations import Api, served
from .resources import ResourceType
from .selectors import field_selector, label_selector
from .store import Change

Obj = dict[str, Any]
Encoder = Callable[[Obj], Obj]

DEFAULT_TIMEOUT = 1800.0


class WatchHub:
    """Tracks open watch streams so that stopping the server can end them."""

    def __init__(self, bookmark_interval: float = 10.0) -> None:
        self.bookmark_interval = bookmark_interval
        self._queues: set[asyncio.Queue[Change | None]] = set()
        # Watch requests served, and those resumed from a resourceVersion (what a reconnect does): soak tests
        # count them to show the operator ran across reconnects.
        self.started = 0
        self.resumed = 0

    def close_all(self) -> None:
        for queue in list(self._queues):
            queue.put_nowait(None)

    async def serve(
        self,
        request: web.Request,
        api: Api,
        rt: ResourceType,
        namespace: str | None,
        query: dict[str, str],
        encode: Encoder,
    ) -> web.StreamResponse:
        labels = label_selector(query.get("labelSelector"))
        fields = field_selector(query.get("fieldSelector"), rt.kind)

        def matches(obj: Obj | None) -> bool:
            if obj is None:
                return False
            if namespace is not None and obj["metadata"].get("namespace") != namespace:
                return False
            return labels(obj) and fields(served(rt, obj))

        store = api.store
        queue: asyncio.Queue[Change | None] = asyncio.Queue()

        def listener(change: Change) -> None:
            if change.gr == rt.storage:
                queue.put_nowait(change)

        rv_text = query.get("resourceVersion") or ""
        initial: list[Obj] = []
        replay: list[Change] = []
        too_old = False
        # Subscribing and taking the snapshot happen with no await in between: no change can fall in a gap.
        store.subscribe(listener)
        if rv_text in ("", "0") or query.get("sendInitialEvents") == "true":
            initial = [o for o in store.items(rt.storage, namespace) if matches(o)]
        elif not rv_text.isdigit() or int(rv_text) < store.compacted_rv:
            too_old = True
        else:
            replay = store.history_since(int(rv_text), rt.storage)
            self.resumed += 1
        self.started += 1
        start_rv = store.rv

        response = web.StreamResponse(headers={"Content-Type": "application/json", "Cache-Control": "no-cache"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        self._queues.add(queue)
        try:
            return await self._stream(
                response, api, rt, query, encode, matches, queue, initial, replay, too_old, rv_text, start_rv
            )
        except (ConnectionResetError, asyncio.CancelledError):
            return response
        finally:
            store.unsubscribe(listener)
            self._queues.discard(queue)

    async def _stream(
        self,
        response: web.StreamResponse,
        api: Api,
        rt: ResourceType,
        query: dict[str, str],
        encode: Encoder,
        matches: Callable[[Obj | None], bool],
        queue: asyncio.Queue[Change | None],
        initial: list[Obj],
        replay: list[Change],
        too_old: bool,
        rv_text: str,
        start_rv: int,
    ) -> web.StreamResponse:
        async def send(event_type: str, obj: Obj) -> None:
            await response.write(
                json.dumps({"type": event_type, "object": obj}, separators=(",", ":")).encode() + b"\n"
            )

        def bookmark(extra_annotations: dict[str, str] | None = None) -> Obj:
            md: Obj = {"resourceVersion": str(api.store.rv)}
            if extra_annotations:
                md["annotations"] = extra_annotations
            return {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": md}

        if too_old:
            status = {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": f"too old resource version: {rv_text} ({api.store.compacted_rv})",
                "reason": "Expired",
                "code": 410,
            }
            await send("ERROR", status)
            return response

        bookmarks = query.get("allowWatchBookmarks") == "true"
        for obj in initial:
            await send("ADDED", encode(served(rt, obj)))
        if query.get("sendInitialEvents") == "true" and bookmarks:
            await send("BOOKMARK", bookmark({"k8s.io/initial-events-end": "true"}))
        for change in replay:
            await self._emit(send, rt, encode, matches, change)
        last_rv = start_rv

        timeout = float(query["timeoutSeconds"]) if query.get("timeoutSeconds", "").isdigit() else DEFAULT_TIMEOUT
        deadline = time.monotonic() + timeout
        next_bookmark = time.monotonic() + self.bookmark_interval
        while True:
            now = time.monotonic()
            if now >= deadline:
                break
            wait = min(deadline, next_bookmark if bookmarks else deadline) - now
            try:
                received = await asyncio.wait_for(queue.get(), timeout=max(wait, 0.0))
            except TimeoutError:
                if bookmarks and time.monotonic() >= next_bookmark:
                    await send("BOOKMARK", bookmark())
                    next_bookmark = time.monotonic() + self.bookmark_interval
                continue
            if received is None:
                break
            if received.rv <= last_rv:
                continue  # already covered by the initial state or the replay
            await self._emit(send, rt, encode, matches, received)
        return response

    @staticmethod
    async def _emit(
        send: Callable[[str, Obj], Any],
        rt: ResourceType,
        encode: Encoder,
        matches: Callable[[Obj | None], bool],
        change: Change,
    ) -> None:
        now_matches, old_matched = matches(change.obj), matches(change.old)
        if change.type == "ADDED":
            event = "ADDED" if now_matches else None
        elif change.type == "DELETED":
            event = "DELETED" if now_matches or old_matched else None
        elif now_matches:
            event = "MODIFIED" if old_matched else "ADDED"
        else:
            event = "DELETED" if old_matched else None
        if event is not None:
            await send(event, encode(served(rt, change.obj)))
