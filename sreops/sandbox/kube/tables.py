"""Server-side printing: `meta.k8s.io/v1` Table objects for `Accept: application/json;as=Table;...`.

Custom resources get a Name column plus their `additionalPrinterColumns` (cells computed like the
real server: the first JSONPath result; `date` columns become ages such as `5m`; a missing value is
null, which kubectl prints as `<none>`). Built-ins get the columns kubectl users know.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .jsonpath import JsonPathError, find
from .meta import human_age
from .resources import ResourceType

Obj = dict[str, Any]
Cell = Any

NAME_COLUMN: Obj = {
    "name": "Name",
    "type": "string",
    "format": "name",
    "description": "Name must be unique within a namespace. Is required when creating resources, although some "
    "resources may allow a client to request the generation of an appropriate name automatically.",
    "priority": 0,
}
AGE_COLUMN: Obj = {
    "name": "Age",
    "type": "date",
    "format": "",
    "description": "CreationTimestamp is a timestamp representing the server time when this object was created.",
    "priority": 0,
}


def _col(name: str, type_: str = "string", description: str = "", priority: int = 0) -> Obj:
    return {"name": name, "type": type_, "format": "", "description": description, "priority": priority}


def _age(obj: Obj) -> str:
    return human_age((obj.get("metadata") or {}).get("creationTimestamp"))


def _event_object(obj: Obj) -> str:
    ref = obj.get("involvedObject") or obj.get("regarding") or {}
    return f"{str(ref.get('kind', '')).lower()}/{ref.get('name', '')}"


def _event_last_seen(obj: Obj) -> str:
    series = obj.get("series") or {}
    stamp = (
        obj.get("lastTimestamp")
        or series.get("lastObservedTime")
        or obj.get("eventTime")
        or obj.get("deprecatedLastTimestamp")
        or (obj.get("metadata") or {}).get("creationTimestamp")
    )
    return human_age(stamp)


def _data_count(obj: Obj) -> int:
    return len(obj.get("data") or {}) + len(obj.get("binaryData") or {})


def _role_ref(obj: Obj) -> str:
    ref = obj.get("roleRef") or {}
    return f"{ref.get('kind', '')}/{ref.get('name', '')}"


def _subjects(kind: str) -> Callable[[Obj], str]:
    """kubectl's Users/Groups/ServiceAccounts cells of a binding (service accounts as namespace/name)."""

    def cell(obj: Obj) -> str:
        names = []
        for subject in obj.get("subjects") or []:
            if isinstance(subject, dict) and subject.get("kind") == kind:
                name = str(subject.get("name", ""))
                names.append(f"{subject.get('namespace', '')}/{name}" if kind == "ServiceAccount" else name)
        return ", ".join(names)

    return cell


BuiltinColumns = list[tuple[Obj, Callable[[Obj], Cell]]]

# pkg/printers/internalversion: roles and cluster roles show when they were created, bindings their role.
_CREATED_AT: tuple[Obj, Callable[[Obj], Cell]] = (
    _col("Created At", "date"),
    lambda o: (o.get("metadata") or {}).get("creationTimestamp"),
)
_BINDING_COLUMNS: BuiltinColumns = [
    (_col("Role", description="RoleRef can reference a Role in the current namespace or a ClusterRole."), _role_ref),
    (AGE_COLUMN, _age),
    (_col("Users", priority=1, description="Users in the roleBinding"), _subjects("User")),
    (_col("Groups", priority=1, description="Groups in the roleBinding"), _subjects("Group")),
    (
        _col("ServiceAccounts", priority=1, description="ServiceAccounts in the roleBinding"),
        _subjects("ServiceAccount"),
    ),
]


def _status(obj: Obj) -> Obj:
    status = obj.get("status")
    return status if isinstance(status, dict) else {}


def _spec(obj: Obj) -> Obj:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def _selector(selector: Any) -> str:
    """metav1.FormatLabelSelector: `a=b,k in (x,y)`; `<none>` for an empty selector."""
    if not isinstance(selector, dict):
        return "<none>"
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op, values = str(expr.get("operator", "")), ",".join(sorted(map(str, expr.get("values") or [])))
        key = str(expr.get("key", ""))
        parts.append(
            {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})", "Exists": key}.get(op, f"!{key}")
        )
    return ",".join(parts) or "<none>"


def _pod_template(obj: Obj) -> list[Obj]:
    containers = ((_spec(obj).get("template") or {}).get("spec") or {}).get("containers") or []
    return [c for c in containers if isinstance(c, dict)]


def _deployment_ready(obj: Obj) -> str:
    replicas = _spec(obj).get("replicas", 1)  # the real server defaults spec.replicas to 1
    return f"{_status(obj).get('readyReplicas', 0)}/{replicas}"


def _service_ports(obj: Obj) -> str:
    out = []
    for port in _spec(obj).get("ports") or []:
        node = f":{port['nodePort']}" if port.get("nodePort") else ""
        out.append(f"{port.get('port')}{node}/{port.get('protocol', 'TCP')}")
    return ",".join(out) or "<none>"


def _external_ip(obj: Obj) -> str:
    spec = _spec(obj)
    ips = list(spec.get("externalIPs") or [])
    if spec.get("type") == "LoadBalancer":
        ips += [i.get("ip") or i.get("hostname") for i in (_status(obj).get("loadBalancer") or {}).get("ingress") or []]
        return ",".join(map(str, ips)) or "<pending>"
    if spec.get("type") == "ExternalName":
        return str(spec.get("externalName", ""))
    return ",".join(ips) or "<none>"


def _pod_ready(obj: Obj) -> str:
    statuses = _status(obj).get("containerStatuses") or []
    ready = sum(1 for c in statuses if isinstance(c, dict) and c.get("ready"))
    return f"{ready}/{len(_spec(obj).get('containers') or [])}"


def _ingress_hosts(obj: Obj) -> str:
    hosts = [str(r["host"]) for r in _spec(obj).get("rules") or [] if isinstance(r, dict) and r.get("host")]
    if not hosts:
        return "*"
    return ",".join(hosts[:4]) + (f" + {len(hosts) - 4} more..." if len(hosts) > 4 else "")


def _ingress_address(obj: Obj) -> str:
    found = (_status(obj).get("loadBalancer") or {}).get("ingress") or []
    return ",".join(str(i.get("ip") or i.get("hostname") or "") for i in found if isinstance(i, dict))


def _or_na(value: Any) -> Any:
    return "N/A" if value is None else str(value)


# pkg/printers/internalversion/printers.go (1.32) for the workload kinds.
_WORKLOAD_COLUMNS: dict[tuple[str, str], BuiltinColumns] = {
    ("apps", "deployments"): [
        (_col("Ready", description="Number of the pod with ready state"), _deployment_ready),
        (_col("Up-to-date", "integer"), lambda o: _status(o).get("updatedReplicas", 0)),
        (_col("Available", "integer"), lambda o: _status(o).get("availableReplicas", 0)),
        (AGE_COLUMN, _age),
        (_col("Containers", priority=1), lambda o: ",".join(str(c.get("name")) for c in _pod_template(o))),
        (_col("Images", priority=1), lambda o: ",".join(str(c.get("image")) for c in _pod_template(o))),
        (_col("Selector", priority=1), lambda o: _selector(_spec(o).get("selector"))),
    ],
    ("", "services"): [
        (_col("Type"), lambda o: _spec(o).get("type", "ClusterIP")),
        (_col("Cluster-IP"), lambda o: ((_spec(o).get("clusterIPs") or [None])[0]) or "<none>"),
        (_col("External-IP"), _external_ip),
        (_col("Port(s)"), _service_ports),
        (AGE_COLUMN, _age),
        (_col("Selector", priority=1), lambda o: _selector({"matchLabels": _spec(o).get("selector") or {}})),
    ],
    ("", "serviceaccounts"): [
        (_col("Secrets", "integer"), lambda o: len(o.get("secrets") or [])),
        (AGE_COLUMN, _age),
    ],
    ("", "pods"): [
        (_col("Ready"), _pod_ready),
        (_col("Status"), lambda o: _status(o).get("reason") or _status(o).get("phase")),
        (
            _col("Restarts", "string"),
            lambda o: str(sum(int(c.get("restartCount", 0)) for c in _status(o).get("containerStatuses") or [])),
        ),
        (AGE_COLUMN, _age),
        (_col("IP", priority=1), lambda o: _status(o).get("podIP") or "<none>"),
        (_col("Node", priority=1), lambda o: _spec(o).get("nodeName") or "<none>"),
    ],
    ("policy", "poddisruptionbudgets"): [
        (_col("Min Available"), lambda o: _or_na(_spec(o).get("minAvailable"))),
        (_col("Max Unavailable"), lambda o: _or_na(_spec(o).get("maxUnavailable"))),
        (_col("Allowed Disruptions", "integer"), lambda o: _status(o).get("disruptionsAllowed", 0)),
        (AGE_COLUMN, _age),
    ],
    ("networking.k8s.io", "networkpolicies"): [
        (_col("Pod-Selector"), lambda o: _selector(_spec(o).get("podSelector"))),
        (AGE_COLUMN, _age),
    ],
    ("networking.k8s.io", "ingresses"): [
        (_col("Class"), lambda o: _spec(o).get("ingressClassName") or "<none>"),
        (_col("Hosts"), _ingress_hosts),
        (_col("Address"), _ingress_address),
        (_col("Ports"), lambda o: "80, 443" if _spec(o).get("tls") else "80"),
        (AGE_COLUMN, _age),
    ],
}

BUILTIN: dict[tuple[str, str], BuiltinColumns] = {
    **_WORKLOAD_COLUMNS,
    ("", "namespaces"): [
        (_col("Status", description="The status of the namespace"), lambda o: (o.get("status") or {}).get("phase")),
        (AGE_COLUMN, _age),
    ],
    ("", "configmaps"): [(_col("Data", "integer"), _data_count), (AGE_COLUMN, _age)],
    ("", "secrets"): [
        (_col("Type"), lambda o: o.get("type")),
        (_col("Data", "integer"), _data_count),
        (AGE_COLUMN, _age),
    ],
    ("", "events"): [
        (_col("Last Seen"), _event_last_seen),
        (_col("Type"), lambda o: o.get("type")),
        (_col("Reason"), lambda o: o.get("reason")),
        (_col("Object"), _event_object),
        (_col("Message"), lambda o: o.get("message") or o.get("note")),
    ],
    ("events.k8s.io", "events"): [
        (_col("Last Seen"), _event_last_seen),
        (_col("Type"), lambda o: o.get("type")),
        (_col("Reason"), lambda o: o.get("reason")),
        (_col("Object"), _event_object),
        (_col("Message"), lambda o: o.get("note")),
    ],
    ("coordination.k8s.io", "leases"): [
        (_col("Holder"), lambda o: (o.get("spec") or {}).get("holderIdentity")),
        (AGE_COLUMN, _age),
    ],
    ("rbac.authorization.k8s.io", "roles"): [_CREATED_AT],
    ("rbac.authorization.k8s.io", "clusterroles"): [_CREATED_AT],
    ("rbac.authorization.k8s.io", "rolebindings"): _BINDING_COLUMNS,
    ("rbac.authorization.k8s.io", "clusterrolebindings"): _BINDING_COLUMNS,
    ("apiextensions.k8s.io", "customresourcedefinitions"): [
        (_col("Created At", "date"), lambda o: (o.get("metadata") or {}).get("creationTimestamp")),
    ],
}


def _custom_cell(column: Obj, obj: Obj) -> Cell:
    try:
        results = find(obj, str(column.get("jsonPath", "")))
    except JsonPathError:
        return None
    if not results:
        return None
    value = results[0]
    kind = column.get("type", "string")
    if kind == "date":
        return human_age(value) if isinstance(value, str) else None
    if kind == "integer" and isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if kind == "boolean" and isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":")) if isinstance(value, dict | list) else str(value)


def columns_for(rt: ResourceType) -> tuple[list[Obj], Callable[[Obj], list[Cell]]]:
    if rt.is_custom:
        custom = rt.printer_columns or [{**AGE_COLUMN, "jsonPath": ".metadata.creationTimestamp"}]
        defs = [NAME_COLUMN] + [
            {
                "name": c.get("name", ""),
                "type": c.get("type", "string"),
                "format": c.get("format", ""),
                "description": c.get("description", ""),
                "priority": int(c.get("priority", 0)),
            }
            for c in custom
        ]
        return defs, lambda o: [o["metadata"]["name"]] + [_custom_cell(c, o) for c in custom]
    builtin = BUILTIN.get((rt.group, rt.plural), [(AGE_COLUMN, _age)])
    return [NAME_COLUMN] + [d for d, _ in builtin], lambda o: [o["metadata"]["name"]] + [f(o) for _, f in builtin]


def _row_object(obj: Obj, include: str) -> Obj | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata", {})}


def table(rt: ResourceType, items: list[Obj], list_meta: Obj, include_object: str = "Metadata") -> Obj:
    defs, cells = columns_for(rt)
    rows = []
    for obj in items:
        row: Obj = {"cells": cells(obj)}
        embedded = _row_object(obj, include_object)
        if embedded is not None:
            row["object"] = embedded
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": defs,
        "rows": rows,
    }


def wants_table(accept: str) -> bool:
    """True when the client prefers a Table (kubectl get lists `as=Table` first)."""
    for part in accept.split(","):
        params = {p.strip() for p in part.split(";")[1:]}
        if "as=Table" in params and "g=meta.k8s.io" in params and ("v=v1" in params or "v=v1beta1" in params):
            return True
        if part.strip().split(";")[0] in ("application/json", "*/*"):
            return False
    return False
