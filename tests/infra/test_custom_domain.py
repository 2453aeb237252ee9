"""The optional custom domain (context ``custom_domain`` and ``certificate_arn``): the domain and its
mapping, the URLs the functions and the outputs give, and nothing of it without the context; and the
console's own domain (``console_domain``, ``console_certificate_arn``) on its distribution, synthesized
together with it. The context's
validation is in test_config; the generated table names' outputs are here too (what an operator reads
after a deploy)."""

from __future__ import annotations

from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from infra.config import table_env_var
from nudge.delivery import links
from nudge.http import lambda_http
from nudge.model import TABLE_MODELS
from tests.infra.conftest import Synthesized, synthesize

pytestmark = pytest.mark.infra

DOMAIN = "track.example.com"
CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-123456789abc"
CUSTOM_URL = f"https://{DOMAIN}"
# The functions that render messages (links in them start with NUDGE_LINKS_URL), and the one answering
# GET /api/v1/accounts/region (the Track URL, NUDGE_TRACK_URL when set).
RENDERS = {"send", "api"}
ANSWERS_REGION = {"track"}
DOMAIN_OUTPUTS = {"CustomDomainTarget", "CustomDomainHostedZoneId"}
CONSOLE_DOMAIN = "console.example.com"
CONSOLE_CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/1a2b3c4d-aaaa-bbbb-cccc-123456789abc"


@pytest.fixture(scope="module")
def with_domain(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    # Its synth passed cdk-nag: a finding on the domain would have raised here.
    return synthesize(
        tmp_path_factory,
        custom_domain=DOMAIN,
        certificate_arn=CERTIFICATE,
        console_domain=CONSOLE_DOMAIN,
        console_certificate_arn=CONSOLE_CERTIFICATE,
    )


def outputs(synth: Synthesized) -> dict[str, Any]:
    return dict(synth.template.to_json()["Outputs"])


def told(synth: Synthesized, variable: str) -> dict[str, Any]:
    """Service name -> the value of ``variable``, for every function told it."""
    return {
        service: synth.variables(service)[variable]
        for service in synth.functions()
        if variable in synth.variables(service)
    }


# Without the context: nothing changes


def test_without_a_custom_domain_there_is_no_domain_or_mapping(synthesized: Synthesized) -> None:
    assert synthesized.config.custom_domain == synthesized.config.certificate_arn == ""
    assert synthesized.of_type("AWS::ApiGatewayV2::DomainName") == {}
    assert synthesized.of_type("AWS::ApiGatewayV2::ApiMapping") == {}
    assert not DOMAIN_OUTPUTS & outputs(synthesized).keys()


def test_without_a_custom_domain_links_start_with_the_apis_own_url(synthesized: Synthesized) -> None:
    api_id = synthesized.one_of_type("AWS::ApiGatewayV2::Api")[0]

    assert told(synthesized, "NUDGE_LINKS_URL") == {
        service: {"Fn::GetAtt": [api_id, "ApiEndpoint"]} for service in RENDERS
    }
    # The Track URL is then the host each request came in on (nudge.http.lambda_http.base_url).
    assert told(synthesized, "NUDGE_TRACK_URL") == {}


def test_without_a_custom_domain_the_outputs_give_the_default_stages_url(synthesized: Synthesized) -> None:
    api_id = synthesized.one_of_type("AWS::ApiGatewayV2::Api")[0]
    found = outputs(synthesized)
    # The $default stage's URL has no stage path.
    execute_api = ["https://", {"Ref": api_id}, ".execute-api.", {"Ref": "AWS::Region"}, "."]

    for name in ("TrackApiUrl", "AppApiUrl"):
        assert found[name]["Value"] == {"Fn::Join": ["", [*execute_api, {"Ref": "AWS::URLSuffix"}, "/"]]}


# With it


def test_the_domain_is_regional_tls_1_2_with_the_given_certificate(with_domain: Synthesized) -> None:
    _, domain = with_domain.one_of_type("AWS::ApiGatewayV2::DomainName")

    assert domain["Properties"]["DomainName"] == DOMAIN
    assert domain["Properties"]["DomainNameConfigurations"] == [
        {"CertificateArn": CERTIFICATE, "EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2"}
    ]


def test_the_whole_domain_maps_to_the_apis_default_stage(with_domain: Synthesized) -> None:
    api_id = with_domain.one_of_type("AWS::ApiGatewayV2::Api")[0]
    domain_id = with_domain.one_of_type("AWS::ApiGatewayV2::DomainName")[0]
    stage_id, stage = with_domain.one_of_type("AWS::ApiGatewayV2::Stage")
    _, mapping = with_domain.one_of_type("AWS::ApiGatewayV2::ApiMapping")

    assert mapping["Properties"] == {
        "ApiId": {"Ref": api_id},
        "DomainName": {"Ref": domain_id},
        "Stage": stage["Properties"]["StageName"],
    }
    assert stage["Properties"]["StageName"] == "$default"
    # No ApiMappingKey: the API's paths are the domain's. The stage is named, not referenced: the mapping
    # waits for it explicitly.
    assert stage_id in mapping["DependsOn"]


def test_the_renderers_build_links_on_the_custom_domain(with_domain: Synthesized) -> None:
    assert told(with_domain, "NUDGE_LINKS_URL") == dict.fromkeys(RENDERS, CUSTOM_URL)


def test_the_region_endpoint_answers_the_custom_domain_as_the_track_url(with_domain: Synthesized) -> None:
    assert told(with_domain, "NUDGE_TRACK_URL") == dict.fromkeys(ANSWERS_REGION, CUSTOM_URL)


def test_the_outputs_give_the_custom_domain_and_where_to_point_it(with_domain: Synthesized) -> None:
    domain_id = with_domain.one_of_type("AWS::ApiGatewayV2::DomainName")[0]
    found = outputs(with_domain)

    assert found["TrackApiUrl"]["Value"] == found["AppApiUrl"]["Value"] == f"{CUSTOM_URL}/"
    assert found["CustomDomainTarget"]["Value"] == {"Fn::GetAtt": [domain_id, "RegionalDomainName"]}
    assert found["CustomDomainHostedZoneId"]["Value"] == {"Fn::GetAtt": [domain_id, "RegionalHostedZoneId"]}
    assert DOMAIN in found["CustomDomainTarget"]["Description"]


def test_the_rest_of_the_stack_is_the_same(synthesized: Synthesized, with_domain: Synthesized) -> None:
    # The domain, its mapping and their outputs are added; no resource is renamed (which would replace it).
    added = with_domain.resources.keys() - synthesized.resources.keys()

    assert synthesized.resources.keys() <= with_domain.resources.keys()
    assert {with_domain.resources[name]["Type"] for name in added} == {
        "AWS::ApiGatewayV2::DomainName",
        "AWS::ApiGatewayV2::ApiMapping",
    }
    assert outputs(with_domain).keys() - outputs(synthesized).keys() == DOMAIN_OUTPUTS | {
        "ConsoleDomainTarget"
    }


def test_the_template_with_a_custom_domain_passes_cfn_lint(with_domain: Synthesized) -> None:
    api = pytest.importorskip("cfnlint.api", reason="cfn-lint is not installed")

    assert [str(match) for match in api.lint_file(with_domain.template_file)] == []


def test_the_variables_are_the_ones_the_domain_package_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUDGE_TRACK_URL", CUSTOM_URL)
    monkeypatch.setenv("NUDGE_LINKS_URL", CUSTOM_URL)

    # Configured, the Track URL is not read from the request at all.
    assert lambda_http.base_url(APIGatewayHttpResolver()) == CUSTOM_URL
    base = links.base_url()
    assert links.link_url(base, b"secret", "o", "w1", "d1").startswith(f"{CUSTOM_URL}/t/o/")


# The generated table names


def test_every_table_name_is_an_output(synthesized: Synthesized) -> None:
    found = outputs(synthesized)
    table_ids = synthesized.table_ids()

    for name in TABLE_MODELS:
        output = found[f"{name.title()}TableName"]
        assert output["Value"] == {"Ref": table_ids[name]}
        assert table_env_var(name) in output["Description"]


def test_the_table_outputs_name_their_cli_variables_mechanically(synthesized: Synthesized) -> None:
    # README's Deploying section turns each <Name>TableName output into NUDGE_<NAME>_TABLE with a shell
    # one-liner: upper-case the key without its "TableName" suffix.
    keys = [key for key in outputs(synthesized) if key.endswith("TableName")]

    assert sorted(f"NUDGE_{key.removesuffix('TableName').upper()}_TABLE" for key in keys) == sorted(
        table_env_var(name) for name in TABLE_MODELS
    )


# The console's domain


def test_the_console_distribution_answers_on_its_domain_with_tls_1_2(with_domain: Synthesized) -> None:
    _, resource = with_domain.one_of_type("AWS::CloudFront::Distribution")
    config = resource["Properties"]["DistributionConfig"]

    assert config["Aliases"] == [CONSOLE_DOMAIN]
    assert config["ViewerCertificate"] == {
        "AcmCertificateArn": CONSOLE_CERTIFICATE,
        "MinimumProtocolVersion": "TLSv1.2_2021",
        "SslSupportMethod": "sni-only",
    }


def test_the_console_url_is_on_its_domain_and_the_target_is_given(with_domain: Synthesized) -> None:
    distribution_id, _ = with_domain.one_of_type("AWS::CloudFront::Distribution")
    found = outputs(with_domain)

    assert found["ConsoleUrl"]["Value"] == f"https://{CONSOLE_DOMAIN}/console/"
    assert found["ConsoleDomainTarget"]["Value"] == {"Fn::GetAtt": [distribution_id, "DomainName"]}
    assert CONSOLE_DOMAIN in found["ConsoleDomainTarget"]["Description"]
