"""The triple store: an embedded Oxigraph, on disk or in memory.

The only module that imports pyoxigraph. Its interface speaks SPARQL and
kgart's own terms (:mod:`kgart.rdf`) so that a remote SPARQL 1.1 endpoint can
stand behind the same methods.

Published generations: one writer, any number of reading processes
-------------------------------------------------------------------
RocksDB lets one process write a database, and a process reading a folder that
another one writes is undefined behaviour. On disk the store is therefore a
folder of *published generations* that nobody ever writes into:

* The writer (one at a time, a ``flock`` on ``.writer.lock``) works in a private
  copy (``.work-…``, a RocksDB checkpoint: hard links, milliseconds). After each
  write (an update, a load, an annotation) it checkpoints that copy as the next
  generation ``gen-N`` and points ``kgart-generation.json`` at it (an atomic
  rename): readers see the whole write or none of it.
* Readers (``read_only=True``; server workers, ``shared=True``) open the current
  generation read-only and follow the pointer: each query first checks it (one
  ``stat``), so a write is visible to every process at its next query.
* A reader holds a shared ``flock`` on ``gen-N.readers`` while it may use that
  generation; the writer removes a superseded generation only when nobody does.
* A server worker writes by becoming the writer for that one write (waiting up
  to ``writer_wait`` seconds while, say, ``kgart load`` holds the lock).

A load that fails, or a process killed half-way, never touched a published
generation: the half-written private copy is dropped at the next writer's start.
Replacing a graph that is most of the store copies the *other* graphs into a
fresh copy instead (Oxigraph deletes quads one by one: minutes for a million).
"""

from __future__ import annotations

import fcntl
import gc
import io
import json
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import IO, Any, BinaryIO

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
    nquads_chunks,
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
    StoreVersion,
    TripleSource,
    TriplesResult,
)

_POINTER = "kgart-generation.json"
_WRITER_LOCK = ".writer.lock"
_WORK_PREFIX = ".work-"
# A graph asked for in a results format: the RDF format of the same family.
_GRAPH_FOR_RESULTS = {"application/sparql-results+json": "application/ld+json",
                      "application/sparql-results+xml": "application/rdf+xml"}
_BULK_BATCH = 100_000
_GEN_PREFIX = "gen-"
_READERS_SUFFIX = ".readers"
# Kept in the store folder beside the data: users, vector indexes, trained models, the writer lock.
_BESIDE_DATA = ("users.json", "indexes", "models", _WRITER_LOCK)


class Store(StoreQueries):
    """A kgart store. ``Store()`` is in memory; ``Store(path)`` persists on disk.

    ``Store(path)`` is the one writer (a command); ``read_only=True`` reads and follows
    what the writer publishes; ``shared=True`` reads the same way and writes by taking
    the writer's lock for each write (the server's workers).

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
                 read_only: bool = False, shared: bool = False, writer_wait: float = 10.0) -> None:
        self.location = Path(location) if location is not None else None
        self.read_only = read_only and not shared
        self.shared = shared and self.location is not None
        self.writer_wait = writer_wait
        self._generation = 0
        self._writes = 0  # in memory: the version
        self._batch_depth = 0
        self._graphs_seen: tuple[str, list[GraphInfo]] | None = None
        self._changed_at = time.time()
        self._pointer_seen: tuple[int, int] | None = None
        self._reader_locks: list[tuple[int, IO[str]]] = []  # generations this process may still read
        self._writer_lock: IO[str] | None = None
        self._work: Path | None = None  # the writer's private copy, and its database:
        self._work_db: ox.Store | None = None  # for a command it is also what reads see
        self._following = threading.Lock()
        self._writing = threading.RLock()
        if self.location is None:
            self._db = self._work_db = ox.Store()
        else:
            self._db = self._open_disk(self.location)

    # -- opening -----------------------------------------------------------------

    def version(self) -> StoreVersion:
        """On disk the published generation (and when it was published); in memory a write count."""
        if self.location is None:
            return StoreVersion(f"m{self._writes}", self._changed_at)
        generation = self.generation
        try:
            changed = os.stat(self.location / _POINTER).st_mtime
        except OSError:
            changed = self._changed_at
        return StoreVersion(f"g{generation}", changed)

    @property
    def generation(self) -> int:
        """The published generation this store reads: it changes with every write (an HTTP validator)."""
        if self.location is not None and self._work is None:
            self._follow()
        return self._generation

    def _open_disk(self, location: Path) -> ox.Store:
        if location.exists() and not location.is_dir():
            raise StoreError(f"store location {location} is a file, not a folder")
        pointer = location / _POINTER
        if not pointer.exists() and location.exists() and any(p.name not in _BESIDE_DATA
                                                              for p in location.iterdir()):
            if (location / "CURRENT").exists() or any(location.glob("*.sst")):
                raise StoreError(f"{location} holds a plain Oxigraph database, not a kgart store")
            if not any(location.glob(_GEN_PREFIX + "*")):
                raise StoreError(f"{location} is not empty and is not a kgart store")
        if self.read_only or self.shared:
            if not pointer.exists():
                if self.read_only:
                    raise StoreError(f"no store at {location}")
                with self._writer(wait=self.writer_wait):
                    pass  # creates the empty store
            return self._open_published()
        self._writer_lock = self._take_writer_lock(wait=0.0)
        try:
            self._init_and_clean()
            return self._start_work()  # a command reads what it wrote
        except BaseException:
            self._release_writer_lock()
            raise

    def _read_pointer(self) -> int:
        assert self.location is not None
        pointer = self.location / _POINTER
        try:
            return int(json.loads(pointer.read_text())["generation"])
        except (ValueError, KeyError, TypeError, OSError) as e:
            raise StoreError(f"{pointer} is damaged ({e}); it should hold the current "
                             "generation number") from e

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

    # -- the writer's lock and private copy -----------------------------------------

    def _take_writer_lock(self, wait: float) -> IO[str]:
        assert self.location is not None
        try:
            self.location.mkdir(parents=True, exist_ok=True)
            handle = open(self.location / _WRITER_LOCK, "a+")  # noqa: SIM115 - held for as long as we write
        except OSError as e:
            raise StoreError(f"cannot open the store at {self.location}: {e}") from e
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return handle
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.close()
                    raise StoreLockedError(
                        f"the store at {self.location} is open for writing in another process "
                        "(a running load, or a command holding it); stop it or go through it") from None
                time.sleep(0.05)

    def _release_writer_lock(self) -> None:
        if self._writer_lock is not None:
            self._writer_lock.close()  # closing releases the flock
            self._writer_lock = None

    def _init_and_clean(self) -> None:
        """Under the writer's lock: a new store gets an empty generation 0; what a killed writer
        left (its private copy, an unpublished generation) and unread old generations go."""
        assert self.location is not None
        if not (self.location / _POINTER).exists():
            empty = ox.Store(str(self._generation_dir(0)))
            empty.flush()
            del empty
            self._write_pointer(0)
        self._generation = self._read_pointer()
        for entry in self.location.iterdir():
            if entry.name.startswith((_WORK_PREFIX, ".copy-")):
                shutil.rmtree(entry, ignore_errors=True)
            elif entry.name.startswith(".pointer-"):
                entry.unlink(missing_ok=True)
        self._remove_unread_generations()

    def _remove_unread_generations(self) -> None:
        """Every generation but the current one that no process holds open for reading."""
        assert self.location is not None
        current = self._generation_dir(self._generation).name
        for entry in self.location.iterdir():
            if not entry.name.startswith(_GEN_PREFIX) or entry.name.startswith(current):
                continue
            if entry.name.endswith(_READERS_SUFFIX):
                if not (self.location / entry.name[:-len(_READERS_SUFFIX)]).exists():
                    entry.unlink(missing_ok=True)
                continue
            readers = self.location / (entry.name + _READERS_SUFFIX)
            with open(readers, "a+") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a process still reads it: removed by a later write
                shutil.rmtree(entry, ignore_errors=True)
                readers.unlink(missing_ok=True)

    def _start_work(self) -> ox.Store:
        """A private copy of the current generation to write in."""
        assert self.location is not None
        work = self.location / f"{_WORK_PREFIX}{uuid.uuid4().hex[:12]}"
        try:
            published = ox.Store.read_only(str(self._generation_dir(self._generation)))
            published.backup(str(work))
            del published
            db = ox.Store(str(work))
        except OSError as e:
            shutil.rmtree(work, ignore_errors=True)
            raise StoreError(f"cannot open the store at {self.location} for writing: {e}") from e
        self._work, self._work_db = work, db
        return db

    def _drop_work(self) -> None:
        if self._work is not None:
            if self._db is self._work_db:
                self._db = None  # type: ignore[assignment]
            self._work_db = None
            gc.collect()
            shutil.rmtree(self._work, ignore_errors=True)
            self._work = None

    def _publish(self) -> None:
        """The private copy becomes the next generation, which readers switch to."""
        assert self.location is not None
        new_gen = self._generation + 1
        target = self._generation_dir(new_gen)
        shutil.rmtree(target, ignore_errors=True)
        assert self._work_db is not None
        self._work_db.backup(str(target))  # a RocksDB checkpoint: consistent, with what is not flushed yet
        self._write_pointer(new_gen)
        self._generation = new_gen
        self._remove_unread_generations()

    @contextmanager
    def batched(self) -> Iterator[None]:
        """Several writes as one: published together at the end (a job writing many small batches
        pays one checkpoint, not one per batch); if the block fails, none of them is."""
        with self._writer(self.writer_wait):
            self._batch_depth += 1
            try:
                yield
            finally:
                self._batch_depth -= 1

    @contextmanager
    def _writer(self, wait: float = 0.0) -> Iterator[None]:
        """One write: published when it succeeds; when it fails, no reader ever sees any of it."""
        if self.read_only:
            raise StoreError("the store is open read-only")
        with self._writing:  # one thread writes at a time; a batch holds it throughout
            if self._batch_depth:
                yield  # inside batched(): published when the batch ends
                if self.location is None:
                    self._changed()
                return
            if self.location is None:
                yield
                self._changed()
                return
            if not self.shared:
                try:
                    yield
                except BaseException:
                    self._drop_work()  # the copy may hold half a write
                    self._db = self._start_work()
                    raise
                self._publish()
                return
            self._writer_lock = self._take_writer_lock(wait)
            try:
                self._init_and_clean()
                self._start_work()  # readers of this process stay on the published generation meanwhile
                try:
                    yield
                    self._publish()
                finally:
                    self._drop_work()
            finally:
                self._release_writer_lock()
            self._follow()

    # -- following the published generation ------------------------------------------

    def _open_published(self) -> ox.Store:
        """The current generation, read-only, with a reader's lock on it (retried if a writer
        moved on in between)."""
        assert self.location is not None
        for _ in range(50):
            pointer = self.location / _POINTER
            try:
                seen = os.stat(pointer)
            except FileNotFoundError as e:
                raise StoreError(f"no store at {self.location}") from e
            generation = self._read_pointer()
            path = self._generation_dir(generation)
            handle = open(self.location / (path.name + _READERS_SUFFIX), "a+")  # noqa: SIM115 - held while read
            fcntl.flock(handle, fcntl.LOCK_SH)
            if not path.exists():
                handle.close()
                continue
            try:
                db = ox.Store.read_only(str(path))
            except OSError as e:
                handle.close()
                if not path.exists():
                    continue
                raise StoreError(f"cannot open the store at {self.location} read-only: {e}") from e
            self._generation = generation
            self._pointer_seen = (seen.st_ino, seen.st_mtime_ns)
            self._reader_locks.append((generation, handle))
            # The generation before stays locked until the next switch: a query started on it may still run.
            while len(self._reader_locks) > 2:
                self._reader_locks.pop(0)[1].close()
            return db
        raise StoreError(f"the store at {self.location} changed generation 50 times while being opened")

    def _follow(self) -> None:
        """Switch to the newest generation if the writer published one."""
        if self.location is None or (self._work is not None and not self.shared):
            return
        try:
            seen = os.stat(self.location / _POINTER)
        except OSError:
            return
        if (seen.st_ino, seen.st_mtime_ns) == self._pointer_seen:
            return
        with self._following:
            if (seen.st_ino, seen.st_mtime_ns) != self._pointer_seen:
                self._db = self._open_published()

    def shed_cache(self) -> None:
        """Open the current generation afresh (a reader; a writer or a store in memory does nothing).

        Oxigraph's storage keeps the blocks it read, up to about 170 MB per open store, and
        pyoxigraph cannot size that cache: a server worker that has read whole tables once (the
        Iconclass tree, the priors) would hold them for ever. Queries running on the old handle
        finish on it; it is freed when the last of them ends."""
        if self.location is None or not self._writing.acquire(blocking=False):
            return  # in memory; or a write of this process is under way: its reads stay on its copy
        try:
            if self._work is None:  # a writer (a command) reads its private copy
                with self._following:
                    self._db = self._open_published()
        finally:
            self._writing.release()

    def _reading(self) -> ox.Store:
        self._follow()
        return self._db

    @property
    def index_location(self) -> Path | None:
        """Where derived vector indexes live: beside the data on disk, nowhere (memory) otherwise."""
        return self.location / "indexes" if self.location is not None else None

    def close(self) -> None:
        """Release the store: the writer's lock and private copy, the readers' locks."""
        if getattr(self, "_db", None) is None and getattr(self, "_work", None) is None:
            return
        with self._writing:
            self._drop_work()
            self._db = None  # type: ignore[assignment]
            self._work_db = None
            gc.collect()
            self._release_writer_lock()
            for _, handle in self._reader_locks:
                handle.close()
            self._reader_locks = []

    def __del__(self) -> None:
        # A store dropped without close(): its lock files are closed with it, quietly.
        for _, handle in getattr(self, "_reader_locks", []):
            handle.close()
        if getattr(self, "_writer_lock", None) is not None:
            self._writer_lock.close()  # type: ignore[union-attr]

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
            return self._reading().query(text, prefixes=PREFIX_MAP, use_default_graph_as_union=True,
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
        used, write = self.prepare_serialized(sparql, media_type, functions)
        sink = io.BytesIO()
        write(sink)
        return used, sink.getvalue()

    def prepare_serialized(self, sparql: str, media_type: str, functions: Functions | None = None
                           ) -> tuple[str, Callable[[BinaryIO], None]]:
        """Start a query: the media type its result will have, and a function that streams the
        result into a binary file (Oxigraph evaluates as it writes: memory stays flat)."""
        result = self._query(sparql, None, functions)
        if isinstance(result, ox.QueryTriples):
            media_type = _GRAPH_FOR_RESULTS.get(media_type.split(";")[0], media_type)
            fmt: ox.RdfFormat | ox.QueryResultsFormat = graph_format(media_type) or ox.RdfFormat.N_TRIPLES
        else:
            fmt = results_format(media_type) or ox.QueryResultsFormat.JSON

        def write(output: BinaryIO) -> None:
            try:
                result.serialize(output, format=fmt)
            except (ValueError, OSError, RuntimeError) as e:
                raise QueryError(f"SPARQL query failed: {e}") from e

        return fmt.media_type, write

    def graphs(self) -> list[GraphInfo]:
        """The named graphs and their sizes, counted once per version of the store (counting
        every quad takes a second or more on a large store; pages and /metrics ask often)."""
        if self._batch_depth:
            return super().graphs()  # a batch's writes are not a version yet
        version = self.version().tag
        cached = self._graphs_seen
        if cached is not None and cached[0] == version:
            return list(cached[1])
        infos = super().graphs()
        self._graphs_seen = (version, infos)
        return list(infos)

    def has_graph(self, graph: str) -> bool:
        return bool(self._reading().contains_named_graph(_graph_node(graph)))

    def triples(self, graph: str) -> Iterator[Triple]:
        """Every triple of one named graph, streamed."""
        for q in self._reading().quads_for_pattern(None, None, None, named_node(graph)):
            yield triple_from_ox(q)

    def dump(self, graph: str, media_type: str = "application/n-triples") -> bytes:
        """One graph serialized (N-Triples by default)."""
        fmt = graph_format(media_type)
        if fmt is None:
            raise StoreError(f"unknown RDF media type {media_type!r}")
        return self._reading().dump(format=fmt, from_graph=_graph_node(graph)) or b""

    # -- writing -----------------------------------------------------------------

    def _writable(self) -> None:
        if self.read_only:
            raise StoreError("the store is open read-only")

    def _changed(self) -> None:
        self._writes += 1
        self._changed_at = time.time()

    def _target(self) -> ox.Store:
        assert self._work_db is not None
        return self._work_db

    def update(self, sparql: str, bindings: Bindings | None = None) -> None:
        """Run a SPARQL 1.1 Update in one transaction (``$name`` placeholders filled from ``bindings``)."""
        self._writable()
        text = fill(sparql, bindings) if bindings is not None else shallow_enough(sparql)
        with self._writer(self.writer_wait):
            try:
                self._target().update(text, prefixes=PREFIX_MAP)
            except SyntaxError as e:
                raise QueryError(f"SPARQL syntax error: {e}") from e
            except (ValueError, OSError, RuntimeError) as e:
                raise QueryError(f"SPARQL update failed: {e}") from e

    def add_triples(self, graph: str, triples: Iterable[Triple]) -> int:
        """Add a few triples to a graph in one transaction (all or none)."""
        self._writable()
        quads = list(to_quads(triples, _graph_node(graph)))
        with self._writer(self.writer_wait):
            try:
                self._target().extend(quads)
            except (ValueError, OSError) as e:
                raise StoreError(f"could not add triples to <{graph}>: {e}") from e
        return len(quads)

    def replace_graph(self, graph: str, triples: Iterable[Triple], *,
                      progress: ProgressCallback | None = None) -> int:
        """Replace a named graph with ``triples``, atomically for readers.

        If iterating ``triples`` raises, or the process dies, the graph keeps its
        previous content. Returns the number of triples the graph holds afterwards
        (the graph is a set: a triple given twice counts once).
        """
        self._writable()
        target = _graph_node(graph)
        quads = to_quads(triples, target)
        with _gc_paused():
            if self.location is None:
                staged = list(_counting(quads, progress))  # consume (and so validate) before touching the graph
                if self._db.contains_named_graph(target):
                    self._db.remove_graph(target)
                self._db.bulk_extend(staged)
                self._db.add_graph(target)
                self._changed()
                return len(staged)
            with self._writer(self.writer_wait):
                return self._replace_in_work(target, quads, progress=progress)

    def replace_graph_from(self, graph: str, source: TripleSource, *,
                           progress: ProgressCallback | None = None, in_process: bool = False
                           ) -> tuple[int, object]:
        """Replace a graph with ``source``'s triples, atomically, like :meth:`replace_graph`.

        On disk the triples are made in spawned processes (one per core, up to four, each a part
        of ``source.split``) that stream them as N-Quads to Oxigraph's bulk loader here: Python
        builds terms on the other cores while the loader writes (one interpreter cannot do both:
        the loader holds the GIL). Returns the number of triples written and the result of the
        processes that made them (``source.merged`` of the parts' results).
        """
        if self.location is None or in_process:
            return self.replace_graph(graph, source.triples(), progress=progress), source.result()
        self._writable()
        target = _graph_node(graph)
        with _gc_paused(), self._writer(self.writer_wait):
            work = self._work_without(target)
            result = _bulk_load_produced(work, source, graph, progress)
            work.add_graph(target)
            return _count_graph(work, target), result

    def drop_graph(self, graph: str) -> bool:
        """Remove a named graph; ``False`` when there was none."""
        self._writable()
        target = _graph_node(graph)
        if not self._reading().contains_named_graph(target):
            return False
        if self.location is None:
            self._db.remove_graph(target)
            self._changed()
        else:
            with self._writer(self.writer_wait):
                self._replace_in_work(target, iter(()), drop=True)
        return True

    def _replace_in_work(self, target: ox.NamedNode, quads: Iterator[ox.Quad], *, drop: bool = False,
                         progress: ProgressCallback | None = None) -> int:
        """Inside one write (:meth:`_writer`): a failure drops the private copy."""
        assert self.location is not None
        work = self._work_without(target)
        if drop:
            return 0
        # In slices: one bulk_extend buffers its whole input before writing it.
        while batch := list(islice(quads, _BULK_BATCH)):
            work.bulk_extend(batch)
            if progress is not None:
                progress(len(batch))
        work.add_graph(target)
        return _count_graph(work, target)  # the graph is a set: duplicates in the input count once

    def _work_without(self, target: ox.NamedNode) -> ox.Store:
        """The private copy with ``target`` gone, ready for its new version."""
        work = self._target()
        old_size = _count_graph(work, target)
        if old_size and old_size * 6 > _count_graph(work, None) - old_size:
            # Deleting quads costs far more than loading them: for a graph that
            # is a large share of the store, copy the *other* graphs instead.
            return self._fresh_copy_without(target)
        if old_size:
            work.remove_graph(target)
        return work

    def _fresh_copy_without(self, target: ox.NamedNode) -> ox.Store:
        """A new private copy holding every graph but ``target``; the old copy is dropped."""
        assert self.location is not None and self._work is not None
        old_db, old_work = self._target(), self._work
        work = self.location / f"{_WORK_PREFIX}{uuid.uuid4().hex[:12]}"
        new_db = ox.Store(str(work))
        with tempfile.TemporaryDirectory(dir=self.location, prefix=".copy-") as tmp:
            dump = Path(tmp) / "graph.nt"
            graphs: list[ox.NamedNode | ox.BlankNode | ox.DefaultGraph] = [ox.DefaultGraph()]
            graphs += [g for g in old_db.named_graphs() if g != target]
            for g in graphs:
                old_db.dump(dump, format=ox.RdfFormat.N_TRIPLES, from_graph=g)
                new_db.bulk_load(path=dump, format=ox.RdfFormat.N_TRIPLES, to_graph=g)
                if not isinstance(g, ox.DefaultGraph):
                    new_db.add_graph(g)
        reading_work = self._db is old_db
        self._work, self._work_db = work, new_db
        if reading_work:
            self._db = new_db
        del old_db
        gc.collect()
        shutil.rmtree(old_work, ignore_errors=True)
        return new_db


class _ProducedQuads(io.RawIOBase):
    """The N-Quads the producing processes send, read by Oxigraph's bulk loader as one file.

    Each chunk ends a line, so chunks of several processes can follow each other in any order;
    after its last chunk a process sends how it went (``statuses``). A process that died, or
    one that failed, ends the input at once.
    """

    def __init__(self, conns: list[Any], progress: ProgressCallback | None) -> None:
        self.waiting = list(conns)
        self.statuses: list[tuple[Any, ...]] = []
        self.progress = progress
        self.pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        from multiprocessing.connection import wait

        while not self.pending and self.waiting:
            conn: Any = wait(self.waiting)[0]
            try:
                chunk = conn.recv_bytes()
                if chunk:
                    self.pending = memoryview(chunk)
                    if self.progress is not None:
                        self.progress(chunk.count(b"\n"))
                    break
                status = conn.recv()
            except EOFError:
                status = ("died",)
            self.statuses.append(status)
            self.waiting.remove(conn)
            if status[0] != "ok":
                self.waiting.clear()  # the load fails: the others' triples are not needed
        n = min(len(buffer), len(self.pending))
        buffer[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n


def _produce_quads(conn: Any, source: TripleSource, graph: str) -> None:
    """In a producing process: the source's triples as N-Quads chunks, then how it went."""
    gc.disable()  # as in _gc_paused: millions of short-lived terms, no cycles
    try:
        for chunk in nquads_chunks(source.triples(), named_node(graph)):
            conn.send_bytes(chunk)
        conn.send_bytes(b"")
        conn.send(("ok", source.result()))
    except BaseException as e:  # noqa: BLE001 - every failure goes back to the loading process
        conn.send_bytes(b"")
        conn.send(("error", type(e).__name__, str(e)))
    finally:
        conn.close()


def _producers() -> int:
    """Processes making triples for one load. Oxigraph's bulk loader writes nothing until it holds
    a batch of a million quads, so the sooner the producers fill it, the sooner the load ends."""
    return max(1, min(4, os.cpu_count() or 1))


def _bulk_load_produced(work: ox.Store, source: TripleSource, graph: str,
                        progress: ProgressCallback | None) -> object:
    import multiprocessing

    from kgart.errors import DataSourceError

    context = multiprocessing.get_context("spawn")
    parts = source.split(_producers())
    conns, processes = [], []
    try:
        for part in parts:
            parent, child = context.Pipe(duplex=False)
            conns.append(parent)
            process = context.Process(target=_produce_quads, args=(child, part, graph),
                                      name="kgart-load", daemon=True)
            process.start()
            processes.append(process)
            child.close()
        produced = _ProducedQuads(conns, progress)
        # lenient: every term was written by Oxigraph from a term it had validated (nquads_chunks)
        work.bulk_load(io.BufferedReader(produced, 1 << 20), format=ox.RdfFormat.N_QUADS, lenient=True)
        for status in produced.statuses:
            if status[0] == "died":
                raise StoreError("a process making the triples died before it finished")
            if status[0] == "error" and status[1] == "DataSourceError":
                raise DataSourceError(status[2])
            if status[0] == "error":
                raise StoreError(f"the load failed: {status[1]}: {status[2]}")
        results = [status[1] for status in produced.statuses]
        return results[0] if len(parts) == 1 else source.merged(results)
    finally:
        for conn in conns:
            conn.close()
        for process in processes:
            process.join(10)
            if process.is_alive():
                process.kill()


def _count_graph(db: ox.Store, graph: ox.NamedNode | None) -> int:
    """Quads in one graph, or in the whole store (``None``), counted by Oxigraph."""
    if graph is None:
        text = "SELECT (COUNT(*) AS ?n) WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"
    elif not db.contains_named_graph(graph):
        return 0
    else:
        text = fill("SELECT (COUNT(*) AS ?n) WHERE { GRAPH $g { ?s ?p ?o } }", {"g": IRI(graph.value)})
    solution = next(iter(db.query(text)))  # type: ignore[arg-type]
    return int(solution["n"].value)


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
