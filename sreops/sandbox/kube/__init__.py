"""A Kubernetes API server stand-in for the sandbox and the tests (kubectl 1.32, kopf, `kubernetes`).

Entry points: `KubeServer(state_dir, host, port)` with `start()`/`stop()` or `start_in_thread()`
(server.py), and `sreops sandbox kube` (cli.py). Modules: store.py (objects, resourceVersions, watch
history, persistence), operations.py (verb semantics), validation.py (schema, CEL, pruning, defaults),
patching.py, watch.py, tables.py + jsonpath.py, discovery.py, openapi.py, gc.py (garbage collection,
namespace and CRD cleanup), conversion.py (the two Event APIs over one storage), protobuf.py
(kubectl's typed create bodies), tls.py, selectors.py.

Known differences from kube-apiserver: https only, one bearer token, no RBAC (authorization is
all-or-nothing); no aggregated discovery (kubectl falls back to the legacy documents), no protobuf
responses and no protobuf form of /openapi/v2; server-side apply without managedFields or conflict
detection; LIST pagination is not snapshot-consistent; CEL without the Kubernetes extension
libraries; one watch history window for all resources (busy kinds push others' old versions out
sooner than per-resource watch caches would); items of built-in lists carry kind and apiVersion (the
real server omits them); a terminating namespace gets no status conditions.
"""

from .server import KubeServer, ThreadHandle

__all__ = ["KubeServer", "ThreadHandle"]
