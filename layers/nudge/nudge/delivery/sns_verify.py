"""Verify that an SNS message really comes from SNS: its signature, over the documented canonical string,
checked with the certificate SNS names, which must be served by SNS itself.

The feedback Lambda is subscribed to the topic SES publishes events to. A Lambda subscription cannot be
forged from outside, but the same message arrives over HTTPS or SQS if the topic is ever wired that
way, and checking is cheap: one certificate per topic, fetched once per container.

https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message-verify-message-signature.html
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

CertificateFetcher = Callable[[str], bytes]
"""A certificate URL (already checked to be SNS's) -> the PEM certificate it serves."""

FETCH_TIMEOUT_SECONDS = 5
MAX_CERTIFICATE_BYTES = 64 * 1024
_PEM_CERTIFICATE = b"-----BEGIN CERTIFICATE-----"

# sns.<region>.amazonaws.com, and the China partition's sns.<region>.amazonaws.com.cn.
_SNS_HOST = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?")

_HASHES: dict[str, hashes.HashAlgorithm] = {
    # SHA1withRSA: what topics sign with unless SignatureVersion is set to 2. SNS chose it, not us.
    "1": hashes.SHA1(),  # noqa: S303
    "2": hashes.SHA256(),
}

_NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_CONFIRMATION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
_SIGNED_FIELDS = {
    "Notification": _NOTIFICATION_FIELDS,
    "SubscriptionConfirmation": _CONFIRMATION_FIELDS,
    "UnsubscribeConfirmation": _CONFIRMATION_FIELDS,
}
_OPTIONAL_FIELDS = frozenset({"Subject"})

# A Lambda event's Records[i]["Sns"] spells the URL keys ...Url; HTTP and SQS deliveries spell them ...URL.
_SPELLINGS = {
    "SigningCertURL": ("SigningCertURL", "SigningCertUrl"),
    "SubscribeURL": ("SubscribeURL", "SubscribeUrl"),
    "UnsubscribeURL": ("UnsubscribeURL", "UnsubscribeUrl"),
}

# No freshness check on Timestamp: SNS keeps retrying a delivery (for HTTP/S endpoints, per the
# topic's delivery policy, and a Lambda invocation can be retried too) long after it first signed the
# message, so an age limit would reject genuine retries. Replays of a genuine message are harmless here:
# applying the same SES event twice must be idempotent anyway, since SNS delivers at least once.


class InvalidNotification(Exception):
    """The message is not a genuine SNS message. The text says why; it never quotes the message body."""


def verify(
    message: Mapping[str, Any], *, topic_arn: str | None = None, fetch: CertificateFetcher | None = None
) -> None:
    """Raise InvalidNotification unless ``message`` (the JSON an HTTP/SQS delivery posts, or a Lambda
    record's ``Sns`` dict) carries a valid SNS signature and, with ``topic_arn``, was published to that
    topic. A valid signature only proves SNS sent it: any AWS account can have SNS sign messages of its
    own topics, so a receiver that acts on the content must also insist on the topic it subscribed to.
    The topic is checked first, so a foreign topic's message never costs a certificate fetch.

    ``fetch`` gets the certificate's PEM from its URL, only after the URL is known to be SNS's; the
    default fetches it over HTTPS and caches it per URL for the life of the process. A caller-supplied
    fetcher does its own caching. A fetch that fails for want of a network raises its own error, not
    InvalidNotification: the message may be genuine and deserves a retry.
    """
    if topic_arn is not None and _field(message, "TopicArn") != topic_arn:
        raise InvalidNotification("the message was not published to the expected topic")
    kind = message.get("Type")
    fields = _SIGNED_FIELDS.get(kind) if isinstance(kind, str) else None
    if fields is None:
        raise InvalidNotification(f"unsupported SNS message type {kind!r}")

    version = message.get("SignatureVersion")
    algorithm = _HASHES.get(version) if isinstance(version, str) else None
    if algorithm is None:
        raise InvalidNotification(f"unsupported SignatureVersion {version!r}")

    encoded = message.get("Signature")
    if not isinstance(encoded, str) or not encoded:
        raise InvalidNotification("the message is not signed")
    try:
        signature = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidNotification("the signature is not base64") from None

    data = canonical_string(message, fields)
    url = _field(message, "SigningCertURL")
    if url is None:
        raise InvalidNotification("the message has no SigningCertURL")
    check_certificate_url(url)

    public_key = _public_key((fetch or _fetch_certificate)(url))

    try:
        public_key.verify(signature, data, PKCS1v15(), algorithm)
    except InvalidSignature:
        raise InvalidNotification("the signature does not match the message") from None


def canonical_string(message: Mapping[str, Any], fields: tuple[str, ...]) -> bytes:
    """The string SNS signs: each field as "Name\\nvalue\\n", in the documented (alphabetical) order;
    Subject only when the message has one."""
    parts: list[str] = []
    for name in fields:
        value = _field(message, name)
        if value is None:
            if name in _OPTIONAL_FIELDS:
                continue
            raise InvalidNotification(f"the message has no {name}")
        parts.append(f"{name}\n{value}\n")
    return "".join(parts).encode("utf-8")


def check_certificate_url(url: str) -> None:
    """Only SNS's own HTTPS endpoints may name the certificate: anything else is refused before any
    request is made, so a forged message cannot make the Lambda fetch an arbitrary URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidNotification("the SigningCertURL is not a URL") from None
    host = parts.hostname or ""
    if parts.scheme != "https":
        raise InvalidNotification("the SigningCertURL is not https")
    if not _SNS_HOST.fullmatch(host) or parts.username is not None or port not in (None, 443):
        raise InvalidNotification(f"the SigningCertURL is not on an SNS host: {host!r}")
    if not parts.path.endswith(".pem") or parts.query or parts.fragment:
        raise InvalidNotification("the SigningCertURL does not name a .pem certificate")


def _field(message: Mapping[str, Any], name: str) -> str | None:
    for key in _SPELLINGS.get(name, (name,)):
        value = message.get(key)
        if value is not None:
            if not isinstance(value, str):
                raise InvalidNotification(f"the message's {name} is not a string")
            return value
    return None


def _public_key(pem: bytes) -> RSAPublicKey:
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise InvalidNotification("the signing certificate is not a PEM certificate") from None
    now = datetime.now(UTC)  # the real clock, never nudge.clock's (which the local runtime speeds up)
    if now < certificate.not_valid_before_utc:
        raise InvalidNotification("the signing certificate is not valid yet")
    if now > certificate.not_valid_after_utc:
        raise InvalidNotification("the signing certificate has expired")
    key = certificate.public_key()
    if not isinstance(key, RSAPublicKey):
        raise InvalidNotification("the signing certificate's key is not RSA")
    return key


@functools.lru_cache(maxsize=16)
def _fetch_certificate(url: str) -> bytes:
    """The default fetcher: the PEM at an SNS certificate URL, cached per URL. A failure raises, and
    lru_cache does not cache a raise, so the next message tries again."""
    # The URL was checked by check_certificate_url: https on an SNS host, so no file:// or SSRF.
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310
            pem = response.read(MAX_CERTIFICATE_BYTES + 1)
    except urllib.error.HTTPError as error:
        if 400 <= error.code < 500:  # SNS has no such certificate: the message names one it made up
            raise InvalidNotification(f"the signing certificate was not found ({error.code})") from None
        raise
    if not isinstance(pem, bytes) or len(pem) > MAX_CERTIFICATE_BYTES:
        raise InvalidNotification("the signing certificate is not a PEM certificate")
    if not pem.lstrip().startswith(_PEM_CERTIFICATE):
        raise InvalidNotification("the signing certificate is not a PEM certificate")
    return pem
