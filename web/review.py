"""Curator review: a queue of artworks per collection, and for one artwork its suggested codes
to accept or reject by keyboard, a code to add by notation or by name, and what others decided.

Pages work without script (each decision is a small form with its CSRF token);
``static/review.js`` adds the keys (j/k or arrows to move, a accept, r reject, n next,
p previous, / add a code). Decisions are Web Annotations (:mod:`kgart.annotations`),
so the API, SPARQL and the tree see them at once.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, redirect, render_template, request
from kgart.web.auth import require_writer, session_user
from kgart.web.params import language_param
from kgart.web.ui import _artwork_card, blend_bar, collection_sizes, local_path
from werkzeug.exceptions import BadRequest, NotFound

from kgart.annotations import STATUSES, Decision, Suggestion, classification
from kgart.errors import KgartError, NotationError
from kgart.notation import notation_from_iri
from kgart.oxigraph_adapter import checked_iri
from kgart.rdf import ANNOTATIONS_GRAPH, GRAPH_BASE, IRI, USER_BASE, graph_iri, graph_name
from kgart.sparql_template import Pattern
from kgart.triplestore import TripleStore

SUGGESTIONS = 10


def review_blueprint() -> Blueprint:
    bp = Blueprint("review", __name__)
    bp.add_url_rule("/review/", view_func=collections)
    bp.add_url_rule("/review/queue", view_func=queue)
    bp.add_url_rule("/review/item", view_func=item)
    bp.add_url_rule("/review/decide", view_func=decide, methods=["POST"])
    return bp


def _store() -> TripleStore:
    return current_app.extensions["kgart"].store


def collections() -> Response:
    """The collections with their artworks, and how many have no accepted code yet."""
    todo = {r.iri("g"): r.int("n") for r in _store().select(
        "SELECT ?g (COUNT(DISTINCT ?a) AS ?n) WHERE { GRAPH ?g { ?a a schema:VisualArtwork } " + _UNREVIEWED
        + " } GROUP BY ?g", {"ann": ANNOTATIONS_GRAPH}).rows}
    graphs = [{"name": graph_name(graph), "artworks": n, "todo": todo.get(graph, 0)}
              for graph, n in collection_sizes(_store()).items() if graph != ANNOTATIONS_GRAPH]
    return Response(render_template("review_collections.html", graphs=graphs), mimetype="text/html")


_UNREVIEWED = """FILTER NOT EXISTS { GRAPH $ann { ?x kgart:reviewStatus kgart:accepted ; oa:hasTarget ?t .
    ?t oa:hasSource? ?a } }"""
_IN_GRAPH_UNREVIEWED = "GRAPH $g { ?a a schema:VisualArtwork } " + _UNREVIEWED


class Queue:
    """Artworks of one collection without an accepted code, or all those under a concept, by IRI."""

    def __init__(self, graph: str, under: str) -> None:
        self.name = graph
        self.graph = checked_iri(graph_iri(graph))
        if not self.graph.startswith(GRAPH_BASE):
            raise BadRequest("graph is the name of a loaded collection (see /review/)")
        self.under = under
        self.concept: IRI | None = None
        if under:
            try:
                self.concept = current_app.extensions["kgart"].iconclass.resolve(under).iri
            except NotationError as e:
                raise BadRequest(str(e)) from None

    def _where(self, reviewed_too: bool = False) -> Pattern:
        """Which artworks the queue holds, as a graph pattern binding ?a (``reviewed_too``: the
        collection's, accepted codes or not)."""
        if self.concept is not None:
            return Pattern("GRAPH $g { ?a a schema:VisualArtwork } ?a dcterms:subject ?s . ?s skos:broader* $c",
                           {"g": self.graph, "c": self.concept})
        if reviewed_too:
            return Pattern("GRAPH $g { ?a a schema:VisualArtwork }", {"g": self.graph})
        return Pattern(_IN_GRAPH_UNREVIEWED, {"g": self.graph, "ann": ANNOTATIONS_GRAPH})

    def artworks(self, limit: int = 200) -> list[IRI]:
        rows = _store().select("SELECT DISTINCT ?a WHERE { $where } ORDER BY ?a LIMIT $limit",
                               {"where": self._where(), "limit": limit}).rows
        return [r.iri("a") for r in rows]

    def after(self, iri: str) -> IRI | None:
        """The next artwork to review after ``iri``."""
        rows = _store().select("SELECT DISTINCT ?a WHERE { $where FILTER(STR(?a) > STR($cur)) } ORDER BY ?a LIMIT 1",
                               {"where": self._where(), "cur": checked_iri(iri)}).rows
        return rows[0].iri("a") if rows else None

    def before(self, iri: str) -> IRI | None:
        """The artwork before ``iri`` in the collection (reviewed or not, so one can go back)."""
        rows = _store().select("SELECT DISTINCT ?a WHERE { $where FILTER(STR(?a) < STR($cur)) } ORDER BY DESC(?a) "
                               "LIMIT 1", {"where": self._where(reviewed_too=True), "cur": checked_iri(iri)}).rows
        return rows[0].iri("a") if rows else None

    def link(self, artwork: str, **extra: str) -> str:
        params = {"iri": artwork, "graph": self.name, **({"under": self.under} if self.under else {}), **extra}
        return "/review/item?" + urlencode(params)


def _queue() -> Queue:
    graph = request.values.get("graph", "").strip()
    if not graph:
        raise BadRequest("graph is the name of a loaded collection (see /review/)")
    return Queue(graph[:200], request.values.get("under", "").strip()[:200])


def queue() -> Response:
    q = _queue()
    language = language_param()
    items = [dict(_artwork_card(a), review=q.link(a, lang=language)) for a in q.artworks()]
    return Response(render_template("review_queue.html", queue=q, items=items, language=language),
                    mimetype="text/html")


def item() -> Response:
    q = _queue()
    iri = checked_iri(request.args.get("iri", ""))
    store = _store()
    if not store.ask("ASK { GRAPH $g { $a a schema:VisualArtwork } }", {"g": q.graph, "a": iri}):
        raise NotFound("no such artwork in this collection")
    language = language_param()
    services = current_app.extensions["kgart"]
    ic = services.iconclass
    card = _artwork_card(iri)
    about = {"a": iri}
    creators = [r.text("n") for r in store.select("SELECT ?n WHERE { $a schema:creator/schema:name ?n }", about)]
    dates = store.select("SELECT ?d WHERE { $a schema:dateCreated ?d } LIMIT 1", about).rows
    descriptions = [r.text("d") for r in store.select("SELECT ?d WHERE { $a schema:description ?d }", about)]
    catalogue = [notation_from_iri(str(r["c"])) or str(r["c"]) for r in store.select(
        "SELECT DISTINCT ?c WHERE { GRAPH ?h { $a dcterms:subject ?c } FILTER(?h != $ann) } ORDER BY ?c",
        {**about, "ann": ANNOTATIONS_GRAPH})]
    decisions = current_app.extensions["kgart"].annotations().decisions([iri])
    me = session_user()
    mine = {str(d.concept): d.status for d in decisions if me is not None and d.creator == me.iri}
    suggestions: list[dict[str, Any]] = []
    message = ""
    try:
        # Codes already rejected stay in the list, marked, so that a decision can be seen and undone.
        hits = services.retriever().suggest_for(iri, k=SUGGESTIONS, language=language, include_rejected=True)
        widest = max((sum(max(v, 0.0) for v in h.components.values()) for h in hits), default=0.0)
        for rank, h in enumerate(hits, 1):
            path = _path(ic, h.notation or "", language)
            suggestions.append({"rank": rank, "iri": h.iri, "notation": h.notation, "score": h.score,
                                "label": h.label or "",
                                "path": path, "parts": blend_bar(h.components, widest),
                                "components": json.dumps({k: round(v, 6) for k, v in h.components.items()}),
                                "mine": mine.get(h.iri, "")})
    except KgartError as e:
        message = str(e)
    labels = ic.labels([d for d in catalogue if d], language)
    decided = _decision_rows(decisions, ic, language)
    return Response(render_template(
        "review_item.html", queue=q, card=card, creators=creators, date=dates[0].text("d") if dates else "",
        descriptions=descriptions, catalogue=[(n, labels[n].text if n in labels else "") for n in catalogue],
        suggestions=suggestions, message=message, decided=decided, language=language,
        next_link=_maybe(q.after(iri), q, language), previous_link=_maybe(q.before(iri), q, language),
        here=q.link(iri, lang=language), iri=iri, error=request.args.get("error", "")[:300],
        selected=_int(request.args.get("sel", "0"))), mimetype="text/html")


def _maybe(artwork: IRI | None, q: Queue, language: str) -> str:
    return q.link(artwork, lang=language) if artwork is not None else ""


def _int(text: str) -> int:
    return int(text) if text.isdigit() and len(text) < 4 else 0


def _path(ic: Any, notation: str, language: str) -> list[tuple[str, str]]:
    """From the top of Iconclass down to the code, with labels (the code's place in the tree)."""
    if not notation:
        return []
    try:
        resolved = ic.resolve(notation)
    except NotationError:
        return []
    labels = ic.labels(resolved.path, language)
    return [(n, labels[n].text if n in labels else "") for n in resolved.path[:-1]]


def _decision_rows(decisions: list[Decision], ic: Any, language: str) -> list[dict[str, str]]:
    """Everyone's decisions on the artwork, with the codes' labels (fetched at once)."""
    notations = [notation_from_iri(str(d.concept)) or str(d.concept) for d in decisions]
    labels = ic.labels(notations, language)
    rows = []
    for d, notation in zip(decisions, notations, strict=True):
        creator = str(d.creator)
        who = creator[len(USER_BASE):] if creator.startswith(USER_BASE) else creator
        rows.append({"notation": notation, "label": labels[notation].text if notation in labels else "",
                     "status": d.status, "who": who, "annotation": local_path(str(d.annotation))})
    return rows


def decide() -> Response:
    """Accept, reject or add one code for one artwork (a form post; answers with the page again)."""
    user = require_writer()
    q = _queue()
    artwork = checked_iri(request.form.get("artwork", ""))
    status = request.form.get("status", "accepted")
    if status not in STATUSES:
        raise BadRequest(f"status is one of {', '.join(STATUSES)}")
    services = current_app.extensions["kgart"]
    language = language_param()
    here = {"lang": language, "sel": request.form.get("sel", "0")[:3]}
    try:
        concept = _concept(request.form.get("concept", "").strip()[:300], services)
    except KgartError as e:
        return redirect(q.link(artwork, error=str(e), **here), code=303)  # type: ignore[return-value]
    annotations = current_app.extensions["kgart"].annotations()
    own = [d for d in annotations.decisions([artwork]) if d.creator == user.iri and d.concept == concept]
    try:
        if own:
            annotations.set_status(own[0].annotation, status, user.iri)
        else:
            annotations.create(classification(artwork, concept, status=status,
                                              suggestion=_provenance(services)), user.iri)
    except KgartError as e:
        return redirect(q.link(artwork, error=str(e), **here), code=303)  # type: ignore[return-value]
    target = artwork
    if request.form.get("advance") == "1":
        target = q.after(artwork) or artwork
    return redirect(q.link(target, **here), code=303)  # type: ignore[return-value]


def _concept(text: str, services: Any) -> IRI:
    """A code as typed: an IRI, a notation (key and named forms resolve), or a label's words."""
    if not text:
        raise KgartError("give a code: a notation such as 73D82, or words of its label")
    if text.startswith(("http://", "https://")):
        return checked_iri(text)
    try:
        return services.iconclass.resolve(text).iri
    except NotationError as notation_error:
        retriever = services.retriever()
        hits = retriever.keywords.complete(text, "iconclass", 1) if retriever.keywords else []
        if not hits:
            raise KgartError(f"{notation_error}; and no label starts with {text[:80]!r}") from None
        return IRI(hits[0].iri)


def _provenance(services: Any) -> Suggestion | None:
    """The suggestion behind a decision, from the form the suggestion list posted."""
    rank = request.form.get("rank", "")
    if not rank.isdigit():
        return None  # a code added by hand
    try:
        components = json.loads(request.form.get("components", "{}")[:4000])
        score = float(request.form.get("score", "0")[:40])
        if not isinstance(components, dict) or not all(isinstance(v, (int, float)) for v in components.values()):
            raise ValueError("components")
    except ValueError:
        raise BadRequest("the suggestion's score and components are numbers") from None
    model = services.retriever().encoder.model_id
    blend = str(services.config.blend_config or "kgart/blend.toml")
    return Suggestion(int(rank[:4]), score, {str(k)[:40]: float(v) for k, v in list(components.items())[:16]},
                      model, blend)
