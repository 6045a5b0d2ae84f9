"""The container image's HEALTHCHECK: `python -m sreops.healthcheck` exits 0 when the process in the container
answers its health endpoint, else 1.

One image runs either `sreops operator` (kopf's liveness endpoint `/healthz` on `SREOPS_HEALTH_PORT`, 8080) or
`sreops gateway` (`/health` on `SREOPS_GATEWAY_PORT`, 8000); only the one running listens, so the first that
answers 200 decides. Standard library only: it runs every 30 s and must start fast.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping


def endpoints(env: Mapping[str, str]) -> list[str]:
    return [
        f"http://127.0.0.1:{env.get('SREOPS_HEALTH_PORT', '8080')}/healthz",
        f"http://127.0.0.1:{env.get('SREOPS_GATEWAY_PORT', '8000')}/health",
    ]


def healthy(url: str, timeout: float = 3.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - a fixed local http URL
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def main(env: Mapping[str, str] | None = None) -> int:
    return 0 if any(healthy(url) for url in endpoints(os.environ if env is None else env)) else 1


if __name__ == "__main__":
    sys.exit(main())
