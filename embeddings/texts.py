"""What gets embedded: one documented function per node kind, and the store reader.

Change how a kind of node is described to the encoder here, in one place; the
source hash of each node's input changes with it, so ``kgart embed`` re-encodes
exactly the nodes whose text changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from kgart.iconclass import Iconclass
from kgart.kinds import NodeKind, kind_of
from kgart.notation import notation_from_iri
from kgart.rdf import IRI, Literal, graph_iri, preferred_labels
from kgart.sparql_template import Bindings
from kgart.triplestore import SelectResult, TripleStore

MAX_KEYWORDS = 8


@dataclass(frozen=True)
class NodeInput:
    """One node and what the encoder is given for it."""

    iri: IRI
    kind: str
    text: str = ""
    image: str = ""

    def source_hash(self, model_id: str, modality: str) -> str:
        """Hash of the encoded input: a vector with another hash is stale."""
        payload = self.text if modality == "text" else self.image
        return hashlib.sha256(f"{model_id}\x1f{modality}\x1f{payload}".encode()).hexdigest()[:32]


def iconclass_text(label: str, keywords: list[str] | None = None, parent: str | None = None) -> str:
    """An Iconclass concept: its label, optionally its keywords and its parent's label.

    By default (``read_nodes``) only the label is encoded: with the keywords appended,
    suggestion on the RKD evaluation fell (R@1 33.0 → 29.0 with every component on);
    keywords still count through the full-text component.

    >>> iconclass_text("crown of thorns ~ instruments of the Passion", ["crown of thorns"])
    'crown of thorns ~ instruments of the Passion. Keywords: crown of thorns'
    """
    text = label
    if keywords:
        text += ". Keywords: " + ", ".join(keywords[:MAX_KEYWORDS])
    if parent:
        text += f". Under: {parent}"
    return text


def artwork_text(titles: list[str], description: str = "") -> str:
    """An artwork: its titles (all languages, deduplicated), then its description.

    >>> artwork_text(["The Sea", "De zee", "The Sea"], "A grey sea.")
    'The Sea / De zee. A grey sea.'
    """
    text = " / ".join(dict.fromkeys(t for t in titles if t))
    if description:
        text = f"{text}. {description}" if text else description
    return text


def subject_text(label: str) -> str:
    """A concept of any other scheme (a Tate subject term, ``man, old``): its label."""
    return label


def sentence_text(text: str) -> str:
    """An Artpedia sentence: the sentence itself."""
    return text


def read_nodes(store: TripleStore, kind: str | NodeKind, *, language: str = "en", with_keywords: bool = False,
               with_parent: bool = False) -> Iterator[NodeInput]:
    """Every node of one kind (a name from :mod:`kgart.kinds`, or the kind) with its
    encoder input, in a stable order."""
    node_kind = kind_of(store, kind)
    if node_kind.name == "iconclass":
        yield from _iconclass_nodes(store, language, with_keywords, with_parent)
    elif node_kind.name == "artwork":
        yield from _artwork_nodes(store)
    elif node_kind.name == "sentence":
        rows = store.select("SELECT ?s ?t WHERE { ?s a kgart:Sentence ; schema:text ?t } ORDER BY ?s")
        for r in rows:
            yield NodeInput(r.iri("s"), "sentence", sentence_text(r.text("t")))
    else:
        yield from _scheme_nodes(store, node_kind, language)


def _scheme_nodes(store: TripleStore, kind: NodeKind, language: str) -> Iterator[NodeInput]:
    """The concepts of any SKOS scheme: the label in ``language``, else in English, else any."""
    rows = store.select("SELECT ?node ?l WHERE { $nodes ?node skos:prefLabel ?l }", {"nodes": kind.nodes})
    labels = preferred_labels(((str(r["node"]), r.literal("l")) for r in rows), language)
    for node in sorted(labels):
        yield NodeInput(IRI(node), kind.name, subject_text(labels[node]))


def _iconclass_nodes(store: TripleStore, language: str, with_keywords: bool, with_parent: bool
                     ) -> Iterator[NodeInput]:
    graph: Bindings = {"graph": graph_iri("iconclass"), "lang": Literal(language)}
    labels = _by_subject(store.select(
        "SELECT ?c ?v WHERE { GRAPH $graph { ?c a skos:Concept ; skos:prefLabel ?v FILTER(lang(?v) = $lang) } }",
        graph))
    keywords = _by_subject(store.select(
        "SELECT ?c ?v WHERE { GRAPH $graph { ?c a skos:Concept ; skos:altLabel ?v FILTER(lang(?v) = $lang) } }",
        graph)) if with_keywords else {}
    parents: dict[str, list[str]] = {}
    if with_parent:
        parents = _by_subject(store.select("SELECT ?c ?v WHERE { GRAPH $graph { ?c skos:broader ?v } }",
                                           {"graph": graph_iri("iconclass")}))
    every = [str(r["c"]) for r in store.select("SELECT ?c WHERE { GRAPH $graph { ?c a skos:Concept } }",
                                                {"graph": graph_iri("iconclass")}).rows]
    missing = [c for c in every if c not in labels]
    if missing:
        # No text of its own in this language (a few named forms have none in any):
        # the label Iconclass composes, from its template or in English.
        composed = Iconclass(store).labels([notation_from_iri(c) or "" for c in missing], language)
        for c in missing:
            labels[c] = [composed[notation_from_iri(c) or ""].text]
    for concept in sorted(labels):
        parent_label = None
        if with_parent and parents.get(concept):
            parent_label = (labels.get(parents[concept][0]) or [""])[0] or None
        yield NodeInput(IRI(concept), "iconclass",
                        iconclass_text(labels[concept][0], keywords.get(concept), parent_label))


def _artwork_nodes(store: TripleStore) -> Iterator[NodeInput]:
    titles = _by_subject(store.select(
        "SELECT ?a ?v WHERE { ?a a schema:VisualArtwork ; schema:name ?v } ORDER BY ?a ?v"))
    descriptions = _by_subject(store.select(
        "SELECT ?a ?v WHERE { ?a a schema:VisualArtwork ; schema:description ?v } ORDER BY ?a ?v"))
    images = _by_subject(store.select(
        "SELECT ?a ?v WHERE { ?a a schema:VisualArtwork ; schema:image ?v } ORDER BY ?a ?v"))
    every = sorted(set(titles) | set(descriptions) | set(images))
    for artwork in every:
        text = artwork_text(titles.get(artwork, []), " ".join(descriptions.get(artwork, [])))
        image = (images.get(artwork) or [""])[0]
        yield NodeInput(IRI(artwork), "artwork", text, image)


def _by_subject(result: SelectResult) -> dict[str, list[str]]:
    """Group ``?v`` values by the query's first variable (the node)."""
    key_name = result.variables[0]
    out: dict[str, list[str]] = {}
    for r in result.rows:
        if "v" in r:
            out.setdefault(str(r[key_name]), []).append(r.text("v"))
    return out
