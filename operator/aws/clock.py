"""AWS's clock, as its responses tell it (the HTTP `Date` header).

Inspector stamps findings with its own time (`firstObservedAt`, `updatedAt`), and a sweep compares those with
the time of the previous sweep; taking both from AWS keeps the comparison right whatever the operator host's
clock says. In production the two clocks agree within NTP's error; in the sandbox AWS runs on a simulated
clock that tests move forward, and the operator follows it.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def parse_http_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


class AwsClock:
    """The offset between AWS's clock and ours, from the last response seen; `now()` is AWS's time estimated
    from it (exact to the second just after a call, as `Date` has one-second resolution)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        self._seen = False

    def observe(self, date_header: str | None, local: float | None = None) -> datetime | None:
        """Records a response's Date; returns it parsed (None if absent or unreadable)."""
        if not date_header:
            return None
        parsed = parse_http_date(date_header)
        if parsed is None:
            return None
        with self._lock:
            self._offset = parsed.timestamp() - (time.time() if local is None else local)
            self._seen = True
        return parsed

    @property
    def known(self) -> bool:
        return self._seen

    def now(self) -> datetime:
        with self._lock:
            offset = self._offset
        return datetime.fromtimestamp(time.time() + offset, UTC)


def response_time(response: dict[str, object]) -> datetime | None:
    """The Date of one boto3 response (its ResponseMetadata), if AWS sent one."""
    meta = response.get("ResponseMetadata")
    headers = meta.get("HTTPHeaders") if isinstance(meta, dict) else None
    value = headers.get("date") if isinstance(headers, dict) else None
    return parse_http_date(value) if isinstance(value, str) else None
