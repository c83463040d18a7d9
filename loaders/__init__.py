"""Loaders: one module per source, each turning its input into triples for one named graph.

The library entry points (``load_iconclass``, ``load_collection``) are what the
CLI and notebooks call; they write through :class:`kgart.store.Store` only, and
every load replaces its graph atomically.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from kgart.loaders.collection import LoadReport, run_loader
from kgart.loaders.iconclass import PARALLEL_FROM_BYTES, IconclassLoadReport, IconclassTriples

from kgart.errors import DataSourceError
from kgart.rdf import graph_iri
from kgart.store import Store
from kgart.triplestore import TripleStore

__all__ = ["LOADERS", "IconclassLoadResult", "LoadReport", "load_collection", "load_iconclass"]

# name -> (module, class): imported only when used.
LOADERS: dict[str, tuple[str, str]] = {
    "rkd": ("kgart.loaders.rkd", "RkdLoader"),
    "artuk": ("kgart.loaders.generic", "ArtUkLoader"),
    "artpedia": ("kgart.loaders.artpedia", "ArtpediaLoader"),
    "linkedart": ("kgart.loaders.linkedart", "LinkedArtLoader"),
    "tate": ("kgart.loaders.tate", "TateLoader"),
    "csv": ("kgart.loaders.generic", "GenericLoader"),
    "rdf": ("kgart.loaders.rdf", "RdfLoader"),
    "skos": ("kgart.loaders.skos", "SkosLoader"),
}


@dataclass
class IconclassLoadResult:
    graph: str
    source: str
    triples: int
    report: IconclassLoadReport


def load_iconclass(store: TripleStore, *, data_dir: str | Path | None = None,
                   languages: Iterable[str] | None = None,
                   progress: Callable[[int], None] | None = None) -> IconclassLoadResult:
    """Replace the Iconclass graph with the data of the ``iconclass`` package or a
    checkout of iconclass/data (``data_dir``), atomically.

    :raises DataSourceError: when the data cannot be read; the graph is then unchanged.
    """
    made = IconclassTriples(str(data_dir) if data_dir is not None else None,
                            list(languages) if languages is not None else None)
    source = made.source()  # read here first: a missing or broken folder fails before any process starts
    graph = graph_iri("iconclass")
    if isinstance(store, Store):
        count, report = store.replace_graph_from(graph, made, progress=progress,
                                                 in_process=source.size < PARALLEL_FROM_BYTES)
    else:
        count, report = store.replace_graph_from(graph, made, progress=progress)
    assert isinstance(report, IconclassLoadReport)
    return IconclassLoadResult(graph, source.name, count, report)


def load_collection(store: TripleStore, kind: str, path: str | Path, *, graph: str | None = None,
                    mapping: str | Path | None = None, strict: bool = False,
                    progress: Callable[[int], None] | None = None) -> LoadReport:
    """Load a collection of one ``kind`` (see ``LOADERS``) into its graph, atomically.

    ``graph`` defaults to the kind's name; ``mapping`` is a TOML column mapping
    (csv, artuk); ``strict`` stops at the first bad record instead of skipping it.

    :raises DataSourceError: for unreadable input; the graph is then unchanged.
    """
    if kind not in LOADERS:
        raise DataSourceError(f"unknown source kind {kind!r}; known: {', '.join(LOADERS)}")
    source_path = Path(path)
    if not source_path.exists():
        raise DataSourceError("no such file or folder", path=str(source_path))
    module_name, class_name = LOADERS[kind]
    loader_class = getattr(importlib.import_module(module_name), class_name)
    report = LoadReport(source=f"{kind} {source_path}", graph=graph_iri(graph or kind))
    kwargs = {"mapping": Path(mapping)} if mapping is not None else {}
    if mapping is not None and not getattr(loader_class, "takes_mapping", False):
        raise DataSourceError(f"--mapping does not apply to {kind}")
    loader = loader_class(source_path, store, report, **kwargs)
    from kgart.loaders.ontology import ensure_ontology

    ensure_ontology(store)
    return run_loader(store, loader, report, strict=strict, progress=progress)
