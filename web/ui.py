"""HTML pages people use: search (text or image) with a result grid, and artwork pages."""

from __future__ import annotations

import os
import re
import tempfile
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request
from kgart.web.params import language_param, text_param
from kgart.web.security import safe_href
from werkzeug.exceptions import BadRequest

from kgart.errors import KgartError
from kgart.oxigraph_adapter import checked_iri
from kgart.query_translation import LANGUAGE_NAMES
from kgart.rdf import IRI, Literal
from kgart.retrieval import COMPONENTS, Query
from kgart.triplestore import Row, TripleStore


def ui_blueprint() -> Blueprint:
    bp = Blueprint("ui", __name__)
    bp.add_url_rule("/", view_func=home, methods=["GET", "POST"])
    bp.add_url_rule("/search", view_func=search_page, methods=["GET", "POST"])
    return bp


EXAMPLES = [("a ship in a storm", "concept"), ("the crown of thorns", "concept"), ("portrait of a woman", "artwork"),
            ("landscape with a river", "artwork")]
"""Queries the home page offers; they find something in the demo data (Iconclass and the Tate sample)."""


def home() -> Response:
    """What this server holds, with a way in: search, the tree's top level, SPARQL, the API.
    With a query (the search form posts here too) it is the search page."""
    if request.method == "POST" or any(k in request.args for k in ("q", "under", "target")):
        return search_page()
    from kgart.web.ld import artwork_counts

    from kgart.rdf import GRAPH_BASE, graph_name

    services = current_app.extensions["kgart"]
    store = _store()
    language = language_param()
    graphs: list[dict[str, Any]] = [{"name": graph_name(g.iri), "triples": g.triples} for g in store.graphs()
              if g.iri.startswith(GRAPH_BASE)]
    ic = services.iconclass
    tops = [str(i) for i in range(10)]
    labels = ic.labels(tops, language)
    from kgart.notation import notation_iri

    def count() -> tuple[dict[Any, int], dict[str, int]]:
        return collection_sizes(store), artwork_counts(store, [notation_iri(n) for n in tops])

    # The counts walk the whole tree under every top concept (about 0.4 s); they change with the data.
    sizes, counts = services.once_per_version("home", count)
    collections = [{"name": graph_name(g), "artworks": n} for g, n in sizes.items()]
    top = [{"notation": n, "label": labels[n].text, "artworks": counts.get(str(notation_iri(n)), 0)} for n in tops]
    models = [g for g in graphs if g["name"].startswith("embeddings/")]
    return Response(render_template(
        "home.html", graphs=[g for g in graphs if not g["name"].startswith("embeddings/")], models=models,
        collections=collections, languages=sorted(ic.languages), top=top, examples=EXAMPLES,
        model=services.config.model, ready=bool(models) and not services.embedding, language=language),
        mimetype="text/html")


def _store() -> TripleStore:
    return current_app.extensions["kgart"].store


def search_page() -> Response:
    services = current_app.extensions["kgart"]
    values = request.form if request.method == "POST" else request.args
    text = text_param("q", values.get("q", "").strip())
    target = values.get("target", "concept")
    if target not in ("concept", "artwork"):
        raise BadRequest("target must be concept or artwork")
    under = values.get("under", "").strip() or None
    image_path = ""
    upload = request.files.get("image")
    results: list[dict[str, Any]] = []
    message = ""
    translated = None
    try:
        if upload is not None and upload.filename:
            with tempfile.NamedTemporaryFile(suffix=upload_suffix(upload.filename), delete=False) as f:
                f.write(upload.read())
                image_path = f.name
        if text or image_path or (under and target == "artwork"):
            retriever = services.retriever()
            translated = retriever.translation(text)
            query = Query(text=text, image=image_path)
            if target == "concept":
                hits = retriever.search_concepts(query, k=24, under=under)
                widest = max((sum(max(v, 0.0) for v in h.components.values()) for h in hits), default=0.0)
                results = [{"kind": "concept", "notation": h.notation, "label": h.label, "score": h.score,
                            "parts": blend_bar(h.components, widest)} for h in hits]
            else:
                hits = retriever.search_items(query, "artwork", k=24, under=under)
                described = card_details([h.iri for h in hits], language_param())
                results = [dict(_artwork_card(h.iri), score=h.score, **described.get(h.iri, {})) for h in hits]
    except KgartError as e:
        message = str(e)
    finally:
        if image_path:
            os.unlink(image_path)
    return Response(render_template("search.html", q=text, target=target, under=under or "", results=results,
                                    message=message, components=COMPONENTS, translated=translated,
                                    language_names=LANGUAGE_NAMES), mimetype="text/html")


def upload_suffix(filename: str) -> str:
    """A file name's extension when it is a plain short one (the image readers go by it), else none:
    a 300-character or odd extension is no name the file system takes.

    >>> upload_suffix("storm.JPG"), upload_suffix("x." + "a" * 300), upload_suffix("x.p g")
    ('.JPG', '', '')
    """
    suffix = os.path.splitext(filename)[1]
    return suffix if re.fullmatch(r"\.[A-Za-z0-9]{1,10}", suffix) else ""


def blend_bar(components: dict[str, float], widest: float) -> list[dict[str, Any]]:
    """Each blend component of a result as a segment of a bar (percent of the widest result),
    so that a glance shows why a concept ranks where it does."""
    segments, offset = [], 0.0
    for name, value in components.items():
        width = 100 * max(value, 0.0) / widest if widest > 0 else 0.0
        segments.append({"name": name, "value": value, "width": width, "offset": offset})
        offset += width
    return segments


def _artwork_card(iri: str) -> dict[str, Any]:
    # The English title when there is one, else any.
    rows = _store().select("""SELECT ?name ?image WHERE { OPTIONAL { $a schema:name ?name }
        OPTIONAL { $a schema:image ?image } } ORDER BY DESC(lang(?name) = "en") ?name LIMIT 1""",
                           {"a": checked_iri(iri)}).rows
    row = rows[0] if rows else Row()
    image = row.text("image", "")
    return {"kind": "artwork", "iri": iri, "path": local_path(iri),
            "title": row.text("name", iri.rsplit("/", 1)[-1]), "image": image if safe_href(image) else ""}


def collection_sizes(store: TripleStore) -> dict[IRI, int]:
    """Each kgart collection graph and how many artworks it holds."""
    from kgart.rdf import GRAPH_BASE

    rows = store.select("SELECT ?g (COUNT(DISTINCT ?a) AS ?n) WHERE { GRAPH ?g { ?a a schema:VisualArtwork } } "
                        "GROUP BY ?g ORDER BY ?g").rows
    return {r.iri("g"): r.int("n") for r in rows if str(r["g"]).startswith(GRAPH_BASE)}


def card_details(iris: list[str], language: str) -> dict[str, dict[str, Any]]:
    """What a result card shows besides the title: creator, date, collection, and codes with
    their labels in ``language`` (each linking to its place in the tree), in two queries."""
    from kgart.notation import notation_from_iri
    from kgart.rdf import graph_name
    from kgart.sparql_template import iri_list

    if not iris:
        return {}
    store = _store()
    rows = store.select("""SELECT ?a (SAMPLE(?cn) AS ?creator) (SAMPLE(?d) AS ?date) (SAMPLE(?g) AS ?graph) WHERE {
        VALUES ?a { $artworks } OPTIONAL { ?a schema:creator/schema:name ?cn } OPTIONAL { ?a schema:dateCreated ?d }
        OPTIONAL { GRAPH ?g { ?a a schema:VisualArtwork } } } GROUP BY ?a""", {"artworks": iri_list(iris)}).rows
    out: dict[str, dict[str, Any]] = {str(r["a"]): {"creator": r.text("creator", ""), "date": r.text("date", ""),
                                                    "collection": graph_name(r.text("graph", "")), "codes": []}
                                      for r in rows}
    codes = store.select("SELECT DISTINCT ?a ?c WHERE { VALUES ?a { $artworks } ?a dcterms:subject ?c } ORDER BY ?c",
                         {"artworks": iri_list(iris)}).rows
    notations = {str(r["c"]): notation_from_iri(str(r["c"])) for r in codes}
    labels = current_app.extensions["kgart"].iconclass.labels([n for n in notations.values() if n], language)
    for r in codes:
        entry = out.setdefault(str(r["a"]), {"codes": []})
        notation = notations[str(r["c"])]
        if notation and len(entry["codes"]) < 6:
            entry["codes"].append({"notation": notation, "label": labels[notation].text if notation in labels else ""})
    return out


def local_path(iri: str) -> str:
    """Where this server shows a node: its path for kgart's own IRIs, /resource?iri=… otherwise."""
    from urllib.parse import quote

    from kgart.rdf import KGART_BASE

    return "/" + iri[len(KGART_BASE):] if iri.startswith(KGART_BASE) else f"/resource?iri={quote(iri, safe='')}"


def artwork_details(iri: str) -> dict[str, Any]:
    """What the artwork page shows: metadata, codes with labels, sentences, similar artworks."""
    store = _store()
    card = _artwork_card(iri)
    about = {"a": checked_iri(iri)}
    language = language_param()
    titles = [r.literal("t") for r in store.select("SELECT ?t WHERE { $a schema:name ?t }", about).rows]
    creators = [r.text("n") for r in store.select("SELECT ?n WHERE { $a schema:creator/schema:name ?n }", about)]
    date = store.select("SELECT ?d WHERE { $a schema:dateCreated ?d }", about).rows
    descriptions = [r.text("d") for r in store.select("SELECT ?d WHERE { $a schema:description ?d }", about)]
    codes = [(r.text("n"), r.text("l", "")) for r in store.select(
        """SELECT ?n (SAMPLE(?label) AS ?l) WHERE { $a dcterms:subject ?c . ?c skos:notation ?n
            OPTIONAL { ?c skos:prefLabel ?label FILTER(lang(?label) = $lang) } } GROUP BY ?n ORDER BY ?n""",
        {**about, "lang": Literal(language)})]
    sentences = [(r.text("type"), r.text("text")) for r in store.select(
        """SELECT ?type ?text WHERE { ?s schema:about $a ; kgart:sentenceType ?type ; schema:text ?text ;
            schema:position ?p } ORDER BY ?p""", about)]
    similar: list[dict[str, Any]] = []
    try:
        similar = [dict(_artwork_card(h.iri), score=h.score)
                   for h in current_app.extensions["kgart"].retriever().similar(iri, k=8, kind="artwork")]
    except KgartError:
        pass  # no vector yet: the page says so
    collection = card_details([iri], language).get(iri, {}).get("collection", "")
    return dict(card, titles=titles, creators=creators, date=date[0].text("d") if date else "", collection=collection,
                descriptions=descriptions, codes=codes, sentences=sentences, similar=similar)
