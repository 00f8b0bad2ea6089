"""The hub's evidence key: what signs checkpoints and receipts, and what checks them.

An RSA key with its X.509 certificate (``LIENTHONG_EVIDENCE_KEY_FILE`` and
``LIENTHONG_EVIDENCE_CERT_FILE``). Checkpoints are signed RSA-SHA256 (PKCS #1 v1.5) over the
UTF-8 bytes of their statement; receipts carry an XML signature made with the same key
(:mod:`hub.evidence.receipt`). :func:`self_signed` makes a pair for tests, demos and hubs
that have no certificate from an authority yet.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

import edxml
from hub.errors import ConfigurationError, InvalidRequestError

__all__ = [
    "HubSigner",
    "certificate_sha256",
    "load_certificates",
    "load_signer",
    "self_signed",
    "signature_holds",
]

_KEY_BITS = 3072


def certificate_sha256(certificate: x509.Certificate) -> str:
    """Hex SHA-256 of the certificate's DER: how checkpoints name the key that signed them."""
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


@dataclass(frozen=True)
class HubSigner:
    """The hub's evidence key and its certificate."""

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    def __post_init__(self) -> None:
        if self.certificate.public_key() != self.key.public_key():
            raise ConfigurationError(
                "LIENTHONG_EVIDENCE_CERT_FILE is not the certificate of "
                "LIENTHONG_EVIDENCE_KEY_FILE (their public keys differ)"
            )

    @property
    def fingerprint(self) -> str:
        """:func:`certificate_sha256` of the certificate."""
        return certificate_sha256(self.certificate)

    def sign(self, data: bytes) -> str:
        """Base64 RSA-SHA256 signature of ``data``."""
        signature = self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode("ascii")


def signature_holds(certificate: x509.Certificate, data: bytes, signature: str) -> bool:
    """Whether ``signature`` (base64, as :meth:`HubSigner.sign` writes it) is the
    certificate's key's signature of ``data``."""
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        return False
    try:
        raw = base64.b64decode(signature.encode("ascii"), validate=True)
        public_key.verify(raw, data, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, UnicodeEncodeError, ValueError):
        return False
    return True


def load_certificates(paths: Sequence[Path]) -> list[x509.Certificate]:
    """The certificates in PEM or DER files (a hub's present and past evidence certificates).

    Raises:
        InvalidRequestError: a file cannot be read or holds no certificate.
    """
    try:
        return edxml.load_certificates(paths)
    except edxml.EdxmlError as exc:
        raise InvalidRequestError(exc.message, code="evidence.bad-certificate") from exc


def load_signer(key_file: Path, cert_file: Path) -> HubSigner:
    """The key and certificate of the evidence settings.

    Raises:
        ConfigurationError: a file cannot be read, is not PEM, is not RSA, or they do not match.
    """
    try:
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    except (OSError, ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ConfigurationError(
            f"LIENTHONG_EVIDENCE_KEY_FILE: {key_file} is not a readable, unencrypted PEM "
            f"private key: {exc}"
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigurationError(
            f"LIENTHONG_EVIDENCE_KEY_FILE: {key_file} is not an RSA key; evidence is signed "
            "RSA-SHA256"
        )
    try:
        (certificate, *_rest) = edxml.load_certificates([cert_file])
    except edxml.EdxmlError as exc:
        raise ConfigurationError(f"LIENTHONG_EVIDENCE_CERT_FILE: {exc.message}") from exc
    return HubSigner(key=key, certificate=certificate)


def self_signed(common_name: str, *, days: int = 3650) -> tuple[bytes, bytes]:
    """A new RSA key and a self-signed certificate for it, both PEM: (key, certificate)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=_KEY_BITS)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM)
