"""The one Valkey transport: clients, the multiplexed link, scripts, pipelining, timeouts and reconnecting.

Everything MockX sends to Valkey goes through this module, built on public APIs only (redis-py's asyncio
client, ``hiredis.Reader`` and ``hiredis.pack_command``):

* :func:`connect` makes the redis-py client: a plain :class:`~redis.asyncio.Redis` with explicit timeouts
  and a bounded blocking pool, or, when the server says ``cluster_enabled:1``, a
  :class:`~redis.asyncio.RedisCluster`, which routes each command to its slot, follows MOVED/ASK and sends
  ``SCRIPT LOAD`` to every primary. Blocking reads (``XREADGROUP``, ``XREAD``) always use this client.
* :class:`Link` is one multiplexed connection for a single node: many concurrent commands share one
  socket, replies pair with callers through a FIFO, packing and parsing run in C (≈ 17 µs of Python per
  EVALSHA with 27 arguments, against ≈ 175 µs through redis-py's pool). Commands can be sent now and read
  later (:meth:`Transport.send` / :meth:`Transport.receive`), so a worker prepares batch k + 1 while
  Valkey runs batch k. A cluster, or a URL the link cannot serve (TLS), has no link: redis-py carries
  everything, with the same calls.
* :class:`Script` is one Lua script with its SHA1 computed once; :meth:`Transport.run` (one call) and
  :meth:`Transport.receive` (a pipelined batch) heal NOSCRIPT after a server restart or a failover by
  loading the script and sending again exactly the calls that found it missing.
* the one retry-with-backoff loop every long-running loop sits in is :func:`app.store.retry.retrying`.

Errors keep redis-py's types on both paths, so callers handle them alike: error replies become the
exceptions redis-py raises for them (``NoScriptError``, ``BusyLoadingError``, ``ResponseError``, ...); a
refused or lost connection is :class:`redis.exceptions.ConnectionError`; an overdue reply is
:class:`redis.exceptions.TimeoutError`. A lost link fails every waiting command at once and the next
command reconnects, so it heals by itself when Valkey returns. A caller that gives up (timeout,
cancellation) leaves its future in the FIFO: its reply is read and dropped, and every other pairing stays
right (so, unlike a pooled redis-py connection, the link is never poisoned by a cancelled command).
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

import hiredis
from redis.asyncio import BlockingConnectionPool, Redis, RedisCluster
from redis.exceptions import (
    AuthenticationError,
    BusyLoadingError,
    ClusterCrossSlotError,
    ClusterDownError,
    ExecAbortError,
    MasterDownError,
    NoPermissionError,
    NoScriptError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from app.store.connections import connection_class

log = logging.getLogger(__name__)

#: Seconds a pooled connection may idle before it is PINGed ahead of its next command.
HEALTH_CHECK_SEC = 1


# clients --------------------------------------------------------------------------------------------------
def _redis_scheme(url: str) -> str:
    return "redis" + url[len("valkey") :] if url.startswith(("valkey://", "valkeys://")) else url


def redis_client(url: str, *, timeout: float = 5.0, max_connections: int = 64) -> Redis:
    """A single-node asyncio client with explicit timeouts and a bounded, blocking pool.

    ``socket_timeout`` bounds every command (blocking reads must use a shorter BLOCK); a short connect
    timeout makes an unreachable server fail fast instead of hanging requests. A pooled connection idle for
    :data:`HEALTH_CHECK_SEC` is checked with a PING (and revived if dead: :mod:`app.store.connections`)
    before a command goes on it, so connections left over from before a Valkey restart never fail a request;
    a command itself is never sent twice.
    """
    pool = BlockingConnectionPool.from_url(
        _redis_scheme(url),
        connection_class=connection_class(url),
        max_connections=max_connections,
        timeout=timeout,
        socket_timeout=timeout,
        socket_connect_timeout=min(timeout, 2.0),
        decode_responses=True,
        health_check_interval=HEALTH_CHECK_SEC,
    )
    return Redis(connection_pool=pool)


def cluster_client(url: str, *, timeout: float = 5.0, max_connections: int = 64) -> Redis:
    """A Valkey Cluster client seeded from one node's URL (same timeouts; ``max_connections`` per node).

    It is typed as :class:`Redis` because it answers the same commands the same way; only routing differs.
    """
    cluster = RedisCluster.from_url(
        _redis_scheme(url),
        max_connections=max_connections,
        socket_timeout=timeout,
        socket_connect_timeout=min(timeout, 2.0),
        decode_responses=True,
        health_check_interval=HEALTH_CHECK_SEC,
    )
    return cast(Redis, cluster)


async def connect(url: str, *, socket_timeout: float = 5.0, max_connections: int = 64) -> Redis:
    """The client for ``url``: :func:`cluster_client` if the server runs in cluster mode, else :func:`redis_client`.

    Asks the server (``INFO cluster``), so an unreachable server raises a connection error here.
    """
    client = redis_client(url, timeout=socket_timeout, max_connections=max_connections)
    try:
        info = await client.info("cluster")
    except BaseException:
        await client.aclose()
        raise
    if str(info.get("cluster_enabled", 0)) != "1":
        return client
    await client.aclose()
    cluster = cluster_client(url, timeout=socket_timeout, max_connections=max_connections)
    try:
        await cluster.initialize()  # RedisCluster: learn the slot map now
    except BaseException:
        await cluster.aclose()
        raise
    return cluster


def is_cluster(client: Redis) -> bool:
    return isinstance(client, RedisCluster)


# the multiplexed link -------------------------------------------------------------------------------------
_ERRORS: dict[str, type[RedisError]] = {
    "NOSCRIPT": NoScriptError,
    "LOADING": BusyLoadingError,
    "READONLY": ReadOnlyError,
    "OOM": OutOfMemoryError,
    "NOAUTH": AuthenticationError,
    "WRONGPASS": AuthenticationError,
    "NOPERM": NoPermissionError,
    "EXECABORT": ExecAbortError,
    "MASTERDOWN": MasterDownError,
    "CLUSTERDOWN": ClusterDownError,
    "CROSSSLOT": ClusterCrossSlotError,
    "TRYAGAIN": TryAgainError,
}
_ERR_MESSAGES: dict[str, type[RedisError]] = {
    "max number of clients reached": RedisConnectionError,
    "invalid password": AuthenticationError,
}


def reply_error(message: str) -> RedisError:
    """The exception redis-py raises for the error reply ``message`` (its code prefix removed, as redis-py does)."""
    code, _, rest = message.partition(" ")
    if code == "ERR":
        return _ERR_MESSAGES.get(rest, ResponseError)(rest)
    kind = _ERRORS.get(code)
    return kind(rest) if kind is not None else ResponseError(message)


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiting: collections.deque[asyncio.Future[Any]] = collections.deque()
        self.reader = hiredis.Reader(encoding="utf-8", replyError=reply_error, notEnoughData=Ellipsis)
        self.lost: Exception | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass it

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        waiting = self.waiting
        while (reply := self.reader.gets()) is not Ellipsis:
            if not waiting:  # a reply nobody asked for: the stream is out of step, drop the connection
                self._fail(RedisConnectionError("Valkey sent an unexpected reply"))
                return
            future = waiting.popleft()
            if not future.done():
                if isinstance(reply, Exception):
                    future.set_exception(reply)
                else:
                    future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(RedisConnectionError(f"connection to Valkey lost: {exc or 'closed by the server'}"))

    def _fail(self, error: Exception) -> None:
        self.lost = error
        if self.transport is not None:
            self.transport.abort()
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(error)


class Link:
    """A self-healing multiplexed connection to one node.

    :meth:`call` sends one command and returns its reply; :meth:`write` sends packed commands now and
    :meth:`collect` reads their replies later.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 6379,
        path: str | None = None,
        username: str | None = None,
        password: str | None = None,
        db: int = 0,
        timeout: float = 5.0,
        connect_timeout: float = 2.0,
    ) -> None:
        self._address = (host, port)
        self._path = path
        self._setup: list[tuple[Any, ...]] = []
        if password:
            self._setup.append(("AUTH", username, password) if username else ("AUTH", password))
        if db:
            self._setup.append(("SELECT", db))
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Future[_Protocol] | None = None

    async def call(self, *args: Any) -> Any:
        """Send one command; return its reply (str, int, list, None) or raise as redis-py would."""
        return (await self.pipeline(args))[0]

    async def pipeline(self, *commands: tuple[Any, ...]) -> list[Any]:
        """Send commands in one write; return their replies in order, or raise the first error among them."""
        replies = await self.collect(
            await self.write(b"".join([hiredis.pack_command(c) for c in commands]), len(commands))
        )
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        return replies

    async def write(self, payload: bytes, count: int) -> list[asyncio.Future[Any]]:
        """Send ``count`` packed commands now (connecting first if needed); the futures of their replies."""
        protocol = self._protocol
        if protocol is None or protocol.lost is not None:
            protocol = await self._connect()
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in range(count)]
        protocol.waiting.extend(futures)
        assert protocol.transport is not None
        protocol.transport.write(payload)
        return futures

    async def collect(self, futures: list[asyncio.Future[Any]]) -> list[Any]:
        """The replies of written commands, in order; an error reply is returned in its place.

        A lost connection raises :class:`redis.exceptions.ConnectionError`; replies later than ``timeout``
        raise :class:`redis.exceptions.TimeoutError` (they are read and dropped when they come).
        """
        replies: list[Any] = []
        try:
            async with asyncio.timeout(self.timeout):
                for future in futures:  # read every reply, failed ones too, before raising
                    try:
                        replies.append(await future)
                    except RedisError as exc:
                        replies.append(exc)
        except TimeoutError as exc:  # asyncio's, raised as redis-py's
            raise RedisTimeoutError(f"no reply from Valkey within {self.timeout:g} s") from exc
        for reply in replies:
            if isinstance(reply, RedisConnectionError):
                raise reply
        return replies

    async def _connect(self) -> _Protocol:
        if self._connecting is None or self._connecting.done():
            self._connecting = asyncio.ensure_future(self._open())
        return await asyncio.shield(self._connecting)

    async def _open(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                if self._path is not None:
                    _, protocol = await loop.create_unix_connection(_Protocol, self._path)
                else:  # asyncio and uvloop set TCP_NODELAY themselves
                    _, protocol = await loop.create_connection(_Protocol, *self._address)
        except OSError as exc:  # refused, unreachable, or the connect timeout (TimeoutError is an OSError)
            raise RedisConnectionError(f"cannot connect to Valkey: {exc or type(exc).__name__}") from None
        for command in self._setup:  # AUTH, SELECT: the link is usable only once they succeeded
            future: asyncio.Future[Any] = loop.create_future()
            protocol.waiting.append(future)
            assert protocol.transport is not None
            protocol.transport.write(hiredis.pack_command(tuple(a for a in command if a is not None)))
            try:
                await future
            except BaseException:
                protocol.transport.close()
                raise
        self._protocol = protocol
        return protocol

    async def aclose(self) -> None:
        protocol, self._protocol = self._protocol, None
        if protocol is not None and protocol.transport is not None:
            protocol.transport.close()


def open_link(url: str, *, timeout: float = 5.0) -> Link | None:
    """A :class:`Link` for ``url``, or None when the URL needs what the link does not do (TLS).

    Only plain ``redis://`` / ``valkey://`` (host, port, optional user, password and db) and ``unix://``
    URLs are served. Nothing connects until the first command.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    query = parse_qs(parts.query)
    db = int((query.get("db") or ["0"])[0] or 0)
    common: dict[str, Any] = {
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "timeout": timeout,
        "connect_timeout": min(timeout, 2.0),
    }
    if scheme == "unix":
        return Link(path=unquote(parts.path), db=db, **common)
    if scheme in ("redis", "valkey"):
        path_db = parts.path.strip("/")
        return Link(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 6379,
            db=int(path_db) if path_db.isdigit() else db,
            **common,
        )
    return None


# scripts and calls ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Script:
    """One Lua script: its name (for logs), its source and its SHA1, computed once."""

    name: str
    source: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha", hashlib.sha1(self.source.encode()).hexdigest())


@dataclass(frozen=True, slots=True)
class Call:
    """One command ready to send: ``args`` is the whole command (an ``EVALSHA`` of ``script``, or a plain
    command with ``script`` None); ``packed`` is its wire form when the transport has a link."""

    args: tuple[Any, ...]
    script: Script | None = None
    packed: bytes = b""


@dataclass(frozen=True, slots=True)
class Sent:
    """Calls on their way: futures on the link, or a task running a redis-py pipeline."""

    calls: Sequence[Call]
    futures: list[asyncio.Future[Any]] | None = None
    task: asyncio.Task[list[Any]] | None = None


class Transport:
    """The redis-py client and, on a single node, the multiplexed link; every script call and pipeline.

    Scripts, reads on the hot path and pipelined batches go over the link when there is one; blocking reads
    and everything else use :attr:`redis`. Build with :meth:`open`; close with :meth:`aclose`.
    """

    def __init__(self, redis: Redis, link: Link | None = None) -> None:
        self.redis = redis
        self.link = link
        self.cluster = is_cluster(redis)

    @classmethod
    async def open(cls, url: str, *, socket_timeout: float = 5.0, max_connections: int = 64) -> Transport:
        """Connect to ``url`` (a cluster is detected); the link is made for a single node it can serve.

        ``socket_timeout`` bounds every reply, on the link as on redis-py's connections."""
        redis = await connect(url, socket_timeout=socket_timeout, max_connections=max_connections)
        return cls(redis, None if is_cluster(redis) else open_link(url, timeout=socket_timeout))

    async def aclose(self) -> None:
        if self.link is not None:
            await self.link.aclose()
        await self.redis.aclose()

    # scripts --------------------------------------------------------------------------------------------
    async def load(self, scripts: Iterable[Script]) -> None:
        """Load scripts now (on a cluster: on every primary); a script that does not compile raises here."""
        for script in scripts:
            sha = await self.redis.script_load(script.source)
            if sha != script.sha:  # pragma: no cover - the server hashes what we hashed
                raise RuntimeError(f"Valkey hashed script {script.name} to {sha}, expected {script.sha}")

    async def run(self, script: Script, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """One EVALSHA; a server that lost the script gets it again and the call is sent once more."""
        command = ("EVALSHA", script.sha, len(keys), *keys, *args)
        try:
            return await self._one(command)
        except NoScriptError:
            log.warning("script %s missing (Valkey restarted or failed over): loading it again", script.name)
            await self.load([script])
            return await self._one(command)

    async def _one(self, command: tuple[Any, ...]) -> Any:
        if self.link is not None:
            return await self.link.call(*command)
        return await self.redis.execute_command(*command)

    # plain commands -------------------------------------------------------------------------------------
    async def command(self, *args: Any) -> Any:
        """One plain (non-blocking) command, over the link if there is one. Replies are raw, as the server
        sends them (``HGET`` a str or None, ``HMGET`` a list)."""
        return await self._one(args)

    async def pipeline(self, *commands: tuple[Any, ...]) -> list[Any]:
        """Plain commands in one round trip; their replies in order, or the first error raised."""
        if self.link is not None:
            return await self.link.pipeline(*commands)
        replies = await self._redis_pipeline([Call(c) for c in commands])
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        return replies

    # pipelined batches: send now, receive later ---------------------------------------------------------
    def script_call(self, script: Script, keys: Sequence[str], args: Sequence[Any]) -> Call:
        """An EVALSHA of ``script`` ready for :meth:`send` (packed now if it will go over the link)."""
        command = ("EVALSHA", script.sha, len(keys), *keys, *args)
        return Call(command, script, hiredis.pack_command(command) if self.link is not None else b"")

    def plain_call(self, *args: Any) -> Call:
        """A plain command ready for :meth:`send`."""
        return Call(args, None, hiredis.pack_command(args) if self.link is not None else b"")

    async def send(self, calls: Sequence[Call]) -> Sent:
        """Send ``calls`` now, in one write; :meth:`receive` reads their replies when the caller wants them."""
        if self.link is not None:
            return Sent(calls, futures=await self.link.write(b"".join([c.packed for c in calls]), len(calls)))
        return Sent(calls, task=asyncio.ensure_future(self._redis_pipeline(calls)))

    async def receive(self, sent: Sent) -> list[Any]:
        """The replies of sent calls, in order, an error reply in its place. Calls whose script was missing
        are sent again once the script is loaded; a lost connection or a timeout raises."""
        replies = await self._replies(sent)
        missing = [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
        if missing:
            scripts = {sent.calls[i].script for i in missing}
            log.warning("scripts missing (Valkey restarted or failed over): loading them and sending %d calls again",
                        len(missing))  # fmt: skip
            await self.load(s for s in scripts if s is not None)
            again = await self._replies(await self.send([sent.calls[i] for i in missing]))
            for i, reply in zip(missing, again, strict=True):
                replies[i] = reply
        return replies

    async def execute(self, calls: Sequence[Call]) -> list[Any]:
        """:meth:`send` then :meth:`receive`."""
        return await self.receive(await self.send(calls))

    async def _replies(self, sent: Sent) -> list[Any]:
        if sent.futures is not None:
            assert self.link is not None
            return await self.link.collect(sent.futures)
        assert sent.task is not None
        return await sent.task

    async def _redis_pipeline(self, calls: Sequence[Call]) -> list[Any]:
        """redis-py's non-transactional pipeline (routed per slot on a cluster), errors in place."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for call in calls:
                pipe.execute_command(*call.args)
            replies: list[Any] = await pipe.execute(raise_on_error=False)
        for reply in replies:
            if isinstance(reply, RedisConnectionError | RedisTimeoutError):
                raise reply
        return replies
