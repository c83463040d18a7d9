"""The W3C Web Annotation Protocol at ``/annotations/``: an LDP basic container of kgart's
annotations, so IIIF clients (Mirador, Annotorious) can keep their annotations here.

- ``GET /annotations/`` the container (an ``AnnotationCollection``); ``Prefer`` chooses
  between descriptions (default), IRIs only (``oa:PreferContainedIRIs``) and no page
  at all (``ldp:PreferMinimalContainer``); ``?page=N`` is one ``AnnotationPage``.
- ``POST /annotations/`` creates one (201, ``Location``, ``ETag``); ``Slug`` leads its id.
- ``GET | PUT | DELETE /annotations/{id}`` with ``ETag``; ``If-Match`` on a write must
  name the current tag (412 otherwise), ``If-None-Match`` on a read gives 304.
- JSON-LD with the annotation profile (default) or Turtle / N-Triples / RDF/XML.

An annotation's IRI is ``https://w3id.org/kgart/annotations/{id}``, served here at
``/annotations/{id}`` as every kgart IRI is served at its path. Writes need a user
(:mod:`kgart.web.auth`); the store does the checking (:mod:`kgart.annotations`).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from flask import Blueprint, Response, current_app, request
from kgart.web.auth import may_change, require_writer
from kgart.web.conneg import negotiate
from werkzeug.exceptions import (
    BadRequest,
    NotAcceptable,
    NotFound,
    PreconditionFailed,
    RequestEntityTooLarge,
    UnsupportedMediaType,
)

from kgart.annotations import AnnotationNotFound, Annotations, annotation_iri, etag
from kgart.errors import DataSourceError
from kgart.jsonld import ANNO_CONTEXT, ANNO_MEDIA_TYPE, ANNOTATION_CONTEXT, LDP_CONTEXT, framed, to_triples
from kgart.oxigraph_adapter import parse_rdf, serialize_triples
from kgart.rdf import ANNOTATION_BASE, AS, DCTERMS, IRI, LDP, OA, RDF, XSD, Literal, Triple

PAGE_SIZE = 50
MAX_BODY = 256 * 1024
ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
JSONLD = "application/ld+json"
OFFERED = [JSONLD, "text/turtle", "application/n-triples", "application/rdf+xml"]
CONSTRAINED_BY = '<http://www.w3.org/TR/annotation-protocol/>; rel="http://www.w3.org/ns/ldp#constrainedBy"'
CONTAINER_ALLOW = "GET, HEAD, OPTIONS, POST"
ANNOTATION_ALLOW = "GET, HEAD, OPTIONS, PUT, DELETE"
ACCEPT_POST = f'{ANNO_MEDIA_TYPE}, text/turtle'
PREFER_IRIS = "http://www.w3.org/ns/oa#PreferContainedIRIs"
PREFER_DESCRIPTIONS = "http://www.w3.org/ns/oa#PreferContainedDescriptions"
PREFER_MINIMAL = "http://www.w3.org/ns/ldp#PreferMinimalContainer"


def annotations_blueprint() -> Blueprint:
    bp = Blueprint("annotations", __name__)
    bp.add_url_rule("/annotations/", view_func=container, methods=["GET", "POST", "OPTIONS"],
                    provide_automatic_options=False)
    bp.add_url_rule("/annotations", view_func=container, methods=["GET", "POST", "OPTIONS"],
                    provide_automatic_options=False)
    bp.add_url_rule("/annotations/<ident>", view_func=one, methods=["GET", "PUT", "DELETE", "OPTIONS"],
                    provide_automatic_options=False)
    return bp


def _container_url() -> str:
    return request.url_root + "annotations/"


# -- the container -------------------------------------------------------------------------

def container() -> Response:
    if request.method == "OPTIONS":
        return _headers(Response(status=204), CONTAINER_ALLOW, container=True)
    if request.method == "POST":
        return create()
    annotations = current_app.extensions["kgart"].annotations()
    media = _media()
    total = annotations.count()
    last = max((total - 1) // PAGE_SIZE, 0)
    page_arg = request.args.get("page")
    iris_only = request.args.get("iris") == "1"
    version = annotations.version()
    # The container's state is the annotations' version; the tag also names the representation asked for.
    asked = f"{version}|{page_arg}|{iris_only}|{media}|{request.headers.get('Prefer', '')}"
    tag = '"' + hashlib.sha256(asked.encode("utf-8")).hexdigest()[:32] + '"'
    if request.if_none_match.contains(tag.strip('"')):
        return _headers(Response(status=304, headers={"ETag": tag}), CONTAINER_ALLOW, container=True)
    if page_arg is not None:
        try:
            number = int(page_arg)
        except ValueError:
            raise BadRequest("page is a number from 0") from None
        if number < 0 or number > last:
            raise NotFound(f"no page {number}: pages 0 to {last}")
        body, page_triples = _page(annotations, number, last, total, iris_only)
        response = _respond(body, page_triples, media)
    else:
        prefer = _preference()
        doc: dict[str, Any] = {"@context": [ANNO_CONTEXT, LDP_CONTEXT], "id": _container_url(),
                               "type": ["BasicContainer", "AnnotationCollection"],
                               "label": "kgart annotations", "total": total}
        triples = _container_triples(total, last)
        if total:
            doc["last"] = _page_url(last, prefer == PREFER_IRIS)
            if prefer == PREFER_MINIMAL:
                doc["first"] = _page_url(0, False)
            else:
                first, page_triples = _page(annotations, 0, last, total, prefer == PREFER_IRIS)
                first.pop("@context", None)
                first.pop("partOf", None)
                doc["first"] = first
                triples += page_triples
        response = _respond(doc, triples, media)
        if request.headers.get("Prefer"):
            response.headers["Preference-Applied"] = "return=representation"
    response.headers["ETag"] = tag
    return _headers(response, CONTAINER_ALLOW, container=True)


def _page(annotations: Annotations, number: int, last: int, total: int, iris_only: bool
          ) -> tuple[dict[str, Any], list[Triple]]:
    iris = annotations.page(number * PAGE_SIZE, PAGE_SIZE)
    page_url = _page_url(number, iris_only)
    body: dict[str, Any] = {"@context": ANNO_CONTEXT if iris_only else ANNOTATION_CONTEXT, "id": page_url,
                            "type": "AnnotationPage", "partOf": {"id": _container_url(), "total": total},
                            "startIndex": number * PAGE_SIZE}
    triples: list[Triple] = [(IRI(page_url), RDF.type, AS.OrderedCollectionPage),
                             (IRI(page_url), AS.partOf, IRI(_container_url())),
                             (IRI(page_url), AS.startIndex, Literal(str(number * PAGE_SIZE),
                                                                    datatype=XSD.nonNegativeInteger))]
    if number < last:
        body["next"] = _page_url(number + 1, iris_only)
        triples.append((IRI(page_url), AS.next, IRI(body["next"])))
    if number > 0:
        body["prev"] = _page_url(number - 1, iris_only)
        triples.append((IRI(page_url), AS.prev, IRI(body["prev"])))
    triples += [(IRI(_container_url()), LDP.contains, iri) for iri in iris]
    if iris_only:
        body["items"] = [str(i) for i in iris]
        return body, triples
    described = annotations.many(iris)
    body["items"] = [_framed(described[str(i)], str(i)) for i in iris]
    for i in iris:
        triples += described[str(i)]
    return body, triples


def _container_triples(total: int, last: int) -> list[Triple]:
    c = IRI(_container_url())
    out: list[Triple] = [(c, RDF.type, LDP.BasicContainer), (c, RDF.type, AS.OrderedCollection),
                         (c, AS.totalItems, Literal(str(total), datatype=XSD.nonNegativeInteger))]
    if total:
        out += [(c, AS.first, IRI(_page_url(0, False))), (c, AS.last, IRI(_page_url(last, False)))]
    return out


def _page_url(number: int, iris_only: bool) -> str:
    return f"{_container_url()}?{'iris=1&' if iris_only else ''}page={number}"


def _preference() -> str:
    """What a ``Prefer: return=representation; include="…"`` asks for (descriptions by default)."""
    header = request.headers.get("Prefer", "")
    included = " ".join(re.findall(r'include="([^"]*)"', header))
    for choice in (PREFER_MINIMAL, PREFER_IRIS, PREFER_DESCRIPTIONS):
        if choice in included.split():
            return choice
    return PREFER_DESCRIPTIONS


# -- one annotation --------------------------------------------------------------------------

def one(ident: str) -> Response:
    if not ID.match(ident):
        raise NotFound("no such annotation")
    if request.method == "OPTIONS":
        return _headers(Response(status=204), ANNOTATION_ALLOW)
    iri = annotation_iri(ident)
    annotations = current_app.extensions["kgart"].annotations()
    if request.method == "GET":
        triples = annotations.get(iri)
        tag = etag(triples)
        if request.if_none_match.contains(tag.strip('"')):
            response = Response(status=304)
        else:
            response = _respond(_framed(triples, iri), triples, _media())
        response.headers["ETag"] = tag
        return _headers(response, ANNOTATION_ALLOW)
    user = require_writer()
    try:
        current = annotations.get(iri)
    except AnnotationNotFound:
        raise NotFound("no such annotation (POST to /annotations/ creates one)") from None
    creator = next((str(o) for s, p, o in current if s == iri and p == DCTERMS.creator), None)
    may_change(user, creator)
    if request.if_match and not request.if_match.contains(etag(current).strip('"')) \
            and not request.if_match.star_tag:
        raise PreconditionFailed("the annotation changed since that ETag: GET it again")
    if request.method == "DELETE":
        annotations.delete(iri)
        return _headers(Response(status=204), ANNOTATION_ALLOW)
    triples = _body_triples(iri)
    ids = {str(s) for s, p, o in triples if p == RDF.type and o == OA.Annotation and isinstance(s, IRI)}
    if ids - {str(iri)}:
        raise BadRequest("the body's id is not this annotation's IRI")
    annotations.replace(iri, triples, user.iri)
    stored = annotations.get(iri)
    response = _respond(_framed(stored, iri), stored, _media())
    response.headers["ETag"] = etag(stored)
    return _headers(response, ANNOTATION_ALLOW)


def create() -> Response:
    user = require_writer()
    triples = _body_triples(None)
    annotations = current_app.extensions["kgart"].annotations()
    iri = annotations.create(triples, user.iri, slug=request.headers.get("Slug"))
    stored = annotations.get(iri)
    response = _respond(_framed(stored, iri), stored, _media())
    response.status_code = 201
    response.headers["Location"] = _container_url() + iri[len(ANNOTATION_BASE):]
    response.headers["ETag"] = etag(stored)
    return _headers(response, ANNOTATION_ALLOW)


def _body_triples(iri: str | None) -> list[Triple]:
    """The request body as triples: JSON-LD (the annotation profile, or plain JSON) or an RDF format."""
    if (request.content_length or 0) > MAX_BODY:
        raise RequestEntityTooLarge(f"an annotation is at most {MAX_BODY // 1024} KiB")
    data = request.stream.read(MAX_BODY + 1)
    if len(data) > MAX_BODY:
        raise RequestEntityTooLarge(f"an annotation is at most {MAX_BODY // 1024} KiB")
    media = (request.mimetype or "").lower()
    try:
        if media in (JSONLD, "application/json"):
            try:
                document = json.loads(data)
            except (ValueError, RecursionError) as e:
                raise BadRequest(f"the body is not JSON: {str(e)[:200]}") from None
            return to_triples(document)
        if media in ("text/turtle", "application/n-triples", "application/rdf+xml"):
            return list(parse_rdf(data, media, base_iri=iri or _container_url(), where="body"))
    except DataSourceError as e:
        raise BadRequest(str(e)) from None
    raise UnsupportedMediaType(f"send the annotation as {ACCEPT_POST}")


# -- shared ----------------------------------------------------------------------------------

def _media() -> str:
    media = negotiate(request.accept_mimetypes, OFFERED)
    if media is None:
        raise NotAcceptable(f"annotations are available as {', '.join(OFFERED)}")
    return media


def _framed(triples: list[Triple], iri: str) -> dict[str, Any]:
    return framed(triples, {"@context": ANNOTATION_CONTEXT, "id": iri})


def _respond(document: dict[str, Any], triples: list[Triple], media: str) -> Response:
    if media == JSONLD:
        return Response(json.dumps(document, ensure_ascii=False, indent=1), content_type=ANNO_MEDIA_TYPE)
    used, body = serialize_triples(triples, media, {"oa": str(OA), "as": str(AS), "ldp": str(LDP)})
    return Response(body, content_type=used)


def _headers(response: Response, allow: str, container: bool = False) -> Response:
    response.headers["Allow"] = allow
    response.headers["Vary"] = "Accept, Prefer" if container else "Accept"
    if container:
        response.headers["Accept-Post"] = ACCEPT_POST
        response.headers.add("Link", '<http://www.w3.org/ns/ldp#BasicContainer>; rel="type"')
        response.headers.add("Link", CONSTRAINED_BY)
    else:
        response.headers.add("Link", '<http://www.w3.org/ns/ldp#Resource>; rel="type"')
        response.headers.add("Link", '<http://www.w3.org/ns/oa#Annotation>; rel="type"')
    return response
