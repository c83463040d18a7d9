"""Iconclass as SKOS, from the iconclass/data text files.

Two sources carry the same files: the PyPI package ``iconclass`` (a zip with
six languages; the default, it installs with kgart) and a checkout of
iconclass/data (thirteen languages, Dutch among them) given by folder.

Every base notation of ``notations.txt`` becomes a ``skos:Concept``. Key and
named forms beyond those (1.3 million) are not written out; the key sets of
``keys.txt`` are, so that :mod:`kgart.iconclass` can resolve them on demand.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from kgart.errors import DataSourceError
from kgart.languages import file_code, language_tag
from kgart.notation import notation_iri
from kgart.rdf import DCTERMS, ICONCLASS_KEYS, ICONCLASS_SCHEME, IRI, KGART, RDF, SKOS, Literal, Triple

ICONCLASS_LICENSE = IRI("https://creativecommons.org/publicdomain/zero/1.0/")


@dataclass
class NotationRecord:
    """One record of ``notations.txt``."""

    notation: str
    line: int
    key_set: str | None = None
    children: list[str] = field(default_factory=list)
    related: list[str] = field(default_factory=list)


class IconclassSource:
    """The raw iconclass/data files, from the PyPI package or a folder."""

    def __init__(self, name: str, files: dict[str, list[tuple[str, bytes]]]) -> None:
        self.name = name
        self._files = files  # role -> [(display path, content)]

    @property
    def size(self) -> int:
        """Bytes of data files (what decides whether a load pays for a process of its own)."""
        return sum(self.sizes().values())

    @classmethod
    def from_package(cls) -> IconclassSource:
        """The data shipped in the ``iconclass`` package (en de fr it pt jp)."""
        try:
            data = resources.files("iconclass").joinpath("data.zip").read_bytes()
        except (ModuleNotFoundError, FileNotFoundError, OSError) as e:
            raise DataSourceError(
                "the iconclass package and its data.zip are not installed; "
                "install kgart's dependencies or give --data-dir") from e
        files: dict[str, list[tuple[str, bytes]]] = {}
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for info in z.infolist():
                name = info.filename
                where = f"iconclass/data.zip!{name}"
                match = re.fullmatch(r"(txt|kw)_(\w+)\.txt", name)
                if name in ("notations.txt", "keys.txt"):
                    files[name] = [(where, z.read(info))]
                elif match:
                    files.setdefault(f"{match[1]}:{match[2]}", []).append((where, z.read(info)))
        return cls("iconclass package", files)

    @classmethod
    def from_directory(cls, path: str | Path) -> IconclassSource:
        """A checkout of iconclass/data: notations.txt, keys.txt, txt/<lang>/, kw/<lang>/."""
        root = Path(path)
        if not (root / "notations.txt").is_file():
            raise DataSourceError("not an iconclass/data folder (no notations.txt)", path=str(root))
        files: dict[str, list[tuple[str, bytes]]] = {}
        for name in ("notations.txt", "keys.txt"):
            p = root / name
            if not p.is_file():
                raise DataSourceError(f"missing {name}", path=str(root))
            files[name] = [(str(p), p.read_bytes())]
        for kind in ("txt", "kw"):
            for lang_dir in sorted((root / kind).glob("*")) if (root / kind).is_dir() else []:
                for p in sorted(lang_dir.glob("*.txt")):
                    if p.name.endswith("_refs.txt"):
                        continue  # cross-reference records, another format
                    files.setdefault(f"{kind}:{lang_dir.name}", []).append((str(p), p.read_bytes()))
        return cls(str(root), files)

    def sizes(self) -> dict[str, int]:
        """Bytes of each file role (``notations.txt``, ``txt:en``, ``kw:de``, …)."""
        return {role: sum(len(content) for _, content in files) for role, files in self._files.items()}

    @property
    def languages(self) -> list[str]:
        """Language codes with definition texts, as iconclass/data names them."""
        return sorted(role.split(":", 1)[1] for role in self._files if role.startswith("txt:"))

    def records(self) -> Iterator[NotationRecord]:
        """The records of ``notations.txt`` in file order."""
        where, content = self._files["notations.txt"][0]
        for fields, line in _textbase(where, content):
            if "N" not in fields:
                raise DataSourceError("record without an N (notation) field", path=where, line=line)
            keys = fields.get("K", [])
            yield NotationRecord(
                notation=fields["N"][0], line=line, key_set=keys[0] if keys else None,
                children=fields.get("C", []), related=fields.get("R", []))

    def key_sets(self) -> dict[str, list[str]]:
        """Key set id (``31k``) → the key suffixes it allows (``0``, ``1``, ``89``, …).

        Suffixes with a ``q`` are qualifier variants that notations never carry
        as ``(+…)`` keys; they are left out, as iconclass.org does.
        """
        where, content = self._files["keys.txt"][0]
        sets: dict[str, list[str]] = {}
        for fields, line in _textbase(where, content):
            if "K" not in fields:
                raise DataSourceError("key record without a K field", path=where, line=line)
            suffixes = [s for s in fields.get("S", []) if s.isdigit()]
            if suffixes:
                sets[fields["K"][0]] = suffixes
        return sets

    def texts(self, language: str) -> Iterator[tuple[str, str]]:
        """Definition texts in one language; lines marked untranslated (``#``) are skipped."""
        return self._lines(f"txt:{file_code(language)}")

    def keywords(self, language: str) -> Iterator[tuple[str, str]]:
        return self._lines(f"kw:{file_code(language)}")

    def _lines(self, role: str) -> Iterator[tuple[str, str]]:
        """(notation, text) pairs of one kind and language, in file order."""
        for where, content in self._files.get(role, []):
            notation: str | None = None  # the pair being built; texts may span lines
            text = ""
            for number, raw in enumerate(_decode(where, content).split("\n"), start=1):
                head, sep, value = raw.partition("|")
                if raw.startswith("#"):
                    # An English placeholder for a missing translation.
                    if notation is not None and text:
                        yield notation, _unquote(text)
                    notation = None
                elif sep and head[:1].isdigit():
                    if notation is not None and text:
                        yield notation, _unquote(text)
                    notation, text = head.strip(), value.strip()
                elif raw.strip():
                    if notation is None:
                        raise DataSourceError(f"expected 'NOTATION|text', found {raw.strip()[:60]!r}",
                                              path=where, line=number)
                    text = f"{text} {raw.strip()}"  # a quoted CSV cell over several lines
            if notation is not None and text:
                yield notation, _unquote(text)


def _unquote(text: str) -> str:
    """Undo CSV quoting (``"a ""b"" c"`` → ``a "b" c``) left in some exported texts."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return text[1:-1].replace('""', '"')
    return text


def _decode(where: str, content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = content[:e.start].count(b"\n") + 1
        raise DataSourceError(f"not UTF-8 ({e.reason})", path=where, line=line) from e


def _textbase(where: str, content: bytes) -> Iterator[tuple[dict[str, list[str]], int]]:
    """Records of the iconclass/data 'textbase' format: ``FIELD value`` lines,
    ``; value`` continuing the previous field, ``$`` ending a record."""
    fields: dict[str, list[str]] = {}
    last: str | None = None
    start = 1
    for number, raw in enumerate(_decode(where, content).splitlines(), start=1):
        line = raw.rstrip("\r")
        if line.strip() == "$":
            if fields:
                yield fields, start
            fields, last, start = {}, None, number + 1
            continue
        if not line.strip():
            continue
        name, _, value = line.partition(" ")
        value = value.strip()
        if name == ";":
            if last is None:
                raise DataSourceError("';' continuation without a field before it",
                                      path=where, line=number)
            fields[last].append(value)
        elif name.isalpha() and name.isupper():
            if not fields:
                start = number
            fields.setdefault(name, []).append(value)
            last = name
        else:
            raise DataSourceError(f"unexpected line {line[:60]!r}", path=where, line=number)
    if fields:
        yield fields, start


@dataclass
class IconclassLoadReport:
    concepts: int = 0
    key_sets: int = 0
    keys: int = 0
    labels: dict[str, int] = field(default_factory=dict)
    keywords: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


# A source this large is loaded with its triples made in a process of their own (Store.replace_graph_from).
PARALLEL_FROM_BYTES = 4_000_000

STRUCTURE = "structure"  # the stream of concepts, hierarchy and key sets; the others are "txt:<code>", "kw:<code>"


@dataclass
class IconclassTriples:
    """The Iconclass graph as a :class:`kgart.triplestore.TripleSource`: rebuilt from where the data
    lies (``data_dir``, else the package), so another process can make the triples; ``streams``
    (None: all) limits it to some of them, so that several processes can make one graph."""

    data_dir: str | None = None
    languages: list[str] | None = None
    streams: list[str] | None = None
    report: IconclassLoadReport = field(default_factory=IconclassLoadReport)

    def source(self) -> IconclassSource:
        return (IconclassSource.from_directory(self.data_dir) if self.data_dir is not None
                else IconclassSource.from_package())

    def triples(self) -> Iterator[Triple]:
        return iconclass_triples(self.source(), self.languages, self.report, streams=self.streams)

    def result(self) -> IconclassLoadReport:
        return self.report

    def split(self, parts: int) -> list[IconclassTriples]:
        """At most ``parts`` sources of about equal work (by bytes of their files) that together
        make this graph: the structure and each language's labels and keywords are streams."""
        source = self.source()
        sizes = source.sizes()
        streams = [STRUCTURE] + [f"{kind}:{code}" for code in _choose_languages(source, self.languages)
                                 for kind in ("txt", "kw")]
        weight = {stream: sizes.get(stream, 0) for stream in streams}
        weight[STRUCTURE] = sizes["notations.txt"] + sizes["keys.txt"]
        loads: list[tuple[int, list[str]]] = [(0, []) for _ in range(max(1, parts))]
        for stream in sorted(streams, key=lambda st: -weight[st]):
            loads.sort(key=lambda load: load[0])
            total, chosen = loads[0]
            loads[0] = (total + weight[stream], [*chosen, stream])
        return [IconclassTriples(self.data_dir, self.languages, chosen) for _, chosen in loads if chosen]

    def merged(self, results: list[object]) -> IconclassLoadReport:
        """The reports of the parts :meth:`split` made, as one."""
        merged = IconclassLoadReport()
        for report in results:
            assert isinstance(report, IconclassLoadReport)
            merged.concepts += report.concepts
            merged.key_sets += report.key_sets
            merged.keys += report.keys
            for mine, theirs in ((merged.labels, report.labels), (merged.keywords, report.keywords),
                                 (merged.skipped, report.skipped)):
                for key, count in theirs.items():
                    mine[key] = mine.get(key, 0) + count
        return merged


def iconclass_triples(source: IconclassSource, languages: Iterable[str] | None = None,
                      report: IconclassLoadReport | None = None, *,
                      streams: Iterable[str] | None = None) -> Iterator[Triple]:
    """The Iconclass graph as triples (SKOS + kgart's key sets).

    ``languages`` limits labels and keywords (codes or tags: ``nl``, ``ja``/``jp``);
    ``streams`` to some of ``structure``, ``txt:<code>``, ``kw:<code>`` (None: all).
    """
    report = report if report is not None else IconclassLoadReport()
    wanted = _choose_languages(source, languages)
    chosen = set(streams) if streams is not None else None
    records = list(source.records())
    known = {r.notation: notation_iri(r.notation) for r in records}
    key_sets = source.key_sets()

    if chosen is None or STRUCTURE in chosen:
        yield from _scheme_triples(source)
        for rec in records:
            yield from _concept_triples(rec, known, key_sets, report)
            report.concepts += 1
        yield from _key_set_triples(key_sets, report)

    key_iri = _key_resolver(key_sets)
    for code in wanted:
        tag = language_tag(code)
        if chosen is None or f"txt:{code}" in chosen:
            yield from _text_triples(source.texts(code), SKOS.prefLabel, tag, known, key_iri,
                                     report.labels, report, unique=True)
        if chosen is None or f"kw:{code}" in chosen:
            yield from _text_triples(source.keywords(code), SKOS.altLabel, tag, known, key_iri,
                                     report.keywords, report, unique=False)


def _choose_languages(source: IconclassSource, languages: Iterable[str] | None) -> list[str]:
    available = source.languages
    if languages is None:
        return available
    chosen = [file_code(lang) for lang in languages if lang.strip()]
    missing = [lang for lang in chosen if lang not in available]
    if missing:
        tags = ", ".join(language_tag(c) for c in available)
        raise DataSourceError(f"no Iconclass texts for {', '.join(missing)} in {source.name} "
                              f"(it has: {tags})")
    return chosen


def _scheme_triples(source: IconclassSource) -> Iterator[Triple]:
    s = ICONCLASS_SCHEME
    yield (s, RDF.type, SKOS.ConceptScheme)
    yield (s, SKOS.prefLabel, Literal("Iconclass", "en"))
    yield (s, DCTERMS.license, ICONCLASS_LICENSE)
    yield (s, DCTERMS.source, Literal(source.name))
    yield (s, DCTERMS.bibliographicCitation, Literal(
        "H. van de Waal, Iconclass, an iconographic classification system. Completed and "
        "edited by L.D. Couprie, E. Tholen & G. Vellekoop (Amsterdam, 1972-1985); online "
        "edition by E. Posthumus & J.P.J. Brandhorst. https://iconclass.org/"))


_TYPE, _CONCEPT, _IN_SCHEME, _NOTATION = RDF.type, SKOS.Concept, SKOS.inScheme, SKOS.notation
_BROADER, _NARROWER, _RELATED, _KEYS = SKOS.broader, SKOS.narrower, SKOS.related, KGART.iconclassKeys


def _concept_triples(rec: NotationRecord, known: dict[str, IRI], key_sets: dict[str, list[str]],
                     report: IconclassLoadReport) -> Iterator[Triple]:
    c = known[rec.notation]
    yield (c, _TYPE, _CONCEPT)
    yield (c, _IN_SCHEME, ICONCLASS_SCHEME)
    yield (c, _NOTATION, Literal(rec.notation))
    if len(rec.notation) == 1:
        yield (c, SKOS.topConceptOf, ICONCLASS_SCHEME)
        yield (ICONCLASS_SCHEME, SKOS.hasTopConcept, c)
    for child in rec.children:
        child_iri = known.get(child)
        if child_iri is None:
            report.skip("child listed but not defined")
            continue
        yield (c, _NARROWER, child_iri)
        yield (child_iri, _BROADER, c)
    for other in rec.related:
        other_iri = known.get(other)
        if other_iri is None:
            report.skip("related notation not defined")
        else:
            yield (c, _RELATED, other_iri)
    if rec.key_set in key_sets:
        yield (c, _KEYS, ICONCLASS_KEYS[rec.key_set])


def _key_set_triples(key_sets: dict[str, list[str]], report: IconclassLoadReport) -> Iterator[Triple]:
    for set_id, suffixes in key_sets.items():
        ks = ICONCLASS_KEYS[set_id]
        yield (ks, RDF.type, KGART.IconclassKeySet)
        yield (ks, SKOS.notation, Literal(set_id))
        report.key_sets += 1
        for suffix in suffixes:
            key = ICONCLASS_KEYS[set_id + suffix]
            yield (key, RDF.type, KGART.IconclassKey)
            yield (key, KGART.keySet, ks)
            yield (key, KGART.keySuffix, Literal(suffix))
            report.keys += 1


def _key_resolver(key_sets: dict[str, list[str]]) -> dict[str, IRI]:
    """Text-file notation of a key (``31k89``) → the key's IRI."""
    return {set_id + s: ICONCLASS_KEYS[set_id + s] for set_id, ss in key_sets.items() for s in ss}


def _text_triples(lines: Iterator[tuple[str, str]], predicate: IRI, tag: str,
                  known: dict[str, IRI], key_iri: dict[str, IRI], counts: dict[str, int],
                  report: IconclassLoadReport, *, unique: bool) -> Iterator[Triple]:
    seen: set[str] = set()
    n = 0
    for notation, text in lines:
        subject = known.get(notation) or key_iri.get(notation)
        if subject is None:
            report.skip("text for a notation not in notations.txt")
            continue
        if unique:
            if notation in seen:
                report.skip("second definition text for a notation")
                continue
            seen.add(notation)
        yield (subject, predicate, Literal(text, tag))
        n += 1
    counts[tag] = counts.get(tag, 0) + n
