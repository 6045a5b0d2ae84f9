"""Which operator processes `sreops sandbox` runs for --operator-replicas and --shards, and how they are shown."""

from __future__ import annotations

import pytest

from sreops.cli import build_parser
from sreops.sandbox.processes import ProcessStatus
from sreops.sandbox.replicas import Replica, plan
from sreops.sandbox.status_view import processes_table


def test_the_default_is_one_process_named_operator_on_the_unsharded_lease() -> None:
    assert plan() == [Replica("operator", None)]
    assert plan()[0].lease == "sreops-operator" and plan()[0].flags() == []


def test_replicas_and_shards_name_each_process_and_add_the_unlabelled_set() -> None:
    assert [r.name for r in plan(2)] == ["operator-0", "operator-1"]
    shards = plan(2, ("a", "b"))
    # Three shard sets act in the same accounts and regions: each spends a third of the AWS budget.
    SHARE = "--aws-budget-share=0.3333"  # noqa: N806
    assert [(r.name, r.lease, r.flags()) for r in shards] == [
        ("operator-a-0", "sreops-operator-a", ["--shard=a", SHARE]),
        ("operator-a-1", "sreops-operator-a", ["--shard=a", SHARE]),
        ("operator-b-0", "sreops-operator-b", ["--shard=b", SHARE]),
        ("operator-b-1", "sreops-operator-b", ["--shard=b", SHARE]),
        ("operator-none-0", "sreops-operator-none", ["--shard=none", SHARE]),
        ("operator-none-1", "sreops-operator-none", ["--shard=none", SHARE]),
    ]
    with pytest.raises(ValueError):
        plan(0)
    with pytest.raises(ValueError):
        plan(1, ("a", "none"))


@pytest.mark.parametrize(
    "argv",
    [["--operator-replicas", "0"], ["--shards", "a,a"], ["--shards", "a,,b"], ["--shards", "none"], ["--shards", "-x"]],
)
def test_bad_flags_are_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser(["sandbox", *argv]).parse_args(["sandbox", *argv])
    assert exc.value.code == 2
    assert argv[0] in capsys.readouterr().err


def test_flags_reach_the_options() -> None:
    argv = ["sandbox", "--operator-replicas", "3", "--shards", "a,b"]
    args = build_parser(argv).parse_args(argv)
    assert (args.operator_replicas, args.shards) == (3, ("a", "b"))


def test_the_process_table_shows_each_lease_and_who_leads_it() -> None:
    procs = [ProcessStatus(n, True, True, pid, 0, None, None, None) for n, pid in (("operator-0", 11), ("gateway", 12))]
    lines = processes_table(procs, {"operator-0": ("sreops-operator", "leader")}).splitlines()
    assert lines[0].split() == ["PROCESS", "STATE", "PID", "RESTARTS", "LEASE", "ROLE", "LAST", "EXIT"]
    assert lines[1].split() == ["operator-0", "Running", "11", "0", "sreops-operator", "leader", "-"]
    assert lines[2].split() == ["gateway", "Running", "12", "0", "-", "-", "-"]
