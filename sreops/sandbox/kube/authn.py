"""Authentication (bearer tokens) and impersonation, as kube-apiserver does them.

Tokens: the sandbox's own token (`<state-dir>/token`, in the kubeconfig) is user `sandbox-admin` in
group `system:masters`; more users come from a file in kube-apiserver's `--token-auth-file` format,
one `token,user,uid,"group1,group2"` line each (`<state-dir>/tokens.csv`, written by
`KubeServer.issue_token`, or the file given). Every authenticated user is also in
`system:authenticated`. A request with no `Authorization` header is `system:anonymous` (group
`system:unauthenticated`) on `/version`, `/healthz`, `/livez` and `/readyz` only, and 401 elsewhere,
like a 1.32 server whose AuthenticationConfiguration allows anonymous requests on just those paths;
a wrong token is 401 everywhere.

Impersonation (staging/src/k8s.io/apiserver/pkg/endpoints/filters/impersonation.go): the headers
`Impersonate-User`, `Impersonate-Group` (repeatable), `Impersonate-Uid` and `Impersonate-Extra-<key>`
(key lower-cased and %-decoded) are each checked with the verb `impersonate` on `users`, `groups`
(core group), `uids` (authentication.k8s.io), `userextras/<key>` (authentication.k8s.io) or, for a
`system:serviceaccount:<ns>:<name>` user, `serviceaccounts` in `<ns>`; the first one refused is a 403
naming it. The impersonated user's groups are the ones asked for (a service account's own groups if
none are), plus `system:authenticated` unless `system:authenticated` or `system:unauthenticated` is
among them. Groups, uid or extras without a user is the real server's 500 with a text/plain body.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from .errors import ApiError
from .rbac import ANONYMOUS, AUTHENTICATED, UNAUTHENTICATED, Attributes, UserInfo, split_service_account

ADMIN = UserInfo("sandbox-admin", groups=("system:masters", AUTHENTICATED))
ANONYMOUS_USER = UserInfo(ANONYMOUS, groups=(UNAUTHENTICATED,))
ANONYMOUS_PATHS = {"/version", "/version/", "/healthz", "/livez", "/readyz"}
USER_HEADER = "Impersonate-User"
GROUP_HEADER = "Impersonate-Group"
UID_HEADER = "Impersonate-Uid"
EXTRA_PREFIX = "impersonate-extra-"


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def read_token_file(path: Path) -> dict[str, UserInfo]:
    """`--token-auth-file`: token,user,uid[,"group1,group2"] per line; lines starting with # are skipped."""
    users: dict[str, UserInfo] = {}
    if not path.exists():
        return users
    for row in csv.reader(io.StringIO(path.read_text())):
        if not row or row[0].startswith("#"):
            continue
        if len(row) < 3:
            raise ValueError(f"{path}: a line needs at least token,user,uid")
        groups = [g.strip() for g in row[3].split(",") if g.strip()] if len(row) > 3 else []
        users[row[0].strip()] = UserInfo(row[1].strip(), uid=row[2].strip(), groups=tuple(groups))
    return users


def append_token(path: Path, token: str, user: UserInfo) -> None:
    line = io.StringIO()
    csv.writer(line, lineterminator="\n").writerow([token, user.name, user.uid, ",".join(user.groups)])
    with path.open("a") as out:
        out.write(line.getvalue())
    path.chmod(0o600)


class Authenticator:
    def __init__(self, admin_token: str, token_files: list[Path]) -> None:
        self._admin_token = admin_token
        self._token_files = token_files
        self._users: dict[str, UserInfo] = {}
        self.reload()

    def reload(self) -> None:
        users: dict[str, UserInfo] = {}
        for path in self._token_files:
            users.update(read_token_file(path))
        self._users = users

    def add(self, token: str, user: UserInfo) -> None:
        self._users[token] = user

    def authenticate(self, authorization: str | None, path: str) -> UserInfo:
        if authorization is None:
            if path in ANONYMOUS_PATHS:
                return ANONYMOUS_USER
            raise unauthorized()
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise unauthorized()
        if secrets.compare_digest(token.encode(), self._admin_token.encode()):
            return ADMIN
        for known, user in self._users.items():
            if secrets.compare_digest(token.encode(), known.encode()):
                groups = user.groups if AUTHENTICATED in user.groups else (*user.groups, AUTHENTICATED)
                return UserInfo(user.name, user.uid, groups, user.extra)
        raise unauthorized()


@dataclass
class ImpersonationError(Exception):
    """The real server answers these with responsewriters.InternalError: 500, text/plain."""

    detail: str


@dataclass(frozen=True)
class _Wanted:
    kind: str  # ServiceAccount | User | Group | UserExtra | UID
    name: str
    namespace: str = ""
    field_path: str = ""  # the extra's key

    def go(self) -> str:
        """%v of the v1.ObjectReference the real server builds (Kind Namespace Name UID APIVersion RV FieldPath)."""
        api_version = "authentication.k8s.io/v1" if self.kind in ("UserExtra", "UID") else ""
        return "{" + " ".join([self.kind, self.namespace, self.name, "", api_version, "", self.field_path]) + "}"


def _wanted(headers: Mapping[str, str], header_items: list[tuple[str, str]]) -> list[_Wanted]:
    out: list[_Wanted] = []
    requested_user = headers.get(USER_HEADER, "")
    if requested_user:
        sa = split_service_account(requested_user)
        out.append(_Wanted("ServiceAccount", sa[1], sa[0]) if sa else _Wanted("User", requested_user))
    out += [_Wanted("Group", value) for key, value in header_items if key.lower() == GROUP_HEADER.lower()]
    for key, value in header_items:
        if key.lower().startswith(EXTRA_PREFIX):
            out.append(_Wanted("UserExtra", value, field_path=unquote(key.lower()[len(EXTRA_PREFIX) :])))
    uid = headers.get(UID_HEADER, "")
    if uid:
        out.append(_Wanted("UID", uid))
    if out and not requested_user:
        raise ImpersonationError(f"requested [{' '.join(w.go() for w in out)}] without impersonating a user")
    return out


def impersonate(
    requester: UserInfo,
    headers: Mapping[str, str],
    header_items: list[tuple[str, str]],
    authorize: Callable[[Attributes], tuple[bool, str]],
) -> tuple[UserInfo | None, Attributes | None, str]:
    """(the impersonated user or None, the refused check or None, its reason). `header_items` keeps
    repeated headers (Impersonate-Group may be sent several times)."""
    wanted = _wanted(headers, header_items)
    if not wanted:
        return None, None, ""
    groups_specified = any(w.kind == "Group" for w in wanted)
    username, uid = "", ""
    groups: list[str] = []
    extra: dict[str, list[str]] = {}
    for w in wanted:
        if w.kind == "ServiceAccount":
            attrs = Attributes(
                requester, "impersonate", True, resource="serviceaccounts", namespace=w.namespace, name=w.name
            )
            username = f"system:serviceaccount:{w.namespace}:{w.name}"
            if not groups_specified:
                groups = ["system:serviceaccounts", f"system:serviceaccounts:{w.namespace}"]
        elif w.kind == "User":
            attrs = Attributes(requester, "impersonate", True, resource="users", name=w.name)
            username = w.name
        elif w.kind == "Group":
            attrs = Attributes(requester, "impersonate", True, resource="groups", name=w.name)
            groups.append(w.name)
        elif w.kind == "UserExtra":
            attrs = Attributes(
                requester,
                "impersonate",
                True,
                api_group="authentication.k8s.io",
                api_version="v1",
                resource="userextras",
                subresource=w.field_path,
                name=w.name,
            )
            extra.setdefault(w.field_path, []).append(w.name)
        else:
            attrs = Attributes(
                requester,
                "impersonate",
                True,
                api_group="authentication.k8s.io",
                api_version="v1",
                resource="uids",
                name=w.name,
            )
            uid = w.name
        allowed, reason = authorize(attrs)
        if not allowed:
            return None, attrs, reason
    if username != ANONYMOUS:
        if AUTHENTICATED not in groups and UNAUTHENTICATED not in groups:
            groups.append(AUTHENTICATED)
    elif UNAUTHENTICATED not in groups:
        groups.append(UNAUTHENTICATED)
    return UserInfo(username, uid, tuple(groups), {k: tuple(v) for k, v in extra.items()}), None, ""
