"""Benchmark: load the full Iconclass into a fresh on-disk store, against pyoxigraph's bulk loader and rdflib.

Prints, from one run: kgart's load time and triples/s; pyoxigraph's own bulk
loader writing the same triples (N-Triples dumped from the store) to a fresh
on-disk store, and the ratio (the target is at most 1.3x); rdflib parsing them;
and the time of a SPARQL query for all descendants of 73D with English labels.

    python bench/load_iconclass.py [--data-dir ../shared/data/iconclass-data] [--rounds 3] [--repeat 5]

Without --data-dir it uses ../shared/data/iconclass-data when present, else the
iconclass package's data.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox
import rdflib
from kgart.loaders import load_iconclass

from kgart.rdf import graph_iri, sparql_prefixes
from kgart.store import Store

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "iconclass-data"
DESCENDANTS = sparql_prefixes("skos", "ic") + """
SELECT ?c ?label WHERE {
  ?c skos:broader+ ic:73D ; skos:prefLabel ?label .
  FILTER(lang(?label) = "en")
}"""


def timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=SHARED if SHARED.exists() else None)
    parser.add_argument("--repeat", type=int, default=5, help="query repetitions (median reported)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="load rounds, each timing kgart and the bulk loader back to back (medians reported)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="kgart-bench-") as tmp:
        loads, bulks = [], []
        for round_ in range(1, args.rounds + 1):
            # Each round times both sides back to back: this machine's speed drifts within minutes.
            shutil.rmtree(Path(tmp) / "store", ignore_errors=True)
            store = Store(Path(tmp) / "store")
            start = time.perf_counter()
            result = load_iconclass(store, data_dir=args.data_dir)
            loads.append(time.perf_counter() - start)
            triples = store.count(result.graph)
            dump = Path(tmp) / "iconclass.nt"
            if round_ == 1:
                print(f"source: {result.source}")
                dump.write_bytes(store.dump(graph_iri("iconclass")))
            shutil.rmtree(Path(tmp) / "bulk", ignore_errors=True)
            bulk = ox.Store(str(Path(tmp) / "bulk"))
            start = time.perf_counter()
            bulk.bulk_load(path=dump, format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(graph_iri("iconclass")))
            bulk.flush()
            bulks.append(time.perf_counter() - start)
            quads = len(bulk)
            del bulk
            if round_ < args.rounds:
                store.close()
            print(f"round {round_}: kgart load {loads[-1]:6.2f} s, bulk_load {bulks[-1]:6.2f} s, "
                  f"ratio {loads[-1] / bulks[-1]:.2f}x")
        load_s, bulk_s = statistics.median(loads), statistics.median(bulks)
        ratio = statistics.median(a / b for a, b in zip(loads, bulks, strict=True))
        print(f"kgart load (parse files + write on-disk store): {load_s:7.2f} s  "
              f"{triples:,} triples  {triples / load_s:,.0f} triples/s  (median of {args.rounds})")
        print(f"pyoxigraph bulk_load of the same triples (N-Triples file, fresh on-disk store): {bulk_s:7.2f} s  "
              f"{quads:,} quads  (median of {args.rounds})")
        print(f"kgart load / bulk loader: {ratio:.2f}x, median of the rounds' ratios (target <= 1.3x)")
        graph = rdflib.Graph()
        start = time.perf_counter()
        graph.parse(dump, format="nt")
        rdflib_s = time.perf_counter() - start
        print(f"rdflib parse of the same triples (N-Triples, in memory): {rdflib_s:7.2f} s  "
              f"{len(graph):,} triples  {len(graph) / rdflib_s:,.0f} triples/s")
        print(f"load speed-up over rdflib parse: {rdflib_s / load_s:.1f}x")

        kg_q, kg_rows = timed(lambda: store.select(DESCENDANTS).rows, args.repeat)
        rdf_q, rdf_rows = timed(lambda: list(graph.query(DESCENDANTS)), args.repeat)
        print(f"descendants of 73D with English labels: kgart {kg_q * 1000:8.2f} ms "
              f"({len(kg_rows)} rows), rdflib {rdf_q * 1000:8.2f} ms ({len(rdf_rows)} rows), "
              f"speed-up {rdf_q / kg_q:.0f}x  (median of {args.repeat})")
        store.close()


if __name__ == "__main__":
    main()
