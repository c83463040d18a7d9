"""Curators' decisions as W3C Web Annotations, in one named graph (``graph/annotations``).

An annotation classifies a target (an artwork, or a region of its image: an
``oa:SpecificResource`` with a ``FragmentSelector``) with a concept (the body,
purpose or motivation ``oa:classifying``), and kgart adds who made it
(``dcterms:creator``), when (``dcterms:created``/``modified``), its review status
(``kgart:reviewStatus``: proposed, accepted, rejected) and, for a suggestion,
where it came from (``prov:wasGeneratedBy`` an activity with the rank, score,
components, model and blend). Terms: ``ontology/kgart.ttl``; shape:
``ontology/shapes.ttl``.

Every node of an annotation is its own IRI (blank nodes become ``<annotation>#n1``…),
so that reading, replacing and deleting one annotation touches exactly its
triples, and an export compares as a graph without blank-node matching.

An accepted classification also links the artwork to the concept
(``dcterms:subject``, in the same graph), in the same update that stores the
decision: subsumption search, the tree's counts, neighbours and priors read the
union of all graphs, so they see it at once. A version stamp in the graph tells
caches (the retriever's neighbour and prior tables) that decisions changed.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from kgart.errors import KgartError, NotationError
from kgart.notation import notation_from_iri
from kgart.oxigraph_adapter import checked_iri, term_ntriples
from kgart.rdf import (
    ANNOTATION_BASE,
    ANNOTATIONS_GRAPH,
    DCTERMS,
    ICONCLASS_BASE,
    IRI,
    KGART,
    OA,
    PROV,
    RDF,
    XSD,
    BlankNode,
    Literal,
    Term,
    Triple,
)
from kgart.sparql_template import Triples
from kgart.triplestore import TripleStore

STATUSES = ("proposed", "accepted", "rejected")
STATUS_IRIS = {name: KGART[name] for name in STATUSES}
MAX_TRIPLES = 1000
MAX_LITERAL = 20_000
_SERVER_KEPT = {DCTERMS.creator, DCTERMS.created, DCTERMS.modified}
_SLUG = re.compile(r"[^A-Za-z0-9_-]+")


class AnnotationError(KgartError):
    """An annotation kgart will not store (malformed, or naming what the store does not hold)."""


class AnnotationNotFound(KgartError):
    """No annotation with this IRI."""


@dataclass(frozen=True)
class Suggestion:
    """Where a proposed code came from: the suggestion that ranked it."""

    rank: int
    score: float
    components: Mapping[str, float]
    model: str
    blend: str  # the blend configuration: a file, or "kgart/blend.toml"

    def triples(self, activity: Term) -> list[Triple]:
        assert not isinstance(activity, Literal)
        out: list[Triple] = [(activity, RDF.type, PROV.Activity), (activity, RDF.type, KGART.Suggestion),
                             (activity, KGART.rank, Literal(str(self.rank), datatype=XSD.integer)),
                             (activity, KGART.score, _decimal(self.score)),
                             (activity, KGART.model, Literal(self.model)),
                             (activity, KGART.blendConfiguration, Literal(self.blend))]
        for name, value in sorted(self.components.items()):
            part = BlankNode(f"{activity_id(activity)}-{name}")
            out += [(activity, KGART.component, part), (part, RDF.type, KGART.ScoreComponent),
                    (part, KGART.componentName, Literal(name)), (part, RDF.value, _decimal(value))]
        return out


def activity_id(node: Term) -> str:
    return node.id if isinstance(node, BlankNode) else str(node).rsplit("#", 1)[-1]


def _decimal(value: float) -> Literal:
    return Literal(f"{value:.6f}", datatype=XSD.decimal)


def classification(target: str, concept: str, *, status: str = "proposed", region: str | None = None,
                   suggestion: Suggestion | None = None) -> list[Triple]:
    """A draft annotation classifying ``target`` (an artwork; ``region`` an ``xywh=…``
    fragment of its image) with ``concept``; :meth:`Annotations.create` gives it its IRI."""
    if status not in STATUSES:
        raise AnnotationError(f"status is one of {', '.join(STATUSES)}, not {status[:40]!r}")
    node, body = BlankNode("annotation"), BlankNode("body")
    triples: list[Triple] = [(node, RDF.type, OA.Annotation), (node, OA.motivatedBy, OA.classifying),
                             (node, OA.hasBody, body), (body, RDF.type, OA.SpecificResource),
                             (body, OA.hasPurpose, OA.classifying), (body, OA.hasSource, checked_iri(concept)),
                             (node, KGART.reviewStatus, STATUS_IRIS[status])]
    if region:
        if not re.fullmatch(r"xywh=(pixel:|percent:)?\d+(\.\d+)?(,\d+(\.\d+)?){3}", region):
            raise AnnotationError(f"a region is a media fragment xywh=x,y,w,h, not {region[:60]!r}")
        specific, selector = BlankNode("target"), BlankNode("selector")
        triples += [(node, OA.hasTarget, specific), (specific, RDF.type, OA.SpecificResource),
                    (specific, OA.hasSource, checked_iri(target)), (specific, OA.hasSelector, selector),
                    (selector, RDF.type, OA.FragmentSelector),
                    (selector, DCTERMS.conformsTo, IRI("http://www.w3.org/TR/media-frags/")),
                    (selector, RDF.value, Literal(region))]
    else:
        triples.append((node, OA.hasTarget, checked_iri(target)))
    if suggestion is not None:
        activity = BlankNode("activity")
        triples.append((node, PROV.wasGeneratedBy, activity))
        triples += suggestion.triples(activity)
    return triples


@dataclass(frozen=True)
class Decision:
    """One classifying annotation, read back: which artwork, which concept, what was decided."""

    annotation: IRI
    artwork: IRI
    concept: IRI
    status: str
    creator: IRI | None


def annotation_iri(identifier: str) -> IRI:
    return IRI(ANNOTATION_BASE + identifier)


def new_identifier(slug: str | None = None) -> str:
    """A fresh annotation id; a client's ``Slug`` header, cleaned, leads it when given."""
    suffix = uuid.uuid4().hex
    cleaned = _SLUG.sub("-", slug or "").strip("-")[:40]
    return f"{cleaned}-{suffix[:12]}" if cleaned else suffix


def etag(triples: Iterable[Triple]) -> str:
    """A strong entity tag: the digest of the annotation's triples, order aside."""
    lines = sorted(" ".join(term_ntriples(t) for t in triple) for triple in triples)
    return '"' + hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()[:32] + '"'


def _now() -> Literal:
    return Literal(datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"), datatype=XSD.dateTime)


_CLASSIFIED = """{ ?x oa:motivatedBy oa:classifying ; oa:hasBody ?c
                 FILTER(isIRI(?c) && !STRSTARTS(STR(?c), CONCAT(STR(?x), "#"))) }
               UNION { ?x oa:hasBody ?b . ?b oa:hasPurpose oa:classifying ; oa:hasSource ?c }"""
_TARGETED = """?x oa:hasTarget ?t . ?t oa:hasSource? ?a FILTER(!STRSTARTS(STR(?a), CONCAT(STR(?x), "#")))"""

# One update stores a decision, its links and the new version, all in one transaction.
_WRITE = """
DELETE { GRAPH $g { ?s ?p ?o } } WHERE { GRAPH $g { VALUES ?s { $old } ?s ?p ?o } } ;
INSERT DATA { GRAPH $g { $data } } ;
DELETE { GRAPH $g { ?a dcterms:subject ?c } } WHERE { GRAPH $g { VALUES ?a { $artworks } ?a dcterms:subject ?c } } ;
INSERT { GRAPH $g { ?a dcterms:subject ?c } } WHERE { GRAPH $g { VALUES ?a { $artworks }
    ?x a oa:Annotation ; kgart:reviewStatus kgart:accepted . """ + _TARGETED + " " + _CLASSIFIED + """ } } ;
DELETE { GRAPH $g { $g kgart:version ?v } } WHERE { GRAPH $g { $g kgart:version ?v } } ;
INSERT DATA { GRAPH $g { $g kgart:version $version } }
"""

_RELINK_ALL = """
DELETE { GRAPH $g { ?a dcterms:subject ?c } } WHERE { GRAPH $g { ?a dcterms:subject ?c } } ;
INSERT { GRAPH $g { ?a dcterms:subject ?c } } WHERE { GRAPH $g {
    ?x a oa:Annotation ; kgart:reviewStatus kgart:accepted . """ + _TARGETED + " " + _CLASSIFIED + """ } } ;
DELETE { GRAPH $g { $g kgart:version ?v } } WHERE { GRAPH $g { $g kgart:version ?v } } ;
INSERT DATA { GRAPH $g { $g kgart:version $version } }
"""


_DECIDED = ("?x a oa:Annotation ; kgart:reviewStatus ?status . VALUES ?status { $statuses } "
            + _TARGETED + " " + _CLASSIFIED + " OPTIONAL { ?x dcterms:creator ?who }")
_DECISIONS = "SELECT DISTINCT ?x ?a ?c ?status ?who WHERE { GRAPH $g { " + _DECIDED + " } }"
_DECISIONS_OF = "SELECT DISTINCT ?x ?a ?c ?status ?who WHERE { GRAPH $g { VALUES ?a { $artworks } " + _DECIDED + " } }"


class Annotations:
    """The annotations of one store: create, read, replace, delete, list, export, import."""

    def __init__(self, store: TripleStore, iconclass: object | None = None) -> None:
        self.store = store
        self.graph = ANNOTATIONS_GRAPH
        self._iconclass = iconclass  # a kgart.iconclass.Iconclass, shared when the caller has one

    @property
    def iconclass(self):  # noqa: ANN201 - kgart.iconclass.Iconclass, imported lazily
        if self._iconclass is None:
            from kgart.iconclass import Iconclass

            self._iconclass = Iconclass(self.store)
        return self._iconclass

    # -- reading ---------------------------------------------------------------------------

    def version(self) -> str:
        """Changes whenever any decision does ("" before the first)."""
        rows = self.store.select("SELECT ?v WHERE { GRAPH $g { $g kgart:version ?v } }", {"g": self.graph}).rows
        return rows[0].text("v") if rows else ""

    def get(self, iri: str) -> list[Triple]:
        """The annotation's triples (its own nodes included).

        :raises AnnotationNotFound: when the store has no such annotation.
        """
        triples = self._triples_of([checked_iri(iri)]).get(iri, [])
        if not any(p == RDF.type and o == OA.Annotation for s, p, o in triples if s == iri):
            raise AnnotationNotFound(f"no annotation <{iri[:200]}>")
        return triples

    def _triples_of(self, roots: Sequence[IRI]) -> dict[str, list[Triple]]:
        """Each root's triples and those of its own (``root#…``) nodes, a level per query."""
        out: dict[str, list[Triple]] = {str(r): [] for r in roots}
        owner = {str(r): str(r) for r in roots}
        frontier = list(roots)
        for _ in range(8):
            if not frontier:
                break
            rows = self.store.select("SELECT ?s ?p ?o WHERE { GRAPH $g { VALUES ?s { $nodes } ?s ?p ?o } }",
                                     {"g": self.graph, "nodes": frontier}).rows
            frontier = []
            for r in rows:
                s, o = r.iri("s"), r["o"]
                root = owner[str(s)]
                out[root].append((s, r.iri("p"), o))
                if isinstance(o, IRI) and str(o).startswith(root + "#") and str(o) not in owner:
                    owner[str(o)] = root
                    frontier.append(o)
        return out

    def many(self, iris: Sequence[IRI]) -> dict[str, list[Triple]]:
        """Several annotations' triples at once (a container page)."""
        return self._triples_of(list(iris))

    def count(self) -> int:
        rows = self.store.select("SELECT (COUNT(?x) AS ?n) WHERE { GRAPH $g { ?x a oa:Annotation } }",
                                 {"g": self.graph}).rows
        return rows[0].int("n") if rows else 0

    def page(self, offset: int, limit: int) -> list[IRI]:
        """Annotation IRIs, oldest first (a stable order for paging)."""
        rows = self.store.select("""SELECT ?x WHERE {
            GRAPH $g { ?x a oa:Annotation OPTIONAL { ?x dcterms:created ?c } } }
            ORDER BY ?c ?x LIMIT $limit OFFSET $offset""", {"g": self.graph, "limit": limit, "offset": offset}).rows
        return [r.iri("x") for r in rows]

    def decisions(self, artworks: Sequence[str] | None = None, status: str | None = None) -> list[Decision]:
        """Classifying annotations (of ``artworks``, with ``status``, when given)."""
        if status is not None and status not in STATUSES:
            raise AnnotationError(f"status is one of {', '.join(STATUSES)}")
        statuses = [STATUS_IRIS[status]] if status else list(STATUS_IRIS.values())
        if artworks is None:
            rows = self.store.select(_DECISIONS, {"g": self.graph, "statuses": statuses}).rows
        else:
            rows = self.store.select(_DECISIONS_OF, {"g": self.graph, "statuses": statuses,
                                                     "artworks": [checked_iri(a) for a in artworks]}).rows
        names = {str(v): k for k, v in STATUS_IRIS.items()}
        return [Decision(r.iri("x"), r.iri("a"), r.iri("c"), names[str(r["status"])],
                         r.iri("who") if "who" in r else None) for r in rows]

    def export(self, status: str | None = None) -> list[Triple]:
        """The annotations graph (less the version stamp); with ``status``, only those annotations
        (and the links of accepted ones)."""
        triples = [t for t in self.store.triples(self.graph) if t[1] != KGART.version] \
            if self.store.has_graph(self.graph) else []
        if status is None:
            return triples
        if status not in STATUSES:
            raise AnnotationError(f"status is one of {', '.join(STATUSES)}")
        chosen = {str(s) for s, p, o in triples if p == KGART.reviewStatus and o == STATUS_IRIS[status]}
        keep = [t for t in triples if str(t[0]).split("#", 1)[0] in chosen]
        if status == "accepted":
            keep += [t for t in triples if t[1] == DCTERMS.subject]
        return keep

    # -- writing ---------------------------------------------------------------------------

    def create(self, triples: Sequence[Triple], creator: IRI, *, slug: str | None = None) -> IRI:
        """Store a new annotation (the server's IRI replaces the client's, kept as ``oa:via``).

        :raises AnnotationError: for a malformed annotation or one naming an unknown concept or target.
        """
        iri = annotation_iri(new_identifier(slug))
        now = _now()
        own, targets, extra = self._checked(triples, iri, creator=creator, created=now, modified=now)
        self._write(old=[], data=own + extra, artworks=targets)
        return iri

    def replace(self, iri: str, triples: Sequence[Triple], editor: IRI) -> None:
        """Replace an annotation with a new version; its creator and creation time stay.

        :raises AnnotationNotFound: for an unknown annotation.
        """
        iri = checked_iri(iri)
        old = self.get(iri)
        creator = _iri_of(old, iri, DCTERMS.creator) or editor
        created = _literal_of(old, iri, DCTERMS.created) or _now()
        own, targets, extra = self._checked(triples, iri, creator=creator, created=created, modified=_now())
        self._write(old=_subjects(old), data=own + extra, artworks=targets | _targets(old, iri))

    def set_status(self, iri: str, status: str, editor: IRI) -> None:
        """Accept, reject or re-propose an annotation as it stands."""
        if status not in STATUSES:
            raise AnnotationError(f"status is one of {', '.join(STATUSES)}, not {status[:40]!r}")
        current = self.get(iri)
        kept = [t for t in current if not (t[0] == iri and t[1] == KGART.reviewStatus)]
        self.replace(iri, [*kept, (IRI(iri), KGART.reviewStatus, STATUS_IRIS[status])], editor)

    def delete(self, iri: str) -> None:
        old = self.get(checked_iri(iri))
        self._write(old=_subjects(old), data=[], artworks=_targets(old, IRI(iri)))

    def import_triples(self, triples: Sequence[Triple], *, where: str = "input") -> int:
        """Merge annotations (an export of this or another store) into the graph, in one atomic
        replacement: an annotation whose IRI is already here is replaced; each is checked first
        and nothing is written when one fails. Returns the number of annotations imported."""
        roots = sorted({s for s, p, o in triples if p == RDF.type and o == OA.Annotation and isinstance(s, IRI)})
        if any(isinstance(s, BlankNode) for s, p, o in triples if p == RDF.type and o == OA.Annotation):
            raise AnnotationError(f"{where}: an annotation to import needs its IRI (an export gives every one)")
        by_root: dict[str, list[Triple]] = {str(r): [] for r in roots}
        vocabulary: list[Triple] = []
        for t in triples:
            root = str(t[0]).split("#", 1)[0]
            if root in by_root:
                by_root[root].append(t)
            elif t[1] == DCTERMS.subject or t[1] == KGART.version:
                continue  # links are derived again from the accepted annotations
            else:
                vocabulary.append(t)  # concepts made for derived notations
        checked: list[Triple] = []
        for root, own_triples in by_root.items():
            iri = IRI(root)
            creator = _iri_of(own_triples, iri, DCTERMS.creator)
            created = _literal_of(own_triples, iri, DCTERMS.created) or _now()
            modified = _literal_of(own_triples, iri, DCTERMS.modified) or created
            if creator is None:
                raise AnnotationError(f"{where}: <{root}> has no dcterms:creator")
            try:
                own, _, extra = self._checked(own_triples, iri, creator=creator, created=created,
                                              modified=modified, keep_ids=True)
            except AnnotationError as e:
                raise AnnotationError(f"{where}: <{root}>: {e}") from None
            checked += own + extra
        replaced = {str(r) for r in roots}
        current = [t for t in self.export() if str(t[0]).split("#", 1)[0] not in replaced
                   and t[1] != DCTERMS.subject]
        self.store.replace_graph(self.graph, _unique([*current, *vocabulary, *checked]))
        self.store.update(_RELINK_ALL, {"g": self.graph, "version": Literal(uuid.uuid4().hex)})
        return len(roots)

    def _write(self, old: list[IRI], data: list[Triple], artworks: set[IRI]) -> None:
        self.store.update(_WRITE, {"g": self.graph, "old": old, "data": Triples(data),
                                   "artworks": sorted(artworks), "version": Literal(uuid.uuid4().hex)})

    # -- checking --------------------------------------------------------------------------

    def _checked(self, triples: Sequence[Triple], iri: IRI, *, creator: IRI, created: Literal, modified: Literal,
                 keep_ids: bool = False) -> tuple[list[Triple], set[IRI], list[Triple]]:
        """The annotation as kgart stores it: its nodes named under ``iri``, server-kept
        properties set; with the artworks it targets and any concept triples to add."""
        if len(triples) > MAX_TRIPLES:
            raise AnnotationError(f"an annotation has at most {MAX_TRIPLES} triples, this one {len(triples)}")
        roots = {s for s, p, o in triples if p == RDF.type and o == OA.Annotation}
        if len(roots) != 1:
            raise AnnotationError(f"the body must describe exactly one oa:Annotation, not {len(roots)}")
        root = roots.pop()
        if isinstance(root, IRI) and root != iri and keep_ids:
            raise AnnotationError("an annotation's parts are named under its own IRI")
        names: dict[Term, IRI] = {root: iri}

        def own(term: Term) -> Term:
            if term == root:
                return iri
            if isinstance(term, BlankNode):
                if term not in names:
                    names[term] = IRI(f"{iri}#n{len(names)}")
                return names[term]
            return term

        out: list[Triple] = []
        for s, p, o in triples:
            subject = own(s)
            if not (subject == iri or str(subject).startswith(iri + "#")):
                raise AnnotationError(f"an annotation describes itself and its own parts (blank nodes), "
                                      f"not <{str(subject)[:200]}>")
            if isinstance(o, Literal) and len(o.value) > MAX_LITERAL:
                raise AnnotationError(f"a value of {p} is longer than {MAX_LITERAL} characters")
            if subject == iri and p in _SERVER_KEPT:
                continue
            out.append((subject, p, own(o)))  # type: ignore[arg-type]
        if isinstance(root, IRI) and root != iri:
            out.append((iri, OA.via, root))
        out += [(iri, DCTERMS.creator, creator), (iri, DCTERMS.created, created), (iri, DCTERMS.modified, modified)]
        _reachable_only(out, iri)
        statuses = [o for s, p, o in out if s == iri and p == KGART.reviewStatus]
        if len(statuses) > 1 or any(o not in STATUS_IRIS.values() for o in statuses):
            raise AnnotationError("kgart:reviewStatus is one of kgart:proposed, kgart:accepted, kgart:rejected")
        if not statuses:
            out.append((iri, KGART.reviewStatus, STATUS_IRIS["proposed"]))
        targets = self._checked_targets(out, iri)
        canonical, extra = self._checked_concepts(out, iri)
        out = [(s, p, canonical.get(o, o)) if isinstance(o, IRI) else (s, p, o) for s, p, o in out]
        return _unique(out), targets, extra

    def _checked_targets(self, triples: list[Triple], iri: IRI) -> set[IRI]:
        values = [o for s, p, o in triples if s == iri and p == OA.hasTarget]
        if not values:
            raise AnnotationError("an annotation needs a target (oa:hasTarget): the artwork it is about")
        sources: set[IRI] = set()
        for value in values:
            if isinstance(value, IRI) and str(value).startswith(iri + "#"):
                found = [o for s, p, o in triples if s == value and p == OA.hasSource]
                if len(found) != 1 or not isinstance(found[0], IRI):
                    raise AnnotationError("a target that is a SpecificResource needs one source (oa:hasSource)")
                value = found[0]
            if not isinstance(value, IRI):
                raise AnnotationError("a target is an IRI, or a SpecificResource with a source")
            sources.add(value)
        for source in sources:
            if not self.store.ask("ASK { GRAPH ?h { $t ?p ?o } FILTER(?h != $g) }", {"t": source, "g": self.graph}):
                raise AnnotationError(f"the target <{str(source)[:200]}> is not in this store")
        return sources

    def _checked_concepts(self, triples: list[Triple], iri: IRI) -> tuple[dict[IRI, IRI], list[Triple]]:
        """Every classifying body must be a concept kgart knows. Iconclass IRIs are written
        as kgart writes them (``11H(JEROME)`` percent-encoded, a notation's canonical form);
        a derived notation (a key, a name, a compound) becomes a concept of its own, as
        loaders make them. Returns the IRIs to rewrite and the concept triples to add."""
        classifying = (iri, OA.motivatedBy, OA.classifying) in triples
        concepts: list[IRI] = []
        for s, p, o in triples:
            if s == iri and p == OA.hasBody and isinstance(o, IRI):
                if str(o).startswith(iri + "#"):
                    if (o, OA.hasPurpose, OA.classifying) in triples or classifying:
                        concepts += [x for ss, pp, x in triples if ss == o and pp == OA.hasSource
                                     and isinstance(x, IRI)]
                elif classifying:
                    concepts.append(o)
        if classifying and not concepts:
            raise AnnotationError("a classifying annotation needs a concept as its body")
        extra: list[Triple] = []
        canonical: dict[IRI, IRI] = {}
        for concept in concepts:
            notation = notation_from_iri(concept) if concept.startswith(ICONCLASS_BASE) else None
            if notation is not None:
                try:
                    resolved = self.iconclass.resolve(notation)
                except NotationError as e:
                    raise AnnotationError(str(e)) from None
                if resolved.iri != concept:
                    canonical[concept] = resolved.iri
                concept = resolved.iri
            if self.store.ask("ASK { $c a skos:Concept }", {"c": concept}):
                continue
            if notation is None:
                raise AnnotationError(f"<{str(concept)[:200]}> is no concept in this store")
            extra += self.iconclass.concept_triples(notation)
        return canonical, extra


def _iri_of(triples: Iterable[Triple], subject: IRI, predicate: IRI) -> IRI | None:
    """The first IRI ``subject`` has for ``predicate`` among ``triples``."""
    return next((o for s, p, o in triples if s == subject and p == predicate and isinstance(o, IRI)), None)


def _literal_of(triples: Iterable[Triple], subject: IRI, predicate: IRI) -> Literal | None:
    """The first literal ``subject`` has for ``predicate`` among ``triples``."""
    return next((o for s, p, o in triples if s == subject and p == predicate and isinstance(o, Literal)), None)


def _subjects(triples: Iterable[Triple]) -> list[IRI]:
    return sorted({s for s, _, _ in triples if isinstance(s, IRI)})


def _targets(triples: list[Triple], iri: IRI) -> set[IRI]:
    out: set[IRI] = set()
    for s, p, o in triples:
        if s == iri and p == OA.hasTarget and isinstance(o, IRI):
            sources = [x for ss, pp, x in triples if ss == o and pp == OA.hasSource and isinstance(x, IRI)]
            out.update(sources or [o])
    return out


def _reachable_only(triples: list[Triple], iri: IRI) -> None:
    """Every part of an annotation hangs from it (so deleting it leaves nothing behind)."""
    reached, frontier = {iri}, [iri]
    edges: dict[Term, list[Term]] = {}
    for s, _, o in triples:
        edges.setdefault(s, []).append(o)
    while frontier:
        node = frontier.pop()
        for o in edges.get(node, []):
            if isinstance(o, IRI) and o not in reached and str(o).startswith(iri + "#"):
                reached.add(o)
                frontier.append(o)
    stray = {s for s, _, _ in triples} - reached
    if stray:
        raise AnnotationError(f"part <{str(min(stray))[:200]}> is not linked from the annotation")


def _unique(triples: Iterable[Triple]) -> list[Triple]:
    return list(dict.fromkeys(triples))
