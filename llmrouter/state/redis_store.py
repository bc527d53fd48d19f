"""State shared through Redis (``state.redis_url``), degrading to local state when Redis is away.

Every operation is one Lua script (:mod:`llmrouter.state.scripts`): atomic on the server, one
round trip; calls started together (a request's opening reads, a pending spend write) share
one pipeline. Each call is bounded by :data:`CALL_TIMEOUT_S` (the very first, which connects
and loads the scripts, by :data:`FIRST_CALL_TIMEOUT_S`: :meth:`RedisStore.warm_up` makes it at
startup, before any request); a call that fails or times out
switches this store to its :class:`~llmrouter.state.local.LocalStore` with one warning, and
Redis is tried again at most every :data:`RETRY_S` seconds (one call, bounded the same way),
so no request waits on a dead Redis more than once per retry period. When a call succeeds
again one line says sharing has resumed. Nothing a request needs fails because of Redis.

Keys hold hashes (:func:`llmrouter.state.base.key_id`) and model names, never a gateway key.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

from llmrouter.state import scripts
from llmrouter.state.base import KeyLimits, Refusal
from llmrouter.state.local import LocalStore

__all__ = ["CALL_TIMEOUT_S", "RETRY_S", "RedisStore", "redis_location"]

log = logging.getLogger("llmrouter.state")

T = TypeVar("T")

CALL_TIMEOUT_S = 0.1
RETRY_S = 1.0
WRITE_DELAY_S = 0.005
# The first call opens the connection and loads the scripts: a few round trips, once.
FIRST_CALL_TIMEOUT_S = 1.0

_timeout = getattr(asyncio, "timeout", None)  # Python 3.11+: no extra task per call


def redis_location(url: str) -> str:
    """``host:port/db`` of a Redis URL, for log lines: never its password."""
    parts = urlsplit(url)
    db = parts.path.lstrip("/") or "0"
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}/{db}"


class RedisStore:
    """:class:`~llmrouter.state.base.StateStore` on Redis; ``prefix`` namespaces every key."""

    def __init__(self, url: str, prefix: str = "llmrouter:", fallback: LocalStore | None = None) -> None:
        try:
            import redis.asyncio as aioredis
            from redis.exceptions import ConnectionError as RedisConnectionError
            from redis.backoff import NoBackoff
            from redis.asyncio.retry import Retry
        except ImportError:  # pragma: no cover - depends on the installation
            # A ValueError: `serve` reports it as its one-line configuration error, not a traceback.
            raise ValueError("state.redis_url needs redis-py, which is not installed: pip install 'llmrouter[redis]'") from None
        self.location = redis_location(url)
        self.prefix = prefix
        self.local = fallback or LocalStore()
        # One immediate retry: a pooled connection that a Redis restart closed fails once, then a
        # fresh one works. The call as a whole stays bounded by CALL_TIMEOUT_S.
        self.client = aioredis.Redis.from_url(
            url, socket_timeout=CALL_TIMEOUT_S, socket_connect_timeout=CALL_TIMEOUT_S,
            retry=Retry(NoBackoff(), 1), retry_on_error=[RedisConnectionError], decode_responses=True,
        )
        self._scripts = {name: self.client.register_script(getattr(scripts, name)) for name in scripts.__all__}
        self._down_since: float | None = None
        self._retry_at = 0.0
        self._batch: list[tuple[str, list[Any], asyncio.Future[Any]]] = []
        self._flushing: set[asyncio.Task[None]] = set()
        self._flush_handle: asyncio.TimerHandle | None = None
        self._flush_now = False
        self._budget = FIRST_CALL_TIMEOUT_S  # CALL_TIMEOUT_S after the first success

    @property
    def shared(self) -> bool:
        """False while Redis is unreachable and this process runs on local state."""
        return self._down_since is None

    async def _run(self, script: str, keys: Sequence[str], args: Sequence[Any],
                   local: Callable[[], Awaitable[T]], parse: Callable[[Any], T], later: bool = False) -> T:
        if self._down_since is not None and time.monotonic() < self._retry_at:
            return await local()
        try:
            if _timeout is not None:
                async with _timeout(self._budget):
                    reply = await self._call(script, [*keys, *args], len(keys), later)
            else:  # pragma: no cover - Python 3.10
                reply = await asyncio.wait_for(self._call(script, [*keys, *args], len(keys), later), self._budget)
        except Exception as exc:  # noqa: BLE001 - redis.RedisError, OSError, TimeoutError: all degrade
            self._went_down(exc)
            return await local()
        self._budget = CALL_TIMEOUT_S
        if self._down_since is not None:
            log.warning("state: Redis at %s is back after %.1f s; sharing resumes", self.location, time.monotonic() - self._down_since)
            self._down_since = None
        return parse(reply)

    # --- one round trip for the calls of one loop iteration ----------------------------------------
    #
    # A request starts its admission, routing and health reads together (asyncio.gather): each
    # queues its script here, and the queue goes to Redis as one pipeline once the loop has run
    # every task started in the same iteration. One round trip instead of three.

    def _call(self, script: str, keys_and_args: list[Any], nkeys: int, later: bool = False) -> asyncio.Future[Any]:
        """Queue one script call; ``later``: a write nobody waits for (spend), sent with the next
        batch or within WRITE_DELAY_S, so it neither delays an answer nor costs a round trip of
        its own under load."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._batch.append((script, [nkeys, *keys_and_args], future))
        if later:
            if self._flush_handle is None:
                self._flush_handle = loop.call_later(WRITE_DELAY_S, self._flush_batch)
        elif not self._flush_now:
            self._flush_now = True
            loop.call_soon(self._flush_batch)
        return future

    def _flush_batch(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self._flush_now = False
        if not self._batch:
            return
        batch, self._batch = self._batch, []
        task = asyncio.ensure_future(self._send(batch))
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def _send(self, batch: list[tuple[str, list[Any], asyncio.Future[Any]]]) -> None:
        try:
            if _timeout is not None:
                async with _timeout(self._budget):
                    replies = await self._pipeline(batch)
            else:  # pragma: no cover - Python 3.10
                replies = await asyncio.wait_for(self._pipeline(batch), self._budget)
        except BaseException as exc:  # noqa: BLE001 - every waiting call degrades on its own
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else ConnectionError("cancelled"))
            if not isinstance(exc, Exception):
                raise
            return
        for (_, _, future), reply in zip(batch, replies):
            if not future.done():
                future.set_exception(reply) if isinstance(reply, Exception) else future.set_result(reply)

    async def _pipeline(self, batch: list[tuple[str, list[Any], asyncio.Future[Any]]]) -> list[Any]:
        from redis.exceptions import NoScriptError

        for attempt in (1, 2):
            pipe = self.client.pipeline(transaction=False)
            for script, call_args, _ in batch:
                pipe.evalsha(self._scripts[script].sha, *call_args)
            replies = await pipe.execute(raise_on_error=False)
            if attempt == 1 and any(isinstance(r, NoScriptError) for r in replies):
                # A restarted Redis has forgotten the scripts: load them and send once more.
                for name in {script for script, _, _ in batch}:
                    await self.client.script_load(self._scripts[name].script)
                continue
            return replies
        return replies  # pragma: no cover - the loop returns

    def _went_down(self, exc: BaseException) -> None:
        now = time.monotonic()
        self._retry_at = now + RETRY_S
        if self._down_since is None:
            self._down_since = now
            reason = type(exc).__name__ if isinstance(exc, asyncio.TimeoutError) else f"{type(exc).__name__}: {exc}"
            log.warning(
                "state: Redis at %s is unreachable (%s); serving with this process's local state until it is back",
                self.location, reason.replace("\n", " ")[:200],
            )

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    # --- the StateStore operations --------------------------------------------------------------

    async def next_turn(self, pool: str) -> int:
        return await self._run("NEXT_TURN", [self._key("rr", pool)], [], lambda: self.local.next_turn(pool), int)

    async def failures(self, names: Sequence[str]) -> dict[str, bool]:
        if not names:
            return {}

        def parse(reply: list[Any]) -> dict[str, bool]:
            return {name: int(state) == 2 for name, state in zip(names, reply) if int(state)}

        keys = [self._key("cooldown", name) for name in names]
        return await self._run("COOLING", keys, [], lambda: self.local.failures(names), parse)

    async def failed(self, name: str, after: int, seconds: float, retry_after: float | None) -> bool:
        return await self._run(
            "FAILED", [self._key("cooldown", name)], [after, repr(float(seconds)), repr(float(retry_after or 0))],
            lambda: self.local.failed(name, after, seconds, retry_after), lambda reply: bool(int(reply)),
        )

    async def succeeded(self, name: str) -> None:
        async def local() -> None:
            await self.local.succeeded(name)

        await self._run("SUCCEEDED", [self._key("cooldown", name)], [], local, lambda reply: None)

    async def admit(self, key: str, limits: KeyLimits) -> Refusal | None:
        def parse(reply: Any) -> Refusal | None:
            if not reply:
                return None
            reason, wait = reply[0], float(reply[1])
            limit = {"rpm": limits.rpm, "tpm": limits.tpm, "budget": limits.budget_usd}[reason]
            return Refusal(reason, wait, float(limit or 0))

        def arg(value: float | None) -> str:
            return "-1" if value is None else repr(float(value))

        keys = [self._key("key", key, "requests"), self._key("key", key, "tokens"), self._key("key", key, "spend", str(limits.budget_period))]
        args = [arg(limits.rpm), arg(limits.tpm), arg(limits.budget_usd), str(limits.budget_period)]
        return await self._run("ADMIT", keys, args, lambda: self.local.admit(key, limits), parse)

    async def record_usage(self, key: str, model: str, tokens: int, usd: float, budget_period: int) -> None:
        async def local() -> None:
            await self.local.record_usage(key, model, tokens, usd, budget_period)

        keys = [self._key("key", key, "tokens"), self._key("key", key, "spend", str(budget_period))]
        await self._run("RECORD_USAGE", keys, [model, int(tokens), repr(float(usd)), budget_period], local, lambda reply: None,
                        later=True)

    async def spend(self, key: str, budget_period: int) -> dict[str, float]:
        def parse(reply: list[str]) -> dict[str, float]:
            return {reply[i]: float(reply[i + 1]) for i in range(0, len(reply), 2)}

        keys = [self._key("key", key, "spend", str(budget_period))]
        return await self._run("SPEND", keys, [budget_period], lambda: self.local.spend(key, budget_period), parse)

    async def warm_up(self) -> None:
        """Connect and load the scripts now (server startup), so no request pays for it."""
        await self.spend("warm-up", 86400)

    async def aclose(self) -> None:
        try:
            await self.client.aclose()
        except Exception:  # noqa: BLE001 - closing a broken connection must not fail shutdown
            pass
