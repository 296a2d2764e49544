"""Fault-injection bookkeeping: a bounded mixed workload, what it saw, the fault table.

``Workload`` drives a running sidecar from background tasks while a test
breaks something: GetOrLoad on a fixed key set, Set, WriteThrough and
EnqueueWrite with sequence-numbered values, and optionally leaderboard
increments and sessions. Every call has a deadline and is recorded (kind,
start, end, status code, ErrorInfo reason); every acknowledged write is
remembered so that, after the fault is removed, ``verify`` can count what was
lost. ``FaultRow`` is one line of the fault table; ``record`` keeps it in
``.cache/fault-rows.json`` (rows of earlier runs of other faults stay) and
renders ``.cache/fault-table.md``, which a small plugin (``install_reporter``,
called from the fault modules' autouse fixture) prints at the end of a session
that recorded any row.

Timings are measured and reported, never asserted.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import grpc
from cachecar.v1 import (
    cache_pb2,
    cache_pb2_grpc,
    leaderboard_pb2,
    leaderboard_pb2_grpc,
    session_pb2,
    session_pb2_grpc,
)
from google.rpc import error_details_pb2, status_pb2

__all__ = [
    "ALL_KINDS",
    "CACHE_KINDS",
    "FaultRow",
    "Losses",
    "Workload",
    "cancel_leftovers",
    "inject",
    "install_reporter",
    "record",
    "table_path",
]

NS = "items"
CACHE_KINDS = ("get_or_load", "set", "write_through")
ALL_KINDS = (*CACHE_KINDS, "enqueue", "add_score", "session")
#: Client-side outcomes that carry no ErrorInfo because the sidecar never answered.
CLIENT_DEADLINE = "(client deadline)"
NO_SIDECAR = "(sidecar unreachable)"
#: A call may overrun its deadline by this much (scheduling) before it counts as hung.
HANG_SLACK = 1.0
#: How long each fault lasts, and the calm before and after it.
BEFORE, FAULT, AFTER = 0.5, 1.5, 0.5

_ROOT = Path(__file__).resolve().parents[1]
_session_rows: list[str] = []
_running: list[Workload] = []


async def cancel_leftovers() -> None:
    """Cancel the workers of every workload a failed test left running."""
    leftovers = [task for work in _running for task in work._tasks if not task.done()]
    for work in _running:
        work.cancel()
    _running.clear()
    if leftovers:
        await asyncio.wait(leftovers, timeout=5)


def table_path() -> Path:
    return _ROOT / ".cache" / "fault-table.md"


@dataclass
class Call:
    kind: str
    started: float
    ended: float
    code: str  # "OK" or the gRPC status code name
    reason: str  # ErrorInfo reason, or CLIENT_DEADLINE / NO_SIDECAR, "" when OK
    deadline: float


def _reason(exc: grpc.aio.AioRpcError) -> str:
    for key, value in exc.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                info = error_details_pb2.ErrorInfo()
                if detail.Unpack(info) and info.domain == "cachecar":
                    return str(info.reason)
    if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
        return CLIENT_DEADLINE
    if exc.code() == grpc.StatusCode.UNAVAILABLE:
        return NO_SIDECAR
    return "(no ErrorInfo)"


def _seq(value: bytes) -> int:
    try:
        return int(value.split(b":", 1)[0])
    except ValueError:
        return -1


@dataclass
class Losses:
    """What acknowledged writes did not survive the fault (and what landed unasked)."""

    enqueue_acked: int = 0
    enqueue_lost: int = 0  # keys whose last acknowledged write-behind never reached the writer
    write_through_acked: int = 0
    write_through_lost: int = 0
    set_acked: int = 0
    set_lost: int = 0  # keys whose last acknowledged Set the cache no longer returns
    score_acked: int = 0
    score_lost: int = 0  # acknowledged increments missing from the final score
    sessions_acked: int = 0
    sessions_lost: int = 0
    #: Writes the caller was told failed (or never heard back about) that the writer got anyway.
    ghost_writes: int = 0

    @property
    def durable_lost(self) -> int:
        """Acknowledged EnqueueWrite/WriteThrough writes lost: must be zero."""
        return self.enqueue_lost + self.write_through_lost


class Workload:
    """A bounded mixed workload against one sidecar, from background tasks.

    ``kinds`` picks the calls; each worker cycles through them with a short
    pause, so the load is modest and the run bounded by ``max_calls`` and by
    ``stop()``. Keys are disjoint per kind (``get-0.3``, ``set-0.3``,
    ``wt-0.3``, ``wb-0.3``) so one kind's writes cannot mask another's losses,
    and per worker (``set-1.3``) so each key's writes are sequential.
    """

    def __init__(
        self,
        channel: grpc.aio.Channel,
        kinds: Sequence[str],
        *,
        deadline: float = 2.0,
        workers: int = 3,
        keys: int = 10,
        pause: float = 0.01,
        max_calls: int = 20_000,
        misses: bool = False,
    ) -> None:
        unknown = set(kinds) - set(ALL_KINDS)
        assert not unknown, unknown
        self.kinds = list(kinds)
        self.cache = cache_pb2_grpc.CacheServiceStub(channel)
        self.boards = leaderboard_pb2_grpc.LeaderboardServiceStub(channel)
        self.sessions = session_pb2_grpc.SessionServiceStub(channel)
        self.deadline = deadline
        self.workers = workers
        self.keys = keys
        self.pause = pause
        self.max_calls = max_calls
        #: GetOrLoad asks for a new key every time (each call needs the loader).
        self.misses = misses
        self.calls: list[Call] = []
        self.fault_at: float | None = None
        self.restored_at: float | None = None
        #: When the write-behind queue was seen empty after the restore (verify()).
        self.drained_at: float | None = None
        self._seq = 0
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        # Acknowledged state: key -> highest acknowledged sequence number.
        self.set_acked: dict[str, int] = {}
        self.wt_acked: dict[str, int] = {}
        self.eq_acked: dict[str, int] = {}
        self.eq_acked_seqs: set[int] = set()
        self.wt_acked_seqs: set[int] = set()
        self.set_acks = self.wt_acks = self.eq_acks = self.score_acks = 0
        self.session_ids: list[str] = []

    # -- running -------------------------------------------------------------

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._worker(i)) for i in range(self.workers)]
        _running.append(self)

    def cancel(self) -> None:
        """Stop the workers at once (a test that failed before stop())."""
        self._stop.set()
        for task in self._tasks:
            task.cancel()

    async def stop(self) -> None:
        self._stop.set()
        # Every call has a deadline, so the workers end within one of them.
        done, pending = await asyncio.wait(self._tasks, timeout=self.deadline + 5)
        assert not pending, "a workload call outlived its deadline"
        for task in done:
            task.result()

    def mark_fault(self) -> None:
        self.fault_at = time.monotonic()

    def mark_restored(self) -> None:
        self.restored_at = time.monotonic()

    async def run_for(self, seconds: float) -> None:
        """Let the workload run (the workers keep going in the background)."""
        await asyncio.sleep(seconds)

    async def until_recovered(self, within: float = 30.0, kinds: Sequence[str] = ()) -> None:
        """Wait (bounded) until every kind had a success that started after the restore."""
        wanted = list(kinds) or self.kinds
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if all(self.recovery(kind) is not None for kind in wanted):
                return
            await asyncio.sleep(0.05)
        missing = [k for k in wanted if self.recovery(k) is None]
        raise AssertionError(f"no success after the restore within {within}s for {missing}")

    async def _worker(self, index: int) -> None:
        i = index
        while not self._stop.is_set() and len(self.calls) < self.max_calls:
            kind = self.kinds[i % len(self.kinds)]
            # Each worker writes its own keys: its acknowledged writes to one key are
            # then ordered, so "highest acknowledged sequence number wins" holds.
            key = f"{index}.{(i // len(self.kinds)) % self.keys}"
            i += 1
            await self._one(kind, key)
            await asyncio.sleep(self.pause)

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    async def _one(self, kind: str, key: str) -> None:
        started = time.monotonic()
        code, reason = "OK", ""
        try:
            await self._call(kind, key)
        except grpc.aio.AioRpcError as exc:
            code, reason = exc.code().name, _reason(exc)
        self.calls.append(Call(kind, started, time.monotonic(), code, reason, self.deadline))

    async def _call(self, kind: str, key: str) -> None:
        t = self.deadline
        if kind == "get_or_load":
            name = f"miss-{self._next_seq()}" if self.misses else f"get-{key}"
            got = await self.cache.GetOrLoad(
                cache_pb2.GetOrLoadRequest(namespace=NS, key=name), timeout=t
            )
            assert got.found or self.misses, f"{name} not found"
        elif kind == "set":
            await self._write(self.cache.Set, cache_pb2.SetRequest, "set", key, self.set_acked)
            self.set_acks += 1
        elif kind == "write_through":
            seq = await self._write(
                self.cache.WriteThrough, cache_pb2.WriteThroughRequest, "wt", key, self.wt_acked
            )
            self.wt_acked_seqs.add(seq)
            self.wt_acks += 1
        elif kind == "enqueue":
            seq = await self._write(
                self.cache.EnqueueWrite, cache_pb2.EnqueueWriteRequest, "wb", key, self.eq_acked
            )
            self.eq_acked_seqs.add(seq)
            self.eq_acks += 1
        elif kind == "add_score":
            await self.boards.AddScore(
                leaderboard_pb2.AddScoreRequest(
                    namespace=NS,
                    board="faults",
                    member="m",
                    score=1,
                    mode=leaderboard_pb2.SCORE_MODE_INCREMENT,
                ),
                timeout=t,
            )
            self.score_acks += 1
        elif kind == "session":
            created = await self.sessions.CreateSession(
                session_pb2.CreateSessionRequest(namespace=NS, subject="s", data={"k": b"v"}),
                timeout=t,
            )
            self.session_ids.append(created.session_id)
            await self.sessions.GetSession(
                session_pb2.GetSessionRequest(namespace=NS, session_id=created.session_id),
                timeout=t,
            )

    async def _write(
        self,
        rpc: Callable[..., Awaitable[object]],
        request: Callable[..., object],
        prefix: str,
        key: str,
        acked: dict[str, int],
    ) -> int:
        """Write ``{prefix}-{key}`` = ``b"<seq>:{prefix}"``; once acknowledged, ``acked``
        holds the key's highest acknowledged sequence number. Returns the sequence number."""
        seq = self._next_seq()
        name = f"{prefix}-{key}"
        value = b"%d:%s" % (seq, prefix.encode())
        await rpc(request(namespace=NS, key=name, value=value), timeout=self.deadline)
        acked[name] = max(seq, acked.get(name, 0))
        return seq

    # -- what it saw -----------------------------------------------------------

    def errors(self) -> Counter[tuple[str, str, str]]:
        """(kind, code, reason) -> count, over the whole run."""
        return Counter((c.kind, c.code, c.reason) for c in self.calls if c.code != "OK")

    def recovery(self, kind: str) -> float | None:
        """Seconds from the restore to the end of the first success of ``kind``
        that started after it; None if there is none yet."""
        if self.restored_at is None:
            return None
        ends = [
            c.ended
            for c in self.calls
            if c.kind == kind and c.code == "OK" and c.started >= self.restored_at
        ]
        return min(ends) - self.restored_at if ends else None

    def failed_during_fault(self, kind: str) -> bool:
        return any(c.kind == kind and c.code != "OK" for c in self.calls)

    def assert_well_behaved(self, allowed_bare: Sequence[str] = ()) -> None:
        """No INTERNAL/UNKNOWN; every error names its reason (ErrorInfo) unless it is
        one of the client-side outcomes in ``allowed_bare``; no call hung."""
        for c in self.calls:
            assert c.code not in ("INTERNAL", "UNKNOWN"), c
            if c.code != "OK" and c.reason.startswith("("):
                assert c.reason in allowed_bare, c
            assert c.ended - c.started <= c.deadline + HANG_SLACK, f"hung: {c}"

    def summary(self) -> str:
        """Caller-visible errors as 'CODE/REASON xn (kinds)', most frequent first."""
        by: dict[tuple[str, str], Counter[str]] = {}
        for (kind, code, reason), n in self.errors().items():
            by.setdefault((code, reason), Counter())[kind] += n
        if not by:
            return "none"
        parts = []
        for (code, reason), kinds in sorted(by.items(), key=lambda kv: -sum(kv[1].values())):
            total = sum(kinds.values())
            parts.append(f"{code}/{reason} x{total} ({', '.join(sorted(kinds))})")
        return "; ".join(parts)

    def recoveries(self) -> str:
        parts = []
        for kind in self.kinds:
            took = self.recovery(kind)
            shown = "—" if took is None else f"{took:.2f}s"
            if not self.failed_during_fault(kind):
                shown += " (never failed)"
            elif self.fault_at is not None:
                last = max(c.ended for c in self.calls if c.kind == kind and c.code != "OK")
                shown += f" (last error +{last - self.fault_at:.2f}s after the fault began)"
            parts.append(f"{kind} {shown}")
        if self.drained_at is not None and self.restored_at is not None:
            parts.append(f"write-behind backlog drained {self.drained_at - self.restored_at:.2f}s")
        return ", ".join(parts)

    # -- what survived ---------------------------------------------------------

    async def verify(
        self,
        rows: dict[str, bytes],
        *,
        flush: bool = True,
        within: float = 30.0,
        check_sets: bool = True,
    ) -> Losses:
        """Count acknowledged writes that did not survive. ``rows`` is the fake
        app's database (what its writer received); write-behind is flushed first."""
        losses = Losses(
            enqueue_acked=self.eq_acks,
            write_through_acked=self.wt_acks,
            set_acked=self.set_acks,
            score_acked=self.score_acks,
            sessions_acked=len(self.session_ids),
        )
        if self.eq_acked and flush:
            await self._drain(within)
        for key, seq in self.eq_acked.items():
            if _seq(rows.get(key, b"")) < seq:
                losses.enqueue_lost += 1
        for key, seq in self.wt_acked.items():
            if _seq(rows.get(key, b"")) < seq:
                losses.write_through_lost += 1
        landed = {_seq(v) for k, v in rows.items() if k.startswith("wb-")}
        losses.ghost_writes = len(landed - self.eq_acked_seqs)
        landed_wt = {_seq(v) for k, v in rows.items() if k.startswith("wt-")}
        losses.ghost_writes += len(landed_wt - self.wt_acked_seqs)
        if check_sets:
            for key, seq in self.set_acked.items():
                got = await self.cache.Get(cache_pb2.GetRequest(namespace=NS, key=key), timeout=5)
                if not got.found or _seq(got.value) < seq:
                    losses.set_lost += 1
        if self.score_acks:
            losses.score_lost = max(0, self.score_acks - await self._score())
        for sid in self.session_ids:
            losses.sessions_lost += not await self._session_alive(sid)
        return losses

    async def _score(self) -> int:
        try:
            rank = await self.boards.GetRank(
                leaderboard_pb2.GetRankRequest(namespace=NS, board="faults", member="m"),
                timeout=5,
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:
                raise
            return 0  # the board itself is gone
        return int(rank.entry.score)

    async def _session_alive(self, sid: str) -> bool:
        try:
            await self.sessions.GetSession(
                session_pb2.GetSessionRequest(namespace=NS, session_id=sid), timeout=5
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:
                raise
            return False
        return True

    async def _drain(self, within: float) -> None:
        deadline = time.monotonic() + within
        while True:
            try:
                flushed = await self.cache.FlushWrites(
                    cache_pb2.FlushWritesRequest(namespace=NS), timeout=max(1.0, min(10.0, within))
                )
                if flushed.pending_count == 0:
                    self.drained_at = time.monotonic()
                    return
            except grpc.aio.AioRpcError:
                if time.monotonic() > deadline:
                    raise
            if time.monotonic() > deadline:
                raise AssertionError(f"write-behind queue not drained within {within}s")
            await asyncio.sleep(0.1)


#: A fault or its repair: a plain call, or one returning an awaitable (awaited).
Step = Callable[[], object]


async def _do(step: Step) -> None:
    result = step()
    if inspect.isawaitable(result):
        await result


async def inject(
    work: Workload,
    fault: Step,
    restore: Step,
    *,
    rows: dict[str, bytes],
    lasting: float = FAULT,
) -> Losses:
    """Run ``work`` through one fault: calm (BEFORE), ``fault``, ``lasting`` seconds
    of it, ``restore``, then (bounded) until every kind succeeded again and AFTER more;
    stop the workload and count what the app's ``rows`` lost (``Workload.verify``)."""
    work.start()
    await work.run_for(BEFORE)
    work.mark_fault()
    await _do(fault)
    try:
        await work.run_for(lasting)
    finally:
        # Always: a SIGSTOPped Redis, say, would also hang the fixtures' teardown.
        await _do(restore)
    work.mark_restored()
    await work.until_recovered(within=30)
    await work.run_for(AFTER)
    await work.stop()
    return await work.verify(rows)


# -- the table ----------------------------------------------------------------------


@dataclass
class FaultRow:
    fault: str
    backend: str
    calls: int
    errors: str
    durable_lost: str  # "0 of N enqueued, 0 of M write-through"
    other_lost: str  # cache values, scores, sessions
    ghosts: int
    recovery: str
    notes: str = ""
    order: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_run(
        cls,
        fault: str,
        backend: str,
        work: Workload,
        losses: Losses,
        notes: str = "",
        order: int = 0,
    ) -> FaultRow:
        other = [f"Set {losses.set_lost}/{len(work.set_acked)} keys"] if work.set_acks else []
        if losses.score_acked:
            other.append(f"score {losses.score_lost}/{losses.score_acked} incr")
        if losses.sessions_acked:
            other.append(f"sessions {losses.sessions_lost}/{losses.sessions_acked}")
        return cls(
            fault=fault,
            backend=backend,
            calls=len(work.calls),
            errors=work.summary(),
            durable_lost=(
                f"{losses.enqueue_lost} of {losses.enqueue_acked} EnqueueWrite, "
                f"{losses.write_through_lost} of {losses.write_through_acked} WriteThrough"
            ),
            other_lost=", ".join(other) or "—",
            ghosts=losses.ghost_writes,
            recovery=work.recoveries(),
            notes=notes,
            order=order,
        )


def record(row: FaultRow) -> Path:
    """Add (or replace) ``row`` in .cache/fault-rows.json and re-render .cache/fault-table.md."""
    path = table_path()
    path.parent.mkdir(exist_ok=True)
    store = path.with_name("fault-rows.json")
    try:
        rows: dict[str, dict[str, Any]] = json.loads(store.read_text())
    except (FileNotFoundError, ValueError):
        rows = {}
    rows[row.fault] = asdict(row)
    store.write_text(json.dumps(rows, indent=1, ensure_ascii=False))
    path.write_text(render([FaultRow(**r) for r in rows.values()]))
    _session_rows.append(row.fault)
    return path


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render(rows: Sequence[FaultRow]) -> str:
    head = (
        "| fault | backend | calls | caller-visible errors (code/ErrorInfo reason x count) "
        "| acknowledged durable writes lost | other acknowledged state lost "
        "| unacknowledged writes that landed | recovery after the fault is removed "
        "(first success per op) | notes |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
    )
    body = "".join(
        "| "
        + " | ".join(
            _cell(x)
            for x in (
                r.fault,
                r.backend,
                r.calls,
                r.errors,
                r.durable_lost,
                r.other_lost,
                r.ghosts,
                r.recovery,
                r.notes,
            )
        )
        + " |\n"
        for r in sorted(rows, key=lambda r: (r.order, r.fault))
    )
    return (
        "# cachecar fault table\n\n"
        "Written by tests/test_faults.py and tests/test_cluster_failover.py "
        "(`.venv/bin/pytest tests/test_faults.py tests/test_cluster_failover.py`). "
        "Times are measured on this machine, never asserted.\n\n" + head + body
    )


class _Reporter:
    """A pytest plugin object: prints the fault table at the end of the session."""

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not _session_rows:
            return
        path = table_path()
        terminalreporter.section("fault table")
        terminalreporter.write_line(f"({path})")
        terminalreporter.write(path.read_text())


def install_reporter(config: Any) -> None:
    """Register the end-of-session printer once (fault test modules call it from a fixture)."""
    if not config.pluginmanager.has_plugin("cachecar-fault-table"):
        config.pluginmanager.register(_Reporter(), "cachecar-fault-table")
