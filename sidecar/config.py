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
    "ConfigError",
    "NamespaceSettings",
    "Settings",
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
BACKEND_SCHEMES = ("redis", "rediss", "redis+cluster", "rediss+cluster", "memcached")


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
    #: CA bundle and optional client certificate for rediss://.
    tls_ca_file: Path | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    #: Connections (Redis) or connections per server (Memcached).
    pool_size: int = Field(default=64, ge=1, le=10_000)
    #: How long one backend command may take before it counts as a failure.
    timeout: Duration = timedelta(milliseconds=500)
    connect_timeout: Duration = timedelta(milliseconds=500)

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme

    @property
    def kind(self) -> Literal["redis", "memcached"]:
        return "memcached" if self.scheme == "memcached" else "redis"

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

    @field_validator("ttl", "negative_ttl")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be longer than zero")
        return value


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
    backends: dict[str, BackendSettings]
    namespaces: dict[str, NamespaceSettings]

    @field_validator("backends", mode="before")
    @classmethod
    def _url_shorthand(cls, value: Any) -> Any:
        # `main: "redis://..."` is shorthand for `main: {url: "redis://..."}`.
        if isinstance(value, dict):
            return {k: {"url": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("backends", "namespaces")
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

    @model_validator(mode="after")
    def _namespace_backends_exist(self) -> Settings:
        for name, ns in self.namespaces.items():
            if ns.backend not in self.backends:
                declared = ", ".join(sorted(self.backends)) or "none"
                raise ValueError(
                    f"namespaces.{name}.backend: backend {ns.backend!r} is not declared "
                    f"under backends (declared: {declared})"
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
