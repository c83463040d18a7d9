"""SHACL validation of a loaded graph against kgart's shapes (ontology/shapes.ttl).

pySHACL does the validation; it works on rdflib graphs, so the graph is copied
out of the store for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

import rdflib
from rdflib.namespace import SH

from kgart.errors import StoreError
from kgart.rdf import IRI, BlankNode, Literal, Term, graph_iri
from kgart.triplestore import TripleStore


@dataclass
class ValidationResult:
    graph: str
    conforms: bool
    checked_nodes: int
    violations: list[str] = field(default_factory=list)
    warnings: int = 0


def to_rdflib(term: Term) -> rdflib.term.Node:
    if isinstance(term, Literal):
        return rdflib.Literal(term.value, lang=term.language,
                              datatype=rdflib.URIRef(term.datatype) if term.datatype else None)
    if isinstance(term, BlankNode):
        return rdflib.BNode(term.id)
    return rdflib.URIRef(term)


def shapes_graph() -> rdflib.Graph:
    data = resources.files("kgart.ontology").joinpath("shapes.ttl").read_text(encoding="utf-8")
    return rdflib.Graph().parse(data=data, format="turtle")


def validate_graph(store: TripleStore, graph: str) -> ValidationResult:
    """Validate one named graph; violations read ``focus node  path: message``.

    :raises StoreError: when the graph does not exist.
    """
    iri = graph_iri(graph)
    if not store.has_graph(iri):
        raise StoreError(f"no graph {graph!r} in the store")
    data = rdflib.Graph()
    for s, p, o in store.triples(iri):
        data.add((to_rdflib(s), rdflib.URIRef(p), to_rdflib(o)))
    import pyshacl

    conforms, report, _ = pyshacl.validate(data, shacl_graph=shapes_graph(), inference="none",
                                           advanced=True, allow_warnings=True)
    assert isinstance(report, rdflib.Graph)
    violations, warnings = [], 0
    for result in report.subjects(rdflib.RDF.type, SH.ValidationResult):
        if report.value(result, SH.resultSeverity) != SH.Violation:
            warnings += 1
            continue
        focus = report.value(result, SH.focusNode)
        path = report.value(result, SH.resultPath)
        message = report.value(result, SH.resultMessage)
        violations.append(f"{focus}  {path or ''}: {message}")
    checked = len(set(data.subjects(rdflib.RDF.type, None)))
    return ValidationResult(graph, not violations, checked, sorted(violations), warnings)


__all__ = ["IRI", "ValidationResult", "validate_graph"]
