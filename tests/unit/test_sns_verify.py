import base64
import io
import urllib.error
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from nudge.delivery import sns_verify
from nudge.delivery.sns_verify import InvalidNotification, verify

CERT_URL = (
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem"
)
TOPIC = "arn:aws:sns:us-east-1:123456789012:nudge-ses-events"
BODY = '{"eventType":"Delivery","mail":{"messageId":"0100018f-secret-body"}}'


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def certificate_pem(private_key, *, not_before, not_after):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .sign(private_key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def pem(key):
    now = datetime.now(UTC)
    return certificate_pem(key, not_before=now - timedelta(days=1), not_after=now + timedelta(days=30))


@pytest.fixture(autouse=True)
def empty_certificate_cache():
    sns_verify._fetch_certificate.cache_clear()
    yield
    sns_verify._fetch_certificate.cache_clear()


class FakeFetch:
    def __init__(self, pem):
        self.pem = pem
        self.urls = []

    def __call__(self, url):
        self.urls.append(url)
        return self.pem


@pytest.fixture
def fetch(pem):
    return FakeFetch(pem)


# Written out here from the AWS documentation rather than borrowed from the module under test.
NOTIFICATION_KEYS = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
CONFIRMATION_KEYS = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]


def signed(message, private_key, *, version="1"):
    keys = NOTIFICATION_KEYS if message["Type"] == "Notification" else CONFIRMATION_KEYS
    text = "".join(f"{key}\n{message[key]}\n" for key in keys if key in message and message[key] is not None)
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303 (SNS v1 is SHA1)
    signature = private_key.sign(text.encode(), padding.PKCS1v15(), algorithm)
    return {**message, "SignatureVersion": version, "Signature": base64.b64encode(signature).decode()}


def notification(**fields):
    message = {
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": TOPIC,
        "Subject": "Amazon SES Email Event Notification",
        "Message": BODY,
        "Timestamp": "2024-05-01T12:00:00.000Z",
        "SigningCertURL": CERT_URL,
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",
    }
    message.update(fields)
    return message


def test_a_signed_notification_with_a_subject_verifies(key, fetch):
    verify(signed(notification(), key), fetch=fetch)

    assert fetch.urls == [CERT_URL]


def test_a_signed_notification_without_a_subject_verifies(key, fetch):
    message = notification()
    del message["Subject"]

    verify(signed(message, key), fetch=fetch)


def test_signature_version_2_is_sha256(key, fetch):
    verify(signed(notification(), key, version="2"), fetch=fetch)


def test_a_sha1_signature_labelled_version_2_is_rejected(key, fetch):
    message = {**signed(notification(), key, version="1"), "SignatureVersion": "2"}

    with pytest.raises(InvalidNotification, match="does not match"):
        verify(message, fetch=fetch)


def test_a_lambda_record_verifies_with_its_url_spelling_and_null_subject(key, fetch):
    record = {
        "Type": "Notification",
        "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
        "TopicArn": TOPIC,
        "Subject": None,
        "Message": BODY,
        "Timestamp": "2024-05-01T12:00:00.000Z",
        "SigningCertUrl": CERT_URL,
        "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",
        "MessageAttributes": {},
    }

    verify(signed(record, key), fetch=fetch)

    assert fetch.urls == [CERT_URL]


def test_a_subscription_confirmation_verifies(key, fetch):
    message = {
        "Type": "SubscriptionConfirmation",
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3",
        "TopicArn": TOPIC,
        "Message": "You have chosen to subscribe to the topic. To confirm, visit the SubscribeURL.",
        "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=2336",
        "Timestamp": "2024-05-01T12:00:00.000Z",
        "SigningCertURL": CERT_URL,
    }

    verify(signed(message, key), fetch=fetch)


def test_a_subscription_confirmation_with_a_swapped_subscribe_url_is_rejected(key, fetch):
    message = signed(
        {
            "Type": "SubscriptionConfirmation",
            "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
            "Token": "2336412f37fb",
            "TopicArn": TOPIC,
            "Message": "You have chosen to subscribe to the topic.",
            "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=2336",
            "Timestamp": "2024-05-01T12:00:00.000Z",
            "SigningCertURL": CERT_URL,
        },
        key,
    )
    message["SubscribeURL"] = "https://attacker.example/confirm"

    with pytest.raises(InvalidNotification, match="does not match"):
        verify(message, fetch=fetch)


def test_a_tampered_message_is_rejected_without_quoting_it(key, fetch):
    message = signed(notification(), key)
    message["Message"] = BODY.replace("Delivery", "Complaint")

    with pytest.raises(InvalidNotification, match="does not match") as caught:
        verify(message, fetch=fetch)

    assert "secret-body" not in str(caught.value)


def test_a_subject_added_after_signing_is_rejected(key, fetch):
    message = notification()
    del message["Subject"]
    message = signed(message, key)
    message["Subject"] = "added later"

    with pytest.raises(InvalidNotification, match="does not match"):
        verify(message, fetch=fetch)


def test_a_tampered_signature_is_rejected(key, fetch):
    message = signed(notification(), key)
    raw = bytearray(base64.b64decode(message["Signature"]))
    raw[10] ^= 0x01
    message["Signature"] = base64.b64encode(bytes(raw)).decode()

    with pytest.raises(InvalidNotification, match="does not match"):
        verify(message, fetch=fetch)


def test_a_signature_that_is_not_base64_is_rejected(key, fetch):
    message = {**signed(notification(), key), "Signature": "not base64!"}

    with pytest.raises(InvalidNotification, match="base64"):
        verify(message, fetch=fetch)


def test_an_unsigned_message_is_rejected_before_any_fetch(key, fetch):
    message = signed(notification(), key)
    del message["Signature"]

    with pytest.raises(InvalidNotification, match="not signed"):
        verify(message, fetch=fetch)

    assert fetch.urls == []


@pytest.mark.parametrize("version", ["3", "", None, 1])
def test_an_unknown_signature_version_is_rejected(key, fetch, version):
    message = {**signed(notification(), key), "SignatureVersion": version}

    with pytest.raises(InvalidNotification, match="SignatureVersion"):
        verify(message, fetch=fetch)


def test_a_message_without_signature_version_is_rejected(key, fetch):
    message = signed(notification(), key)
    del message["SignatureVersion"]

    with pytest.raises(InvalidNotification, match="SignatureVersion"):
        verify(message, fetch=fetch)


def test_a_message_missing_a_signed_field_is_rejected(key, fetch):
    message = signed(notification(), key)
    del message["TopicArn"]

    with pytest.raises(InvalidNotification, match="TopicArn"):
        verify(message, fetch=fetch)


def test_an_unknown_message_type_is_rejected(key, fetch):
    message = signed(notification(), key)
    message["Type"] = "Surprise"

    with pytest.raises(InvalidNotification, match="type"):
        verify(message, fetch=fetch)


@pytest.mark.parametrize(
    "url",
    [
        "https://attacker.example/SimpleNotificationService-1.pem",
        "https://sns.us-east-1.amazonaws.com.attacker.example/SimpleNotificationService-1.pem",
        "https://attacker.example/sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
        "https://sns.us-east-1.amazonaws.com@attacker.example/SimpleNotificationService-1.pem",
        "https://s3.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
        "https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-1.pem",
        "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
        "file:///etc/passwd.pem",
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.txt",
        "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
        "https://sns.us-east-1.amazonaws.com/x.pem?redirect=https://attacker.example/",
        "not a url",
    ],
)
def test_a_certificate_url_off_sns_is_rejected_before_any_fetch(key, fetch, url):
    message = signed(notification(SigningCertURL=url), key)

    with pytest.raises(InvalidNotification, match="SigningCertURL"):
        verify(message, fetch=fetch)

    assert fetch.urls == []


def test_a_message_without_a_certificate_url_is_rejected(key, fetch):
    message = signed(notification(), key)
    del message["SigningCertURL"]

    with pytest.raises(InvalidNotification, match="SigningCertURL"):
        verify(message, fetch=fetch)

    assert fetch.urls == []


def test_a_certificate_from_the_china_partition_is_accepted(key, fetch):
    url = "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-1.pem"

    verify(signed(notification(SigningCertURL=url), key), fetch=fetch)

    assert fetch.urls == [url]


def test_a_signature_by_another_key_is_rejected(key, pem):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    with pytest.raises(InvalidNotification, match="does not match"):
        verify(signed(notification(), other), fetch=FakeFetch(pem))


def test_an_expired_certificate_is_rejected(key):
    now = datetime.now(UTC)
    expired = certificate_pem(key, not_before=now - timedelta(days=30), not_after=now - timedelta(days=1))

    with pytest.raises(InvalidNotification, match="expired"):
        verify(signed(notification(), key), fetch=FakeFetch(expired))


def test_a_certificate_not_valid_yet_is_rejected(key):
    now = datetime.now(UTC)
    future = certificate_pem(key, not_before=now + timedelta(days=1), not_after=now + timedelta(days=30))

    with pytest.raises(InvalidNotification, match="not valid yet"):
        verify(signed(notification(), key), fetch=FakeFetch(future))


def test_a_certificate_that_is_not_pem_is_rejected(key):
    with pytest.raises(InvalidNotification, match="not a PEM certificate"):
        verify(signed(notification(), key), fetch=FakeFetch(b"<html>hello</html>"))


def test_a_certificate_with_a_non_rsa_key_is_rejected(key):
    ec_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    ec_pem = certificate_pem(ec_key, not_before=now - timedelta(days=1), not_after=now + timedelta(days=1))

    with pytest.raises(InvalidNotification, match="not RSA"):
        verify(signed(notification(), key), fetch=FakeFetch(ec_pem))


class FakeResponse(io.BytesIO):
    pass


class FakeUrlopen:
    """Stands in for urllib.request.urlopen: serves ``body`` (or raises ``error``), counting calls."""

    def __init__(self, body=b"", error=None):
        self.body = body
        self.error = error
        self.calls = []

    def __call__(self, url, timeout=None):
        self.calls.append((url, timeout))
        if self.error is not None:
            raise self.error
        return FakeResponse(self.body)


def test_the_default_fetcher_fetches_a_certificate_once_for_many_messages(key, pem, monkeypatch):
    urlopen = FakeUrlopen(pem)
    monkeypatch.setattr(sns_verify.urllib.request, "urlopen", urlopen)

    verify(signed(notification(MessageId="first"), key))
    verify(signed(notification(MessageId="second"), key))

    assert urlopen.calls == [(CERT_URL, 5)]


def test_the_default_fetcher_fetches_each_certificate_url(key, pem, monkeypatch):
    urlopen = FakeUrlopen(pem)
    monkeypatch.setattr(sns_verify.urllib.request, "urlopen", urlopen)
    other = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-2.pem"

    verify(signed(notification(), key))
    verify(signed(notification(SigningCertURL=other), key))

    assert [url for url, _ in urlopen.calls] == [CERT_URL, other]


def test_the_default_fetcher_refuses_a_body_that_is_not_a_certificate(key, monkeypatch):
    urlopen = FakeUrlopen(b"<html>not a certificate</html>")
    monkeypatch.setattr(sns_verify.urllib.request, "urlopen", urlopen)

    with pytest.raises(InvalidNotification, match="not a PEM certificate"):
        verify(signed(notification(), key))


def test_the_default_fetcher_does_not_cache_a_failure(key, pem, monkeypatch):
    monkeypatch.setattr(sns_verify.urllib.request, "urlopen", FakeUrlopen(b"garbage"))
    with pytest.raises(InvalidNotification):
        verify(signed(notification(), key))
    urlopen = FakeUrlopen(pem)
    monkeypatch.setattr(sns_verify.urllib.request, "urlopen", urlopen)

    verify(signed(notification(), key))

    assert len(urlopen.calls) == 1


def test_a_certificate_sns_does_not_have_is_rejected(key, monkeypatch):
    missing = urllib.error.HTTPError(CERT_URL, 404, "Not Found", {}, None)
    monkeypatch.setattr(sns_verify.urllib.request, "urlopen", FakeUrlopen(error=missing))

    with pytest.raises(InvalidNotification, match="not found"):
        verify(signed(notification(), key))


def test_a_network_failure_is_not_mistaken_for_a_forgery(key, monkeypatch):
    down = urllib.error.URLError("timed out")
    monkeypatch.setattr(sns_verify.urllib.request, "urlopen", FakeUrlopen(error=down))

    with pytest.raises(urllib.error.URLError):
        verify(signed(notification(), key))


def test_a_genuine_message_of_another_topic_is_refused_before_any_fetch(key, fetch) -> None:
    with pytest.raises(InvalidNotification, match="expected topic"):
        verify(signed(notification(), key), topic_arn=TOPIC + "-other", fetch=fetch)
    assert fetch.urls == []


def test_a_genuine_message_of_the_expected_topic_passes(key, fetch) -> None:
    verify(signed(notification(), key), topic_arn=TOPIC, fetch=fetch)
