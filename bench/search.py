"""Benchmark: end-to-end search latency, with a plain brute-force baseline in the same run.

For a set of text queries: encode the query and return the top 10 (a) Iconclass
concepts over all of Iconclass with the configured hierarchy blend, and (b)
artworks over the 67k Tate artworks; against (c) plain numpy brute force over the
same vectors (encoding included, no blending). Prints p50/p95 in milliseconds.

Needs a store with Iconclass, the Tate collection and their vectors:

    kgart --store S load iconclass && kgart --store S load tate …/artworks-original.jsonl.gz
    kgart --store S embed --kind iconclass --kind artwork
    python bench/search.py --store S
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
from kgart.embeddings.service import open_retriever

from kgart.retrieval import Query
from kgart.store import Store

QUERIES = ["a ship in a storm", "the crucifixion", "portrait of a woman with a fan", "still life with fruit",
           "Saint Jerome in his study", "landscape with cows", "the annunciation", "a battle at sea",
           "children playing", "Venus and Adonis", "winter landscape with skaters", "the last supper",
           "allegory of smell", "a dog", "river with boats", "a man reading a letter"]


def timed(fn: Callable[[str], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        for q in QUERIES:
            start = time.perf_counter()
            fn(q)
            times.append((time.perf_counter() - start) * 1000)
    return times


def report(name: str, times: list[float]) -> None:
    print(f"{name:<58} p50 {statistics.median(times):7.2f} ms   p95 {np.percentile(times, 95):7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    store = Store(args.store, read_only=True)
    retriever = open_retriever(store)
    concepts = retriever.index("iconclass")
    artworks = retriever.index("artwork")
    print(f"{len(concepts.iris):,} concept vectors, {len(artworks.iris):,} artwork vectors, "
          f"{len(QUERIES)} queries x {args.repeat}")
    encoder = retriever.encoder
    c_matrix, a_matrix = np.asarray(concepts.matrix), np.asarray(artworks.matrix)
    for q in QUERIES[:2]:  # warm up: model, indexes, keyword index, tree arrays
        retriever.search_concepts(Query(text=q), k=10)
        retriever.search_items(Query(text=q), "artwork", k=10)

    def brute(matrix: np.ndarray) -> Callable[[str], object]:
        def run(q: str) -> object:
            v = encoder.encode_texts([q])[0]
            scores = matrix @ v
            top = np.argpartition(-scores, 10)[:10]
            return top[np.argsort(-scores[top])]
        return run

    report("encode only (MiniLM, ONNX Runtime)", timed(lambda q: encoder.encode_texts([q]), args.repeat))
    report("baseline: brute force, top-10 concepts (numpy)", timed(brute(c_matrix), args.repeat))
    report("kgart: top-10 concepts, the full blend (kgart/blend.toml)",
           timed(lambda q: retriever.search_concepts(Query(text=q), k=10, labels=False), args.repeat))
    report("kgart: same, with labels", timed(lambda q: retriever.search_concepts(Query(text=q), k=10), args.repeat))
    report("baseline: brute force, top-10 Tate artworks (numpy)", timed(brute(a_matrix), args.repeat))
    report("kgart: top-10 artworks, vector + keywords",
           timed(lambda q: retriever.search_items(Query(text=q), "artwork", k=10), args.repeat))


if __name__ == "__main__":
    main()
