"""The loop of a query process (see :mod:`kgart.web.query_processes`): one SPARQL query at a
time over the store, opened read-only, the result streamed back over a pipe in chunks.

Kept apart from the web layer so that a query process imports only the store (about 25 MB);
the similarity functions, which need vectors and an encoder, load on the first query that
calls them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from kgart.errors import QueryError

CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class FunctionsSpec:
    """Where a query process finds kgart's similarity functions: ``module:function`` called with
    the store and ``arguments`` (looked up by name, so the process imports it only when needed)."""

    factory: str
    arguments: tuple[Any, ...] = ()


class _TooLarge(Exception):
    pass


class _PipeWriter:
    """A file-like sink for Oxigraph's serializer: chunks to the parent, a byte cap."""

    def __init__(self, conn: Connection, max_bytes: int) -> None:
        self.conn, self.max_bytes = conn, max_bytes
        self.buffer = bytearray()
        self.total = 0

    def write(self, data: bytes) -> int:
        self.total += len(data)
        if self.total > self.max_bytes:
            raise _TooLarge
        self.buffer += data
        if len(self.buffer) >= CHUNK_BYTES:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self.buffer:
            self.conn.send(("chunk", bytes(self.buffer)))
            self.buffer.clear()


def _lazy_functions(store: Any, spec: FunctionsSpec) -> Callable[[], dict[str, Any]]:
    cached: dict[str, dict[str, Any]] = {}

    def functions() -> dict[str, Any]:
        if "f" not in cached:
            module, name = spec.factory.split(":")
            cached["f"] = getattr(importlib.import_module(module), name)(store, *spec.arguments)
        return cached["f"]

    return functions


def serve_queries(conn: Connection, location: str, spec: FunctionsSpec | None) -> None:
    """Answer queries until the pipe closes. Messages back: ``ready``; per query ``start`` (the
    media type), ``chunk``s, then ``end``, ``too_large`` or ``error``."""
    from kgart.store import Store

    store = Store(location, read_only=True)
    functions = _lazy_functions(store, spec) if spec is not None else None
    conn.send(("ready", None))
    while True:
        try:
            text, media_type, max_bytes, with_functions = conn.recv()
        except (EOFError, OSError):
            return
        sink = _PipeWriter(conn, max_bytes)
        try:
            used, write = store.prepare_serialized(text, media_type,
                                                   functions() if with_functions and functions else None)
            conn.send(("start", used))
            write(sink)  # type: ignore[arg-type]  # a file-like sink: write() is all Oxigraph calls
            sink.flush()
            conn.send(("end", sink.total))
        except _TooLarge:
            conn.send(("too_large", max_bytes))
        except QueryError as e:
            conn.send(("error", str(e)))


__all__ = ["CHUNK_BYTES", "FunctionsSpec", "serve_queries"]
