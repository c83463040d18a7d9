"""Artpedia: paintings with visual and contextual sentences.

Two inputs: the Artpedia JSON (an object keyed by id; each value has
``title``, ``year``, ``img_url``, ``split``, ``visual_sentences``,
``contextual_sentences``) and MELArt's ``curated_annotations.json`` (keyed by
Wikidata id; each value a list of sentences with ``text``, ``sentence_type``
and ``entities`` linked to Wikidata). Each sentence becomes a
``kgart:Sentence`` with its type and position, ``schema:about`` its artwork.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from kgart.loaders.artwork import Artwork, artwork_iri, artwork_triples, check_url, clean, parse_year, sentence_iri
from kgart.loaders.collection import BaseLoader, RecordError, check_length
from kgart.loaders.readers import json_document

from kgart.errors import DataSourceError
from kgart.rdf import IRI, KGART, OWL, RDF, SCHEMA, XSD, Literal, Triple

SOURCE = "artpedia"
WIKIDATA = "http://www.wikidata.org/entity/"
SENTENCE_TYPES = ("visual", "contextual")


class ArtpediaLoader(BaseLoader):
    source = SOURCE



    def records(self) -> Iterator[tuple[str, Any]]:
        document = json_document(self.path)
        if not isinstance(document, dict):
            raise DataSourceError("expected a JSON object keyed by artwork id", path=str(self.path))
        for key, value in document.items():
            yield f"{self.path.name}#{key}", (str(key), value)

    def convert(self, where: str, record: Any) -> Iterable[Triple]:
        key, value = record
        if isinstance(value, list):
            return self._melart(where, key, value)
        if isinstance(value, dict):
            return self._artpedia(where, key, value)
        raise RecordError(f"expected an object or a list of sentences, found {type(value).__name__}")

    def _artpedia(self, where: str, key: str, value: dict[str, Any]) -> Iterator[Triple]:
        a = Artwork(iri=artwork_iri(SOURCE, key), record_id=key)
        title = check_length(where, "title", clean(value.get("title")))
        if not title:
            raise RecordError("missing required field 'title'")
        a.titles.append((title, "en"))
        year = parse_year(value.get("year"))
        if value.get("year") not in (None, "") and year is None:
            self.report.note("years that are not a year (kept as text)")
        a.earliest = a.latest = year
        a.date_text = clean(value.get("year"))
        if clean(value.get("img_url")):
            a.image = check_url(clean(value["img_url"]), "img_url")
        if clean(value.get("split")):
            a.keywords.append((f"artpedia split: {clean(value['split'])}", None))
        sentences: list[tuple[str, str, list[Any]]] = []
        for kind in SENTENCE_TYPES:
            items = value.get(f"{kind}_sentences") or []
            if not isinstance(items, list):
                raise RecordError(f"field '{kind}_sentences' must be a list")
            sentences += [(kind, _sentence_text(where, item), []) for item in items]
        yield from artwork_triples(a)
        yield from self._sentences(a.iri, key, sentences)

    def _melart(self, where: str, key: str, value: list[Any]) -> Iterator[Triple]:
        if not re.fullmatch(r"Q\d+", key):
            raise RecordError(f"MELArt records are keyed by Wikidata id, found {key[:30]!r}")
        a = Artwork(iri=artwork_iri(SOURCE, key), record_id=key)
        a.extra.append((a.iri, OWL.sameAs, IRI(WIKIDATA + key)))
        sentences = []
        for item in value:
            if not isinstance(item, dict):
                raise RecordError("each sentence must be an object with 'text' and 'sentence_type'")
            kind = clean(item.get("sentence_type"))
            if kind not in SENTENCE_TYPES:
                raise RecordError(f"sentence_type must be visual or contextual, found {kind[:20]!r}")
            links = item.get("entities") or []
            if not isinstance(links, list):
                raise RecordError(f"'entities' must be a list, found {type(links).__name__}")
            entities = [e.get("qid") for e in links if isinstance(e, dict)]
            sentences.append((kind, _sentence_text(where, item.get("text")), entities))
        if sentences:
            # MELArt has no title field; its first sentence names the painting.
            a.description.append((sentences[0][1], "en"))
        yield from artwork_triples(a)
        yield from self._sentences(a.iri, key, sentences)

    def _sentences(self, artwork: IRI, key: str, sentences: list[tuple[str, str, list[Any]]]) -> Iterator[Triple]:
        for position, (kind, text, entities) in enumerate(sentences, start=1):
            s = sentence_iri(SOURCE, key, position)
            yield (s, RDF.type, KGART.Sentence)
            yield (s, SCHEMA.text, Literal(text, "en"))
            yield (s, KGART.sentenceType, Literal(kind))
            yield (s, SCHEMA.position, Literal(str(position), datatype=XSD.integer))
            yield (s, SCHEMA.about, artwork)
            for qid in dict.fromkeys(entities):
                if isinstance(qid, str) and re.fullmatch(r"Q\d+", qid):
                    yield (s, SCHEMA.mentions, IRI(WIKIDATA + qid))
        self.report.note("sentences", len(sentences))


def _sentence_text(where: str, value: Any) -> str:
    if not isinstance(value, str):
        raise RecordError(f"a sentence must be text, found {type(value).__name__}")
    text = check_length(where, "sentence", clean(value))
    if not text:
        raise RecordError("empty sentence")
    return text
