"""The embedding job: reader → encoder → writer → index, with per-stage timings.

Vectors are node properties (docs/architecture.md, "Embeddings"), in one named graph per model
(``…/graph/embeddings/{model}``) so that reloading a source never mixes with
them::

    ?node kgart:embedding ?e .
    ?e a kgart:Embedding ; kgart:model "…" ; kgart:modality "text" ;
       kgart:dimension 384 ; kgart:vector "<base64 float32 LE>"^^kgart:float32Vector ;
       kgart:sourceHash "…" .

The job encodes only nodes whose current input hashes differently from their
stored vector, writes each batch in its own transaction (an interrupted job
resumes where it stopped), then refreshes the vector index.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from kgart.embeddings.encoders import DEFAULT_MODEL, Encoder, get_encoder, modalities_for, model_id_for
from kgart.embeddings.index import ExactIndex, StaleIndexError, build_index, fingerprint, read_index, write_index
from kgart.embeddings.texts import NodeInput, read_nodes
from kgart.embeddings.trained import models_folder

from kgart.kinds import Kinds, NodeKind, kind_of
from kgart.rdf import IRI, KGART, KGART_BASE, RDF, XSD, Literal, Triple, graph_iri, slug
from kgart.sparql_template import Pattern
from kgart.triplestore import TripleStore


def embeddings_graph(model_id: str) -> IRI:
    return graph_iri(f"embeddings/{slug(model_id)}")


def embedding_iri(model_id: str, modality: str, node: str) -> IRI:
    digest = hashlib.sha1(node.encode()).hexdigest()[:24]  # noqa: S324 - an identifier, not security
    return IRI(f"{KGART_BASE}embedding/{slug(model_id)}/{modality}/{digest}")


def encode_vector(vector: np.ndarray) -> str:
    """Base64 of little-endian float32, as ``kgart:float32Vector`` says."""
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")


def decode_vector(text: str) -> np.ndarray:
    """Inverse of :func:`encode_vector`.

    >>> decode_vector(encode_vector(np.array([1.0, -0.5]))).tolist()
    [1.0, -0.5]
    """
    return np.frombuffer(base64.b64decode(text), dtype="<f4").astype(np.float32)


def vector_triples(model_id: str, modality: str, node: NodeInput, vector: np.ndarray) -> list[Triple]:
    e = embedding_iri(model_id, modality, node.iri)
    return [
        (node.iri, KGART.embedding, e),
        (e, RDF.type, KGART.Embedding),
        (e, KGART.model, Literal(model_id)),
        (e, KGART.modality, Literal(modality)),
        (e, KGART.dimension, Literal(str(len(vector)), datatype=XSD.integer)),
        (e, KGART.vector, Literal(encode_vector(vector), datatype=KGART.float32Vector)),
        (e, KGART.sourceHash, Literal(node.source_hash(model_id, modality))),
    ]


@dataclass
class EmbedReport:
    model: str
    kind: str
    modality: str
    nodes: int = 0
    current: int = 0
    encoded: int = 0
    projected: int = 0  # made from the base model's stored vectors (a trained projection)
    failed: list[tuple[str, str]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        seconds = self.timings.get("encode", 0.0)
        return self.encoded / seconds if seconds else 0.0

    def summary(self) -> str:
        stages = ", ".join(f"{k} {v:.1f}s" for k, v in self.timings.items())
        made = f"{self.projected:,} made from the base model's vectors, " if self.projected else ""
        return (f"{self.kind}/{self.modality} with {self.model}: {self.nodes:,} nodes, {self.current:,} already "
                f"current, {made}{self.encoded:,} encoded ({self.rate:,.0f}/s), {len(self.failed):,} failed [{stages}]")


def _nodes_of(store: TripleStore, kind: str | NodeKind | None) -> Pattern:
    return kind_of(store, kind).nodes if kind is not None else Pattern("")


def stored_hashes(store: TripleStore, model_id: str, modality: str, kind: str | NodeKind | None = None
                  ) -> dict[str, str]:
    """Node → source hash of its stored vector (of one kind of node, when given)."""
    rows = store.select("""SELECT ?node ?h WHERE { $nodes GRAPH $graph {
        ?node kgart:embedding ?e . ?e kgart:modality $modality ; kgart:sourceHash ?h } }""",
                        {"nodes": _nodes_of(store, kind), "graph": embeddings_graph(model_id),
                         "modality": Literal(modality)})
    return {str(r["node"]): r.text("h") for r in rows}


def embed(store: TripleStore, *, model: str = DEFAULT_MODEL, kinds: Sequence[str] = ("iconclass",),
          batch_size: int = 64, device: str | None = None, language: str = "en",
          index_dir: Path | None = None, backend: str = "exact",
          progress: Callable[[int, int], None] | None = None,
          encoder: Encoder | None = None, chunk_size: int | None = None) -> list[EmbedReport]:
    """Bring the vectors of ``kinds`` up to date for one model, then their indexes.

    The model is loaded only when some node needs encoding. Texts go to the encoder
    ``chunk_size`` at a time (default 2,048: it sorts them by length into batches of
    ``batch_size``) and each chunk's vectors are one store write, so a killed job resumes
    from its last chunk. ``progress(done, total)`` is called after each chunk.
    """
    registry = Kinds.of(store)
    chosen = [registry.get(k) for k in kinds]  # an unknown name: KgartError naming the known ones
    models = models_folder(store)
    named_model = encoder is None  # offsets belong to the named trained model, not a given encoder
    model_id = encoder.model_id if encoder is not None else model_id_for(model, models)
    modalities = encoder.modalities if encoder is not None else modalities_for(model)
    reports = []
    for node_kind in chosen:
        kind = node_kind.name
        for modality in modalities:
            if modality == "image" and kind != "artwork":
                continue
            report = EmbedReport(model_id, kind, modality)
            start = time.perf_counter()
            nodes = [n for n in read_nodes(store, node_kind, language=language)
                     if (n.text if modality == "text" else n.image)]
            current = stored_hashes(store, model_id, modality, node_kind)
            todo = [n for n in nodes if current.get(n.iri) != n.source_hash(model_id, modality)]
            report.nodes, report.current = len(nodes), len(nodes) - len(todo)
            report.timings["read"] = time.perf_counter() - start
            offsets = _concept_offsets(model, models, node_kind) if named_model and modality == "text" else {}
            if todo and named_model and modality == "text":
                todo = _projected_from_base(store, model, models, node_kind, todo, report, set(current),
                                            index_dir=index_dir, backend=backend, progress=progress,
                                            offsets=offsets)
            if todo:
                encoder = encoder or get_encoder(model, device, models)
                _encode_and_write(store, encoder, modality, todo, batch_size, report, progress,
                                  had_vector=set(current), chunk_size=chunk_size or CHUNK, offsets=offsets)
            start = time.perf_counter()
            load_index(store, model_id, node_kind, modality, index_dir=index_dir, backend=backend)
            report.timings["index"] = time.perf_counter() - start
            reports.append(report)
    return reports


def _concept_offsets(model: str, models: Path | None, node_kind: NodeKind) -> dict[str, np.ndarray]:
    """A trained projection's learned offsets for the concepts of this kind (none for items)."""
    from kgart.embeddings.trained import open_trained, trained_name

    name = trained_name(model)
    if name is None or not node_kind.is_concept:
        return {}
    return open_trained(models, name).concept_offsets(node_kind.name)


def _offset(nodes: Sequence[NodeInput], vectors: np.ndarray, offsets: dict[str, np.ndarray]) -> np.ndarray:
    """The vectors of concepts that have a learned offset, with it added (the rest as they are)."""
    if not offsets:
        return vectors
    from kgart.embeddings.encoders import with_offsets

    rows = np.zeros_like(vectors)
    for n, node in enumerate(nodes):
        if node.iri in offsets:
            rows[n] = offsets[node.iri]
    return with_offsets(vectors, rows)


def _projected_from_base(store: TripleStore, model: str, models: Path | None, node_kind: NodeKind,
                         todo: Sequence[NodeInput], report: EmbedReport, had_vector: set[str], *,
                         index_dir: Path | None, backend: str,
                         progress: Callable[[int, int], None] | None = None,
                         offsets: dict[str, np.ndarray] | None = None) -> list[NodeInput]:
    """A trained projection's vectors are its map applied to the base model's: made from the
    base's stored vectors where those are current for the same text (seconds instead of
    minutes). Returns the nodes still to encode; ``progress`` as for :func:`embed`."""
    from kgart.embeddings.encoders import project, read_projection
    from kgart.embeddings.trained import open_trained, trained_name

    name = trained_name(model)
    if name is None:
        return list(todo)
    trained = open_trained(models, name)
    base_id = str(trained.manifest.get("base_model_id", ""))
    if trained.manifest.get("method") != "projection" or trained.encoder_dir is None or not base_id:
        return list(todo)
    start = time.perf_counter()
    weight = read_projection(trained.encoder_dir)
    if weight is None:
        return list(todo)
    base = current_vectors(store, base_id, node_kind, todo, index_dir=index_dir, backend=backend)
    ready = [n for n in todo if n.iri in base]
    graph = embeddings_graph(trained.model_id)
    done = 0
    for chunk in _chunks(ready, CHUNK):
        vectors = _offset(chunk, project(np.stack([base[n.iri] for n in chunk]), weight), offsets or {})
        _write_batch(store, graph, trained.model_id, "text", chunk, vectors, had_vector)
        done += len(chunk)
        if progress is not None:
            progress(done, len(ready))
    report.projected += len(ready)
    report.timings["projected"] = time.perf_counter() - start
    made = {n.iri for n in ready}
    return [n for n in todo if n.iri not in made]


# Texts handed to the encoder at once: it sorts them by length into batches of ``batch_size``
# (less padding), and one chunk's vectors are written in one store write.
CHUNK = 2048


def _encode_and_write(store: TripleStore, encoder: Encoder, modality: str, todo: Sequence[NodeInput], batch_size: int,
                      report: EmbedReport, progress: Callable[[int, int], None] | None, *,
                      had_vector: set[str] | frozenset[str] = frozenset(), chunk_size: int = 2048,
                      offsets: dict[str, np.ndarray] | None = None) -> None:
    graph = embeddings_graph(encoder.model_id)
    encode_s = write_s = 0.0
    done = 0
    for chunk in _chunks(todo, chunk_size if modality == "text" else batch_size):
        t0 = time.perf_counter()
        if modality == "text":
            vectors = _offset(chunk, encoder.encode_texts([n.text for n in chunk], batch_size=batch_size),
                              offsets or {})
            ok = list(range(len(chunk)))
        else:
            vectors, failures = encoder.encode_images([n.image for n in chunk])
            failed = {f.source for f in failures}
            report.failed += [(f.source, f.reason) for f in failures]
            ok = [i for i, n in enumerate(chunk) if n.image not in failed]
        t1 = time.perf_counter()
        _write_batch(store, graph, encoder.model_id, modality, [chunk[i] for i in ok], vectors[ok], had_vector)
        t2 = time.perf_counter()
        encode_s += t1 - t0
        write_s += t2 - t1
        report.encoded += len(ok)
        done += len(chunk)
        if progress is not None:
            progress(done, len(todo))
    report.timings["encode"] = encode_s
    report.timings["write"] = write_s


def _write_batch(store: TripleStore, graph: str, model_id: str, modality: str, nodes: Sequence[NodeInput],
                 vectors: np.ndarray, had_vector: set[str] | frozenset[str] = frozenset()) -> None:
    """One store write per batch: the old vectors of nodes that had one go, the new ones come."""
    if not nodes:
        return
    stale = [embedding_iri(model_id, modality, n.iri) for n in nodes if n.iri in had_vector]
    triples = [t for n, v in zip(nodes, vectors, strict=True) for t in vector_triples(model_id, modality, n, v)]
    with store.batched():
        if stale:
            store.update("DELETE { GRAPH $graph { ?e ?p ?o . ?node kgart:embedding ?e } } WHERE { "
                         "GRAPH $graph { VALUES ?e { $embeddings } ?e ?p ?o OPTIONAL { ?node kgart:embedding ?e } } }",
                         {"graph": IRI(graph), "embeddings": stale})
        store.add_triples(graph, triples)


def _chunks(items: Sequence[NodeInput], size: int) -> Iterator[Sequence[NodeInput]]:
    for start in range(0, len(items), max(1, size)):
        yield items[start:start + size]


# -- indexes ---------------------------------------------------------------------

_MEMORY_INDEXES: dict[tuple[int, str, str, str], ExactIndex] = {}


def index_folder(index_dir: Path, model_id: str, kind: str, modality: str) -> Path:
    return index_dir / slug(model_id) / f"{kind}-{modality}"


def default_index_dir(store: TripleStore) -> Path | None:
    return store.index_location


def stored_vectors(store: TripleStore, model_id: str, kind: str | NodeKind, modality: str
                   ) -> tuple[list[str], np.ndarray, str]:
    """Every stored vector of one kind: IRIs (sorted), matrix, fingerprint."""
    rows = store.select("""SELECT ?node ?v ?h WHERE { $nodes
        GRAPH $graph { ?node kgart:embedding ?e . ?e kgart:modality $modality ;
        kgart:vector ?v ; kgart:sourceHash ?h } } ORDER BY ?node""",
                        {"nodes": _nodes_of(store, kind), "graph": embeddings_graph(model_id),
                         "modality": Literal(modality)})
    iris = [str(r["node"]) for r in rows]
    matrix = (np.stack([decode_vector(r.text("v")) for r in rows])
              if rows.rows else np.zeros((0, 0), np.float32))
    return iris, matrix, fingerprint((str(r["node"]), r.text("h")) for r in rows)


def current_fingerprint(store: TripleStore, model_id: str, kind: str | NodeKind, modality: str) -> str:
    return fingerprint(stored_hashes(store, model_id, modality, kind).items())


def refresh_index(store: TripleStore, model_id: str, kind: str | NodeKind, modality: str = "text", *,
                  index_dir: Path | None = None, backend: str = "exact") -> ExactIndex:
    """Rebuild the index of one (model, kind) from the store's vectors and save it."""
    node_kind = kind_of(store, kind)
    kind = node_kind.name
    iris, matrix, fp = stored_vectors(store, model_id, node_kind, modality)
    index = build_index(backend, {"model": model_id, "kind": kind, "fingerprint": fp}, iris, matrix)
    folder_root = index_dir if index_dir is not None else default_index_dir(store)
    if folder_root is not None:
        write_index(index, index_folder(folder_root, model_id, kind, modality))
    else:
        _MEMORY_INDEXES[(id(store), model_id, kind, modality)] = index
    return index


def load_index(store: TripleStore, model_id: str, kind: str | NodeKind, modality: str = "text", *,
               index_dir: Path | None = None, backend: str = "exact") -> ExactIndex:
    """The index of one (model, kind): from disk when current, else rebuilt from the store."""
    node_kind = kind_of(store, kind)  # the registry read once for the fingerprint and a rebuild
    kind = node_kind.name
    folder_root = index_dir if index_dir is not None else default_index_dir(store)
    fp = current_fingerprint(store, model_id, node_kind, modality)
    if folder_root is None:
        index = _MEMORY_INDEXES.get((id(store), model_id, kind, modality))
        if index is not None and index.manifest.fingerprint == fp and index.manifest.backend == backend:
            return index
        return refresh_index(store, model_id, node_kind, modality, index_dir=None, backend=backend)
    folder = index_folder(folder_root, model_id, kind, modality)
    try:
        index = read_index(folder)
        if index.manifest.fingerprint == fp and index.manifest.backend == backend:
            return index
    except StaleIndexError:
        pass
    return refresh_index(store, model_id, node_kind, modality, index_dir=folder_root, backend=backend)


def current_vectors(store: TripleStore, model_id: str, kind: str | NodeKind, nodes: Sequence[NodeInput], *,
                    index_dir: Path | None = None, backend: str = "exact") -> dict[str, np.ndarray]:
    """The stored text vectors of ``nodes`` that are current for their text (the same hash a
    new embedding job would give them), by IRI."""
    hashes = stored_hashes(store, model_id, "text", kind)
    current = [n.iri for n in nodes if hashes.get(n.iri) == n.source_hash(model_id, "text")]
    if not current:
        return {}
    index = load_index(store, model_id, kind, "text", index_dir=index_dir, backend=backend)
    return {iri: index.vector(iri) for iri in current if iri in index}


def node_vector(store: TripleStore, model_id: str, node: str, modality: str = "text") -> np.ndarray | None:
    rows = store.select("""SELECT ?v WHERE { GRAPH $graph {
        $node kgart:embedding ?e . ?e kgart:modality $modality ; kgart:vector ?v } }""",
                        {"graph": embeddings_graph(model_id), "node": IRI(node), "modality": Literal(modality)}).rows
    return decode_vector(rows[0].text("v")) if rows else None


__all__ = ["EmbedReport", "embed", "load_index", "refresh_index", "decode_vector", "node_vector"]
