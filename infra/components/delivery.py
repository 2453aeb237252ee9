"""Sending messages, and hearing back: one construct per concern.

- ``EmailEvents``: the SES configuration set every email is sent with, and the encrypted topic it
  publishes each message's events to (sends, deliveries, bounces, complaints, opens, clicks, ...).
- ``FeedbackSubscription``: the feedback function on that topic, with both asynchronous hops (SNS
  delivering to Lambda, then Lambda running it) dead-lettered.
- ``LinkSecret``: the secret that signs the links in messages (and derives webhook signing keys).
- ``PushApplication``: the push application (AWS End User Messaging push), when push is enabled.
- ``SmsSending``: leave to text phone numbers through SNS.

What CDK cannot set, and stays with the account's operator: the SES domain identity for the sender domain
(DNS records, then production access out of the SES sandbox); SMS spend limits, the default SMS type and
origination identities (account-level SNS SMS and AWS End User Messaging SMS settings, in the console or
``aws sns set-sms-attributes``); the push application's APNs and FCM credentials.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_pinpoint as pinpoint
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.components.dead_letters import DeadLetterQueue
from infra.components.outputs import output
from infra.nag import acknowledge

# The events SES reports about a message that the feedback function turns into delivery metrics, blocked
# addresses and unsubscribes. Not SEND: the send pipeline records a message sent itself, so the event
# would change nothing and cost an SNS publish and a feedback invocation per email (``bench/README.md``).
# Not OPEN or CLICK: publishing those makes SES add its own pixel and rewrite links, on top of Nudge's
# signed ones.
EMAIL_EVENTS = (
    ses.EmailSendingEvent.DELIVERY,
    ses.EmailSendingEvent.BOUNCE,
    ses.EmailSendingEvent.COMPLAINT,
    ses.EmailSendingEvent.REJECT,
    ses.EmailSendingEvent.DELIVERY_DELAY,
    ses.EmailSendingEvent.RENDERING_FAILURE,
)
# The SES v2 SendEmail call (raw content) is authorized as both actions, depending on the content type.
SES_SEND_ACTIONS = ("ses:SendEmail", "ses:SendRawEmail")
# SNS tries a Lambda delivery again and again before giving up to the subscription's dead-letter queue;
# Lambda then retries a failed run twice. An event older than this is dead-lettered instead: applying
# one late is harmless (metrics keep their first time), but six hours of failures means something to fix.
FEEDBACK_RETRY_ATTEMPTS = 2
FEEDBACK_MAX_EVENT_AGE = Duration.hours(6)
LINK_SECRET_LENGTH = 64


class EmailEvents(Construct):
    """The configuration set every email goes out with, and the topic its events are published to."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.configuration_set = ses.ConfigurationSet(
            self,
            "ConfigurationSet",
            # Bounce and complaint rates per configuration set, next to the account's: the numbers SES
            # pauses sending on.
            reputation_metrics=True,
            sending_enabled=True,
        )
        # A customer managed key, not alias/aws/sns: SES publishes to an encrypted topic only if the key
        # policy lets it use the key, and the AWS managed key's policy cannot be changed.
        self.key = kms.Key(
            self,
            "TopicKey",
            description="Nudge SES event topic",
            enable_key_rotation=True,
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="SesPublishesEncryptedEvents",
                principals=[iam.ServicePrincipal("ses.amazonaws.com")],
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                resources=["*"],  # in a key policy: this key
                # This account's SES only; which configuration set may publish is the topic policy's
                # business (the event destination adds it, scoped to this configuration set).
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name="Nudge SES events",
            master_key=self.key,
            enforce_ssl=True,
            # SHA256withRSA signatures, which the feedback function verifies.
            signature_version="2",
        )
        self.destination = ses.ConfigurationSetEventDestination(
            self,
            "ToTopic",
            configuration_set=self.configuration_set,
            destination=ses.EventDestination.sns_topic(self.topic),
            events=list(EMAIL_EVENTS),
        )
        output(
            self,
            "EmailConfigurationSetName",
            self.configuration_set_name,
            "SES configuration set every email is sent with",
        )
        output(self, "FeedbackTopicArn", self.topic.topic_arn, "SNS topic SES publishes email events to")

    @property
    def configuration_set_name(self) -> str:
        return self.configuration_set.configuration_set_name

    @property
    def configuration_set_arn(self) -> str:
        return Stack.of(self).format_arn(
            service="ses", resource="configuration-set", resource_name=self.configuration_set_name
        )

    def grant_send(self, grantee: iam.IGrantable, *, sender_domain: str) -> iam.Grant:
        """Send email from ``sender_domain``'s identity, with this configuration set, and nothing else."""
        identity = Stack.of(self).format_arn(service="ses", resource="identity", resource_name=sender_domain)
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(SES_SEND_ACTIONS),
            resource_arns=[identity, self.configuration_set_arn],
        )


class FeedbackSubscription(Construct):
    """``function`` subscribed to ``topic``; what neither SNS nor Lambda could get through, kept."""

    def __init__(
        self, scope: Construct, construct_id: str, *, topic: sns.ITopic, function: lambda_.Function
    ) -> None:
        super().__init__(scope, construct_id)
        # One queue for both hops, like a schedule's: SNS failing to invoke the function (a permission,
        # a deleted function), then the function failing its runs (a forged notification, an outage).
        self.dead_letters = DeadLetterQueue(
            self, "Failures", receives="SES events the feedback function was never given or failed on"
        )
        topic.add_subscription(
            subscriptions.LambdaSubscription(function, dead_letter_queue=self.dead_letters.queue)
        )
        # The function accepts notifications of this topic only (SNS signs every account's topics alike).
        function.add_environment("NUDGE_FEEDBACK_TOPIC_ARN", topic.topic_arn)
        function.configure_async_invoke(
            retry_attempts=FEEDBACK_RETRY_ATTEMPTS,
            max_event_age=FEEDBACK_MAX_EVENT_AGE,
            on_failure=destinations.SqsDestination(self.dead_letters.queue),
        )


class LinkSecret(Construct):
    """The secret that signs every tracking, unsubscribe and view-in-browser link, and from which each
    workspace's webhook signing key is derived."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.secret = secretsmanager.Secret(
            self,
            "Secret",
            description="Nudge link-signing secret (tracking, unsubscribe and view-in-browser links)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                exclude_punctuation=True, password_length=LINK_SECRET_LENGTH
            ),
            # Links in messages already sent must keep working (an unsubscribe link above all): the
            # secret outlives the stack, and a replaced one would break every link sent before.
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.secret,
            "AwsSolutions-SMG4",
            "Rotating the link secret would invalidate every link in messages already sent, unsubscribe "
            "links included, and change every workspace's derived webhook signing key; it is rotated by "
            "hand, deliberately, never on a schedule.",
        )
        output(
            self,
            "LinkSecretArn",
            self.arn,
            "Secrets Manager secret that signs message links (rotating it breaks sent links)",
        )

    @property
    def arn(self) -> str:
        return self.secret.secret_arn

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        return self.secret.grant_read(grantee)


class PushApplication(Construct):
    """A push application: the Pinpoint ``SendMessages`` API addressed to device tokens (never
    endpoints, segments or journeys). Its APNs and FCM channels hold credentials, set outside this app."""

    def __init__(self, scope: Construct, construct_id: str, *, name: str) -> None:
        super().__init__(scope, construct_id)
        self.app = pinpoint.CfnApp(self, "App", name=name)
        # Both CloudFormation validators flag every AWS::Pinpoint resource type as shutting down on
        # 2026-10-30. What ended then is Pinpoint's engagement side; push applications and SendMessages
        # carry on as AWS End User Messaging push, whose applications are still this resource type.
        reason = (
            "A push application and SendMessages are AWS End User Messaging push, which outlives "
            "Pinpoint's end of support; only endpoints, segments, campaigns and journeys ended, and "
            "none of them is used."
        )
        acknowledge(self.app, "CloudFormation-Validate::W3696", reason)
        self.app.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3696"]}})
        output(
            self,
            "PushApplicationId",
            self.application_id,
            "Push application: set its APNs and FCM credentials",
        )

    @property
    def application_id(self) -> str:
        return self.app.ref

    def grant_send(self, grantee: iam.IGrantable) -> iam.Grant:
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["mobiletargeting:SendMessages"],
            resource_arns=[f"{self.app.attr_arn}/messages"],
        )


class SmsSending(Construct):
    """Leave for ``function`` to text phone numbers with SNS ``Publish``, in a policy of its own so that
    its unavoidable wildcard is accepted on exactly this statement."""

    def __init__(self, scope: Construct, construct_id: str, *, function: lambda_.Function) -> None:
        super().__init__(scope, construct_id)
        if function.role is None:
            raise ValueError("SMS sending is granted to a function's role")
        self.policy = iam.Policy(
            self,
            "Policy",
            roles=[function.role],
            statements=[iam.PolicyStatement(actions=["sns:Publish"], resources=["*"])],
        )
        acknowledge(
            self.policy,
            "AwsSolutions-IAM5[Resource::*]",
            "SNS Publish to a phone number has no resource ARN, so IAM takes only * for it, and no condition "
            "key names the phone number; this policy holds that one action, for the send function alone. "
            "Spend is capped by the account's SMS spend limit, set in the console.",
        )
        # The function's first send must find the permission, as it finds the rest of its role's policy.
        function.node.add_dependency(self.policy)
