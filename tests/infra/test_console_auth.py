"""The console's user pool in the stack: no self sign-up, email as the user name, the password policy the
code generates passwords for, recovery by email, an app client for USER_PASSWORD_AUTH without a secret,
and the App API function told of both and granted only the admin calls it makes; the console's members
and sessions in a table the App API writes, while workspaces stay read only to it."""

from __future__ import annotations

from typing import Any

import pytest

from infra.components.console_auth import ADMIN_ACTIONS
from nudge.console_auth import users
from tests.infra.conftest import Synthesized, as_list
from tests.infra.test_stack import WRITE_ACTIONS, table, table_actions, table_variables

pytestmark = pytest.mark.infra


def pool(synth: Synthesized) -> tuple[str, dict[str, Any]]:
    return synth.one_of_type("AWS::Cognito::UserPool")


def test_the_pool_is_invitation_only_with_email_names_a_strong_policy_and_email_recovery(
    synthesized: Synthesized,
) -> None:
    _, resource = pool(synthesized)
    properties = resource["Properties"]

    assert properties["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert properties["UsernameAttributes"] == ["email"]
    policy = properties["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] == users.PASSWORD_MIN_LENGTH
    assert all(
        policy[k] for k in ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols")
    )
    assert properties["AccountRecoverySetting"]["RecoveryMechanisms"] == [
        {"Name": "verified_email", "Priority": 1}
    ]
    assert resource["DeletionPolicy"] == "Retain"


def test_generated_passwords_meet_the_pool_policy() -> None:
    for _ in range(50):
        password = users.generate_password()
        assert len(password) >= users.PASSWORD_MIN_LENGTH
        assert any(c.islower() for c in password) and any(c.isupper() for c in password)
        assert any(c.isdigit() for c in password) and any(not c.isalnum() for c in password)


def test_the_client_signs_in_with_a_password_has_no_secret_and_hides_who_exists(
    synthesized: Synthesized,
) -> None:
    _, client = synthesized.one_of_type("AWS::Cognito::UserPoolClient")
    properties = client["Properties"]

    assert set(properties["ExplicitAuthFlows"]) == {"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
    assert properties.get("GenerateSecret", False) is False
    assert properties["PreventUserExistenceErrors"] == "ENABLED"


def test_the_app_api_is_told_the_pool_and_granted_only_its_admin_calls(synthesized: Synthesized) -> None:
    pool_id, _ = pool(synthesized)
    variables = synthesized.variables("api")

    assert variables[users.POOL_ENV] == {"Ref": pool_id}
    assert users.CLIENT_ENV in variables
    cognito = [
        s
        for s in synthesized.role_statements(synthesized.role_of("api"))
        if any(str(a).startswith("cognito-idp:") for a in as_list(s["Action"]))
    ]
    assert [sorted(as_list(s["Action"])) for s in cognito] == [sorted(ADMIN_ACTIONS)]
    assert cognito[0]["Resource"] == {"Fn::GetAtt": [pool_id, "Arn"]}
    for other in ("track", "evaluate", "send"):
        assert users.POOL_ENV not in synthesized.variables(other)


def test_the_app_api_writes_members_and_sessions_in_their_own_table_and_never_workspaces(
    synthesized: Synthesized,
) -> None:
    granted = table_actions(synthesized, "api")

    # Sessions are put, renewed (updated) and deleted; memberships are put and deleted in transactions.
    assert {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"} <= granted["console"]
    assert {"dynamodb:GetItem", "dynamodb:Query"} <= granted["console"]
    assert granted["workspaces"] and granted["workspaces"].isdisjoint(WRITE_ACTIONS)
    assert "console" in table_variables(synthesized, "api")


def test_sessions_expire_by_ttl_in_the_console_table(synthesized: Synthesized) -> None:
    console = table(synthesized, "console")["Properties"]

    assert console["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert [k["AttributeName"] for k in console["KeySchema"]] == ["pk", "sk"]
