"""ElastiCache IAM tokens, signed by botocore (never hand-written SigV4).

A token is a SigV4-presigned ``connect`` request for the ACL user, without
its ``https://`` prefix, exactly as AWS documents it for redis-py and as
valkey-glide builds it: ``<cache>/?Action=connect&User=<user>[&ResourceType=
ServerlessCache]&X-Amz-...``, valid for 15 minutes (``X-Amz-Expires=900``).
AWS credentials come from botocore's default chain: environment variables,
shared config/credentials files, a web identity token (IRSA), container
credentials (EKS Pod Identity, ECS) and the instance profile — refreshed by
botocore when they are temporary.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from redis.exceptions import RedisError

from sidecar.config_auth import IAM_TOKEN_LIFETIME, IamSettings

if TYPE_CHECKING:
    import botocore.session
    from botocore.signers import RequestSigner

__all__ = ["IamTokenSigner", "NoAwsCredentials"]


class NoAwsCredentials(RedisError):
    """botocore's default credential chain found nothing to sign with.

    A RedisError, so redis-py closes the half-opened connection it was raised on."""


class IamTokenSigner:
    """Signs IAM auth tokens for one ElastiCache user and cache."""

    def __init__(
        self, user: str, iam: IamSettings, session: botocore.session.Session | None = None
    ) -> None:
        # botocore is imported here, not at module level: it is 8 MB of RSS
        # (74 modules) that a sidecar without IAM auth should not carry.
        import botocore.session  # noqa: PLC0415

        self.user = user
        self._iam = iam
        self._session = session or botocore.session.Session()
        self._signer: RequestSigner | None = None

    def _request_signer(self) -> RequestSigner:
        # Built on first use: finding credentials may read files or ask the
        # instance metadata service, which belongs off the event loop (sign()
        # runs in a thread).
        if self._signer is None:
            from botocore.model import ServiceId  # noqa: PLC0415
            from botocore.signers import RequestSigner  # noqa: PLC0415

            credentials = self._session.get_credentials()
            if credentials is None:
                raise NoAwsCredentials(
                    f"no AWS credentials found to sign an ElastiCache IAM token for user "
                    f"{self.user!r}: botocore's default chain looked at AWS_ACCESS_KEY_ID/"
                    "AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws files, a web identity "
                    "token (IRSA: AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE), container "
                    "credentials (EKS Pod Identity) and the instance profile"
                )
            self._signer = RequestSigner(
                ServiceId("elasticache"),
                self._iam.region,
                "elasticache",
                "v4",
                credentials,
                self._session.get_component("event_emitter"),
            )
        return self._signer

    def sign(self) -> str:
        """A fresh token (blocking: may refresh credentials over the network)."""
        query: dict[str, str] = {"Action": "connect", "User": self.user}
        if self._iam.serverless:
            query["ResourceType"] = "ServerlessCache"
        request: dict[str, Any] = {
            "method": "GET",
            "url": f"https://{self._iam.cache_name}/?{urlencode(query)}",
            "body": {},
            "headers": {},
            "context": {},
        }
        url: str = self._request_signer().generate_presigned_url(
            request,
            operation_name="connect",
            expires_in=int(IAM_TOKEN_LIFETIME.total_seconds()),
            region_name=self._iam.region,
        )
        # The signer needs a scheme to sign; ElastiCache wants the token without it.
        return url.removeprefix("https://")
