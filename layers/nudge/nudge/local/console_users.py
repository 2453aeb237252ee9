"""The console's user pool on the embedded moto: the stack's pool (``infra/components/console_auth.py``)
as far as moto models one, so sign-in runs the same code locally as deployed."""

from __future__ import annotations

import os
from typing import Any

import boto3

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


def use(pool: users.UserPool) -> None:
    """Point this process's sign-in at ``pool``, as the stack's environment does for the App function."""
    os.environ[users.POOL_ENV] = pool.pool_id
    os.environ[users.CLIENT_ENV] = pool.client_id
