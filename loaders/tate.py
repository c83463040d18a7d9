"""The Tate collection: artwork records (tategallery/collection) and the Tate subject taxonomy.

Input: JSON Lines (``.jsonl`` or ``.jsonl.gz``, one original record a line) or
a folder of per-artwork ``.json`` files, as the Tate repository stores them.
Records are streamed: memory holds the subject taxonomy, not the artworks.

Subjects form their own SKOS scheme with three levels. The ``subjects`` tree
in each record gives the parent of every term it uses; ``subjects/level0.json``
… ``level2.json`` (found next to the input, or given) give the names.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from kgart.loaders.artwork import (
    Artwork,
    artwork_iri,
    artwork_triples,
    check_url,
    clean,
    date_range,
    parse_year,
    person_iri,
)
from kgart.loaders.collection import BaseLoader, DuplicateGuard, LoadReport, RecordError, as_dict, as_list, check_length
from kgart.loaders.readers import json_document, json_lines, parse_json_record

from kgart.errors import DataSourceError
from kgart.rdf import DCTERMS, IRI, KGART_BASE, RDF, SKOS, Literal, Namespace, Triple
from kgart.triplestore import TripleStore

SOURCE = "tate"
SUBJECT = Namespace(KGART_BASE + "tate/subject/")
SUBJECT_SCHEME = IRI(KGART_BASE + "tate/subjects")


class TateLoader(BaseLoader):
    source = SOURCE

    def __init__(self, path: Path, store: TripleStore, report: LoadReport,
                 subjects_dir: Path | None = None) -> None:
        super().__init__(path, store, report)
        self.ids = DuplicateGuard()
        self.names: dict[int, str] = {}
        self.levels: dict[int, int] = {}
        self.parents: dict[int, int | None] = {}
        folder = subjects_dir or _find_subjects_dir(path)
        if folder is not None:
            self._read_levels(folder)

    def _read_levels(self, folder: Path) -> None:
        for level in (0, 1, 2):
            path = folder / f"level{level}.json"
            if not path.exists():
                continue
            data = json_document(path)
            if not isinstance(data, dict):
                raise DataSourceError("expected an object of id → name", path=str(path))
            for key, name in data.items():
                if str(key).isdigit() and isinstance(name, str):
                    self.names[int(key)] = name
                    self.levels[int(key)] = level

    def preamble(self) -> Iterable[Triple]:
        yield (SUBJECT_SCHEME, RDF.type, SKOS.ConceptScheme)
        yield (SUBJECT_SCHEME, SKOS.prefLabel, Literal("Tate subjects", "en"))
        yield (SUBJECT_SCHEME, DCTERMS.identifier, Literal("tate"))  # the scheme's name in kgart (kgart.kinds)

    def records(self) -> Iterator[tuple[str, Any]]:
        if self.path.is_dir():
            for file in sorted(self.path.rglob("*.json")):
                if file.parent.name == "subjects" or file.name.startswith("level"):
                    continue
                yield str(file.relative_to(self.path)), file
            return
        for line, text in json_lines(self.path):
            yield f"{self.path.name}:{line}", text

    def convert(self, where: str, record: Any) -> Iterable[Triple]:
        if isinstance(record, Path):
            try:
                record = record.read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError) as e:
                raise RecordError(f"cannot read: {e}") from e
        data = parse_json_record(record)
        if not isinstance(data, dict):
            raise RecordError(f"expected a JSON object, found {type(data).__name__}")
        return artwork_triples(self._artwork(where, data))

    def _artwork(self, where: str, r: dict[str, Any]) -> Artwork:
        acno = clean(r.get("acno"))
        if not acno:
            raise RecordError("missing required field 'acno'")
        self.ids.check(acno, where)
        a = Artwork(iri=artwork_iri(SOURCE, acno), record_id=acno, identifier=acno)
        title = check_length(where, "title", clean(r.get("title")))
        if title:
            a.titles.append((title, "en"))
        for contributor in as_list(r.get("contributors"), "contributors"):
            if isinstance(contributor, dict) and contributor.get("role", "artist") == "artist":
                name = clean(contributor.get("fc") or contributor.get("mda"))
                if name:
                    key = str(contributor.get("id") or name)
                    a.creators.append((person_iri(SOURCE, key), name))
        if not a.creators and clean(r.get("all_artists")):
            name = clean(r.get("all_artists"))
            a.creators.append((person_iri(SOURCE, name), name))
        a.date_text = clean(r.get("dateText"))
        span = as_dict(r.get("dateRange"), "dateRange")
        start = parse_year(span.get("startYear")) if span else None
        end = parse_year(span.get("endYear")) if span else None
        if start is None and end is None:
            start = end = parse_year(a.date_text[:4]) if a.date_text[:4].isdigit() else None
        a.earliest, a.latest, fixed = date_range(start, end)
        if fixed:
            self.report.note("dates inverted and swapped")
        if a.date_text.lower() == "date not known":
            a.date_text = ""
        if clean(r.get("thumbnailUrl")):
            a.image = check_url(clean(r["thumbnailUrl"]), "thumbnailUrl")
        if clean(r.get("url")):
            a.url = check_url(clean(r["url"]), "url")
            a.source_record = a.url
        a.medium = clean(r.get("medium"))
        a.extra.extend(self._subject_links(a.iri, as_dict(r.get("subjects"), "subjects")))
        return a

    def _subject_links(self, artwork: IRI, tree: Any) -> Iterator[Triple]:
        """Walk a record's subject tree; the deepest terms are the artwork's subjects."""
        stack: list[tuple[Any, int | None, int]] = [(child, None, 0) for child in _children(tree)]
        while stack:
            node, parent, depth = stack.pop()
            if not isinstance(node, dict) or not str(node.get("id", "")).isdigit():
                continue
            term = int(node["id"])
            if term not in self.parents:
                self.parents[term] = parent
                self.names.setdefault(term, clean(node.get("name")) or str(term))
                self.levels.setdefault(term, depth)
            kids = _children(node)
            if not kids:
                yield (artwork, IRI("http://purl.org/dc/terms/subject"), SUBJECT[str(term)])
            stack.extend((kid, term, depth + 1) for kid in kids)

    def epilogue(self) -> Iterable[Triple]:
        for term, parent in sorted(self.parents.items()):
            concept = SUBJECT[str(term)]
            yield (concept, RDF.type, SKOS.Concept)
            yield (concept, SKOS.inScheme, SUBJECT_SCHEME)
            yield (concept, SKOS.prefLabel, Literal(self.names.get(term, str(term)), "en"))
            yield (concept, SKOS.notation, Literal(str(term)))
            if parent is None:
                yield (concept, SKOS.topConceptOf, SUBJECT_SCHEME)
                yield (SUBJECT_SCHEME, SKOS.hasTopConcept, concept)
            else:
                yield (concept, SKOS.broader, SUBJECT[str(parent)])
                yield (SUBJECT[str(parent)], SKOS.narrower, concept)
        self.report.note("Tate subject concepts", len(self.parents))


def _children(node: Any) -> list[Any]:
    if not isinstance(node, dict):
        return []
    kids = node.get("children")
    return kids if isinstance(kids, list) else []


def _find_subjects_dir(path: Path) -> Path | None:
    for candidate in (path / "subjects", path.parent / "subjects", path.parent / "processed" / "subjects"):
        if (candidate / "level0.json").exists():
            return candidate
    return None
