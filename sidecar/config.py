"""YAML + environment -> validated settings.

One YAML file describes listeners, backends (name -> URL) and namespaces (the
unit of policy and isolation). It is validated once, at start; every error
names the field path (``namespaces.product.ttl``) and what is accepted there.
Secrets never live in the YAML: a backend names the environment variable or
file that holds its password, and a URL carrying a password is refused.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

__all__ = [
    "BackendSettings",
    "BoardSettings",
    "CallerSettings",
    "ChannelSettings",
    "ConfigError",
    "LimitSettings",
    "NamespaceSettings",
    "Settings",
    "TlsSettings",
    "load_settings",
    "parse_duration",
    "parse_size",
]

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|us|s|m|h|d)")
_DURATION_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_SIZE = re.compile(r"(\d+)\s*(B|KB|KiB|MB|MiB|GB|GiB)?", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "kib": 1024,
    "mb": 10**6,
    "mib": 2**20,
    "gb": 10**9,
    "gib": 2**30,
}
NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,62}$"
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


class ConfigError(ValueError):
    """The configuration is invalid; the message lists every bad field."""


def parse_duration(value: object) -> timedelta:
    """Accept ``1h``, ``30m``, ``1h30m``, ``500ms``, a number of seconds, or a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 5m or 1h, not a boolean")  # noqa: TRY004  (pydantic reports ValueError)
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        if text and _DURATION_PART.sub("", text) == "":
            seconds = sum(float(n) * _DURATION_UNITS[u] for n, u in _DURATION_PART.findall(text))
            return timedelta(seconds=seconds)
    raise ValueError(f"expected a duration such as 500ms, 30s, 5m, 1h or 1h30m, got {value!r}")


def parse_size(value: object) -> int:
    """Accept ``1MiB``, ``512KB``, ``1000`` (bytes)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        match = _SIZE.fullmatch(value.strip())
        if match:
            return int(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()]
    raise ValueError(f"expected a size such as 512KiB, 1MiB or a number of bytes, got {value!r}")


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Size = Annotated[int, BeforeValidator(parse_size)]


class _Strict(BaseModel):
    # Unknown keys are typos until proven otherwise: refuse them by name.
    model_config = ConfigDict(extra="forbid", frozen=True)


class BackendSettings(_Strict):
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
        if not parts.netloc:
            raise ValueError("the URL names no host, e.g. redis://127.0.0.1:6379/0")
        return url

    def password(self, environ: Mapping[str, str] = os.environ) -> str | None:
        """The password, read from the environment or a file at connect time."""
        if self.password_env:
            return environ.get(self.password_env)
        if self.password_file:
            return self.password_file.read_text().strip()
        return None


class WriteBehindSettings(_Strict):
    """The durable write-behind queue of a namespace (Redis Streams)."""

    #: Streams per namespace. Keys hash to a partition; each partition is
    #: flushed by one sidecar at a time, which keeps per-key order.
    partitions: int = Field(default=4, ge=1, le=256)
    #: How often a partition is flushed, and the most writes per WriteBatch.
    flush_interval: Duration = timedelta(milliseconds=500)
    batch_size: int = Field(default=500, ge=1, le=10_000)
    #: Writes accepted but not yet acknowledged, per namespace: past it,
    #: EnqueueWrite answers RESOURCE_EXHAUSTED / QUEUE_FULL.
    max_pending: int = Field(default=100_000, ge=1)
    #: Times the writer may reject a write before it is dead-lettered. A writer
    #: that is down (UNAVAILABLE, timeouts) is retried for as long as it takes.
    max_attempts: int = Field(default=8, ge=1, le=1000)
    retry_backoff: Duration = timedelta(milliseconds=200)
    max_backoff: Duration = timedelta(seconds=30)
    #: How long a partition's flusher lease lasts without renewal: how soon
    #: another sidecar takes over the writes of one that crashed.
    owner_ttl: Duration = timedelta(seconds=5)


BOARD_WINDOWS = ("none", "daily", "weekly", "monthly")


class BoardSettings(_Strict):
    """A declared leaderboard: its ranking order and its time windows."""

    #: "none"; "daily", "weekly" (ISO weeks, from Monday) or "monthly" (calendar
    #: months), all in UTC; or a fixed length such as "1h" (windows aligned to
    #: the unix epoch).
    window: str = "none"
    #: How many past windows stay readable (windows_ago up to this); older
    #: windows expire by themselves.
    retain: int = Field(default=1, ge=0, le=1000)
    #: "desc": the highest score ranks first; "asc": the lowest (race times).
    order: Literal["desc", "asc"] = "desc"

    @field_validator("window", mode="before")
    @classmethod
    def _window(cls, value: object) -> str:
        if isinstance(value, str) and value in BOARD_WINDOWS:
            return value
        try:
            length = parse_duration(value)
        except ValueError:
            raise ValueError(
                f"expected none, daily, weekly, monthly or a fixed length such as 1h, got {value!r}"
            ) from None
        if length < timedelta(seconds=1):
            raise ValueError("a fixed window must be at least 1s long")
        return str(value) if isinstance(value, str) else f"{length.total_seconds():g}s"

    @property
    def window_length(self) -> timedelta | None:
        """The length of a fixed window; None for none/daily/weekly/monthly."""
        return None if self.window in BOARD_WINDOWS else parse_duration(self.window)


class ChannelSettings(_Strict):
    """Pub/Sub in one namespace: which channels are durable, and subscriber limits."""

    #: Durable channels (Redis Streams, at-least-once), by name or Redis glob
    #: ("orders", "audit.*"); every other channel is fire-and-forget.
    durable: list[str] = Field(default_factory=list)
    #: About how many messages a durable channel retains (XADD MAXLEN ~).
    max_len: int = Field(default=10_000, ge=1, le=100_000_000)
    #: Messages buffered per subscriber (and kept in memory per durable channel).
    subscriber_buffer: int = Field(default=1000, ge=1, le=1_000_000)
    #: A fire-and-forget subscriber whose buffer is full: drop its oldest
    #: messages and tell it how many, or end its stream (RESOURCE_EXHAUSTED).
    slow_subscriber: Literal["drop_oldest", "disconnect"] = "drop_oldest"
    #: Open Subscribe streams in this namespace, per sidecar.
    max_subscribers: int = Field(default=10_000, ge=1)
    #: Channels plus patterns in one Subscribe.
    max_channels_per_subscription: int = Field(default=100, ge=1, le=10_000)
    #: Longest channel name or pattern, in bytes of UTF-8.
    max_channel_length: int = Field(default=256, ge=1, le=4096)


class NamespaceSettings(_Strict):
    """Policy for one namespace: where its keys live and how they are cached."""

    backend: str
    ttl: Duration = timedelta(hours=1)
    #: TTLs are shortened by up to this fraction at random, so keys written
    #: together do not all expire together.
    ttl_jitter: float = Field(default=0.1, ge=0.0, le=0.9)
    #: How long a loader's found=false is cached.
    negative_ttl: Duration = timedelta(seconds=30)
    #: How long past its TTL an entry may still be served as STALE.
    grace: Duration = timedelta(0)
    #: Default: 1MiB on Redis; on Memcached, what fits in one item
    #: (the backend's max_item_size less ITEM_OVERHEAD for key and envelope).
    max_value_size: Size = Field(default=1024 * 1024, ge=1)
    max_key_length: int = Field(default=1024, ge=1, le=65_536)
    max_batch_keys: int = Field(default=1000, ge=1, le=100_000)
    #: The app's LoaderService / WriterService ("host:port" or "unix:///path").
    loader: str | None = None
    writer: str | None = None
    #: Upper bound for one loader call (the caller's deadline may be shorter).
    loader_timeout: Duration = timedelta(seconds=5)
    #: How long a load lease lasts: the longest a crashed sidecar's lease can
    #: keep others waiting. Unset: loader_timeout + 1s (a live load never
    #: outlasts its lease).
    lease_ttl: Duration | None = None
    #: XFetch's beta: how eagerly hot entries are refreshed before they expire
    #: (1.0 is the paper's default; 0 turns early refresh off).
    early_refresh_beta: float = Field(default=1.0, ge=0.0, le=10.0)
    #: Put keys in span attributes (off by default: keys may be personal data).
    trace_keys: bool = False
    #: Upper bound for one writer call (the caller's deadline may be shorter).
    writer_timeout: Duration = timedelta(seconds=5)
    #: After a successful WriteThrough: store the written value, or drop the
    #: cached entry so the next read loads it.
    write_through: Literal["update", "invalidate"] = "update"
    #: Turns on EnqueueWrite (write-behind) for this namespace; Redis only.
    write_behind: WriteBehindSettings | None = None
    #: Sessions: how long a session lives whatever its activity (its idle TTL
    #: is `ttl`, or the TTL CreateSession asks for; no jitter).
    session_max_lifetime: Duration = timedelta(hours=24)
    #: Sessions: reads and updates extend the idle TTL (TouchSession always does).
    session_sliding: bool = True
    #: Leaderboards with a non-default order or time windows, by board name;
    #: any other board name is an unwindowed board ranking the highest first.
    boards: dict[str, BoardSettings] = Field(default_factory=dict)
    #: Pub/Sub: durable channels, retention, slow-subscriber policy; Redis only.
    channels: ChannelSettings = Field(default_factory=ChannelSettings)

    @field_validator("ttl", "negative_ttl", "session_max_lifetime")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be longer than zero")
        return value


class TlsSettings(_Strict):
    """TLS on the data API listener; with ``client_ca_file``, mutual TLS."""

    cert_file: Path
    key_file: Path
    #: Set: every client must present a certificate signed by this CA (mTLS),
    #: and `callers` may name callers by their certificate identity.
    client_ca_file: Path | None = None


#: Room left in a Memcached item for its key (up to 250 bytes), item header
#: and cachecar's envelope.
ITEM_OVERHEAD = 1024

#: The smallest caller token accepted: a guessable token is no token.
MIN_TOKEN_LENGTH = 16


class CallerSettings(_Strict):
    """One caller allowed to use the data API, and the namespaces it may use.

    A caller proves who it is with a bearer token (``authorization: Bearer
    <token>`` metadata; the token comes from an environment variable or a
    file, never the YAML) or, with mTLS, by its client certificate: ``identity``
    matches the certificate's common name or one of its subject alternative
    names (e.g. a SPIFFE ID).
    """

    token_env: str | None = None
    token_file: Path | None = None
    identity: str | None = None
    #: Namespaces this caller may use; "*" allows every namespace.
    namespaces: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_credential(self) -> CallerSettings:
        given = [f for f in ("token_env", "token_file", "identity") if getattr(self, f)]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of token_env, token_file or identity "
                f"(got {', '.join(given) or 'none'})"
            )
        return self

    def token(self, environ: Mapping[str, str] = os.environ) -> str | None:
        """The caller's token, read at start (None for an mTLS identity)."""
        if self.token_env:
            return environ.get(self.token_env)
        if self.token_file:
            return self.token_file.read_text().strip()
        return None


class LimitSettings(_Strict):
    """Sidecar-wide limits: past each, a clear RESOURCE_EXHAUSTED, never unbounded memory."""

    #: Largest request message; a bigger one is refused before it is decoded.
    max_request_size: Size = Field(default=4 * 1024 * 1024, ge=1024, le=1024 * 1024 * 1024)
    #: Loads (distinct keys) running at once across every namespace; past it a
    #: GetOrLoad miss answers RESOURCE_EXHAUSTED / LOADS_EXHAUSTED.
    max_inflight_loads: int = Field(default=10_000, ge=1)
    #: Open Subscribe streams across every namespace (each namespace also has
    #: channels.max_subscribers).
    max_streams: int = Field(default=10_000, ge=1)


def is_loopback(listen: str) -> bool:
    """True for a unix socket or a loopback host (127.0.0.0/8, ::1, localhost)."""
    if listen.startswith("unix:"):
        return True
    host = listen.rpartition(":")[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


class Settings(_Strict):
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
    #: process uses about one core; >1 needs a TCP listen address. Worker i
    #: serves metrics on metrics_listen's port + i (sidecar/workers.py).
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
        if self.metrics_listen and not self.metrics_listen.startswith("unix:"):
            port = int(self.metrics_listen.rpartition(":")[2])
            if port and port + self.workers - 1 > 65535:
                raise ValueError(
                    f"metrics_listen: worker i serves metrics on port {port} + i, which passes "
                    f"65535 with {self.workers} workers; choose a lower port"
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
        return self


def _format(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        path = ".".join(str(p) for p in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
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
