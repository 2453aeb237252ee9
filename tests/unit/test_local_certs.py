import http.server
import ipaddress
import socket
import ssl
import stat
import threading
from datetime import UTC, datetime, timedelta

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from nudge_tools.local.certs import ensure_certificate


def load(cert_path):
    return x509.load_pem_x509_certificate(cert_path.read_bytes())


def write_pair(tmp_path, *, not_before, not_after, names):
    """A certificate that is otherwise fine, put where ensure_certificate looks."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    tls = tmp_path / "tls"
    tls.mkdir(parents=True, exist_ok=True)
    (tls / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (tls / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return tls / "cert.pem"


BOTH_NAMES = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]


def test_certificate_names_localhost_and_loopback_and_is_its_own_ca(tmp_path):
    cert_path, key_path = ensure_certificate(tmp_path)
    assert (cert_path, key_path) == (tmp_path / "tls" / "cert.pem", tmp_path / "tls" / "key.pem")
    certificate = load(cert_path)

    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.IPv4Address("127.0.0.1")]
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "localhost"
    assert certificate.issuer == certificate.subject
    constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.key_cert_sign

    lifetime = certificate.not_valid_after_utc - datetime.now(UTC)
    assert timedelta(days=360) < lifetime <= timedelta(days=366)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert key.public_key() == certificate.public_key()


def test_second_call_reuses_the_same_pair(tmp_path):
    cert_path, key_path = ensure_certificate(tmp_path)
    cert_bytes, key_bytes = cert_path.read_bytes(), key_path.read_bytes()
    assert ensure_certificate(tmp_path) == (cert_path, key_path)
    assert cert_path.read_bytes() == cert_bytes
    assert key_path.read_bytes() == key_bytes


@pytest.mark.parametrize(
    ("not_before", "not_after", "names"),
    [
        pytest.param(timedelta(days=-400), timedelta(days=-35), BOTH_NAMES, id="expired"),
        pytest.param(timedelta(days=-360), timedelta(days=3), BOTH_NAMES, id="expires-within-a-week"),
        pytest.param(timedelta(days=1), timedelta(days=365), BOTH_NAMES, id="not-yet-valid"),
        pytest.param(timedelta(days=-1), timedelta(days=365), BOTH_NAMES[:1], id="no-ip-address"),
        pytest.param(timedelta(days=-1), timedelta(days=365), BOTH_NAMES[1:], id="no-localhost"),
    ],
)
def test_unsuitable_certificate_is_replaced(tmp_path, not_before, not_after, names):
    now = datetime.now(UTC)
    old = write_pair(tmp_path, not_before=now + not_before, not_after=now + not_after, names=names)
    old_bytes = old.read_bytes()

    cert_path, _ = ensure_certificate(tmp_path)
    assert cert_path.read_bytes() != old_bytes
    assert load(cert_path).not_valid_after_utc - now > timedelta(days=360)


def test_garbage_or_a_mismatched_key_is_replaced(tmp_path):
    cert_path, key_path = ensure_certificate(tmp_path)
    key_path.write_text("not a key")
    ensure_certificate(tmp_path)
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert key.public_key() == load(cert_path).public_key()

    other = ec.generate_private_key(ec.SECP256R1())
    key_path.write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    ensure_certificate(tmp_path)
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert key.public_key() == load(cert_path).public_key()


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello over tls"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass  # keep test output quiet


@pytest.fixture
def tls_server(tmp_path):
    cert_path, key_path = ensure_certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], cert_path
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_requests_trusts_the_certificate_file_as_its_ca_bundle(tls_server, host):
    port, cert_path = tls_server
    response = requests.get(f"https://{host}:{port}/", verify=str(cert_path), timeout=5)
    assert response.status_code == 200
    assert response.text == "hello over tls"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_strict_openssl_verification_accepts_it(tls_server, host):
    # Python 3.13 and later turn this flag on in their default contexts.
    port, cert_path = tls_server
    context = ssl.create_default_context(cafile=str(cert_path))
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_a_client_without_the_bundle_refuses_it(tls_server):
    port, _ = tls_server
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"https://127.0.0.1:{port}/", timeout=5)
