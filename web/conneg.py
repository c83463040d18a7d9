"""Content negotiation, in one place: a suffix (``.ttl``) overrides the Accept header,
which is read with its q-values by Werkzeug; RDF media types come from the store's
format table (pyoxigraph's), not from a list kept here."""

from __future__ import annotations

from werkzeug.datastructures import MIMEAccept

from kgart.store import GRAPH_FORMATS, RESULT_FORMATS, rdf_media_type

HTML = "text/html"
RDF_TYPES = ["text/turtle", "application/ld+json", "application/rdf+xml", "application/n-triples"]
RESULT_TYPES = [RESULT_FORMATS[k] for k in ("json", "xml", "csv", "tsv")]
SUFFIXES = (".ttl", ".jsonld", ".rdf", ".nt", ".json", ".html")
_ALIASES = {"application/json": "application/sparql-results+json", "application/xml": "application/sparql-results+xml",
            "text/xml": "application/sparql-results+xml"}


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


def choose(accept: MIMEAccept, offered: list[str]) -> str:
    """The best of ``offered`` for an Accept header, by q-value; ``*/*`` or nothing gets
    ``offered[0]``, so callers list their default first."""
    best = accept.best_match(offered + list(_ALIASES), default=None) if accept else None
    return _ALIASES.get(best, best) if best else offered[0]


__all__ = ["GRAPH_FORMATS", "HTML", "RDF_TYPES", "RESULT_TYPES", "choose", "split_suffix"]
