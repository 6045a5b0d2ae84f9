"""The chat commands: text -> Command -> a call of sreops.bots.actions as the caller -> a Reply.

Grammar (Slack: after `/sreops`; Teams: the message, a leading @mention removed)::

    status [KIND/]NAME | status [KIND]    the status of sreops objects (all kinds when none is named)
    run POLICY                            start a PatchRun now (sreops.io/run-now)
    scan SCHEDULE                         sweep a ScanSchedule now (sreops.io/scan-now)
    pause POLICY | resume POLICY          spec.suspend of a PatchPolicy
    findings SCHEDULE                     a ScanSchedule's finding counts and top findings
    help                                  this list; anything else answers it too

Each takes `-n NAMESPACE` (default: the gateway's namespace). Reads are made with the caller's identity
(impersonated); writes too, and each successful write leaves an audit Event (reason ChatOpsAction) on the
object, written with the gateway's own identity.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass

from kubernetes.client import ApiClient

from sreops.bots import actions
from sreops.bots.actions import ActionError, Actor

from .names import name_problem
from .reply import Reply, Result

log = logging.getLogger("sreops.gateway")

READS = ("status", "findings")
WRITES = ("run", "scan", "pause", "resume")
COMMANDS = (*READS, *WRITES, "help")
HELP_LINES = (
    "status [KIND/]NAME  or  status [KIND]: the status of sreops objects (kinds: pp, pr, scan, ntf, awsacct)",
    "run POLICY: start a PatchRun of a PatchPolicy now",
    "scan SCHEDULE: sweep a ScanSchedule now",
    "pause POLICY  /  resume POLICY: suspend or resume a PatchPolicy",
    "findings SCHEDULE: a ScanSchedule's findings",
    "help: this list.  Every command takes -n NAMESPACE.",
)
RESULTS: dict[int, Result] = {400: "invalid", 403: "denied", 404: "not_found", 409: "error", 503: "error"}


@dataclass(frozen=True)
class Command:
    verb: str  # one of COMMANDS, or "" when the text was not a command (then: help)
    namespace: str
    kind: str | None = None
    name: str | None = None
    problem: str | None = None  # why the text is not a valid command (answered with help)

    @property
    def metric_name(self) -> str:
        return self.verb or "unknown"

    @property
    def writes(self) -> bool:
        return self.verb in WRITES


def parse(text: str, default_namespace: str) -> Command:
    words = text.split()
    namespace = default_namespace
    rest: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word in ("-n", "--namespace"):
            if i + 1 >= len(words):
                return Command("", namespace, problem=f"{word} needs a namespace")
            namespace = words[i + 1]
            i += 2
            continue
        if word.startswith("--namespace="):
            namespace = word.split("=", 1)[1]
        else:
            rest.append(word)
        i += 1
    if not rest:
        return Command("help", namespace)
    verb, args = rest[0].lower(), rest[1:]
    if verb not in COMMANDS:
        return Command("", namespace, problem=f"unknown command {rest[0][:40]!r}")
    problem = name_problem(namespace, label=True)
    if problem is not None:
        return Command(verb, namespace, problem=f"namespace {namespace[:80]!r} {problem}")
    if verb == "help":
        return Command("help", namespace)
    if verb == "status":
        if len(args) > 1:
            return Command(verb, namespace, problem="status takes at most one [KIND/]NAME")
        if not args:
            return Command(verb, namespace)
        kind, sep, name = args[0].rpartition("/")
        if not sep:  # one word: a kind (status pp) or a name (status web-fleet)
            if actions_kind(args[0]) is not None:
                return Command(verb, namespace, kind=args[0])
            kind, name = "", args[0]
        if kind and actions_kind(kind) is None:
            return Command(verb, namespace, problem=f"unknown kind {kind[:40]!r}")
        problem = name_problem(name)
        if problem is not None:
            return Command(verb, namespace, problem=f"name {name[:80]!r} {problem}")
        return Command(verb, namespace, kind=kind or None, name=name)
    if len(args) != 1:
        what = "POLICY" if verb in ("run", "pause", "resume") else "SCHEDULE"
        return Command(verb, namespace, problem=f"{verb} takes one {what}")
    problem = name_problem(args[0])
    if problem is not None:
        return Command(verb, namespace, problem=f"name {args[0][:80]!r} {problem}")
    return Command(verb, namespace, name=args[0])


def actions_kind(word: str) -> str | None:
    """The kind `word` names (PatchPolicy, pp, patchpolicies...), or None."""
    try:
        return str(actions.kind_view(word).kind)
    except ActionError:
        return None


def help_reply(problem: str | None = None) -> Reply:
    title = "sreops commands" if problem is None else f"Sorry, {problem}. The sreops commands:"
    return Reply("help", "ok" if problem is None else "invalid", title, HELP_LINES)


def execute(api: ApiClient, command: Command, actor: Actor, *, read_only: bool) -> Reply:
    """Runs `command` as `actor` (blocking: call it in a worker thread). Never raises for a refusal."""
    if command.problem is not None or command.verb in ("", "help"):
        return help_reply(command.problem)
    if command.writes and read_only:
        return Reply(
            command.verb,
            "denied",
            f"Not done: {command.verb} {command.name} needs a Kubernetes identity.",
            (
                f"Your chat account ({actor.chat_id}) is not in the gateway's identities ConfigMap, "
                "so you may only read. Ask an admin to map you to a Kubernetes user.",
            ),
        )
    try:
        reply = _HANDLERS[command.verb](api, command, actor)
    except ActionError as exc:
        return refused(command, exc)
    # A pause of a paused policy changed nothing: no Event (the log still has the request).
    if command.writes and not (isinstance(reply.data, dict) and reply.data.get("changed") is False):
        audit_write(api, command.verb, command.namespace, command.name or "", actor, reply.title)
    return reply


def refused(command: Command, exc: ActionError) -> Reply:
    what = f"{command.verb} {command.name or ''}".strip()
    if exc.status == 403:
        title = f"Not allowed: {what}."
        why = f"Kubernetes refused it for your identity: {exc.message}"
    elif exc.status == 404:
        title = f"Not found: {what}."
        why = exc.message
    elif exc.status == 400:
        title = f"Not a valid request: {what}."
        why = exc.message
    else:
        title = f"Could not {what} right now."
        why = exc.message
    return Reply(command.verb, RESULTS.get(exc.status, "error"), title, (why,))


AUDIT_ACTIONS = {"run": "RunNow", "scan": "ScanNow", "pause": "Pause", "resume": "Resume"}


def audit_write(api: ApiClient, verb: str, namespace: str, name: str, actor: Actor, what: str) -> None:
    """The audit Event of a write that was made (with the gateway's own identity)."""
    kind = "ScanSchedule" if verb == "scan" else "PatchPolicy"
    action = AUDIT_ACTIONS[verb]
    try:
        actions.audit(api, namespace, {"kind": kind, "name": name}, actor, action, what)
    except ActionError as exc:
        # The change is made; a missing audit Event is logged loudly rather than reported as a failure.
        log.error("audit event not written", extra={"action": action, "status": exc.status, "code": exc.code})


def _status(api: ApiClient, command: Command, actor: Actor) -> Reply:
    items = actions.status(actions.impersonating(api, actor), command.namespace, command.kind, command.name)
    lines = tuple(_status_line(item) for item in items)
    where = f"namespace {command.namespace}"
    title = f"{len(items)} sreops object{'s' if len(items) != 1 else ''} in {where}" if items else f"Nothing in {where}"
    return Reply("status", "ok", title, lines, data={"items": [asdict(i) for i in items]})


def _status_line(item: actions.ResourceStatus) -> str:
    ready = item.ready
    state = "Ready: unknown" if ready is None else f"Ready={ready.status} ({ready.reason})"
    if ready is not None and ready.status != "True" and ready.message:
        state += f": {ready.message}"
    summary = ", ".join(f"{k} {v}" for k, v in item.summary.items() if v not in (None, ""))
    return f"{item.kind} {item.name}: {state}" + (f"; {summary}" if summary else "")


def _run(api: ApiClient, command: Command, actor: Actor) -> Reply:
    assert command.name is not None
    done = actions.run_now(api, command.namespace, command.name, actor)
    return Reply(
        "run",
        "ok",
        f"Run of {done.policy} requested by {actor.describe()}.",
        (f"PatchRun {done.run} in namespace {done.namespace} starts now (kubectl get pr {done.run}).",),
        public=True,
        data=asdict(done),
    )


def _scan(api: ApiClient, command: Command, actor: Actor) -> Reply:
    assert command.name is not None
    done = actions.scan_now(api, command.namespace, command.name, actor)
    return Reply(
        "scan",
        "ok",
        f"Sweep of {done.schedule} requested by {actor.describe()}.",
        (f"ScanSchedule {done.namespace}/{done.schedule} sweeps now; see findings {done.schedule}.",),
        public=True,
        data=asdict(done),
    )


def _suspend(api: ApiClient, command: Command, actor: Actor) -> Reply:
    assert command.name is not None
    suspend = command.verb == "pause"
    done = actions.set_suspend(api, command.namespace, command.name, suspend, actor)
    verb = "paused" if suspend else "resumed"
    if done.changed:
        title = f"{done.policy} {verb} by {actor.describe()}."
        line = (
            "Its maintenance window is disabled and no new runs start until resumed."
            if suspend
            else "Its maintenance window is enabled again."
        )
    else:
        title = f"{done.policy} was already {verb}; nothing changed."
        line = f"spec.suspend is {str(suspend).lower()}."
    return Reply(command.verb, "ok", title, (line,), public=done.changed, data=asdict(done))


def _findings(api: ApiClient, command: Command, actor: Actor) -> Reply:
    assert command.name is not None
    view = actions.findings(actions.impersonating(api, actor), command.namespace, command.name)
    counts = ", ".join(f"{k} {v}" for k, v in view.counts.items())
    lines = [f"Counts: {counts or 'none yet'}", f"Last scan: {view.last_scan_time or 'not yet'}"]
    if view.ready is not None and view.ready.status != "True":
        lines.append(f"Ready={view.ready.status} ({view.ready.reason}): {view.ready.message}")
    for finding in view.top:
        lines.append(
            f"{finding.get('severity', '?')} {finding.get('vulnerabilityId', '?')} on {finding.get('resource', '?')}"
            + (f": {finding['title']}" if finding.get("title") else "")
        )
    return Reply("findings", "ok", f"Findings of {view.namespace}/{view.schedule}", tuple(lines), data=asdict(view))


_HANDLERS: dict[str, Callable[[ApiClient, Command, Actor], Reply]] = {
    "status": _status,
    "run": _run,
    "scan": _scan,
    "pause": _suspend,
    "resume": _suspend,
    "findings": _findings,
}
