"""Linked data: Iconclass concepts, artworks and sentences dereference with content negotiation.

Where things are served: Iconclass concepts at ``/iconclass/{notation}`` (the
notation percent-encoded as iconclass.org writes it; key, named and compound
forms resolve on demand like base ones); kgart's own IRIs
(``https://w3id.org/kgart/artwork/…``, ``…/sentence/…``) at the same path on
this server (``/artwork/…``, ``/sentence/…``); any other node at
``/resource?iri=…``. A suffix (``.ttl``, ``.jsonld``, ``.rdf``, ``.nt``,
``.html``) overrides the Accept header; ``application/json`` gets JSON-LD; a
media type kgart cannot write gets 406. Also: a VoID description at
``/.well-known/void`` and gzipped N-Triples dumps per graph at
``/dump/{graph}.nt.gz``, streamed.
"""

from __future__ import annotations

import functools
import gzip
from collections.abc import Callable, Iterator
from urllib.parse import quote, unquote

from flask import Blueprint, Response, current_app, g, render_template, request, stream_with_context
from kgart.web.conneg import HTML, RDF_TYPES, negotiate, split_suffix
from kgart.web.params import language_param
from werkzeug.exceptions import BadRequest, NotAcceptable, NotFound

from kgart.errors import InvalidTermError
from kgart.iconclass import Iconclass
from kgart.notation import notation_from_iri, notation_iri
from kgart.oxigraph_adapter import checked_iri, serialize_ntriples, serialize_triples
from kgart.rdf import (
    DCTERMS,
    GRAPH_BASE,
    ICONCLASS_SCHEME,
    IRI,
    KGART_BASE,
    RDF,
    SKOS,
    XSD,
    Literal,
    Namespace,
    Triple,
    graph_iri,
    graph_name,
)
from kgart.sparql_template import iri_list
from kgart.triplestore import TripleStore

HIDDEN = ("https://w3id.org/kgart/ns#embedding",)
LD_TYPES = [HTML, *RDF_TYPES]


def ld_blueprint() -> Blueprint:
    bp = Blueprint("ld", __name__)
    bp.add_url_rule("/iconclass/", view_func=kept_whole(iconclass_top))
    bp.add_url_rule("/iconclass/<path:notation>", view_func=kept_whole(iconclass_concept))
    resource = kept_whole(kgart_resource)
    bp.add_url_rule("/artwork/<path:rest>", view_func=resource, defaults={"kind": "artwork"})
    bp.add_url_rule("/sentence/<path:rest>", view_func=resource, defaults={"kind": "sentence"})
    bp.add_url_rule("/resource", view_func=kept_whole(any_resource))
    bp.add_url_rule("/.well-known/void", view_func=void)
    bp.add_url_rule("/dump/<name>.nt.gz", view_func=dump)
    return bp


def _store() -> TripleStore:
    return current_app.extensions["kgart"].store


def kept_whole(view: Callable[..., Response]) -> Callable[..., Response]:
    """Keep a node's RDF representation for the next identical request (linked-data clients and
    crawlers ask for the same nodes again and again): under the request's validator, like whole
    SPARQL results (see kgart.web.result_cache), so any load, update or annotation makes it
    unreachable at once. HTML pages are made afresh (they show who is signed in)."""
    @functools.wraps(view)
    def answer(*args: object, **kwargs: object) -> Response:
        services = current_app.extensions["kgart"]
        key = g.get("kgart_tag") if services.result_cache is not None else None
        if key is not None:
            kept = services.result_cache.get(key)
            if kept is not None:
                from kgart.web.operations import metrics_of

                metrics_of(current_app).linked_data_cache_hits.inc()
                return Response(kept[1], mimetype=kept[0])
        response = view(*args, **kwargs)
        if key is not None and response.status_code == 200 and response.mimetype != HTML \
                and not response.is_streamed:
            services.result_cache.put(key, response.mimetype, response.get_data())
        return response
    return answer


def describe(store: TripleStore, iri: str) -> list[Triple]:
    """A node's own triples (embeddings left out); none for a value that is not an IRI."""
    try:
        subject = checked_iri(iri)
    except InvalidTermError:
        return []
    rows = store.select("SELECT ?p ?o WHERE { $s ?p ?o }", {"s": subject}).rows
    return [(subject, r.iri("p"), r["o"]) for r in rows if str(r["p"]) not in HIDDEN]


def _media(forced: str | None) -> str:
    """The negotiated media type, or 406 naming what can be had."""
    media = forced or negotiate(request.accept_mimetypes, LD_TYPES)
    if media is None:
        raise NotAcceptable(f"this resource is available as {', '.join(LD_TYPES)}")
    return media


def _respond(triples: list[Triple], forced: str | None, html: Callable[[], str]) -> Response:
    media = _media(forced)
    if media == HTML:
        response = Response(html(), mimetype=HTML)
    else:
        used, body = serialize_triples(triples, media)
        response = Response(body, mimetype=used.split(";")[0])
    if forced is None:
        response.headers["Vary"] = "Accept"
    return response


def iconclass_top() -> Response:
    return iconclass_concept("")


def iconclass_concept(notation: str) -> Response:
    base, forced = split_suffix(notation)
    ic: Iconclass = current_app.extensions["kgart"].iconclass
    language = language_param()
    if not base:
        tops = [str(i) for i in range(10)]
        labels = ic.labels(tops, language)
        triples: list[Triple] = [(ICONCLASS_SCHEME, RDF.type, SKOS.ConceptScheme)]
        triples += [(ICONCLASS_SCHEME, SKOS.hasTopConcept, notation_iri(n)) for n in tops]
        return _respond(triples, forced, lambda: render_template(
            "iconclass.html", top=True, children=[(n, labels[n].text) for n in tops], language=language,
            languages=sorted(ic.languages)))
    resolved = ic.resolve(unquote(base))
    iri = resolved.iri
    triples = describe(_store(), iri) or ic.concept_triples(resolved.canonical, [language])

    def html() -> str:
        path = ic.labels(resolved.path, language)
        children = ic.labels(resolved.children, language)
        counts = artwork_counts(_store(), [notation_iri(n) for n in resolved.children])
        related_rows = _store().select("SELECT ?r WHERE { $c skos:related ?r }", {"c": resolved.iri}).rows
        related = [n for n in (notation_from_iri(str(r["r"])) for r in related_rows) if n]
        related_labels = ic.labels(related, language)
        page = _page_number()
        below = artworks_below(_store(), resolved.iri, limit=ARTWORKS_PER_PAGE + 1,
                               offset=page * ARTWORKS_PER_PAGE)
        more = len(below) > ARTWORKS_PER_PAGE
        broader = [n for n in (notation_from_iri(str(r["b"])) for r in _store().select(
            "SELECT ?b WHERE { $c skos:broader ?b } ORDER BY ?b", {"c": resolved.iri}).rows) if n]
        broader_labels = ic.labels(broader, language)
        return render_template("iconclass.html", top=False, resolved=resolved,
                               all_labels=[(lg, ic.label(resolved.notation, lg).text) for lg in sorted(ic.languages)
                                           if not ic.label(resolved.notation, lg).fallback],
                               broader=[(n, broader_labels[n].text) for n in broader],
                               similar=_similar_concepts(resolved.iri, language),
                               page=page, more=more,
                               label=ic.label(resolved.notation, language),
                               path=[(n, path[n].text) for n in resolved.path],
                               children=[(n, children[n].text, counts.get(str(notation_iri(n)), 0))
                                         for n in resolved.children],
                               artworks=below[:ARTWORKS_PER_PAGE],
                               related=[(n, related_labels[n].text) for n in related],
                               keywords=([] if resolved.notation.is_compound
                                         else ic.keywords(resolved.canonical, language)),
                               language=language, languages=sorted(ic.languages),
                               quote=lambda n: quote(n, safe=""))
    return _respond(triples, forced, html)


def artwork_counts(store: TripleStore, concepts: list[IRI]) -> dict[str, int]:
    """Artworks annotated with each concept or anything below it (subsumption), in one query."""
    if not concepts:
        return {}
    rows = store.select("""SELECT ?c (COUNT(DISTINCT ?a) AS ?n) WHERE { VALUES ?c { $concepts }
        ?a a schema:VisualArtwork ; dcterms:subject ?s . ?s skos:broader* ?c } GROUP BY ?c""",
                        {"concepts": iri_list(concepts[:2000])}).rows
    return {str(r["c"]): r.int("n") for r in rows}


ARTWORKS_PER_PAGE = 24


def _page_number() -> int:
    text = request.args.get("page", "0")
    if not text.isdigit() or len(text) > 6:
        raise BadRequest("page is a number from 0")
    return int(text)


def _similar_concepts(iri: IRI, language: str, k: int = 8) -> list[tuple[str, str, float]]:
    """Concepts nearest this one by their vectors (none before kgart embed)."""
    from kgart.errors import KgartError

    try:
        hits = current_app.extensions["kgart"].retriever().similar(str(iri), k=k, kind="iconclass")
    except KgartError:
        return []
    notations = [h.notation for h in hits if h.notation]
    labels = current_app.extensions["kgart"].iconclass.labels(notations, language)
    return [(n, labels[n].text if n in labels else "", h.score) for h, n in zip(hits, notations, strict=False)]


def artworks_below(store: TripleStore, concept: IRI, limit: int = 24, offset: int = 0) -> list[dict[str, str]]:
    """Artworks annotated with the concept or below it, with the code they carry, a page at a time.

    The concept comes in by VALUES, not as a constant in the pattern: Oxigraph then walks
    ``skos:broader*`` up from the concept and looks up the subjects (9 ms for 73D on the Tate +
    RKD store) instead of testing every artwork's every subject (6.5 s)."""
    rows = store.select("""SELECT ?a (SAMPLE(?t) AS ?title) (SAMPLE(?img) AS ?image) (SAMPLE(?code) AS ?n) WHERE {
        VALUES ?c { $concept } ?a a schema:VisualArtwork ; dcterms:subject ?s . ?s skos:broader* ?c .
        OPTIONAL { ?s skos:notation ?code } OPTIONAL { ?a schema:name ?t } OPTIONAL { ?a schema:image ?img } }
        GROUP BY ?a ORDER BY ?a LIMIT $limit OFFSET $offset""",
                        {"concept": iri_list([concept]), "limit": limit, "offset": offset}).rows
    from kgart.web.ui import local_path

    return [{"path": local_path(str(r["a"])), "title": r.text("title", str(r["a"])),
             "image": r.text("image", ""), "code": r.text("n", "")} for r in rows]


def kgart_resource(rest: str, kind: str) -> Response:
    base, forced = split_suffix(rest)
    iri = f"{KGART_BASE}{kind}/{base}"
    triples = describe(_store(), iri)
    if not triples:
        raise NotFound(f"no {kind} with this IRI in this store")
    return _resource(iri, kind, triples, forced)


def any_resource() -> Response:
    """Any node the store holds, by its IRI (``/resource?iri=…``): for artworks that keep
    their own IRIs (Linked Art) and anything else loaded as RDF. ``format=ttl`` (or jsonld,
    rdf, nt, html) stands in for a suffix."""
    iri = request.args.get("iri", "")
    fmt = request.args.get("format", "")
    forced = None
    if fmt:
        forced = split_suffix(f"x.{fmt}")[1]
        if forced is None or fmt.startswith(".") or "." in fmt:
            raise BadRequest("format is one of ttl, jsonld, json, rdf, nt, html")
    try:
        subject = checked_iri(iri)
    except InvalidTermError as e:
        raise BadRequest("iri must be an absolute IRI") from e
    triples = describe(_store(), subject)
    if not triples:
        raise NotFound("nothing about this IRI in this store")
    kind = "artwork" if any(str(o) == "https://schema.org/VisualArtwork" for _, _, o in triples) else "resource"
    return _resource(subject, kind, triples, forced)


def _resource(iri: str, kind: str, triples: list[Triple], forced: str | None) -> Response:
    """A node's triples in the negotiated format; artworks get their own HTML page."""
    def html() -> str:
        if kind == "artwork":
            from kgart.web.ui import artwork_details

            return render_template("artwork.html", **artwork_details(iri))
        return render_template("resource.html", iri=iri, kind=kind, triples=triples)
    return _respond(triples, forced, html)


VOID = Namespace("http://rdfs.org/ns/void#")


def void() -> Response:
    """The VoID description: the dataset, its SPARQL endpoint, each graph with its size and dump."""
    root = request.url_root
    dataset = checked_iri(root + ".well-known/void")
    triples: list[Triple] = [(dataset, RDF.type, VOID.Dataset), (dataset, DCTERMS["title"], Literal("kgart")),
                             (dataset, VOID.sparqlEndpoint, checked_iri(root + "sparql"))]
    for info in _store().graphs():
        graph = checked_iri(info.iri)
        triples += [(graph, RDF.type, VOID.Dataset),
                    (graph, VOID.triples, Literal(str(info.triples), datatype=XSD.integer)),
                    (graph, VOID.dataDump, checked_iri(f"{root}dump/{quote(graph_name(info.iri), safe='')}.nt.gz"))]
    media = _media(None)
    used, data = serialize_triples(triples, "text/turtle" if media == HTML else media, {"void": str(VOID)})
    response = Response(data, mimetype=used.split(";")[0])
    response.headers["Vary"] = "Accept"
    return response


def dump(name: str) -> Response:
    store = _store()
    graph = graph_iri(unquote(name))
    try:
        known = graph.startswith(GRAPH_BASE) and store.has_graph(checked_iri(graph))
    except InvalidTermError:
        known = False
    if not known:
        raise NotFound("no such graph; /.well-known/void lists the dumps")

    def chunks() -> Iterator[bytes]:
        batch: list[Triple] = []
        for triple in store.triples(graph):
            batch.append(triple)
            if len(batch) >= 20_000:
                yield gzip.compress(serialize_ntriples(batch))  # one member per chunk: valid gzip, streamed
                batch = []
        if batch:
            yield gzip.compress(serialize_ntriples(batch))

    filename = quote(name, safe="")
    return Response(stream_with_context(chunks()), mimetype="application/gzip",
                    headers={"Content-Disposition": f'attachment; filename="{filename}.nt.gz"'})
