"""Similarity inside SPARQL: two functions and a kNN pattern.

Functions (evaluated by the embedded store for each solution)::

    kgart:similarity(?a, ?b)          cosine of two nodes' stored vectors
    kgart:textSimilarity(?node, "…")  cosine of a node's vector with the encoded text

kNN pattern (evaluated by kgart before the rest of the query and joined in)::

    ?hit kgart:similarTo "ship in a storm" ;   # the query text (required)
         kgart:k 20 ;                          # how many (default 10)
         kgart:score ?s ;                      # bind the score (optional)
         kgart:target "artwork" ;              # concept (default) | artwork | sentence
         kgart:under ic:73D .                  # only this concept and below (optional)

The rewrite works on rdflib's SPARQL algebra: the pattern's triples leave their
basic graph pattern, a VALUES table of (hit, score) rows joins in their place,
and the algebra is written back to a query for the store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from kgart.errors import QueryError
from kgart.notation import notation_from_iri
from kgart.rdf import IRI, KGART, PREFIXES, XSD, Literal, Term

SIMILAR_TO, K, SCORE, TARGET, UNDER = (str(KGART.similarTo), str(KGART.k), str(KGART.score), str(KGART.target),
                                       str(KGART.under))
PATTERN_PREDICATES = {SIMILAR_TO, K, SCORE, TARGET, UNDER}


@dataclass(frozen=True)
class KnnRequest:
    text: str
    k: int = 10
    target: str = "concept"
    under: str | None = None


KnnEvaluator = Callable[[KnnRequest], list[tuple[str, float]]]


def has_knn(query: str) -> bool:
    return "similarTo" in query or SIMILAR_TO in query


def uses_similarity(query: str) -> bool:
    """Whether the query may call the similarity functions (a cheap test; the store decides)."""
    return "imilarity" in query


def rewrite_knn(query: str, evaluate: KnnEvaluator) -> str:
    """The query with each kNN pattern replaced by its results (VALUES), or unchanged.

    :raises QueryError: for a malformed pattern or a query rdflib cannot parse.
    """
    if not has_knn(query):
        return query
    from kgart.query_guard import MAX_CHECKED_CHARS, RDFLIB_PARSER

    if len(query) > MAX_CHECKED_CHARS:
        raise QueryError(f"a query with a kgart:similarTo pattern may be at most {MAX_CHECKED_CHARS:,} characters")
    from rdflib import Literal as RdfLiteral
    from rdflib import URIRef, Variable
    from rdflib.plugins.sparql.algebra import translateAlgebra, translateQuery
    from rdflib.plugins.sparql.parser import parseQuery
    from rdflib.plugins.sparql.parserutils import CompValue

    try:
        with RDFLIB_PARSER:
            parsed = translateQuery(parseQuery(query), initNs=PREFIXES)
    except Exception as e:  # pyparsing raises several kinds  # noqa: BLE001
        raise QueryError(f"SPARQL syntax error: {str(e).splitlines()[0][:200] if str(e) else type(e).__name__}") from e

    def rewrite(node: Any) -> Any:
        if isinstance(node, CompValue):
            if node.name == "BGP":
                return _rewrite_bgp(node)
            for key in list(node.keys()):
                node[key] = rewrite(node[key])
        elif isinstance(node, list):
            return [rewrite(x) for x in node]
        return node

    def _rewrite_bgp(bgp: Any) -> Any:
        triples = list(bgp.triples)
        subjects = [s for s, p, _ in triples if str(p) == SIMILAR_TO]
        if not subjects:
            return bgp
        replacement = CompValue("BGP", triples=[t for t in triples if not (t[0] in subjects
                                                                          and str(t[1]) in PATTERN_PREDICATES)])
        for subject in subjects:
            if not isinstance(subject, Variable):
                raise QueryError("kgart:similarTo needs a variable as its subject")
            props = {str(p): o for s, p, o in triples if s == subject and str(p) in PATTERN_PREDICATES}
            request = _request(props)
            score_var = props.get(SCORE)
            rows = []
            for iri, score in evaluate(request):
                row: dict[Any, Any] = {subject: URIRef(iri)}
                if isinstance(score_var, Variable):
                    row[score_var] = RdfLiteral(float(score), datatype=URIRef(str(XSD.double)))
                rows.append(row)
            values = CompValue("ToMultiSet", p=CompValue("values", res=rows))
            replacement = CompValue("Join", p1=replacement, p2=values)
        return replacement

    parsed.algebra = rewrite(parsed.algebra)
    with RDFLIB_PARSER:  # the algebra's writer keeps module-level state in some rdflib versions
        return translateAlgebra(parsed)


def _request(props: dict[str, Any]) -> KnnRequest:
    text = props.get(SIMILAR_TO)
    if text is None or not hasattr(text, "toPython") or not str(text).strip():
        raise QueryError('kgart:similarTo takes the query text, e.g. ?hit kgart:similarTo "ship in a storm"')
    k = 10
    if K in props:
        try:
            k = int(props[K])
        except (TypeError, ValueError) as e:
            raise QueryError("kgart:k takes an integer") from e
        if not 1 <= k <= 10_000:
            raise QueryError("kgart:k must be between 1 and 10000")
    target = str(props.get(TARGET, "concept"))
    if target not in ("concept", "artwork", "sentence"):
        raise QueryError('kgart:target is "concept", "artwork" or "sentence"')
    under = props.get(UNDER)
    notation = (notation_from_iri(str(under)) or str(under)) if under is not None else None
    return KnnRequest(str(text), k, target, notation)


def similarity_functions(vector_of: Callable[[str], np.ndarray | None],
                         encode: Callable[[str], np.ndarray]) -> dict[str, Callable[..., Term | None]]:
    """``kgart:similarity`` and ``kgart:textSimilarity`` over stored vectors."""
    encoded: dict[str, np.ndarray] = {}

    def similarity(a: Term, b: Term) -> Term | None:
        va = vector_of(str(a)) if isinstance(a, str) else None
        vb = vector_of(str(b)) if isinstance(b, str) else None
        if va is None or vb is None:
            return None
        return Literal(repr(float(va @ vb)), datatype=XSD.double)

    def text_similarity(node: Term, text: Term) -> Term | None:
        if not isinstance(text, Literal) or not isinstance(node, str):
            return None
        vector = vector_of(str(node))
        if vector is None:
            return None
        if text.value not in encoded:
            encoded[text.value] = encode(text.value)
        return Literal(repr(float(vector @ encoded[text.value])), datatype=XSD.double)

    return {str(KGART.similarity): similarity, str(KGART.textSimilarity): text_similarity}


__all__ = ["IRI", "KnnRequest", "has_knn", "rewrite_knn", "similarity_functions"]
