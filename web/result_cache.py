"""Whole SPARQL results, and nodes' RDF representations, kept for the next identical request.

Oxigraph evaluates and serializes a query afresh each time: a hierarchy query with a few
hundred rows costs about 25 ms of a core however often it is asked, and SPARQL clients
(dashboards, the editor's examples, linked-data browsers and crawlers) ask the same queries
and the same nodes again and again. A result is kept under the request's HTTP validator
(:mod:`kgart.web.caching`: the store's published generation, the path and query string,
``Accept``, the signed-in user),
so a load, an update, an annotation or a new embedding makes every kept result unreachable
at once, and the least recently used go when the cache passes its byte budget. Queries
whose answer is not fixed by the store are never kept: random values, the time, fresh
identifiers or blank nodes, federated ``SERVICE`` calls (and kgart's similarity functions,
which the endpoint leaves out: they read vectors beside the store).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict

_UNFIXED = re.compile(r"\b(RAND|NOW|UUID|STRUUID|BNODE|SERVICE)\b", re.IGNORECASE)


def cacheable(query: str) -> bool:
    """Whether the query's answer is fixed by the store's data (conservatively: a word like
    NOW anywhere in it, even inside a literal, keeps it out)."""
    return _UNFIXED.search(query) is None


class ResultCache:
    """A byte-bounded LRU map from a request's validator to (media type, body)."""

    def __init__(self, max_bytes: int, max_entry_bytes: int = 256 * 1024) -> None:
        self.max_bytes, self.max_entry_bytes = max_bytes, max_entry_bytes
        self._entries: OrderedDict[str, tuple[str, bytes]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[str, bytes] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: str, media_type: str, body: bytes) -> None:
        size = len(body) + len(key)
        if size > min(self.max_entry_bytes, self.max_bytes):
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old[1]) + len(key)
            self._entries[key] = (media_type, body)
            self._bytes += size
            while self._bytes > self.max_bytes:
                dropped, (_, value) = self._entries.popitem(last=False)
                self._bytes -= len(value) + len(dropped)


__all__ = ["ResultCache", "cacheable"]
