"""pyoxigraph at the edge: kgart terms to and from Oxigraph's, RDF parsing and serialising.

The one module that both backends (the embedded :mod:`kgart.store` and the
remote :mod:`kgart.remote_store`) use for RDF syntax, so that a term is
validated and written the same way wherever it goes: IRIs are parsed by
Oxigraph (``<>"{}|^`\\`` and spaces refused), literals escaped by its
N-Triples writer, language tags checked against BCP 47.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from typing import Any

import pyoxigraph as ox

from kgart.errors import DataSourceError, InvalidTermError, QueryError, StoreError
from kgart.rdf import IRI, XSD, BlankNode, Literal, Term, Triple, sparql_prefixes

_XSD_STRING = str(XSD.string)

RESULT_FORMATS: dict[str, str] = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
}
GRAPH_FORMATS: dict[str, str] = {
    "turtle": "text/turtle",
    "ntriples": "application/n-triples",
    "nquads": "application/n-quads",
    "trig": "application/trig",
    "jsonld": "application/ld+json",
    "rdfxml": "application/rdf+xml",
}

PREFIX_MAP: dict[str, str] = {line.split()[1].rstrip(":"): line.split()[2].strip("<>")
                              for line in sparql_prefixes().splitlines()}
# Iconclass IRIs are written whole: as prefixed names their percent signs need escaping (ic:73D82\%28…).
OUTPUT_PREFIXES = {k: v for k, v in PREFIX_MAP.items() if k != "ic"}

OxTerm = ox.NamedNode | ox.BlankNode | ox.Literal
OxQuad = ox.Quad


@lru_cache(maxsize=65_536)
def named_node(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def checked_iri(value: str) -> IRI:
    """``value`` as an absolute IRI, or :class:`InvalidTermError` saying why not.

    >>> checked_iri("http://iconclass.org/73D")
    <http://iconclass.org/73D>
    >>> checked_iri("http://x> ?p ?o")
    Traceback (most recent call last):
    kgart.errors.InvalidTermError: not an IRI: 'http://x> ?p ?o' (Invalid IRI code point '>')
    """
    try:
        named_node(value)
    except (ValueError, TypeError) as e:
        raise InvalidTermError(f"not an IRI: {value[:200]!r} ({e})") from None
    return value if isinstance(value, IRI) else IRI(value)


def checked_language(tag: str) -> str:
    """A BCP 47 language tag, lower-cased, or :class:`InvalidTermError`.

    >>> checked_language("nl-BE")
    'nl-be'
    """
    try:
        return ox.Literal("x", language=tag).language or ""
    except (ValueError, TypeError) as e:
        raise InvalidTermError(f"not a language tag: {tag[:40]!r}") from e


def to_ox(term: Term) -> OxTerm:
    """A kgart term as Oxigraph's (validated by Oxigraph's constructors).

    :raises InvalidTermError: for an IRI or a language tag Oxigraph refuses.
    """
    try:
        kind = type(term)
        if kind is IRI:
            return named_node(term)  # type: ignore[arg-type]
        if kind is Literal:
            assert isinstance(term, Literal)
            if term.language:
                return ox.Literal(term.value, language=term.language)
            if term.datatype:
                return ox.Literal(term.value, datatype=named_node(term.datatype))
            return ox.Literal(term.value)
        if isinstance(term, BlankNode):
            return ox.BlankNode(term.id)
        if isinstance(term, str):
            return named_node(term)
    except (ValueError, TypeError) as e:
        raise InvalidTermError(f"not a valid RDF term: {str(term)[:200]!r} ({e})") from None
    raise InvalidTermError(f"not an RDF term: {term!r}")


def from_ox(term: Any) -> Term:
    if isinstance(term, ox.NamedNode):
        return IRI(term.value)
    if isinstance(term, ox.Literal):
        language = term.language
        datatype = term.datatype.value
        return Literal(term.value, language, None if language or datatype == _XSD_STRING else datatype)
    if isinstance(term, ox.BlankNode):
        return BlankNode(term.value)
    raise QueryError(f"unsupported term in result: {term!r}")


def term_ntriples(term: Term) -> str:
    """One term as N-Triples writes it (``<…>``, ``"…"@en``, ``"…"^^<…>``), validated first.

    >>> term_ntriples(Literal('say "hi"\\n', "en"))
    '"say \\\\"hi\\\\"\\\\n"@en'
    """
    if isinstance(term, BlankNode):
        raise InvalidTermError("blank nodes cannot be bound into a query")
    return str(to_ox(term))


def to_quads(triples: Iterable[Triple], graph: ox.NamedNode) -> Iterator[ox.Quad]:
    """Quads for a graph. The common shapes (IRI subject; IRI or plain/language literal object)
    are built inline: a million-triple load spends most of its Python time here."""
    quad, node, literal, iri_type, literal_type = ox.Quad, named_node, ox.Literal, IRI, Literal
    for s, p, o in triples:
        try:
            subject = node(s) if type(s) is iri_type else to_ox(s)
            kind = type(o)
            obj: OxTerm
            if kind is literal_type and not o.datatype:  # type: ignore[union-attr]
                obj = literal(o.value, language=o.language) if o.language else literal(o.value)  # type: ignore[union-attr]
            elif kind is iri_type:
                obj = node(o)  # type: ignore[arg-type]
            else:
                obj = to_ox(o)
            yield quad(subject, node(p), obj, graph)  # type: ignore[arg-type]
        except (ValueError, TypeError, InvalidTermError) as e:
            raise StoreError(f"cannot store triple ({s!r}, {p!r}, {o!r}): {e}") from e


def nquads_chunks(triples: Iterable[Triple], graph: ox.NamedNode, lines: int = 20_000) -> Iterator[bytes]:
    """The triples as N-Quads in ``graph``, ``lines`` statements a chunk (each chunk ends a line).

    Each term is written by Oxigraph (``str()`` of its term is the term's N-Triples form, the
    same bytes :func:`pyoxigraph.serialize` writes); an IRI once per load. This spares building
    a ``Quad`` per triple: with a literal object its constructor costs ~1.5 µs, most of a
    large load's producing time.

    :raises StoreError: naming the triple whose term Oxigraph refuses.
    """
    statement = _statement_writer(graph)
    chunk: list[str] = []
    for triple in triples:
        chunk.append(statement(triple))
        if len(chunk) == lines:
            yield "".join(chunk).encode()
            chunk = []
    if chunk:
        yield "".join(chunk).encode()


def _statement_writer(graph: ox.NamedNode | None, error: type[Exception] = StoreError) -> Callable[[Triple], str]:
    """One triple as an N-Quads line in ``graph`` (an N-Triples line for None), its terms written
    by Oxigraph; the IRIs it has written are kept (up to a million), validated once. A term
    Oxigraph refuses raises ``error`` naming the triple."""
    written: dict[str, str] = {}  # IRI -> <IRI>
    literal, iri_type, literal_type = ox.Literal, IRI, Literal
    tail = f" {graph} .\n" if graph is not None else " .\n"

    def iri(value: str) -> str:
        text = written.get(value)
        if text is None:
            if len(written) > 1_000_000:
                written.clear()  # a bound for loads of mostly unique IRIs
            text = written[value] = str(ox.NamedNode(value))
        return text

    def statement(triple: Triple) -> str:
        s, p, o = triple
        try:
            kind = type(o)
            if kind is literal_type and not o.datatype:  # type: ignore[union-attr]
                obj = str(literal(o.value, language=o.language) if o.language  # type: ignore[union-attr]
                          else literal(o.value))  # type: ignore[union-attr]
            elif kind is iri_type:
                obj = iri(o)  # type: ignore[arg-type]
            else:
                obj = str(to_ox(o))
            subject = iri(s) if type(s) is iri_type else str(to_ox(s))
            return f"{subject} {iri(p)} {obj}{tail}"
        except (ValueError, TypeError, InvalidTermError) as e:
            raise error(f"cannot store triple ({s!r}, {p!r}, {o!r}): {e}") from e

    return statement


def triple_from_ox(triple: Any) -> Triple:
    subject = from_ox(triple.subject)
    assert not isinstance(subject, Literal)
    return (subject, IRI(triple.predicate.value), from_ox(triple.object))


def rdf_media_type(name: str) -> str | None:
    """The RDF media type for a file name's extension (``.ttl``, ``.jsonld``, ``.rdf``, …)."""
    lowered = name.lower().removesuffix(".gz")
    for ext in sorted(_EXTRA_EXTENSIONS, key=len, reverse=True):
        if lowered.endswith(ext):
            return _EXTRA_EXTENSIONS[ext]
    fmt = ox.RdfFormat.from_extension(lowered.rsplit(".", 1)[-1]) if "." in lowered else None
    return fmt.media_type if fmt else None


_EXTRA_EXTENSIONS = {".rdf.xml": "application/rdf+xml", ".xml": "application/rdf+xml",
                     ".json": "application/ld+json", ".owl": "application/rdf+xml"}


def graph_format(media_type: str) -> ox.RdfFormat | None:
    """Oxigraph's RDF format for a media type, triples only (N-Quads/TriG have graphs: None)."""
    fmt = ox.RdfFormat.from_media_type(media_type)
    return None if fmt in (ox.RdfFormat.N_QUADS, ox.RdfFormat.TRIG) else fmt


def results_format(media_type: str) -> ox.QueryResultsFormat | None:
    return ox.QueryResultsFormat.from_media_type(media_type)


def parse_rdf(data: bytes, media_type: str, *, base_iri: str | None = None,
              where: str = "input") -> Iterator[Triple]:
    """Parse RDF in any format Oxigraph reads; graph names of quads are dropped.

    :raises DataSourceError: for a syntax error (with its position) or an unknown format.
    """
    fmt = ox.RdfFormat.from_media_type(media_type)
    if fmt is None:
        raise DataSourceError(f"unknown RDF format {media_type!r}", path=where)
    try:
        for quad in ox.parse(data, fmt, base_iri=base_iri):
            yield triple_from_ox(quad)
    except SyntaxError as e:
        raise DataSourceError(f"not valid {fmt.name}: {e}", path=where) from e
    except (ValueError, OSError) as e:
        raise DataSourceError(f"cannot parse as {fmt.name}: {e}", path=where) from e


def serialize_ntriples(triples: Iterable[Triple]) -> bytes:
    """N-Triples for a batch of triples (the remote store sends these), each term written by
    Oxigraph as in :func:`nquads_chunks`.

    :raises InvalidTermError: naming the triple whose term Oxigraph refuses.
    """
    statement = _statement_writer(None, InvalidTermError)
    return "".join(statement(t) for t in triples).encode()


def serialize_triples(triples: Iterable[Triple], media_type: str,
                      prefixes: dict[str, str] | None = None) -> tuple[str, bytes]:
    """Triples in an RDF format chosen by media type (N-Triples when unknown): (media type, bytes).
    kgart's prefixes are used where the format has them, with ``prefixes`` besides."""
    fmt = graph_format(media_type) or ox.RdfFormat.N_TRIPLES
    out = ox.serialize((ox.Triple(to_ox(s), named_node(p), to_ox(o))  # type: ignore[arg-type]
                        for s, p, o in triples), format=fmt, prefixes={**OUTPUT_PREFIXES, **(prefixes or {})})
    return fmt.media_type, out or b""


def parse_results(data: bytes, media_type: str) -> Any:
    """SPARQL results (JSON, XML, CSV, TSV) parsed by Oxigraph: its QuerySolutions or QueryBoolean."""
    fmt = ox.QueryResultsFormat.from_media_type(media_type)
    if fmt is None:
        raise QueryError(f"unknown SPARQL results format {media_type!r}")
    try:
        return ox.parse_query_results(data, fmt)
    except (SyntaxError, ValueError, OSError) as e:
        raise QueryError(f"unreadable SPARQL results: {e}") from e


def ox_functions(functions: dict[str, Callable[..., Term | None]]) -> dict[ox.NamedNode, Callable[..., Any]]:
    """Custom SPARQL functions over kgart terms, adapted to pyoxigraph's calling convention."""
    def adapt(fn: Callable[..., Term | None]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            try:
                result = fn(*(from_ox(a) for a in args))
            except (ValueError, TypeError, KeyError, QueryError):
                return None  # an unbound result, as SPARQL functions do on bad input
            return to_ox(result) if result is not None else None
        return call
    return {ox.NamedNode(iri): adapt(fn) for iri, fn in functions.items()}
