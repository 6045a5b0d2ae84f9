"""The whole Pulumi program (pulumi/__main__.py) under `pulumi.runtime.set_mocks`: no Pulumi CLI, no AWS. Every
resource it registers is recorded with its resolved inputs, and the security properties of the hosting are
checked on them. `pulumi/` is not a package (it must not shadow the SDK), so its folder goes on sys.path."""

from __future__ import annotations

import asyncio
import json
import runpy
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pytest

from sreops.operator.aws.permissions import declared_actions

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pulumi_aws warns about its own V2 aliases
PROGRAM = Path(__file__).resolve().parents[2] / "pulumi"
CONFIG = {
    "sreops:domain": "sreops.example.com",
    "sreops:hostedZoneId": "Z0123456789EXAMPLE",
    "sreops:image": "111122223333.dkr.ecr.us-west-2.amazonaws.com/sreops:0.1.0",
    "sreops:alarmEmail": "sre@example.com",
    "sreops:alarmHttpsEndpoint": "https://events.example.com/sns",
    "sreops:slackSigningSecret": "slack-signing-secret-value",
    "aws:region": "us-west-2",
}


@dataclass
class Registered:
    type: str
    name: str
    inputs: dict[str, Any]


class Mocks(pulumi.runtime.Mocks):
    """Resources answer with their inputs plus the computed outputs the program reads."""

    def __init__(self) -> None:
        self.resources: list[Registered] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(Registered(args.typ, args.name, dict(args.inputs)))
        arn = f"arn:aws:{args.typ.split(':')[1].split('/')[0]}:us-west-2:111122223333:{args.name}"
        state: dict[str, Any] = {
            **args.inputs,
            "arn": arn,
            "name": args.inputs.get("name", args.name),
            "id": f"{args.name}-id",
        }
        if args.typ == "aws:acm/certificate:Certificate":
            state["domainValidationOptions"] = [
                {
                    "domainName": args.inputs["domainName"],
                    "resourceRecordName": "_x.sreops.example.com.",
                    "resourceRecordType": "CNAME",
                    "resourceRecordValue": "_y.acm-validations.aws.",
                }
            ]
        if args.typ == "aws:eks/cluster:Cluster":
            state["identities"] = [{"oidcs": [{"issuer": "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE"}]}]
        if args.typ == "aws:lb/loadBalancer:LoadBalancer":
            state.update(
                dnsName="sreops-alb.us-west-2.elb.amazonaws.com", zoneId="Z1H1FL5HABSF5", arnSuffix="app/sreops/1"
            )
        if args.typ == "aws:lb/targetGroup:TargetGroup":
            state["arnSuffix"] = "targetgroup/sreops/1"
        if args.typ == "aws:route53/record:Record":
            state["fqdn"] = args.inputs["name"]
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {
                "names": ["us-west-2a", "us-west-2b", "us-west-2c"],
                "zoneIds": ["usw2-az1", "usw2-az2", "usw2-az3"],
            }, []
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": "111122223333", "arn": "arn:aws:iam::111122223333:user/ci", "userId": "AIDA"}, []
        raise AssertionError(f"the program called {args.token}, which these mocks do not answer")


@pytest.fixture(scope="module")
def resources() -> Iterator[list[Registered]]:
    # Pulumi's runtime makes Futures on the current event loop; an earlier test file in the same process (an
    # asyncio test, under pytest-xdist) may have left none set, so this module brings its own.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    mocks = Mocks()
    pulumi.runtime.set_mocks(mocks, project="sreops", stack="test", preview=False)
    pulumi.runtime.set_all_config(CONFIG, secret_keys=["sreops:slackSigningSecret"])
    sys.path.insert(0, str(PROGRAM))
    try:

        @pulumi.runtime.test
        def run() -> pulumi.Output[Any]:
            runpy.run_path(str(PROGRAM / "__main__.py"), run_name="__main__")
            return pulumi.Output.from_input(True)

        run()
        yield mocks.resources
    finally:
        sys.path.remove(str(PROGRAM))
        for module in ("network", "edge", "waf", "gateway_service", "cluster", "monitoring", "audit"):
            sys.modules.pop(module, None)
        asyncio.set_event_loop(None)
        loop.close()


def _of(resources: list[Registered], type_: str) -> list[Registered]:
    return [r for r in resources if r.type == type_]


def _one(resources: list[Registered], type_: str) -> Registered:
    (found,) = _of(resources, type_)
    return found


def test_every_component_is_there(resources: list[Registered]) -> None:
    components = {r.type for r in resources if r.type.startswith("sreops:hosting:")}
    assert components == {
        f"sreops:hosting:{c}" for c in ("Network", "Edge", "Waf", "GatewayService", "Cluster", "Monitoring", "Audit")
    }


def test_network_spans_two_azs(resources: list[Registered]) -> None:
    assert _one(resources, "aws:ec2/vpc:Vpc").inputs["cidrBlock"] == "10.0.0.0/16"
    subnets = _of(resources, "aws:ec2/subnet:Subnet")
    assert len(subnets) == 2 and {s.inputs["availabilityZone"] for s in subnets} == {"us-west-2a", "us-west-2b"}
    assert _of(resources, "aws:ec2/internetGateway:InternetGateway")
    assert not _of(resources, "aws:ec2/natGateway:NatGateway"), "private subnets and NAT are opt-in"


def test_no_security_group_opens_the_gateway_port_to_the_internet(resources: list[Registered]) -> None:
    open_ports = set()
    for group in _of(resources, "aws:ec2/securityGroup:SecurityGroup"):
        for rule in group.inputs.get("ingress", []):
            public = {"0.0.0.0/0"} & set(rule.get("cidrBlocks", [])) or {"::/0"} & set(rule.get("ipv6CidrBlocks", []))
            if public:
                open_ports |= set(range(int(rule["fromPort"]), int(rule["toPort"]) + 1))
    assert open_ports == {80, 443}
    tasks = next(g for g in _of(resources, "aws:ec2/securityGroup:SecurityGroup") if "tasks" in g.name)
    (rule,) = tasks.inputs["ingress"]
    assert (rule["fromPort"], rule["toPort"]) == (8000, 8000) and rule["securityGroups"] and not rule.get("cidrBlocks")


def test_tls_is_modern_and_http_redirects(resources: list[Registered]) -> None:
    listeners = {r.inputs["port"]: r.inputs for r in _of(resources, "aws:lb/listener:Listener")}
    assert listeners[443]["protocol"] == "HTTPS"
    assert listeners[443]["sslPolicy"].startswith("ELBSecurityPolicy-TLS13-")
    assert listeners[80]["defaultActions"][0]["redirect"]["protocol"] == "HTTPS"
    assert _one(resources, "aws:acm/certificate:Certificate").inputs["validationMethod"] == "DNS"
    assert _one(resources, "aws:acm/certificateValidation:CertificateValidation").inputs["validationRecordFqdns"]
    assert _one(resources, "aws:lb/targetGroup:TargetGroup").inputs["healthCheck"]["path"] == "/health"


def test_waf_is_associated_with_the_alb_and_has_the_managed_rules(resources: list[Registered]) -> None:
    acl = _one(resources, "aws:wafv2/webAcl:WebAcl")
    association = _one(resources, "aws:wafv2/webAclAssociation:WebAclAssociation")
    alb = _one(resources, "aws:lb/loadBalancer:LoadBalancer")
    assert association.inputs["resourceArn"].endswith(alb.name) and association.inputs["webAclArn"].endswith(acl.name)
    groups = {
        r["statement"]["managedRuleGroupStatement"]["name"]
        for r in acl.inputs["rules"]
        if "managedRuleGroupStatement" in r["statement"]
    }
    assert groups == {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    }
    assert any("rateBasedStatement" in r["statement"] for r in acl.inputs["rules"])
    logging = _one(resources, "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration")
    assert logging.inputs["logDestinationConfigs"]


def test_gateway_service_shape_and_autoscaling_bounds(resources: list[Registered]) -> None:
    task = _one(resources, "aws:ecs/taskDefinition:TaskDefinition").inputs
    assert (task["cpu"], task["memory"], task["networkMode"]) == ("256", "512", "awsvpc")
    (container,) = json.loads(task["containerDefinitions"])
    assert container["logConfiguration"]["options"]["awslogs-group"] == "/ecs/sreops-gateway"
    assert {s["name"] for s in container["secrets"]} == {"SREOPS_SLACK_SIGNING_SECRET", "SREOPS_TEAMS_APP_PASSWORD"}
    assert "slack-signing-secret-value" not in task["containerDefinitions"], "secrets by reference, never inline"
    assert _one(resources, "aws:ecs/service:Service").inputs["desiredCount"] == 2
    target = _one(resources, "aws:appautoscaling/target:Target").inputs
    assert (target["minCapacity"], target["maxCapacity"]) == (1, 10)
    metrics = {
        p.inputs["targetTrackingScalingPolicyConfiguration"]["predefinedMetricSpecification"]["predefinedMetricType"]
        for p in _of(resources, "aws:appautoscaling/policy:Policy")
    }
    assert metrics == {"ECSServiceAverageCPUUtilization", "ECSServiceAverageMemoryUtilization"}
    assert len(_of(resources, "aws:secretsmanager/secret:Secret")) == 2


def test_roles_have_only_the_derived_actions(resources: list[Registered]) -> None:
    policies = {r.name: json.loads(r.inputs["policy"]) for r in _of(resources, "aws:iam/rolePolicy:RolePolicy")}
    operator = policies["sreops-operator"]
    actions = sorted(a for s in operator["Statement"] for a in s["Action"])
    assert actions == declared_actions()  # exactly what `sreops iam-policy` prints
    trust = json.loads(
        next(r for r in _of(resources, "aws:iam/role:Role") if r.name == "sreops-operator").inputs["assumeRolePolicy"]
    )
    condition = trust["Statement"][0]["Condition"]["StringEquals"]
    assert "system:serviceaccount:sreops:sreops-operator" in condition.values()
    # The gateway's task role has no policy at all; its execution role reads only its two secrets.
    attached = {r.inputs["role"] for r in _of(resources, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")}
    assert not any(name.startswith("sreops-task") for name in attached)
    assert set(policies) == {"sreops-operator", "sreops-execution-secrets"}
    (secret_statement,) = policies["sreops-execution-secrets"]["Statement"]
    assert secret_statement["Action"] == ["secretsmanager:GetSecretValue"] and "*" not in secret_statement["Resource"]


def test_buckets_are_encrypted_and_private(resources: list[Registered]) -> None:
    buckets = _of(resources, "aws:s3/bucket:Bucket")
    assert buckets
    for bucket in buckets:
        block = next(
            r
            for r in _of(resources, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
            if r.inputs["bucket"] == f"{bucket.name}-id"
        )
        assert all(
            block.inputs[k]
            for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        )
        sse = next(
            r
            for r in _of(
                resources, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
            )
            if r.inputs["bucket"] == f"{bucket.name}-id"
        )
        assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
        assert "acl" not in bucket.inputs or bucket.inputs["acl"] == "private"
    trail = _one(resources, "aws:cloudtrail/trail:Trail").inputs
    assert trail["isMultiRegionTrail"] and trail["enableLogFileValidation"] and trail["kmsKeyId"]


def test_alarms_go_to_sns_with_email_and_https(resources: list[Registered]) -> None:
    topic = _one(resources, "aws:sns/topic:Topic")
    protocols = {s.inputs["protocol"] for s in _of(resources, "aws:sns/topicSubscription:TopicSubscription")}
    assert protocols == {"email", "https"}
    alarms = {
        (a.inputs["namespace"], a.inputs["metricName"])
        for a in _of(resources, "aws:cloudwatch/metricAlarm:MetricAlarm")
    }
    assert alarms >= {
        ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count"),
        ("AWS/ApplicationELB", "UnHealthyHostCount"),
        ("AWS/WAFV2", "BlockedRequests"),
        ("AWS/ECS", "CPUUtilization"),
        ("AWS/ECS", "MemoryUtilization"),
    }
    for alarm in _of(resources, "aws:cloudwatch/metricAlarm:MetricAlarm"):
        assert alarm.inputs["alarmActions"] == [f"arn:aws:sns:us-west-2:111122223333:{topic.name}"]


def test_children_are_parented_and_pulumi_folder_is_no_package() -> None:
    assert not (PROGRAM / "__init__.py").exists()
    for module in PROGRAM.glob("*.py"):
        text = module.read_text()
        if "ComponentResource" in text:
            assert "register_outputs" in text and "parent=self" in text, module.name
