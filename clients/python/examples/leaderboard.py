"""Leaderboards and counters with cachecar: the hand-written zadd / zrevrange.

The snippet got back a flat ``[member, score, member, score, ...]`` list and
left ranks, ties, "keep the best score", pagination, neighbours and daily
boards to every app. cachecar returns ranked entries (equal scores: whoever
got there first ranks first), can keep only a player's best score, answers
"where am I and who is around me", keeps daily boards that expire by
themselves, and does fixed-window counters (a rate limit is one call).
"""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta

from cachecar import CacheCar

TARGET = os.environ.get("CACHECAR_TARGET", "127.0.0.1:50070")


def check(ok: bool, what: str) -> None:
    """Fail the example (and `make examples`) if the sidecar did not do what it shows."""
    if not ok:
        raise SystemExit(f"unexpected: {what}")


async def main() -> None:
    async with CacheCar(TARGET) as cc:
        for player in ("user123", "ana", "bo", "cy", "dee"):
            await cc.remove_member("games", "leaderboard", player)  # a fresh board per run
        for player, score in [("user123", 100), ("ana", 250), ("bo", 100), ("cy", 75)]:
            await cc.add_score("games", "leaderboard", player, score)  # zadd
        await cc.add_score("games", "leaderboard", "dee", 90, mode="keep_greater")
        worse = await cc.add_score("games", "leaderboard", "dee", 60, mode="keep_greater")
        print(
            f"dee scores 60 after 90 with keep_greater: kept {worse.score:g} "
            f"(updated={worse.updated})"
        )

        top = await cc.get_top("games", "leaderboard", limit=10)  # zrevrange 0 9
        print("top 10: " + ", ".join(f"#{e.rank} {e.member} {e.score:g}" for e in top.entries))
        check([e.member for e in top.entries][:3] == ["ana", "user123", "bo"], "ties: first wins")

        bonus = await cc.add_score("games", "leaderboard", "cy", 50, mode="increment")
        around = await cc.get_around("games", "leaderboard", "cy", count=1)
        print(
            f"cy +50 -> {bonus.score:g}, rank {bonus.rank}; around cy: "
            + ", ".join(f"#{e.rank} {e.member}" for e in around.entries)
        )
        check(bonus.rank == 2, "an increment re-ranks the member")

        daily = await cc.add_score("games", "daily", "ana", 40, mode="increment")
        print(
            f"daily board (expires by itself, 7 days readable): ana {daily.score:g} "
            "in the window "
            f"{daily.window.starts_at.ToJsonString()} .. {daily.window.ends_at.ToJsonString()}"
        )

        counter = f"login-attempts:user123:{os.getpid()}"
        allowed = 0
        for _ in range(7):
            attempt = await cc.increment_counter("games", counter, window=timedelta(minutes=1))
            if attempt.value <= 5:
                allowed += 1
        print(
            f"rate limit 5 logins/minute: {allowed} of 7 attempts allowed; retry after "
            f"{attempt.window_remaining.ToTimedelta().total_seconds():.0f}s"
        )
        check(allowed == 5, "fixed-window rate limit")


if __name__ == "__main__":
    asyncio.run(main())
