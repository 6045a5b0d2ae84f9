"""GatewayService: the sreops gateway on ECS Fargate behind the ALB: 256 CPU / 512 MB tasks in awsvpc mode,
2 desired, autoscaled 1-10 on CPU and memory, health-checked on /health, logs in /ecs/sreops-gateway, secrets
from Secrets Manager (the task role has no AWS permission: the gateway calls only Kubernetes, Slack and Teams)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
from edge import GATEWAY_PORT

LOG_GROUP = "/ecs/sreops-gateway"
ASSUME_ECS = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


@dataclass
class GatewayServiceArgs:
    image: str
    subnet_ids: list[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    target_group_arn: pulumi.Input[str]
    slack_signing_secret: pulumi.Input[str]
    teams_app_password: pulumi.Input[str]
    assign_public_ip: bool = True  # public subnets without NAT need it to reach Slack/Teams/Kubernetes
    cpu: int = 256
    memory: int = 512
    desired: int = 2
    min_tasks: int = 1
    max_tasks: int = 10
    environment: dict[str, str] = field(default_factory=dict)


class GatewayService(pulumi.ComponentResource):
    def __init__(self, name: str, args: GatewayServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("sreops:hosting:GatewayService", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.cluster = aws.ecs.Cluster(
            f"{name}-cluster", settings=[{"name": "containerInsights", "value": "enabled"}], opts=child
        )
        logs = aws.cloudwatch.LogGroup(f"{name}-logs", name=LOG_GROUP, retention_in_days=30, opts=child)
        secrets = {}
        for key, value in (
            ("slack-signing-secret", args.slack_signing_secret),
            ("teams-app-password", args.teams_app_password),
        ):
            secret = aws.secretsmanager.Secret(f"{name}-{key}", name=f"sreops/gateway/{key}", opts=child)
            aws.secretsmanager.SecretVersion(f"{name}-{key}", secret_id=secret.id, secret_string=value, opts=child)
            secrets[key] = secret
        self.execution_role = aws.iam.Role(f"{name}-execution", assume_role_policy=ASSUME_ECS, opts=child)
        aws.iam.RolePolicyAttachment(
            f"{name}-execution",
            role=self.execution_role.name,
            policy_arn="arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-execution-secrets",
            role=self.execution_role.id,
            policy=pulumi.Output.all(*(s.arn for s in secrets.values())).apply(
                lambda arns: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": arns}
                        ],
                    }
                )
            ),
            opts=child,
        )
        # The task role: no policy at all.
        self.task_role = aws.iam.Role(f"{name}-task", assume_role_policy=ASSUME_ECS, opts=child)
        container = pulumi.Output.all(
            logs.name, secrets["slack-signing-secret"].arn, secrets["teams-app-password"].arn
        ).apply(
            lambda v: json.dumps(
                [
                    {
                        "name": "gateway",
                        "image": args.image,
                        "command": ["gateway", f"--port={GATEWAY_PORT}"],
                        "essential": True,
                        "readonlyRootFilesystem": True,
                        "user": "10001:10001",
                        "portMappings": [{"containerPort": GATEWAY_PORT, "protocol": "tcp"}],
                        "environment": [{"name": k, "value": val} for k, val in sorted(args.environment.items())],
                        "secrets": [
                            {"name": "SREOPS_SLACK_SIGNING_SECRET", "valueFrom": v[1]},
                            {"name": "SREOPS_TEAMS_APP_PASSWORD", "valueFrom": v[2]},
                        ],
                        "logConfiguration": {
                            "logDriver": "awslogs",
                            "options": {
                                "awslogs-group": v[0],
                                "awslogs-region": aws.config.region or "us-west-2",
                                "awslogs-stream-prefix": "gateway",
                            },
                        },
                        "healthCheck": {
                            "command": ["CMD", "python", "-P", "-m", "sreops.healthcheck"],
                            "interval": 30,
                            "timeout": 5,
                            "retries": 3,
                            "startPeriod": 30,
                        },
                        "mountPoints": [{"sourceVolume": "tmp", "containerPath": "/tmp"}],  # noqa: S108 - a private volume
                    }
                ]
            )
        )
        self.task = aws.ecs.TaskDefinition(
            f"{name}-task",
            family="sreops-gateway",
            cpu=str(args.cpu),
            memory=str(args.memory),
            network_mode="awsvpc",
            requires_compatibilities=["FARGATE"],
            execution_role_arn=self.execution_role.arn,
            task_role_arn=self.task_role.arn,
            container_definitions=container,
            volumes=[{"name": "tmp"}],
            runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": "X86_64"},
            opts=child,
        )
        self.service = aws.ecs.Service(
            f"{name}-service",
            cluster=self.cluster.arn,
            task_definition=self.task.arn,
            desired_count=args.desired,
            launch_type="FARGATE",
            health_check_grace_period_seconds=30,
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=200,
            deployment_circuit_breaker={"enable": True, "rollback": True},
            network_configuration={
                "subnets": args.subnet_ids,
                "security_groups": [args.security_group_id],
                "assign_public_ip": args.assign_public_ip,
            },
            load_balancers=[
                {"target_group_arn": args.target_group_arn, "container_name": "gateway", "container_port": GATEWAY_PORT}
            ],
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["desiredCount"]),  # autoscaling owns it
        )
        resource_id = pulumi.Output.concat("service/", self.cluster.name, "/", self.service.name)
        self.scaling = aws.appautoscaling.Target(
            f"{name}-scaling",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=resource_id,
            min_capacity=args.min_tasks,
            max_capacity=args.max_tasks,
            opts=child,
        )
        for metric, target in (("ECSServiceAverageCPUUtilization", 60), ("ECSServiceAverageMemoryUtilization", 75)):
            aws.appautoscaling.Policy(
                f"{name}-{metric.removeprefix('ECSServiceAverage').lower()}",
                policy_type="TargetTrackingScaling",
                service_namespace=self.scaling.service_namespace,
                scalable_dimension=self.scaling.scalable_dimension,
                resource_id=self.scaling.resource_id,
                target_tracking_scaling_policy_configuration={
                    "target_value": target,
                    "predefined_metric_specification": {"predefined_metric_type": metric},
                    "scale_in_cooldown": 120,
                    "scale_out_cooldown": 60,
                },
                opts=child,
            )
        self.register_outputs({"clusterName": self.cluster.name, "serviceName": self.service.name})
