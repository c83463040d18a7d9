"""Query results as aligned text, for people at a terminal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kgart.oxigraph_adapter import serialize_triples
from kgart.rdf import IRI, PREFIXES, BlankNode, Literal, Term
from kgart.triplestore import BooleanResult, SelectResult, TripleStore

MAX_WIDTH = 60


def term_text(term: Term | None) -> str:
    """Short display form: prefixed IRIs, plain literal values with their language."""
    if term is None:
        return ""
    if isinstance(term, Literal):
        return f"{term.value}@{term.language}" if term.language else term.value
    if isinstance(term, BlankNode):
        return f"_:{term.id}"
    for prefix, ns in PREFIXES.items():
        if term.startswith(ns) and len(term) > len(ns):
            return f"{prefix}:{term[len(ns):]}"
    return str(term)


def format_rows(variables: list[str], rows: Sequence[Mapping[str, Term]]) -> str:
    cells = [[_clip(term_text(row.get(v))) for v in variables] for row in rows]
    widths = [max([len(v)] + [len(r[i]) for r in cells]) for i, v in enumerate(variables)]
    lines = ["  ".join(v.ljust(w) for v, w in zip(variables, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines)


def format_query_table(store: TripleStore, sparql: str) -> str:
    """Run any query and format its result by its form: a table, true/false, or Turtle."""
    result = store.query(sparql)
    if isinstance(result, SelectResult):
        return format_rows(result.variables, result.rows)
    if isinstance(result, BooleanResult):
        return "true" if result.value else "false"
    return serialize_triples(result.triples, "text/turtle")[1].decode("utf-8")


def _clip(text: str) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= MAX_WIDTH else text[:MAX_WIDTH - 1] + "…"


__all__ = ["IRI", "format_query_table", "format_rows", "term_text"]
