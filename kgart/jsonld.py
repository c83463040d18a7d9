"""JSON-LD for Web Annotations, offline: PyLD does the processing, the contexts ship with kgart.

The W3C Web Annotation context (``anno.jsonld``) and the LDP context are read from
the package; any other remote document a posted body names is refused, so that
what a client sends can never make the server fetch a URL. Triples go through
N-Quads, which both PyLD and Oxigraph speak, so no RDF is written by hand here.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from pyld import jsonld

from kgart.errors import DataSourceError
from kgart.oxigraph_adapter import parse_rdf, serialize_ntriples
from kgart.rdf import Triple

ANNO_CONTEXT = "http://www.w3.org/ns/anno.jsonld"
LDP_CONTEXT = "http://www.w3.org/ns/ldp.jsonld"
ANNO_PROFILE = ANNO_CONTEXT
ANNO_MEDIA_TYPE = f'application/ld+json; profile="{ANNO_PROFILE}"'
_PACKAGED = {ANNO_CONTEXT: "anno.jsonld", "https://www.w3.org/ns/anno.jsonld": "anno.jsonld",
             LDP_CONTEXT: "ldp.jsonld", "https://www.w3.org/ns/ldp.jsonld": "ldp.jsonld"}

KGART_TERMS: dict[str, Any] = {
    "kgart": "https://w3id.org/kgart/ns#",
    "prov": "http://www.w3.org/ns/prov#",
    "status": {"@id": "kgart:reviewStatus", "@type": "@vocab"},
    "proposed": "kgart:proposed",
    "accepted": "kgart:accepted",
    "rejected": "kgart:rejected",
    "wasGeneratedBy": {"@id": "prov:wasGeneratedBy", "@type": "@id"},
}
"""kgart's own annotation terms (see ontology/kgart.ttl), sent inline after the W3C context."""

ANNOTATION_CONTEXT: list[Any] = [ANNO_CONTEXT, KGART_TERMS]


class JsonLdError(DataSourceError):
    """A JSON-LD body that cannot be read as RDF."""


@cache
def _packaged(name: str) -> dict[str, Any]:
    return json.loads(resources.files("kgart.ontology").joinpath(name).read_text(encoding="utf-8"))


def document_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """PyLD's loader: packaged contexts only; never the network."""
    name = _PACKAGED.get(url)
    if name is None:
        raise jsonld.JsonLdError(f"the context {url[:200]} is not available here: kgart reads the Web Annotation "
                                 "and LDP contexts, or contexts given inline", "jsonld.LoadDocumentError",
                                 code="loading remote context failed")
    return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url,
            "document": _packaged(name)}


def to_triples(document: Any, where: str = "body") -> list[Triple]:
    """A JSON-LD document (parsed JSON) as triples; blank nodes stay blank nodes.

    :raises JsonLdError: when it is not JSON-LD PyLD can expand (the reason named).
    """
    try:
        nquads = jsonld.to_rdf(document, {"documentLoader": document_loader, "format": "application/n-quads"})
    except jsonld.JsonLdError as e:
        raise JsonLdError(f"not valid JSON-LD: {_reason(e)}", path=where) from None
    except (RecursionError, TypeError, ValueError) as e:
        raise JsonLdError(f"not valid JSON-LD: {type(e).__name__}", path=where) from None
    return list(parse_rdf(nquads.encode("utf-8"), "application/n-quads", where=where))


def framed(triples: list[Triple], frame: dict[str, Any]) -> dict[str, Any]:
    """Triples as one JSON-LD tree shaped by ``frame`` (its ``@context`` compacts the result)."""
    options = {"documentLoader": document_loader, "omitGraph": True, "embed": "@once"}
    result: dict[str, Any] = jsonld.frame(_expanded(triples), frame, options)
    return result


def _expanded(triples: list[Triple]) -> Any:
    """Triples as expanded JSON-LD, through N-Quads (values kept as strings, as RDF has them)."""
    return jsonld.from_rdf(serialize_ntriples(triples).decode("utf-8"),
                           {"format": "application/n-quads", "useNativeTypes": False})


def _reason(error: jsonld.JsonLdError) -> str:
    """PyLD nests the cause; the innermost message is the useful one."""
    messages: list[str] = []
    current: Any = error
    while current is not None and len(messages) < 8:
        messages.append(str(getattr(current, "message", current)))
        current = getattr(current, "cause", None)
    return messages[-1][:300]


def compacted(triples: list[Triple], context: Any) -> dict[str, Any]:
    """Triples as one flat JSON-LD document (``@graph``), compacted with ``context``: every
    triple kept, for exports that must read back as the same graph."""
    options = {"documentLoader": document_loader, "graph": True}
    result: dict[str, Any] = jsonld.compact(_expanded(triples), {"@context": context}, options)
    return result
