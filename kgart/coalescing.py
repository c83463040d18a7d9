"""One batched call for the single calls that threads make at the same time.

A server worker answers several searches at once, and each needs one row of the same
matrix product (a 40,000 × 384 matrix times its query vector) and one short text
encoded. Together they cost far less than one by one: on one core the product took
5.9 ms for one vector and 11.2 ms for eight (it is bound by reading the matrix from
memory), the MiniLM encoder 5.6 ms for one query and 18 ms for eight. So the calls that
arrive while one runs wait for it and then go as one batch; a call that finds nothing
running starts at once (no timer: a lone request never waits).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

X = TypeVar("X")
Y = TypeVar("Y")


@dataclass
class _Call(Generic[X, Y]):
    item: X
    woken: threading.Event = field(default_factory=threading.Event)
    leads: bool = False  # this caller runs the next batch
    done: bool = False
    result: Y | None = None
    error: BaseException | None = None


class Coalesced(Generic[X, Y]):
    """``batch`` (inputs → one output each, in order) called as ``coalesced(item) -> output``.

    At most one batch runs at a time; the caller whose call is first in line runs it, with
    up to ``max_batch`` calls that are waiting, and hands the next batch to the first of the
    others still waiting. An exception in a batch is raised in every call of that batch.
    """

    def __init__(self, batch: Callable[[list[X]], Sequence[Y]], max_batch: int = 16) -> None:
        self._batch = batch
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._waiting: list[_Call[X, Y]] = []
        self._running = False

    def __call__(self, item: X) -> Y:
        call: _Call[X, Y] = _Call(item)
        with self._lock:
            self._waiting.append(call)
            if not self._running:
                self._running = call.leads = True
        if not call.leads:
            call.woken.wait()
        if not call.done:
            self._run_batch()
        if call.error is not None:
            raise call.error
        return call.result  # type: ignore[return-value]

    def _run_batch(self) -> None:
        with self._lock:
            calls = self._waiting[:self.max_batch]
            del self._waiting[:self.max_batch]
        try:
            results = self._batch([c.item for c in calls])
            if len(results) != len(calls):
                raise RuntimeError(f"a batch of {len(calls)} gave {len(results)} results")
            for c, result in zip(calls, results, strict=True):
                c.result = result
        except BaseException as e:  # noqa: BLE001 - each caller raises it
            for c in calls:
                c.error = e
        for c in calls:
            c.done = True
            c.woken.set()
        with self._lock:
            if self._waiting:
                self._waiting[0].leads = True
                self._waiting[0].woken.set()
            else:
                self._running = False
