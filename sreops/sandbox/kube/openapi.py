"""OpenAPI v2 (`/openapi/v2`, JSON) and v3 (`/openapi/v3`, per group-version) documents.

Generated from the registry: CRD kinds publish their openAPIV3Schema (with `metadata` pointing at
ObjectMeta, as the real server does); built-ins publish small schemas with the fields used here.
Every PATCH and POST operation declares the `fieldValidation` query parameter and carries
`x-kubernetes-group-version-kind`: kubectl 1.32 looks for exactly that in the v3 document to decide
that the server validates fields itself (it then sends `fieldValidation=Strict` and skips
client-side schema validation, which would need the protobuf form of the v2 document).
`kubectl explain` reads the v3 document.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from .resources import Registry, ResourceType

Obj = dict[str, Any]

META = "io.k8s.apimachinery.pkg.apis.meta.v1"
OBJECT_META = f"{META}.ObjectMeta"
LIST_META = f"{META}.ListMeta"

_OBJECT_META_SCHEMA: Obj = {
    "description": "ObjectMeta is metadata that all persisted resources must have, which includes all objects "
    "users must create.",
    "type": "object",
    "properties": {
        "name": {"type": "string", "description": "Name must be unique within a namespace."},
        "generateName": {"type": "string", "description": "Prefix the server uses to generate a unique name."},
        "namespace": {
            "type": "string",
            "description": "Namespace defines the space within which each name must be unique.",
        },
        "uid": {"type": "string", "description": "UID is the unique in time and space value for this object."},
        "resourceVersion": {
            "type": "string",
            "description": "An opaque value that represents the internal version of this object.",
        },
        "generation": {
            "type": "integer",
            "format": "int64",
            "description": "A sequence number representing a specific generation of the desired state.",
        },
        "creationTimestamp": {"type": "string", "format": "date-time", "description": "Time the object was created."},
        "deletionTimestamp": {
            "type": "string",
            "format": "date-time",
            "description": "Time after which this resource will be deleted.",
        },
        "deletionGracePeriodSeconds": {
            "type": "integer",
            "format": "int64",
            "description": "Seconds allowed for graceful termination.",
        },
        "labels": {
            "type": "object",
            "additionalProperties": {"type": "string", "default": ""},
            "description": "Map of string keys and values that can be used to organize and categorize objects.",
        },
        "annotations": {
            "type": "object",
            "additionalProperties": {"type": "string", "default": ""},
            "description": "Unstructured key value map stored with a resource.",
        },
        "finalizers": {
            "type": "array",
            "items": {"type": "string", "default": ""},
            "x-kubernetes-list-type": "set",
            "x-kubernetes-patch-strategy": "merge",
            "description": "Must be empty before the object is deleted from the registry.",
        },
        "ownerReferences": {
            "type": "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["uid"],
            "x-kubernetes-patch-merge-key": "uid",
            "x-kubernetes-patch-strategy": "merge",
            "description": "List of objects depended by this object.",
            "items": {
                "type": "object",
                "required": ["apiVersion", "kind", "name", "uid"],
                "properties": {
                    "apiVersion": {"type": "string", "default": ""},
                    "kind": {"type": "string", "default": ""},
                    "name": {"type": "string", "default": ""},
                    "uid": {"type": "string", "default": ""},
                    "controller": {"type": "boolean"},
                    "blockOwnerDeletion": {"type": "boolean"},
                },
            },
        },
        "managedFields": {
            "type": "array",
            "items": {"type": "object"},
            "description": "Field ownership (not maintained by this stand-in).",
        },
    },
}

_LIST_META_SCHEMA: Obj = {
    "description": "ListMeta describes metadata that synthetic resources must have.",
    "type": "object",
    "properties": {
        "resourceVersion": {"type": "string"},
        "continue": {"type": "string"},
        "remainingItemCount": {"type": "integer", "format": "int64"},
    },
}

_STR_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_BUILTIN_SCHEMAS: dict[str, Obj] = {
    "Namespace": {
        "description": "Namespace provides a scope for Names.",
        "properties": {
            "spec": {"type": "object", "properties": {"finalizers": {"type": "array", "items": {"type": "string"}}}},
            "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
        },
    },
    "ConfigMap": {
        "description": "ConfigMap holds configuration data for pods to consume.",
        "properties": {"data": _STR_MAP, "binaryData": _STR_MAP, "immutable": {"type": "boolean"}},
    },
    "Secret": {
        "description": "Secret holds secret data of a certain type.",
        "properties": {
            "data": _STR_MAP,
            "stringData": _STR_MAP,
            "type": {"type": "string"},
            "immutable": {"type": "boolean"},
        },
    },
    "Event": {
        "description": "Event is a report of an event somewhere in the cluster.",
        "x-kubernetes-preserve-unknown-fields": True,
        "properties": {
            "involvedObject": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "regarding": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "reason": {"type": "string"},
            "message": {"type": "string"},
            "note": {"type": "string"},
            "type": {"type": "string"},
            "count": {"type": "integer", "format": "int32"},
        },
    },
    "Lease": {
        "description": "Lease defines a lease concept.",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "holderIdentity": {"type": "string"},
                    "leaseDurationSeconds": {"type": "integer", "format": "int32"},
                    "acquireTime": {"type": "string", "format": "date-time"},
                    "renewTime": {"type": "string", "format": "date-time"},
                    "leaseTransitions": {"type": "integer", "format": "int32"},
                },
            }
        },
    },
    # Workload kinds: the top-level fields only (the stand-in does not validate their contents; see workloads.py).
    **{
        kind: {
            "description": description,
            "properties": {
                name: {"type": "object", "x-kubernetes-preserve-unknown-fields": True} for name in ("spec", "status")
            },
        }
        for kind, description in (
            ("Deployment", "Deployment enables declarative updates for Pods and ReplicaSets."),
            ("Service", "Service is a named abstraction of software service (for example, mysql)."),
            ("Pod", "Pod is a collection of containers that can run on a host."),
            ("PodDisruptionBudget", "PodDisruptionBudget is an object to define the max disruption."),
            ("Ingress", "Ingress is a collection of rules that allow inbound connections to reach the endpoints."),
        )
    },
    "NetworkPolicy": {
        "description": "NetworkPolicy describes what network traffic is allowed for a set of Pods.",
        "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
    },
    "ServiceAccount": {
        "description": "ServiceAccount binds together a name, a principal and a set of secrets.",
        "properties": {
            "secrets": {"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
            "imagePullSecrets": {
                "type": "array",
                "items": {"type": "object", "properties": {"name": {"type": "string"}}},
            },
            "automountServiceAccountToken": {"type": "boolean"},
        },
    },
    "CustomResourceDefinition": {
        "description": "CustomResourceDefinition represents a resource that should be exposed on the API server.",
        "properties": {
            "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        },
    },
}


def definition_name(rt: ResourceType, kind: str | None = None) -> str:
    kind = kind or rt.kind
    if not rt.group:
        return f"io.k8s.api.core.{rt.version}.{kind}"
    if not rt.is_custom:
        short = rt.group.split(".")[0]
        prefix = "io.k8s.apiextensions-apiserver.pkg.apis" if short == "apiextensions" else "io.k8s.api"
        return f"{prefix}.{short}.{rt.version}.{kind}"
    return ".".join(reversed(rt.group.split("."))) + f".{rt.version}.{kind}"


def _gvk(rt: ResourceType, kind: str | None = None) -> Obj:
    return {"group": rt.group, "version": rt.version, "kind": kind or rt.kind}


def _kind_schema(rt: ResourceType, ref: str) -> Obj:
    if rt.schema is not None:
        schema = copy.deepcopy(rt.schema)
    else:
        base = _BUILTIN_SCHEMAS.get(rt.kind, {"properties": {}})
        schema = {"type": "object", **copy.deepcopy(base)}
    props = schema.setdefault("properties", {})
    props["apiVersion"] = {
        "type": "string",
        "description": "APIVersion defines the versioned schema of this representation of an object.",
    }
    props["kind"] = {
        "type": "string",
        "description": "Kind is a string value representing the REST resource this object represents.",
    }
    props["metadata"] = {
        "allOf": [{"$ref": f"{ref}{OBJECT_META}"}],
        "default": {},
        "description": "Standard object's metadata. More info: "
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
    }
    schema.setdefault("type", "object")
    schema["x-kubernetes-group-version-kind"] = [_gvk(rt)]
    return schema


def _list_schema(rt: ResourceType, ref: str) -> Obj:
    return {
        "type": "object",
        "description": f"{rt.kind}List is a list of {rt.kind}",
        "required": ["items"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "items": {"type": "array", "items": {"$ref": f"{ref}{definition_name(rt)}"}},
            "metadata": {"allOf": [{"$ref": f"{ref}{LIST_META}"}], "default": {}},
        },
        "x-kubernetes-group-version-kind": [_gvk(rt, rt.list_kind)],
    }


def _param(name: str, where: str, v3: bool, required: bool = False) -> Obj:
    base: Obj = {"name": name, "in": where, "uniqueItems": True}
    if required:
        base["required"] = True
    if v3:
        base["schema"] = {"type": "string"}
    else:
        base["type"] = "string"
    return base


def _operation(rt: ResourceType, action: str, op_id: str, ref: str, v3: bool, *, body: bool, params: list[str]) -> Obj:
    target = definition_name(rt, rt.list_kind if action == "list" else rt.kind)
    op: Obj = {
        "operationId": op_id,
        "description": f"{action} {rt.kind}",
        "tags": [rt.group or "core"],
        "parameters": [_param(p, "query", v3) for p in params],
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": _gvk(rt),
    }
    if v3:
        op["responses"] = {
            "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": f"{ref}{target}"}}}}
        }
        if body:
            # kubectl apply sends strategic merge only where the PATCH operation lists it (built-ins).
            media = ["application/json"]
            if action == "patch":
                media = ["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"]
                if rt.strategic_merge:
                    media.append("application/strategic-merge-patch+json")
            op["requestBody"] = {"content": {m: {"schema": {"type": "object"}} for m in media}, "required": True}
    else:
        op["responses"] = {"200": {"description": "OK", "schema": {"$ref": f"{ref}{target}"}}}
        if body:
            op["parameters"].append({"name": "body", "in": "body", "required": True, "schema": {"type": "object"}})
        op["consumes"] = ["application/json"]
        op["produces"] = ["application/json"]
    return op


def _paths(rt: ResourceType, ref: str, v3: bool) -> Obj:
    prefix = f"/apis/{rt.group}/{rt.version}" if rt.group else f"/api/{rt.version}"
    ns = "/namespaces/{namespace}" if rt.namespaced else ""
    collection = f"{prefix}{ns}/{rt.plural}"
    item = collection + "/{name}"
    name = f"{rt.kind}{'Namespaced' if rt.namespaced else ''}"
    writes = ["dryRun", "fieldManager", "fieldValidation", "pretty"]
    common = [_param("namespace", "path", v3, True)] if rt.namespaced else []
    if rt.review:
        return {collection: {"post": _operation(rt, "post", f"create{name}", ref, v3, body=True, params=writes)}}
    paths = {
        collection: {
            "parameters": common,
            "get": _operation(
                rt,
                "list",
                f"list{name}",
                ref,
                v3,
                body=False,
                params=["labelSelector", "fieldSelector", "limit", "continue", "resourceVersion", "watch"],
            ),
            "post": _operation(rt, "post", f"create{name}", ref, v3, body=True, params=writes),
            "delete": _operation(
                rt,
                "deletecollection",
                f"deleteCollection{name}",
                ref,
                v3,
                body=True,
                params=["labelSelector", "fieldSelector"],
            ),
        },
        item: {
            "parameters": [*common, _param("name", "path", v3, True)],
            "get": _operation(rt, "get", f"read{name}", ref, v3, body=False, params=["pretty"]),
            "put": _operation(rt, "put", f"replace{name}", ref, v3, body=True, params=writes),
            "patch": _operation(rt, "patch", f"patch{name}", ref, v3, body=True, params=[*writes, "force"]),
            "delete": _operation(
                rt,
                "delete",
                f"delete{name}",
                ref,
                v3,
                body=True,
                params=["dryRun", "propagationPolicy", "gracePeriodSeconds"],
            ),
        },
    }
    if rt.status_subresource:
        paths[item + "/status"] = {
            "parameters": [*common, _param("name", "path", v3, True)],
            "get": _operation(rt, "get", f"read{name}Status", ref, v3, body=False, params=["pretty"]),
            "put": _operation(rt, "put", f"replace{name}Status", ref, v3, body=True, params=writes),
            "patch": _operation(rt, "patch", f"patch{name}Status", ref, v3, body=True, params=[*writes, "force"]),
        }
    return paths


def _definitions(types: list[ResourceType], ref: str) -> Obj:
    defs: Obj = {OBJECT_META: _OBJECT_META_SCHEMA, LIST_META: _LIST_META_SCHEMA}
    for rt in types:
        defs[definition_name(rt)] = _kind_schema(rt, ref)
        defs[definition_name(rt, rt.list_kind)] = _list_schema(rt, ref)
    return defs


def v2(registry: Registry) -> Obj:
    types = registry.all()
    ref = "#/definitions/"
    paths: Obj = {}
    for rt in types:
        paths.update(_paths(rt, ref, v3=False))
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "definitions": _definitions(types, ref),
    }


def _gv_key(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def v3_document(registry: Registry, key: str) -> Obj | None:
    """The document for `api/v1` or `apis/<group>/<version>`."""
    parts = key.strip("/").split("/")
    if parts[:1] == ["api"] and len(parts) == 2:
        group, version = "", parts[1]
    elif parts[:1] == ["apis"] and len(parts) == 3:
        group, version = parts[1], parts[2]
    else:
        return None
    types = registry.in_group_version(group, version)
    if not types:
        return None
    ref = "#/components/schemas/"
    paths: Obj = {}
    for rt in types:
        paths.update(_paths(rt, ref, v3=True))
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": _definitions(types, ref)},
    }


def v3_index(registry: Registry) -> Obj:
    paths = {}
    for group, versions in registry.group_versions().items():
        for version in versions:
            key = _gv_key(group, version)
            doc = v3_document(registry, key)
            digest = hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32].upper()
            paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}
    return {"paths": paths}
