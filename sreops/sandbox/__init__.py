"""The local sandbox: stand-ins for Kubernetes, AWS, Slack and Teams, and `sreops sandbox`."""
