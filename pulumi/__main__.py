"""sreops' AWS hosting (Pulumi.yaml: `main: pulumi/`): the network, the ALB with TLS and WAF, the gateway on ECS
Fargate, EKS with the operator's IRSA role, alarms and the CloudTrail audit. Configuration per stack
(Pulumi.<stack>.yaml, namespace `sreops:`); secrets only through `config.get_secret`. docs/deploy.md."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
from audit import Audit, AuditArgs
from cluster import Cluster, ClusterArgs
from edge import Edge, EdgeArgs
from gateway_service import GatewayService, GatewayServiceArgs
from monitoring import Monitoring, MonitoringArgs
from network import Network, NetworkArgs
from waf import Waf, WafArgs

config = pulumi.Config("sreops")
name = config.get("name") or "sreops"
azs = aws.get_availability_zones(state="available").names[:2]

network = Network(
    name, NetworkArgs(name=name, azs=(azs[0], azs[1]), private_subnets=config.get_bool("privateSubnets") or False)
)
public_ids = [s.id for s in network.public_subnets]
workload_ids = [s.id for s in network.workload_subnets]
edge = Edge(
    name,
    EdgeArgs(
        vpc_id=network.vpc.id,
        subnet_ids=public_ids,
        domain=config.require("domain"),
        hosted_zone_id=config.require("hostedZoneId"),
    ),
)
waf = Waf(name, WafArgs(alb_arn=edge.alb.arn, rate_limit=config.get_int("wafRateLimit") or 2000))
cluster = Cluster(name, ClusterArgs(subnet_ids=workload_ids, version=config.get("clusterVersion") or "1.31"))
gateway = GatewayService(
    name,
    GatewayServiceArgs(
        image=config.require("image"),
        subnet_ids=workload_ids,
        security_group_id=edge.task_sg.id,
        target_group_arn=edge.target_group.arn,
        slack_signing_secret=config.require_secret("slackSigningSecret"),
        teams_app_password=config.get_secret("teamsAppPassword") or pulumi.Output.secret("unset"),
        assign_public_ip=not network.private_subnets,
        environment={"SREOPS_TEAMS_APP_ID": config.get("teamsAppId") or ""},
    ),
    opts=pulumi.ResourceOptions(depends_on=[edge.https]),
)
monitoring = Monitoring(
    name,
    MonitoringArgs(
        alb_arn_suffix=edge.alb.arn_suffix,
        target_group_arn_suffix=edge.target_group.arn_suffix,
        web_acl_name=waf.acl.name,
        ecs_cluster_name=gateway.cluster.name,
        ecs_service_name=gateway.service.name,
        email=config.require("alarmEmail"),
        https_endpoint=config.get("alarmHttpsEndpoint") or "",
    ),
)
audit = Audit(name, AuditArgs(name=name))

pulumi.export("url", f"https://{config.require('domain')}")
pulumi.export("albDnsName", edge.alb.dns_name)
pulumi.export("eksCluster", cluster.cluster.name)
pulumi.export("operatorRoleArn", cluster.operator_role.arn)
pulumi.export("alarmTopicArn", monitoring.topic.arn)
pulumi.export("auditBucket", audit.bucket.id)
