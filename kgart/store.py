"""The triple store: an embedded Oxigraph, on disk or in memory.

The only module that imports pyoxigraph. Its interface speaks SPARQL and
kgart's own terms (:mod:`kgart.rdf`) so that a remote SPARQL 1.1 endpoint can
stand behind the same methods.

Atomic replacement of a source graph
------------------------------------
Oxigraph moves or deletes quads one by one inside a transaction (minutes for a
million quads), so a staging graph plus ``MOVE`` is no way to swap a source.
On disk the store is therefore a folder of *generations*: a replacement takes
a RocksDB checkpoint of the current generation (hard links, milliseconds),
rewrites the one graph in that copy, and only when it is complete points
``CURRENT`` at the new generation (an atomic file rename). A load that fails,
or a process killed half-way, leaves ``CURRENT`` on the old generation, whose
data was never touched; the half-built copy is removed at the next open.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from kgart.errors import QueryError, StoreError, StoreLockedError
from kgart.oxigraph_adapter import (
    GRAPH_FORMATS,
    PREFIX_MAP,
    RESULT_FORMATS,
    checked_iri,
    from_ox,
    graph_format,
    named_node,
    ox_functions,
    parse_rdf,
    rdf_media_type,
    results_format,
    serialize_ntriples,
    serialize_triples,
    to_quads,
    triple_from_ox,
)
from kgart.query_guard import shallow_enough
from kgart.rdf import IRI, Triple
from kgart.sparql_template import Bindings, fill
from kgart.triplestore import (
    BooleanResult,
    Functions,
    GraphInfo,
    ProgressCallback,
    QueryResult,
    Row,
    SelectResult,
    StoreQueries,
    TriplesResult,
)

_POINTER = "kgart-generation.json"
# A graph asked for in a results format: the RDF format of the same family.
_GRAPH_FOR_RESULTS = {"application/sparql-results+json": "application/ld+json",
                      "application/sparql-results+xml": "application/rdf+xml"}
_BULK_BATCH = 100_000
_GEN_PREFIX = "gen-"
_BESIDE_DATA = ("users.json", "indexes")  # kept in the store folder by kgart.users and the vector indexes


class Store(StoreQueries):
    """A kgart store. ``Store()`` is in memory; ``Store(path)`` persists on disk.

    >>> from kgart.rdf import IRI, Literal
    >>> store = Store()
    >>> store.replace_graph("https://example.org/g", [(IRI("https://example.org/a"),
    ...     IRI("https://example.org/p"), Literal("x", "en"))])
    1
    >>> store.select("SELECT ?o WHERE { GRAPH ?g { ?s ?p ?o } }").rows
    [{'o': Literal(value='x', language='en', datatype=None)}]

    :raises StoreLockedError: when another process has the store open for writing.
    :raises StoreError: when the folder cannot be used as a store.
    """

    def __init__(self, location: str | os.PathLike[str] | None = None, *,
                 read_only: bool = False) -> None:
        self.location = Path(location) if location is not None else None
        self.read_only = read_only
        self._generation = 0
        if self.location is None:
            self._db = ox.Store()
        else:
            self._db = self._open_disk(self.location, read_only)

    # -- opening -----------------------------------------------------------------

    def _open_disk(self, location: Path, read_only: bool) -> ox.Store:
        if location.exists() and not location.is_dir():
            raise StoreError(f"store location {location} is a file, not a folder")
        pointer = location / _POINTER
        if pointer.exists():
            try:
                self._generation = int(json.loads(pointer.read_text())["generation"])
            except (ValueError, KeyError, TypeError, OSError) as e:
                raise StoreError(f"{pointer} is damaged ({e}); it should hold the current "
                                 "generation number") from e
        elif location.exists() and any(p.name not in _BESIDE_DATA for p in location.iterdir()):
            if (location / "CURRENT").exists() or any(location.glob("*.sst")):
                raise StoreError(f"{location} holds a plain Oxigraph database, not a kgart store")
            if not any(location.glob(_GEN_PREFIX + "*")):
                raise StoreError(f"{location} is not empty and is not a kgart store")
        path = self._generation_dir(self._generation)
        if read_only:
            if not path.exists():
                raise StoreError(f"no store at {location}")
            try:
                return ox.Store.read_only(str(path))
            except OSError as e:
                raise StoreError(f"cannot open the store at {location} read-only: {e}") from e
        try:
            location.mkdir(parents=True, exist_ok=True)
            db = ox.Store(str(path))
        except OSError as e:
            if "lock" in str(e).lower():
                raise StoreLockedError(
                    f"the store at {location} is open for writing in another process "
                    "(a running `kgart serve` or load); stop it or go through it") from e
            raise StoreError(f"cannot open the store at {location}: {e}") from e
        if not pointer.exists():
            self._write_pointer(self._generation)
        self._remove_stale_generations()
        return db

    def _generation_dir(self, generation: int) -> Path:
        assert self.location is not None
        return self.location / f"{_GEN_PREFIX}{generation:06d}"

    def _write_pointer(self, generation: int) -> None:
        assert self.location is not None
        fd, tmp = tempfile.mkstemp(dir=self.location, prefix=".pointer-")
        with os.fdopen(fd, "w") as f:
            json.dump({"generation": generation}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.location / _POINTER)

    def _remove_stale_generations(self) -> None:
        """Drop what a failed or killed replacement left behind."""
        assert self.location is not None
        current = self._generation_dir(self._generation).name
        for entry in self.location.iterdir():
            if entry.name.startswith(_GEN_PREFIX) and entry.name != current:
                shutil.rmtree(entry, ignore_errors=True)
            elif entry.name.startswith((".pointer-", ".copy-")):
                entry.unlink(missing_ok=True) if entry.is_file() else shutil.rmtree(entry, True)

    @property
    def index_location(self) -> Path | None:
        """Where derived vector indexes live: beside the data on disk, nowhere (memory) otherwise."""
        return self.location / "indexes" if self.location is not None else None

    def close(self) -> None:
        """Release the store (the write lock on disk)."""
        if getattr(self, "_db", None) is not None:
            if not self.read_only and self.location is not None:
                self._db.flush()
            del self._db
            self._db = None  # type: ignore[assignment]

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.location) if self.location else ':memory:'})"

    # -- reading -----------------------------------------------------------------

    def _query(self, sparql: str, bindings: Bindings | None, functions: Functions | None = None) -> Any:
        text = fill(sparql, bindings) if bindings is not None else shallow_enough(sparql)
        try:
            # The default graph is the union of all graphs, as users of a multi-source
            # store expect; GRAPH <…> still addresses one source.
            return self._db.query(text, prefixes=PREFIX_MAP, use_default_graph_as_union=True,
                                  custom_functions=ox_functions(functions) if functions else None)
        except SyntaxError as e:
            raise QueryError(f"SPARQL syntax error: {e}") from e
        except (ValueError, OSError, RuntimeError) as e:
            raise QueryError(f"SPARQL query failed: {e}") from e

    def query(self, sparql: str, bindings: Bindings | None = None, *,
              functions: Functions | None = None) -> QueryResult:
        """Run any query (``$name`` placeholders filled from ``bindings``); the result says its form.

        :raises QueryError: on a syntax error or a failed evaluation.
        """
        result = self._query(sparql, bindings, functions)
        try:
            if isinstance(result, ox.QueryBoolean):
                return BooleanResult(bool(result))
            if isinstance(result, ox.QueryTriples):
                return TriplesResult([triple_from_ox(t) for t in result])
            variables = [v.value for v in result.variables]
            rows: list[Row] = []
            for solution in result:
                row = Row()
                for name in variables:
                    value = solution[name]
                    if value is not None:
                        row[name] = from_ox(value)
                rows.append(row)
            return SelectResult(variables, rows)
        except (ValueError, OSError, RuntimeError) as e:
            raise QueryError(f"SPARQL query failed: {e}") from e

    def query_serialized(self, sparql: str, media_type: str, functions: Functions | None = None
                         ) -> tuple[str, bytes]:
        """Run any query and serialize its result in ``media_type`` (or the closest fit).

        Returns the media type actually used and the bytes. SELECT/ASK results go
        to a SPARQL results format, CONSTRUCT/DESCRIBE to an RDF format.
        """
        result = self._query(sparql, None, functions)
        try:
            if isinstance(result, ox.QueryTriples):
                media_type = _GRAPH_FOR_RESULTS.get(media_type.split(";")[0], media_type)
                fmt = graph_format(media_type) or ox.RdfFormat.N_TRIPLES
                return fmt.media_type, result.serialize(format=fmt) or b""
            rfmt = results_format(media_type) or ox.QueryResultsFormat.JSON
            return rfmt.media_type, result.serialize(format=rfmt) or b""
        except (ValueError, OSError, RuntimeError) as e:
            raise QueryError(f"SPARQL query failed: {e}") from e

    def has_graph(self, graph: str) -> bool:
        return bool(self._db.contains_named_graph(_graph_node(graph)))

    def triples(self, graph: str) -> Iterator[Triple]:
        """Every triple of one named graph, streamed."""
        for q in self._db.quads_for_pattern(None, None, None, named_node(graph)):
            yield triple_from_ox(q)

    def dump(self, graph: str, media_type: str = "application/n-triples") -> bytes:
        """One graph serialized (N-Triples by default)."""
        fmt = graph_format(media_type)
        if fmt is None:
            raise StoreError(f"unknown RDF media type {media_type!r}")
        return self._db.dump(format=fmt, from_graph=_graph_node(graph)) or b""

    # -- writing -----------------------------------------------------------------

    def _writable(self) -> None:
        if self.read_only:
            raise StoreError("the store is open read-only")

    def update(self, sparql: str, bindings: Bindings | None = None) -> None:
        """Run a SPARQL 1.1 Update in one transaction (``$name`` placeholders filled from ``bindings``)."""
        self._writable()
        text = fill(sparql, bindings) if bindings is not None else shallow_enough(sparql)
        try:
            self._db.update(text, prefixes=PREFIX_MAP)
        except SyntaxError as e:
            raise QueryError(f"SPARQL syntax error: {e}") from e
        except (ValueError, OSError, RuntimeError) as e:
            raise QueryError(f"SPARQL update failed: {e}") from e

    def add_triples(self, graph: str, triples: Iterable[Triple]) -> int:
        """Add a few triples to a graph in one transaction (all or none)."""
        self._writable()
        quads = list(to_quads(triples, _graph_node(graph)))
        try:
            self._db.extend(quads)
        except (ValueError, OSError) as e:
            raise StoreError(f"could not add triples to <{graph}>: {e}") from e
        return len(quads)

    def replace_graph(self, graph: str, triples: Iterable[Triple], *,
                      progress: ProgressCallback | None = None) -> int:
        """Replace a named graph with ``triples``, atomically for readers.

        If iterating ``triples`` raises, or the process dies, the graph keeps its
        previous content. Returns the number of triples written (duplicates
        included; the graph is a set).
        """
        self._writable()
        target = _graph_node(graph)
        quads = _counting(to_quads(triples, target), progress)
        with _gc_paused():
            if self.location is None:
                staged = list(quads)  # consume (and so validate) before touching the graph
                if self._db.contains_named_graph(target):
                    self._db.remove_graph(target)
                self._db.bulk_extend(staged)
                self._db.add_graph(target)
                return len(staged)
            return self._replace_on_disk(target, quads)

    def drop_graph(self, graph: str) -> bool:
        """Remove a named graph; ``False`` when there was none."""
        self._writable()
        target = _graph_node(graph)
        if not self._db.contains_named_graph(target):
            return False
        if self.location is None:
            self._db.remove_graph(target)
        else:
            self._replace_on_disk(target, iter(()), drop=True)
        return True

    def _replace_on_disk(self, target: ox.NamedNode, quads: Iterator[ox.Quad], *,
                         drop: bool = False) -> int:
        assert self.location is not None
        new_gen = self._generation + 1
        new_dir = self._generation_dir(new_gen)
        shutil.rmtree(new_dir, ignore_errors=True)
        old_size = self.count(target.value) if self._db.contains_named_graph(target) else 0
        written = 0
        new_db: ox.Store | None = None
        try:
            self._db.flush()
            if old_size and old_size * 6 > self._size_excluding(target):
                # Deleting quads costs far more than loading them: for a graph that
                # is a large share of the store, copy the *other* graphs instead.
                new_db = ox.Store(str(new_dir))
                self._copy_graphs_except(target, new_db)
            else:
                self._db.backup(str(new_dir))
                new_db = ox.Store(str(new_dir))
                if old_size:
                    new_db.remove_graph(target)
            before = len(new_db) if not drop else 0
            if not drop:
                # In slices: one bulk_extend buffers its whole input before writing it.
                while batch := list(islice(quads, _BULK_BATCH)):
                    new_db.bulk_extend(batch)
                new_db.add_graph(target)
                written = len(new_db) - before
            new_db.flush()
        except BaseException:
            del new_db
            shutil.rmtree(new_dir, ignore_errors=True)
            raise
        self._write_pointer(new_gen)
        old_dir = self._generation_dir(self._generation)
        self._db, self._generation = new_db, new_gen
        shutil.rmtree(old_dir, ignore_errors=True)
        return written

    def _size_excluding(self, target: ox.NamedNode) -> int:
        rows = self.select("SELECT (COUNT(*) AS ?n) WHERE { { ?s ?p ?o } UNION "
                           "{ GRAPH ?g { ?s ?p ?o } FILTER(?g != $graph) } }", {"graph": IRI(target.value)}).rows
        return rows[0].int("n")

    def _copy_graphs_except(self, target: ox.NamedNode, new_db: ox.Store) -> None:
        assert self.location is not None
        with tempfile.TemporaryDirectory(dir=self.location, prefix=".copy-") as tmp:
            dump = Path(tmp) / "graph.nt"
            graphs: list[ox.NamedNode | ox.BlankNode | ox.DefaultGraph] = [ox.DefaultGraph()]
            graphs += [g for g in self._db.named_graphs() if g != target]
            for g in graphs:
                self._db.dump(dump, format=ox.RdfFormat.N_TRIPLES, from_graph=g)
                new_db.bulk_load(path=dump, format=ox.RdfFormat.N_TRIPLES, to_graph=g)
                if not isinstance(g, ox.DefaultGraph):
                    new_db.add_graph(g)


def _graph_node(graph: str) -> ox.NamedNode:
    """A graph name as Oxigraph's node; :class:`InvalidTermError` (a 4xx) when it is no IRI."""
    return named_node(checked_iri(graph))


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Millions of short-lived term objects make the cyclic GC run constantly;
    none of them form cycles, so pausing it halves the time of a large load."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _counting(quads: Iterator[ox.Quad], progress: ProgressCallback | None,
              every: int = 10_000) -> Iterator[ox.Quad]:
    if progress is None:
        yield from quads
        return
    pending = 0
    for q in quads:
        yield q
        pending += 1
        if pending == every:
            progress(pending)
            pending = 0
    if pending:
        progress(pending)


__all__ = ["GRAPH_FORMATS", "RESULT_FORMATS", "GraphInfo", "SelectResult", "Store", "parse_rdf", "rdf_media_type",
           "serialize_ntriples", "serialize_triples"]
