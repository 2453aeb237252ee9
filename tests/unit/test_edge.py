import base64

import pytest
from botocore.exceptions import ClientError, ParamValidationError
from pynamodb.exceptions import PutError, TransactWriteError

from nudge.errors import InvalidRequest, Unauthorized
from nudge.http import edge


def test_basic_credentials_standard_alphabet():
    header = "Basic " + base64.b64encode(b"site:>>>?").decode()
    assert "+" in header or "/" in header  # the value exercises the alphabet difference
    assert edge.basic_credentials(header) == ("site", ">>>?")


def test_basic_credentials_url_safe_alphabet_and_missing_padding():
    encoded = base64.urlsafe_b64encode(b"site:>>>?").decode().rstrip("=")
    assert "-" in encoded or "_" in encoded
    assert edge.basic_credentials("basic " + encoded) == ("site", ">>>?")


@pytest.mark.parametrize(
    "header",
    [None, "", "Basic", "Bearer abc", "Basic %%%", "Basic " + base64.b64encode(b"no-colon").decode()],
)
def test_bad_basic_headers_are_unauthorized(header):
    with pytest.raises(Unauthorized):
        edge.basic_credentials(header)


def test_api_key_may_contain_colons():
    header = "Basic " + base64.b64encode(b"site:a:b").decode()
    assert edge.basic_credentials(header) == ("site", "a:b")


def test_one_error_uses_meta_error_and_several_use_meta_errors():
    assert edge.customerio_error(InvalidRequest("x")) == {"meta": {"error": "x"}}
    assert edge.customerio_error(InvalidRequest("x", "y")) == {"meta": {"errors": ["x", "y"]}}


def test_bearer_token():
    assert edge.bearer_token("Bearer abc") == "abc"
    with pytest.raises(Unauthorized):
        edge.bearer_token("Basic abc")


def _client_error(code: str, **extra: object) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}, **extra}, "PutItem")


def test_storage_refusing_the_data_is_told_apart_from_an_outage():
    assert edge.refused_by_storage(_client_error("ValidationException"))
    assert edge.refused_by_storage(PutError("put failed", cause=_client_error("ValidationException")))
    for transient in ("ProvisionedThroughputExceededException", "ThrottlingException", "InternalServerError"):
        assert not edge.refused_by_storage(_client_error(transient))
    assert not edge.refused_by_storage(PutError("no cause"))


def test_parameters_the_client_library_refuses_are_refused_data():
    invalid = ParamValidationError(report="Invalid length for parameter Key.pk.S, value: 0")
    assert edge.refused_by_storage(invalid)
    assert edge.refused_by_storage(PutError("put failed", cause=invalid))


def test_a_transaction_cancelled_for_invalid_data_is_refused_data():
    reasons = [{"Code": "None"}, {"Code": "ValidationException", "Message": "Item size exceeded"}]
    cancelled = _client_error("TransactionCanceledException", CancellationReasons=reasons)
    assert edge.refused_by_storage(TransactWriteError("transaction failed", cause=cancelled))
    conflict = _client_error(
        "TransactionCanceledException", CancellationReasons=[{"Code": "TransactionConflict"}]
    )
    assert not edge.refused_by_storage(conflict)


def test_a_pipelines_key_is_a_basic_user_with_no_password_or_a_bearer_token():
    assert edge.pipelines_key("Basic " + base64.b64encode(b"sk_us_k:").decode()) == "sk_us_k"
    assert edge.pipelines_key("bearer  sk_us_k ") == "sk_us_k"


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Basic " + base64.b64encode(b"sk_us_k:secret").decode(), "Token sk_us_k"],
)
def test_a_pipelines_key_sent_any_other_way_is_unauthorized(header):
    with pytest.raises(Unauthorized):
        edge.pipelines_key(header)
