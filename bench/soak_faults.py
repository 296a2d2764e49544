"""The soak's faults, injected one after another at fixed fractions of the run.

Each is recorded as a :class:`~bench.soak_state.Fault` on the run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import grpc

from bench.soak_app import FAULT_METHOD, fetch_json
from bench.soak_state import Fault, Soak
from sidecar.devmode import MemcachedServer, RedisServer, ServerStartError

__all__ = ["Faults"]


class Faults:
    """The injected faults, each at a fixed fraction of the run, one after another."""

    def __init__(self, soak: Soak, app_channel: grpc.aio.Channel) -> None:
        self.soak = soak
        self.app_channel = app_channel

    async def _in_procs_thread(self, fn: Callable[[], object]) -> None:
        # One long-lived thread starts every restarted server: PR_SET_PDEATHSIG
        # fires when the spawning *thread* exits, so it must outlive them.
        await asyncio.get_running_loop().run_in_executor(self.soak.procs, fn)

    async def redis_pause(self) -> str:
        self.soak.redis.pause()
        await asyncio.sleep(3)
        self.soak.redis.resume()
        return "SIGSTOP 3 s"

    async def loader_fails(self) -> str:
        await fetch_json(self.app_channel, FAULT_METHOD, {"loader_fail_s": 5})
        await asyncio.sleep(5)
        return "UNAVAILABLE 5 s"

    async def _restart(self, server: RedisServer | MemcachedServer, down_s: float) -> str:
        await self._in_procs_thread(server.kill)
        await asyncio.sleep(down_s)
        for attempt in range(3):
            try:
                await self._in_procs_thread(server.start)
            except ServerStartError as exc:
                await asyncio.sleep(1)
                last = str(exc).splitlines()[0]
            else:
                return f"SIGKILL, restarted after {down_s:g} s" + (
                    f" ({attempt} failed starts)" if attempt else ""
                )
        return f"SIGKILL, restart FAILED: {last}"

    async def redis_restart(self) -> str:
        return await self._restart(self.soak.redis, 1.0)

    async def memcached_restart(self) -> str:
        return await self._restart(self.soak.memcached, 2.0)

    async def writer_down(self) -> str:
        await fetch_json(self.app_channel, FAULT_METHOD, {"writer_down_s": 5})
        await asyncio.sleep(5.5)
        return "stopped 5 s"

    async def run(self) -> None:
        plan: list[tuple[float, str, Callable[[], Awaitable[str]]]] = [
            (0.25, "redis SIGSTOP", self.redis_pause),
            (0.35, "loader errors", self.loader_fails),
            (0.45, "redis restart", self.redis_restart),
            (0.55, "memcached restart", self.memcached_restart),
            (0.65, "writer down", self.writer_down),
        ]
        for fraction, label, inject in plan:
            wait = fraction * self.soak.seconds - self.soak.elapsed
            if wait > 0:
                await asyncio.sleep(wait)
            if self.soak.stop.is_set():
                return
            fault = Fault(label, self.soak.elapsed)
            self.soak.faults.append(fault)
            print(f"  [{fault.started:6.1f} s] fault: {label}", flush=True)
            try:
                fault.note = await inject()
            except (grpc.aio.AioRpcError, RuntimeError, OSError) as exc:
                fault.note = f"could not inject: {exc}"
            fault.ended = self.soak.elapsed
