"""A self-signed certificate for 127.0.0.1, made when the simulator starts with TLS.

Some OKX clients only speak ``wss://``/``https://`` (python-okx's WebSocket clients always pass
an SSL context). They can reach the simulator once told to trust this certificate — its file is
printed at start; for OpenSSL-based clients ``SSL_CERT_FILE=<file>`` does it. The key is made
fresh each time (ECDSA P-256, never reused, never leaves the directory it is written to, mode
0600), so nothing secret ships with the package.

The certificate is made with ``cryptography`` (PyCA): Python's ``ssl`` module can use a
certificate but cannot make one, and shelling out to ``openssl`` would depend on a binary that
is not always installed.
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LOOPBACK = ipaddress.IPv4Address("127.0.0.1")
VALIDITY = timedelta(days=30)
"""How long a certificate is valid from its start (a day before it was made: clock slack)."""


@dataclass(frozen=True, slots=True)
class SelfSigned:
    """Where a self-signed certificate and its key were written."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        """What the simulator's listening socket serves TLS with."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_self_signed(directory: Path, now: datetime) -> SelfSigned:
    """Write ``sim-cert.pem`` and ``sim-key.pem`` for 127.0.0.1 / localhost into ``directory``.

    ``now`` is the wall clock's time: clients check validity against it, not the simulated clock.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "scalphost sim 127.0.0.1")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + VALIDITY)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(LOOPBACK), x509.DNSName("localhost")]),
            critical=False,
        )
        # its own issuer: a CA for itself, with the identifiers strict verifiers (3.13) want
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "sim-cert.pem", directory / "sim-key.pem"
    key_path.touch(mode=0o600)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return SelfSigned(cert_path, key_path)
