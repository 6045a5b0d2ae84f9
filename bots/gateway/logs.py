"""JSON log lines (one object per line) for the gateway.

Nothing secret is ever handed to a logger here: request logs carry method, route template, status,
duration and the caller's channel identity (a Slack team/user id, an AAD object id, an API key's
*name*); never headers, bodies, query strings, tokens, keys or response URLs.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

# Attributes every LogRecord has; anything else was passed through `extra=` and is logged as a field.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            # The exception's type only: a traceback's locals and messages can quote request data.
            line["error"] = record.exc_info[0].__name__
        return json.dumps(line, default=str, ensure_ascii=False)


def configure(log_format: str = "json", level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiohttp's own access log would print the raw request line (with query strings): ours replaces it.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # botframework and msrest log request details at DEBUG/INFO (headers with tokens at DEBUG).
    for name in ("msrest", "botframework", "botbuilder", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)
