"""RDF terms and vocabularies shared by every layer.

kgart's own small term types keep pyoxigraph inside the store module (a
remote SPARQL endpoint gives back the same three kinds of term), and they
are cheap to build: loaders create millions of them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import NamedTuple
from urllib.parse import quote


class IRI(str):
    """An IRI. A ``str`` subclass so that it hashes, compares and formats as text."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<{self}>"


class Literal(NamedTuple):
    """An RDF literal: a plain string, a language-tagged string or a typed value."""

    value: str
    language: str | None = None
    datatype: str | None = None


class BlankNode(NamedTuple):
    """A blank node, identified only within one document or query result."""

    id: str


Subject = IRI | BlankNode
Term = IRI | Literal | BlankNode
Triple = tuple[Subject, IRI, Term]


class Namespace(str):
    """An IRI prefix; ``NS.term`` and ``NS["term"]`` give the full IRI."""

    __slots__ = ()

    def __getattr__(self, name: str) -> IRI:
        if name.startswith("__"):
            raise AttributeError(name)
        return IRI(self + name)

    def __getitem__(self, name: str) -> IRI:  # type: ignore[override]
        return IRI(self + name)


RDF = Namespace("http://www.w3.org/1999/02/22-rdf-syntax-ns#")
RDFS = Namespace("http://www.w3.org/2000/01/rdf-schema#")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
DCTERMS = Namespace("http://purl.org/dc/terms/")
SCHEMA = Namespace("https://schema.org/")
PROV = Namespace("http://www.w3.org/ns/prov#")
OWL = Namespace("http://www.w3.org/2002/07/owl#")
OA = Namespace("http://www.w3.org/ns/oa#")
AS = Namespace("http://www.w3.org/ns/activitystreams#")
LDP = Namespace("http://www.w3.org/ns/ldp#")

KGART_BASE = "https://w3id.org/kgart/"
KGART = Namespace(KGART_BASE + "ns#")
"""The kgart vocabulary; every term used in code is declared in ontology/kgart.ttl."""

GRAPH_BASE = KGART_BASE + "graph/"
ANNOTATIONS_GRAPH = IRI(GRAPH_BASE + "annotations")
"""Curators' decisions (W3C Web Annotations) and the links accepted ones make."""
ANNOTATION_BASE = KGART_BASE + "annotations/"
USER_BASE = KGART_BASE + "users/"

ICONCLASS_BASE = "http://iconclass.org/"
ICONCLASS_SCHEME = IRI(ICONCLASS_BASE)
ICONCLASS_KEYS = Namespace(KGART_BASE + "iconclass/keys/")

PREFIXES: dict[str, str] = {
    "rdf": str(RDF), "rdfs": str(RDFS), "xsd": str(XSD), "skos": str(SKOS),
    "dcterms": str(DCTERMS), "schema": str(SCHEMA), "prov": str(PROV),
    "owl": str(OWL), "kgart": str(KGART), "ic": ICONCLASS_BASE, "oa": str(OA),
}


def preferred_labels(labels: Iterable[tuple[str, Literal]], language: str) -> dict[str, str]:
    """Each node's label in ``language``, else in English (or untagged), else any; ties by text.

    >>> preferred_labels([("a", Literal("zee", "nl")), ("a", Literal("sea", "en")), ("b", Literal("mer", "fr"))], "en")
    {'a': 'sea', 'b': 'mer'}
    """
    best: dict[str, tuple[int, str]] = {}
    for node, label in labels:
        rank = 0 if label.language == language else 1 if label.language in ("en", None) else 2
        if node not in best or (rank, label.value) < best[node]:
            best[node] = (rank, label.value)
    return {node: text for node, (_, text) in best.items()}


def graph_iri(source: str) -> IRI:
    """The named graph that holds one source, e.g. ``graph_iri("iconclass")``.

    >>> graph_iri("iconclass")
    <https://w3id.org/kgart/graph/iconclass>
    """
    if source.startswith(("http://", "https://", "urn:")):
        return IRI(source)
    return IRI(GRAPH_BASE + source)


def graph_name(iri: str) -> str:
    """The short name of a kgart graph IRI (other IRIs are returned whole).

    >>> graph_name("https://w3id.org/kgart/graph/rkd")
    'rkd'
    """
    return iri[len(GRAPH_BASE):] if iri.startswith(GRAPH_BASE) else iri


def sparql_prefixes(*names: str) -> str:
    """PREFIX lines for queries kgart builds itself."""
    chosen = names or tuple(PREFIXES)
    return "".join(f"PREFIX {n}: <{PREFIXES[n]}>\n" for n in chosen)  # not SPARQL: kgart's constant prefixes


def slug(text: str) -> str:
    """A stable, readable identifier for a name: ``Rembrandt van Rijn`` → ``rembrandt-van-rijn``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    s = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return s or quote(text.strip(), safe="")
