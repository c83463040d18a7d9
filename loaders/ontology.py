"""The kgart vocabulary and SHACL shapes, kept loaded in their own graph."""

from __future__ import annotations

import hashlib
from importlib import resources

from kgart.oxigraph_adapter import parse_rdf
from kgart.rdf import DCTERMS, IRI, Literal, graph_iri
from kgart.triplestore import TripleStore

ONTOLOGY_GRAPH = graph_iri("ontology")
FILES = ("kgart.ttl", "shapes.ttl")
_VERSION_SUBJECT = IRI(ONTOLOGY_GRAPH)


def ontology_bytes() -> dict[str, bytes]:
    folder = resources.files("kgart.ontology")
    return {name: folder.joinpath(name).read_bytes() for name in FILES}


def ensure_ontology(store: TripleStore) -> bool:
    """Load the ontology graph when it is missing or older than the files; True if loaded."""
    files = ontology_bytes()
    digest = hashlib.sha256(b"".join(files[n] for n in FILES)).hexdigest()
    current = store.select("SELECT ?h WHERE { GRAPH $graph { $version dcterms:identifier ?h } }",
                           {"graph": ONTOLOGY_GRAPH, "version": _VERSION_SUBJECT}).rows
    if current and current[0].text("h") == digest:
        return False
    triples = [t for name in FILES for t in parse_rdf(files[name], "text/turtle", where=name)]
    triples.append((_VERSION_SUBJECT, DCTERMS.identifier, Literal(digest)))
    store.replace_graph(ONTOLOGY_GRAPH, triples)
    return True
