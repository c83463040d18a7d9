"""One error handler: kgart errors to HTTP statuses; JSON for the API and SPARQL, HTML otherwise.

No stack trace ever reaches a client; unexpected errors are logged and answered 500.
"""

from __future__ import annotations

import json
import logging

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from kgart.annotations import AnnotationError, AnnotationNotFound
from kgart.errors import (
    ConfigError,
    DataSourceError,
    InvalidTermError,
    KgartError,
    NotationError,
    NotReadyError,
    QueryError,
    StoreError,
    StoreLockedError,
)

log = logging.getLogger("kgart.web")
STATUS = [(AnnotationNotFound, 404), (AnnotationError, 400), (NotationError, 404), (InvalidTermError, 400),
          (DataSourceError, 400), (ConfigError, 500),
          (StoreError, 503)]


def wants_json() -> bool:
    path = request.path
    return path.startswith(("/api", "/sparql", "/annotations")) or path.endswith((".json", ".jsonld")) or \
        request.accept_mimetypes.best == "application/json"


def error_response(status: int, message: str) -> Response:
    if wants_json():
        response = jsonify({"error": message, "status": status})
    else:
        response = Response(render_template("error.html", status=status, message=message), mimetype="text/html")
    response.status_code = status
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(KgartError)
    def kgart_error(error: KgartError) -> Response:
        if isinstance(error, NotReadyError):
            response = error_response(503, str(error))
            response.headers["Retry-After"] = str(error.retry_after)
            if response.is_json:
                response.set_data(json.dumps({"error": str(error), "status": 503, "progress": {
                    "done": error.done, "total": error.total, "percent": error.percent}}))
            return response
        if isinstance(error, QueryError) and not isinstance(error, InvalidTermError):
            # kgart's own query failed (a client's /sparql query answers 400 in web/sparql.py): the
            # parser's message, with offsets, is for the log, not the client.
            log.error("internal query failed on %s: %s", request.path, error)
            return error_response(500, "internal error; the server log has the details")
        status = next((code for kind, code in STATUS if isinstance(error, kind)), 400)
        response = error_response(status, str(error))
        if isinstance(error, StoreLockedError):
            response.headers["Retry-After"] = "5"  # a load or another write holds the store
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        response = error_response(error.code or 500, error.description or error.name)
        for name, value in error.get_headers():
            if name in ("WWW-Authenticate", "Allow", "Retry-After"):
                response.headers.add(name, value)
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:  # the one catch-all: log it, say nothing inside
        log.exception("unexpected error on %s", request.path)
        return error_response(500, "internal error; the server log has the details")
