"""The console's users in the Amazon Cognito user pool: checking a password, creating a user with a
temporary password, replacing it at the first sign-in, and what Cognito says of a user now.

Cognito keeps the passwords (hashed, with its own throttling of failed attempts and recovery by email);
Nudge keeps only who is a member of which workspace. The pool and its app client come from the
environment (``NUDGE_USER_POOL_ID``, ``NUDGE_USER_POOL_CLIENT_ID``): the stack sets them on the App API
function, the local runtime on itself. Locally the pool is moto's, called through the same code.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from botocore.exceptions import ClientError

from nudge import aws_clients
from nudge.errors import InvalidRequest, NudgeError, Unauthorized
from nudge.settings import CONSOLE_CLIENT_ENV, CONSOLE_POOL_ENV, get_settings

POOL_ENV = CONSOLE_POOL_ENV
CLIENT_ENV = CONSOLE_CLIENT_ENV
# The pool's password policy (the stack's and the local runtime's pool alike): 12 characters or more,
# with a lower-case and an upper-case letter, a digit and a symbol.
PASSWORD_MIN_LENGTH = 12
PASSWORD_LENGTH = 20  # what Nudge generates: more than the policy asks
PASSWORD_MAX_LENGTH = 256  # Cognito's own limit: longer can never be right
POOL_NAME = "nudge-console-users"
CLIENT_NAME = "nudge-console"
# What Cognito answers for a wrong password, an unknown user (the deployed client hides which one it
# is), a disabled user or one who must reset their password: all a 401, with one message.
_REFUSALS = {
    "NotAuthorizedException",
    "UserNotFoundException",
    "UserNotConfirmedException",
    "PasswordResetRequiredException",
}
WRONG_CREDENTIALS = "wrong email or password"
NEW_PASSWORD_REQUIRED = "NEW_PASSWORD_REQUIRED"  # noqa: S105 (a challenge name, not a password)
# Cognito's user statuses Nudge acts on: a user who signed in and chose their password, and one created
# with a temporary password who has not yet.
CONFIRMED = "CONFIRMED"
PENDING = "FORCE_CHANGE_PASSWORD"


class UserPoolNotConfigured(RuntimeError):
    """The environment names no user pool: the console's sign-in is not set up here."""


class NewPasswordRequired(NudgeError):
    """The password is right but temporary: the user must choose their own (``complete_new_password``)
    before a session opens. The App API answers 403 with the code ``new_password_required``."""

    code = "new_password_required"


@dataclass(frozen=True)
class Identity:
    email: str
    subject: str  # Cognito's ``sub``: stable for the user's life
    modified: str  # Cognito's last change to the user (a new password is one), as ISO 8601


@dataclass(frozen=True)
class UserState:
    """What Cognito says of a user now."""

    identity: Identity
    enabled: bool
    status: str  # CONFIRMED, FORCE_CHANGE_PASSWORD, RESET_REQUIRED, ...


@dataclass(frozen=True)
class UserPool:
    pool_id: str
    client_id: str


def user_pool() -> UserPool:
    settings = get_settings()
    pool_id, client_id = settings.console_user_pool_id, settings.console_client_id
    if not pool_id or not client_id:
        raise UserPoolNotConfigured(f"set {POOL_ENV} and {CLIENT_ENV} (the stack's ConsoleUserPool outputs)")
    return UserPool(pool_id, client_id)


@lru_cache(maxsize=1)
def _client() -> Any:
    return aws_clients.client("cognito-idp")


def _code(exc: ClientError) -> str | None:
    return exc.response.get("Error", {}).get("Code")


def _initiate(pool: UserPool, email: str, password: str) -> dict[str, Any]:
    if len(password) > PASSWORD_MAX_LENGTH:
        raise Unauthorized(WRONG_CREDENTIALS)
    try:
        answer: dict[str, Any] = _client().initiate_auth(
            ClientId=pool.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": password},
        )
    except ClientError as exc:
        if _code(exc) in _REFUSALS:
            raise Unauthorized(WRONG_CREDENTIALS) from exc
        raise  # Cognito unavailable or throttling: the edge answers 503
    return answer


def _signed_in(email: str, answer: dict[str, Any]) -> Identity:
    if answer.get("AuthenticationResult") is None:
        # Another challenge (MFA, which the pool does not enable): the console offers only the password.
        raise Unauthorized(f"sign-in needs a step the console does not offer ({answer.get('ChallengeName')})")
    # The tokens are not kept: the session is Nudge's own. Cognito names the user and says when it last
    # changed, which the session remembers to notice a later password change.
    return state(email).identity


def authenticate(email: str, password: str) -> Identity:
    """The user whose email and password these are, as Cognito says; ``Unauthorized`` when they are
    not; ``NewPasswordRequired`` when the password is a temporary one."""
    answer = _initiate(user_pool(), email, password)
    if answer.get("ChallengeName") == NEW_PASSWORD_REQUIRED:
        raise NewPasswordRequired(
            "a new password is required: this password is temporary; choose your own with "
            "POST /v1/session/password"
        )
    return _signed_in(email, answer)


def complete_new_password(email: str, password: str, new_password: str) -> Identity:
    """Replace the temporary ``password`` with ``new_password``; the user, signed in. The temporary
    password is checked again here (so this route needs nothing from the refused sign-in), and a
    password that is not temporary is refused: changing a chosen password is Cognito's reset by email."""
    pool = user_pool()
    answer = _initiate(pool, email, password)
    if answer.get("ChallengeName") != NEW_PASSWORD_REQUIRED:
        raise InvalidRequest(
            "password is not a temporary one: sign in with it (POST /v1/session)",
            field="password",
            reason="not_temporary",
        )
    try:
        done: dict[str, Any] = _client().respond_to_auth_challenge(
            ClientId=pool.client_id,
            ChallengeName=NEW_PASSWORD_REQUIRED,
            Session=answer["Session"],
            ChallengeResponses={"USERNAME": email, "NEW_PASSWORD": new_password},
        )
    except ClientError as exc:
        if _code(exc) == "InvalidPasswordException":
            raise InvalidRequest(
                f"new_password must have at least {PASSWORD_MIN_LENGTH} characters, with a lower-case and "
                "an upper-case letter, a digit and a symbol",
                field="new_password",
            ) from exc
        if _code(exc) in _REFUSALS:
            raise Unauthorized(WRONG_CREDENTIALS) from exc
        raise
    return _signed_in(email, done)


def state(email: str) -> UserState:
    """The user as Cognito has them now, or ``Unauthorized`` when the pool has no such user."""
    pool = user_pool()
    try:
        user = _client().admin_get_user(UserPoolId=pool.pool_id, Username=email)
    except ClientError as exc:
        if _code(exc) == "UserNotFoundException":
            raise Unauthorized(WRONG_CREDENTIALS) from exc
        raise
    attributes = {a["Name"]: a["Value"] for a in user.get("UserAttributes", [])}
    identity = Identity(
        email=attributes.get("email", email).lower(),
        subject=attributes.get("sub", user["Username"]),
        modified=user["UserLastModifiedDate"].isoformat(),
    )
    return UserState(identity, bool(user.get("Enabled", True)), str(user.get("UserStatus", "")))


def status(email: str) -> str | None:
    """The user's Cognito status (``CONFIRMED``, ``PENDING``, ...), or None when the pool has no such
    user."""
    try:
        return state(email).status
    except Unauthorized:
        return None


def create_user(email: str) -> str:
    """A new user with a generated temporary password, returned to be handed over once (Nudge stores
    none). It signs in once, and only to choose the user's own password: whoever handed it over knows
    the temporary one, never the chosen one. It expires after the pool's temporary-password validity."""
    password = generate_password()
    _client().admin_create_user(
        UserPoolId=user_pool().pool_id,
        Username=email,
        UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
        TemporaryPassword=password,
        MessageAction="SUPPRESS",  # handed over by whoever added the user, not emailed
    )
    return password


def reissue_temporary_password(email: str) -> str:
    """A new temporary password for a user who has not chosen theirs yet (an add retried after its
    answer was lost, or a password handed over and forgotten)."""
    password = generate_password()
    _client().admin_set_user_password(
        UserPoolId=user_pool().pool_id, Username=email, Password=password, Permanent=False
    )
    return password


def generate_password() -> str:
    """Random, with a character of each class the pool's policy asks for."""
    classes = (string.ascii_lowercase, string.ascii_uppercase, string.digits, "!#%*+-=?@^_")
    chosen = [secrets.choice(c) for c in classes]
    everything = "".join(classes)
    chosen += [secrets.choice(everything) for _ in range(PASSWORD_LENGTH - len(chosen))]
    secrets.SystemRandom().shuffle(chosen)
    return "".join(chosen)
