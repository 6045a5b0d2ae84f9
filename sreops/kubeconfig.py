"""The user's kubeconfig, as kubectl reads it, for the `sreops` commands that talk to Kubernetes directly.

`--kubeconfig FILE` (default: $KUBECONFIG, else ~/.kube/config) and `--context NAME` (default: the current
context). The namespace a command uses when it is given no `-n` is the context's, else `default`.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

DEFAULT_NAMESPACE = "default"


class KubeconfigError(Exception):
    """No usable kubeconfig; one line for stderr."""


@dataclass
class Kube:
    api: client.ApiClient
    namespace: str | None  # the context's namespace, if it names one

    def namespace_or_default(self, namespace: str | None) -> str:
        return namespace or self.namespace or DEFAULT_NAMESPACE


def load(kubeconfig: str | None = None, context: str | None = None) -> Kube:
    """A client for the context (the current one unless named) and that context's namespace."""
    try:
        api: client.ApiClient = config.new_client_from_config(config_file=kubeconfig, context=context)
        contexts, current = config.list_kube_config_contexts(config_file=kubeconfig)
    except (ConfigException, OSError) as exc:
        raise KubeconfigError(f"no usable kubeconfig: {' '.join(str(exc).split())}") from None
    chosen = next((c for c in contexts or [] if c.get("name") == context), None) if context else current
    namespace = ((chosen or {}).get("context") or {}).get("namespace")
    return Kube(api, str(namespace) if namespace else None)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Kubernetes connection")
    group.add_argument(
        "--kubeconfig", metavar="FILE", help="kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)"
    )
    group.add_argument("--context", metavar="NAME", help="kubeconfig context (default: the current context)")


def from_args(args: argparse.Namespace) -> Kube:
    return load(getattr(args, "kubeconfig", None), getattr(args, "context", None))
