"""A Kubernetes API server stand-in for the sandbox and the tests (kubectl 1.32, kopf, `kubernetes`).

Entry points: `KubeServer(state_dir, host, port)` with `start()`/`stop()` or `start_in_thread()`
(server.py), and `sreops sandbox kube` (cli.py). Modules: store.py (objects, resourceVersions, watch
history, persistence), operations.py (verb semantics), validation.py (schema, CEL, pruning, defaults),
patching.py, watch.py, tables.py + jsonpath.py, discovery.py, openapi.py, gc.py (garbage collection,
namespace and CRD cleanup), conversion.py (the two Event APIs over one storage), protobuf.py
(kubectl's typed create bodies), tls.py, selectors.py, authn.py (tokens, impersonation), rbac.py
(request attributes, the RBAC authorizer, the 403, RBAC object validation, the bootstrap policy),
audit.py (an audit.k8s.io/v1 log), workloads.py (Deployment, Service, ServiceAccount, Pod,
PodDisruptionBudget, NetworkPolicy, Ingress: generation, status on create).

Known differences from kube-apiserver: https only; bearer tokens only (the sandbox's admin token and
a --token-auth-file; no client certificates, service-account tokens or OIDC); anonymous requests only
to /version, /healthz, /livez, /readyz (401 elsewhere); authorization is system:masters + RBAC only
(no Node or webhook authorizers); ClusterRole aggregationRule is stored but never aggregated, so
there are no admin/edit/view roles; no RBAC escalation check (the `escalate` and `bind` verbs are
not consulted: whoever may write roles or bindings may grant anything); bootstrap roles are created
when missing at start-up but never reconciled; typed `kubectl create role|rolebinding|...` sends
protobuf, which is 415 here (`kubectl apply` works); no aggregated discovery (kubectl falls back to
the legacy documents), no protobuf responses and no protobuf form of /openapi/v2; server-side apply
without managedFields or conflict detection; LIST pagination is not snapshot-consistent; CEL without
the Kubernetes extension libraries; one watch history window for all resources (busy kinds push
others' old versions out sooner than per-resource watch caches would); items of built-in lists carry
kind and apiVersion (the real server omits them); a terminating namespace gets no status conditions.
The workload kinds (workloads.py) are stored, listed, watched and applied but nothing runs them: no
scheduler, kubelet or controllers, so a Deployment stays at 0 ready replicas (status `{}`), a Pod stays
Pending, no ReplicaSets, endpoints or ServiceAccount tokens appear, and deleting a Deployment leaves no
Pods to collect; they are not validated beyond the object's shape (no field or unknown-field checks, so
`fieldValidation=Strict` is not enforced for them), get none of the real defaults (no clusterIP
allocation, no `spec.replicas: 1`, no pod-spec defaults), their immutable fields (selector, Pod spec,
clusterIP) can be changed; server-side apply replaces their lists (strategic merge merges containers,
env, volumes and volumeMounts by their keys, ports are replaced); no Deployment /scale and no Pod log,
exec, eviction, binding or ephemeralcontainers.
"""

from .server import KubeServer, ThreadHandle

__all__ = ["KubeServer", "ThreadHandle"]
