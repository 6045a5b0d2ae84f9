"""Maintenance-window schedules in AWS's forms: `cron(min hour dom month dow year)` and `rate(n unit)`."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from .errors import validation

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_UNIT = {"minute": 60, "hour": 3600, "day": 86400}


def _aws_dow_to_cron(field: str) -> str:
    # AWS numbers days 1-7 from Sunday; cron numbers them 0-6.
    return re.sub(r"\d", lambda m: str((int(m.group()) - 1) % 7), field)


class Schedule:
    def __init__(self, expression: str, timezone: str | None = None, offset_days: int = 0) -> None:
        self.expression = expression
        try:
            self.tz = ZoneInfo(timezone or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            raise validation(f"Invalid ScheduleTimezone: {timezone}") from None
        self.offset = timedelta(days=offset_days)
        self.rate: float | None = None
        self.cron: str | None = None
        if m := _RATE.match(expression):
            n = int(m.group(1))
            if n < 1:
                raise validation(f"Invalid schedule expression: {expression}")
            self.rate = n * _UNIT[m.group(2).rstrip("s")]
        elif m := _CRON.match(expression):
            fields = m.group(1).split()
            if len(fields) not in (5, 6):
                raise validation(f"Invalid schedule expression: {expression}")
            minute, hour, dom, month, dow = fields[:5]
            if len(fields) == 6 and fields[5] not in ("*", "?"):
                raise validation(f"Unsupported year field in schedule expression: {expression}")
            if (dom == "?") == (dow == "?"):  # AWS: exactly one of day-of-month and day-of-week is ?
                raise validation(f"Invalid schedule expression: {expression}")
            cron = " ".join([minute, hour, dom.replace("?", "*"), month, _aws_dow_to_cron(dow.replace("?", "*"))])
            if not croniter.is_valid(cron):
                raise validation(f"Invalid schedule expression: {expression}")
            self.cron = cron
        else:
            raise validation(f"Invalid schedule expression: {expression}")

    def fires_between(self, after: float, until: float, anchor: float, limit: int = 100) -> list[float]:
        """Fire times in (after, until]; a rate counts from `anchor` (the window's creation)."""
        out: list[float] = []
        if self.rate is not None:
            k = max(0, int((after - anchor) // self.rate))
            t = anchor + k * self.rate
            while t <= until and len(out) < limit:
                if t > after:
                    out.append(t)
                t += self.rate
            return out
        assert self.cron is not None
        start = datetime.fromtimestamp(after, UTC).astimezone(self.tz) - self.offset
        it = croniter(self.cron, start)
        while len(out) < limit:
            nxt: datetime = it.get_next(datetime)
            t = (nxt + self.offset).timestamp()
            if t > until:
                break
            if t > after:
                out.append(t)
        return out

    def next_after(self, after: float, anchor: float) -> float | None:
        horizon = after + 400 * 86400
        fires = self.fires_between(after, horizon, anchor, limit=1)
        return fires[0] if fires else None
