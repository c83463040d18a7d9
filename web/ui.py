"""HTML pages people use: search (text or image) with a result grid, and artwork pages."""

from __future__ import annotations

import os
import tempfile
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request
from werkzeug.exceptions import BadRequest

from kgart.errors import KgartError
from kgart.retrieval import COMPONENTS, Query
from kgart.store import Store


def ui_blueprint() -> Blueprint:
    bp = Blueprint("ui", __name__)
    bp.add_url_rule("/", view_func=search_page, methods=["GET", "POST"])
    return bp


def _store() -> Store:
    return current_app.extensions["kgart"].store


def search_page() -> Response:
    services = current_app.extensions["kgart"]
    values = request.form if request.method == "POST" else request.args
    text = values.get("q", "").strip()
    target = values.get("target", "concept")
    if target not in ("concept", "artwork"):
        raise BadRequest("target must be concept or artwork")
    under = values.get("under", "").strip() or None
    image_path = ""
    upload = request.files.get("image")
    results: list[dict[str, Any]] = []
    message = ""
    try:
        if upload is not None and upload.filename:
            with tempfile.NamedTemporaryFile(suffix=os.path.splitext(upload.filename)[1], delete=False) as f:
                f.write(upload.read())
                image_path = f.name
        if text or image_path or (under and target == "artwork"):
            retriever = services.retriever()
            query = Query(text=text, image=image_path)
            if target == "concept":
                hits = retriever.search_concepts(query, k=24, under=under)
                widest = max((sum(max(v, 0.0) for v in h.components.values()) for h in hits), default=0.0)
                results = [{"kind": "concept", "notation": h.notation, "label": h.label, "score": h.score,
                            "parts": blend_bar(h.components, widest)} for h in hits]
            else:
                hits = retriever.search_items(query, "artwork", k=24, under=under)
                results = [dict(_artwork_card(h.iri), score=h.score, codes=h.codes) for h in hits]
    except KgartError as e:
        message = str(e)
    finally:
        if image_path:
            os.unlink(image_path)
    return Response(render_template("search.html", q=text, target=target, under=under or "", results=results,
                                    message=message, components=COMPONENTS), mimetype="text/html")


def blend_bar(components: dict[str, float], widest: float) -> list[dict[str, Any]]:
    """Each blend component of a result as a segment of a bar (percent of the widest result),
    so that a glance shows why a concept ranks where it does."""
    return [{"name": name, "value": value, "width": 100 * max(value, 0.0) / widest if widest > 0 else 0.0}
            for name, value in components.items()]


def _artwork_card(iri: str) -> dict[str, Any]:
    # The English title when there is one, else any.
    rows = _store().select(f"""SELECT ?name ?image WHERE {{ OPTIONAL {{ <{iri}> schema:name ?name }}
        OPTIONAL {{ <{iri}> schema:image ?image }} }} ORDER BY DESC(lang(?name) = "en") LIMIT 1""").rows
    row = rows[0] if rows else {}
    return {"kind": "artwork", "iri": iri, "path": local_path(iri),
            "title": row["name"].value if "name" in row else iri.rsplit("/", 1)[-1],  # type: ignore[union-attr]
            "image": str(row.get("image", ""))}


def local_path(iri: str) -> str:
    """Where this server shows a node: its path for kgart's own IRIs, /resource?iri=… otherwise."""
    from urllib.parse import quote

    from kgart.rdf import KGART_BASE

    return "/" + iri[len(KGART_BASE):] if iri.startswith(KGART_BASE) else f"/resource?iri={quote(iri, safe='')}"


def artwork_details(iri: str) -> dict[str, Any]:
    """What the artwork page shows: metadata, codes with labels, sentences, similar artworks."""
    store = _store()
    card = _artwork_card(iri)
    titles = [r["t"] for r in store.select(f"SELECT ?t WHERE {{ <{iri}> schema:name ?t }}").rows]
    creators = [r["n"].value for r in store.select(  # type: ignore[union-attr]
        f"SELECT ?n WHERE {{ <{iri}> schema:creator/schema:name ?n }}").rows]
    date = store.select(f"SELECT ?d WHERE {{ <{iri}> schema:dateCreated ?d }}").rows
    descriptions = [r["d"].value for r in store.select(  # type: ignore[union-attr]
        f"SELECT ?d WHERE {{ <{iri}> schema:description ?d }}").rows]
    codes = [(r["n"].value, r["l"].value if "l" in r else "") for r in store.select(  # type: ignore[union-attr]
        f"""SELECT ?n ?l WHERE {{ <{iri}> dcterms:subject ?c . ?c skos:notation ?n
            OPTIONAL {{ ?c skos:prefLabel ?l FILTER(lang(?l) = "en") }} }} ORDER BY ?n""").rows]
    sentences = [(r["type"].value, r["text"].value) for r in store.select(  # type: ignore[union-attr]
        f"""SELECT ?type ?text WHERE {{ ?s schema:about <{iri}> ; kgart:sentenceType ?type ; schema:text ?text ;
            schema:position ?p }} ORDER BY ?p""").rows]
    similar: list[dict[str, Any]] = []
    try:
        similar = [dict(_artwork_card(h.iri), score=h.score)
                   for h in current_app.extensions["kgart"].retriever().similar(iri, k=8, kind="artwork")]
    except KgartError:
        pass  # no vector yet: the page says so
    return dict(card, titles=titles, creators=creators, date=date[0]["d"].value if date else "",  # type: ignore[union-attr]
                descriptions=descriptions, codes=codes, sentences=sentences, similar=similar)
