"""Console sessions: an opaque token in an HttpOnly cookie, mapped in DynamoDB to the Cognito identity
that signed in.

Why not the Cognito tokens themselves in the cookie: a JWT stays valid until it expires whatever the user
does, so signing out (or an admin removing someone) would need a deny list checked on every request
anyway. A session item is that check and the whole state: deleting it ends the session at once. The
token is 256 random bits; only its SHA-256 is stored, so a leaked table holds no usable session.

A session ends ``IDLE_SECONDS`` after its last renewal, and ``LIFETIME_SECONDS`` after sign-in however
busy it is (the user signs in again: the password is checked by Cognito again). Use renews it at most
every ``RENEW_SECONDS``, so a busy console costs one write every few minutes, not one per request: the
idle end therefore comes between ``IDLE_SECONDS - RENEW_SECONDS`` and ``IDLE_SECONDS`` after the last
use. Times are the wall clock's (``clock.wall_now``), not the local runtime's faster one.

A session also ends at its next request once the user is a member of no workspace (each request reads
the memberships again, consistently), and at its next renewal once Cognito says the user is gone,
disabled, no longer confirmed (an admin's password reset) or changed since the session began (a new
password).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist

from nudge import clock, workspaces
from nudge.console_auth import members, users
from nudge.errors import Forbidden, InvalidRequest, Unauthorized
from nudge.model import ConsoleSession
from nudge.model.base import update_if
from nudge.model.keys import SESSION_SK, session_pk
from nudge.roles import Role

COOKIE = "nudge_session"
WORKSPACE_HEADER = "x-nudge-workspace"
LIFETIME_SECONDS = 12 * 3600  # a working day, then a fresh sign-in
IDLE_SECONDS = 2 * 3600
RENEW_SECONDS = 300
_TOKEN_MAX = 200  # a token is 43 characters; anything much longer is not one


@dataclass(frozen=True)
class Session:
    email: str
    subject: str


@dataclass(frozen=True)
class Started:
    token: str  # for the cookie only: never logged, never in a body
    session: Session


@dataclass(frozen=True)
class Authorized:
    """A console request's caller: the user and their role in the workspace the request names."""

    email: str
    workspace_id: str
    role: Role


def _pk(token: str) -> str:
    return session_pk(workspaces.hash_key(token))


PASSWORD_SCHEMA: dict[str, Any] = {"type": "string", "minLength": 1}  # what ``check_password`` accepts


def check_password(value: object, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"{field} must be a non-empty string", field=field)
    return value


def sign_in(email: object, password: object) -> Started:
    """Check the password with Cognito and open a session for that identity (``NewPasswordRequired``
    for a temporary password: see ``set_first_password``)."""
    clean = members.normalize_email(email)
    return _open(users.authenticate(clean, check_password(password, "password")))


def set_first_password(email: object, password: object, new_password: object) -> Started:
    """Replace a new user's temporary password with their own, and open a session."""
    clean = members.normalize_email(email)
    temporary = check_password(password, "password")
    chosen = check_password(new_password, "new_password")
    if chosen == temporary:
        raise InvalidRequest("new_password must differ from the temporary password", field="new_password")
    return _open(users.complete_new_password(clean, temporary, chosen))


def _open(identity: users.Identity) -> Started:
    # A session that could do nothing, and that ``resume`` would end at its first use anyway.
    if not members.is_member_anywhere(identity.email):
        raise Forbidden(
            f"{identity.email} is not a member of any workspace: ask a workspace admin to add you"
        )
    token = secrets.token_urlsafe(32)
    now = clock.wall_now()
    ends = now + LIFETIME_SECONDS
    ConsoleSession(
        _pk(token),
        SESSION_SK,
        email=identity.email,
        subject=identity.subject,
        created_at=now,
        ends_at=ends,
        renewed_at=now,
        user_modified=identity.modified,
        expires_at=datetime.fromtimestamp(ends, UTC),
    ).save(condition=ConsoleSession.pk.does_not_exist())
    return Started(token, Session(identity.email, identity.subject))


def _user_still_signed_in(item: ConsoleSession) -> bool:
    """Whether Cognito still has the user as they were at sign-in: present, enabled, confirmed, and
    unchanged since (a new password, a reset or a disabled account ends every session)."""
    try:
        now = users.state(item.email)
    except Unauthorized:  # deleted from the pool
        return False
    return (
        now.enabled
        and now.status == users.CONFIRMED
        and now.identity.subject == item.subject
        and (item.user_modified is None or now.identity.modified == item.user_modified)
    )


def resume(token: str | None) -> Session:
    """The live session this cookie value opens, renewed when due, or ``Unauthorized``."""
    if not token or len(token) > _TOKEN_MAX:
        raise Unauthorized("sign in: no session")
    try:
        item = ConsoleSession.get(_pk(token), SESSION_SK, consistent_read=True)
    except DoesNotExist as exc:
        raise Unauthorized("sign in: the session has ended") from exc
    now = clock.wall_now()
    renewed = int(item.renewed_at)
    if now >= min(int(item.ends_at), renewed + IDLE_SECONDS):
        raise Unauthorized("sign in: the session has expired")
    if not members.is_member_anywhere(item.email):
        item.delete()
        raise Unauthorized("sign in: the session has ended: you are no longer a member of any workspace")
    due = now - renewed >= RENEW_SECONDS
    if due and not _user_still_signed_in(item):
        item.delete()
        raise Unauthorized("sign in: the session has ended: the account changed since you signed in")
    # Conditional: a sign-out racing the renewal must not be undone by it recreating the item.
    if due and not update_if(item, [ConsoleSession.renewed_at.set(now)], ConsoleSession.pk.exists()):
        raise Unauthorized("sign in: the session has ended")
    return Session(item.email, item.subject)


def sign_out(token: str | None) -> None:
    """End the session (nothing to do for no session, or one already ended)."""
    if token and len(token) <= _TOKEN_MAX:
        ConsoleSession(_pk(token), SESSION_SK).delete()  # deleting what is not there is no error


def authorize(token: str | None, workspace_id: str | None) -> Authorized:
    """A console request: a live session (401 otherwise), a workspace named in ``X-Nudge-Workspace``
    (400 otherwise) and the user a member of it (403 otherwise). The header is what defeats cross-site
    request forgery: a page elsewhere cannot add a custom header without a CORS preflight, which the API
    never grants."""
    session = resume(token)
    if not workspace_id:
        raise InvalidRequest(
            "the X-Nudge-Workspace header must name the workspace a console request acts on",
            field=WORKSPACE_HEADER,
            reason="missing",
        )
    role = members.role_in(session.email, workspace_id)
    if role is None:
        raise Forbidden(f"{session.email} is not a member of workspace {workspace_id}")
    return Authorized(session.email, workspace_id, role)


def view(session: Session) -> dict[str, object]:
    """The session as the console reads it: the user and their workspaces with a role in each."""
    return {
        "email": session.email,
        "workspaces": [w.to_api() for w in members.workspaces_of(session.email)],
    }
