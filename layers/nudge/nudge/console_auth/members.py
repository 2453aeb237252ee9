"""Who may use a workspace in the console, and with which role.

A membership is two items written together: ``Member`` under the workspace (listing a workspace's
members is one Query) and ``UserWorkspace`` under the user (a request's role check is one GetItem, the
workspaces a session lists one Query), in the console's own table (``model.console``). Adding a member
creates their Cognito user, with a temporary password, when the pool has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist

from nudge import clock, workspaces
from nudge.console_auth import users
from nudge.errors import Conflict, InvalidRequest, NotFound
from nudge.model import Member, UserWorkspace, Workspace
from nudge.model.base import transaction
from nudge.model.keys import (
    CONSOLE_MEMBER_PREFIX,
    WORKSPACE_SK,
    console_member_sk,
    user_pk,
    workspace_pk,
)
from nudge.roles import Role, parse_role

EMAIL_MAX = 254  # an address's longest (RFC 5321 path limit)


@dataclass(frozen=True)
class MemberView:
    email: str
    role: Role
    created_at: int
    updated_at: int

    def to_api(self) -> dict[str, object]:
        return {
            "email": self.email,
            "role": self.role.label,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class Added:
    member: MemberView
    # A temporary password, shown once, for a user who has not chosen their own yet (new, or added again
    # before their first sign-in): it signs in only to choose a new password. None for a user who has.
    password: str | None


@dataclass(frozen=True)
class WorkspaceRole:
    workspace_id: str
    name: str
    role: Role

    def to_api(self) -> dict[str, str]:
        return {"id": self.workspace_id, "name": self.name, "role": self.role.label}


# What ``normalize_email`` accepts, white space around it included (it trims and lower-cases it).
EMAIL_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": r"^\s*[^\s@]+@\S*\.\S*\s*$",
    "maxLength": EMAIL_MAX,
}


def normalize_email(value: object, field: str = "email") -> str:
    """Lower-cased and trimmed (the pool's user name, and a member's key), or a 400 naming the field."""
    if not isinstance(value, str):
        raise InvalidRequest(f"{field} must be a string", field=field)
    email = value.strip().lower()
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or len(email) > EMAIL_MAX or any(c.isspace() for c in email):
        raise InvalidRequest(
            f"{field} must be an email address of at most {EMAIL_MAX} characters", field=field
        )
    return email


def _view(item: Member) -> MemberView:
    return MemberView(item.email, parse_role(item.role), int(item.created_at), int(item.updated_at))


def role_in(email: str, workspace_id: str) -> Role | None:
    """The user's role in the workspace, or None when they are not a member (or there is no such
    workspace: a membership exists only for a workspace that existed when it was made)."""
    if not workspace_id or len(workspace_id) > 100:
        return None
    try:
        item = UserWorkspace.get(user_pk(email), workspace_pk(workspace_id), consistent_read=True)
    except DoesNotExist:
        return None
    return parse_role(item.role)


def is_member_anywhere(email: str) -> bool:
    """Whether the user is a member of at least one workspace (one consistent read of one item)."""
    found = UserWorkspace.query(user_pk(email), limit=1, consistent_read=True)
    return any(True for _ in found)


def workspaces_of(email: str) -> list[WorkspaceRole]:
    """The workspaces the user is a member of, by name."""
    roles = {
        item.workspace_id: parse_role(item.role)
        for item in UserWorkspace.query(user_pk(email))  # the user's partition holds only memberships
        if isinstance(item, UserWorkspace)
    }
    keys = [(workspace_pk(workspace_id), WORKSPACE_SK) for workspace_id in roles]
    names = {
        ws.workspace_id: ws.name
        for ws in Workspace.batch_get(keys)  # PynamoDB pages by 100 keys
        if isinstance(ws, Workspace)
    }
    found = [WorkspaceRole(w, names[w], role) for w, role in roles.items() if w in names]
    return sorted(found, key=lambda w: (w.name.lower(), w.workspace_id))


def list_members(workspace_id: str) -> list[MemberView]:
    found = Member.query(
        workspace_pk(workspace_id), Member.sk.startswith(CONSOLE_MEMBER_PREFIX), consistent_read=True
    )
    return sorted((_view(m) for m in found if isinstance(m, Member)), key=lambda m: m.email)


def get_member(workspace_id: str, email: str) -> MemberView:
    try:
        return _view(Member.get(workspace_pk(workspace_id), console_member_sk(email), consistent_read=True))
    except DoesNotExist as exc:
        raise NotFound(f"member {email} not found") from exc


def add(workspace_id: str, email: object, role: object) -> Added:
    """Make the user a member with this role (a member already: their role changes), creating their
    Cognito user with a temporary password if the pool has none.

    The membership is written before the user is created, so a failure in between leaves a member
    without a user, and adding them again creates the user and shows its password; an answer lost after
    the user was created is made good the same way, with a new temporary password. A user who has not
    chosen their password yet may be a member of one workspace only (409 elsewhere): the admins who saw
    the temporary password must not reach another workspace's data by signing in with it first.
    """
    clean = normalize_email(email)
    wanted = parse_role(role)
    workspaces.load(workspace_id)  # a 404 for a workspace that does not exist
    status = users.status(clean)
    try:
        current: MemberView | None = get_member(workspace_id, clean)
    except NotFound:
        current = None
    if status == users.PENDING and current is None:
        raise Conflict(
            f"{clean} has been added to another workspace and has not signed in yet to choose a "
            "password: add them here once they have"
        )
    now = clock.wall_now()
    created = current.created_at if current is not None else now
    _write(workspace_id, clean, wanted, created, now)
    password = None
    if status is None:
        password = users.create_user(clean)
    elif status == users.PENDING:
        password = users.reissue_temporary_password(clean)
    return Added(MemberView(clean, wanted, created, now), password)


def change_role(workspace_id: str, email: str, role: object) -> MemberView:
    wanted = parse_role(role)
    current = get_member(workspace_id, normalize_email(email))
    now = clock.wall_now()
    _write(workspace_id, current.email, wanted, current.created_at, now)
    return MemberView(current.email, wanted, current.created_at, now)


def remove(workspace_id: str, email: str) -> None:
    """End the membership: the user's sessions lose this workspace at their next request."""
    current = get_member(workspace_id, normalize_email(email))
    with transaction(Member) as tx:
        tx.delete(Member(workspace_pk(workspace_id), console_member_sk(current.email)))
        tx.delete(UserWorkspace(user_pk(current.email), workspace_pk(workspace_id)))


def _write(workspace_id: str, email: str, role: Role, created_at: int, now: int) -> None:
    member = Member(
        workspace_pk(workspace_id),
        console_member_sk(email),
        workspace_id=workspace_id,
        email=email,
        role=role.label,
        created_at=created_at,
        updated_at=now,
    )
    twin = UserWorkspace(
        user_pk(email), workspace_pk(workspace_id), workspace_id=workspace_id, email=email, role=role.label
    )
    with transaction(Member) as tx:
        tx.save(member)
        tx.save(twin)
