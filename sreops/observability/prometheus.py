"""The real Prometheus server (Debian's `prometheus` package) as a child process: the sandbox's and the
real-scrape test's. Scrapes the operator and the gateway under the job names the rules and the dashboard
select on, and loads the generated rules file."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sreops.observability.alerts import GATEWAY_JOB, OPERATOR_JOB
from sreops.observability.render import RULES_PATH

ROOT = Path(__file__).resolve().parents[2]


class PrometheusError(RuntimeError):
    """Prometheus is not installed, exited, or did not become ready."""


def prometheus_binary() -> str | None:
    return shutil.which("prometheus")


@dataclass
class PrometheusConfig:
    operator_target: str  # host:port of the operator's /metrics
    gateway_target: str | None = None
    scrape_interval: str = "1s"
    rules: list[Path] = field(default_factory=lambda: [ROOT / RULES_PATH])

    def render(self) -> dict[str, Any]:
        jobs = [(OPERATOR_JOB, self.operator_target)]
        if self.gateway_target:
            jobs.append((GATEWAY_JOB, self.gateway_target))
        return {
            "global": {"scrape_interval": self.scrape_interval, "evaluation_interval": self.scrape_interval},
            "rule_files": [str(p) for p in self.rules],
            "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [target]}]} for job, target in jobs],
        }


class PrometheusServer:
    """`prometheus` on 127.0.0.1:port with its TSDB and config under `workdir`; `start()` waits until ready."""

    def __init__(self, config: PrometheusConfig, workdir: Path, port: int) -> None:
        self.config, self.workdir, self.port = config, workdir, port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        binary = prometheus_binary()
        if binary is None:
            raise PrometheusError("prometheus is not installed (scripts/setup-env.sh installs it)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        config_path = self.workdir / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(self.config.render()))
        log = (self.workdir / "prometheus.log").open("ab")
        self.proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config_path}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--web.enable-lifecycle",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                log = self.workdir / "prometheus.log"
                raise PrometheusError(f"prometheus exited with {self.proc.returncode}; see {log}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as answer:  # noqa: S310 - our http URL
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise PrometheusError(f"prometheus not ready after {timeout}s")

    def query(self, expr: str) -> dict[str, Any]:
        """/api/v1/query's answer (status success or error) for an instant query at now."""
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - our http URL
                body: dict[str, Any] = json.loads(answer.read())
        except urllib.error.HTTPError as exc:  # 400/422: a bad expression, with Prometheus's error
            body = json.loads(exc.read())
        return body

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
