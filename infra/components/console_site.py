"""The web console, deployed: its build in a private bucket behind a CloudFront distribution that also
routes the App API's paths to the HTTP API, so the console and the API share one origin (no CORS, and the
session cookie, SameSite=Strict, goes with every API call).

- **The bucket** is private (all public access blocked, TLS only, owner-enforced objects); only this
  distribution reads it, through origin access control (SigV4-signed requests, allowed by the bucket policy
  for this distribution's ARN alone), never the legacy origin access identity.
- **The default behaviour** serves the bucket, cached (CachingOptimized), with a CloudFront Function on
  viewer requests (``console_viewer_request.js``) that answers the single-page app's deep links
  (``/console/people/123``) with ``/console/index.html``: an API path never reaches it.
- **One behaviour per App API path prefix** (``/v1/*``, from the route table) goes to the HTTP API over
  HTTPS, never cached (CachingDisabled), with every viewer header, cookie and query string except Host
  (AllViewerExceptHostHeader: API Gateway must see its own host name). API Gateway then tells the function
  ``X-Forwarded-Proto: https``, so the session cookie is Secure.
- **Security headers** on every answer (``nudge.console_site``: the CSP the local runtime sends too, HSTS,
  frame denial, nosniff, a referrer policy).
- **The build** (``console/dist``, built during synth without Docker by ``infra/console_build.py``) is
  uploaded by two ``BucketDeployment``s: first the hashed ``assets/`` (immutable), then ``index.html``
  (revalidated), so a new index.html never names a chunk not yet there; then the console's paths are
  invalidated. Nothing is pruned: a console opened before a deploy still loads its own release's chunks.

With context ``console_domain`` and ``console_certificate_arn`` (ACM in us-east-1, as CloudFront requires)
the distribution answers on that name with TLS 1.2 at least; the DNS record is made outside this app.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import cast

from aws_cdk import CfnElement, CfnResource, Duration, Fn, RemovalPolicy, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct, IConstruct

from infra.components.outputs import output
from infra.config import DeployConfig
from infra.nag import acknowledge
from nudge import console_site

VIEWER_REQUEST_CODE = Path(__file__).with_name("console_viewer_request.js")
# The console's files live under the same key prefix as their path: /console/x is the object console/x.
KEY_PREFIX = console_site.PREFIX.lstrip("/")
ASSETS_FOLDER = "assets"  # Vite's folder of content-hashed files


def api_path_patterns(paths: Iterable[str]) -> list[str]:
    """The distribution's path patterns that send requests to the API: one per first path segment of the
    API's routes (``/v1/customers`` -> ``/v1/*``), so a route added later, under any prefix, is routed
    without a change here."""
    prefixes = {path.split("/")[1] for path in paths}
    if "" in prefixes or console_site.PREFIX.strip("/") in prefixes:
        raise ValueError(f"API paths must not be the site's root or its console: {sorted(prefixes)}")
    return [f"/{prefix}/*" for prefix in sorted(prefixes)]


class ConsoleSite(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dist: Path,
        api: apigwv2.HttpApi,
        api_paths: Iterable[str],
        config: DeployConfig,
    ) -> None:
        super().__init__(scope, construct_id)
        if not (dist / "index.html").is_file():
            raise FileNotFoundError(f"{dist} has no index.html: build the console first")
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            # Kept when the stack is deleted, as the exports bucket is (a non-empty bucket would fail the
            # deletion, and emptying it takes a custom resource). Not versioned: every object is a build
            # output of a commit, and rolling back is deploying that commit again.
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.bucket,
            "AwsSolutions-S1",
            "The bucket holds only the console's public build (no data), written only by the stack's "
            "deployment and read only by the distribution; server access logs would need a second bucket "
            "and record nothing the HTTP API's access logs and CloudTrail do not.",
        )
        self.headers = self._security_headers()
        self.viewer_request = cloudfront.Function(
            self,
            "Routing",
            code=cloudfront.FunctionCode.from_file(file_path=str(VIEWER_REQUEST_CODE)),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
            comment="The console's deep links answered with its index.html",
        )
        certificate = (
            acm.Certificate.from_certificate_arn(self, "Certificate", config.console_certificate_arn)
            if config.console_domain
            else None
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"Nudge console and App API ({config.stage})",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=self.headers,
                compress=True,
                function_associations=[
                    cloudfront.FunctionAssociation(
                        function=self.viewer_request, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST
                    )
                ],
            ),
            additional_behaviors=dict.fromkeys(api_path_patterns(api_paths), self._api_behaviour(api)),
            domain_names=[config.console_domain] if config.console_domain else None,
            certificate=certificate,
            # Settable only with a certificate of our own: the *.cloudfront.net one's policy is CloudFront's.
            minimum_protocol_version=(
                cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 if config.console_domain else None
            ),
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
        )
        self._acknowledge_distribution(config)
        self._deploy(dist, logs.LogGroup(self, "DeploymentLogs", retention=config.retention))
        host = config.console_domain or self.distribution.distribution_domain_name
        self.url = f"https://{host}{console_site.PREFIX}"
        output(self, "ConsoleUrl", self.url, "The web console (sign in with a user added by nudge user add)")
        if config.console_domain:
            output(
                self,
                "ConsoleDomainTarget",
                self.distribution.distribution_domain_name,
                f"Point {config.console_domain} here (a CNAME, or a Route 53 alias)",
            )

    def _api_behaviour(self, api: apigwv2.HttpApi) -> cloudfront.BehaviorOptions:
        # https://<id>.execute-api.<region>.amazonaws.com -> its host name.
        host = Fn.select(2, Fn.split("/", api.api_endpoint))
        return cloudfront.BehaviorOptions(
            origin=origins.HttpOrigin(
                host,
                protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
                origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
            ),
            # Credentials and sign-in passwords travel here: refused over plain HTTP, never redirected.
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
            cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
            origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
            response_headers_policy=self.headers,
        )

    def _security_headers(self) -> cloudfront.ResponseHeadersPolicy:
        return cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            comment="The Nudge console's security headers (nudge.console_site)",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=console_site.CONTENT_SECURITY_POLICY, override=True
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.seconds(console_site.HSTS_SECONDS),
                    include_subdomains=False,  # a console domain's subdomains are the operator's business
                    override=True,
                ),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
                    override=True,
                ),
            ),
        )

    def _deploy(self, dist: Path, log_group: logs.ILogGroup) -> None:
        # Both deployments run on the one handler CDK makes per stack (each also declares an AWS CLI layer
        # version of the same asset; the handler uses the first's).
        assets = s3deploy.BucketDeployment(
            self,
            "DeployAssets",
            sources=[s3deploy.Source.asset(str(dist / ASSETS_FOLDER))],
            destination_bucket=self.bucket,
            destination_key_prefix=f"{KEY_PREFIX}{ASSETS_FOLDER}/",
            cache_control=[s3deploy.CacheControl.from_string(console_site.IMMUTABLE)],
            prune=False,
            memory_limit=256,
            log_group=log_group,
        )
        pages = s3deploy.BucketDeployment(
            self,
            "DeployPages",
            sources=[s3deploy.Source.asset(str(dist), exclude=[ASSETS_FOLDER])],
            destination_bucket=self.bucket,
            destination_key_prefix=KEY_PREFIX,
            cache_control=[s3deploy.CacheControl.from_string(console_site.REVALIDATE)],
            prune=False,
            memory_limit=256,
            log_group=log_group,
            distribution=self.distribution,
            distribution_paths=[f"{console_site.PREFIX}*"],
        )
        pages.node.add_dependency(assets)
        handler = _bucket_deployment_handler(Stack.of(self))
        _quiet_redundant_role_dependency(handler)
        self._acknowledge_deployment_handler(handler)

    def _acknowledge_distribution(self, config: DeployConfig) -> None:
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR1",
            "The console and the App API serve customers' teams wherever they work; sign-in is guarded "
            "by Cognito's throttling and lockout, not by country.",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR2",
            "A WAF web ACL here would guard only this route to the API: the HTTP API's own URL (what "
            "Customer.io clients call) takes no WAF. The API throttles per stage, checks every credential, "
            "and Cognito locks out repeated wrong passwords.",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR3",
            "Every API request is in the HTTP API's access logs; the rest are the console's static files. "
            "CloudFront's standard logs would need an ACL-enabled bucket and would hold the cookies' "
            "presence and viewers' addresses for nothing the API logs lack.",
        )
        if not config.console_domain:
            acknowledge(
                self.distribution,
                "AwsSolutions-CFR4",
                "Without context console_domain the distribution answers on its *.cloudfront.net name, "
                "whose certificate CloudFront manages and whose minimum TLS version cannot be set; with a "
                "console domain it is TLS 1.2 (TLSv1.2_2021).",
            )

    def _acknowledge_deployment_handler(self, handler: IConstruct) -> None:
        """cdk-nag's findings on the stack's one BucketDeployment handler (a singleton CDK makes, with
        CDK's own grants), each by its exact finding."""
        acknowledge(
            handler,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]",
            "CDK's BucketDeployment handler logs with AWSLambdaBasicExecutionRole; it runs only during "
            "deploys, and only CDK configures it.",
        )
        copies = (
            "CDK's BucketDeployment handler copies the console's build from the CDK assets bucket into the "
            "console bucket with the AWS CLI (s3 sync), under CDK's own read and write grants"
        )
        for action in ("s3:GetBucket*", "s3:GetObject*", "s3:List*", "s3:Abort*", "s3:DeleteObject*"):
            acknowledge(handler, f"AwsSolutions-IAM5[Action::{action}]", f"{copies}: {action}.")
        assets_bucket = "arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*"
        acknowledge(
            handler, f"AwsSolutions-IAM5[Resource::{assets_bucket}]", f"{copies}: it reads the asset's zip."
        )
        acknowledge(
            handler,
            f"AwsSolutions-IAM5[Resource::<{_logical_id(self.bucket)}.Arn>/*]",
            f"{copies}: it writes every file of the build, named by the build, into this one bucket.",
        )
        acknowledge(
            handler,
            "AwsSolutions-IAM5[Resource::*]",
            "CDK's BucketDeployment handler invalidates the distribution's cache after a deploy "
            "(cloudfront:CreateInvalidation and GetInvalidation, which CDK grants on every distribution).",
        )
        acknowledge(
            handler,
            "AwsSolutions-L1",
            "The BucketDeployment handler's runtime is chosen by the CDK library, which bundles the AWS CLI "
            "for it, and moves with CDK upgrades.",
        )


def _logical_id(bucket: s3.Bucket) -> str:
    stack = Stack.of(bucket)
    return str(stack.resolve(stack.get_logical_id(cast(CfnElement, bucket.node.default_child))))


def _quiet_redundant_role_dependency(handler: IConstruct) -> None:
    """CDK makes its handler function depend on its role's policy (the first invocation must find it) and
    on the role, which cfn-lint rightly calls redundant next to the GetAtt (W3005): silenced on that
    resource only, as on the broadcast machine (infra/components/campaigns.py)."""
    function = cast(lambda_.Function, handler)
    cast(CfnResource, function.node.default_child).add_metadata(
        "cfn-lint", {"config": {"ignore_checks": ["W3005"]}}
    )


def _bucket_deployment_handler(stack: Stack) -> IConstruct:
    found = [c for c in stack.node.children if c.node.id.startswith("Custom::CDKBucketDeployment")]
    if len(found) != 1:
        raise LookupError(f"expected one BucketDeployment handler in the stack, found {len(found)}")
    return found[0]
