"""Full-text search over labels and keywords in every loaded language (SQLite FTS5).

Oxigraph has no full-text search; SQLite's FTS5 ships with Python. The index is
a derived cache like the vector index: built from the store, kept beside it
(or in memory), rebuilt when the graphs it was built from changed.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from kgart.kinds import Kinds, NodeKind
from kgart.triplestore import TripleStore

_TOKEN = re.compile(r"\w+", re.UNICODE)
REBUILD_WAIT_MS = 600_000  # how long a process waits for another one rebuilding the index
READ_WAIT_S = 30  # how long a search waits for a lock (in WAL mode only a checkpoint takes one)
# Words too common to tell labels apart (the languages Iconclass has most text in). Left in,
# they match most of the index and make a query slow for nothing.
STOPWORDS = frozenset("""
a an and are as at be by for from in into is it its of on or the to with without
de het een en van in op met voor aan bij of te
der die das ein eine und mit von im zu auf fur
le la les un une des du et en au aux avec pour sur
il lo gli uno una e di da del della con per su
el los las y o
""".split())
@dataclass(frozen=True)
class KeywordHit:
    iri: str
    kind: str
    score: float
    text: str


def fold(text: str) -> str:
    """Lower case without diacritics, for matching and prefixes (ASCII, most text, needs no
    decomposing: a million labels fold in seconds, not tens of them)."""
    if text.isascii():
        return text.lower()
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


def fts_query(text: str, *, prefix_last: bool = False) -> str:
    """A safe FTS5 query: each word quoted, OR-ed; the last one a prefix for autocomplete.

    >>> fts_query('ship "in a" storm*')
    '"ship" OR "storm"'
    """
    words = [w for w in _TOKEN.findall(fold(text)) if w not in STOPWORDS]
    if not words:
        return ""
    quoted = [f'"{w}"' for w in words]
    if prefix_last:
        quoted[-1] += "*"
        return " AND ".join(quoted)
    return " OR ".join(quoted)


class KeywordIndex:
    """Labels, keywords, titles and sentences of every kind (:mod:`kgart.kinds`), searchable by words."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        # On disk one connection per thread, so that searches run side by side (one shared
        # connection serialises them); in memory the one connection is the database.
        self._shared = None if path is not None else sqlite3.connect(":memory:", check_same_thread=False)
        self._local = threading.local()
        self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        self.kinds = self._indexed_kinds()

    @property
    def db(self) -> sqlite3.Connection:
        if self._shared is not None:
            return self._shared
        connection = getattr(self._local, "db", None)
        if connection is None:
            connection = self._local.db = sqlite3.connect(str(self.path), timeout=READ_WAIT_S)
            # Write-ahead logging: readers go on with the index as it was while another process
            # rebuilds it (with a rollback journal a long rebuild locks them out and they fail).
            try:
                connection.execute("PRAGMA journal_mode = WAL")  # kept in the file: set once
            except sqlite3.OperationalError:
                pass  # an index made before WAL, in use by another process: the next open sets it
        return connection

    def _indexed_kinds(self) -> set[str]:
        """The kinds indexed (kept in meta: FTS5's shadow tables share the docs_ prefix)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'kinds'").fetchone()
        return set(row[0].split(",")) - {""} if row else set()

    @classmethod
    def for_store(cls, store: TripleStore) -> KeywordIndex:
        """The store's keyword index, rebuilt when the store's graphs changed since it was built."""
        location = store.index_location
        index = cls(location / "keywords-v3.sqlite" if location is not None else None)
        stamp = _stamp(store)
        if index.meta("stamp") != stamp:
            index.rebuild(store, stamp)
        return index

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def rebuild(self, store: TripleStore, stamp: str) -> None:
        """Build the index for ``stamp``. Several processes may open a changed store at once (a
        server's workers, a command beside them): the first takes SQLite's write lock and
        builds, the others wait for it and find the index current."""
        kinds = list(Kinds.of(store))
        db = self.db
        db.execute(f"PRAGMA busy_timeout = {REBUILD_WAIT_MS}")  # a rebuild of a large store takes a while
        db.execute("BEGIN IMMEDIATE")
        try:
            if self.meta("stamp") == stamp:
                db.rollback()
                self.kinds = self._indexed_kinds()
                return
            for name in sorted(self._indexed_kinds() | {k.name for k in kinds}):
                db.execute(f"DROP TABLE IF EXISTS docs_{name}")  # not SPARQL: SQLite, kind names are [a-z][a-z0-9_]*
            self._fill(store, kinds, stamp)
            db.commit()
        except BaseException:
            db.rollback()
            raise
        self.kinds = {k.name for k in kinds}

    def _fill(self, store: TripleStore, kinds: list[NodeKind], stamp: str) -> None:
        """One FTS5 table per kind (a query only walks its own kind's postings), inside the
        rebuild's transaction."""
        for kind in kinds:
            table = f"docs_{kind.name}"  # kind names are [a-z][a-z0-9_]* (kgart.kinds)
            self.db.execute(f"CREATE VIRTUAL TABLE {table} USING fts5(iri UNINDEXED, "
                            "text, tokenize = 'unicode61 remove_diacritics 2')")
            rows = store.select("SELECT ?node ?text WHERE { $texts }", {"texts": kind.texts}).rows
            self.db.executemany(f"INSERT INTO {table} (iri, text) VALUES (?, ?)", # not SPARQL: SQLite
                                ((str(r["node"]), r.text("text")) for r in rows))
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('stamp', ?)", (stamp,))
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('kinds', ?)", (",".join(k.name for k in kinds),))

    def search(self, text: str, kind: str, limit: int = 100) -> list[KeywordHit]:
        """Best-matching nodes of one kind (BM25 over all their texts), best first."""
        return self._best(fts_query(text), kind, limit)

    def complete(self, prefix: str, kind: str = "iconclass", limit: int = 10) -> list[KeywordHit]:
        """Autocomplete: nodes whose texts contain every word typed, the last one as a prefix."""
        return self._best(fts_query(prefix, prefix_last=True), kind, limit)

    def _best(self, query: str, kind: str, limit: int) -> list[KeywordHit]:
        if not query or kind not in self.kinds:
            return []
        # bm25() cannot be aggregated in SQL; a node's best-matching text decides its rank.
        table = f"docs_{kind}"
        sql = f"SELECT iri, bm25({table}), text FROM {table} WHERE {table} MATCH ? ORDER BY bm25({table}) LIMIT ?"  # not SPARQL: SQLite  # noqa: E501
        rows = self.db.execute(sql, (query, limit * 2)).fetchall()
        best: dict[str, KeywordHit] = {}
        for iri, score, found in rows:
            if iri not in best:
                best[iri] = KeywordHit(iri, kind, -score, found)
        return list(best.values())[:limit]


def _stamp(store: TripleStore) -> str:
    return ";".join(f"{g.iri}={g.triples}" for g in sorted(store.graphs(), key=lambda g: g.iri)
                    if "/graph/embeddings/" not in g.iri)
