"""Addresses in the config: backend URLs, gRPC targets, and hints for mistyped keys.

Everything here is checked when the config is validated, so that a port of
``abc`` or ``99999``, a Redis database of ``x``, an empty entry in a
Memcached list or a loader without a port is refused with its field path
by ``cachecar check-config``, instead of passing and then failing inside a
client library at ``serve`` time with a traceback.
"""

from __future__ import annotations

import difflib
import types
from typing import Any, Union, get_args, get_origin
from urllib.parse import urlsplit

from pydantic import BaseModel

__all__ = ["check_backend_address", "check_target", "unknown_key_hint"]

#: Target schemes gRPC resolves itself (https://grpc.github.io/grpc/core/md_doc_naming.html).
_TARGET_SCHEMES = ("dns:", "unix:", "unix-abstract:", "ipv4:", "ipv6:")


def _port(text: str, where: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"{where}: port {text!r} is not a number from 1 to 65535")
    return int(text)


def _host_port(part: str, where: str, *, default_port: int | None) -> None:
    """``host``, ``host:port``, ``[v6]:port``; ``where`` names the part in errors."""
    if part.startswith("["):
        host, bracket, rest = part[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"{where}: {part!r} is not [ipv6-address]:port")
        port = rest[1:] if rest else ""
        has_port = bool(rest)
    else:
        host, has_colon, port = part.rpartition(":")
        has_port = bool(has_colon)
        if not has_colon:
            host = part
    if not host or any(c.isspace() for c in host):
        raise ValueError(f"{where}: {part!r} names no host")
    if has_port:
        _port(port, where)
    elif default_port is None:
        raise ValueError(f"{where}: no port")


def check_backend_address(url: str) -> str:
    """Hosts, ports, Redis database and Memcached server list of a backend URL."""
    parts = urlsplit(url)
    hosts = parts.netloc.rpartition("@")[2]  # a user name (not a password) may precede
    if parts.scheme.startswith("memcached"):
        entries = hosts.split(",")
        for index, entry in enumerate(entries):
            if not entry.strip():
                raise ValueError(
                    f"server {index + 1} of {len(entries)} in the list is empty "
                    "(a stray comma?); write memcached://host1:11211,host2:11211"
                )
            _host_port(entry.strip(), f"server {entry.strip()!r}", default_port=11211)
        if parts.path not in ("", "/"):
            raise ValueError(f"memcached URLs take no path, got {parts.path!r}")
        return url
    _host_port(hosts, f"host {hosts!r}", default_port=6379)
    database = parts.path.removeprefix("/")
    if database and not (database.isdigit() and int(database) <= 15_000):
        raise ValueError(
            f"the path is the Redis database number, got {parts.path!r}; write redis://host:6379/0"
        )
    if database not in ("", "0") and "+cluster" in parts.scheme:
        raise ValueError("Redis Cluster has only database 0; drop the path or use /0")
    return url


def check_target(target: str | None) -> str | None:
    """The app's LoaderService/WriterService: ``host:port`` or a gRPC target URI."""
    if target is None:
        return None
    if target.startswith(_TARGET_SCHEMES):
        scheme, _, rest = target.partition(":")
        if not rest.strip("/"):
            raise ValueError(f"{target!r} names no address after {scheme}:")
        return target
    try:
        _host_port(target, repr(target), default_port=None)
    except ValueError as exc:
        raise ValueError(
            f"{exc}; expected host:port (e.g. 127.0.0.1:50052) or unix:///path"
        ) from None
    return target


def _model_in(annotation: Any) -> Any:
    """The model or dict inside ``X | None`` (what a config key can open into)."""
    if get_origin(annotation) in (Union, types.UnionType):
        for arg in get_args(annotation):
            if get_origin(arg) is dict or (isinstance(arg, type) and issubclass(arg, BaseModel)):
                return arg
    return annotation


def unknown_key_hint(root: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """For a refused key at ``loc``: "did you mean ...?" and the keys accepted there."""
    current: Any = root
    for part in loc[:-1]:
        current = _model_in(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return ""
            current = field.annotation
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        else:
            return ""
    current = _model_in(current)
    if not (isinstance(current, type) and issubclass(current, BaseModel)):
        return ""
    valid = sorted(current.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), valid, n=1)
    guess = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown key; {guess}valid keys here: {', '.join(valid)}"
