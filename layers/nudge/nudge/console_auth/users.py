"""The console's users in the Amazon Cognito user pool: checking a password, creating a user.

Cognito keeps the passwords (hashed, with its own throttling of failed attempts and recovery by email);
Nudge keeps only who is a member of which workspace. The pool and its app client come from the
environment (``NUDGE_USER_POOL_ID``, ``NUDGE_USER_POOL_CLIENT_ID``): the stack sets them on the App API
function, the local runtime on itself. Locally the pool is moto's, called through the same code.
"""

from __future__ import annotations

import os
import secrets
import string
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import boto3
from botocore.exceptions import ClientError

from nudge.errors import Unauthorized
from nudge.settings import get_settings

POOL_ENV = "NUDGE_USER_POOL_ID"
CLIENT_ENV = "NUDGE_USER_POOL_CLIENT_ID"
# The pool's password policy (the stack's and the local runtime's pool alike): 12 characters or more,
# with a lower-case and an upper-case letter, a digit and a symbol.
PASSWORD_MIN_LENGTH = 12
PASSWORD_LENGTH = 20  # what Nudge generates: more than the policy asks
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


class UserPoolNotConfigured(RuntimeError):
    """The environment names no user pool: the console's sign-in is not set up here."""


@dataclass(frozen=True)
class Identity:
    email: str
    subject: str  # Cognito's ``sub``: stable for the user's life


@dataclass(frozen=True)
class UserPool:
    pool_id: str
    client_id: str


def user_pool() -> UserPool:
    pool_id, client_id = os.environ.get(POOL_ENV), os.environ.get(CLIENT_ENV)
    if not pool_id or not client_id:
        raise UserPoolNotConfigured(f"set {POOL_ENV} and {CLIENT_ENV} (the stack's ConsoleUserPool outputs)")
    return UserPool(pool_id, client_id)


@lru_cache(maxsize=1)
def _client() -> Any:
    return boto3.client("cognito-idp", region_name=get_settings().region)


def authenticate(email: str, password: str) -> Identity:
    """The user whose email and password these are, as Cognito says, or ``Unauthorized``."""
    pool = user_pool()
    try:
        answer = _client().initiate_auth(
            ClientId=pool.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": password},
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _REFUSALS:
            raise Unauthorized(WRONG_CREDENTIALS) from exc
        raise  # Cognito unavailable or throttling: the edge answers 503
    result = answer.get("AuthenticationResult")
    if result is None:
        # A challenge (a temporary password to replace, MFA): the console signs in with a password only,
        # and Nudge creates users with permanent ones. Such a user resets their password by email.
        raise Unauthorized(f"sign-in needs a step the console does not offer ({answer.get('ChallengeName')})")
    # Cognito checks its own access token here (signature, expiry, the user still enabled) and names the
    # user: the identity a session is mapped to. The tokens are not kept.
    user = _client().get_user(AccessToken=result["AccessToken"])
    attributes = {a["Name"]: a["Value"] for a in user.get("UserAttributes", [])}
    return Identity(
        email=attributes.get("email", email).lower(), subject=attributes.get("sub", user["Username"])
    )


def ensure_user(email: str) -> str | None:
    """Create the user if the pool has none with this email; the generated password (shown once, never
    stored by Nudge), or None when the user already existed."""
    pool = user_pool()
    try:
        _client().admin_get_user(UserPoolId=pool.pool_id, Username=email)
        return None
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "UserNotFoundException":
            raise
    password = generate_password()
    _client().admin_create_user(
        UserPoolId=pool.pool_id,
        Username=email,
        UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
        MessageAction="SUPPRESS",  # the password is handed over by whoever added the user, not emailed
    )
    # Permanent: the console signs in with email and password only (no forced change); a user who wants
    # another one resets it by email.
    _client().admin_set_user_password(
        UserPoolId=pool.pool_id, Username=email, Password=password, Permanent=True
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
