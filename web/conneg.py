"""Content negotiation, in one place: a suffix (``.ttl``) overrides the Accept header,
which is read with its q-values by Werkzeug; RDF media types come from the store's
format table (pyoxigraph's), not from a list kept here."""

from __future__ import annotations

from werkzeug.datastructures import MIMEAccept

from kgart.oxigraph_adapter import GRAPH_FORMATS, RESULT_FORMATS, rdf_media_type

HTML = "text/html"
RDF_TYPES = ["text/turtle", "application/ld+json", "application/rdf+xml", "application/n-triples"]
RESULT_TYPES = [RESULT_FORMATS[k] for k in ("json", "xml", "csv", "tsv")]
SUFFIXES = (".ttl", ".jsonld", ".rdf", ".nt", ".json", ".html")
# Generic names clients send, and what they mean for each kind of answer.
_ALIASES = {"application/json": ("application/sparql-results+json", "application/ld+json"),
            "application/xml": ("application/sparql-results+xml", "application/rdf+xml"),
            "text/xml": ("application/sparql-results+xml", "application/rdf+xml"),
            "text/plain": ("text/tab-separated-values", "application/n-triples"),
            "application/xhtml+xml": (HTML, HTML)}


def split_suffix(path: str) -> tuple[str, str | None]:
    """``73D.ttl`` → (``73D``, ``text/turtle``); no known suffix → (path, None).

    >>> split_suffix("11H%28JEROME%29.jsonld")
    ('11H%28JEROME%29', 'application/ld+json')
    """
    for suffix in SUFFIXES:
        if path.endswith(suffix) and len(path) > len(suffix):
            base = path[: -len(suffix)]
            if suffix == ".html":
                return base, HTML
            if suffix == ".json":
                return base, "application/ld+json"
            return base, rdf_media_type("x" + suffix)
    return path, None


def negotiate(accept: MIMEAccept, offered: list[str]) -> str | None:
    """The best of ``offered`` for an Accept header by q-value, with the generic names
    (``application/json`` …) read for the kind of answer; no header or ``*/*`` gets
    ``offered[0]`` (callers list their default first); None when nothing offered is
    acceptable (answer 406).

    >>> from werkzeug.datastructures import MIMEAccept
    >>> negotiate(MIMEAccept([("application/json", 1)]), ["text/html", "text/turtle", "application/ld+json"])
    'application/ld+json'
    >>> negotiate(MIMEAccept([("application/trig", 1)]), ["text/html", "text/turtle"]) is None
    True
    """
    if not accept:
        return offered[0]
    aliases = {alias: meant for alias, pair in _ALIASES.items()
               for meant in [next((m for m in pair if m in offered), None)] if meant}
    best = accept.best_match(offered + list(aliases), default="")
    if not best:
        return None
    return aliases.get(best, best)


def choose(accept: MIMEAccept, offered: list[str]) -> str:
    """Like :func:`negotiate`, falling back to ``offered[0]`` where a 406 would not help
    (SPARQL results, whose form is known only after the query runs)."""
    return negotiate(accept, offered) or offered[0]


__all__ = ["GRAPH_FORMATS", "HTML", "RDF_TYPES", "RESULT_TYPES", "choose", "negotiate", "split_suffix"]
