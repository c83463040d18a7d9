"""Iconclass as loaded in the store: resolve any notation on demand.

Base notations live in the Iconclass graph as SKOS concepts. Keys
(``31D111(+89)``), names beyond the printed ones (``11H(FRANCIS)3``) and
compounds (``61B:31A2212(+1)``) are resolved here: their validity, broader
chain, children and labels are derived from the base concepts and key sets,
the way iconclass.org derives them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from kgart.errors import NotationError
from kgart.languages import normalize_language
from kgart.notation import (
    PLACEHOLDER,
    LenientParse,
    Notation,
    NotationPart,
    notation_from_iri,
    notation_iri,
    parse_lenient,
    parse_notation,
)
from kgart.rdf import ICONCLASS_KEYS, ICONCLASS_SCHEME, IRI, KGART, RDF, SKOS, Literal, Triple, graph_iri
from kgart.sparql_template import iri_list
from kgart.triplestore import TripleStore

ICONCLASS_GRAPH = graph_iri("iconclass")
FALLBACK_LANGUAGE = "en"


@dataclass(frozen=True)
class Label:
    """A label and the language it is really in (``fallback`` when not the one asked for)."""

    text: str
    language: str
    fallback: bool = False


@dataclass(frozen=True)
class IconclassStatistics:
    concepts: int
    labels: dict[str, int]


@dataclass(frozen=True)
class Resolved:
    """A notation checked against Iconclass, with its place in the tree."""

    notation: Notation
    path: tuple[str, ...]
    """From the top of the tree down to the notation itself (first part of a compound)."""
    children: tuple[str, ...]
    materialized: bool
    """True when the notation is a concept in the Iconclass graph, not derived on demand."""

    @property
    def canonical(self) -> str:
        return str(self.notation)

    @property
    def iri(self) -> IRI:
        return self.notation.iri

    @property
    def depth(self) -> int:
        """1 for the ten top divisions, one more for each level below."""
        return len(self.path)

    @property
    def broader(self) -> str | None:
        """The notation directly above; for a compound, its first part."""
        if self.notation.is_compound:
            return str(self.notation.parts[0])
        return self.path[-2] if len(self.path) > 1 else None


class Iconclass:
    """Iconclass in a store. Builds its index of the tree from the store once, lazily.

    >>> from kgart.store import Store
    >>> ic = Iconclass(Store())
    >>> ic.is_loaded
    False
    """

    def __init__(self, store: TripleStore, graph: IRI = ICONCLASS_GRAPH) -> None:
        self.store = store
        self.graph = graph
        self._texts: dict[tuple[str, str], str] = {}  # (subject IRI, language) -> text

    @cached_property
    def languages(self) -> frozenset[str]:
        """The label languages the graph has (read once)."""
        rows = self.store.select("SELECT DISTINCT (LANG(?l) AS ?lang) WHERE { GRAPH $graph { ?c skos:prefLabel ?l } }",
                                 {"graph": self.graph})
        return frozenset(r.text("lang") for r in rows if r.text("lang", ""))

    def label_language(self, language: str) -> str:
        """The language labels are fetched in: the one asked for when the graph has it,
        else English (so that caches are keyed by the few loaded languages, never by
        whatever a caller sends)."""
        tag = _lang(language)
        return tag if tag in self.languages else FALLBACK_LANGUAGE

    @property
    def is_loaded(self) -> bool:
        return self.store.has_graph(self.graph)

    # -- the index ---------------------------------------------------------------

    @cached_property
    def _parents(self) -> dict[str, list[str]]:
        parents: dict[str, list[str]] = {}
        rows = self.store.select(
            "SELECT ?c ?p WHERE { GRAPH $graph { ?c a skos:Concept . OPTIONAL { ?c skos:broader ?p } } }",
            {"graph": self.graph})
        for row in rows:
            child = notation_from_iri(row.iri("c"))
            if child is None:
                continue
            entry = parents.setdefault(child, [])
            if "p" in row:
                parent = notation_from_iri(row.iri("p"))
                if parent is not None:
                    entry.append(parent)
        return parents

    @cached_property
    def _children(self) -> dict[str, list[str]]:
        children: dict[str, list[str]] = {}
        for child, parents in self._parents.items():
            for parent in parents:
                children.setdefault(parent, []).append(child)
        for kids in children.values():
            kids.sort(key=_notation_sort_key)
        return children

    @cached_property
    def _key_set_of(self) -> dict[str, str]:
        rows = self.store.select("SELECT ?c ?k WHERE { GRAPH $graph { ?c kgart:iconclassKeys ?k } }",
                                 {"graph": self.graph})
        prefix = len(ICONCLASS_KEYS)
        return {n: str(row["k"])[prefix:] for row in rows
                if (n := notation_from_iri(row.iri("c"))) is not None}

    @cached_property
    def _key_suffixes(self) -> dict[str, list[str]]:
        rows = self.store.select(
            "SELECT ?set ?suffix WHERE { GRAPH $graph { ?key kgart:keySet ?ks ; "
            "kgart:keySuffix ?suffix . ?ks skos:notation ?set } }", {"graph": self.graph})
        suffixes: dict[str, list[str]] = {}
        for row in rows:
            suffixes.setdefault(row.text("set"), []).append(row.text("suffix"))
        for values in suffixes.values():
            values.sort(key=lambda s: (len(s), s))
        return suffixes

    def index_tree(self) -> None:
        """Build the tables every resolution reads (a few seconds for the full Iconclass), so that
        a server can do it as a worker starts instead of in its first request."""
        _ = self._children, self._key_set_of, self._key_suffixes, self.languages

    def statistics(self) -> IconclassStatistics:
        """Concepts, and concepts labelled per language (most first)."""
        rows = self.store.select(
            "SELECT ?lang (COUNT(?c) AS ?n) WHERE { GRAPH $graph { ?c a skos:Concept ; "
            "skos:prefLabel ?l } BIND(LANG(?l) AS ?lang) } GROUP BY ?lang ORDER BY DESC(?n) ?lang",
            {"graph": self.graph})
        labels = {r.text("lang"): r.int("n") for r in rows}
        total = self.store.select("SELECT (COUNT(?c) AS ?n) WHERE { GRAPH $graph { ?c a skos:Concept } }",
                                  {"graph": self.graph})
        return IconclassStatistics(total.rows[0].int("n"), labels)

    def concepts(self) -> list[str]:
        """Every base notation in the graph."""
        return list(self._parents)

    def __contains__(self, notation: str) -> bool:
        return notation in self._parents

    # -- resolution --------------------------------------------------------------

    def parse(self, text: str, *, lenient: bool = False) -> LenientParse:
        """Parse (strictly, or leniently reporting changes) without resolving."""
        if lenient:
            return parse_lenient(text)
        return LenientParse(parse_notation(text), text, ())

    def resolve(self, text: str | Notation, *, lenient: bool = False) -> Resolved:
        """Check a notation against Iconclass and place it in the tree.

        :raises NotationError: when malformed, or when a part names a base, a
            name template or a key that Iconclass does not have.
        """
        notation = text if isinstance(text, Notation) else self.parse(text, lenient=lenient).notation
        for part in notation.parts:
            self._check_part(str(notation), part)
        first = notation.parts[0]
        path = tuple(self._path(first))
        children = () if notation.is_compound else tuple(self._part_children(first))
        materialized = not notation.is_compound and str(first) in self._parents
        return Resolved(notation, path, children, materialized)

    def try_resolve(self, text: str, *, lenient: bool = True
                    ) -> tuple[Resolved | None, str | None, tuple[str, ...]]:
        """Resolve without raising: (result, reason it failed, lenient changes)."""
        try:
            parsed = self.parse(text, lenient=lenient)
            return self.resolve(parsed.notation), None, parsed.changes
        except NotationError as e:
            return None, e.reason, ()

    def _check_part(self, whole: str, part: NotationPart) -> None:
        concept = self._concept_for(part)
        if concept is None:
            closest = self._closest_known(part.base)
            hint = f" (the closest that exists is {closest})" if closest else ""
            what = "name template" if part.template else "notation"
            missing = part.template if part.template and part.base not in self._parents else part.base
            raise NotationError(whole, f"{what} {missing} is not in Iconclass{hint}",
                                part=str(part))
        if part.key is not None:
            key_set = self._key_set_of.get(concept)
            if key_set is None or key_set not in self._key_suffixes:
                raise NotationError(whole, f"{part.base} takes no keys, so (+{part.key}) "
                                    "cannot follow it", part=str(part))
            if part.key not in self._key_suffixes[key_set]:
                raise NotationError(whole, f"key (+{part.key}) is not in key set {key_set} "
                                    f"that {part.base} uses", part=str(part))

    def _concept_for(self, part: NotationPart) -> str | None:
        """The base concept that carries a part: itself, or its ``(...)`` template."""
        if part.base in self._parents:
            return part.base
        if part.template and part.template in self._parents:
            return part.template
        return None

    def _closest_known(self, base: str) -> str | None:
        for end in range(len(base) - 1, 0, -1):
            if base[:end] in self._parents:
                return base[:end]
        return None

    def _parent(self, part: NotationPart) -> NotationPart | None:
        if part.key:
            return part.with_key(part.key[:-1] or None)
        base = part.base
        if base in self._parents:
            parents = self._parents[base]
            return parse_notation(primary_parent(base, parents)).part if parents else None
        # A name that only the template knows: follow the template, keep the name.
        assert part.template is not None
        template_parents = self._parents.get(part.template, [])
        if not template_parents:
            return None
        above = primary_parent(part.template, template_parents)
        if f"({PLACEHOLDER})" in above and part.tail:
            return parse_notation(above.replace(f"({PLACEHOLDER})", f"({part.name})", 1)).part
        return parse_notation(part.template).part

    def _path(self, part: NotationPart) -> list[str]:
        chain = [str(part)]
        current: NotationPart | None = part
        while (current := self._parent(current)) is not None:  # type: ignore[arg-type]
            chain.append(str(current))
            if len(chain) > 64:
                raise NotationError(str(part), "the broader chain does not end (cycle in the data)")
        return chain[::-1]

    def _part_children(self, part: NotationPart) -> list[str]:
        children: list[str] = []
        concept = self._concept_for(part)
        if part.key is None:
            if part.base in self._parents:
                children += self._children.get(part.base, [])
            elif part.template:
                children += [c.replace(f"({PLACEHOLDER})", f"({part.name})", 1)
                             for c in self._children.get(part.template, [])
                             if f"({PLACEHOLDER})" in c]
        key_set = self._key_set_of.get(concept or "")
        prefix = part.key or ""
        for suffix in self._key_suffixes.get(key_set or "", []):
            if len(suffix) == len(prefix) + 1 and suffix.startswith(prefix):
                children.append(str(part.with_key(suffix)))
        return children

    def children(self, text: str) -> list[str]:
        return list(self.resolve(text).children)

    def descendants(self, text: str) -> list[str]:
        """All base notations below one, through the materialized tree."""
        out: list[str] = []
        stack = list(self._children.get(str(self.resolve(text).notation), []))
        seen: set[str] = set()
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            out.append(n)
            stack.extend(self._children.get(n, []))
        return out

    # -- labels ------------------------------------------------------------------

    def label(self, text: str | Notation, language: str = FALLBACK_LANGUAGE) -> Label:
        """The label composed as Iconclass composes it, in ``language`` or English.

        Base text; a name put in the place of the template's ``(with NAME)``;
        ``(+ key text)`` after a key; compound parts joined by `` : ``.
        """
        notation = text if isinstance(text, Notation) else parse_notation(text)
        pieces = [self._part_label(part, language) for part in notation.parts]
        fallback = any(p.fallback for p in pieces)
        used = pieces[0].language if fallback else language
        return Label(" : ".join(p.text for p in pieces), used, fallback)

    def labels(self, notations: Iterable[str], language: str = FALLBACK_LANGUAGE) -> dict[str, Label]:
        """Labels for many notations, fetching the base texts in one query."""
        wanted = list(notations)
        self._prefetch([parse_notation(n) for n in wanted], language)
        return {n: self.label(n, language) for n in wanted}

    def keywords(self, text: str, language: str = FALLBACK_LANGUAGE) -> list[str]:
        part = parse_notation(text).part
        subjects = [notation_iri(c) for c in [self._concept_for(part)] if c]
        if part.key and (ks := self._key_set_of.get(self._concept_for(part) or "")):
            subjects.append(ICONCLASS_KEYS[ks + part.key])
        if not subjects:
            return []
        rows = self.store.select(
            "SELECT ?k WHERE { GRAPH $graph { VALUES ?s { $subjects } ?s skos:altLabel ?k "
            "FILTER(lang(?k) = $lang) } }",
            {"graph": self.graph, "subjects": subjects, "lang": Literal(self.label_language(language))})
        return sorted({r.text("k") for r in rows})

    def _prefetch(self, notations: list[Notation], language: str) -> None:
        """Fetch the texts every part of these notations needs, in few queries."""
        subjects: set[str] = set()
        for n in notations:
            for part in n.parts:
                concept = self._concept_for(part)
                if part.base in self._parents:
                    subjects.add(notation_iri(part.base))
                if concept:
                    subjects.add(notation_iri(concept))
                if part.key and concept and (ks := self._key_set_of.get(concept)):
                    subjects.add(ICONCLASS_KEYS[ks + part.key])
        self._fetch_texts(subjects, language)

    def _fetch_texts(self, subjects: Iterable[str], language: str) -> None:
        """Cache the labels of subjects in ``language`` and English ("" when there is none)."""
        langs = {self.label_language(language), FALLBACK_LANGUAGE}
        todo = [s for s in subjects if any((s, lg) not in self._texts for lg in langs)]
        for start in range(0, len(todo), 500):
            chunk = todo[start:start + 500]
            rows = self.store.select(
                "SELECT ?s ?l WHERE { GRAPH $graph { VALUES ?s { $subjects } "
                "VALUES ?language { $languages } ?s skos:prefLabel ?l FILTER(lang(?l) = ?language) } }",
                {"graph": self.graph, "subjects": iri_list(chunk), "languages": [Literal(lg) for lg in sorted(langs)]})
            for s in chunk:
                for lg in langs:
                    self._texts.setdefault((s, lg), "")
            for row in rows:
                lit = row["l"]
                assert isinstance(lit, Literal)
                self._texts[(str(row["s"]), lit.language or "")] = lit.value

    def _text(self, subject: str, language: str) -> tuple[str, str] | None:
        self._fetch_texts([subject], language)
        for lg in (self.label_language(language), FALLBACK_LANGUAGE):
            text = self._texts.get((subject, lg), "")
            if text:
                return text, lg
        return None

    def _part_label(self, part: NotationPart, language: str) -> Label:
        requested = _lang(language)
        fallback = False
        base_text: str | None = None
        used = requested
        if part.base in self._parents:
            found = self._text(notation_iri(part.base), language)
            if found:
                base_text, used = found
        if base_text is None and part.template and part.template in self._parents:
            found = self._text(notation_iri(part.template), language)
            if found:
                base_text, used = _put_name(found[0], part.name or ""), found[1]
        if base_text is None:
            base_text, used = str(part.base), FALLBACK_LANGUAGE
            fallback = True
        fallback = fallback or used != requested
        text = base_text
        concept = self._concept_for(part)
        if part.key and concept and (ks := self._key_set_of.get(concept)):
            found = self._text(ICONCLASS_KEYS[ks + part.key], language)
            if found:
                text = f"{text} (+ {found[0]})"
                fallback = fallback or found[1] != requested
        return Label(text, FALLBACK_LANGUAGE if fallback else requested, fallback)

    # -- materialization ---------------------------------------------------------

    def concept_triples(self, text: str, languages: Iterable[str] = (FALLBACK_LANGUAGE,)) -> list[Triple]:
        """Triples that make a derived (key, name, compound) notation a concept of its own.

        Loaders write these into their graph for every such notation they use, so
        that SPARQL sees the concept, its labels and its link to the base.
        """
        resolved = self.resolve(text)
        iri = resolved.iri
        triples: list[Triple] = [
            (iri, RDF.type, SKOS.Concept),
            (iri, SKOS.inScheme, ICONCLASS_SCHEME),
            (iri, SKOS.notation, Literal(resolved.canonical)),
        ]
        if resolved.notation.is_compound:
            for part in resolved.notation.parts:
                triples.append((iri, KGART.compoundOf, notation_iri(str(part))))
        if resolved.broader:
            triples.append((iri, SKOS.broader, notation_iri(resolved.broader)))
        for language in languages:
            label = self.label(resolved.notation, language)
            if not label.fallback or language == FALLBACK_LANGUAGE:
                triples.append((iri, SKOS.prefLabel, Literal(label.text, _lang(language))))
        return triples


def primary_parent(child: str, parents: list[str]) -> str:
    """Iconclass is a polyhierarchy (``11HH`` sits under ``11`` and ``11H``); the
    path follows the parent whose notation is the longest prefix of the child,
    or the ``(...)`` template a named notation fills in."""
    if len(parents) == 1:
        return parents[0]
    prefixed = [p for p in parents if child.startswith(p.replace(f"({PLACEHOLDER})", ""))
                or child.startswith(p)]
    if prefixed:
        return max(prefixed, key=len)
    templates = [p for p in parents if f"({PLACEHOLDER})" in p]
    return templates[0] if templates else parents[0]


_PLACEHOLDER_TEXT = re.compile(r"\(([^()]*\b[A-Z]{3,}\b[^()]*)\)")
_ANY_BRACKET = re.compile(r"\([^()]*\)")


def _put_name(template_text: str, name: str) -> str:
    """Put a name where a template text says "(with NAME)" (in any language)."""
    for pattern in (_PLACEHOLDER_TEXT, _ANY_BRACKET):
        matches = list(pattern.finditer(template_text))
        if matches:
            m = matches[0] if pattern is _PLACEHOLDER_TEXT else matches[-1]
            return template_text[:m.start()] + f"({name})" + template_text[m.end():]
    return f"{template_text} ({name})"


def _lang(language: str) -> str:
    return normalize_language(language)


def _notation_sort_key(n: str) -> tuple[int, str]:
    # Placeholder forms after the plain ones, as iconclass.org lists children.
    return (1 if f"({PLACEHOLDER})" in n else 0, n)
