"""Edge: the ALB in front of the gateway, its ACM certificate validated through Route53, HTTPS with a modern
TLS policy, HTTP redirected to HTTPS; security groups: the ALB takes 80/443 from the internet, the tasks take
8000 from the ALB only."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"  # TLS 1.3 and 1.2 with forward secrecy only
GATEWAY_PORT = 8000


@dataclass
class EdgeArgs:
    vpc_id: pulumi.Input[str]
    subnet_ids: list[pulumi.Input[str]]
    domain: str
    hosted_zone_id: str


class Edge(pulumi.ComponentResource):
    def __init__(self, name: str, args: EdgeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("sreops:hosting:Edge", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        everywhere = {"cidr_blocks": ["0.0.0.0/0"], "ipv6_cidr_blocks": ["::/0"]}
        self.alb_sg = aws.ec2.SecurityGroup(
            f"{name}-alb",
            vpc_id=args.vpc_id,
            description="sreops ALB: HTTP and HTTPS from the internet",
            ingress=[
                {"protocol": "tcp", "from_port": 443, "to_port": 443, **everywhere, "description": "HTTPS"},
                {"protocol": "tcp", "from_port": 80, "to_port": 80, **everywhere, "description": "HTTP (redirected)"},
            ],
            egress=[{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}],
            opts=child,
        )
        self.task_sg = aws.ec2.SecurityGroup(
            f"{name}-tasks",
            vpc_id=args.vpc_id,
            description="sreops gateway tasks: port 8000 from the ALB only",
            ingress=[
                {
                    "protocol": "tcp",
                    "from_port": GATEWAY_PORT,
                    "to_port": GATEWAY_PORT,
                    "security_groups": [self.alb_sg.id],
                    "description": "the gateway, from the ALB",
                }
            ],
            # Out: Kubernetes API, Slack, Teams, Secrets Manager and CloudWatch, all over HTTPS.
            egress=[{"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": ["0.0.0.0/0"]}],
            opts=child,
        )
        self.alb = aws.lb.LoadBalancer(
            f"{name}-alb",
            load_balancer_type="application",
            security_groups=[self.alb_sg.id],
            subnets=args.subnet_ids,
            drop_invalid_header_fields=True,
            idle_timeout=60,
            opts=child,
        )
        self.target_group = aws.lb.TargetGroup(
            f"{name}-gateway",
            port=GATEWAY_PORT,
            protocol="HTTP",
            target_type="ip",
            vpc_id=args.vpc_id,
            deregistration_delay=15,
            health_check={"path": "/health", "matcher": "200", "interval": 15, "healthy_threshold": 2},
            opts=child,
        )
        cert = aws.acm.Certificate(f"{name}-cert", domain_name=args.domain, validation_method="DNS", opts=child)
        option = cert.domain_validation_options[0]
        record = aws.route53.Record(
            f"{name}-cert-validation",
            zone_id=args.hosted_zone_id,
            name=option.resource_record_name,
            type=option.resource_record_type,
            records=[option.resource_record_value],
            ttl=60,
            allow_overwrite=True,
            opts=child,
        )
        validation = aws.acm.CertificateValidation(
            f"{name}-cert", certificate_arn=cert.arn, validation_record_fqdns=[record.fqdn], opts=child
        )
        self.https = aws.lb.Listener(
            f"{name}-https",
            load_balancer_arn=self.alb.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=TLS_POLICY,
            certificate_arn=validation.certificate_arn,
            default_actions=[{"type": "forward", "target_group_arn": self.target_group.arn}],
            opts=child,
        )
        aws.lb.Listener(
            f"{name}-http",
            load_balancer_arn=self.alb.arn,
            port=80,
            protocol="HTTP",
            default_actions=[
                {"type": "redirect", "redirect": {"port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"}}
            ],
            opts=child,
        )
        aws.route53.Record(
            f"{name}-alias",
            zone_id=args.hosted_zone_id,
            name=args.domain,
            type="A",
            aliases=[{"name": self.alb.dns_name, "zone_id": self.alb.zone_id, "evaluate_target_health": True}],
            opts=child,
        )
        self.register_outputs({"albDnsName": self.alb.dns_name})
