"""The registry of node kinds: what a concept, an artwork, a sentence is, as data.

Every layer that works per kind loops over this registry instead of keeping a
list of its own: the CLI's choices, the API's enums, ``kgart embed``, the
keyword index, the vector indexes and the retriever. A kind says how to find
its nodes (a graph pattern binding ``?node``), where its texts are, and, for
concepts, the SKOS scheme they belong to.

Three kinds are built in (``artwork``, ``sentence``, and ``iconclass`` with its
own graph). Every other ``skos:ConceptScheme`` in the store is a kind too, with
no code: its name is the scheme's ``dcterms:identifier`` (the Tate loader writes
``tate``), else its ``skos:notation``, else the last segment of its IRI. Load
a vocabulary (``kgart load skos FILE``) and ``kgart embed --kind NAME``,
``search``/``suggest --scheme NAME``, the tree browser, priors and neighbours
work for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal as TypingLiteral

from kgart.errors import KgartError
from kgart.rdf import ICONCLASS_SCHEME, IRI, graph_iri
from kgart.sparql_template import Pattern
from kgart.triplestore import TripleStore

ICONCLASS_GRAPH = graph_iri("iconclass")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")  # a kind's name: also safe as a file and an SQL table name


@dataclass(frozen=True)
class NodeKind:
    """One kind of node."""

    name: str
    role: TypingLiteral["concept", "item"]
    label: str
    nodes: Pattern
    """Binds ``?node`` to every node of the kind."""
    texts: Pattern
    """Binds ``?node`` and ``?text`` (any language): what keyword search matches."""
    scheme: IRI | None = None
    """For concepts: the SKOS scheme."""

    @property
    def is_concept(self) -> bool:
        return self.role == "concept"

    @property
    def concept_scheme(self) -> IRI:
        """The scheme of a concept kind (items have none: a KgartError)."""
        if self.scheme is None:
            raise KgartError(f"{self.name} is not a concept scheme")
        return self.scheme


ARTWORK = NodeKind(
    "artwork", "item", "artworks",
    Pattern("?node a schema:VisualArtwork ."),
    Pattern("?node a schema:VisualArtwork ; schema:name|schema:description|schema:keywords ?text ."))
SENTENCE = NodeKind(
    "sentence", "item", "sentences",
    Pattern("?node a kgart:Sentence ."),
    Pattern("?node a kgart:Sentence ; schema:text ?text ."))
ICONCLASS = NodeKind(
    "iconclass", "concept", "Iconclass concepts",
    Pattern("GRAPH $graph { ?node a skos:Concept . }", {"graph": ICONCLASS_GRAPH}),
    Pattern("GRAPH $graph { ?node a skos:Concept ; skos:prefLabel|skos:altLabel ?text . }",
            {"graph": ICONCLASS_GRAPH}),
    ICONCLASS_SCHEME)
BUILT_IN = (ICONCLASS, ARTWORK, SENTENCE)


def scheme_kind(name: str, scheme: IRI, label: str = "") -> NodeKind:
    """The kind for the concepts of any SKOS scheme."""
    return NodeKind(
        name, "concept", label or f"concepts of {scheme}",
        Pattern("?node skos:inScheme $scheme .", {"scheme": scheme}),
        Pattern("?node skos:inScheme $scheme ; skos:prefLabel|skos:altLabel ?text .", {"scheme": scheme}),
        scheme)


class Kinds:
    """The kinds of one store: the built-in ones and one per concept scheme it holds."""

    def __init__(self, kinds: list[NodeKind]) -> None:
        self._by_name = {k.name: k for k in kinds}
        self._by_scheme = {str(k.scheme): k for k in kinds if k.scheme is not None}

    @classmethod
    def of(cls, store: TripleStore) -> Kinds:
        rows = store.select("""SELECT ?s (SAMPLE(?id) AS ?ident) (SAMPLE(?n) AS ?notation) (SAMPLE(?l) AS ?label)
            WHERE { ?s a skos:ConceptScheme . OPTIONAL { ?s dcterms:identifier ?id }
                    OPTIONAL { ?s skos:notation ?n } OPTIONAL { ?s skos:prefLabel ?l } }
            GROUP BY ?s ORDER BY ?s""")
        kinds = list(BUILT_IN)
        taken = {k.name for k in kinds}
        for row in rows:
            scheme = row.iri("s") if isinstance(row.get("s"), IRI) else None
            if scheme is None or scheme == ICONCLASS_SCHEME:
                continue
            name = _name_for(scheme, row.text("ident", ""), row.text("notation", ""), taken)
            taken.add(name)
            kinds.append(scheme_kind(name, scheme, row.text("label", "")))
        return cls(kinds)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._by_name.values())

    def names(self, role: str | None = None) -> list[str]:
        return [k.name for k in self._by_name.values() if role is None or k.role == role]

    def schemes(self) -> list[NodeKind]:
        return [k for k in self._by_name.values() if k.is_concept]

    def get(self, name_or_iri: str, *, role: str | None = None) -> NodeKind:
        """A kind by name, or a scheme's kind by the scheme's IRI.

        :raises KgartError: naming the known ones, when there is no such kind.
        """
        kind = self._by_name.get(name_or_iri) or self._by_scheme.get(name_or_iri)
        if kind is None or (role is not None and kind.role != role):
            known = ", ".join(self.names(role))
            what = "scheme" if role == "concept" else "kind"
            raise KgartError(f"unknown {what} {name_or_iri[:100]!r}; known: {known}")
        return kind

    def __contains__(self, name: str) -> bool:
        return name in self._by_name or name in self._by_scheme


def kind_of(store: TripleStore, kind: str | NodeKind) -> NodeKind:
    """A kind given as itself or by its name (the registry read only for a name)."""
    return kind if isinstance(kind, NodeKind) else Kinds.of(store).get(kind)


def _name_for(scheme: str, identifier: str, notation: str, taken: set[str]) -> str:
    for candidate in (identifier, notation, re.split(r"[/#]", scheme.rstrip("/#"))[-1]):
        name = re.sub(r"[^a-z0-9_]+", "_", candidate.strip().lower()).strip("_")
        if name and NAME.match(name) and name not in taken:
            return name
    n = 2
    while f"scheme_{n}" in taken:
        n += 1
    return f"scheme_{n}"


__all__ = ["ARTWORK", "BUILT_IN", "ICONCLASS", "NAME", "SENTENCE", "Kinds", "NodeKind", "kind_of", "scheme_kind"]
