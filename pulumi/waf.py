"""Waf: AWS managed rule groups (common, known bad inputs, IP reputation), a rate-based rule per client IP,
logging to CloudWatch, associated with the ALB."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

MANAGED_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
)


@dataclass
class WafArgs:
    alb_arn: pulumi.Input[str]
    rate_limit: int = 2000  # requests per 5 minutes per client IP


def _visibility(metric: str) -> dict[str, object]:
    return {"cloudwatch_metrics_enabled": True, "metric_name": metric, "sampled_requests_enabled": True}


class Waf(pulumi.ComponentResource):
    def __init__(self, name: str, args: WafArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("sreops:hosting:Waf", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        rules: list[dict[str, object]] = [
            {
                "name": group,
                "priority": i,
                "override_action": {"none": {}},
                "statement": {"managed_rule_group_statement": {"name": group, "vendor_name": "AWS"}},
                "visibility_config": _visibility(group),
            }
            for i, group in enumerate(MANAGED_GROUPS)
        ]
        rules.append(
            {
                "name": "rate-per-ip",
                "priority": len(MANAGED_GROUPS),
                "action": {"block": {}},
                "statement": {"rate_based_statement": {"limit": args.rate_limit, "aggregate_key_type": "IP"}},
                "visibility_config": _visibility("rate-per-ip"),
            }
        )
        self.acl = aws.wafv2.WebAcl(
            f"{name}-acl",
            scope="REGIONAL",
            default_action={"allow": {}},
            rules=rules,
            visibility_config=_visibility(f"{name}-acl"),
            opts=child,
        )
        aws.wafv2.WebAclAssociation(f"{name}-alb", resource_arn=args.alb_arn, web_acl_arn=self.acl.arn, opts=child)
        # WAF logs only to log groups named aws-waf-logs-*.
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=f"aws-waf-logs-{name}", retention_in_days=90, opts=child
        )
        aws.wafv2.WebAclLoggingConfiguration(
            f"{name}-logging",
            resource_arn=self.acl.arn,
            log_destination_configs=[self.log_group.arn],
            redacted_fields=[
                {"single_header": {"name": "authorization"}},
                {"single_header": {"name": "x-slack-signature"}},
            ],
            opts=child,
        )
        self.register_outputs({"webAclArn": self.acl.arn})
