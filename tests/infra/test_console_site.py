"""The web console, deployed (infra/components/console_site.py): its build in a private bucket read only
through CloudFront's origin access control, the App API's paths on the same distribution, deep links
answered by a CloudFront Function, the security headers, the upload of the built console and the
ConsoleUrl output. The console's own domain (context console_domain) is in test_custom_domain."""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra.components.console_site import VIEWER_REQUEST_CODE, api_path_patterns
from infra.console_build import CONSOLE_DIR
from nudge import console_site
from nudge.http.app_api.routes import ROUTES as APP_ROUTES
from nudge.http.routing import APP_OLDER_BASE
from nudge.http.track_api import ROUTES as TRACK_ROUTES
from nudge_tools.local.static import StaticSite
from tests.infra.conftest import Synthesized, as_list

pytestmark = pytest.mark.infra

# CloudFront's managed policies, by their fixed ids.
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
ALL_METHODS = {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}


def console_bucket(synth: Synthesized) -> tuple[str, dict[str, Any]]:
    (found,) = [(k, r) for k, r in synth.of_type("AWS::S3::Bucket").items() if k.startswith("Console")]
    return found


def distribution(synth: Synthesized) -> tuple[str, dict[str, Any]]:
    logical_id, resource = synth.one_of_type("AWS::CloudFront::Distribution")
    return logical_id, resource["Properties"]["DistributionConfig"]


def origin(synth: Synthesized, origin_id: str) -> dict[str, Any]:
    (found,) = [o for o in distribution(synth)[1]["Origins"] if o["Id"] == origin_id]
    return dict(found)


def deployments(synth: Synthesized) -> dict[str, dict[str, Any]]:
    """The console's two uploads, by destination key prefix."""
    found = synth.of_type("Custom::CDKBucketDeployment")
    return {r["Properties"]["DestinationBucketKeyPrefix"]: {"id": k, **r} for k, r in found.items()}


def staged(synth: Synthesized, deployment: dict[str, Any]) -> Path:
    """The folder the synth staged a deployment's one source from (its zip is named by its hash)."""
    (key,) = deployment["Properties"]["SourceObjectKeys"]
    return synth.assembly_dir / f"asset.{Path(key).stem}"


# The bucket


def test_the_bucket_is_private_encrypted_owner_enforced_and_retained(synthesized: Synthesized) -> None:
    _, bucket = console_bucket(synthesized)
    properties = bucket["Properties"]

    assert properties["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0] == {
        "ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}
    }
    assert "WebsiteConfiguration" not in properties  # served by CloudFront, never as an S3 website
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_the_bucket_refuses_plain_http_and_lets_only_this_distribution_read(synthesized: Synthesized) -> None:
    bucket_id, _ = console_bucket(synthesized)
    distribution_id, _ = distribution(synthesized)
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in synthesized.of_type("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    deny, allow = policy

    assert deny["Effect"] == "Deny" and deny["Action"] == "s3:*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # Origin access control: CloudFront's service principal, for this distribution's ARN only, reading.
    assert allow["Effect"] == "Allow" and allow["Action"] == "s3:GetObject"
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    source_arn = json.dumps(allow["Condition"]["StringEquals"]["AWS:SourceArn"])
    assert ":distribution/" in source_arn and json.dumps({"Ref": distribution_id}) in source_arn


def test_the_bucket_is_the_default_origin_through_origin_access_control(synthesized: Synthesized) -> None:
    bucket_id, _ = console_bucket(synthesized)
    control_id, control = synthesized.one_of_type("AWS::CloudFront::OriginAccessControl")
    default = distribution(synthesized)[1]["DefaultCacheBehavior"]
    s3_origin = origin(synthesized, default["TargetOriginId"])

    assert s3_origin["DomainName"] == {"Fn::GetAtt": [bucket_id, "RegionalDomainName"]}
    assert s3_origin["OriginAccessControlId"] == {"Fn::GetAtt": [control_id, "Id"]}
    assert s3_origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # no legacy identity
    assert synthesized.of_type("AWS::CloudFront::CloudFrontOriginAccessIdentity") == {}
    assert control["Properties"]["OriginAccessControlConfig"] | {"Name": None} == {
        "Name": None,
        "OriginAccessControlOriginType": "s3",
        "SigningBehavior": "always",
        "SigningProtocol": "sigv4",
    }


# Behaviours


def test_the_app_apis_paths_go_to_the_http_api_uncached_with_all_but_the_host(
    synthesized: Synthesized,
) -> None:
    api_id, _ = synthesized.one_of_type("AWS::ApiGatewayV2::Api")
    behaviours = distribution(synthesized)[1]["CacheBehaviors"]

    assert [b["PathPattern"] for b in behaviours] == ["/v1/*"]
    for behaviour in behaviours:
        assert behaviour["CachePolicyId"] == CACHING_DISABLED
        # Cookies, query strings and every header but Host: API Gateway routes by its own host name.
        assert behaviour["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER
        assert set(behaviour["AllowedMethods"]) == ALL_METHODS
        assert behaviour["ViewerProtocolPolicy"] == "https-only"  # passwords never go over plain HTTP
        api_origin = origin(synthesized, behaviour["TargetOriginId"])
        assert api_origin["DomainName"] == {
            "Fn::Select": [2, {"Fn::Split": ["/", {"Fn::GetAtt": [api_id, "ApiEndpoint"]}]}]
        }
        assert api_origin["CustomOriginConfig"] == {
            "OriginProtocolPolicy": "https-only",
            "OriginSSLProtocols": ["TLSv1.2"],
        }


def test_every_app_route_and_no_console_path_is_routed_to_the_api() -> None:
    patterns = api_path_patterns([route.path for route in APP_ROUTES] + [APP_OLDER_BASE.proxy_path])
    paths = [route.path for route in APP_ROUTES] + ["/v1/session", "/v1/api/campaigns"]

    assert all(any(fnmatch.fnmatchcase(path, p) for p in patterns) for path in paths)
    for console_path in ("/console/", "/console/people/v1", "/console/assets/index-1a2b3c4d.js"):
        assert not any(fnmatch.fnmatchcase(console_path, p) for p in patterns)
    with pytest.raises(ValueError, match="console"):
        api_path_patterns(["/console/x"])
    # The Track API's own paths (/api/v1/...) are not the console's concern: clients call the API's URL.
    assert {route.path.split("/")[1] for route in TRACK_ROUTES} - {"v1"} == {"api", "push"}


def test_the_console_behaviour_is_cached_and_routes_deep_links_at_the_edge(synthesized: Synthesized) -> None:
    function_id, function = synthesized.one_of_type("AWS::CloudFront::Function")
    default = distribution(synthesized)[1]["DefaultCacheBehavior"]

    assert default["CachePolicyId"] == CACHING_OPTIMIZED
    assert default["ViewerProtocolPolicy"] == "redirect-to-https"
    assert set(default["AllowedMethods"]) == {"GET", "HEAD"}
    assert default["FunctionAssociations"] == [
        {"EventType": "viewer-request", "FunctionARN": {"Fn::GetAtt": [function_id, "FunctionARN"]}}
    ]
    assert function["Properties"]["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"
    assert function["Properties"]["FunctionCode"] == VIEWER_REQUEST_CODE.read_text()
    assert function["Properties"]["AutoPublish"] is True
    # Not an S3 403/404 mapping to index.html: that would answer the API's own errors with the console.
    assert "CustomErrorResponses" not in distribution(synthesized)[1]


def run_routing_function(uris: list[str]) -> dict[str, dict[str, Any]]:
    """The viewer-request function run by node on a viewer request per URI: its answer to each."""
    node = shutil.which("node")
    assert node, "node is not on PATH (make synth needs it too)"
    script = (
        VIEWER_REQUEST_CODE.read_text()
        + f"\nconsole.log(JSON.stringify({json.dumps(uris)}.map((uri) => handler("
        + "{request: {method: 'GET', uri: uri, querystring: {}, headers: {}, cookies: {}}}))));"
    )
    ran = subprocess.run([node, "-e", script], capture_output=True, text=True, check=True)
    return dict(zip(uris, json.loads(ran.stdout), strict=True))


def test_the_routing_function_answers_deep_links_with_index_html_and_leaves_files_alone() -> None:
    uris = [
        "/",
        "/console",
        "/console/",
        "/console/people/123",
        "/console/campaigns/7/",
        "/console/assets/index-1a2b3c4d.js",
        "/console/index.html",
        "/favicon.ico",
    ]
    answers = run_routing_function(uris)

    def redirect(to: str) -> dict[str, Any]:
        return {"statusCode": 302, "statusDescription": "Found", "headers": {"location": {"value": to}}}

    assert answers["/"] == answers["/console"] == redirect("/console/")
    for route in ("/console/", "/console/people/123", "/console/campaigns/7/"):
        assert answers[route]["uri"] == "/console/index.html", route
    for file in ("/console/assets/index-1a2b3c4d.js", "/console/index.html", "/favicon.ico"):
        assert answers[file]["uri"] == file, file


def test_the_edge_routes_the_consoles_paths_as_nudge_local_does(tmp_path: Path) -> None:
    # Deployed, the function picks the object S3 answers with; locally, nudge_tools.local.static answers
    # itself.
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("the console")
    (tmp_path / "assets" / "index-1a2b3c4d.js").write_text("the script")
    local = StaticSite(console_site.PREFIX, tmp_path)
    uris = ["/console/", "/console/people/123", "/console/segments/new", "/console/assets/index-1a2b3c4d.js"]

    for uri, answer in run_routing_function(uris).items():
        served = (tmp_path / answer["uri"].removeprefix(console_site.PREFIX)).read_bytes()
        assert local.answer("GET", uri).body == served, uri
    redirect = run_routing_function(["/console"])["/console"]
    assert redirect["headers"]["location"]["value"] == local.answer("GET", "/console").headers["location"]


def test_every_answer_carries_the_consoles_security_headers(synthesized: Synthesized) -> None:
    policy_id, policy = synthesized.one_of_type("AWS::CloudFront::ResponseHeadersPolicy")
    config = distribution(synthesized)[1]
    headers = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]

    # The local runtime sends the same policy (nudge.console_site), so the browser tests run under it.
    assert headers["ContentSecurityPolicy"] == {
        "ContentSecurityPolicy": console_site.CONTENT_SECURITY_POLICY,
        "Override": True,
    }
    assert headers["StrictTransportSecurity"] == {
        "AccessControlMaxAgeSec": console_site.HSTS_SECONDS,
        "IncludeSubdomains": False,
        "Override": True,
    }
    assert headers["FrameOptions"] == {"FrameOption": "DENY", "Override": True}
    assert headers["ContentTypeOptions"] == {"Override": True}
    assert headers["ReferrerPolicy"] == {
        "ReferrerPolicy": "strict-origin-when-cross-origin",
        "Override": True,
    }
    for behaviour in [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]:
        assert behaviour["ResponseHeadersPolicyId"] == {"Ref": policy_id}


def test_without_a_console_domain_the_distribution_has_cloudfronts_name_and_certificate(
    synthesized: Synthesized,
) -> None:
    config = distribution(synthesized)[1]

    assert "Aliases" not in config
    assert config.get("ViewerCertificate", {"CloudFrontDefaultCertificate": True}) == {
        "CloudFrontDefaultCertificate": True
    }
    assert config["HttpVersion"] == "http2and3"
    assert config["IPV6Enabled"] is True


# The build and its upload


def test_the_synthesized_asset_holds_the_built_console(synthesized: Synthesized) -> None:
    uploads = deployments(synthesized)
    pages, assets = staged(synthesized, uploads["console/"]), staged(synthesized, uploads["console/assets/"])
    built = CONSOLE_DIR / "dist"

    # The pages are the build's own files beside assets/ (index.html, the tab's icon), revalidated.
    assert sorted(p.name for p in pages.iterdir()) == sorted(p.name for p in built.iterdir() if p.is_file())
    assert (pages / "favicon.svg").read_bytes() == (built / "favicon.svg").read_bytes()
    index = (pages / "index.html").read_text()
    assert index == (built / "index.html").read_text()
    assert '<div id="root"></div>' in index
    referenced = re.findall(r'(?:src|href)="/console/assets/([^"]+)"', index)
    assert referenced and all((assets / name).is_file() for name in referenced)
    assert sorted(p.name for p in assets.iterdir()) == sorted(p.name for p in (built / "assets").iterdir())


def test_hashed_assets_upload_first_as_immutable_then_index_html_revalidated_and_invalidated(
    synthesized: Synthesized,
) -> None:
    bucket_id, _ = console_bucket(synthesized)
    distribution_id, _ = distribution(synthesized)
    uploads = deployments(synthesized)
    assets, pages = uploads["console/assets/"], uploads["console/"]

    for upload in (assets, pages):
        assert upload["Properties"]["DestinationBucketName"] == {"Ref": bucket_id}
        # A console opened before a deploy still finds its own release's chunks.
        assert upload["Properties"]["Prune"] is False
    assert assets["Properties"]["SystemMetadata"] == {"cache-control": console_site.IMMUTABLE}
    assert pages["Properties"]["SystemMetadata"] == {"cache-control": console_site.REVALIDATE}
    assert assets["id"] in pages["DependsOn"]  # a new index.html never names a chunk not yet uploaded
    assert pages["Properties"]["DistributionId"] == {"Ref": distribution_id}
    assert pages["Properties"]["DistributionPaths"] == ["/console/*"]
    assert "DistributionId" not in assets["Properties"]  # new names: nothing cached to invalidate


def test_the_deploy_handler_writes_only_the_console_bucket_and_invalidates_only(
    synthesized: Synthesized,
) -> None:
    bucket_id, _ = console_bucket(synthesized)
    (handler_id, handler) = next(iter(synthesized.deploy_handlers().items()))
    role_id = handler["Properties"]["Role"]["Fn::GetAtt"][0]
    role = synthesized.resources[role_id]["Properties"]
    statements = synthesized.role_statements(role_id)

    # Its own log group, kept as long as every function's.
    log_group = handler["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    assert log_group.startswith("ConsoleDeploymentLogs")
    assert synthesized.resources[log_group]["Properties"]["RetentionInDays"] == 30  # cdk.json's ONE_MONTH
    assert handler["Properties"]["MemorySize"] == 256
    (managed,) = role["ManagedPolicyArns"]
    assert "AWSLambdaBasicExecutionRole" in json.dumps(managed)
    writes = [
        s for s in statements if any(a.startswith(("s3:Put", "s3:Delete")) for a in as_list(s["Action"]))
    ]
    assert len(writes) == 1
    assert {json.dumps(r) for r in as_list(writes[0]["Resource"])} <= {
        json.dumps({"Fn::GetAtt": [bucket_id, "Arn"]}),
        json.dumps({"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/*"]]}),
    }
    unscoped = [s for s in statements if "*" in as_list(s["Resource"])]
    assert [set(as_list(s["Action"])) for s in unscoped] == [
        {"cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"}
    ]
    assert handler_id in synthesized.deploy_handler_resources()


def test_the_console_url_is_an_output(synthesized: Synthesized) -> None:
    distribution_id, _ = distribution(synthesized)
    outputs = synthesized.template.to_json()["Outputs"]

    assert outputs["ConsoleUrl"]["Value"] == {
        "Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution_id, "DomainName"]}, "/console/"]]
    }
    assert "ConsoleDomainTarget" not in outputs
