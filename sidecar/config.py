"""YAML + environment -> validated settings.

One YAML file describes listeners, backends (name -> URL) and namespaces (the
unit of policy and isolation). It is validated once, at start; every error
names the field path (``namespaces.product.ttl``) and what is accepted there.
Secrets never live in the YAML: a backend names the environment variable or
file that holds its password, and a URL carrying a password is refused.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from sidecar.config_access import (
    MIN_TOKEN_LENGTH,
    CallerSettings,
    LimitSettings,
    TlsSettings,
    is_loopback,
)
from sidecar.config_auth import (
    IAM_MAX_CONNECTION_AGE,
    IamSettings,
    InvalidationSettings,
    ReadFrom,
    check_auth,
    check_read_from,
    read_secret,
)
from sidecar.config_namespaces import (
    BOARD_WINDOWS,
    BoardSettings,
    ChannelSettings,
    NamespaceSettings,
    WriteBehindSettings,
)
from sidecar.config_types import (
    NAME_PATTERN,
    ConfigError,
    Duration,
    Size,
    Strict,
    parse_duration,
    parse_size,
)
from sidecar.config_urls import check_backend_address, unknown_key_hint

__all__ = [
    "BOARD_WINDOWS",
    "ITEM_OVERHEAD",
    "MIN_TOKEN_LENGTH",
    "BackendSettings",
    "BoardSettings",
    "CallerSettings",
    "ChannelSettings",
    "ConfigError",
    "LimitSettings",
    "NamespaceSettings",
    "Settings",
    "TlsSettings",
    "WriteBehindSettings",
    "is_loopback",
    "load_settings",
    "parse_duration",
    "parse_size",
    "settings_from_mapping",
]

BACKEND_SCHEMES = (
    "redis",
    "rediss",
    "redis+cluster",
    "rediss+cluster",
    "memcached",
    "memcacheds",
)
#: Schemes that dial with TLS (the trailing "s", as in https).
TLS_SCHEMES = ("rediss", "rediss+cluster", "memcacheds")


class BackendSettings(Strict):
    """One Redis or Memcached deployment."""

    url: str
    #: Environment variable / file holding the Redis password (or ACL user's).
    password_env: str | None = None
    password_file: Path | None = None
    #: The Redis ACL user; a name is not a secret, so it may live in the YAML.
    username: str | None = None
    #: CA bundle (default: the system's) and optional client certificate, for
    #: the TLS schemes rediss://, rediss+cluster:// and memcacheds://.
    tls_ca_file: Path | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    #: Connections (Redis) or connections per server (Memcached).
    pool_size: int = Field(default=64, ge=1, le=10_000)
    #: Memcached only: the servers' item size limit (memcached -I, 1m by
    #: default). Namespaces on this backend default their max_value_size to
    #: what fits in one item, and may not ask for more.
    max_item_size: Size = Field(default=1024 * 1024, ge=4096)
    #: How long one backend command may take before it counts as a failure.
    timeout: Duration = timedelta(milliseconds=500)
    connect_timeout: Duration = timedelta(milliseconds=500)
    #: Redis: "password" (ACL password, optional) or "iam" (ElastiCache IAM
    #: tokens; see config_auth.py and docs/elasticache.md).
    auth: Literal["password", "iam"] = "password"
    iam: IamSettings | None = None
    #: Redis: the password a rotation moves to, tried when the current one is
    #: refused, so both ACL passwords work while a rotation is under way.
    next_password_env: str | None = None
    next_password_file: Path | None = None
    #: Redis: a connection older than this is closed (between commands) and
    #: dialled again; 11h by default with auth: iam (ElastiCache closes IAM
    #: connections at 12h), unlimited otherwise.
    max_connection_age: Duration | None = None
    #: Redis: where plain Get reads go (docs/elasticache.md, "Reads from
    #: replicas"); replicas of a cluster, or `reader_url` (a cluster-mode-
    #: disabled reader endpoint) for a standalone URL.
    read_from: ReadFrom = "primary"
    reader_url: str | None = None
    #: Redis: the near cache's invalidation links (only used when a namespace
    #: on this backend has near_cache).
    invalidation: InvalidationSettings = Field(default_factory=InvalidationSettings)

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme

    @property
    def kind(self) -> Literal["redis", "memcached"]:
        return "memcached" if self.scheme.startswith("memcached") else "redis"

    @property
    def tls(self) -> bool:
        return self.scheme in TLS_SCHEMES

    @model_validator(mode="after")
    def _tls_files_need_tls(self) -> BackendSettings:
        # A CA file on a plaintext URL would look like TLS in review while the
        # connection stays in the clear: refuse it instead of ignoring it.
        given = [
            name
            for name in ("tls_ca_file", "tls_cert_file", "tls_key_file")
            if getattr(self, name) is not None
        ]
        if given and not self.tls:
            secure = self.scheme.replace("redis", "rediss", 1).replace("memcached", "memcacheds", 1)
            raise ValueError(
                f"{', '.join(given)} set, but {self.scheme}:// does not use TLS; "
                f"use {secure}:// to connect with TLS"
            )
        if self.tls_key_file is not None and self.tls_cert_file is None:
            raise ValueError("tls_key_file needs tls_cert_file (the client certificate)")
        if self.kind == "memcached" and self.invalidation.model_fields_set:
            raise ValueError(
                "invalidation is a Redis setting (memcached has no invalidation feed; "
                "a near cache there is bounded by its max_staleness): remove it"
            )
        return self

    @field_validator("url")
    @classmethod
    def _check_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in BACKEND_SCHEMES:
            raise ValueError(
                f"unsupported scheme {parts.scheme!r}; use one of "
                + ", ".join(f"{s}://" for s in BACKEND_SCHEMES)
            )
        if parts.password:
            raise ValueError(
                "the URL carries a password; secrets never go in the config file: "
                "remove it and set password_env (or password_file) instead"
            )
        if parts.query or parts.fragment:
            # The client library would read ?password=... (and any other option)
            # from here, past every check: options are backend fields instead.
            raise ValueError(
                "the URL has a query string or fragment; cachecar takes no options "
                "there (a ?password=... would put a secret in the config file): remove "
                "it, set password_env (or password_file) for a password, and the "
                "backend's own fields (timeout, pool_size, tls_*) for the rest"
            )
        if not parts.netloc:
            raise ValueError("the URL names no host, e.g. redis://127.0.0.1:6379/0")
        return url

    def password(self, environ: Mapping[str, str] = os.environ) -> str | None:
        """The password, read from the environment or a file at connect time."""
        return read_secret(self.password_env, self.password_file, environ)

    def next_password(self, environ: Mapping[str, str] = os.environ) -> str | None:
        """The password a rotation moves to (tried when the current one is refused)."""
        return read_secret(self.next_password_env, self.next_password_file, environ)

    @property
    def connection_age_limit(self) -> timedelta | None:
        if self.max_connection_age is None and self.auth == "iam":
            return IAM_MAX_CONNECTION_AGE - timedelta(hours=1)
        return self.max_connection_age

    @model_validator(mode="after")
    def _auth_fits(self) -> BackendSettings:
        check_auth(
            auth=self.auth,
            iam=self.iam,
            tls=self.tls,
            kind=self.kind,
            username=self.username,
            has_password=bool(self.password_env or self.password_file),
            has_next_password=bool(self.next_password_env or self.next_password_file),
            max_connection_age=self.max_connection_age,
        )
        check_read_from(self.read_from, self.reader_url, self.scheme, self.kind)
        return self

    @field_validator("url")
    @classmethod
    def _check_url_address(cls, url: str) -> str:
        # After _check_url (scheme, no password): hosts, ports, database, server list.
        return check_backend_address(url)


#: Room left in a Memcached item for its key (up to 250 bytes), item header
#: and cachecar's envelope.
ITEM_OVERHEAD = 1024


class Settings(Strict):
    """The whole sidecar configuration."""

    #: Where the gRPC API listens: "host:port" or "unix:///path".
    listen: str = "127.0.0.1:50070"
    #: Where Prometheus scrapes /metrics ("host:port"); unset = off.
    metrics_listen: str | None = None
    #: A second listener that serves only grpc.health.v1 ("host:port"), for
    #: Kubernetes gRPC probes on the pod IP while the API stays on loopback.
    health_listen: str | None = None
    #: Prefix of every key cachecar writes, so a shared Redis stays tidy.
    key_prefix: str = Field(default="cc:", max_length=32, pattern=r"^[A-Za-z0-9:_.-]*$")
    #: How long SIGTERM waits for in-flight calls before cancelling them.
    shutdown_grace: Duration = timedelta(seconds=10)
    #: Worker processes sharing `listen` (SO_REUSEPORT), because one Python
    #: process uses about one core; >1 needs a TCP listen address. The
    #: supervisor serves one /metrics for all of them (sidecar/workers.py).
    workers: int = Field(default=1, ge=1, le=64)
    #: TLS (and mTLS) on `listen`; required when `listen` is not loopback.
    tls: TlsSettings | None = None
    #: A unix-socket `listen`: its file mode (octal, default owner only) and
    #: optionally the group that may connect.
    unix_socket_mode: str = Field(default="0600", pattern=r"^0?[0-7]{3}$")
    unix_socket_group: str | None = None
    #: Set: only these callers may use the data API (health stays open).
    callers: dict[str, CallerSettings] = Field(default_factory=dict)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    #: A Subscribe stream with nothing to deliver gets a HeartbeatEvent this
    #: often. 15s stays under common L7 idle timeouts (GCP load balancers 30s,
    #: AWS ALB / nginx 60s, Cloudflare 100s) with room to spare, and lets a
    #: client call a stream stalled after 2 silent intervals (30s).
    heartbeat_interval: Duration = timedelta(seconds=15)
    backends: dict[str, BackendSettings]
    namespaces: dict[str, NamespaceSettings]

    @field_validator("backends", mode="before")
    @classmethod
    def _url_shorthand(cls, value: Any) -> Any:
        # `main: "redis://..."` is shorthand for `main: {url: "redis://..."}`.
        if isinstance(value, dict):
            return {k: {"url": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("backends", "namespaces", "callers")
    @classmethod
    def _names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not re.match(NAME_PATTERN, name):
                raise ValueError(
                    f"name {name!r} must be lowercase letters, digits, '_' or '-', "
                    "starting with a letter, at most 63 characters"
                )
        return value

    @field_validator("listen", "health_listen", "metrics_listen")
    @classmethod
    def _listen(cls, value: str | None) -> str | None:
        if value is None or value.startswith("unix:"):
            return value
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError("expected host:port (e.g. 127.0.0.1:50070) or unix:///path")
        return value

    @model_validator(mode="before")
    @classmethod
    def _memcached_value_sizes(cls, raw: Any) -> Any:
        # A Memcached value over the item limit fails at the server as a
        # backend error; defaulting to what fits turns it into VALUE_TOO_LARGE.
        if not isinstance(raw, dict):
            return raw
        backends, namespaces = raw.get("backends"), raw.get("namespaces")
        if not isinstance(backends, dict) or not isinstance(namespaces, dict):
            return raw
        fixed = dict(namespaces)
        for name, ns in namespaces.items():
            if not isinstance(ns, dict) or "max_value_size" in ns:
                continue
            backend = backends.get(ns.get("backend"))
            url = backend if isinstance(backend, str) else (backend or {}).get("url")
            if isinstance(url, str) and url.startswith("memcached"):
                item = backend.get("max_item_size", 2**20) if isinstance(backend, dict) else 2**20
                try:
                    fixed[name] = {**ns, "max_value_size": parse_size(item) - ITEM_OVERHEAD}
                except ValueError:
                    continue  # the backend's own validation names the bad size
        return {**raw, "namespaces": fixed}

    @model_validator(mode="after")
    def _values_fit_memcached_items(self) -> Settings:
        for name, ns in self.namespaces.items():
            backend = self.backends.get(ns.backend)
            if backend is None or backend.kind != "memcached":
                continue
            fits = backend.max_item_size - ITEM_OVERHEAD
            if ns.max_value_size > fits:
                raise ValueError(
                    f"namespaces.{name}.max_value_size: {ns.max_value_size} bytes do not fit "
                    f"in one Memcached item of backends.{ns.backend}.max_item_size "
                    f"({backend.max_item_size} bytes, less {ITEM_OVERHEAD} for key and "
                    f"envelope): use at most {fits}, or start memcached with a larger -I "
                    "and set max_item_size to match"
                )
        return self

    @model_validator(mode="after")
    def _listener_is_private(self) -> Settings:
        if self.tls is None and not is_loopback(self.listen):
            raise ValueError(
                f"listen: {self.listen} is reachable from the network, and the data API "
                "would be served there unencrypted and to anyone; listen on 127.0.0.1 "
                "or a unix socket (Kubernetes probes use health_listen), or set "
                "tls.cert_file and tls.key_file (plus tls.client_ca_file for mTLS)"
            )
        for name, caller in self.callers.items():
            if caller.identity and (self.tls is None or self.tls.client_ca_file is None):
                raise ValueError(
                    f"callers.{name}.identity: certificate identities need mTLS; "
                    "set tls.client_ca_file"
                )
            for ns in caller.namespaces:
                if ns != "*" and ns not in self.namespaces:
                    raise ValueError(
                        f"callers.{name}.namespaces: {ns!r} is not declared under namespaces"
                    )
        return self

    @model_validator(mode="after")
    def _workers_can_share_the_port(self) -> Settings:
        if self.workers == 1:
            return self
        for name in ("listen", "health_listen"):
            if (getattr(self, name) or "").startswith("unix:"):
                # SO_REUSEPORT is a TCP/UDP feature: a second bind() of a unix
                # socket path fails (or, after unlinking it, steals the path).
                raise ValueError(
                    f"workers: {self.workers} workers share one TCP port, but {name} is a "
                    "unix socket; use a host:port address there or workers: 1"
                )
        return self

    @model_validator(mode="after")
    def _namespace_backends_exist(self) -> Settings:
        for name, ns in self.namespaces.items():
            if ns.backend not in self.backends:
                declared = ", ".join(sorted(self.backends)) or "none"
                raise ValueError(
                    f"namespaces.{name}.backend: backend {ns.backend!r} is not declared "
                    f"under backends (declared: {declared})"
                )
            if ns.write_behind is not None:
                if self.backends[ns.backend].kind != "redis":
                    # Refused rather than accepted and lost: Memcached has no
                    # durable queue, and cache and queue must change together.
                    raise ValueError(
                        f"namespaces.{name}.write_behind: needs a Redis backend for its durable "
                        f"queue, but {ns.backend!r} is Memcached; use a Redis namespace for "
                        "write-behind (write-through works on Memcached)"
                    )
                if ns.writer is None:
                    raise ValueError(
                        f"namespaces.{name}.write_behind: needs namespaces.{name}.writer, the "
                        "app's WriterService that the queue is flushed to"
                    )
            if ns.channels.sharded and self.backends[ns.backend].kind != "redis":
                raise ValueError(
                    f"namespaces.{name}.channels.sharded: sharded pub/sub needs a Redis "
                    f"Cluster (SPUBLISH / SSUBSCRIBE), but {ns.backend!r} is Memcached, which "
                    "has no pub/sub; remove channels.sharded or use a Redis backend"
                )
            near = ns.near_cache
            if (
                near is not None
                and near.max_staleness is None
                and self.backends[ns.backend].kind != "redis"
            ):
                # Memcached pushes no invalidations: without a bound a near
                # copy could be stale for its whole TTL. Say so at start.
                raise ValueError(
                    f"namespaces.{name}.near_cache: {ns.backend!r} is Memcached, which "
                    "cannot invalidate a near cache; set near_cache.max_staleness (how "
                    "long a copy may outlive a write elsewhere, e.g. 1s) or use Redis"
                )
        return self


def _format(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        path = ".".join(str(p) for p in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = unknown_key_hint(Settings, item["loc"]) or message
        # Cross-field checks name their own path at the start of the message.
        lines.append(f"  {path}: {message}" if path else f"  {message}")
    return "invalid configuration:\n" + "\n".join(lines)


def _apply_environment(raw: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    # Listeners are the settings operators most often change per environment.
    for var, field in (
        ("CACHECAR_LISTEN", "listen"),
        ("CACHECAR_METRICS_LISTEN", "metrics_listen"),
        ("CACHECAR_HEALTH_LISTEN", "health_listen"),
        ("CACHECAR_WORKERS", "workers"),
    ):
        if environ.get(var):
            raw[field] = environ[var]
    # A backend's endpoint is what differs between environments (a kustomize
    # overlay, staging): CACHECAR_BACKEND_<NAME>_URL replaces only the URL.
    backends = raw.get("backends")
    if isinstance(backends, dict):
        backends = raw["backends"] = dict(backends)
        for name, backend in backends.items():
            var = "CACHECAR_BACKEND_" + re.sub(r"\W", "_", str(name)).upper() + "_URL"
            url = environ.get(var)
            if url:
                backends[name] = {**backend, "url": url} if isinstance(backend, dict) else url
    return raw


def settings_from_mapping(raw: object, environ: Mapping[str, str] = os.environ) -> Settings:
    """Validate an already-parsed config document."""
    if not isinstance(raw, dict):
        raise ConfigError("invalid configuration: the file must be a YAML mapping at top level")
    try:
        return Settings.model_validate(_apply_environment(dict(raw), environ))
    except ValidationError as exc:
        raise ConfigError(_format(exc)) from None


def load_settings(path: str | Path, environ: Mapping[str, str] = os.environ) -> Settings:
    """Read, parse and validate the YAML config at ``path``."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    return settings_from_mapping(raw, environ)
