"""The ElastiCache IAM token, checked against botocore's own presigner (no network).

AWS documents the token as a SigV4 query-presigned ``GET https://<cache>/?Action=
connect&User=<user>`` (plus ``ResourceType=ServerlessCache`` for Serverless),
service ``elasticache``, valid 900 seconds, with the ``https://`` removed. The
reference here signs that request with ``SigV4QueryAuth`` directly, a
different botocore path from the ``RequestSigner`` the sidecar uses, at the
same fixed clock and credentials: the two must agree to the byte.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import botocore.auth
import botocore.session
import pytest
import yaml
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from sidecar.backends.redis.iam import IamTokenSigner, NoAwsCredentials
from sidecar.config import ConfigError, settings_from_mapping
from sidecar.config_auth import IamSettings

NOW = datetime.datetime(2026, 3, 1, 12, 30, 45)
KEY_ID, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


@pytest.fixture
def fixed(monkeypatch: pytest.MonkeyPatch) -> botocore.session.Session:
    """A botocore session with fixed static credentials, and a fixed clock."""
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *_a, **_k: NOW)
    session = botocore.session.Session()
    session.set_credentials(KEY_ID, SECRET)
    return session


def _reference(cache: str, query: dict[str, str], token: str | None = None) -> str:
    request = AWSRequest(method="GET", url=f"https://{cache}/?{urlencode(query)}")
    SigV4QueryAuth(Credentials(KEY_ID, SECRET, token), "elasticache", "us-east-1", 900).add_auth(
        request
    )
    url: str = request.prepare().url
    return url.removeprefix("https://")


@pytest.mark.parametrize("serverless", [False, True])
def test_the_token_is_botocores_presigned_connect(
    fixed: botocore.session.Session, serverless: bool
) -> None:
    iam = IamSettings(region="us-east-1", cache_name="my-cache", serverless=serverless)
    token = IamTokenSigner("app-user", iam, session=fixed).sign()

    query = {"Action": "connect", "User": "app-user"}
    if serverless:
        query["ResourceType"] = "ServerlessCache"
    assert token == _reference("my-cache", query)

    # The documented parameters, spelled out (a reader of a failing test sees which).
    assert not token.startswith("https://")
    parts = urlsplit(f"//{token}")
    assert (parts.netloc, parts.path) == ("my-cache", "/")
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert params["Action"] == "connect"
    assert params["User"] == "app-user"
    assert params.get("ResourceType") == ("ServerlessCache" if serverless else None)
    assert params["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert params["X-Amz-Credential"] == f"{KEY_ID}/20260301/us-east-1/elasticache/aws4_request"
    assert params["X-Amz-Date"] == "20260301T123045Z"
    assert params["X-Amz-Expires"] == "900"
    assert params["X-Amz-SignedHeaders"] == "host"
    assert len(params["X-Amz-Signature"]) == 64


def test_temporary_credentials_carry_their_session_token(
    fixed: botocore.session.Session,
) -> None:
    # IRSA / Pod Identity hand out temporary credentials: the token must carry them.
    fixed.set_credentials(KEY_ID, SECRET, "session-token-xyz")
    iam = IamSettings(region="us-east-1", cache_name="c1")
    token = IamTokenSigner("u", iam, session=fixed).sign()
    assert token == _reference("c1", {"Action": "connect", "User": "u"}, "session-token-xyz")
    assert "X-Amz-Security-Token=session-token-xyz" in token


def test_a_new_clock_signs_a_new_token(
    fixed: botocore.session.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    signer = IamTokenSigner("u", IamSettings(region="us-east-1", cache_name="c1"), session=fixed)
    first = signer.sign()
    later = NOW + datetime.timedelta(minutes=5)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *_a, **_k: later)
    assert signer.sign() != first


def test_no_credentials_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pytest.TempPathFactory
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-metadata wait
    for name in (
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    signer = IamTokenSigner("app-user", IamSettings(region="us-east-1", cache_name="c1"))
    with pytest.raises(NoAwsCredentials, match="no AWS credentials found") as failed:
        signer.sign()
    assert "'app-user'" in str(failed.value)
    assert "IRSA" in str(failed.value)


@pytest.mark.parametrize(
    ("backend", "fix"),
    [
        (
            {
                "url": "redis://h:6379",
                "auth": "iam",
                "username": "u",
                "iam": {"region": "r", "cache_name": "c"},
            },
            "rediss://",
        ),
        ({"url": "rediss://h:6379", "auth": "iam", "username": "u"}, "`iam:` block"),
        (
            {"url": "rediss://h:6379", "auth": "iam", "iam": {"region": "r", "cache_name": "c"}},
            "username",
        ),
        (
            {
                "url": "rediss://h:6379",
                "auth": "iam",
                "username": "u",
                "password_env": "P",
                "iam": {"region": "r", "cache_name": "c"},
            },
            "remove password_env",
        ),
        (
            {
                "url": "rediss://h:6379",
                "auth": "iam",
                "username": "u",
                "max_connection_age": "12h",
                "iam": {"region": "r", "cache_name": "c"},
            },
            "under 12h",
        ),
        (
            {
                "url": "rediss://h:6379",
                "auth": "iam",
                "username": "u",
                "iam": {"region": "r", "cache_name": "c", "token_refresh": "15m"},
            },
            "under 15m",
        ),
        ({"url": "redis://h:6379", "next_password_env": "N"}, "set the current one too"),
    ],
)
def test_auth_settings_that_cannot_work_say_what_to_fix(
    backend: dict[str, object], fix: str
) -> None:
    with pytest.raises(ConfigError, match=r"backends\.main") as failed:
        settings_from_mapping({"backends": {"main": backend}, "namespaces": {}})
    assert fix in str(failed.value)


def test_iam_connections_retire_before_twelve_hours() -> None:
    settings = settings_from_mapping(
        {
            "backends": {
                "main": {
                    "url": "rediss://h:6379",
                    "auth": "iam",
                    "username": "u",
                    "iam": {"region": "us-east-1", "cache_name": "c"},
                }
            },
            "namespaces": {},
        }
    )
    age = settings.backends["main"].connection_age_limit
    assert age is not None
    assert age < datetime.timedelta(hours=12)


def test_every_config_example_in_the_elasticache_page_is_valid() -> None:
    page = Path(__file__).resolve().parent.parent / "docs" / "elasticache.md"
    blocks = re.findall(r"```yaml\n(.*?)```", page.read_text(), re.DOTALL)
    assert len(blocks) >= 5
    for block in blocks:
        settings_from_mapping({**yaml.safe_load(block), "namespaces": {}})
