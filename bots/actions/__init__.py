"""What chat commands, the HTTP API and the CLI do: Kubernetes reads and writes, made as the caller."""
