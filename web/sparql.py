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
import json
import logging
import threading
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

from flask import Blueprint, Response, current_app, g, render_template, request
from kgart.web.conneg import RDF_TYPES, RESULT_TYPES, choose
from kgart.web.query_processes import QueryCrashed, QueryTimeout, QueueFull, ResultTooLarge
from kgart.web.result_cache import cacheable
from werkzeug.exceptions import (
    BadRequest,
    Forbidden,
    InternalServerError,
    RequestEntityTooLarge,
    ServiceUnavailable,
    Unauthorized,
)

from kgart.errors import QueryError
from kgart.oxigraph_adapter import parse_rdf, serialize_triples
from kgart.query_guard import ForbiddenService, checked_query
from kgart.sparql_extensions import has_knn, rewrite_knn, uses_similarity

log = logging.getLogger("kgart.sparql")

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
    services = current_app.extensions["kgart"]
    media = choose(request.accept_mimetypes, RESULT_TYPES + RDF_TYPES)
    try:
        query = _checked(query, services.service_allow)
        key = _cache_key(services, query)
        kept = services.result_cache.get(key) if key is not None else None
        if kept is not None:
            from kgart.web.operations import metrics_of

            metrics_of(current_app).cache_hits.inc()  # type: ignore[arg-type]
            return Response(kept[1], mimetype=kept[0])
        if has_knn(query):
            # The rewrite is rdflib's text: checked again, so that what runs is what was checked.
            query = _checked(rewrite_knn(query, services.knn), services.service_allow)
        if services.query_processes is not None:
            return _in_query_process(services, query, media, key)
        functions = services.similarity_functions() if uses_similarity(query) else None
        used, body = _bounded(lambda: store.query_serialized(query, media, functions), services.query_timeout)
    except QueryError as e:
        raise BadRequest(str(e)) from e
    if len(body) > services.max_result_bytes:
        raise RequestEntityTooLarge(f"the result is larger than {services.max_result_bytes:,} bytes; "
                                    "narrow the query or add a LIMIT")
    mimetype = used.split(";")[0]
    if key is not None:
        services.result_cache.put(key, mimetype, body)
    return Response(body, mimetype=mimetype)


def _cache_key(services: Any, query: str) -> str | None:
    """The request's validator when its result may be kept (see kgart.web.result_cache): a GET,
    a store that can say its version, a query whose answer the store's data fixes."""
    if services.result_cache is None or request.method != "GET" or uses_similarity(query) or not cacheable(query):
        return None
    return g.get("kgart_tag")


def _in_query_process(services: Any, query: str, media: str, key: str | None) -> Response:
    """The query in one of the worker's query processes (see kgart.web.query_processes): killed at
    the deadline, refused when the queue is full, streamed with the size cap."""
    from kgart.web.operations import metrics_of

    metrics = metrics_of(current_app)  # type: ignore[arg-type]
    try:
        stream = services.query_processes.run(query, media, timeout=services.query_timeout,
                                              max_bytes=services.max_result_bytes,
                                              with_functions=uses_similarity(query))
    except QueueFull as e:
        metrics.queue_full.inc()
        raise Busy(str(e)) from e
    except QueryTimeout as e:
        metrics.query_timeouts.inc()
        raise ServiceUnavailable(str(e)) from e
    except ResultTooLarge as e:
        raise RequestEntityTooLarge(str(e)) from e
    except QueryCrashed as e:
        raise InternalServerError(str(e)) from e
    mimetype = stream.media_type.split(";")[0]
    if stream.complete:
        if key is not None:
            services.result_cache.put(key, mimetype, stream.head)
        return Response(stream.head, mimetype=mimetype)

    def body() -> Iterator[bytes]:
        try:
            yield from stream
        except (QueryTimeout, ResultTooLarge, QueryCrashed, QueryError) as e:
            if isinstance(e, QueryTimeout):
                metrics.query_timeouts.inc()
            log.warning("SPARQL result cut off after streaming began (%s); the connection is ended", e)
            raise

    return Response(body(), mimetype=mimetype, direct_passthrough=True)


class Busy(ServiceUnavailable):
    """503 with Retry-After: the query queue is full."""

    def get_headers(self, environ: Any = None, scope: Any = None) -> list[tuple[str, str]]:
        return [*super().get_headers(environ, scope), ("Retry-After", "1")]


# The in-thread path (an in-memory or remote store, or --query-processes 0): at most 8 at once.
_RUNNING = threading.BoundedSemaphore(8)


def _bounded(run: Callable[[], tuple[str, bytes]], timeout: float) -> tuple[str, bytes]:
    """Run a query in a thread with a time limit. A thread cannot be stopped: past the limit the
    client gets 503 at once and the query finishes on its own, in a daemon thread, so that it
    never holds up the process's exit (the server's query processes are killed instead)."""
    from kgart.web.operations import metrics_of

    if not _RUNNING.acquire(timeout=timeout):
        metrics_of(current_app).query_timeouts.inc()  # type: ignore[arg-type]
        raise ServiceUnavailable(f"no query slot came free within {timeout:g} s (query timeout)")
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = run()
        except BaseException as e:  # noqa: BLE001 - handed to the request's thread below
            outcome["error"] = e
        finally:
            _RUNNING.release()

    thread = threading.Thread(target=target, daemon=True, name="kgart-sparql")
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        metrics_of(current_app).query_timeouts.inc()  # type: ignore[arg-type]
        raise ServiceUnavailable(f"the query did not finish within {timeout:g} s (query timeout)")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]


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
        settings.store.update(_checked(update, settings.service_allow, update=True))
    except QueryError as e:
        raise BadRequest(str(e)) from e
    return Response(status=204)


def _checked(text: str, allowed: list[str], *, update: bool = False) -> str:
    """The text that may run (see kgart.query_guard): 403 for a SERVICE or LOAD target that
    is not allowed, 400 for what is refused otherwise."""
    try:
        return checked_query(text, allowed, update=update)
    except ForbiddenService as e:
        raise Forbidden(str(e)) from e


def _description() -> Response:
    settings = current_app.extensions["kgart"]
    media = choose(request.accept_mimetypes, ["text/html", *RDF_TYPES])
    if media == "text/html":
        from kgart.rdf import PREFIXES

        return Response(render_template("sparql.html", examples=EXAMPLES, prefixes=json.dumps(PREFIXES),
                                        editor=_editor_installed()), mimetype="text/html")
    endpoint = request.base_url
    turtle = SERVICE_DESCRIPTION.format(endpoint=endpoint,
                                        update=", sd:SPARQL11Update" if settings.update_token else "")
    if media == "text/turtle":
        return Response(turtle, mimetype=media)
    used, body = serialize_triples(parse_rdf(turtle.encode(), "text/turtle"), media)
    return Response(body, mimetype=used.split(";")[0])


@cache
def _editor_installed() -> bool:
    """Whether `make assets` put YASGUI in place (looked up once per process)."""
    from importlib import resources

    return resources.files("kgart.web").joinpath("static/vendor/yasgui/yasgui.min.js").is_file()


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
