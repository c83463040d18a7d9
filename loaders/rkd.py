"""RKD (Netherlands Institute for Art History) records.

Two inputs: (a) RKD API search responses, Solr JSON with ``response.docs[]``
(``priref``, ``benaming_kunstwerk`` Dutch titles, ``titel_engels``,
``iconclass_code``, ``toeschrijving``, ``datumlabel``, ``zoekmarge_*``,
``picturae_images``, ``urls``), as one document or as JSON Lines of docs;
(b) tabular exports such as the Odeuropa metadata.csv (``Title``, ``Artist``,
``Earliest Date``, ``Latest Date``, ``Image Credits``, ``Details URL``,
``Iconclass code``, ``Description``, ``Keywords``, ``License``), where rows from
other archives are skipped and reported.
"""

from __future__ import annotations

import re
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
from kgart.loaders.readers import csv_rows, json_document, json_lines, parse_json_record, split_codes, split_list

from kgart.errors import DataSourceError
from kgart.rdf import Triple
from kgart.triplestore import TripleStore

SOURCE = "rkd"
RECORD_URL = "https://rkd.nl/explore/images/{}"
IMAGE_URL = "https://images.rkd.nl/rkd/thumb/650x650/{}.jpg"
_DETAILS = re.compile(r"^https?://rkd\.nl/(?:[a-z]{2}/)?explore/images/(\d+)\b")


class RkdLoader(BaseLoader):
    source = SOURCE

    def __init__(self, path: Path, store: TripleStore, report: LoadReport) -> None:
        super().__init__(path, store, report)
        self.codes = IconclassLinker(store, report)
        self.ids = DuplicateGuard()
        suffixes = "".join(path.suffixes[-2:]).lower()
        self.tabular = suffixes.endswith((".csv", ".tsv", ".csv.gz", ".tsv.gz"))


    def epilogue(self) -> Iterable[Triple]:
        return self.codes.materialized()

    def records(self) -> Iterator[tuple[str, Any]]:
        if self.tabular:
            for line, row in csv_rows(self.path):
                yield f"{self.path.name}:{line}", row
            return
        if self.path.name.endswith((".jsonl", ".jsonl.gz", ".ndjson")):
            for line, text in json_lines(self.path):
                yield f"{self.path.name}:{line}", text
            return
        document = json_document(self.path)
        docs = _solr_docs(document, self.path)
        for i, doc in enumerate(docs):
            yield f"{self.path.name}#docs[{i}]", doc

    def convert(self, where: str, record: Any) -> Iterable[Triple]:
        if isinstance(record, str):
            record = parse_json_record(record)
        artwork = self._from_row(where, record) if self.tabular else self._from_doc(where, record)
        return artwork_triples(artwork)

    # -- (a) Solr documents -------------------------------------------------------

    def _from_doc(self, where: str, doc: Any) -> Artwork:
        if not isinstance(doc, dict):
            raise RecordError(f"expected a JSON object, found {type(doc).__name__}")
        priref = clean(doc.get("priref"))
        if not priref:
            raise RecordError("missing required field 'priref'")
        if not re.fullmatch(r"\d+", priref):
            raise RecordError(f"field 'priref' is not a number: {priref[:40]!r}")
        self.ids.check(priref, where)
        url = RECORD_URL.format(priref)
        a = Artwork(iri=artwork_iri(SOURCE, priref), record_id=priref, url=url, source_record=url)
        for title in _strings(doc.get("benaming_kunstwerk"), "benaming_kunstwerk"):
            a.titles.append((check_length(where, "benaming_kunstwerk", title), "nl"))
        for title in _strings(doc.get("titel_engels"), "titel_engels"):
            a.titles.append((check_length(where, "titel_engels", title), "en"))
        if not a.has_title:
            self.report.note("records without a title (loaded untitled)")
        for attribution in _list(doc.get("toeschrijving"), "toeschrijving"):
            name = clean(attribution.get("naam_inverted") or attribution.get("naam")) \
                if isinstance(attribution, dict) else clean(attribution)
            if name:
                a.creators.append((person_iri(SOURCE, name), name))
        start = parse_year(doc.get("zoekmarge_begindatum"))
        end = parse_year(doc.get("zoekmarge_einddatum"))
        a.earliest, a.latest, fixed = date_range(start, end)
        if fixed:
            self.report.note("dates inverted and swapped")
        a.date_text = clean(doc.get("datumlabel")) or date_text(a.earliest, a.latest)
        images = _strings(doc.get("picturae_images"), "picturae_images")
        if images:
            first = images[0]
            a.image = check_url(first if first.startswith("http") else IMAGE_URL.format(first), "picturae_images")
        for code in _strings(doc.get("iconclass_code"), "iconclass_code", raw=True):
            iri = self.codes.link(code, where)
            if iri is not None:
                a.subjects.append(iri)
        return a

    # -- (b) tabular exports -----------------------------------------------------

    def _from_row(self, where: str, row: dict[str, str]) -> Artwork:
        details = clean(row.get("Details URL"))
        if "Details URL" not in row:
            raise DataSourceError("not an RKD table: no 'Details URL' column", path=str(self.path))
        match = _DETAILS.match(details)
        if not match:
            raise RecordError(f"not an RKD record (Details URL {details[:60]!r})")
        priref = match.group(1)
        self.ids.check(priref, where)
        url = RECORD_URL.format(priref)
        a = Artwork(iri=artwork_iri(SOURCE, priref), record_id=priref, url=url, source_record=url)
        title = check_length(where, "Title", clean(row.get("Title")))
        if title:
            a.titles.append((title, "en"))
        else:
            self.report.note("records without a title (loaded untitled)")
        artist = clean(row.get("Artist"))
        if artist:
            a.creators.append((person_iri(SOURCE, artist), artist))
        start, end = parse_year(row.get("Earliest Date")), parse_year(row.get("Latest Date"))
        a.earliest, a.latest, fixed = date_range(start, end)
        if fixed:
            self.report.note("dates inverted and swapped")
        a.date_text = date_text(a.earliest, a.latest)
        image = clean(row.get("Image Credits"))
        if image:
            a.image = check_url(image, "Image Credits")
        description = check_length(where, "Description", clean(row.get("Description")))
        if description:
            a.description.append((description, "en"))
        for keyword in split_list(clean(row.get("Keywords"))):
            a.keywords.append((keyword, "en"))
        a.license = clean(row.get("License"))
        for code in split_codes(row.get("Iconclass code") or ""):
            iri = self.codes.link(code, where)
            if iri is not None:
                a.subjects.append(iri)
        return a


def _solr_docs(document: Any, path: Path) -> list[Any]:
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        response = document.get("response")
        if isinstance(response, dict) and isinstance(response.get("docs"), list):
            return response["docs"]
        if "priref" in document:
            return [document]
    raise DataSourceError("not an RKD API response: expected {'response': {'docs': [...]}}",
                          path=str(path))


def _list(value: Any, name: str) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _strings(value: Any, name: str, *, raw: bool = False) -> list[str]:
    """Text values of a field; ``raw`` keeps inner spacing (codes are reported as the source wrote them)."""
    out = []
    for item in _list(value, name):
        if isinstance(item, (dict, list)):
            raise RecordError(f"field {name!r} holds {type(item).__name__}s, expected text")
        text = str(item).strip() if raw and item is not None else clean(item)
        if text:
            out.append(text)
    return out
