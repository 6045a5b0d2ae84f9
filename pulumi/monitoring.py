"""Monitoring: CloudWatch alarms on the ALB's 5xx and unhealthy targets, WAF blocked-request spikes and the
gateway service's CPU and memory, all to one SNS topic with an email and an HTTPS subscription."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass
class MonitoringArgs:
    alb_arn_suffix: pulumi.Input[str]
    target_group_arn_suffix: pulumi.Input[str]
    web_acl_name: pulumi.Input[str]
    ecs_cluster_name: pulumi.Input[str]
    ecs_service_name: pulumi.Input[str]
    email: str
    https_endpoint: str = ""
    blocked_per_5m: int = 500


class Monitoring(pulumi.ComponentResource):
    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("sreops:hosting:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.topic = aws.sns.Topic(f"{name}-alarms", kms_master_key_id="alias/aws/sns", opts=child)
        aws.sns.TopicSubscription(
            f"{name}-email", topic=self.topic.arn, protocol="email", endpoint=args.email, opts=child
        )
        if args.https_endpoint:
            aws.sns.TopicSubscription(
                f"{name}-https", topic=self.topic.arn, protocol="https", endpoint=args.https_endpoint, opts=child
            )
        alb = {"LoadBalancer": args.alb_arn_suffix}
        ecs = {"ClusterName": args.ecs_cluster_name, "ServiceName": args.ecs_service_name}
        alarms = [
            ("alb-5xx", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", alb, "Sum", 10, 300),
            ("target-5xx", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", alb, "Sum", 10, 300),
            (
                "unhealthy-targets",
                "AWS/ApplicationELB",
                "UnHealthyHostCount",
                {**alb, "TargetGroup": args.target_group_arn_suffix},
                "Maximum",
                0,
                60,
            ),
            (
                "waf-blocked",
                "AWS/WAFV2",
                "BlockedRequests",
                {"WebACL": args.web_acl_name, "Rule": "ALL", "Region": aws.config.region or "us-west-2"},
                "Sum",
                args.blocked_per_5m,
                300,
            ),
            ("ecs-cpu", "AWS/ECS", "CPUUtilization", ecs, "Average", 85, 300),
            ("ecs-memory", "AWS/ECS", "MemoryUtilization", ecs, "Average", 85, 300),
        ]
        self.alarms = []
        for short, namespace, metric, dimensions, statistic, threshold, period in alarms:
            self.alarms.append(
                aws.cloudwatch.MetricAlarm(
                    f"{name}-{short}",
                    namespace=namespace,
                    metric_name=metric,
                    dimensions=dimensions,
                    statistic=statistic,
                    period=period,
                    evaluation_periods=2,
                    threshold=threshold,
                    comparison_operator="GreaterThanThreshold",
                    treat_missing_data="notBreaching",
                    alarm_actions=[self.topic.arn],
                    ok_actions=[self.topic.arn],
                    opts=child,
                )
            )
        self.register_outputs({"topicArn": self.topic.arn})
