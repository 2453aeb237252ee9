"""The console's user pool on the embedded moto: the stack's pool (``infra/components/console_auth.py``)
as far as moto models one, so sign-in runs the same code locally as deployed."""

from __future__ import annotations

import io
import os
import pickle
from typing import Any

import boto3
from joserfc import jwk
from moto.cognitoidp.models import cognitoidp_backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.utilities.utils import load_resource

from nudge import settings
from nudge.console_auth import users


def create_user_pool(region: str) -> users.UserPool:
    """A pool with the deployed one's settings, and its app client for USER_PASSWORD_AUTH."""
    client: Any = boto3.client("cognito-idp", region_name=region)
    pool_id = client.create_user_pool(
        PoolName=users.POOL_NAME,
        UsernameAttributes=["email"],
        AutoVerifiedAttributes=["email"],
        Policies={
            "PasswordPolicy": {
                "MinimumLength": users.PASSWORD_MIN_LENGTH,
                "RequireLowercase": True,
                "RequireUppercase": True,
                "RequireNumbers": True,
                "RequireSymbols": True,
            }
        },
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
        AccountRecoverySetting={"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]},
    )["UserPool"]["Id"]
    client_id = client.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=users.CLIENT_NAME,
        GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        PreventUserExistenceErrors="ENABLED",
    )["UserPoolClient"]["ClientId"]
    return users.UserPool(pool_id, client_id)


def make_permanent(region: str, pool: users.UserPool, email: str, password: str) -> None:
    """Make the user's temporary ``password`` their own, as if they had chosen it at a first sign-in."""
    client: Any = boto3.client("cognito-idp", region_name=region)
    client.admin_set_user_password(UserPoolId=pool.pool_id, Username=email, Password=password, Permanent=True)


def use(pool: users.UserPool) -> None:
    """Point this process's sign-in at ``pool``, as the stack's environment does for the App function."""
    os.environ[users.POOL_ENV] = pool.pool_id
    os.environ[users.CLIENT_ENV] = pool.client_id
    settings.reload()


# --- kept with the local state (``persistence``) ---------------------------------------------------

_SIGNING_KEY = "moto-cognito-signing-key"
_DUMP_ATTEMPTS = 5


class _PoolPickler(pickle.Pickler):
    """moto signs every pool's tokens with one RSA key of its own, which does not pickle: it is left out
    by name and put back from moto's resources on load."""

    def persistent_id(self, obj: Any) -> str | None:
        return _SIGNING_KEY if isinstance(obj, jwk.RSAKey) else None


class _PoolUnpickler(pickle.Unpickler):
    def persistent_load(self, pid: Any) -> Any:
        if pid != _SIGNING_KEY:
            raise pickle.UnpicklingError(f"unknown reference {pid!r} in the saved user pools")
        return jwk.RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))  # as moto does


def _backend(region: str) -> Any:
    return cognitoidp_backends[DEFAULT_ACCOUNT_ID][region]


def dump_pools(region: str) -> bytes | None:
    """moto's user pools in ``region``, pickled (None when there are none)."""
    pools = _backend(region).user_pools
    for _ in range(_DUMP_ATTEMPTS):
        if not pools:
            return None
        buffer = io.BytesIO()
        try:
            _PoolPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(pools)
        except RuntimeError:  # a sign-in added a token while it was being pickled: take it again
            continue
        return buffer.getvalue()
    raise RuntimeError("the user pools kept changing while being saved")


def restore_pools(region: str, data: bytes) -> None:
    """Put back what ``dump_pools`` saved (the runtime's own state directory: safe to unpickle)."""
    _backend(region).user_pools.update(_PoolUnpickler(io.BytesIO(data)).load())


def pool_exists(region: str, pool: users.UserPool) -> bool:
    found = _backend(region).user_pools.get(pool.pool_id)
    return found is not None and pool.client_id in found.clients
