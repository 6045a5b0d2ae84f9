"""Network: a VPC over two availability zones, public subnets with an internet gateway, private subnets behind a
NAT gateway when asked for."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass
class NetworkArgs:
    name: str
    cidr: str = "10.0.0.0/16"
    azs: tuple[str, str] = ("us-west-2a", "us-west-2b")
    public_cidrs: tuple[str, str] = ("10.0.0.0/20", "10.0.16.0/20")
    private_cidrs: tuple[str, str] = ("10.0.128.0/20", "10.0.144.0/20")
    private_subnets: bool = False


class Network(pulumi.ComponentResource):
    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("sreops:hosting:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = {"Name": args.name, "sreops.io/component": "network"}
        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=tags,
            opts=child,
        )
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=self.vpc.id, tags=tags, opts=child)
        public_rt = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=self.vpc.id,
            routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": igw.id}],
            tags=tags,
            opts=child,
        )
        self.public_subnets = []
        for i, (az, cidr) in enumerate(zip(args.azs, args.public_cidrs, strict=True)):
            subnet = aws.ec2.Subnet(
                f"{name}-public-{i}",
                vpc_id=self.vpc.id,
                cidr_block=cidr,
                availability_zone=az,
                map_public_ip_on_launch=False,  # nothing public but the ALB, which has its own addresses
                tags={**tags, "kubernetes.io/role/elb": "1"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{i}", subnet_id=subnet.id, route_table_id=public_rt.id, opts=child
            )
            self.public_subnets.append(subnet)
        self.private_subnets = []
        if args.private_subnets:
            eip = aws.ec2.Eip(f"{name}-nat", domain="vpc", tags=tags, opts=child)
            nat = aws.ec2.NatGateway(
                f"{name}-nat", allocation_id=eip.id, subnet_id=self.public_subnets[0].id, tags=tags, opts=child
            )
            private_rt = aws.ec2.RouteTable(
                f"{name}-private",
                vpc_id=self.vpc.id,
                routes=[{"cidr_block": "0.0.0.0/0", "nat_gateway_id": nat.id}],
                tags=tags,
                opts=child,
            )
            for i, (az, cidr) in enumerate(zip(args.azs, args.private_cidrs, strict=True)):
                subnet = aws.ec2.Subnet(
                    f"{name}-private-{i}",
                    vpc_id=self.vpc.id,
                    cidr_block=cidr,
                    availability_zone=az,
                    tags={**tags, "kubernetes.io/role/internal-elb": "1"},
                    opts=child,
                )
                aws.ec2.RouteTableAssociation(
                    f"{name}-private-{i}", subnet_id=subnet.id, route_table_id=private_rt.id, opts=child
                )
                self.private_subnets.append(subnet)
        # Tasks and nodes go to the private subnets when there are some, else to the public ones (no public IP
        # on the tasks' security group but from the ALB; see Edge).
        self.workload_subnets = self.private_subnets or self.public_subnets
        self.register_outputs({"vpcId": self.vpc.id})
