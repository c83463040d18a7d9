"""Benchmark: the embedded store against a real `oxigraph serve` behind SPARQL 1.1, in one run.

Prints the Iconclass load time (from the iconclass package; ``--languages`` to
narrow) into each, the time to load the same release again, the ratios, and
the latency (p50/p95) of a hierarchy query (all descendants of 73D with English
labels) against each. The remote store runs at its default settings.

    python bench/remote_store.py [--languages en] [--repeat 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from kgart.loaders import load_iconclass

from kgart.remote_store import RemoteStore
from kgart.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.oxigraph_server import OxigraphServer  # noqa: E402

QUERY = """SELECT ?c ?label WHERE { ?c skos:broader+ ic:73D ; skos:prefLabel ?label .
  FILTER(lang(?label) = "en") }"""


def measure(name: str, store: Store | RemoteStore, languages: list[str] | None, repeat: int
            ) -> tuple[float, float]:
    start = time.perf_counter()
    result = load_iconclass(store, languages=languages)  # type: ignore[arg-type]
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    load_iconclass(store, languages=languages)  # type: ignore[arg-type]
    reload_s = time.perf_counter() - start
    store.select(QUERY)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        rows = store.select(QUERY)
        times.append(time.perf_counter() - t)
    print(f"{name:<34} load {load_s:7.2f} s ({result.triples:,} triples, {result.triples / load_s:,.0f}/s); "
          f"descendants of 73D ({len(rows)} rows): p50 {statistics.median(times) * 1000:6.1f} ms, "
          f"p95 {np.percentile(times, 95) * 1000:6.1f} ms; the same release again {reload_s:7.2f} s")
    return load_s, reload_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--languages", help="comma-separated label languages (default: all in the package)")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    languages = args.languages.split(",") if args.languages else None
    with tempfile.TemporaryDirectory(prefix="kgart-bench-") as tmp:
        embedded = measure("embedded (Oxigraph, on disk)", Store(Path(tmp) / "store"), languages, args.repeat)
        server = OxigraphServer(Path(tmp) / "server").start()
        try:  # the remote store at its default settings (timeout 60 s)
            remote = measure("remote (oxigraph serve, loopback)",
                             RemoteStore(server.url, index_location=Path(tmp) / "ix"), languages, args.repeat)
        finally:
            server.stop()
        print(f"remote / embedded: first load {remote[0] / embedded[0]:.2f}x (target <= 3x), "
              f"reload {remote[1] / embedded[1]:.2f}x")


if __name__ == "__main__":
    main()
