"""The artwork model every collection loader produces, and its triples.

The data model of docs/architecture.md in one place: ``schema:VisualArtwork`` with titles per
language, creators, dates, image, description, page URL, ``dcterms:subject``
links and ``prov:wasDerivedFrom`` the source record. Loaders fill an
:class:`Artwork`; :func:`artwork_triples` is the only code that turns one into RDF.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import quote

from kgart.loaders.collection import RecordError

from kgart.rdf import DCTERMS, IRI, KGART, KGART_BASE, PROV, RDF, SCHEMA, XSD, Literal, Triple, slug

ARTWORK_BASE = KGART_BASE + "artwork/"
PERSON_BASE = KGART_BASE + "person/"
SENTENCE_BASE = KGART_BASE + "sentence/"


def artwork_iri(source: str, record_id: str) -> IRI:
    """kgart's IRI for an artwork of a source: ``…/artwork/{source}/{id}``.

    >>> artwork_iri("rkd", "193334")
    <https://w3id.org/kgart/artwork/rkd/193334>
    """
    return IRI(f"{ARTWORK_BASE}{source}/{quote(str(record_id), safe='')}")


def person_iri(source: str, key: str) -> IRI:
    return IRI(f"{PERSON_BASE}{source}/{quote(slug(key), safe='')}")


def sentence_iri(source: str, record_id: str, number: int) -> IRI:
    return IRI(f"{SENTENCE_BASE}{source}/{quote(str(record_id), safe='')}/{number}")


def clean(value: object) -> str:
    """A field value with stray and doubled whitespace removed (``None`` → ``""``)."""
    if value is None:
        return ""
    return re.sub(r"\s+", " ", str(value)).strip()


@dataclass
class Artwork:
    """One artwork as kgart models it, whatever the source."""

    iri: IRI
    record_id: str
    titles: list[tuple[str, str | None]] = field(default_factory=list)  # (text, language)
    creators: list[tuple[IRI, str]] = field(default_factory=list)  # (person IRI, name)
    date_text: str = ""
    earliest: int | None = None
    latest: int | None = None
    image: str = ""
    description: list[tuple[str, str | None]] = field(default_factory=list)
    url: str = ""
    source_record: str = ""
    subjects: list[IRI] = field(default_factory=list)
    keywords: list[tuple[str, str | None]] = field(default_factory=list)
    medium: str = ""
    identifier: str = ""
    collection: str = ""
    license: str = ""
    extra: list[Triple] = field(default_factory=list)

    @property
    def has_title(self) -> bool:
        return any(text for text, _ in self.titles)


def artwork_triples(a: Artwork) -> Iterator[Triple]:
    """The triples of one artwork (docs/architecture.md, "Artworks")."""
    s = a.iri
    yield (s, RDF.type, SCHEMA.VisualArtwork)
    yield (s, SCHEMA.identifier, Literal(a.identifier or a.record_id))
    for text, lang in _unique(a.titles):
        yield (s, SCHEMA.name, Literal(text, lang))
    for person, name in dict(a.creators).items():
        yield (s, SCHEMA.creator, person)
        yield (person, RDF.type, SCHEMA.Person)
        yield (person, SCHEMA.name, Literal(name))
    if a.date_text:
        yield (s, SCHEMA.dateCreated, Literal(a.date_text))
    if a.earliest is not None:
        yield (s, KGART.earliestYear, Literal(str(a.earliest), datatype=XSD.integer))
    if a.latest is not None:
        yield (s, KGART.latestYear, Literal(str(a.latest), datatype=XSD.integer))
    if a.image:
        yield (s, SCHEMA.image, IRI(a.image))
    for text, lang in _unique(a.description):
        yield (s, SCHEMA.description, Literal(text, lang))
    if a.url:
        yield (s, SCHEMA.url, IRI(a.url))
    if a.source_record:
        yield (s, PROV.wasDerivedFrom, IRI(a.source_record))
    for subject in dict.fromkeys(a.subjects):
        yield (s, DCTERMS.subject, subject)
    for text, lang in _unique(a.keywords):
        yield (s, SCHEMA.keywords, Literal(text, lang))
    if a.medium:
        yield (s, SCHEMA.artMedium, Literal(a.medium))
    if a.collection:
        yield (s, KGART.collection, Literal(a.collection))
    if a.license:
        yield (s, SCHEMA.license, Literal(a.license))
    yield from a.extra


def _unique(pairs: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    return [p for p in dict.fromkeys(pairs) if p[0]]


_YEAR = re.compile(r"^-?\d{1,4}$")


def parse_year(value: object) -> int | None:
    """A year from a field (``"1650"``, ``1650``, ``" 1650 "``); ``None`` when absent or not a year."""
    text = clean(value)
    if not text or not _YEAR.match(text):
        return None
    return int(text)


def date_range(earliest: int | None, latest: int | None) -> tuple[int | None, int | None, str | None]:
    """Order a date range; the third value says what was fixed, if anything."""
    if earliest is not None and latest is not None and earliest > latest:
        return latest, earliest, f"dates inverted ({earliest} > {latest}); swapped"
    return earliest, latest, None


def date_text(earliest: int | None, latest: int | None) -> str:
    if earliest is None and latest is None:
        return ""
    if earliest is None or latest is None or earliest == latest:
        return str(earliest if earliest is not None else latest)
    return f"{earliest}–{latest}"


_HTTP_URL = re.compile(r"^https?://[^\s<>\"{}|\\^`]+$")


def check_url(value: str, field_name: str) -> str:
    """An http(s) URL usable as an IRI; anything else makes the record fail."""
    value = value.strip()
    if not _HTTP_URL.match(value):
        raise RecordError(f"field {field_name!r} is not an http(s) URL: {value[:80]!r}")
    return value
