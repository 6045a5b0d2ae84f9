"""The scenario file: validated with errors that name the field; the generator is deterministic."""

from __future__ import annotations

from pathlib import Path

import pytest

from sreops.sandbox.aws.scenario import (
    DOC_ACCOUNT_IDS,
    HOME_ACCOUNT,
    SECURITY_ACCOUNT,
    ScenarioError,
    dump_scenario,
    generate_scenario,
    load_scenario,
)


def test_default_scenario_shape() -> None:
    """The default demo fleet: 2 accounts reached through a role plus the home account, 2 regions each,
    40 + 12 instances, missing patches, a few hundred findings; last the security account (no instances), the
    Inspector delegated administrator of the other three."""
    s = generate_scenario()
    assert (
        [a.id for a in s.accounts]
        == ["111122223333", "444455556666", HOME_ACCOUNT, "999988887777"]
        == [*DOC_ACCOUNT_IDS[:2], s.home_account, SECURITY_ACCOUNT]
    )
    security = s.accounts[-1]
    assert (security.name, security.role_arn) == ("security", f"arn:aws:iam::{SECURITY_ACCOUNT}:role/sreops")
    assert s.inspector_admin == SECURITY_ACCOUNT
    assert s.inspector_members() == [*DOC_ACCOUNT_IDS[:2], HOME_ACCOUNT]
    assert not [i for i in s.instances if i.account == SECURITY_ACCOUNT]
    assert all(a.regions == ["us-west-2", "us-east-1"] for a in s.accounts)
    assert len(s.instances) == 40 + 12
    home = [i for i in s.instances if i.account == HOME_ACCOUNT]
    assert len(home) == 12 and {i.region for i in home} == {"us-west-2", "us-east-1"}
    assert {i.tags["Env"] for i in home} == {"prod"} and {i.tags["Role"] for i in home} == {"web", "api", "db", "batch"}
    assert sum(1 for i in s.instances for p in i.patches if p.state == "Missing") > 20
    assert 200 <= s.finding_count <= 500
    assert any(not i.managed for i in s.instances) and any(i.ping == "ConnectionLost" for i in s.instances)


def test_home_fleet_leaves_the_role_reached_fleet_as_it_was() -> None:
    """Tests and benchmarks name instances of accounts 111122223333/444455556666: the home fleet is added
    after them and changes none of them."""
    with_home, without = generate_scenario(seed=5), generate_scenario(seed=5, home_instances=0)
    assert [i for i in with_home.instances if i.account != HOME_ACCOUNT] == without.instances
    assert [a for a in with_home.accounts if a.id != HOME_ACCOUNT] == without.accounts
    assert with_home.resources == without.resources
    assert [a.id for a in without.accounts] == [*DOC_ACCOUNT_IDS[:2], SECURITY_ACCOUNT]
    alone = generate_scenario(seed=5, security_account=False)
    assert alone.inspector_admin is None and alone.accounts == with_home.accounts[:-1]
    assert alone.instances == with_home.instances


def test_security_account_id_cannot_collide() -> None:
    """With many accounts (generated ids after the documentation ones) the security account is still apart."""
    s = generate_scenario(accounts=12, instances=24, findings=24)
    ids = [a.id for a in s.accounts]
    assert len(ids) == len(set(ids)) == 12 + 2 and ids[-1] == SECURITY_ACCOUNT and DOC_ACCOUNT_IDS[2] in ids


def test_generator_is_deterministic_and_scales() -> None:
    assert dump_scenario(generate_scenario(seed=3)) == dump_scenario(generate_scenario(seed=3))
    assert dump_scenario(generate_scenario(seed=3)) != dump_scenario(generate_scenario(seed=4))
    assert generate_scenario(instances=100, findings=5000, home_findings=0).finding_count == 5000
    assert generate_scenario(instances=100, findings=5000, home_findings=40).finding_count == 5040


def test_round_trip_through_yaml(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    s = generate_scenario(seed=2)
    path.write_text(dump_scenario(s))
    assert load_scenario(path) == s


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("accounts: [{id: '1', role_arn: x, regions: [us-west-2]}]", "accounts[0].id"),
        (
            "accounts: [{id: '111111111111', role_arn: 'arn:aws:iam::222222222222:role/r', regions: [us-west-2]}]",
            "is not in account 111111111111",
        ),
        (
            "accounts: [{id: '111111111111', role_arn: 'arn:aws:iam::111111111111:role/r', regions: [us-west-2]}]\n"
            "instances: [{id: i-123, account: '111111111111', region: us-west-2}]",
            "instances[0].id",
        ),
        (
            "accounts: [{id: '111111111111', role_arn: 'arn:aws:iam::111111111111:role/r', regions: [us-west-2]}]\n"
            "instances: [{id: i-0123456789abcdef0, account: '111111111111', region: eu-west-1}]",
            "instances[0].region 'eu-west-1' is not a region of account",
        ),
        (
            "accounts: [{id: '111111111111', role_arn: 'arn:aws:iam::111111111111:role/r', regions: [us-west-2]}]\n"
            "instances: [{id: i-0123456789abcdef0, account: '111111111111', region: us-west-2, colour: red}]",
            "instances[0].colour",
        ),
        (
            "accounts: [{id: '111111111111', role_arn: 'arn:aws:iam::111111111111:role/r', regions: [us-west-2]}]\n"
            "instances: [{id: i-0123456789abcdef0, account: '111111111111', region: us-west-2,"
            " findings: [{vulnerability_id: CVE-2024-1, severity: SEVERE}]}]",
            "instances[0].findings[0].severity",
        ),
        (
            "accounts: [{id: '111111111111', role_arn: 'arn:aws:iam::111111111111:role/r', regions: [us-west-2]}]\n"
            "inspector_admin: '222222222222'",
            "inspector_admin '222222222222' is not one of the accounts",
        ),
    ],
)
def test_bad_scenario_names_the_field(tmp_path: Path, yaml_text: str, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ScenarioError) as e:
        load_scenario(path)
    assert str(path) in str(e.value)
    assert expected in str(e.value)


def test_unreadable_yaml(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("accounts: [")
    with pytest.raises(ScenarioError, match=r"bad\.yaml"):
        load_scenario(path)
