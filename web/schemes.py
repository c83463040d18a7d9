"""The tree browser for any concept scheme in the store (Iconclass has its own, richer pages).

``/scheme/`` lists the schemes (:mod:`kgart.kinds`); ``/scheme/{name}`` shows a
scheme's top concepts, ``/scheme/{name}?concept=IRI`` one concept with its path to
the top, its children and the artworks annotated with it or anything below it.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request
from kgart.web.ld import artwork_counts, artworks_below
from kgart.web.params import language_param
from werkzeug.exceptions import BadRequest, NotFound

from kgart.errors import InvalidTermError, KgartError
from kgart.kinds import Kinds, NodeKind
from kgart.oxigraph_adapter import checked_iri
from kgart.rdf import IRI, Literal, preferred_labels
from kgart.sparql_template import Bindings
from kgart.triplestore import TripleStore


def schemes_blueprint() -> Blueprint:
    bp = Blueprint("schemes", __name__)
    bp.add_url_rule("/scheme/", view_func=scheme_list)
    bp.add_url_rule("/scheme/<name>", view_func=scheme_page)
    return bp


def _store() -> TripleStore:
    return current_app.extensions["kgart"].store


def scheme_list() -> Response:
    kinds = Kinds.of(_store()).schemes()
    return Response(render_template("scheme.html", listing=True, kinds=kinds), mimetype="text/html")


def scheme_page(name: str) -> Response:
    try:
        kind = Kinds.of(_store()).get(name, role="concept")
    except KgartError as e:
        raise NotFound(str(e)) from e
    language = language_param()
    concept = request.args.get("concept")
    path: list[tuple[IRI, str]] = []
    if concept:
        try:
            current = checked_iri(concept)
        except InvalidTermError as e:
            raise BadRequest("concept must be an IRI") from e
        path = _path(kind, current, language)
        if not path:
            raise NotFound("no such concept in this scheme")
        children = _children(kind, current, language)
    else:
        current = None
        children = _tops(kind, language)
    counts = artwork_counts(_store(), [c for c, _ in children])
    return Response(render_template(
        "scheme.html", listing=False, kind=kind, path=path, language=language,
        children=[(c, label, counts.get(str(c), 0)) for c, label in children],
        artworks=artworks_below(_store(), current) if current else []), mimetype="text/html")


def _label_rows(kind: NodeKind, template: str, bindings: Bindings, language: str) -> list[tuple[IRI, str]]:
    rows = _store().select(template, {"scheme": kind.concept_scheme, **bindings}).rows
    labels = preferred_labels(((r.iri("c"), r.literal("l") if "l" in r else Literal(str(r["c"]))) for r in rows),
                              language)
    return sorted(((IRI(c), text) for c, text in labels.items()), key=lambda x: x[1].lower())


def _tops(kind: NodeKind, language: str) -> list[tuple[IRI, str]]:
    return _label_rows(kind, """SELECT ?c ?l WHERE { ?c skos:inScheme $scheme .
        FILTER NOT EXISTS { ?c skos:broader ?b . ?b skos:inScheme $scheme } OPTIONAL { ?c skos:prefLabel ?l } }
        LIMIT 2000""", {}, language)


def _children(kind: NodeKind, concept: IRI, language: str) -> list[tuple[IRI, str]]:
    return _label_rows(kind, """SELECT ?c ?l WHERE { ?c skos:inScheme $scheme ; skos:broader $concept .
        OPTIONAL { ?c skos:prefLabel ?l } } LIMIT 2000""", {"concept": concept}, language)


def _path(kind: NodeKind, concept: IRI, language: str) -> list[tuple[IRI, str]]:
    """From the top of the scheme down to the concept (its first broader at each step)."""
    chain: list[tuple[IRI, str]] = []
    current: IRI | None = concept
    while current is not None and len(chain) < 64:
        found = _label_rows(kind, """SELECT ?c ?l WHERE { BIND($concept AS ?c) ?c skos:inScheme $scheme .
            OPTIONAL { ?c skos:prefLabel ?l } }""", {"concept": current}, language)
        if not found:
            break
        chain.append(found[0])
        above = _store().select("SELECT ?b WHERE { $concept skos:broader ?b . ?b skos:inScheme $scheme } "
                                "ORDER BY ?b LIMIT 1", {"concept": current, "scheme": kind.concept_scheme}).rows
        current = above[0].iri("b") if above else None
    return chain[::-1]
