"""Throwaway CAs and certificates (trustme) written to files, for the TLS tests."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["Issued", "TestCA"]


@dataclass(frozen=True)
class Issued:
    cert_file: Path
    key_file: Path

    @property
    def cert_pem(self) -> bytes:
        return self.cert_file.read_bytes()

    @property
    def key_pem(self) -> bytes:
        return self.key_file.read_bytes()


class TestCA:
    """A CA in ``directory``; ``issue(name, ...)`` writes a leaf certificate and key."""

    __test__ = False  # not a pytest test class

    def __init__(self, directory: Path, name: str = "ca") -> None:
        self._ca = trustme.CA()
        self.directory = directory
        self.name = name
        self.cert_file = directory / f"{name}.crt"
        self._ca.cert_pem.write_to_path(str(self.cert_file))

    @property
    def cert_pem(self) -> bytes:
        return self.cert_file.read_bytes()

    def issue(self, stem: str, *identities: str, common_name: str | None = None) -> Issued:
        leaf = self._ca.issue_cert(*identities, common_name=common_name)
        cert_file = self.directory / f"{self.name}-{stem}.crt"
        key_file = self.directory / f"{self.name}-{stem}.key"
        leaf.cert_chain_pems[0].write_to_path(str(cert_file))
        leaf.private_key_pem.write_to_path(str(key_file))
        return Issued(cert_file, key_file)

    def issue_uri(self, stem: str, uri: str) -> Issued:
        """A client certificate whose only SAN is ``uri`` (a SPIFFE ID, say):
        trustme issues DNS, IP and e-mail names only."""
        ca_key = serialization.load_pem_private_key(self._ca.private_key_pem.bytes(), None)
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        issuer = x509.load_pem_x509_certificate(self._ca.cert_pem.bytes()).subject
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, stem)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName([x509.UniformResourceIdentifier(uri)]), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        cert_file = self.directory / f"{self.name}-{stem}.crt"
        key_file = self.directory / f"{self.name}-{stem}.key"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return Issued(cert_file, key_file)
