"""What every collection loader shares: the record loop, the report, code linking.

A loader reads its input as a stream of records, each with a location
(``file:line`` or ``file#id``) that errors name. One bad record is skipped and
reported (or, with ``strict``, stops the load); an unreadable file stops the
load. Either way nothing is half-loaded: the graph is replaced atomically.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from kgart.errors import DataSourceError, KgartError
from kgart.iconclass import Iconclass
from kgart.rdf import IRI, Triple, graph_name
from kgart.triplestore import TripleStore

MAX_FIELD_CHARS = 100_000
"""A longer field value is not a title or a description: the record is refused."""


class RecordError(KgartError):
    """One record cannot be loaded; the loader skips it (or stops, when strict)."""


@dataclass
class LoadReport:
    """What a load did, for the summary at the end and for tests."""

    source: str
    graph: str
    records: int = 0
    triples: int = 0
    codes_linked: int = 0
    codes_rejected: list[tuple[str, str, str]] = field(default_factory=list)  # where, code, reason
    codes_repaired: list[tuple[str, str, str]] = field(default_factory=list)  # where, code, became
    skipped: list[tuple[str, str]] = field(default_factory=list)  # where, reason
    notes: Counter[str] = field(default_factory=Counter)

    def skip(self, where: str, reason: str) -> None:
        self.skipped.append((where, reason))

    def note(self, what: str, n: int = 1) -> None:
        self.notes[what] += n

    def summary(self, limit: int = 10) -> list[str]:
        """Lines for a person: counts, then the first few of each kind of problem."""
        lines = [f"{self.source} → graph {graph_name(self.graph)}: {self.records:,} records, "
                 f"{self.triples:,} triples, {self.codes_linked:,} codes linked, "
                 f"{len(self.codes_rejected):,} codes rejected, {len(self.skipped):,} records skipped"]
        for what, n in sorted(self.notes.items()):
            lines.append(f"  note: {what}: {n:,}")
        if self.codes_repaired:
            lines.append(f"  codes repaired by the lenient parser: {len(self.codes_repaired):,}")
            lines += [f"    {w}: {c!r} → {b}" for w, c, b in self.codes_repaired[:limit]]
        if self.codes_rejected:
            reasons = Counter(r.split(" (the closest")[0] for _, _, r in self.codes_rejected)
            lines.append("  codes rejected:")
            lines += [f"    {w}: {c!r}: {r}" for w, c, r in self.codes_rejected[:limit]]
            if len(self.codes_rejected) > limit:
                lines.append(f"    … {len(self.codes_rejected) - limit:,} more; by reason: "
                             + "; ".join(f"{r} ×{n}" for r, n in reasons.most_common(5)))
        if self.skipped:
            reasons = Counter(re.split(r" \(|: ", r)[0] for _, r in self.skipped)
            lines.append("  records skipped:")
            lines += [f"    {w}: {r}" for w, r in self.skipped[:limit]]
            if len(self.skipped) > limit:
                lines.append(f"    … {len(self.skipped) - limit:,} more; by reason: "
                             + "; ".join(f"{r} ×{n}" for r, n in reasons.most_common(5)))
        return lines


class IconclassLinker:
    """Turns the codes a record carries into links to Iconclass concepts.

    Codes go through the lenient parser; what it repairs is reported, what does
    not resolve is rejected with its reason and never linked. Key, named and
    compound notations are materialized once, into the collection's graph.
    """

    def __init__(self, store: TripleStore, report: LoadReport, languages: Iterable[str] = ("en",)) -> None:
        self.iconclass = Iconclass(store)
        if not self.iconclass.is_loaded:
            raise DataSourceError("this source carries Iconclass codes; load Iconclass first "
                                  "(kgart load iconclass)")
        self.report = report
        self.languages = tuple(languages)
        self._done: dict[str, IRI | None] = {}
        self._reason: dict[str, str] = {}
        self._pending: list[Triple] = []

    def link(self, code: str, where: str) -> IRI | None:
        code = code.strip()
        if not code:
            return None
        if code in self._done:
            iri = self._done[code]
            if iri is None:
                self.report.codes_rejected.append((where, code, self._reason[code]))
            else:
                self.report.codes_linked += 1
            return iri
        resolved, reason, changes = self.iconclass.try_resolve(code, lenient=True)
        if resolved is None:
            self._done[code] = None
            self._reason[code] = reason or "unresolvable"
            self.report.codes_rejected.append((where, code, self._reason[code]))
            return None
        if changes:
            self.report.codes_repaired.append((where, code, resolved.canonical))
        if not resolved.materialized:
            self._pending += self.iconclass.concept_triples(resolved.canonical, self.languages)
        self._done[code] = resolved.iri
        self.report.codes_linked += 1
        return resolved.iri

    def materialized(self) -> list[Triple]:
        """Triples for the derived notations linked so far (each once)."""
        out, self._pending = self._pending, []
        return out


class Loader(Protocol):
    """A source: reads records, converts each to triples."""

    source: str

    def records(self) -> Iterator[tuple[str, Any]]:
        """(location, raw record) pairs; raises DataSourceError when the input is unreadable."""
        ...

    def convert(self, where: str, record: Any) -> Iterable[Triple]:
        """Triples for one record; raises RecordError when the record cannot be loaded."""
        ...

    def preamble(self) -> Iterable[Triple]:
        """Triples that do not belong to one record (a subject scheme, say)."""
        ...

    def epilogue(self) -> Iterable[Triple]:
        """Triples known only after every record (materialized notations, say)."""
        ...


class BaseLoader:
    """What most loaders share: the input path and report, and nothing outside the records."""

    source = ""
    takes_mapping = False

    def __init__(self, path: Path, store: TripleStore, report: LoadReport) -> None:
        self.path = path
        self.store = store
        self.report = report

    def preamble(self) -> Iterable[Triple]:
        return ()

    def epilogue(self) -> Iterable[Triple]:
        return ()


def run_loader(store: TripleStore, loader: Loader, report: LoadReport, *, strict: bool = False,
               progress: Callable[[int], None] | None = None) -> LoadReport:
    """Replace the report's graph with what the loader produces, atomically."""

    def all_triples() -> Iterator[Triple]:
        yield from loader.preamble()
        for where, record in loader.records():
            try:
                converted = list(loader.convert(where, record))
            except RecordError as e:
                if strict:
                    raise DataSourceError(f"{where}: {e} (--strict stops at the first bad record)") from e
                report.skip(where, str(e))
                continue
            report.records += 1
            if progress is not None:
                progress(1)
            yield from converted
        yield from loader.epilogue()

    report.triples = store.replace_graph(report.graph, all_triples())
    if report.records == 0:
        report.note("no records loaded")
    return report


def as_list(value: Any, field_name: str) -> list[Any]:
    """A field that must hold a list (absent or null: empty)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordError(f"field {field_name!r} must be a list, found {type(value).__name__}")
    return value


def as_dict(value: Any, field_name: str) -> dict[str, Any]:
    """A field that must hold an object (absent or null: empty)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecordError(f"field {field_name!r} must be an object, found {type(value).__name__}")
    return value


def check_length(where: str, field_name: str, value: str) -> str:
    if len(value) > MAX_FIELD_CHARS:
        raise RecordError(f"field {field_name!r} is {len(value):,} characters long "
                          f"(more than {MAX_FIELD_CHARS:,}); not a plausible value")
    return value


class DuplicateGuard:
    """Refuses a second record with an id already seen, naming where the first was."""

    def __init__(self) -> None:
        self._seen: dict[str, str] = {}

    def check(self, record_id: str, where: str) -> None:
        first = self._seen.setdefault(record_id, where)
        if first != where:
            raise RecordError(f"duplicate id {record_id!r} (first at {first})")
