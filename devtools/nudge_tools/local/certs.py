"""A self-signed TLS certificate for the local runtime, so clients that insist on HTTPS can talk to it.

The certificate is its own CA (basicConstraints CA:TRUE, keyCertSign), which lets a client pass the
certificate file itself as its CA bundle: ``requests.get(url, verify=cert_path)``. It names both
``localhost`` and ``127.0.0.1``. It is made once and kept under the state directory, so a bundle a
developer has trusted keeps working across restarts until the certificate nears its end.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

logger = logging.getLogger("nudge.local")

HOSTNAME = "localhost"
LOOPBACK = ipaddress.IPv4Address("127.0.0.1")
VALIDITY = timedelta(days=365)
# A certificate this close to its end is replaced now rather than failing mid-session.
RENEW_WITHIN = timedelta(days=7)
# Clocks disagree a little (containers, VMs); start validity slightly in the past.
_BACKDATE = timedelta(minutes=5)


def ensure_certificate(state_dir: Path) -> tuple[Path, Path]:
    """``(cert_path, key_path)`` under ``<state_dir>/tls``, made now unless a good pair is already there."""
    tls_dir = state_dir / "tls"
    tls_dir.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = tls_dir / "cert.pem", tls_dir / "key.pem"
    if _reusable(cert_path, key_path, datetime.now(UTC)):
        return cert_path, key_path
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = _self_signed(key, datetime.now(UTC))
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # Key first: if we stop between the two writes, the old certificate no longer matches the new key
    # and the next call makes a fresh pair.
    _write_atomically(key_path, key_pem, mode=0o600)
    _write_atomically(cert_path, certificate.public_bytes(serialization.Encoding.PEM), mode=0o644)
    logger.info("made a self-signed TLS certificate for localhost and 127.0.0.1: %s", cert_path)
    return cert_path, key_path


def _self_signed(key: ec.EllipticCurvePrivateKey, now: datetime) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, HOSTNAME),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Nudge local runtime"),
        ]
    )
    key_id = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    # What strict verifiers expect of a CA certificate (OpenSSL's X509_STRICT checks, which Python 3.13
    # turns on by default; browsers): critical basicConstraints and keyUsage with keyCertSign, and key
    # identifiers. serverAuth because the same certificate is also the server's.
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + VALIDITY)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(HOSTNAME), x509.IPAddress(LOOPBACK)]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(key_id, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(key_id), critical=False)
        .sign(key, hashes.SHA256())
    )


def _reusable(cert_path: Path, key_path: Path, now: datetime) -> bool:
    """The pair on disk parses, matches, names both hosts, acts as a CA and has ``RENEW_WITHIN`` left."""
    try:
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    except FileNotFoundError:
        return False
    except (OSError, ValueError, TypeError, UnsupportedAlgorithm, x509.ExtensionNotFound) as error:
        logger.warning("replacing the unusable local TLS certificate in %s: %s", cert_path.parent, error)
        return False
    return (
        certificate.public_key() == key.public_key()
        and HOSTNAME in names.get_values_for_type(x509.DNSName)
        and LOOPBACK in names.get_values_for_type(x509.IPAddress)
        and constraints.ca
        and certificate.not_valid_before_utc <= now
        and certificate.not_valid_after_utc - now >= RENEW_WITHIN
    )


def _write_atomically(path: Path, data: bytes, *, mode: int) -> None:
    # mkstemp creates the file 0600, so the key is never readable by others, not even for a moment.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
