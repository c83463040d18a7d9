"""HTTP caching of what the store decides: linked-data pages, dumps, VoID, the API's GETs, SPARQL
GETs and the HTML pages carry ``ETag``, ``Last-Modified`` and ``Cache-Control``; a conditional
request whose tag (or date) still holds gets 304 before any work is done.

The tag is the store's version (:meth:`kgart.triplestore.TripleStore.version`: the published
generation on disk, which every load, update and annotation moves on) joined with a hash of
what else shapes the answer: path and query string, the ``Accept`` header (content
negotiation), the signed-in user (pages show who is signed in). A store that cannot say its
version (a remote server) gets tags hashed from the body instead, so 304s still save the
transfer. While vectors are being computed nothing is tagged: answers change by the minute.
"""

from __future__ import annotations

import hashlib
from email.utils import formatdate, parsedate_to_datetime

from flask import Flask, Response, current_app, g, request, session

# Where answers depend on the store alone (and the request); writes, logins, operators' routes and
# the Web Annotation Protocol (which has its own per-annotation tags) are not here.
CACHED_PREFIXES = ("/iconclass", "/artwork/", "/sentence/", "/resource", "/.well-known/void", "/dump/", "/api/",
                   "/scheme", "/search", "/sparql", "/concept")
CACHE_CONTROL_PUBLIC = "public, max-age=0, must-revalidate"
CACHE_CONTROL_PRIVATE = "private, max-age=0, must-revalidate"


def _cached_route() -> bool:
    if request.method not in ("GET", "HEAD"):
        return False
    path = request.path
    return path == "/" or path.startswith(CACHED_PREFIXES)


def _request_tag(version: str) -> str:
    user = session.get("user", "") if request.cookies else ""
    parts = "\n".join((version, request.full_path, request.headers.get("Accept", ""), str(user)))
    return f'W/"{version}-{hashlib.sha256(parts.encode()).hexdigest()[:20]}"'


def _matches(header: str, tag: str) -> bool:
    """If-None-Match compares weakly (RFC 9110 §13.1.2): W/ is ignored."""
    wanted = tag.removeprefix("W/")
    return any(t.strip() == "*" or t.strip().removeprefix("W/") == wanted for t in header.split(","))


def _not_modified_since(header: str, changed_at: float) -> bool:
    try:
        return int(changed_at) <= parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return False


def init_app(app: Flask) -> None:
    @app.before_request
    def answer_from_cache() -> Response | None:
        g.kgart_tag = None
        if not _cached_route():
            return None
        services = current_app.extensions["kgart"]
        if services.not_ready() is not None:
            return None
        version = services.store.version()
        if version is None:
            return None
        tag = _request_tag(version.tag)
        g.kgart_tag, g.kgart_changed_at = tag, version.changed_at
        none_match = request.headers.get("If-None-Match")
        since = request.headers.get("If-Modified-Since")
        if (none_match is not None and _matches(none_match, tag)) or \
                (none_match is None and since is not None and _not_modified_since(since, version.changed_at)):
            response = Response(status=304)
            _validators(response, tag, version.changed_at)
            return response
        return None

    @app.after_request
    def tag(response: Response) -> Response:
        if response.status_code != 200 or not _cached_route():
            return response
        tag_value = g.get("kgart_tag")
        if tag_value is not None:
            _validators(response, tag_value, g.kgart_changed_at)
        elif current_app.extensions["kgart"].not_ready() is None and not response.is_streamed:
            response.add_etag(weak=True)  # hashed from the body: the backend cannot say its version
            response.headers["Cache-Control"] = _cache_control()
            response.make_conditional(request)
        return response


def _cache_control() -> str:
    return CACHE_CONTROL_PRIVATE if session.get("user") else CACHE_CONTROL_PUBLIC


def _validators(response: Response, tag: str, changed_at: float) -> None:
    response.headers["ETag"] = tag
    response.headers["Last-Modified"] = formatdate(changed_at, usegmt=True)
    response.headers["Cache-Control"] = _cache_control()
    vary = {v.strip() for v in response.headers.get("Vary", "").split(",") if v.strip()}
    response.headers["Vary"] = ", ".join(sorted(vary | {"Accept"}))
