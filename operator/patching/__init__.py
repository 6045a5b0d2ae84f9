"""PatchPolicy work in AWS: the desired SSM resources, converging them, and fleet compliance."""
