"""Vector indexes: per (model, node kind), top-k by cosine, optionally within a subset.

The store holds the vectors (node properties); an index is a derived cache of
them. ``ExactIndex`` keeps the normalised float32 matrix in a memory-mapped
file with the IRI list beside it; ``HnswIndex`` (FAISS HNSW) answers
approximately for collections past a million vectors. Both are written into a
temporary folder and renamed into place, with a manifest (model, dimension,
count, checksum, the fingerprint of the store's vectors) that tells a current
index from a stale or corrupt one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from kgart.errors import KgartError

BACKENDS = ("exact", "hnsw")
MANIFEST = "manifest.json"


class StaleIndexError(KgartError):
    """An index is missing, stale or corrupt (callers rebuild it from the store)."""


@dataclass(frozen=True)
class Manifest:
    model: str
    kind: str
    backend: str
    dimension: int
    count: int
    checksum: str
    fingerprint: str

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=2)


class VectorIndex(Protocol):
    manifest: Manifest
    iris: list[str]

    def search(self, query: np.ndarray, k: int = 10, within: Iterable[str] | None = None
               ) -> list[tuple[str, float]]: ...

    def vector(self, iri: str) -> np.ndarray: ...


def fingerprint(pairs: Iterable[tuple[str, str]]) -> str:
    """Identity of the store's vectors: sorted (node, source hash) pairs."""
    h = hashlib.sha256()
    for iri, source_hash in sorted(pairs):
        h.update(f"{iri}\x1f{source_hash}\n".encode())
    return h.hexdigest()


def _checksum(matrix: np.ndarray, iris: Sequence[str]) -> str:
    h = hashlib.sha256(np.ascontiguousarray(matrix, dtype="<f4").tobytes())
    h.update("\n".join(iris).encode())
    return h.hexdigest()


class ExactIndex:
    """Brute-force cosine over a memory-mapped matrix: exact, and fast to 1M vectors."""

    def __init__(self, manifest: Manifest, iris: list[str], matrix: np.ndarray) -> None:
        self.manifest = manifest
        self.iris = iris
        self.matrix = matrix
        self._row = {iri: i for i, iri in enumerate(iris)}

    @classmethod
    def build(cls, manifest: Manifest, iris: list[str], matrix: np.ndarray) -> ExactIndex:
        return cls(manifest, iris, np.ascontiguousarray(matrix, dtype=np.float32))

    def search(self, query: np.ndarray, k: int = 10, within: Iterable[str] | None = None
               ) -> list[tuple[str, float]]:
        if len(self.iris) == 0 or k <= 0:
            return []
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        if within is not None:
            rows = np.fromiter((self._row[i] for i in within if i in self._row), dtype=np.int64)
            if rows.size == 0:
                return []
            scores = self.matrix[rows] @ q
            top = _top_k(scores, k)
            return [(self.iris[rows[i]], float(scores[i])) for i in top]
        scores = self.matrix @ q
        return [(self.iris[i], float(scores[i])) for i in _top_k(scores, k)]

    def scores(self, query: np.ndarray) -> np.ndarray:
        """Cosine of the query with every row (in ``iris`` order)."""
        return self.matrix @ np.asarray(query, dtype=np.float32).reshape(-1)

    def vector(self, iri: str) -> np.ndarray:
        return np.asarray(self.matrix[self._row[iri]])

    def __contains__(self, iri: str) -> bool:
        return iri in self._row

    def save(self, folder: Path) -> None:
        np.save(folder / "vectors.npy", self.matrix)

    @classmethod
    def load(cls, folder: Path, manifest: Manifest, iris: list[str]) -> ExactIndex:
        matrix = np.load(folder / "vectors.npy", mmap_mode="r")
        return cls(manifest, iris, matrix)


class HnswIndex(ExactIndex):
    """Approximate search with FAISS HNSW (inner product on normalised vectors).

    Keeps the exact matrix too, for ``vector`` and for searches within a subset
    (subtree filters), where a brute-force pass over the subset is both exact and cheap.
    """

    def __init__(self, manifest: Manifest, iris: list[str], matrix: np.ndarray, hnsw: Any = None) -> None:
        super().__init__(manifest, iris, matrix)
        self.hnsw = hnsw if hnsw is not None else self._make(matrix)

    @staticmethod
    def _make(matrix: np.ndarray) -> Any:
        faiss = _faiss()
        index = faiss.IndexHNSWFlat(matrix.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        if len(matrix):
            index.add(np.ascontiguousarray(matrix, dtype=np.float32))
        index.hnsw.efSearch = 64
        return index

    @classmethod
    def build(cls, manifest: Manifest, iris: list[str], matrix: np.ndarray) -> HnswIndex:
        return cls(manifest, iris, np.ascontiguousarray(matrix, dtype=np.float32))

    def search(self, query: np.ndarray, k: int = 10, within: Iterable[str] | None = None
               ) -> list[tuple[str, float]]:
        if within is not None or len(self.iris) == 0:
            return super().search(query, k, within)
        q = np.asarray(query, dtype=np.float32).reshape(1, -1)
        scores, rows = self.hnsw.search(q, min(k, len(self.iris)))
        return [(self.iris[r], float(s)) for s, r in zip(scores[0], rows[0], strict=True) if r >= 0]

    def save(self, folder: Path) -> None:
        super().save(folder)
        _faiss().write_index(self.hnsw, str(folder / "hnsw.faiss"))

    @classmethod
    def load(cls, folder: Path, manifest: Manifest, iris: list[str]) -> HnswIndex:
        matrix = np.load(folder / "vectors.npy", mmap_mode="r")
        return cls(manifest, iris, matrix, _faiss().read_index(str(folder / "hnsw.faiss")))


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as e:
        raise KgartError("the hnsw index backend needs faiss-cpu (pip install faiss-cpu)") from e
    return faiss


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    k = min(k, scores.shape[0])
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


_CLASSES = {"exact": ExactIndex, "hnsw": HnswIndex}


def build_index(backend: str, manifest_fields: dict[str, Any], iris: list[str], matrix: np.ndarray) -> ExactIndex:
    if backend not in _CLASSES:
        raise KgartError(f"unknown index backend {backend!r}; use {' or '.join(BACKENDS)}")
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    matrix = matrix.reshape(len(iris), -1) if len(iris) else np.zeros((0, 0), dtype=np.float32)
    manifest = Manifest(backend=backend, dimension=int(matrix.shape[1]) if len(iris) else 0, count=len(iris),
                        checksum=_checksum(matrix, iris), **manifest_fields)
    return _CLASSES[backend].build(manifest, iris, matrix)


def write_index(index: ExactIndex, folder: Path) -> None:
    """Write atomically: a sibling temporary folder, renamed over the old one."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-"))
    try:
        index.save(tmp)
        (tmp / "iris.txt").write_text("\n".join(index.iris), encoding="utf-8")
        (tmp / MANIFEST).write_text(index.manifest.to_json(), encoding="utf-8")
        old = folder.with_name(f".{folder.name}-old-{os.getpid()}")
        if folder.exists():
            os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_index(folder: Path, *, verify: bool = True) -> ExactIndex:
    """Open an index; ``StaleIndexError`` when it is missing or fails its checksum."""
    try:
        manifest = Manifest(**json.loads((folder / MANIFEST).read_text(encoding="utf-8")))
        text = (folder / "iris.txt").read_text(encoding="utf-8")
        iris = text.split("\n") if text else []
        index = _CLASSES[manifest.backend].load(folder, manifest, iris)
    except (OSError, ValueError, TypeError, KeyError) as e:
        raise StaleIndexError(f"no usable index at {folder}: {e}") from e
    except Exception as e:  # faiss raises RuntimeError subclasses of its own  # noqa: BLE001
        raise StaleIndexError(f"no usable index at {folder}: {e}") from e
    if len(iris) != manifest.count or (len(iris) and index.matrix.shape != (manifest.count, manifest.dimension)):
        raise StaleIndexError(f"index at {folder} is inconsistent with its manifest")
    if verify and _checksum(np.asarray(index.matrix), iris) != manifest.checksum:
        raise StaleIndexError(f"index at {folder} fails its checksum")
    return index
