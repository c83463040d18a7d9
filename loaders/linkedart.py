"""Linked Art (CIDOC-CRM) records: kept as they are, plus kgart's schema.org view.

Input: one file or a folder of files in JSON-LD, Turtle, RDF/XML, N-Triples.
Every triple is kept. For each ``crm:E22_Human-Made_Object`` the loader adds
the artwork model: ``schema:VisualArtwork``, titles per language (from
``identified_by`` / ``Name`` with their language), identifier, creator and
dates (from the production), classification, subjects (what the object shows,
depicts or is about), and digital images.

JSON-LD documents name the Linked Art context by URL. It is read from a
``linked-art.json`` next to the files (or in a folder above them) when there is
one, fetched from the web otherwise (and cached), never silently skipped.
Duplicate keys in a JSON object, which some exports contain, are merged.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import platformdirs
from kgart.loaders.artwork import Artwork, artwork_triples, clean, date_range, date_text
from kgart.loaders.collection import BaseLoader, IconclassLinker, LoadReport, RecordError

from kgart.errors import DataSourceError
from kgart.notation import notation_from_iri
from kgart.oxigraph_adapter import parse_rdf, rdf_media_type
from kgart.rdf import IRI, Literal, Triple, graph_iri
from kgart.store import Store
from kgart.triplestore import Row, TripleStore

SOURCE = "linkedart"
CONTEXT_URLS = ("https://linked.art/ns/v1/linked-art.json", "http://linked.art/ns/v1/linked-art.json")
CONTEXT_FILE = "linked-art.json"
SCRATCH = graph_iri("scratch")
# Getty AAT language concepts → BCP 47, for the languages titles are most often in.
AAT_LANGUAGES = {
    "300388277": "en", "300388256": "nl", "300388344": "de", "300388306": "fr",
    "300388474": "it", "300389311": "es", "300388335": "la",
}
LANGUAGE_NAMES = {"english": "en", "dutch": "nl", "german": "de", "french": "fr", "italian": "it",
                  "spanish": "es", "latin": "la"}
CRM = "http://www.cidoc-crm.org/cidoc-crm/"
_CRM_PREFIX = "PREFIX crm: <http://www.cidoc-crm.org/cidoc-crm/>\n"


class LinkedArtLoader(BaseLoader):
    source = SOURCE

    def __init__(self, path: Path, store: TripleStore, report: LoadReport) -> None:
        super().__init__(path, store, report)
        self.scratch = Store()
        self._context: dict[str, Any] | None = None


    def records(self) -> Iterator[tuple[str, Any]]:
        files = ([self.path] if self.path.is_file() else
                 sorted(p for p in self.path.rglob("*") if p.is_file() and rdf_media_type(p.name)
                        and p.name != CONTEXT_FILE and "shacl" not in p.name.lower()))
        if not files:
            raise DataSourceError("no RDF files (.jsonld .ttl .rdf .nt …) found", path=str(self.path))
        for file in files:
            yield str(file.relative_to(self.path) if self.path.is_dir() else file.name), file

    def convert(self, where: str, file: Path) -> Iterable[Triple]:
        media = rdf_media_type(file.name)
        if media is None:
            raise RecordError("unknown RDF file type")
        try:
            data = file.read_bytes()
        except OSError as e:
            raise RecordError(f"cannot read: {e.strerror}") from e
        if media == "application/ld+json":
            data = self._with_local_context(data, file)
        try:
            triples = list(parse_rdf(data, media, base_iri=file.resolve().as_uri(), where=where))
        except DataSourceError as e:
            raise RecordError(str(e).removeprefix(f"{where}: ")) from e
        self.scratch.add_triples(SCRATCH, triples)
        return triples

    def _with_local_context(self, data: bytes, file: Path) -> bytes:
        try:
            document = json.loads(data.decode("utf-8-sig"), object_pairs_hook=self._merge_duplicates)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise RecordError(f"malformed JSON: {e}") from e
        if isinstance(document, dict) and document.get("@context") in CONTEXT_URLS:
            document["@context"] = self._linked_art_context(file)
        return json.dumps(document).encode()

    def _merge_duplicates(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for key, value in pairs:
            if key in merged and key != "@context":
                self.report.note("duplicate JSON keys merged")
                before = merged[key] if isinstance(merged[key], list) else [merged[key]]
                merged[key] = before + (value if isinstance(value, list) else [value])
            else:
                merged[key] = value
        return merged

    def _linked_art_context(self, file: Path) -> Any:
        if self._context is None:
            self._context = load_linked_art_context(file)
        return self._context

    # -- the schema.org view -------------------------------------------------------

    def epilogue(self) -> Iterable[Triple]:
        rows = self.scratch.select(_CRM_PREFIX + "SELECT DISTINCT ?o WHERE { ?o a crm:E22_Human-Made_Object }")
        linker: IconclassLinker | None = None
        for row in rows:
            obj = row["o"]
            if not isinstance(obj, IRI):
                self.report.note("objects without an IRI (left as CIDOC-CRM only)")
                continue
            a = self._artwork(obj)
            for subject in self._subjects(obj):
                if notation_from_iri(subject) is not None:
                    linker = linker or IconclassLinker(self.store, self.report)
                    linked = linker.link(notation_from_iri(subject) or "", str(obj))
                    if linked is not None:
                        a.subjects.append(linked)
                else:
                    a.subjects.append(subject)
            self.report.note("artworks described", 1)
            yield from artwork_triples(a)
        if linker is not None:
            yield from linker.materialized()

    def _values(self, query: str, obj: IRI) -> list[Row]:
        """A query about one object (``$obj``) of the scratch store."""
        return self.scratch.select(_CRM_PREFIX + query, {"obj": obj}).rows

    def _artwork(self, obj: IRI) -> Artwork:
        a = Artwork(iri=obj, record_id=obj.rsplit("/", 1)[-1])
        for r in self._values("""SELECT ?t ?lang ?label WHERE { $obj crm:P1_is_identified_by ?n .
                ?n a crm:E33_E41_Linguistic_Appellation ; crm:P190_has_symbolic_content ?t .
                OPTIONAL { ?n crm:P72_has_language ?lang OPTIONAL { ?lang rdfs:label ?label } } }""", obj):
            a.titles.append((r.text("t"), _language(r)))
        ids = self._values("""SELECT ?v WHERE { $obj crm:P1_is_identified_by ?i .
                ?i a crm:E42_Identifier ; crm:P190_has_symbolic_content ?v } ORDER BY ?v""", obj)
        if ids:
            a.identifier = ids[0].text("v")
        for r in self._values("""SELECT ?who ?name WHERE { $obj crm:P108i_was_produced_by ?p .
                ?p crm:P14_carried_out_by ?who OPTIONAL { ?who rdfs:label ?name } }""", obj):
            if isinstance(r["who"], IRI):
                a.creators.append((r["who"], r.text("name") if "name" in r else str(r["who"])))
        spans = self._values("""SELECT ?b ?e ?label WHERE { $obj crm:P108i_was_produced_by ?p .
                ?p crm:P4_has_time-span ?ts . OPTIONAL { ?ts crm:P82a_begin_of_the_begin ?b }
                OPTIONAL { ?ts crm:P82b_end_of_the_end ?e }
                OPTIONAL { ?ts crm:P1_is_identified_by/crm:P190_has_symbolic_content ?label } }""", obj)
        if spans:
            span = spans[0]
            start = _year(span.get("b"))
            end = _year(span.get("e"))
            a.earliest, a.latest, _ = date_range(start, end)
            a.date_text = span.text("label") if "label" in span else date_text(a.earliest, a.latest)
        for r in self._values("""SELECT ?type ?label WHERE { $obj crm:P2_has_type ?type
                OPTIONAL { ?type rdfs:label ?label } }""", obj):
            if isinstance(r["type"], IRI):
                a.extra.append((obj, IRI("https://schema.org/additionalType"), r["type"]))
            if "label" in r:
                a.extra.append((obj, IRI("https://schema.org/artform"), Literal(r.text("label"))))
        for r in self._values("""SELECT ?img WHERE { $obj crm:P138i_has_representation ?img }""", obj):
            if str(r["img"]).startswith(("http://", "https://")):
                a.image = a.image or str(r["img"])
        for r in self._values("""SELECT ?text WHERE { $obj crm:P67i_is_referred_to_by ?s .
                ?s crm:P190_has_symbolic_content ?text ; crm:P2_has_type/rdfs:label ?kind
                FILTER(CONTAINS(LCASE(STR(?kind)), "description")) }""", obj):
            a.description.append((clean(r.text("text")), r.literal("text").language))
        return a

    def _subjects(self, obj: IRI) -> list[IRI]:
        rows = self._values("""SELECT DISTINCT ?s WHERE {
                { $obj crm:P65_shows_visual_item ?v . ?v crm:P2_has_type|crm:P138_represents|crm:P129_is_about ?s }
                UNION { $obj crm:P62_depicts|crm:P129_is_about ?s } } ORDER BY ?s""", obj)
        return [r["s"] for r in rows if isinstance(r["s"], IRI)]


def _language(row: Row) -> str | None:
    title = row["t"]
    if isinstance(title, Literal) and title.language:
        return title.language
    lang = str(row.get("lang", ""))
    aat = lang.rsplit("/", 1)[-1]
    if aat in AAT_LANGUAGES:
        return AAT_LANGUAGES[aat]
    label = str(row.text("label")).lower() if "label" in row else ""
    return next((tag for name, tag in LANGUAGE_NAMES.items() if label.startswith(name)), None)


def _year(term: Any) -> int | None:
    value = getattr(term, "value", "")
    head = value[:5] if value.startswith("-") else value[:4]
    return int(head) if head.lstrip("-").isdigit() else None


def load_linked_art_context(near: Path) -> Any:
    """The Linked Art JSON-LD context: a local ``linked-art.json`` in or above the input's
    folder, a cached copy, or (with network) the published one."""
    for folder in [near.parent, *near.parents]:
        candidate = folder / CONTEXT_FILE
        if candidate.is_file():
            return _context_from(candidate.read_bytes(), str(candidate))
    cache = Path(platformdirs.user_cache_dir("kgart")) / CONTEXT_FILE
    if cache.is_file():
        return _context_from(cache.read_bytes(), str(cache))
    try:
        with urllib.request.urlopen(CONTEXT_URLS[0], timeout=10) as response:  # noqa: S310
            data = response.read(5_000_000)
    except OSError as e:
        raise DataSourceError(f"the JSON-LD context {CONTEXT_URLS[0]} is not available offline and "
                              f"could not be fetched ({e}); put {CONTEXT_FILE} next to the files") from e
    context = _context_from(data, CONTEXT_URLS[0])
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(data)
    return context


def _context_from(data: bytes, where: str) -> Any:
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DataSourceError(f"not a JSON-LD context: {e}", path=where) from e
    if not isinstance(document, dict) or "@context" not in document:
        raise DataSourceError("not a JSON-LD context (no @context)", path=where)
    return document["@context"]
