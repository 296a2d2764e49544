"""Small call helpers for the session, leaderboard and counter tests.

Each wraps one RPC of a running test sidecar (namespace ``items``, see
``tests.appfixtures.make_settings``) with the arguments the tests vary, so
the tests read as what they check.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
import pytest
from cachecar.v1 import leaderboard_pb2, leaderboard_pb2_grpc, session_pb2, session_pb2_grpc
from google.protobuf import duration_pb2

from tests.appfixtures import RunningSidecar, error_info
from tests.secretscan import remember_secret

NS = "items"
SET = leaderboard_pb2.SCORE_MODE_SET
INCREMENT = leaderboard_pb2.SCORE_MODE_INCREMENT
KEEP_GREATER = leaderboard_pb2.SCORE_MODE_KEEP_GREATER
KEEP_LOWER = leaderboard_pb2.SCORE_MODE_KEEP_LOWER


async def fails(call: object, code: grpc.StatusCode, reason: str) -> grpc.aio.AioRpcError:
    """Await ``call``; it must fail with ``code`` and ErrorInfo ``reason`` and say why."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    assert caught.value.code() == code, caught.value.details()
    assert error_info(caught.value).reason == reason
    assert caught.value.details()
    return caught.value


def duration(seconds: float) -> duration_pb2.Duration:
    out = duration_pb2.Duration()
    out.FromMilliseconds(int(seconds * 1000))
    return out


def ms(stamp: object) -> int:
    """A Timestamp or Duration in milliseconds."""
    return int(stamp.ToMilliseconds())  # type: ignore[attr-defined]


# -- sessions ---------------------------------------------------------------------


def sessions(sc: RunningSidecar) -> session_pb2_grpc.SessionServiceStub:
    return session_pb2_grpc.SessionServiceStub(sc.channel)


async def create(
    stub: session_pb2_grpc.SessionServiceStub,
    subject: str = "alice",
    data: dict[str, bytes] | None = None,
    ttl: float | None = None,
) -> session_pb2.CreateSessionResponse:
    request = session_pb2.CreateSessionRequest(namespace=NS, subject=subject, data=data or {})
    if ttl is not None:
        request.ttl.CopyFrom(duration(ttl))
    response: session_pb2.CreateSessionResponse = await stub.CreateSession(request)
    # Every session id the tests create is checked against every log line of the run.
    remember_secret(response.session_id)
    return response


async def get(
    stub: session_pb2_grpc.SessionServiceStub, sid: str
) -> session_pb2.GetSessionResponse:
    response: session_pb2.GetSessionResponse = await stub.GetSession(
        session_pb2.GetSessionRequest(namespace=NS, session_id=sid)
    )
    return response


async def gone(stub: session_pb2_grpc.SessionServiceStub, sid: str) -> None:
    """The session must read as NOT_FOUND / SESSION_NOT_FOUND."""
    await fails(get(stub, sid), grpc.StatusCode.NOT_FOUND, "SESSION_NOT_FOUND")


# -- leaderboards and counters ------------------------------------------------------


def boards(sc: RunningSidecar) -> leaderboard_pb2_grpc.LeaderboardServiceStub:
    return leaderboard_pb2_grpc.LeaderboardServiceStub(sc.channel)


async def add(
    stub: leaderboard_pb2_grpc.LeaderboardServiceStub,
    member: str,
    score: float,
    mode: int = SET,
    board: str = "main",
) -> leaderboard_pb2.AddScoreResponse:
    request = leaderboard_pb2.AddScoreRequest(
        namespace=NS,
        board=board,
        member=member,
        score=score,
        mode=mode,  # type: ignore[arg-type]
    )
    response: leaderboard_pb2.AddScoreResponse = await stub.AddScore(request)
    return response


async def top(
    stub: leaderboard_pb2_grpc.LeaderboardServiceStub,
    board: str = "main",
    offset: int = 0,
    limit: int = 0,
    windows_ago: int = 0,
) -> leaderboard_pb2.GetTopResponse:
    response: leaderboard_pb2.GetTopResponse = await stub.GetTop(
        leaderboard_pb2.GetTopRequest(
            namespace=NS, board=board, offset=offset, limit=limit, windows_ago=windows_ago
        )
    )
    return response


def rows(entries: Sequence[leaderboard_pb2.Entry]) -> list[tuple[str, float, int]]:
    return [(e.member, e.score, e.rank) for e in entries]


def members(entries: Sequence[leaderboard_pb2.Entry]) -> list[str]:
    return [e.member for e in entries]


async def incr(
    stub: leaderboard_pb2_grpc.LeaderboardServiceStub,
    counter: str,
    delta: int,
    window: float | None = None,
) -> leaderboard_pb2.IncrementCounterResponse:
    request = leaderboard_pb2.IncrementCounterRequest(namespace=NS, counter=counter, delta=delta)
    if window is not None:
        request.window.CopyFrom(duration(window))
    response: leaderboard_pb2.IncrementCounterResponse = await stub.IncrementCounter(request)
    return response


async def counter(
    stub: leaderboard_pb2_grpc.LeaderboardServiceStub, name: str
) -> leaderboard_pb2.GetCounterResponse:
    response: leaderboard_pb2.GetCounterResponse = await stub.GetCounter(
        leaderboard_pb2.GetCounterRequest(namespace=NS, counter=name)
    )
    return response
