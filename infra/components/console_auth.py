"""The web console's users: an Amazon Cognito user pool (email as the user name, no self sign-up, a
password policy, recovery by email) and the app client the App API function signs people in with.

Why USER_PASSWORD_AUTH on a client without a secret: only the App API function calls it, server side (the
browser sends email and password to ``POST /v1/session`` and never talks to Cognito). A client secret
would sit in the same function's configuration as the client id, so it would guard nothing the function's
role does not already hold, and it would cost a Secrets Manager read per cold start. Cognito's own
protection of the sign-in (temporary lockout after repeated wrong passwords) applies either way.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.components.outputs import output
from infra.nag import acknowledge
from nudge.console_auth import users

# What the App API does with the pool beyond signing in (InitiateAuth and GetUser take no IAM
# permission): see whether a member's user exists, and create one with a password (``users.ensure_user``).
ADMIN_ACTIONS = (
    "cognito-idp:AdminGetUser",
    "cognito-idp:AdminCreateUser",
    "cognito-idp:AdminSetUserPassword",
)


class ConsoleAuth(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, stage: str) -> None:
        super().__init__(scope, construct_id)
        self.pool = cognito.UserPool(
            self,
            "Users",
            user_pool_name=f"{users.POOL_NAME}-{stage}",
            self_sign_up_enabled=False,  # members are added by an admin (the console, nudge user add)
            sign_in_aliases=cognito.SignInAliases(email=True),  # the email is the user name
            sign_in_case_sensitive=False,
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True)
            ),
            password_policy=cognito.PasswordPolicy(
                min_length=users.PASSWORD_MIN_LENGTH,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,  # "forgot password" sends a code by email
            mfa=cognito.Mfa.OFF,
            feature_plan=cognito.FeaturePlan.ESSENTIALS,
            # The users and their passwords outlive a torn-down stack, as the tables do.
            removal_policy=RemovalPolicy.RETAIN,
            deletion_protection=True,
        )
        self.client = self.pool.add_client(
            "Console",
            user_pool_client_name=users.CLIENT_NAME,
            generate_secret=False,  # see the module's docstring
            auth_flows=cognito.AuthFlow(user_password=True),
            # A wrong email and a wrong password get the same answer: no probing for who has an account.
            prevent_user_existence_errors=True,
            # Tokens are only used once, at sign-in, to name the user (the session is Nudge's own).
            access_token_validity=Duration.minutes(5),
            id_token_validity=Duration.minutes(5),
            refresh_token_validity=Duration.hours(1),
            enable_token_revocation=True,
        )
        acknowledge(
            self.pool,
            "AwsSolutions-COG2",
            "The console signs in with email and password only for now (the issue's scope); MFA needs a "
            "challenge step the console does not offer yet. Sessions are short, revocable and per role.",
        )
        acknowledge(
            self.pool,
            "AwsSolutions-COG8",
            "Threat protection (advanced security) needs Cognito's Plus plan, priced per active user; "
            "the Essentials plan still locks an account out temporarily after repeated wrong passwords.",
        )
        output(
            self,
            "ConsoleUserPoolId",
            self.pool.user_pool_id,
            "The console's Cognito user pool (give it to nudge user add as NUDGE_USER_POOL_ID)",
        )
        output(
            self,
            "ConsoleUserPoolClientId",
            self.client.user_pool_client_id,
            "The console's app client (give it to nudge user add as NUDGE_USER_POOL_CLIENT_ID)",
        )

    def grant_sign_in(self, function: lambda_.Function) -> None:
        """Tell ``function`` the pool and client, and let it create users and look them up."""
        function.add_environment(users.POOL_ENV, self.pool.user_pool_id)
        function.add_environment(users.CLIENT_ENV, self.client.user_pool_client_id)
        self.pool.grant(function, *ADMIN_ACTIONS)
