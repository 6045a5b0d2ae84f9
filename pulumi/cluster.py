"""Cluster: EKS for the operator, its OIDC provider, and the operator's IRSA role whose policy is the one
`sreops iam-policy` derives from the code (operator/aws/permissions.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from sreops.operator.aws.permissions import iam_policy


def _assume(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


@dataclass
class ClusterArgs:
    subnet_ids: list[pulumi.Input[str]]
    version: str = "1.31"
    namespace: str = "sreops"
    service_account: str = "sreops-operator"
    node_instance_type: str = "t3.medium"
    nodes: int = 2


class Cluster(pulumi.ComponentResource):
    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("sreops:hosting:Cluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(f"{name}-cluster", assume_role_policy=_assume("eks.amazonaws.com"), opts=child)
        aws.iam.RolePolicyAttachment(
            f"{name}-cluster", role=role.name, policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy", opts=child
        )
        self.cluster = aws.eks.Cluster(
            f"{name}-eks",
            role_arn=role.arn,
            version=args.version,
            vpc_config={"subnet_ids": args.subnet_ids, "endpoint_public_access": True, "endpoint_private_access": True},
            enabled_cluster_log_types=["api", "audit", "authenticator"],
            opts=child,
        )
        node_role = aws.iam.Role(f"{name}-nodes", assume_role_policy=_assume("ec2.amazonaws.com"), opts=child)
        for policy in ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"):
            aws.iam.RolePolicyAttachment(
                f"{name}-nodes-{policy}",
                role=node_role.name,
                policy_arn=f"arn:aws:iam::aws:policy/{policy}",
                opts=child,
            )
        aws.eks.NodeGroup(
            f"{name}-nodes",
            cluster_name=self.cluster.name,
            node_role_arn=node_role.arn,
            subnet_ids=args.subnet_ids,
            instance_types=[args.node_instance_type],
            scaling_config={"desired_size": args.nodes, "min_size": 1, "max_size": args.nodes + 1},
            opts=child,
        )
        issuer = self.cluster.identities[0].oidcs[0].issuer
        self.oidc = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=issuer,
            client_id_lists=["sts.amazonaws.com"],
            opts=child,
        )
        subject = f"system:serviceaccount:{args.namespace}:{args.service_account}"
        trust = pulumi.Output.all(self.oidc.arn, issuer).apply(lambda v: _irsa_trust(v[0], v[1], subject))
        self.operator_role = aws.iam.Role(f"{name}-operator", assume_role_policy=trust, opts=child)
        self.operator_policy = aws.iam.RolePolicy(
            f"{name}-operator", role=self.operator_role.id, policy=json.dumps(iam_policy()), opts=child
        )
        self.register_outputs({"clusterName": self.cluster.name, "operatorRoleArn": self.operator_role.arn})


def _irsa_trust(provider_arn: str, issuer: str, subject: str) -> str:
    host = issuer.removeprefix("https://")
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{host}:sub": subject, f"{host}:aud": "sts.amazonaws.com"}},
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})
