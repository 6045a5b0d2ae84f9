"""A wait for another object: the reference names something that does not exist yet or is not usable yet.

Kubernetes is eventually consistent: `kubectl apply -f dir/`, a Helm release or a GitOps sync creates objects
in any order. A missing AWSAccount, Secret or PatchPolicy is therefore not an invalid spec: the object gets
`Ready=False` with the wait's reason, nothing is sent to AWS, and it is reconciled again as soon as the
reference appears (controllers/references.py), with a backoff retry as a safety net.
"""

from __future__ import annotations


class WaitingError(Exception):
    """`reason` is one of reasons.WAITING; `message` says what is awaited (never a secret value)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
