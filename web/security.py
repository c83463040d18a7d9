"""Response headers every answer carries: no sniffing, a strict Content-Security-Policy
(the pages need no inline script or style), no referrer leak, no framing."""

from __future__ import annotations

from flask import Flask, Response

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: http: data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def safe_href(iri: object) -> str | None:
    """Where a page may link an IRI: http(s) only (a ``javascript:`` or ``data:`` IRI in the
    data is shown as text, never as a link).

    >>> safe_href("https://iconclass.org/73D"), safe_href("javascript:alert(1)")
    ('https://iconclass.org/73D', None)
    """
    text = str(iri)
    return text if text.lower().startswith(("http://", "https://")) else None


def init_app(app: Flask) -> None:
    app.jinja_env.filters["safe_href"] = safe_href

    @app.after_request
    def secure(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers.pop("Server", None)
        return response
