"""What every kgart store offers: the :class:`TripleStore` protocol and its result types.

:class:`kgart.store.Store` (embedded Oxigraph) and
:class:`kgart.remote_store.RemoteStore` (any SPARQL 1.1 server) both implement
it, and every layer above the store is written against the protocol, so the
contract tests (``tests/test_store_contract.py``) run unchanged on both.
Queries are constant templates with ``$name`` placeholders; values travel as
``bindings`` (see :mod:`kgart.sparql_template`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Literal as TypingLiteral
from typing import Protocol, runtime_checkable

from kgart.errors import QueryError
from kgart.rdf import IRI, BlankNode, Literal, Term, Triple
from kgart.sparql_template import Bindings

ProgressCallback = Callable[[int], None]
Functions = dict[str, Callable[..., Term | None]]


class Row(dict[str, Term]):
    """One solution: variable name → term (unbound variables are absent), with typed accessors."""

    def iri(self, name: str) -> IRI:
        term = self[name]
        if not isinstance(term, IRI):
            raise QueryError(f"?{name} is not an IRI: {term!r}")
        return term

    def literal(self, name: str) -> Literal:
        term = self[name]
        if not isinstance(term, Literal):
            raise QueryError(f"?{name} is not a literal: {term!r}")
        return term

    def text(self, name: str, default: str | None = None) -> str:
        """The lexical value of a literal (an IRI's text); ``default`` when unbound."""
        if name not in self:
            if default is None:
                raise KeyError(name)
            return default
        term = self[name]
        if isinstance(term, Literal):
            return term.value
        if isinstance(term, BlankNode):
            return term.id
        return str(term)

    def int(self, name: str, default: int = 0) -> int:
        return int(self.text(name)) if name in self else default

    def float(self, name: str, default: float = 0.0) -> float:
        return float(self.text(name)) if name in self else default


@dataclass(frozen=True)
class SelectResult:
    """Rows of a SELECT query."""

    variables: list[str]
    rows: list[Row]
    form: TypingLiteral["select"] = "select"

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class BooleanResult:
    """The answer of an ASK query."""

    value: bool
    form: TypingLiteral["ask"] = "ask"

    def __bool__(self) -> bool:
        return self.value


@dataclass(frozen=True)
class TriplesResult:
    """The triples of a CONSTRUCT or DESCRIBE query."""

    triples: list[Triple]
    form: TypingLiteral["graph"] = "graph"

    def __iter__(self) -> Iterator[Triple]:
        return iter(self.triples)

    def __len__(self) -> int:
        return len(self.triples)


QueryResult = SelectResult | BooleanResult | TriplesResult


@dataclass(frozen=True)
class GraphInfo:
    iri: str
    triples: int


@runtime_checkable
class TripleSource(Protocol):
    """Triples a loader makes, as an object another process can rebuild (picklable): the
    embedded store may run :meth:`triples` in a process of its own and hand back :meth:`result`."""

    def triples(self) -> Iterable[Triple]: ...

    def result(self) -> object:
        """What the loader learnt while making the triples (counts, skipped records)."""

    def split(self, parts: int) -> Sequence[TripleSource]:
        """At most ``parts`` sources whose triples together are this one's, each for a process of its
        own (``[self]`` when the source cannot be divided)."""

    def merged(self, results: list[object]) -> object:
        """One :meth:`result` from the results of the parts :meth:`split` made."""


@dataclass(frozen=True)
class StoreVersion:
    """A store's state: a tag that changes with every write, and when that write was."""

    tag: str
    changed_at: float  # seconds since the epoch


@runtime_checkable
class TripleStore(Protocol):
    """A kgart store: named graphs, SPARQL, atomic graph replacement."""

    read_only: bool
    location: Path | None

    @property
    def index_location(self) -> Path | None:
        """Where derived indexes (vectors, keywords) live; None: in memory only."""

    def query(self, sparql: str, bindings: Bindings | None = None, *,
              functions: Functions | None = None) -> QueryResult:
        """Run any query; the result says its form."""

    def select(self, sparql: str, bindings: Bindings | None = None, *,
               functions: Functions | None = None) -> SelectResult: ...

    def ask(self, sparql: str, bindings: Bindings | None = None) -> bool: ...

    def construct(self, sparql: str, bindings: Bindings | None = None) -> list[Triple]: ...

    def query_serialized(self, sparql: str, media_type: str, functions: Functions | None = None
                         ) -> tuple[str, bytes]:
        """A query's result in ``media_type`` (or the closest the result's form allows)."""

    def update(self, sparql: str, bindings: Bindings | None = None) -> None: ...

    def graphs(self) -> list[GraphInfo]: ...

    def count(self, graph: str) -> int: ...

    def has_graph(self, graph: str) -> bool: ...

    def triples(self, graph: str) -> Iterator[Triple]: ...

    def dump(self, graph: str, media_type: str = "application/n-triples") -> bytes: ...

    def add_triples(self, graph: str, triples: Iterable[Triple]) -> int: ...

    def replace_graph(self, graph: str, triples: Iterable[Triple], *,
                      progress: ProgressCallback | None = None) -> int: ...

    def drop_graph(self, graph: str) -> bool: ...

    def close(self) -> None: ...

    def version(self) -> StoreVersion | None:
        """What changes with every write (HTTP validators); None when the backend cannot tell."""

    def batched(self) -> AbstractContextManager[None]:
        """Several writes published as one where the backend can (the embedded store)."""

    def replace_graph_from(self, graph: str, source: TripleSource, *,
                           progress: ProgressCallback | None = None) -> tuple[int, object]:
        """Replace a graph with a loader's triples (made in a process of their own where it pays)."""


class StoreQueries:
    """What both backends derive from ``query``: the form-checked shortcuts and graph sizes."""

    hidden_graph_prefix: str | None = None  # graphs a backend keeps for itself (staging)

    def version(self) -> StoreVersion | None:
        """A remote server does not say when its data changed: no version (pages hash their bodies)."""
        return None

    def batched(self) -> AbstractContextManager[None]:
        """A remote server runs each request on its own: nothing to group."""
        return nullcontext()

    def replace_graph_from(self, graph: str, source: TripleSource, *,
                           progress: ProgressCallback | None = None) -> tuple[int, object]:
        """:meth:`replace_graph` with the triples of ``source``; the number written and its result."""
        count = self.replace_graph(graph, source.triples(), progress=progress)  # type: ignore[attr-defined]
        return count, source.result()

    def query(self, sparql: str, bindings: Bindings | None = None, *,
              functions: Functions | None = None) -> QueryResult:
        raise NotImplementedError

    def select(self, sparql: str, bindings: Bindings | None = None, *,
               functions: Functions | None = None) -> SelectResult:
        """Run a SELECT query. The usual prefixes (skos, schema, kgart, …) are predeclared;
        ``functions`` adds custom SPARQL functions (IRI → Python callable over kgart terms).

        :raises QueryError: on a syntax error, a failed evaluation or a non-SELECT query.
        """
        result = self.query(sparql, bindings, functions=functions)
        if not isinstance(result, SelectResult):
            raise QueryError("expected a SELECT query")
        return result

    def ask(self, sparql: str, bindings: Bindings | None = None) -> bool:
        result = self.query(sparql, bindings)
        if not isinstance(result, BooleanResult):
            raise QueryError("expected an ASK query")
        return result.value

    def construct(self, sparql: str, bindings: Bindings | None = None) -> list[Triple]:
        """Run a CONSTRUCT or DESCRIBE query and return its triples."""
        result = self.query(sparql, bindings)
        if not isinstance(result, TriplesResult):
            raise QueryError("expected a CONSTRUCT or DESCRIBE query")
        return result.triples

    def graphs(self) -> list[GraphInfo]:
        """The named graphs and their sizes, largest first."""
        result = self.select("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
        hidden = self.hidden_graph_prefix
        infos = [GraphInfo(str(r["g"]), r.int("n")) for r in result
                 if "g" in r and not (hidden and str(r["g"]).startswith(hidden))]
        return sorted(infos, key=lambda g: (-g.triples, g.iri))

    def count(self, graph: str) -> int:
        """Triples in one named graph (0 when it does not exist)."""
        rows = self.select("SELECT (COUNT(*) AS ?n) WHERE { GRAPH $graph { ?s ?p ?o } }",
                           {"graph": IRI(graph)}).rows
        return rows[0].int("n") if rows else 0


__all__ = ["BooleanResult", "GraphInfo", "QueryResult", "Row", "SelectResult", "StoreQueries", "TripleStore",
           "TriplesResult"]
