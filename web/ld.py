"""Linked data: Iconclass concepts, artworks and sentences dereference with content negotiation.

Where things are served: Iconclass concepts at ``/iconclass/{notation}`` (the
notation percent-encoded as iconclass.org writes it; key, named and compound
forms resolve on demand like base ones); kgart's own IRIs
(``https://w3id.org/kgart/artwork/…``, ``…/sentence/…``) at the same path on
this server (``/artwork/…``, ``/sentence/…``). A suffix (``.ttl``, ``.jsonld``,
``.rdf``, ``.nt``, ``.html``) overrides the Accept header. Also: a VoID
description at ``/.well-known/void`` and gzipped N-Triples dumps per graph at
``/dump/{graph}.nt.gz``, streamed.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from urllib.parse import quote, unquote

from flask import Blueprint, Response, current_app, render_template, request, stream_with_context
from kgart.web.conneg import HTML, RDF_TYPES, choose, split_suffix
from werkzeug.exceptions import NotFound

from kgart.iconclass import Iconclass
from kgart.notation import notation_from_iri, notation_iri
from kgart.rdf import GRAPH_BASE, IRI, KGART_BASE, graph_iri, graph_name
from kgart.store import Store, serialize_triples

HIDDEN = ("https://w3id.org/kgart/ns#embedding",)


def ld_blueprint() -> Blueprint:
    bp = Blueprint("ld", __name__)
    bp.add_url_rule("/iconclass/", view_func=iconclass_top)
    bp.add_url_rule("/iconclass/<path:notation>", view_func=iconclass_concept)
    bp.add_url_rule("/artwork/<path:rest>", view_func=kgart_resource, defaults={"kind": "artwork"})
    bp.add_url_rule("/sentence/<path:rest>", view_func=kgart_resource, defaults={"kind": "sentence"})
    bp.add_url_rule("/resource", view_func=any_resource)
    bp.add_url_rule("/.well-known/void", view_func=void)
    bp.add_url_rule("/dump/<name>.nt.gz", view_func=dump)
    return bp


def _store() -> Store:
    return current_app.extensions["kgart"].store


def describe(store: Store, iri: str) -> list[tuple[object, object, object]]:
    rows = store.select(f"SELECT ?p ?o WHERE {{ <{iri}> ?p ?o }}").rows
    return [(IRI(iri), r["p"], r["o"]) for r in rows if str(r["p"]) not in HIDDEN]


def _respond(iri: str, triples: list, forced: str | None, html: callable) -> Response:  # type: ignore[valid-type]
    media = forced or choose(request.accept_mimetypes, [HTML, *RDF_TYPES])
    if media == HTML:
        return Response(html(), mimetype=HTML)
    used, body = serialize_triples(triples, media)
    response = Response(body, mimetype=used.split(";")[0])
    response.headers["Vary"] = "Accept"
    return response


def iconclass_top() -> Response:
    return iconclass_concept("")


def iconclass_concept(notation: str) -> Response:
    base, forced = split_suffix(notation)
    ic: Iconclass = current_app.extensions["kgart"].iconclass
    language = request.args.get("lang", "en")
    if not base:
        tops = [str(i) for i in range(10)]
        labels = ic.labels(tops, language)
        return Response(render_template("iconclass.html", top=True, children=[(n, labels[n].text) for n in tops],
                                        language=language), mimetype=HTML)
    resolved = ic.resolve(unquote(base))
    iri = resolved.iri
    triples = describe(_store(), iri) or ic.concept_triples(resolved.canonical, [language])

    def html() -> str:
        path = ic.labels(resolved.path, language)
        children = ic.labels(resolved.children, language)
        counts = artwork_counts(_store(), [notation_iri(n) for n in resolved.children])
        related_rows = _store().select(f"SELECT ?r WHERE {{ <{resolved.iri}> skos:related ?r }}").rows
        related = [n for n in (notation_from_iri(str(r["r"])) for r in related_rows) if n]
        related_labels = ic.labels(related, language)
        below = artworks_below(_store(), resolved.iri)
        return render_template("iconclass.html", top=False, resolved=resolved,
                               label=ic.label(resolved.notation, language),
                               path=[(n, path[n].text) for n in resolved.path],
                               children=[(n, children[n].text, counts.get(str(notation_iri(n)), 0))
                                         for n in resolved.children],
                               artworks=below, related=[(n, related_labels[n].text) for n in related],
                               keywords=([] if resolved.notation.is_compound
                                         else ic.keywords(resolved.canonical, language)),
                               language=language, quote=lambda n: quote(n, safe=""))
    return _respond(iri, triples, forced, html)


def artwork_counts(store: Store, concepts: list[IRI]) -> dict[str, int]:
    """Artworks annotated with each concept or anything below it (subsumption), in one query."""
    if not concepts:
        return {}
    values = " ".join(f"<{c}>" for c in concepts[:2000])
    rows = store.select(f"""SELECT ?c (COUNT(DISTINCT ?a) AS ?n) WHERE {{ VALUES ?c {{ {values} }}
        ?a a schema:VisualArtwork ; dcterms:subject ?s . ?s skos:broader* ?c }} GROUP BY ?c""").rows
    return {str(r["c"]): int(r["n"].value) for r in rows}  # type: ignore[union-attr]


def artworks_below(store: Store, concept: IRI, limit: int = 24) -> list[dict[str, str]]:
    """Some artworks annotated with the concept or below it, with the code they carry."""
    rows = store.select(f"""SELECT ?a (SAMPLE(?t) AS ?title) (SAMPLE(?img) AS ?image) (SAMPLE(?code) AS ?n) WHERE {{
        ?a a schema:VisualArtwork ; dcterms:subject ?s . ?s skos:broader* <{concept}> ; skos:notation ?code .
        OPTIONAL {{ ?a schema:name ?t }} OPTIONAL {{ ?a schema:image ?img }} }} GROUP BY ?a LIMIT {limit}""").rows
    from kgart.web.ui import local_path

    return [{"path": local_path(str(r["a"])), "title": r["title"].value if "title" in r else str(r["a"]),  # type: ignore[union-attr]
             "image": str(r.get("image", "")), "code": r["n"].value if "n" in r else ""} for r in rows]  # type: ignore[union-attr]


def kgart_resource(rest: str, kind: str) -> Response:
    base, forced = split_suffix(rest)
    iri = f"{KGART_BASE}{kind}/{base}"
    triples = describe(_store(), iri)
    if not triples:
        raise NotFound(f"no {kind} <{iri}> in this store")
    return _resource(iri, kind, triples, forced)


def any_resource() -> Response:
    """Any node the store holds, by its IRI (``/resource?iri=…``): for artworks that keep
    their own IRIs (Linked Art) and anything else loaded as RDF. ``format=ttl`` (or jsonld,
    rdf, nt, html) stands in for a suffix."""
    iri = request.args.get("iri", "")
    fmt = request.args.get("format", "")
    forced = split_suffix(f"x.{fmt}")[1] if fmt else None
    triples = describe(_store(), iri) if iri.startswith(("http://", "https://", "urn:")) else []
    if not triples:
        raise NotFound(f"nothing about <{iri}> in this store")
    kind = "artwork" if any(str(o) == "https://schema.org/VisualArtwork" for _, _, o in triples) else "resource"
    return _resource(iri, kind, triples, forced)


def _resource(iri: str, kind: str, triples: list, forced: str | None) -> Response:  # type: ignore[type-arg]
    """A node's triples in the negotiated format; artworks get their own HTML page."""
    def html() -> str:
        if kind == "artwork":
            from kgart.web.ui import artwork_details

            return render_template("artwork.html", **artwork_details(iri))
        return render_template("resource.html", iri=iri, kind=kind, triples=triples)
    return _respond(iri, triples, forced, html)


def void() -> Response:
    store = _store()
    lines = ["@prefix void: <http://rdfs.org/ns/void#> .", "@prefix dcterms: <http://purl.org/dc/terms/> .",
             f"<{request.url_root}.well-known/void> a void:Dataset ; dcterms:title \"kgart\" ;"
             f" void:sparqlEndpoint <{request.url_root}sparql> ."]
    for g in store.graphs():
        name = graph_name(g.iri)
        lines.append(f"<{g.iri}> a void:Dataset ; void:triples {g.triples} ; "
                     f"void:dataDump <{request.url_root}dump/{quote(name, safe='')}.nt.gz> .")
    body = "\n".join(lines) + "\n"
    media = choose(request.accept_mimetypes, ["text/turtle", *RDF_TYPES[1:]])
    if media == "text/turtle":
        return Response(body, mimetype=media)
    from kgart.store import parse_rdf

    return _respond("", list(parse_rdf(body.encode(), "text/turtle")), media, lambda: body)


def dump(name: str) -> Response:
    store = _store()
    graph = graph_iri(unquote(name)) if not name.startswith("http") else name
    if not store.has_graph(graph) or not graph.startswith(GRAPH_BASE):
        raise NotFound(f"no graph {name!r}")

    def chunks() -> Iterator[bytes]:
        compressor = gzip.compress  # one member per chunk: valid gzip, streamed
        batch: list[tuple[object, object, object]] = []
        from kgart.store import serialize_ntriples

        for triple in store.triples(graph):
            batch.append(triple)
            if len(batch) >= 20_000:
                yield compressor(serialize_ntriples(batch))  # type: ignore[arg-type]
                batch = []
        if batch:
            yield compressor(serialize_ntriples(batch))  # type: ignore[arg-type]

    return Response(stream_with_context(chunks()), mimetype="application/gzip",
                    headers={"Content-Disposition": f'attachment; filename="{name}.nt.gz"'})
