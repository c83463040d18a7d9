"""Loaders: one module per source, each turning its input into triples for one named graph.

The library entry points (``load_iconclass`` and friends) are what the CLI and
notebooks call; they write through :class:`kgart.store.Store` only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from kgart.loaders.iconclass import IconclassLoadReport, IconclassSource, iconclass_triples

from kgart.rdf import graph_iri
from kgart.store import Store

__all__ = ["IconclassLoadResult", "load_iconclass"]


@dataclass
class IconclassLoadResult:
    graph: str
    source: str
    triples: int
    report: IconclassLoadReport


def load_iconclass(store: Store, *, data_dir: str | Path | None = None,
                   languages: Iterable[str] | None = None,
                   progress: Callable[[int], None] | None = None) -> IconclassLoadResult:
    """Replace the Iconclass graph with the data of the ``iconclass`` package or a
    checkout of iconclass/data (``data_dir``), atomically.

    :raises DataSourceError: when the data cannot be read; the graph is then unchanged.
    """
    source = (IconclassSource.from_directory(data_dir) if data_dir is not None
              else IconclassSource.from_package())
    report = IconclassLoadReport()
    graph = graph_iri("iconclass")
    count = store.replace_graph(graph, iconclass_triples(source, languages, report),
                                progress=progress)
    return IconclassLoadResult(graph, source.name, count, report)
