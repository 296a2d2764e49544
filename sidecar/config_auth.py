"""How a Redis backend logs in: ACL passwords (rotatable) or ElastiCache IAM.

Kept apart from ``config.py`` so the rules of one concern sit together: which
fields go with which ``auth`` mode, and the limits IAM imposes (TLS only, a
token valid 15 minutes, a connection closed by the service after 12 hours).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from sidecar.config_types import Duration, Strict

__all__ = [
    "IAM_MAX_CONNECTION_AGE",
    "IAM_TOKEN_LIFETIME",
    "IamSettings",
    "InvalidationSettings",
    "ReadFrom",
    "check_auth",
    "check_read_from",
    "read_secret",
]

#: ElastiCache closes a connection authenticated with an IAM token after 12 h.
IAM_MAX_CONNECTION_AGE = timedelta(hours=12)
#: A presigned IAM token is accepted for 15 minutes after it is signed.
IAM_TOKEN_LIFETIME = timedelta(minutes=15)

ReadFrom = Literal["primary", "replica", "prefer_replica", "az_affinity"]


class IamSettings(Strict):
    """ElastiCache IAM authentication (Redis OSS 7+ / Valkey 7.2+, TLS only).

    The ACL user id is the backend's ``username`` (ElastiCache requires the
    user id and user name of an IAM-enabled user to be the same)."""

    #: The AWS region the cache lives in, e.g. us-east-1.
    region: str = Field(min_length=1)
    #: The replication group id (node-based) or the serverless cache's name.
    cache_name: str = Field(min_length=1)
    #: True for ElastiCache Serverless (the token then names ResourceType=ServerlessCache).
    serverless: bool = False
    #: How often a fresh token is signed for new connections; well inside the
    #: 15 minutes a token is valid, so a connection never dials with a stale one.
    token_refresh: Duration = timedelta(minutes=5)


class InvalidationSettings(Strict):
    """The near cache's invalidation links to Redis (backends/redis/tracking.py)."""

    #: Each link is pinged this often; one ping unanswered for as long closes
    #: the link, which empties the near cache it vouches for. A frozen Redis is
    #: noticed within two intervals: the staleness bound after a silent failure.
    ping_interval: Duration = timedelta(milliseconds=500)
    #: Redis Cluster: how often CLUSTER SLOTS is read to notice a failover or a
    #: slot move (whose slots are then emptied from the near cache).
    topology_interval: Duration = timedelta(seconds=1)

    @field_validator("ping_interval", "topology_interval")
    @classmethod
    def _in_range(cls, value: timedelta) -> timedelta:
        # Below 50ms the pings are load, not detection; past a minute a frozen
        # Redis would serve stale near hits for minutes.
        if not timedelta(milliseconds=50) <= value <= timedelta(minutes=1):
            raise ValueError("must be between 50ms and 1m")
        return value


def read_secret(
    env: str | None, file: Path | None, environ: Mapping[str, str] = os.environ
) -> str | None:
    """A password from an environment variable or a file (stripped), or None."""
    if env:
        return environ.get(env)
    if file:
        return file.read_text().strip()
    return None


def check_auth(
    *,
    auth: Literal["password", "iam"],
    iam: IamSettings | None,
    tls: bool,
    kind: str,
    username: str | None,
    has_password: bool,
    has_next_password: bool,
    max_connection_age: timedelta | None,
) -> None:
    """Raise ValueError (saying what to change) for a combination that cannot work."""
    if kind != "redis" and (auth == "iam" or has_next_password or max_connection_age):
        raise ValueError(
            "auth: iam, next_password_* and max_connection_age apply to Redis backends only"
        )
    if has_next_password and not has_password:
        raise ValueError(
            "next_password_env/next_password_file set without password_env/password_file: "
            "the next password is the one a rotation moves to; set the current one too"
        )
    if auth == "password":
        if iam is not None:
            raise ValueError("an `iam:` block is set but auth is 'password'; set `auth: iam`")
        return
    if iam is None:
        raise ValueError(
            "auth: iam needs an `iam:` block with region and cache_name, "
            "e.g. iam: {region: us-east-1, cache_name: my-cache}"
        )
    if not tls:
        raise ValueError(
            "auth: iam needs TLS (ElastiCache accepts IAM tokens only over TLS): "
            "use rediss:// or rediss+cluster://"
        )
    if not username:
        raise ValueError("auth: iam needs `username`: the IAM-enabled ElastiCache user id")
    if has_password:
        raise ValueError(
            "auth: iam signs its own tokens; remove password_env/password_file "
            "(and next_password_*)"
        )
    if iam.token_refresh >= IAM_TOKEN_LIFETIME:
        raise ValueError(
            "iam.token_refresh must be under 15m (a token is valid for 15 minutes); "
            "the default, 5m, leaves room for a slow credential refresh"
        )
    if max_connection_age is not None and max_connection_age >= IAM_MAX_CONNECTION_AGE:
        raise ValueError(
            "max_connection_age must be under 12h with auth: iam (ElastiCache closes "
            "IAM-authenticated connections after 12 hours); leave it unset for 11h"
        )


def check_read_from(read_from: str, reader_url: str | None, scheme: str, kind: str) -> None:
    """Raise ValueError for a replica-read setting that cannot work."""
    if read_from == "primary":
        if reader_url is not None:
            raise ValueError("reader_url is set but read_from is 'primary'; set read_from: replica")
        return
    if kind != "redis":
        raise ValueError("read_from applies to Redis backends only")
    if read_from == "az_affinity":
        raise ValueError(
            "read_from: az_affinity is not implemented yet (it needs each replica's zone, "
            "which Redis OSS does not report); use replica or prefer_replica"
        )
    cluster = scheme.endswith("+cluster")
    if cluster and reader_url is not None:
        raise ValueError(
            "reader_url is for cluster-mode-disabled URLs; a cluster's replicas are "
            "found from the cluster itself: remove reader_url"
        )
    if not cluster and reader_url is None:
        raise ValueError(
            f"read_from: {read_from} on a {scheme}:// URL needs reader_url (the reader "
            "endpoint of a cluster-mode-disabled replication group)"
        )
    if reader_url is not None:
        reader = urlsplit(reader_url)
        if reader.scheme != scheme or reader.password or reader.query:
            raise ValueError(
                f"reader_url must use the backend's scheme ({scheme}://) and carry no "
                "password or options (the backend's login and TLS settings are used)"
            )
