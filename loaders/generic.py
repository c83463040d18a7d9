"""Any collection in CSV or JSON Lines, through a declarative column mapping (TOML).

The mapping names, for each part of the artwork model, the column (CSV) or key
(JSON Lines; ``a.b`` reaches into nested objects) that holds it::

    id = "Accession number"          # required: a stable record id
    title = "Title"                  # one column, or a list of columns
    title_language = "en"
    creator = "Artist"
    date = "Date"                    # free text; a four-digit year in it fills the range
    earliest = "From"                # optional explicit range
    latest = "To"
    image = "Image URL"
    url = "Page URL"
    description = "Description"
    description_language = "en"
    medium = "Medium"
    collection = "Venue"
    keywords = "Tags"
    keywords_separator = ","
    iconclass = "Iconclass"          # codes, checked against the loaded Iconclass
    iconclass_separator = ";"

The ArtUK loader is this loader with ArtUK's column names as defaults.
"""

from __future__ import annotations

import re
import tomllib
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
    date_text,
    parse_year,
    person_iri,
)
from kgart.loaders.collection import BaseLoader, DuplicateGuard, IconclassLinker, LoadReport, RecordError, check_length
from kgart.loaders.readers import csv_rows, json_lines, parse_json_record, split_codes, split_list

from kgart.errors import DataSourceError
from kgart.rdf import Triple, graph_name
from kgart.triplestore import TripleStore

FIELDS = {"id", "title", "title_language", "creator", "date", "earliest", "latest", "image", "url",
          "description", "description_language", "medium", "collection", "keywords",
          "keywords_separator", "iconclass", "iconclass_separator", "identifier", "license"}
_YEAR_IN_TEXT = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")


def read_mapping(path: Path) -> dict[str, Any]:
    """A TOML mapping, checked: unknown keys and a missing ``id`` are errors."""
    try:
        mapping = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise DataSourceError(f"cannot read the mapping: {e}", path=str(path)) from e
    except tomllib.TOMLDecodeError as e:
        raise DataSourceError(f"the mapping is not valid TOML: {e}", path=str(path)) from e
    return check_mapping(mapping, str(path))


def check_mapping(mapping: dict[str, Any], where: str) -> dict[str, Any]:
    unknown = sorted(set(mapping) - FIELDS)
    if unknown:
        raise DataSourceError(f"unknown mapping key(s) {', '.join(unknown)}; known: {', '.join(sorted(FIELDS))}",
                              path=where)
    if not mapping.get("id"):
        raise DataSourceError("the mapping must name the 'id' column", path=where)
    return mapping


class GenericLoader(BaseLoader):
    source = "csv"
    takes_mapping = True
    default_mapping: dict[str, Any] = {}

    def __init__(self, path: Path, store: TripleStore, report: LoadReport, mapping: Path | None = None) -> None:
        super().__init__(path, store, report)
        given = read_mapping(mapping) if mapping is not None else None
        if given is None and not self.default_mapping:
            raise DataSourceError("a --mapping file is needed to know which column holds what",
                                  path=str(path))
        self.mapping = {**self.default_mapping, **(given or {})}
        check_mapping(self.mapping, str(mapping or "default mapping"))
        self.graph_source = graph_name(report.graph)
        self.ids = DuplicateGuard()
        self.codes: IconclassLinker | None = (IconclassLinker(store, report) if self.mapping.get("iconclass")
                                              else None)
        self.jsonl = path.name.endswith((".jsonl", ".jsonl.gz", ".ndjson"))
        self._checked_columns = False


    def epilogue(self) -> Iterable[Triple]:
        return self.codes.materialized() if self.codes else ()

    def records(self) -> Iterator[tuple[str, Any]]:
        if self.jsonl:
            for line, text in json_lines(self.path):
                yield f"{self.path.name}:{line}", text
        else:
            for line, row in csv_rows(self.path):
                if not self._checked_columns:
                    self._check_columns(row)
                yield f"{self.path.name}:{line}", row

    def _check_columns(self, row: dict[str, str]) -> None:
        self._checked_columns = True
        wanted = [c for key, c in self.mapping.items() if not key.endswith(("_language", "_separator"))
                  for c in (c if isinstance(c, list) else [c])]
        missing = [c for c in wanted if c not in row]
        if missing:
            raise DataSourceError(f"column(s) named in the mapping are missing: {', '.join(missing)}; "
                                  f"the file has: {', '.join(k for k in row if k != '__extra__')}",
                                  path=str(self.path), line=1)

    def convert(self, where: str, record: Any) -> Iterable[Triple]:
        if isinstance(record, str):
            record = parse_json_record(record)
            if not isinstance(record, dict):
                raise RecordError(f"expected a JSON object, found {type(record).__name__}")
        if record.get("__extra__"):
            raise RecordError("more cells than header columns")
        return artwork_triples(self._artwork(where, record))

    def _get(self, record: dict[str, Any], key: str) -> list[str]:
        columns = self.mapping.get(key)
        if not columns:
            return []
        values = []
        for column in columns if isinstance(columns, list) else [columns]:
            value: Any = record
            for part in str(column).split(".") if self.jsonl else [column]:
                value = value.get(part) if isinstance(value, dict) else None
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, (dict, list)):
                    raise RecordError(f"field {column!r} holds structured data, expected text")
                text = check_length("", str(column), clean(item))
                if text:
                    values.append(text)
        return values

    def _artwork(self, where: str, r: dict[str, Any]) -> Artwork:
        ids = self._get(r, "id")
        if not ids:
            raise RecordError(f"missing required field {self.mapping['id']!r} (the id)")
        record_id = ids[0]
        self.ids.check(record_id, where)
        a = Artwork(iri=artwork_iri(self.graph_source, record_id), record_id=record_id)
        a.identifier = (self._get(r, "identifier") or [record_id])[0]
        title_lang = self.mapping.get("title_language")
        a.titles += [(t, title_lang) for t in self._get(r, "title")]
        if not a.has_title:
            self.report.note("records without a title (loaded untitled)")
        for name in self._get(r, "creator"):
            a.creators.append((person_iri(self.graph_source, name), name))
        a.date_text = " ".join(self._get(r, "date"))
        start = parse_year((self._get(r, "earliest") or [""])[0])
        end = parse_year((self._get(r, "latest") or [""])[0])
        if start is None and end is None and a.date_text:
            years = [int(y) for y in _YEAR_IN_TEXT.findall(a.date_text)]
            if years:
                start, end = min(years), max(years)
        a.earliest, a.latest, fixed = date_range(start, end)
        if fixed:
            self.report.note("dates inverted and swapped")
        a.date_text = a.date_text or date_text(a.earliest, a.latest)
        images = self._get(r, "image")
        if images:
            a.image = check_url(images[0], str(self.mapping["image"]))
        urls = self._get(r, "url")
        if urls:
            a.url = check_url(urls[0], str(self.mapping["url"]))
            a.source_record = a.url
        desc_lang = self.mapping.get("description_language")
        a.description += [(d, desc_lang) for d in self._get(r, "description")]
        a.medium = " ".join(self._get(r, "medium"))
        a.collection = " ".join(self._get(r, "collection"))
        a.license = " ".join(self._get(r, "license"))
        separator = self.mapping.get("keywords_separator", ",")
        for cell in self._get(r, "keywords"):
            a.keywords += [(k, self.mapping.get("title_language")) for k in split_list(cell, separator)]
        if self.codes is not None:
            separators = self.mapping.get("iconclass_separator", ",;")
            for cell in self._get(r, "iconclass"):
                for code in split_codes(cell, separators):
                    iri = self.codes.link(code, where)
                    if iri is not None:
                        a.subjects.append(iri)
        return a


class ArtUkLoader(GenericLoader):
    """ArtUK paintings: the generic loader with ArtUK's column names by default."""

    source = "artuk"
    default_mapping = {
        "id": "accession_number", "title": "title", "title_language": "en", "creator": "artist",
        "date": "date", "medium": "medium", "collection": "venue", "url": "url", "image": "image_url",
        "description": "description", "description_language": "en",
    }
