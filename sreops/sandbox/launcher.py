"""`sreops sandbox`: the whole system on one machine, on stand-ins for Kubernetes, AWS, Slack and Teams.

Stand-ins run in this process (each on its own thread and port); the operator runs as a child process,
exactly as it would against a real cluster, configured only through its kubeconfig and environment, and
is restarted with a backoff whenever it exits, as a kubelet would. `--operator-replicas N` runs N of them per
shard (`--shards a,b,c`: per shard and for the unlabelled set), electing a leader per shard on its Lease.
Everything a client in another terminal needs is written to the state directory: `kubeconfig`, `sandbox.env`
(mode 0600, it holds the sandbox's tokens), recordings, `logs/` and `run/<process>.pid`.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Literal

from kubernetes import client, config

from sreops.sandbox.aws.scenario import Scenario, generate_scenario, load_scenario
from sreops.sandbox.aws.server import AwsSandbox
from sreops.sandbox.chat.server import ChatSandbox, ThreadedChatSandbox
from sreops.sandbox.envfile import write_env_file
from sreops.sandbox.gateway_seed import seed_gateway
from sreops.sandbox.kube.server import KubeServer, ThreadHandle
from sreops.sandbox.processes import (
    ChildFailedError,
    ProcessStatus,
    Supervisor,
    free_port,
    gateway_child,
    operator_child,
    rfc3339,
)
from sreops.sandbox.replicas import Replica, lease_holders, plan, run_identity
from sreops.sandbox.seed import apply_samples, ensure_secret, install_crds
from sreops.sandbox.status_view import as_json, as_table, collect, processes_table

log = logging.getLogger("sreops.sandbox")
Output = Literal["table", "json"]
# Drift is repaired within a minute (API.md): the operator re-checks each resource this often.
SANDBOX_RESYNC_SECONDS = 20
# At the default speed a patch command takes seconds: poll runs often enough to watch them move.
SANDBOX_RUN_POLL_SECONDS = 2
NAMESPACE = "default"


@dataclass
class Options:
    state_dir: Path | None = None
    scenario: Path | None = None
    faults: str = ""
    speed: float = 1.0
    exit_after: float | None = None
    output: Output = "table"
    port_base: int = 0
    seed_samples: bool = True
    prometheus: bool = False  # run the Debian `prometheus` scraping the operator and gateway, with the alert rules
    operator_replicas: int = 1  # operator processes per shard (hot standbys beside the leader)
    shards: tuple[str, ...] = ()  # one set of operators per shard, plus `--shard none`; () = no sharding


@dataclass
class Ports:
    kube: int
    aws: int
    chat: int
    operator_health: int
    operator_metrics: int
    gateway: int

    @classmethod
    def choose(cls, base: int) -> Ports:
        if base:
            return cls(base, base + 1, base + 2, base + 3, base + 4, base + 5)
        return cls(0, 0, 0, free_port(), free_port(), free_port())


@dataclass
class Sandbox:
    options: Options
    state_dir: Path = field(init=False)
    kube: ThreadHandle | None = None
    aws: AwsSandbox | None = None
    chat: ThreadedChatSandbox | None = None
    operator: Supervisor | None = None  # the first operator process (the only one by default)
    operators: list[tuple[Replica, Supervisor, str]] = field(default_factory=list)  # with its /healthz URL
    gateway: Supervisor | None = None
    prometheus: Any = None  # sreops.observability.prometheus.PrometheusServer, imported only when asked for
    env: dict[str, str] = field(default_factory=dict)
    _api: client.ApiClient | None = None
    _identities: dict[int, str] = field(default_factory=dict)  # pid -> the lease identity of that run

    def __post_init__(self) -> None:
        self.state_dir = (self.options.state_dir or Path(tempfile.mkdtemp(prefix="sreops-sandbox-"))).resolve()

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        logs = self.state_dir / "logs"
        logs.mkdir(exist_ok=True)
        _log_to(logs / "sandbox.log")
        ports = Ports.choose(self.options.port_base)
        scenario = self._scenario()

        self.kube = KubeServer(self.state_dir / "kube", port=ports.kube).start_in_thread()
        shutil.copyfile(self.kube.kubeconfig_path, self.state_dir / "kubeconfig")
        (self.state_dir / "kubeconfig").chmod(0o600)
        self.aws = AwsSandbox(scenario, port=ports.aws, speed=self.options.speed, faults=self.options.faults)
        self.aws.start()
        self.chat = ThreadedChatSandbox(ChatSandbox(self.state_dir, port=ports.chat))
        chat = self.chat.start()
        log.info("stand-ins up: kube %s, aws %s, chat %s", self.kube.url, self.aws.endpoint_url, chat.base_url)

        gateway_url = f"http://127.0.0.1:{ports.gateway}"
        self.env = {
            "KUBECONFIG": str(self.state_dir / "kubeconfig"),
            **self.aws.env(),
            **chat.env(),
            "SREOPS_OPERATOR_METRICS_URL": f"http://127.0.0.1:{ports.operator_metrics}/metrics",
            "SREOPS_GATEWAY_URL": gateway_url,
            "SREOPS_GATEWAY_METRICS_URL": gateway_url + "/metrics",
            "SREOPS_API_KEY": secrets.token_urlsafe(24),
        }
        prometheus_port = 0
        if self.options.prometheus:
            prometheus_port = self.options.port_base + 6 if self.options.port_base else free_port()
            self.env["SREOPS_PROMETHEUS_URL"] = f"http://127.0.0.1:{prometheus_port}"
        write_env_file(self.state_dir, self.env).chmod(0o600)

        self._api = config.new_client_from_config(config_file=str(self.state_dir / "kubeconfig"))
        install_crds(self._api)
        self._seed(scenario, chat)
        for i, replica in enumerate(plan(self.options.operator_replicas, self.options.shards)):
            # The first one serves the ports in sandbox.env; POD_NAME makes each lease identity `<name>_<uuid>`.
            operator, _ = operator_child(
                {**self.env, "HOME": str(self.state_dir), "POD_NAME": replica.name, "POD_NAMESPACE": NAMESPACE},
                logs / f"{replica.name}.log",
                f"--resync-seconds={SANDBOX_RESYNC_SECONDS}",
                f"--run-poll-seconds={SANDBOX_RUN_POLL_SECONDS}",
                f"--default-region={scenario.accounts[0].regions[0]}",
                *replica.flags(),
                health_port=ports.operator_health if i == 0 else None,
                metrics_port=ports.operator_metrics if i == 0 else None,
                name=replica.name,
            )
            supervisor = Supervisor(operator, pid_file=self.state_dir / "run" / f"{replica.name}.pid")
            self.operators.append((replica, supervisor, operator.health_url))  # stop() stops it, even half-started
            supervisor.start()
        self.operator = self.operators[0][1]
        gateway, _ = gateway_child(
            {**self.env, "HOME": str(self.state_dir)},
            logs / "gateway.log",
            f"--namespace={NAMESPACE}",
            # `sreops sandbox slack` receives delayed answers on a local port of its own.
            "--slack-response-url-prefix=http://127.0.0.1:",
            port=ports.gateway,
        )
        self.gateway = Supervisor(gateway, pid_file=self.state_dir / "run" / "gateway.pid")
        self.gateway.start()
        if prometheus_port:
            self._start_prometheus(ports, prometheus_port)

    def _start_prometheus(self, ports: Ports, port: int) -> None:
        from sreops.observability.prometheus import (  # noqa: PLC0415 - only with --prometheus
            PrometheusConfig,
            PrometheusError,
            PrometheusServer,
        )
        from sreops.observability.render import rules_yaml  # noqa: PLC0415

        workdir = self.state_dir / "prometheus"
        workdir.mkdir(exist_ok=True)
        rules = workdir / "sreops.rules.yaml"
        rules.write_text(rules_yaml())
        targets = PrometheusConfig(
            f"127.0.0.1:{ports.operator_metrics}", f"127.0.0.1:{ports.gateway}", scrape_interval="5s", rules=[rules]
        )
        self.prometheus = PrometheusServer(targets, workdir, port)
        try:
            self.prometheus.start()
        except PrometheusError as exc:  # not installed, or it would not start: stop like a child that fails
            raise ChildFailedError(str(exc)) from exc
        log.info("prometheus up: %s", self.prometheus.url)

    def _scenario(self) -> Scenario:
        if self.options.scenario is not None:
            return load_scenario(self.options.scenario)
        return generate_scenario()

    def _seed(self, scenario: Scenario, chat: ChatSandbox) -> None:
        """Secrets the samples name (filled with the stand-ins' tokens), then the samples themselves."""
        assert self._api is not None
        prod = scenario.accounts[0]
        ensure_secret(self._api, NAMESPACE, "prod-aws", {"externalId": prod.external_id or "sreops-sandbox"})
        ensure_secret(self._api, NAMESPACE, "slack-bot", {"token": chat.slack_token})
        ensure_secret(self._api, NAMESPACE, "teams", {"url": chat.teams_webhook_url})
        seed_gateway(self._api, NAMESPACE, self.env["SREOPS_API_KEY"])
        if self.options.seed_samples:
            count = apply_samples(self._api, NAMESPACE)
            log.info("seeded %d sample objects in namespace %s", count, NAMESPACE)

    def supervisors(self) -> list[Supervisor]:
        return [s for _, s, _ in self.operators] + ([self.gateway] if self.gateway is not None else [])

    def leadership(self) -> dict[str, dict[str, Any]]:
        """Each operator process by name: its shard, lease, the identity of its current run, and whether it
        holds its lease (a fresh one)."""
        assert self._api is not None
        holders = lease_holders(self._api, NAMESPACE)
        running = set()
        seen: dict[str, dict[str, Any]] = {}
        for replica, sup, health_url in self.operators:
            status = sup.status()
            identity = None
            if status.pid is not None:
                running.add(status.pid)
                identity = self._identities.get(status.pid)
                if identity is None and status.ready:
                    identity = run_identity(health_url)
                    if identity is not None:
                        self._identities[status.pid] = identity
            holder = holders.get(replica.lease)
            leading = identity is not None and holder is not None and holder.fresh and holder.identity == identity
            seen[replica.name] = {
                "shard": replica.shard,
                "lease": replica.lease,
                "identity": identity,
                "leading": leading,
            }
        for pid in set(self._identities) - running:  # runs that have ended
            del self._identities[pid]
        return seen

    def _process_json(self, status: ProcessStatus, roles: dict[str, dict[str, Any]]) -> dict[str, Any]:
        return {**status.to_json(), **roles.get(status.name, {})}

    def supervise(self) -> tuple[float, list[str]]:
        """Restart what has exited (after its backoff): the seconds until this is next due, and a line for
        each exit seen since the last call."""
        due = math.inf
        exits: list[str] = []
        for sup in self.supervisors():
            before = sup.last_exit
            due = min(due, sup.poll())
            status = sup.status()
            if status.last_exit is not None and status.last_exit is not before:
                restart = "" if status.next_restart is None else f" at {rfc3339(status.next_restart)}"
                exits.append(f"{sup.name} exited: {status.last_exit.describe()}; restarting it{restart}")
        return due, exits

    def stop(self) -> None:
        if self.prometheus is not None:
            self.prometheus.stop()
        for sup in self.supervisors():
            sup.stop()
        if self._api is not None:
            self._api.close()
        if self.chat is not None:
            self.chat.stop()
        if self.aws is not None:
            self.aws.stop()
        if self.kube is not None:
            self.kube.stop()

    # -- what the user sees ---------------------------------------------------------------------
    def endpoints(self) -> dict[str, str]:
        """Where things are, without secrets (those are in sandbox.env only)."""
        assert self.kube is not None and self.aws is not None and self.chat is not None
        return {
            "stateDir": str(self.state_dir),
            "kubeconfig": str(self.state_dir / "kubeconfig"),
            "envFile": str(self.state_dir / "sandbox.env"),
            "kubernetes": self.kube.url,
            "aws": self.aws.endpoint_url,
            **self.chat.sandbox.endpoints(),
            "operatorMetrics": self.env["SREOPS_OPERATOR_METRICS_URL"],
            "gateway": self.env["SREOPS_GATEWAY_URL"],
            "gatewayMetrics": self.env["SREOPS_GATEWAY_METRICS_URL"],
            **({"prometheus": self.env["SREOPS_PROMETHEUS_URL"]} if "SREOPS_PROMETHEUS_URL" in self.env else {}),
            "logs": str(self.state_dir / "logs"),
        }

    def snapshot(self) -> dict[str, Any]:
        assert self._api is not None
        roles = self.leadership()
        return {
            "endpoints": self.endpoints(),
            "processes": [self._process_json(sup.status(), roles) for sup in self.supervisors()],
            "resources": as_json(collect(self._api)),
        }

    def render(self, output: Output) -> str:
        assert self._api is not None
        if output == "json":
            return json.dumps(self.snapshot(), indent=2)
        roles = {name: (r["lease"], "leader" if r["leading"] else "standby") for name, r in self.leadership().items()}
        statuses = [sup.status() for sup in self.supervisors()]
        lines = [as_table(collect(self._api)), "", processes_table(statuses, roles), ""]
        lines += [f"{k:>24}  {v}" for k, v in self.endpoints().items()]
        lines.append("\nIn another terminal:  set -a; . " + str(self.state_dir / "sandbox.env") + "; set +a")
        return "\n".join(lines)


def _log_to(path: Path) -> None:
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def run(options: Options) -> int:
    sandbox = Sandbox(options)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(f"sreops sandbox: starting in {sandbox.state_dir}", file=sys.stderr, flush=True)
        try:
            sandbox.start()
        except ChildFailedError as exc:  # the first start must succeed: a broken install says so and stops
            print(f"sreops sandbox: {exc}", file=sys.stderr, flush=True)
            return 1
        print(f"sreops sandbox: ready; env file {sandbox.state_dir / 'sandbox.env'}", file=sys.stderr, flush=True)
        if sandbox.prometheus is not None:
            print(f"sreops sandbox: Prometheus at {sandbox.prometheus.url}", file=sys.stderr, flush=True)
        deadline = None if options.exit_after is None else time.monotonic() + options.exit_after
        live = sys.stdout.isatty() and options.output == "table"
        last = ""
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            due, exits = sandbox.supervise()
            for line in exits:
                print(f"sreops sandbox: {line}", file=sys.stderr, flush=True)
            if live or deadline is None:
                view = sandbox.render(options.output)
                if view != last:
                    print(("\033[H\033[2J" if live else "") + view, flush=True)
                    last = view
            # A signal sets `stop`, which ends this wait at once, also while a restart is backing off.
            wait = min(2.0, due)
            if deadline is not None:
                wait = min(wait, max(0.0, deadline - time.monotonic()))
            stop.wait(wait)
        if options.exit_after is not None:
            print(sandbox.render(options.output), flush=True)
        return 0
    finally:
        sandbox.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
