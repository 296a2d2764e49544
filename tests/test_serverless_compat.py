"""ElastiCache Serverless compatibility, proven on a one-node Redis Cluster.

Serverless presents itself as one endpoint of a cluster that serves every
slot, so the fixture is exactly that: one cluster-mode redis-server owning
slots 0-16383, reached through ``redis+cluster://``. The sidecar logs in as
an ACL user confined to ``cc:*`` keys and channels with ``-@dangerous``, runs
every pattern (cache-aside, plain cache, write-through, sessions, boards,
counters, pub/sub, write-behind), and MONITOR records every command the
server executed, including those run inside Lua scripts (``[0 lua]``).

Why MONITOR: an ACL key pattern cannot tell a declared key from an undeclared
one of the same shape, and cluster mode only rejects a script's key when it
hashes to another slot. MONITOR shows each script call with its declared
KEYS immediately followed by the commands the script ran (scripts are
atomic, so nothing interleaves); the server's own ``COMMAND GETKEYS`` names
the keys of each of those commands. The proof then is:

1. every key any script command touched is among that script call's KEYS;
2. every command with several keys keeps them in one slot (``CLUSTER KEYSLOT``);
3. every command the sidecar sent is on an allowlist of data commands, and
   none is one Serverless does not offer (:data:`NOT_ON_SERVERLESS`).
"""

from __future__ import annotations

import re
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
import redis
from cachecar.v1 import leaderboard_pb2, session_pb2

from sidecar.config import settings_from_mapping
from sidecar.devmode import RedisServer, ServerStartError
from sidecar.server import Sidecar
from sidecar.telemetry import Telemetry
from tests.appfixtures import FakeApp
from tests.secretscan import remember_secret
from tests.servers import _free_cluster_port as free_cluster_port
from tests.test_backend_tls import Running, _exercise_every_pattern

USER = "serverless-app"
PASSWORD = secrets.token_urlsafe(18)
remember_secret(PASSWORD)

#: Commands ElastiCache does not offer (its "restricted commands" page lists
#: the first ten for every cache; Serverless, which manages topology, users
#: and persistence itself, also withholds the rest). Lower case, as MONITOR
#: prints redis-py's commands.
NOT_ON_SERVERLESS = frozenset(
    {
        "bgrewriteaof", "bgsave", "config", "debug", "migrate", "replicaof", "save",
        "slaveof", "shutdown", "sync", "psync", "acl", "module", "monitor", "swapdb",
        "move", "select", "lastsave", "latency", "slowlog", "failover", "flushall",
        "flushdb", "keys", "scan", "wait", "waitaof", "object", "memory", "cluster|addslots",
        "cluster|delslots", "cluster|failover", "cluster|forget", "cluster|meet",
        "cluster|reset", "cluster|setslot", "cluster|replicate", "client|kill",
        "client|pause", "client|no-evict", "script|kill", "script|flush",
    }
)  # fmt: skip

#: Every command the sidecar may send. A new command on a code path fails the
#: test until someone checks it against Serverless's list and adds it here.
ALLOWED = frozenset(
    {
        # connection and topology
        "auth", "command", "command|getkeys", "ping", "hello", "client|setinfo",
        "cluster|slots", "cluster|shards", "readonly", "info", "time", "echo",
        # scripts (every key declared, checked below)
        "eval", "evalsha", "script|load",
        # strings, keys
        "get", "mget", "set", "del", "unlink", "exists", "expire", "pexpire", "pttl", "ttl",
        "incr", "incrby", "incrbyfloat", "getdel",
        # hashes, sets, sorted sets
        "hget", "hgetall", "hexists", "hstrlen", "hset", "hdel", "hmget", "hincrby",
        "sadd", "srem", "smembers",
        "zadd", "zincrby", "zrange", "zrevrange", "zscore", "zrem", "zcard", "zrank",
        "zrevrank", "zremrangebyrank", "zremrangebyscore", "zunionstore", "zcount",
        # streams and pub/sub
        "xadd", "xread", "xreadgroup", "xack", "xgroup|create", "xgroup|createconsumer",
        "xpending", "xautoclaim", "xclaim", "xdel", "xlen", "xrange", "xrevrange", "xtrim",
        "xinfo|stream", "xinfo|groups", "publish", "spublish", "subscribe", "ssubscribe",
        "unsubscribe", "sunsubscribe", "psubscribe", "punsubscribe",
    }
)  # fmt: skip

_WITH_SUBCOMMANDS = frozenset(
    {"cluster", "client", "command", "script", "xgroup", "xinfo", "acl", "config", "memory"}
)
_LINE = re.compile(r"^\d+\.\d+ \[\d+ (?P<client>[^\]]+)\] (?P<args>.*)$")
_ARG = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _unquote(text: str) -> bytes:
    # Redis prints arguments with sdscatrepr: \\ \" \n \r \t \a \b and \xHH.
    out = bytearray()
    i = 0
    simple = {"n": b"\n", "r": b"\r", "t": b"\t", "a": b"\a", "b": b"\b"}
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "x":
                out.append(int(text[i + 2 : i + 4], 16))
                i += 4
                continue
            out += simple.get(nxt, nxt.encode())
            i += 2
            continue
        out += ch.encode("latin-1")
        i += 1
    return bytes(out)


@dataclass
class Executed:
    client: str  # "lua" for a command run by a script
    args: list[bytes]

    @property
    def name(self) -> str:
        first = self.args[0].decode().lower()
        if len(self.args) > 1 and first in _WITH_SUBCOMMANDS:
            return f"{first}|{self.args[1].decode().lower()}"
        return first


def parse_monitor(lines: list[str]) -> list[Executed]:
    executed = []
    for line in lines:
        match = _LINE.match(line)
        if match is None:
            continue
        args = [_unquote(a) for a in _ARG.findall(match["args"])]
        if args:
            executed.append(Executed(match["client"], args))
    return executed


def _keys(admin: redis.Redis, args: list[bytes]) -> list[bytes]:
    try:
        keys = admin.command_getkeys(*args)
    except redis.ResponseError:  # a command without key arguments
        return []
    # redis-py decodes GETKEYS' reply; compare as the bytes the script declared.
    return [k.encode() if isinstance(k, str) else k for k in keys]


def violations(executed: list[Executed], admin: redis.Redis) -> list[str]:
    """Every breach of the three rules in the module docstring."""
    found: list[str] = []
    declared: list[bytes] | None = None
    script = ""
    for cmd in executed:
        if cmd.client == "lua":
            if declared is None:
                found.append(f"a script command with no script call before it: {cmd.args!r}")
                continue
            for key in _keys(admin, cmd.args):
                if key not in declared:
                    found.append(f"{script} touched undeclared key {key!r} with {cmd.name}")
            continue
        declared = None
        if cmd.name in {"eval", "evalsha"}:
            count = int(cmd.args[2])
            declared = cmd.args[3 : 3 + count]
            script = f"{cmd.name} {cmd.args[1][:40]!r}"
        keys = declared if declared is not None else _keys(admin, cmd.args)
        slots = {admin.cluster("KEYSLOT", k) for k in keys}
        if len(slots) > 1:
            found.append(f"{cmd.name} spans slots {sorted(slots)}: {keys!r}")
    return found


#: Commands the fixture itself runs between RESETSTAT and reading the stats.
_FIXTURE_COMMANDS = frozenset({"config|resetstat", "monitor", "info"})


def command_violations(stats: dict[str, Any]) -> list[str]:
    """Rule 3 (and 2, as Redis saw it) from INFO commandstats.

    MONITOR leaves out administrative commands (CONFIG, DEBUG, ...) and
    commands Redis rejected (CROSSSLOT); the server's command statistics
    count every command, so the allowlist is checked against those."""
    found = []
    for entry, counts in stats.items():
        name = entry.removeprefix("cmdstat_")
        if name in _FIXTURE_COMMANDS:
            continue
        if name in NOT_ON_SERVERLESS or name.split("|")[0] in NOT_ON_SERVERLESS:
            found.append(f"{name} is not offered by ElastiCache Serverless")
        elif name not in ALLOWED:
            found.append(f"{name} is not on the checked allowlist (is Serverless fine with it?)")
        if int(counts.get("rejected_calls", 0)):
            found.append(f"{name} was rejected {counts['rejected_calls']}x (cross-slot?)")
    return found


def _reset_stats(node: RedisServer) -> None:
    with redis.Redis(node.host, node.port, socket_timeout=5) as admin:
        admin.config_resetstat()


def _command_stats(node: RedisServer) -> dict[str, Any]:
    with redis.Redis(node.host, node.port, socket_timeout=5) as admin:
        stats: dict[str, Any] = admin.info("commandstats")
    return stats


class Monitor:
    """MONITOR on a plain socket, in a thread, until stopped."""

    def __init__(self, host: str, port: int) -> None:
        self.lines: list[str] = []
        self._sock = socket.create_connection((host, port), timeout=1)
        self._sock.sendall(b"MONITOR\r\n")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        buffer = b""
        while not self._stop.is_set():
            try:
                chunk = self._sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            *complete, buffer = buffer.split(b"\r\n")
            self.lines += [line.decode("latin-1").removeprefix("+") for line in complete]

    def stop(self) -> list[str]:
        time.sleep(0.3)  # the last replies' MONITOR lines are on their way
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()
        return self.lines


def _wait_cluster_ok(r: redis.Redis) -> None:
    for _ in range(100):
        if r.cluster("INFO").get("cluster_state") == "ok":
            return
        time.sleep(0.05)
    raise ServerStartError("one-node cluster never reached cluster_state:ok")


@pytest.fixture(scope="module")
def one_node_cluster() -> Iterator[RedisServer]:
    """One cluster-mode node owning all 16384 slots: how Serverless looks to a client."""
    port = free_cluster_port("127.0.0.1")
    args = ["--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{port}.conf"]
    node = RedisServer(port, extra_args=args)
    try:
        node.start()
        with redis.Redis(node.host, node.port, socket_timeout=5, decode_responses=True) as r:
            r.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
            _wait_cluster_ok(r)
            r.execute_command(
                "ACL", "SETUSER", USER, "on", f">{PASSWORD}", "resetkeys", "~cc:*",
                "resetchannels", "&cc:*", "-@all", "+@read", "+@write", "+@pubsub",
                "+@connection", "-@dangerous", "+eval", "+evalsha", "+script|load", "+time",
                "+info", "+cluster|slots", "+cluster|shards",
            )  # fmt: skip
    except ServerStartError as exc:
        node.close()
        pytest.fail(f"could not start a one-node Redis Cluster: {exc}", pytrace=False)
    yield node
    node.close()


@pytest.fixture
async def sidecar_on_one_node(
    one_node_cluster: RedisServer, fake_app: FakeApp, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Running]:
    monkeypatch.setenv("SERVERLESS_PASSWORD", PASSWORD)
    app = {"loader": fake_app.target, "writer": fake_app.target}
    settings = settings_from_mapping(
        {
            "listen": "127.0.0.1:0",
            "backends": {
                "main": {
                    "url": f"redis+cluster://{one_node_cluster.host}:{one_node_cluster.port}",
                    "username": USER,
                    "password_env": "SERVERLESS_PASSWORD",
                    "timeout": "2s",
                }
            },
            "namespaces": {
                "items": {"backend": "main", "ttl": "1h", **app},
                "queue": {
                    "backend": "main",
                    **app,
                    "write_behind": {"flush_interval": "50ms", "retry_backoff": "10ms"},
                },
            },
        }
    )
    sidecar = Sidecar(settings, telemetry=Telemetry(), health_interval=0.2)
    await sidecar.start()
    channel = grpc.aio.insecure_channel(sidecar.address)
    yield Running(sidecar, channel)
    await channel.close()
    await sidecar.stop(grace=1.0)


async def _exercise_the_rest(sc: Running) -> None:
    """Calls _exercise_every_pattern leaves out: one session's end, updates, ranks."""
    sessions, boards = sc.sessions, sc.boards
    created = await sessions.CreateSession(
        session_pb2.CreateSessionRequest(namespace="items", subject="bo", data={"a": b"1"})
    )
    await sessions.UpdateSession(
        session_pb2.UpdateSessionRequest(
            namespace="items", session_id=created.session_id, set_fields={"b": b"2"}
        )
    )
    await sessions.TouchSession(
        session_pb2.TouchSessionRequest(namespace="items", session_id=created.session_id)
    )
    ended = await sessions.DeleteSession(
        session_pb2.DeleteSessionRequest(namespace="items", session_id=created.session_id)
    )
    assert ended.deleted
    for member, score in (("ann", 5), ("bo", 7), ("cy", 1)):
        await boards.AddScore(
            leaderboard_pb2.AddScoreRequest(
                namespace="items", board="r", member=member, score=score
            )
        )
    rank = await boards.GetRank(
        leaderboard_pb2.GetRankRequest(namespace="items", board="r", member="ann")
    )
    assert rank.entry.rank == 2
    await boards.GetAround(
        leaderboard_pb2.GetAroundRequest(namespace="items", board="r", member="ann")
    )
    await boards.RemoveMember(
        leaderboard_pb2.RemoveMemberRequest(namespace="items", board="r", member="cy")
    )
    await boards.GetCounter(leaderboard_pb2.GetCounterRequest(namespace="items", counter="hits"))


async def test_every_pattern_keeps_to_declared_keys_one_slot_and_serverless_commands(
    one_node_cluster: RedisServer, sidecar_on_one_node: Running, fake_app: FakeApp
) -> None:
    _reset_stats(one_node_cluster)
    monitor = Monitor(one_node_cluster.host, one_node_cluster.port)
    try:
        await _exercise_every_pattern(sidecar_on_one_node, fake_app)
        await _exercise_the_rest(sidecar_on_one_node)
    finally:
        lines = monitor.stop()
    problems = command_violations(_command_stats(one_node_cluster))
    executed = parse_monitor(lines)
    with redis.Redis(one_node_cluster.host, one_node_cluster.port, socket_timeout=5) as admin:
        problems += violations(executed, admin)
        denials = admin.acl_log()
    assert problems == [], "\n".join(problems[:20])
    assert denials == []
    # Not vacuous: scripts ran, and commands inside them were seen and checked.
    assert sum(c.name in {"eval", "evalsha"} for c in executed) >= 5
    assert sum(c.client == "lua" for c in executed) >= 10


def test_the_check_catches_an_undeclared_key_a_cross_slot_command_and_admin_commands(
    one_node_cluster: RedisServer,
) -> None:
    # The same check over a script that reads a key it did not declare, a
    # cross-slot MGET and CONFIG: it must report all three.
    _reset_stats(one_node_cluster)
    with redis.Redis(one_node_cluster.host, one_node_cluster.port, socket_timeout=5) as admin:
        monitor = Monitor(one_node_cluster.host, one_node_cluster.port)
        try:
            admin.eval("return redis.call('get', 'cc:{a}undeclared')", 1, "cc:{a}declared")
            with pytest.raises(redis.ResponseError, match="same slot"):
                admin.mget("cc:one", "cc:two")
            admin.config_get("maxmemory")
        finally:
            lines = monitor.stop()
        problems = command_violations(_command_stats(one_node_cluster))
        problems += violations(parse_monitor(lines), admin)
    text = "\n".join(problems)
    assert "undeclared key b'cc:{a}undeclared'" in text
    assert "mget was rejected 1x" in text
    assert "config|get is not offered by ElastiCache Serverless" in text
