"""`sreops sandbox`'s AWS part on its own: serve the stand-in until SIGINT/SIGTERM.

    python -m sreops.sandbox.aws.cli --port 4566 --speed 10 --faults 'ssm:SendCommand=throttle:0.2'

Prints the environment a client needs (AWS_ENDPOINT_URL=..., one per line) once it is serving.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from ..fault_rules import FaultSpecError
from .scenario import ScenarioError, generate_scenario, load_scenario
from .server import ADMIN_PATHS, AwsSandbox


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    parser.add_argument("--scenario", metavar="FILE", help="scenario YAML (default: the generated demo fleet)")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second (0 freezes)")
    parser.add_argument("--faults", metavar="SPEC", default="", help="fault spec, e.g. 'ssm:*=throttle:0.1'")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated scenario and of faults")
    parser.add_argument("--instances", type=int, default=40, help="generated scenario: number of instances")
    parser.add_argument("--findings", type=int, default=300, help="generated scenario: number of findings")
    parser.add_argument("--accounts", type=int, default=2, help="generated scenario: accounts reached through a role")
    parser.add_argument(
        "--home-instances", type=int, default=12, help="generated scenario: instances in the home account (own keys)"
    )
    parser.add_argument(
        "--home-findings", type=int, default=60, help="generated scenario: findings in the home account"
    )
    parser.add_argument("--regions", default="us-west-2,us-east-1", help="generated scenario: comma-separated regions")


def run(args: argparse.Namespace) -> int:
    try:
        if args.scenario:
            scenario = load_scenario(args.scenario)
        else:
            regions = tuple(r.strip() for r in args.regions.split(",") if r.strip())
            scenario = generate_scenario(
                seed=args.seed,
                accounts=args.accounts,
                regions=regions,
                instances=args.instances,
                findings=args.findings,
                home_instances=args.home_instances,
                home_findings=args.home_findings,
            )
        sandbox = AwsSandbox(
            scenario, host=args.host, port=args.port, speed=args.speed, faults=args.faults, seed=args.seed
        )
    except (ScenarioError, FaultSpecError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        sandbox.start()
        for k, v in sandbox.env().items():
            print(f"{k}={v}")
        print(f"# admin: {sandbox.endpoint_url}/_sandbox/{{{','.join(ADMIN_PATHS)}}}", flush=True)
        while not stop.wait(0.5):
            pass
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        sandbox.stop()
        for s, h in previous.items():
            signal.signal(s, h)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sreops-sandbox-aws", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
