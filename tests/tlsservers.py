"""TLS-only redis-server and memcached children, and throwaway certificates for them.

The devmode children ping their server in plaintext, which a TLS-only port
(``--port 0 --tls-port N`` / ``memcached -Z``) never answers; these
subclasses ping over TLS instead, presenting the client certificate when the
server demands one, and (Redis) authenticating as the fixture's admin user
when the default user is switched off.

Certificates come from ``trustme``: a CA, a server certificate for
127.0.0.1 / localhost, a client certificate, and a second, unrelated CA that
a "wrong CA" test can trust instead.
"""

from __future__ import annotations

import secrets
import socket
import ssl
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import redis
import trustme

from sidecar.devmode import MemcachedServer, RedisServer, ServerStartError, require_binary
from tests.secretscan import remember_secret
from tests.servers import _free_cluster_port as free_cluster_port

__all__ = [
    "ADMIN_PASSWORD",
    "ADMIN_USER",
    "Certificates",
    "TlsMemcachedServer",
    "TlsRedisCluster",
    "TlsRedisServer",
]

#: The fixture's own superuser: flushes and inspects the server, never used by cachecar.
ADMIN_USER = "fixture-admin"
ADMIN_PASSWORD = secrets.token_urlsafe(24)
remember_secret(ADMIN_PASSWORD)


@dataclass(frozen=True)
class Certificates:
    """PEM files of one throwaway PKI, written under a test's tmp directory."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    #: A CA that signed none of the above: trusting it must fail the handshake.
    other_ca: Path

    @classmethod
    def create(cls, directory: Path) -> Certificates:
        directory.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA()
        server = ca.issue_cert("127.0.0.1", "localhost")
        client = ca.issue_cert("cachecar-client.test")
        paths = cls(
            ca=directory / "ca.pem",
            server_cert=directory / "server.pem",
            server_key=directory / "server.key",
            client_cert=directory / "client.pem",
            client_key=directory / "client.key",
            other_ca=directory / "other-ca.pem",
        )
        ca.cert_pem.write_to_path(str(paths.ca))
        # The chain file (leaf first) so servers can send intermediates, if any.
        for i, pem in enumerate(server.cert_chain_pems):
            pem.write_to_path(str(paths.server_cert), append=i > 0)
        server.private_key_pem.write_to_path(str(paths.server_key))
        for i, pem in enumerate(client.cert_chain_pems):
            pem.write_to_path(str(paths.client_cert), append=i > 0)
        client.private_key_pem.write_to_path(str(paths.client_key))
        trustme.CA().cert_pem.write_to_path(str(paths.other_ca))
        return paths

    def client_context(self) -> ssl.SSLContext:
        """What the fixtures dial with: trusts the CA and presents the client certificate."""
        context = ssl.create_default_context(cafile=str(self.ca))
        context.load_cert_chain(str(self.client_cert), str(self.client_key))
        return context


def _tls_exchange(
    host: str, port: int, context: ssl.SSLContext, request: bytes, expect: bytes
) -> bool:
    try:
        with (
            socket.create_connection((host, port), timeout=0.5) as raw,
            context.wrap_socket(raw, server_hostname=host) as sock,
        ):
            sock.sendall(request)
            reply = b""
            # Replies to pipelined commands may arrive split across records.
            while expect not in reply and len(reply) < 4096:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                reply += chunk
            return expect in reply
    except (OSError, ssl.SSLError):
        return False


class TlsRedisServer(RedisServer):
    """redis-server listening on TLS only, with optional ACL users.

    ``users`` are ACL rules as in redis.conf (``"name on >password ~cc:* +get"``).
    The default user is switched off and :data:`ADMIN_USER` added, so nothing
    reaches the server without credentials.
    """

    def __init__(
        self,
        certs: Certificates,
        *,
        require_client_cert: bool = False,
        users: Sequence[str] = (),
        port: int | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        super().__init__(port, extra_args=extra_args)
        self.certs = certs
        self.require_client_cert = require_client_cert
        self.users = list(users)

    def _command(self, binary: str) -> list[str]:
        # Later arguments win: the plaintext port the base class sets is closed.
        # fmt: off
        tls = [
            "--port", "0", "--tls-port", str(self.port),
            "--tls-cert-file", str(self.certs.server_cert),
            "--tls-key-file", str(self.certs.server_key),
            "--tls-ca-cert-file", str(self.certs.ca),
            "--tls-auth-clients", "yes" if self.require_client_cert else "no",
        ]
        # fmt: on
        # Each token of a rule is its own argument: redis-server quotes every
        # argument, so a rule passed as one string becomes one odd user name.
        for rule in ["default off", f"{ADMIN_USER} on >{ADMIN_PASSWORD} ~* &* +@all", *self.users]:
            tls += ["--user", *rule.split()]
        return [*super()._command(binary), *tls]

    @property
    def url(self) -> str:
        return f"rediss://{self.host}:{self.port}/0"

    def admin_options(self) -> dict[str, object]:
        """redis-py keyword arguments for a fixture-side admin connection."""
        return {
            "host": self.host,
            "port": self.port,
            "username": ADMIN_USER,
            "password": ADMIN_PASSWORD,
            "ssl": True,
            "ssl_ca_certs": str(self.certs.ca),
            "ssl_certfile": str(self.certs.client_cert),
            "ssl_keyfile": str(self.certs.client_key),
            "socket_timeout": 5,
        }

    def _ping(self) -> bool:
        auth = f"AUTH {ADMIN_USER} {ADMIN_PASSWORD}\r\nPING\r\n".encode()
        return _tls_exchange(self.host, self.port, self.certs.client_context(), auth, b"+PONG")


class TlsMemcachedServer(MemcachedServer):
    """memcached with TLS on its one TCP port (``-Z``), optionally requiring a client cert."""

    def __init__(self, certs: Certificates, *, require_client_cert: bool = False) -> None:
        super().__init__()
        self.certs = certs
        self.require_client_cert = require_client_cert

    def _command(self, binary: str) -> list[str]:
        # ssl_verify_mode 2 = require a peer certificate signed by ssl_ca_cert.
        options = [
            f"ssl_chain_cert={self.certs.server_cert}",
            f"ssl_key={self.certs.server_key}",
            f"ssl_ca_cert={self.certs.ca}",
            f"ssl_verify_mode={2 if self.require_client_cert else 0}",
        ]
        return [*super()._command(binary), "-Z", "-o", ",".join(options)]

    @property
    def url(self) -> str:
        return f"memcacheds://{self.host}:{self.port}"

    def _ping(self) -> bool:
        context = self.certs.client_context()
        return _tls_exchange(self.host, self.port, context, b"version\r\n", b"VERSION")


class TlsRedisCluster:
    """``masters`` TLS-only cluster nodes (bus over TLS too), joined by redis-cli,
    each with ``replicas`` replicas (replication over TLS, as the admin user)."""

    def __init__(
        self,
        certs: Certificates,
        *,
        users: Sequence[str] = (),
        masters: int = 3,
        replicas: int = 0,
    ) -> None:
        self.certs = certs
        self.users = list(users)
        self.masters = masters
        self.replicas = replicas
        self.nodes: list[TlsRedisServer] = []

    @property
    def url(self) -> str:
        first = self.nodes[0]
        return f"rediss+cluster://{first.host}:{first.port}"

    def start(self) -> TlsRedisCluster:
        cli = require_binary("redis-cli", "redis-tools")
        try:
            for _ in range(self.masters * (1 + self.replicas)):
                # The bus listens on tls-port + 10000 when the plaintext port is 0.
                port = free_cluster_port("127.0.0.1")
                # fmt: off
                cluster_args = [
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", f"nodes-{port}.conf",
                    "--cluster-node-timeout", "2000",
                    "--tls-cluster", "yes",
                    # A replica syncs over TLS, logged in (the default user is off).
                    "--tls-replication", "yes",
                    "--masteruser", ADMIN_USER, "--masterauth", ADMIN_PASSWORD,
                ]
                # fmt: on
                node = TlsRedisServer(
                    self.certs, users=self.users, port=port, extra_args=cluster_args
                )
                self.nodes.append(node)
                node.start()
            self._create(cli)
            self._wait_ready()
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        for node in self.nodes:
            node.close()
        self.nodes = []

    def _create(self, cli: str) -> None:
        # fmt: off
        cmd = [
            cli, "--tls", "--cacert", str(self.certs.ca),
            "--cert", str(self.certs.client_cert), "--key", str(self.certs.client_key),
            "--user", ADMIN_USER, "--pass", ADMIN_PASSWORD, "--no-auth-warning",
            "--cluster", "create", *(f"{n.host}:{n.port}" for n in self.nodes),
            "--cluster-replicas", str(self.replicas), "--cluster-yes",
        ]
        # fmt: on
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
        if done.returncode != 0:
            raise ServerStartError(
                f"redis-cli --cluster create (TLS) failed ({done.returncode}):\n"
                f"{done.stdout[-2000:]}{done.stderr[-2000:]}"
            )

    def _wait_ready(self, within: float = 30.0) -> None:
        deadline = time.monotonic() + within
        for node in self.nodes:
            with redis.Redis(**node.admin_options(), decode_responses=True) as admin:  # type: ignore[arg-type]
                while True:
                    info = admin.cluster("INFO")
                    if info.get("cluster_state") == "ok" and int(
                        str(info.get("cluster_known_nodes"))
                    ) == len(self.nodes):
                        break
                    if time.monotonic() > deadline:
                        raise ServerStartError(f"TLS cluster not ready: {info}")
                    time.sleep(0.05)
