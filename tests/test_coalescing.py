"""Coalesced calls: threads that ask at the same time share one batched call."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from kgart.coalescing import Coalesced


def test_a_lone_call_runs_at_once_as_a_batch_of_one() -> None:
    batches: list[list[int]] = []
    double = Coalesced(lambda items: batches.append(list(items)) or [2 * i for i in items])
    assert double(21) == 42
    assert batches == [[21]]


def test_calls_made_while_one_runs_go_together_and_each_gets_its_own_result() -> None:
    batches: list[list[int]] = []
    first_started = threading.Event()

    def slow_square(items: list[int]) -> list[int]:
        batches.append(list(items))
        first_started.set()
        time.sleep(0.2)  # the others arrive while this batch runs
        return [i * i for i in items]

    square = Coalesced(slow_square, max_batch=4)
    results: dict[int, int] = {}

    def ask(i: int) -> None:
        results[i] = square(i)

    first = threading.Thread(target=ask, args=(0,))
    first.start()
    first_started.wait(5)
    others = [threading.Thread(target=ask, args=(i,)) for i in range(1, 7)]
    for t in others:
        t.start()
    time.sleep(0.05)
    for t in [first, *others]:
        t.join(10)
    assert results == {i: i * i for i in range(7)}
    assert batches[0] == [0]
    assert sorted(i for batch in batches[1:] for i in batch) == list(range(1, 7))
    assert max(len(b) for b in batches) <= 4 and len(batches) <= 3  # 6 waiting: batches of 4 and 2


def test_an_error_in_a_batch_is_raised_in_each_of_its_calls_and_later_calls_work() -> None:
    def picky(items: list[int]) -> list[int]:
        if any(i < 0 for i in items):
            raise ValueError("negative")
        return items

    call = Coalesced(picky)
    with pytest.raises(ValueError, match="negative"):
        call(-1)
    assert call(3) == 3


def test_many_threads_get_exactly_the_products_of_their_own_vectors() -> None:
    from kgart.retrieval import _similarities

    rng = np.random.default_rng(7)
    matrix = rng.standard_normal((500, 16)).astype(np.float32)
    vectors = rng.standard_normal((40, 16)).astype(np.float32)
    product = Coalesced(lambda vs: _similarities(matrix, vs))
    results: dict[int, np.ndarray] = {}
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, product(vectors[i]))) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    for i in range(40):
        np.testing.assert_allclose(results[i], matrix @ vectors[i], rtol=1e-5, atol=1e-5)
