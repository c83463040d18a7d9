"""The SPARQL 1.1 Protocol at ``/sparql``: one blueprint, built from its dependencies.

Queries by GET (``?query=``), POST form (``query=``) and POST direct
(``application/sparql-query``); results by content negotiation (SPARQL JSON,
XML, CSV, TSV; Turtle, N-Triples, JSON-LD, RDF/XML for graphs). A bare GET
gives the service description (RDF) or a small HTML page. Updates
(``update=`` or ``application/sparql-update``) are refused unless an update
token is configured and sent as ``Authorization: Bearer …``.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from urllib.parse import urlparse

from flask import Blueprint, Response, current_app, render_template, request
from kgart.web.conneg import RDF_TYPES, RESULT_TYPES, choose
from werkzeug.exceptions import BadRequest, Forbidden, RequestEntityTooLarge, ServiceUnavailable, Unauthorized

from kgart.errors import QueryError
from kgart.rdf import PREFIXES
from kgart.sparql_extensions import has_knn, rewrite_knn, uses_similarity
from kgart.store import parse_rdf, serialize_triples

SERVICE_DESCRIPTION = """@prefix sd: <http://www.w3.org/ns/sparql-service-description#> .
@prefix kgart: <https://w3id.org/kgart/ns#> .
<{endpoint}> a sd:Service ;
    sd:endpoint <{endpoint}> ;
    sd:supportedLanguage sd:SPARQL11Query{update} ;
    sd:resultFormat <http://www.w3.org/ns/formats/SPARQL_Results_JSON>, <http://www.w3.org/ns/formats/SPARQL_Results_XML>,
        <http://www.w3.org/ns/formats/SPARQL_Results_CSV>, <http://www.w3.org/ns/formats/SPARQL_Results_TSV>,
        <http://www.w3.org/ns/formats/Turtle>, <http://www.w3.org/ns/formats/N-Triples>,
        <http://www.w3.org/ns/formats/JSON-LD>, <http://www.w3.org/ns/formats/RDF_XML> ;
    sd:feature sd:UnionDefaultGraph .
"""


def sparql_blueprint() -> Blueprint:
    bp = Blueprint("sparql", __name__)
    bp.add_url_rule("/sparql", view_func=sparql_endpoint, methods=["GET", "POST"])
    return bp


def _query_and_update() -> tuple[str | None, str | None]:
    if request.method == "GET":
        return request.args.get("query"), request.args.get("update")
    content_type = (request.mimetype or "").lower()
    if content_type == "application/sparql-query":
        return request.get_data(as_text=True), None
    if content_type == "application/sparql-update":
        return None, request.get_data(as_text=True)
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return request.form.get("query"), request.form.get("update")
    raise BadRequest(f"unsupported content type {request.mimetype!r}: use a form, application/sparql-query "
                     "or application/sparql-update")


def sparql_endpoint() -> Response:
    query, update = _query_and_update()
    store = current_app.extensions["kgart"].store
    if update is not None:
        return _update(update)
    if not query:
        return _description()
    _refuse_service(query)
    media = choose(request.accept_mimetypes, RESULT_TYPES + RDF_TYPES)
    services = current_app.extensions["kgart"]
    try:
        if has_knn(query):
            query = rewrite_knn(query, services.knn)
        functions = services.similarity_functions() if uses_similarity(query) else None
        used, body = _bounded(lambda: store.query_serialized(query, media, functions), services.query_timeout)
    except QueryError as e:
        raise BadRequest(str(e)) from e
    if len(body) > services.max_result_bytes:
        raise RequestEntityTooLarge(f"the result is larger than {services.max_result_bytes:,} bytes; "
                                    "narrow the query or add a LIMIT")
    return Response(body, mimetype=used.split(";")[0])


_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="kgart-sparql")


def _bounded(run: Callable[[], tuple[str, bytes]], timeout: float) -> tuple[str, bytes]:
    """Run a query with a time limit. The embedded store cannot cancel a query: past the
    limit the client gets 503 at once, and the query's thread finishes on its own."""
    future = _POOL.submit(run)
    try:
        return future.result(timeout=timeout)
    except FutureTimeout as e:
        raise ServiceUnavailable(f"the query did not finish within {timeout:g} s (query timeout)") from e


def _update(update: str) -> Response:
    settings = current_app.extensions["kgart"]
    token = settings.update_token
    if not token:
        raise Forbidden("this endpoint is read-only (no update token is configured)")
    sent = request.headers.get("Authorization", "")
    if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        raise Unauthorized("updates need Authorization: Bearer <update token>")
    if request.method != "POST":
        raise BadRequest("updates are sent by POST")
    try:
        settings.store.update(update)
    except QueryError as e:
        raise BadRequest(str(e)) from e
    return Response(status=204)


def _refuse_service(query: str) -> None:
    """SERVICE reaches other servers: refused unless the host is allowed, checked on the parsed query."""
    if "service" not in query.lower():
        return
    from rdflib.plugins.sparql import prepareQuery

    try:
        parsed = prepareQuery(query, initNs=PREFIXES)
    except Exception as e:  # rdflib's parser raises pyparsing errors of many kinds  # noqa: BLE001
        raise BadRequest(f"SPARQL syntax error: {e}") from e
    allowed = set(current_app.extensions["kgart"].service_allow)
    for endpoint in _service_endpoints(parsed.algebra):
        if urlparse(str(endpoint)).hostname not in allowed:
            hosts = ", ".join(sorted(allowed)) or "none"
            raise Forbidden(f"SERVICE <{endpoint}> is not allowed; allowed hosts: {hosts}")


def _service_endpoints(node: object) -> list[str]:
    found: list[str] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if hasattr(current, "name") and getattr(current, "name", None) == "ServiceGraphPattern":
            found.append(str(current.get("term")))  # type: ignore[attr-defined]
        if isinstance(current, dict):
            stack.extend(current.values())
        elif isinstance(current, (list, tuple)):
            stack.extend(current)
    return found


def _description() -> Response:
    settings = current_app.extensions["kgart"]
    media = choose(request.accept_mimetypes, ["text/html", *RDF_TYPES])
    if media == "text/html":
        return Response(render_template("sparql.html", examples=EXAMPLES), mimetype="text/html")
    endpoint = request.base_url
    turtle = SERVICE_DESCRIPTION.format(endpoint=endpoint,
                                        update=", sd:SPARQL11Update" if settings.update_token else "")
    if media == "text/turtle":
        return Response(turtle, mimetype=media)
    used, body = serialize_triples(parse_rdf(turtle.encode(), "text/turtle"), media)
    return Response(body, mimetype=used.split(";")[0])


EXAMPLES = [
    ("Everything under 73D (the Passion), with English labels",
     "SELECT ?c ?label WHERE {\n  ?c skos:broader+ ic:73D ; skos:prefLabel ?label .\n"
     "  FILTER(lang(?label) = \"en\")\n} LIMIT 50"),
    ("Artworks annotated with 73D or anything below it",
     "SELECT ?artwork ?title ?code WHERE {\n  ?artwork a schema:VisualArtwork ; schema:name ?title ;\n"
     "           dcterms:subject ?c .\n  ?c skos:notation ?code ; skos:broader* ic:73D .\n} LIMIT 50"),
    ("The 10 concepts nearest a text (kNN pattern), with their labels",
     'SELECT ?hit ?score ?label WHERE {\n  ?hit kgart:similarTo "a ship in a storm" ; kgart:k 10 ;\n'
     '       kgart:score ?score .\n'
     '  ?hit skos:prefLabel ?label FILTER(lang(?label) = "en")\n} ORDER BY DESC(?score)'),
    ("kNN within a branch, joined with the hierarchy",
     'SELECT ?hit ?score ?parent WHERE {\n  ?hit kgart:similarTo "crown of thorns" ; kgart:k 5 ; kgart:score ?score ;\n'
     '       kgart:under ic:73D .\n  ?hit skos:broader ?parent .\n} ORDER BY DESC(?score)'),
    ("Similarity as a function",
     'SELECT ?c (kgart:textSimilarity(?c, "storm at sea") AS ?s) WHERE {\n  ?c skos:broader ic:26C .\n}'
     ' ORDER BY DESC(?s)'),
    ("Graphs and their sizes", "SELECT ?g (COUNT(*) AS ?triples) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"),
]
