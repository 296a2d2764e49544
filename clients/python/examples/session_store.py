"""Session store with cachecar: the hand-written ``redis.set(session:ID, ..., EX 3600)``.

The snippet stored a JSON blob under an id the app had to generate, with a
fixed expiry: an active user is logged out after an hour, and there is no
way to log a user out everywhere. cachecar generates 128-bit ids, keeps
fields separately (per-field, compare-and-set updates), slides the expiry
on every use up to an absolute maximum, and revokes all of a user's sessions
at once.
"""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta

from cachecar import Aborted, CacheCar, NotFound

TARGET = os.environ.get("CACHECAR_TARGET", "127.0.0.1:50070")

IDLE_TTL = timedelta(seconds=2)  # short, so the sliding expiry shows in a few seconds


def check(ok: bool, what: str) -> None:
    """Fail the example (and `make examples`) if the sidecar did not do what it shows."""
    if not ok:
        raise SystemExit(f"unexpected: {what}")


async def main() -> None:
    async with CacheCar(TARGET) as cc:
        session = await cc.create_session(
            "sessions", "user123", {"userId": b"123", "role": b"admin"}, ttl=IDLE_TTL
        )
        sid = session.session_id  # a bearer secret: never print or log it
        absolute = session.absolute_expires_at.ToJsonString()
        print(
            f"session created for {session.subject}: version {session.version}, idle TTL "
            f"{IDLE_TTL.total_seconds():.0f}s, absolute expiry {absolute}"
        )

        # Keep using it for longer than its idle TTL: each read slides its expiry.
        for _ in range(2):
            await asyncio.sleep(1.2)
            got = await cc.get_session("sessions", sid)
        print(
            f"still logged in after 2.4s of activity (TTL 2s): role={got.data['role'].decode()}, "
            f"expires {got.expires_at.ToJsonString()}"
        )

        updated = await cc.update_session(
            "sessions", sid, {"cart": b"[42]"}, expected_version=got.version
        )
        try:  # a second tab writing with the version it read earlier
            await cc.update_session("sessions", sid, {"cart": b"[]"}, expected_version=got.version)
        except Aborted as exc:
            print(
                f"per-field update -> version {updated.version}; a stale concurrent update "
                f"is refused: {exc.reason}"
            )
        else:
            check(False, "a stale compare-and-set must fail")

        await asyncio.sleep(2.6)  # idle past the TTL
        try:
            await cc.get_session("sessions", sid)
        except NotFound as exc:
            print(f"idle for longer than its TTL: {exc.reason}")
        else:
            check(False, "an idle session must expire")

        for _ in range(3):
            await cc.create_session("sessions", "user123", {"device": b"phone"})
        revoked = await cc.delete_subject_sessions("sessions", "user123")
        print(f"password changed: all {revoked} sessions of user123 revoked in one call")
        check(revoked == 3, "subject revocation")


if __name__ == "__main__":
    asyncio.run(main())
