"""The JSON API under ``/api/``, described by the OpenAPI document at ``/api/openapi.json``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from kgart.web.ld import artwork_counts
from kgart.web.params import language_param, text_param
from werkzeug.exceptions import BadRequest

from kgart.errors import KgartError
from kgart.iconclass import Iconclass
from kgart.kinds import Kinds
from kgart.oxigraph_adapter import checked_iri
from kgart.retrieval import Query, Retriever


def api_blueprint() -> Blueprint:
    bp = Blueprint("api", __name__, url_prefix="/api")
    bp.add_url_rule("/openapi.json", view_func=openapi)
    bp.add_url_rule("/search", view_func=search)
    bp.add_url_rule("/suggest", view_func=suggest, methods=["GET", "POST"])
    bp.add_url_rule("/similar", view_func=similar)
    bp.add_url_rule("/hierarchy/<path:notation>", view_func=hierarchy)
    bp.add_url_rule("/autocomplete", view_func=autocomplete)
    return bp


def _retriever() -> Retriever:
    return current_app.extensions["kgart"].retriever()


def _int(name: str, default: int, low: int = 1, high: int = 1000) -> int:
    try:
        value = int(request.values.get(name, default))
    except ValueError as e:
        raise BadRequest(f"{name} must be an integer") from e
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}")
    return value


def search() -> Response:
    text = text_param("q", request.args.get("q", "").strip())
    target = request.args.get("target", "concept")
    if target not in ("concept", "artwork", "sentence"):
        raise BadRequest("target must be concept, artwork or sentence")
    under = request.args.get("under") or None
    if not text and not (under and target != "concept"):
        raise BadRequest("q is required (or under, for artworks)")
    k = _int("k", 10)
    explain = request.args.get("explain", "").lower() in ("1", "true", "yes")
    retriever = _retriever()
    language = language_param()
    if target == "concept":
        hits = retriever.search_concepts(Query(text=text), k=k, under=under, language=language,
                                         scheme=request.args.get("scheme", "iconclass"))
    else:
        hits = retriever.search_items(Query(text=text), target, k=k, under=under,
                                      graph=request.args.get("graph") or None)
    translated = retriever.translation(text)
    return jsonify({"query": text, "target": target, "results": [h.as_dict(explain) for h in hits],
                    **({"translated": {"language": translated.language, "text": translated.text}}
                       if translated is not None else {})})


def suggest() -> Response:
    values = request.form if request.method == "POST" else request.args
    language = language_param()  # checked before an upload is written to disk
    title, description = text_param("title", values.get("title", "")), text_param("description",
                                                                                     values.get("description", ""))
    image = ""
    upload = request.files.get("image")
    if upload is not None and upload.filename:
        import tempfile

        data = upload.read(current_app.config["MAX_CONTENT_LENGTH"] or 10_000_000)
        with tempfile.NamedTemporaryFile(suffix=".img", delete=False) as f:
            f.write(data)
            image = f.name
    scheme = values.get("scheme", "iconclass")
    explain = values.get("explain", "").lower() in ("1", "true", "yes")
    try:
        retriever = _retriever()  # 503 while the vectors are computed
        try:
            scheme = retriever.scheme(scheme).name
        except KgartError as e:
            raise BadRequest(str(e)) from e
        artwork = values.get("iri", "").strip()
        if artwork:
            # A stored artwork: its own text, no vote for itself, codes rejected for it left out
            # unless include_rejected.
            hits = retriever.suggest_for(checked_iri(artwork), k=_int("k", 10), scheme=scheme,
                                         include_rejected=values.get("include_rejected", "").lower()
                                         in ("1", "true", "yes"), language=language)
        elif not (title or description or image):
            raise BadRequest("give a title, a description, an image, or the iri of a stored artwork")
        else:
            makers = [m.strip() for m in values.getlist("maker") if m.strip()]  # IRIs: suggest checks them
            if len(makers) > 20:
                raise BadRequest("at most 20 makers")
            hits = retriever.suggest(title, description, image, k=_int("k", 10), scheme=scheme, makers=makers)
            retriever.label_hits(hits, scheme, language)
    finally:
        if image:
            import os

            os.unlink(image)
    return jsonify({"codes": [{"notation": h.notation, "iri": h.iri, "label": h.label, "score": round(h.score, 6),
                               **({"components": {c: round(v, 6) for c, v in h.components.items()}}
                                  if explain else {})}
                              for h in hits]})


def similar() -> Response:
    iri = request.args.get("iri", "")
    if not iri:
        raise BadRequest("iri is required")
    hits = _retriever().similar(iri, k=_int("k", 10))
    return jsonify({"iri": iri, "results": [h.as_dict() for h in hits]})


def hierarchy(notation: str) -> Response:
    ic: Iconclass = current_app.extensions["kgart"].iconclass
    language = language_param()
    if notation.count(":") > MAX_PARTS:
        raise BadRequest(f"a compound notation has at most {MAX_PARTS + 1} parts")
    resolved = ic.resolve(notation)
    labels = ic.labels([*resolved.path, *resolved.children], language)
    counts = _artwork_counts(ic, resolved.children) if request.args.get("counts") else {}
    return jsonify({
        "notation": resolved.canonical, "iri": resolved.iri, "depth": resolved.depth,
        "label": ic.label(resolved.notation, language).text,
        "ancestors": [{"notation": n, "label": labels[n].text} for n in resolved.path[:-1]],
        "children": [{"notation": n, "label": labels[n].text, **({"artworks": counts.get(n, 0)} if counts else {})}
                     for n in resolved.children],
    })


def _artwork_counts(ic: Iconclass, notations: list[str] | tuple[str, ...]) -> dict[str, int]:
    """Artworks annotated with each notation or one below it (the linked-data pages' count)."""
    iris = {n: ic.resolve(n).iri for n in notations}
    counts = artwork_counts(ic.store, list(iris.values()))
    return {n: counts.get(str(iri), 0) for n, iri in iris.items()}


def autocomplete() -> Response:
    prefix = text_param("q", request.args.get("q", ""))
    retriever = _retriever()
    hits = retriever.keywords.complete(prefix, "iconclass", _int("k", 10)) if retriever.keywords else []
    from kgart.notation import notation_from_iri

    return jsonify({"q": prefix, "results": [{"notation": notation_from_iri(h.iri), "iri": h.iri, "text": h.text}
                                             for h in hits]})


MAX_PARTS = 16  # parts of a compound notation (61B:31A2212(+1) has 2)


def openapi() -> Response:
    """The OpenAPI document, with the schemes this store holds as the scheme enum."""
    import copy

    document = copy.deepcopy(OPENAPI)
    names = Kinds.of(current_app.extensions["kgart"].store).names("concept")
    paths = document["paths"]
    for param in [*paths["/api/suggest"]["get"]["parameters"], *paths["/api/search"]["get"]["parameters"]]:
        if param["name"] == "scheme":
            param["schema"]["enum"] = names
    form = paths["/api/suggest"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    form["properties"]["scheme"]["enum"] = names
    return jsonify(document)


def _param(name: str, description: str, required: bool = False, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description,
            "schema": schema or {"type": "string"}}


_ANNO = 'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"'
_CODES = {"description": "codes: notation, iri, label in lang, score (components with explain)"}
_NOT_READY = {"description": "the vectors are still being computed: Retry-After, and progress (done, total, percent)",
              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_ERROR = {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "kgart API", "version": "0.1.0",
             "description": "Search, code suggestion, similar items, the Iconclass hierarchy, and curators' "
                            "annotations (W3C Web Annotation Protocol)."},
    "paths": {
        "/api/search": {"get": {"summary": "Search concepts, artworks or sentences", "parameters": [
            _param("q", "query text"), _param("target", "concept | artwork | sentence",
                                              schema={"type": "string", "enum": ["concept", "artwork", "sentence"]}),
            _param("under", "only this Iconclass notation and below (artworks: annotated with them)"),
            _param("graph", "only items of this source graph"), _param("lang", "label language"),
            _param("scheme", "with target=concept: the concept scheme",
                   schema={"type": "string", "enum": ["iconclass"], "default": "iconclass"}),
            _param("k", "number of results", schema={"type": "integer", "minimum": 1, "maximum": 1000}),
            _param("explain", "include each blend component", schema={"type": "boolean"})],
            "responses": {"200": {"description": "results; a query taken for another language (Dutch, German, "
                                                  "French, Italian, Spanish, Portuguese) says what it was searched as: "
                                                  "translated: {language, text}"},
                          "400": _ERROR, "503": _NOT_READY}}},
        "/api/suggest": {
            "get": {"summary": "Iconclass codes (or Tate subjects) for an artwork", "parameters": [
                _param("title", "title"), _param("description", "description"),
                _param("iri", "a stored artwork instead of a title: its own text and makers, codes rejected for "
                              "it left out"),
                _param("maker", "the IRI of the artwork's maker in the store (repeatable, up to 20): what the "
                                "maker's catalogued works carry counts where a learned ranker weighs it",
                       schema={"type": "array", "items": {"type": "string", "format": "iri"}, "maxItems": 20}),
                _param("include_rejected", "with iri: keep codes a curator rejected for it",
                       schema={"type": "boolean"}),
                _param("scheme", "iconclass: Iconclass codes; tate: Tate subject ids; or any concept scheme "
                                 "the store holds, by name",
                       schema={"type": "string", "enum": ["iconclass"], "default": "iconclass"}),
                _param("k", "number of codes", schema={"type": "integer", "minimum": 1, "maximum": 1000}),
                _param("lang", "language of the codes' labels"),
                _param("explain", "include each blend component per code", schema={"type": "boolean"})],
                "responses": {"200": _CODES, "400": _ERROR, "503": _NOT_READY}},
            "post": {"summary": "Iconclass codes (or Tate subjects) for an artwork, with an image upload",
                     "requestBody": {"content": {"multipart/form-data": {"schema": {"type": "object", "properties": {
                         "title": {"type": "string"}, "description": {"type": "string"},
                         "maker": {"type": "array", "items": {"type": "string", "format": "iri"}, "maxItems": 20},
                         "scheme": {"type": "string", "enum": ["iconclass"]}, "explain": {"type": "boolean"},
                         "image": {"type": "string", "format": "binary"}}}}}},
                     "responses": {"200": _CODES, "400": _ERROR, "413": _ERROR, "503": _NOT_READY}}},
        "/api/similar": {"get": {"summary": "Items like a stored one", "parameters": [
            _param("iri", "the node", required=True),
            _param("k", "number of results", schema={"type": "integer", "minimum": 1, "maximum": 1000})],
            "responses": {"200": {"description": "results"}, "400": _ERROR, "503": _NOT_READY}}},
        "/api/hierarchy/{notation}": {"get": {"summary": "A concept, its ancestors and children", "parameters": [
            {"name": "notation", "in": "path", "required": True, "schema": {"type": "string"}},
            _param("lang", "label language"),
            _param("counts", "count artworks under each child (subsumption)", schema={"type": "boolean"})],
            "responses": {"200": {"description": "the concept"}, "404": _ERROR}}},
        "/api/autocomplete": {"get": {"summary": "Iconclass concepts whose labels start with the words typed",
                                      "parameters": [_param("q", "the words typed so far", required=True),
                                                     _param("k", "number of results", schema={"type": "integer"})],
                                      "responses": {"200": {"description": "concepts"}}}},
        "/annotations/": {
            "get": {"summary": "The Web Annotation container (W3C Web Annotation Protocol), paged",
                    "parameters": [_param("page", "one AnnotationPage (50 annotations) from 0",
                                          schema={"type": "integer", "minimum": 0}),
                                   _param("iris", "1: the page lists IRIs only", schema={"type": "string"}),
                                   {"name": "Prefer", "in": "header", "required": False, "schema": {"type": "string"},
                                    "description": 'return=representation;include="http://www.w3.org/ns/oa#'
                                                   'PreferContainedIRIs" (or …ldp#PreferMinimalContainer)'}],
                    "responses": {"200": {"description": "the container or a page",
                                          "content": {_ANNO: {}, "text/turtle": {}}},
                                  "304": {"description": "not modified"}, "404": _ERROR, "406": _ERROR}},
            "post": {"summary": "Create an annotation (a curator's decision): 201 with Location and ETag",
                     "security": [{"bearer": []}, {"session": []}],
                     "parameters": [{"name": "Slug", "in": "header", "required": False,
                                     "schema": {"type": "string"}, "description": "leads the new id"}],
                     "requestBody": {"required": True, "content": {_ANNO: {"schema": {"type": "object"}},
                                                                   "text/turtle": {"schema": {"type": "string"}}}},
                     "responses": {"201": {"description": "created"}, "400": _ERROR, "401": _ERROR,
                                   "403": _ERROR, "413": _ERROR, "415": _ERROR}}},
        "/annotations/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {"summary": "One annotation, with its ETag",
                    "responses": {"200": {"description": "the annotation", "content": {_ANNO: {}, "text/turtle": {}}},
                                  "304": {"description": "not modified"}, "404": _ERROR, "406": _ERROR}},
            "put": {"summary": "Replace an annotation (its creator, or an editor); If-Match must name the current ETag",
                    "security": [{"bearer": []}, {"session": []}],
                    "requestBody": {"required": True, "content": {_ANNO: {"schema": {"type": "object"}},
                                                                  "text/turtle": {"schema": {"type": "string"}}}},
                    "responses": {"200": {"description": "replaced"}, "400": _ERROR, "401": _ERROR, "403": _ERROR,
                                  "404": _ERROR, "412": _ERROR}},
            "delete": {"summary": "Delete an annotation (its creator, or an editor)",
                       "security": [{"bearer": []}, {"session": []}],
                       "responses": {"204": {"description": "deleted"}, "401": _ERROR, "403": _ERROR,
                                     "404": _ERROR, "412": _ERROR}}},
    },
    "components": {"schemas": {"Error": {"type": "object", "properties": {
        "error": {"type": "string"}, "status": {"type": "integer"}}}},
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                       "description": "a token from kgart users add"},
                            "session": {"type": "apiKey", "in": "cookie", "name": "session",
                                        "description": "the login page's session; forms also send csrf_token"}}},
}
