"""EC2: the tags of instances (DescribeInstanceInformation does not return them; compliance filters by them)."""

from __future__ import annotations

from typing import Any

from sreops.operator.aws.permissions import requires

Ec2Client = Any  # a boto3 "ec2" client
TAGS_PER_PAGE = 1000  # DescribeTags' largest page


@requires("ec2:DescribeTags")
def instance_tags(ec2: Ec2Client) -> dict[str, dict[str, str]]:
    """The tags of every instance in the region, by instance id (untagged instances are absent)."""
    tags: dict[str, dict[str, str]] = {}
    pages = ec2.get_paginator("describe_tags").paginate(
        Filters=[{"Name": "resource-type", "Values": ["instance"]}], PaginationConfig={"PageSize": TAGS_PER_PAGE}
    )
    for page in pages:
        for tag in page.get("Tags") or []:
            tags.setdefault(str(tag["ResourceId"]), {})[str(tag["Key"])] = str(tag.get("Value") or "")
    return tags
