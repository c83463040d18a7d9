"""What `kgart demo` sets up: Iconclass and a small sample collection, offline."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from kgart.iconclass import Iconclass
from kgart.rdf import graph_iri
from kgart.triplestore import TripleStore

SAMPLE_GRAPH = "tate-sample"


def sample_path() -> Path:
    """The Tate sample shipped with kgart (CC0; see loaders/samples/README.md)."""
    return Path(str(resources.files("kgart.loaders").joinpath("samples", "tate-sample.jsonl.gz")))


def prepare_demo_store(store: TripleStore, data_dir: str | None = None) -> Iterator[str]:
    """Load what is missing; yields a line for each step."""
    from kgart.loaders import load_collection, load_iconclass  # noqa: PLC0415 (the package imports this module)

    if Iconclass(store).is_loaded:
        yield "Iconclass is already loaded."
    else:
        result = load_iconclass(store, data_dir=data_dir)
        yield f"Loaded Iconclass: {result.report.concepts:,} concepts, {result.triples:,} triples."
    if store.has_graph(graph_iri(SAMPLE_GRAPH)):
        yield "The Tate sample is already loaded."
    else:
        report = load_collection(store, "tate", sample_path(), graph=SAMPLE_GRAPH)
        yield f"Loaded a sample of the Tate collection (CC0): {report.records} artworks, {report.triples:,} triples."
