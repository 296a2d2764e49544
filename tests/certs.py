"""Throwaway CAs and certificates (trustme) written to files, for the TLS tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import trustme

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
