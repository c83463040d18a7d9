"""SPARQL queries run in processes of their own, so that a limit can stop them.

The embedded store cannot cancel a query, and a thread cannot be killed: a query past
its deadline would keep its core busy until it ends on its own. So each server worker
runs queries in *query processes* (forked from a fork server that has only the store's
modules imported, each with the store open read-only, following what the writer
publishes: :mod:`kgart.store`). A query goes to an idle one, or to a freshly forked one;
past the deadline that process is killed (the core is free at once); a query that crashes
its process costs that query. A query running past a quarter of a second is lowered in
priority (``nice``) and gives its place to fresh queries, so that a quick query arriving
during a storm of heavy ones still gets a process and a core; its process is not reused.
At most ``size`` queries run at full priority, long ones beside them, and ``2 * size +
waiting`` are admitted in all; one more is refused at once (:class:`QueueFull`, a 503 with
``Retry-After``), so heavy queries cannot starve the server.

Results stream back in chunks as Oxigraph serializes them, and the process stops
writing when the result passes ``max_bytes``: memory stays bounded whatever the query.
A result that ends within the first chunk is answered whole (with its length); a longer
one is streamed, and one that passes the cap while streaming ends the connection
without the final chunk, so a client never takes a cut result for a whole one.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from kgart.errors import KgartError, QueryError
from kgart.query_worker import FunctionsSpec, serve_queries

WHOLE_BYTES = 256 * 1024  # results up to this size are answered whole, with Content-Length
LONG_AFTER_S = 0.25  # a query running longer yields the cores to fresh ones
LONG_NICENESS = 10


class QueueFull(KgartError):
    """Every query process is busy and the queue is full."""


class QueryTimeout(KgartError):
    """The query did not finish (or did not start) within the time limit; its process was killed."""


class ResultTooLarge(KgartError):
    """The result passed the size cap."""


class QueryCrashed(KgartError):
    """The query's process died while running it."""


# -- the pool, in the server worker ---------------------------------------------------


def _start_method() -> Any:
    """A fork server with the store's modules imported: a fresh query process is a fork of a
    small single-threaded process (milliseconds, not the quarter second of starting Python),
    and never a fork of the threaded server worker. Spawned where there is no fork server."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # Each child also re-runs the `kgart` script as its __main__ (the fork server does not
    # preload a main module given by path), which imports kgart.cli: preloaded, that costs nothing.
    context.set_forkserver_preload(["kgart.query_worker", "kgart.store", "kgart.cli"])
    return context


@dataclass
class _Process:
    process: Any
    conn: Connection

    def kill(self) -> None:
        """Stopped at once (its core is free); reaped in the background, off the answer's path."""
        self.process.kill()
        self.conn.close()
        threading.Thread(target=self.process.join, args=(10,), daemon=True).start()


@dataclass
class QueryProcesses:
    """A server worker's query processes over the store at ``location``.

    At most ``size`` queries run at full priority; one that turns long (lowered in priority)
    leaves its place to fresh queries and runs on beside them, so a quick query is never queued
    behind heavy ones. At most ``2 * size + waiting`` queries are admitted at once (running,
    long or waiting), which bounds the processes a storm of heavy queries can hold. ``warm``
    processes are kept started; more are forked when queries need them, and a killed one is
    replaced only to keep ``warm`` (a storm's end costs a few forks, not a round of start-ups).
    """

    location: str
    size: int = 2
    waiting: int = 8
    warm: int = 1
    functions: FunctionsSpec | None = None
    on_depth: Callable[[int], None] | None = None  # told the number running or waiting when it changes
    _idle: list[_Process] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _starting: threading.Lock = field(default_factory=threading.Lock)
    _admitted: int = 0  # running or waiting
    _fresh: int = 0  # running at full priority
    _busy: int = 0  # running
    _alive: int = 0  # started and not killed
    _pending: int = 0  # being started by _keep_warm
    _started: bool = False
    _context: Any = None

    @property
    def depth(self) -> int:
        """Queries running or waiting in this worker."""
        return self._admitted

    @property
    def limit(self) -> int:
        """Queries admitted at once before any waits: ``size`` fresh and as many long ones."""
        return 2 * self.size

    def _spawn(self) -> _Process:
        with self._starting:
            if self._context is None:
                self._context = _start_method()
        parent, child = self._context.Pipe()
        process = self._context.Process(target=serve_queries, args=(child, self.location, self.functions),
                                        name="kgart-query", daemon=True)
        process.start()
        child.close()
        try:
            if not parent.poll(60) or parent.recv()[0] != "ready":
                raise QueryCrashed("a query process did not start")
        except (EOFError, OSError) as e:
            process.kill()
            raise QueryCrashed(f"a query process did not start: {e}") from e
        with self._changed:
            self._alive += 1
        return _Process(process, parent)

    def _keep_warm(self) -> None:
        """Start processes in the background until ``warm`` are alive (the caller does not wait)."""
        def spawn() -> None:
            with self._changed:
                if self._alive + self._pending >= self.warm:
                    return
                self._pending += 1
            try:
                worker = self._spawn()
            except QueryCrashed:
                time.sleep(1)
                threading.Thread(target=spawn, daemon=True).start()
                return
            finally:
                with self._changed:
                    self._pending -= 1
            self._add_idle(worker)
        threading.Thread(target=spawn, daemon=True, name="kgart-query-spawn").start()

    def _add_idle(self, worker: _Process) -> None:
        with self._changed:
            self._idle.append(worker)
            self._changed.notify_all()

    def start(self) -> None:
        """Start the warm processes (the first query would otherwise wait for one)."""
        with self._changed:
            if self._started:
                return
            self._started = True
        for _ in range(min(self.warm, self.size)):
            self._add_idle(self._spawn())

    def start_in_background(self) -> None:
        threading.Thread(target=self.start, daemon=True, name="kgart-query-start").start()

    def close(self) -> None:
        with self._changed:
            idle, self._idle = self._idle, []
            self._alive -= len(idle)
        for worker in idle:
            worker.kill()

    def run(self, text: str, media_type: str, *, timeout: float, max_bytes: int,
            with_functions: bool = False) -> QueryStream:
        """Start a query; what comes back says its media type and holds its first bytes.

        :raises QueueFull: when ``2 * size + waiting`` queries are running or waiting already.
        :raises QueryTimeout: when it does not finish within ``timeout`` seconds (waiting included).
        """
        self.start()
        deadline = time.monotonic() + timeout
        with self._changed:
            if self._admitted >= self.limit + self.waiting:
                raise QueueFull(f"{self._busy} queries are running and {self._admitted - self._busy} are "
                                "waiting; try again shortly")
            self._admitted += 1
            self._tell_depth()
            while self._fresh >= self.size:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._admitted -= 1
                    self._tell_depth()
                    raise QueryTimeout(f"the query waited {timeout:g} s for a free query process (query timeout)")
                self._changed.wait(remaining)
            self._fresh += 1
            self._busy += 1
            worker = self._idle.pop() if self._idle else None
        if worker is None:
            try:
                worker = self._spawn()
            except QueryCrashed:
                self._release(None, healthy=False, long=False)
                raise
        stream = QueryStream(self, worker, deadline, max_bytes)
        try:
            worker.conn.send((text, media_type, max_bytes, with_functions))
            stream.begin()
        except BaseException:
            stream.abandon()
            raise
        return stream

    def _turned_long(self) -> None:
        with self._changed:
            self._fresh -= 1
            self._changed.notify_all()

    def _tell_depth(self) -> None:
        if self.on_depth is not None:
            self.on_depth(self._admitted)

    def _release(self, worker: _Process | None, *, healthy: bool, long: bool) -> None:
        """A query ended: a healthy process that kept its priority waits for the next query; any
        other is killed (a long one runs niced, and the kernel does not let it be raised again)."""
        with self._changed:
            self._busy -= 1
            self._fresh -= 0 if long else 1
            self._admitted -= 1
            self._tell_depth()
            keep = worker is not None and healthy and not long and len(self._idle) < self.size
            if keep:
                self._idle.append(worker)  # type: ignore[arg-type]
            elif worker is not None:
                self._alive -= 1
            self._changed.notify_all()
        if worker is not None and not keep:
            worker.kill()
            self._keep_warm()


class QueryStream:
    """One running query: ``media_type``, ``head`` (the first bytes) and ``complete``; iterate for the rest."""

    def __init__(self, pool: QueryProcesses, worker: _Process, deadline: float, max_bytes: int) -> None:
        self.pool, self.worker, self.deadline, self.max_bytes = pool, worker, deadline, max_bytes
        self.media_type = ""
        self.head = b""
        self.complete = False
        self.long = False
        self.started = time.monotonic()
        self._open = True

    def _receive(self) -> tuple[str, Any]:
        try:
            while True:
                now = time.monotonic()
                remaining = self.deadline - now
                if remaining <= 0:
                    self._finish(healthy=False)
                    raise QueryTimeout("the query did not finish within the query timeout; it was stopped")
                wait = remaining if self.long else min(remaining, LONG_AFTER_S - (now - self.started))
                if self.worker.conn.poll(max(wait, 0.0)):
                    return self.worker.conn.recv()  # type: ignore[no-any-return]
                if not self.long and time.monotonic() - self.started >= LONG_AFTER_S:
                    self._yield_to_fresh_queries()
        except (EOFError, OSError) as e:
            self._finish(healthy=False)
            raise QueryCrashed("the query crashed its query process (the server is unaffected)") from e

    def _yield_to_fresh_queries(self) -> None:
        """A query running past LONG_AFTER_S runs at a lower priority from then on, so that a quick
        query arriving during a storm of heavy ones still gets a core; its process is replaced after."""
        self.long = True
        self.pool._turned_long()
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, self.worker.process.pid, LONG_NICENESS)

    def begin(self) -> None:
        """Wait for the query to start and fill ``head`` (up to :data:`WHOLE_BYTES`, or the whole result)."""
        _, self.media_type = self._next()  # "start", with the media type (or an error, raised)
        buffered = bytearray()
        while len(buffered) < WHOLE_BYTES:
            kind, value = self._next()
            if kind == "end":
                self.complete = True
                break
            buffered += value
        self.head = bytes(buffered)

    def _next(self) -> tuple[str, Any]:
        kind, value = self._receive()
        if kind == "too_large":
            self._finish(healthy=True)
            raise ResultTooLarge(f"the result is larger than {self.max_bytes:,} bytes; narrow the query or "
                                 "add a LIMIT")
        if kind == "error":
            self._finish(healthy=True)
            raise QueryError(value)
        if kind == "end":
            self._finish(healthy=True)
        return kind, value

    def __iter__(self) -> Iterator[bytes]:
        """The whole body: ``head``, then the rest as it comes. A failure past ``head`` raises, which
        ends the connection without a final chunk."""
        try:
            if self.head:
                yield self.head
            while not self.complete:
                kind, value = self._next()
                if kind == "end":
                    self.complete = True
                else:
                    yield value
        finally:
            self.abandon()

    def abandon(self) -> None:
        """The client went away (or the answer failed) mid-result: the process is replaced."""
        if self._open:
            self._finish(healthy=self.complete)

    def _finish(self, healthy: bool) -> None:
        if self._open:
            self._open = False
            self.pool._release(self.worker, healthy=healthy, long=self.long)


__all__ = ["QueryCrashed", "QueryProcesses", "QueryStream", "QueryTimeout", "QueueFull",
           "ResultTooLarge"]
