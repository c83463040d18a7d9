"""Retrieval that blends vector similarity with the Iconclass hierarchy.

A concept's score is a weighted sum of components, each explainable:

``vector``    cosine of the query with the concept's own vector
``keyword``   full-text (BM25) match of the query words with its labels and
              keywords in every loaded language, scaled to 0–1
``children``  the best cosine among its children (a match just below lifts it)
``branch``    the mean cosine of its children (many children hit → the branch is lifted)
``parent``    the cosine of its parent
``prior``     how often collections use the code (log-scaled usage counts, per scheme)
``neighbours``  the codes of the most similar annotated artworks in the loaded
              collections, each vote weighted by that artwork's cosine, scaled 0–1
``nearest``   the same votes from the few most similar only (3 by default): a catalogue's
              series (a sketchbook's pages, a print run) share titles and codes, which
              fifty voters drown
``maker``     for a query that names its maker (``schema:creator``: a record in the store,
              or ``maker=`` IRIs), the share of that maker's other catalogued works that
              carry the code: a painter's subjects are not a collection's

The weights live in one TOML file (``kgart/blend.toml``, or the ``blend_config``
setting); ``kgart eval suggest`` measures what each adds. A scheme with a learned ranker
(``kgart train ranker``, :mod:`kgart.ranker`) is scored by it instead: its weights over the
same components and a few more features, each contribution shown as the blend's are. Artwork search uses
vector and keyword components, restricted by subsumption to artworks annotated
with a concept or anything below it.

The core knows encoders and indexes only by their small interfaces; the CLI and
the web app hand them in.
"""

from __future__ import annotations

import math
import threading
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from cachetools import LRUCache

from kgart.annotations import Annotations, Decision
from kgart.coalescing import Coalesced
from kgart.errors import ConfigError, KgartError
from kgart.iconclass import Iconclass, primary_parent
from kgart.keyword_index import KeywordHit, KeywordIndex
from kgart.kinds import NAME as KIND_NAME
from kgart.kinds import Kinds, NodeKind
from kgart.notation import notation_from_iri, notation_iri
from kgart.oxigraph_adapter import checked_iri
from kgart.query_translation import Lexicon, Translation
from kgart.ranker import LinearRanker, concept_features, query_features
from kgart.rdf import IRI, graph_iri, preferred_labels
from kgart.sparql_template import iri_list
from kgart.triplestore import TripleStore

COMPONENTS = ("vector", "keyword", "children", "branch", "parent", "prior", "neighbours", "nearest", "maker")
TARGETS = ("concept", "artwork", "sentence")
_KEYWORD_THREADS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kgart-keywords")


class DecisionSource(Protocol):
    """Where curators' decisions come from: the store's annotations (:class:`Annotations`)."""

    def version(self) -> str: ...

    def decisions(self, artworks: Sequence[str] | None = None, status: str | None = None) -> list[Decision]: ...


class TextEncoder(Protocol):
    model_id: str
    modalities: tuple[str, ...]

    def encode_texts(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray: ...

    def encode_images(self, images: Sequence[str], batch_size: int = 32) -> Any: ...


class Index(Protocol):
    iris: list[str]
    matrix: np.ndarray

    def search(self, query: np.ndarray, k: int = 10, within: Iterable[str] | None = None
               ) -> list[tuple[str, float]]: ...

    def vector(self, iri: str) -> np.ndarray: ...


@dataclass(frozen=True)
class BlendConfig:
    """Component weights and fusion settings (see ``kgart/blend.toml``)."""

    weights: dict[str, float]
    title_weight: float = 1.0
    description_weight: float = 0.6
    image_weight: float = 1.0
    keyword_candidates: int = 200
    scheme_weights: dict[str, dict[str, float]] = field(default_factory=dict)
    neighbour_count: int = 50
    translate_queries: bool = True  # queries in another language go to the encoder in English
    nearest_count: int = 3  # how many of the most similar annotated artworks vote for ``nearest``

    def __post_init__(self) -> None:
        # A component a configuration does not name is off.
        object.__setattr__(self, "weights", {**{c: 0.0 for c in COMPONENTS}, **self.weights})

    @classmethod
    def load(cls, path: str | Path | None = None) -> BlendConfig:
        """The packaged defaults, overridden by a TOML file when given.

        :raises ConfigError: for unknown components or non-numeric weights.
        """
        text = resources.files("kgart").joinpath("blend.toml").read_text(encoding="utf-8")
        data = tomllib.loads(text)
        if path is not None:
            try:
                user = tomllib.loads(Path(path).read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError) as e:
                raise ConfigError(f"cannot read blend configuration {path}: {e}") from e
            data["weights"] = {**data["weights"], **_table(user.pop("weights", {}), "[weights]")}
            for scheme, table in _table(user.pop("schemes", {}), "[schemes]").items():
                own = data.setdefault("schemes", {}).setdefault(scheme, {}).setdefault("weights", {})
                own.update(_table(_table(table, f"[schemes.{scheme}]").get("weights", {}),
                                  f"[schemes.{scheme}.weights]"))
            data.update(user)
        overrides = {scheme: table["weights"] for scheme, table in data.get("schemes", {}).items()}
        bad_names = sorted(name for name in overrides if not KIND_NAME.match(name))
        if bad_names:
            raise ConfigError(f"[schemes] names a scheme as it is known in the store (iconclass, tate, or "
                              f"another scheme's name, see kgart.kinds), not {', '.join(map(repr, bad_names))}")
        unknown = sorted(set(data["weights"]).union(*overrides.values()) - set(COMPONENTS))
        if unknown:
            raise ConfigError(f"unknown blend component(s) {', '.join(unknown)}; known: {', '.join(COMPONENTS)}")
        try:
            weights = {k: float(data["weights"].get(k, 0.0)) for k in COMPONENTS}
            fusion = _table(data.get("fusion", {}), "[fusion]")
            return cls(weights, float(fusion.get("title", 1.0)), float(fusion.get("description", 0.6)),
                       float(fusion.get("image", 1.0)), int(data.get("keyword_candidates", 200)),
                       {scheme: {k: float(v) for k, v in table.items()} for scheme, table in overrides.items()},
                       int(data.get("neighbours", 50)), _flag(data.get("translate_queries", True)),
                       int(data.get("nearest", 3)))
        except (TypeError, ValueError) as e:
            raise ConfigError(f"blend weights must be numbers: {e}") from e

    def for_scheme(self, scheme: str) -> BlendConfig:
        """The weights for one scheme: the general ones with that scheme's own on top."""
        return replace(self, weights={**self.weights, **self.scheme_weights.get(scheme, {})})

    def only(self, components: Iterable[str]) -> BlendConfig:
        """The same configuration with every other component switched off (ablation)."""
        keep = set(components)
        return replace(self, weights={k: (v if k in keep else 0.0) for k, v in self.weights.items()})


def _flag(value: object) -> bool:
    """A true/false setting of the blend configuration."""
    if not isinstance(value, bool):
        raise ConfigError(f"blend configuration: translate_queries is true or false, not {value!r}")
    return value


def _table(value: object, where: str) -> dict[str, Any]:
    """A TOML table of the blend configuration, or a clear error naming where it is not one."""
    if not isinstance(value, dict):
        raise ConfigError(f"blend configuration: {where} must be a table, not {value!r}")
    return value


@dataclass
class Hit:
    iri: str
    score: float
    notation: str | None = None
    label: str | None = None
    components: dict[str, float] = field(default_factory=dict)
    codes: list[str] = field(default_factory=list)

    def as_dict(self, explain: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"iri": self.iri, "score": round(self.score, 6)}
        if self.notation:
            out["notation"] = self.notation
        if self.label is not None:
            out["label"] = self.label
        if self.codes:
            out["codes"] = self.codes
        if explain:
            out["components"] = {k: round(v, 6) for k, v in self.components.items()}
        return out


@dataclass(frozen=True)
class Query:
    """What to look for: any of text, a title and description, an image, a node's IRI; ``makers``:
    the IRIs of the artwork's makers, when known (for the ``maker`` component)."""

    text: str = ""
    title: str = ""
    description: str = ""
    image: str = ""
    iri: str = ""
    makers: tuple[str, ...] = ()

    @property
    def words(self) -> str:
        return " ".join(p for p in (self.text, self.title, self.description) if p)


class ConceptTree:
    """A concept tree as arrays aligned with the rows of its concept index."""

    def __init__(self, iris: Sequence[str], parent_of: dict[str, str], notations: Sequence[str]) -> None:
        self.iris = list(iris)
        self.row = {iri: i for i, iri in enumerate(self.iris)}
        n = len(self.iris)
        self.notations = list(notations)
        parent = np.full(n, -1, dtype=np.int64)
        for i, iri in enumerate(self.iris):
            above = parent_of.get(iri)
            if above is not None:
                parent[i] = self.row.get(above, -1)
        self.parent = parent
        order = np.argsort(parent, kind="stable")
        order = order[parent[order] >= 0]
        self.child_rows = order
        self.child_parents = parent[order]
        self.segment_parents, self.segment_starts = np.unique(self.child_parents, return_index=True)
        self.child_counts = np.bincount(self.child_parents, minlength=n) if n else np.zeros(0, np.int64)
        depth = np.zeros(n, dtype=np.int64)
        for i in range(n):
            d, j = 1, parent[i]
            while j >= 0 and d < 64:
                d += 1
                j = parent[j]
            depth[i] = d
        self.depth = depth

    @classmethod
    def for_iconclass(cls, iconclass: Iconclass, iris: Sequence[str]) -> ConceptTree:
        """Iconclass's polyhierarchy reduced to each concept's primary parent."""
        notations = [notation_from_iri(i) or "" for i in iris]
        parents = iconclass._parents  # the resolver's index of the materialized tree
        parent_of = {iri: str(notation_iri(primary_parent(n, parents[n])))
                     for iri, n in zip(iris, notations, strict=True) if parents.get(n)}
        return cls(iris, parent_of, notations)

    @classmethod
    def for_scheme(cls, store: TripleStore, scheme: IRI, iris: Sequence[str]) -> ConceptTree:
        """Any SKOS scheme in the store (its concepts' skos:broader and skos:notation)."""
        rows = store.select("""SELECT ?c ?p ?n WHERE { ?c skos:inScheme $scheme .
            OPTIONAL { ?c skos:broader ?p } OPTIONAL { ?c skos:notation ?n } }""", {"scheme": scheme}).rows
        parent_of = {str(r["c"]): str(r["p"]) for r in rows if "p" in r}
        notation = {str(r["c"]): r.text("n") for r in rows if "n" in r}
        return cls(iris, parent_of, [notation.get(i, i) for i in iris])

    def row_of(self, code: str) -> int:
        """The row of a concept given by its IRI or its notation.

        :raises KgartError: when the scheme has no such concept.
        """
        if code in self.row:
            return self.row[code]
        try:
            return self.notations.index(code)
        except ValueError:
            raise KgartError(f"no concept {code[:100]!r} in this scheme") from None

    def within(self, root: int) -> np.ndarray:
        """Which rows are ``root`` or below it (a mask)."""
        inside = np.arange(len(self.iris)) == root
        above = self.parent.copy()
        for _ in range(64):
            reached = above >= 0
            if not reached.any():
                break
            inside |= reached & (above == root)
            above = np.where(reached, self.parent[np.maximum(above, 0)], -1)
        return inside

    def child_max(self, scores: np.ndarray) -> np.ndarray:
        out = np.zeros_like(scores)
        if len(self.child_rows):
            out[self.segment_parents] = np.maximum.reduceat(scores[self.child_rows], self.segment_starts)
        return out

    def child_mean(self, scores: np.ndarray) -> np.ndarray:
        out = np.zeros_like(scores)
        if len(self.child_rows):
            sums = np.add.reduceat(scores[self.child_rows], self.segment_starts)
            out[self.segment_parents] = sums / self.child_counts[self.segment_parents]
        return out

    def parent_score(self, scores: np.ndarray) -> np.ndarray:
        out = np.zeros_like(scores)
        has = self.parent >= 0
        out[has] = scores[self.parent[has]]
        return out


def _similarities(matrix: np.ndarray, vectors: list[np.ndarray]) -> list[np.ndarray]:
    """``matrix @ v`` for each vector: one pass over the matrix for all of them (a lone vector
    as before, so that a single search scores exactly as it always has)."""
    if len(vectors) == 1:
        return [matrix @ vectors[0]]
    together = matrix @ np.stack(vectors).T  # this side: BLAS reads the matrix once, in order
    return [together[:, j] for j in range(len(vectors))]


class Retriever:
    """Search, code suggestion and similar items over one store."""

    def __init__(self, store: TripleStore, encoder: TextEncoder, indexes: Callable[[str], Index], *,
                 keywords: KeywordIndex | None = None, priors: Mapping[str, Mapping[str, float]] | None = None,
                 collection_priors: bool = False, config: BlendConfig | None = None, language: str = "en",
                 rankers: Mapping[str, LinearRanker] | None = None,
                 lexicon: Callable[[], Lexicon] | None = None) -> None:
        """``priors``: usage counts per scheme (``iconclass``, ``tate``), notation → count; a scheme
        without them is counted in the loaded collections when first needed if ``collection_priors``.
        ``rankers``: learned rankers per scheme (used for the vectors they were learned with).
        ``lexicon``: where the lexicon that puts queries of other languages into English comes
        from (read when first needed; see :mod:`kgart.query_translation`)."""
        self.store = store
        self.encoder = encoder
        self._indexes = indexes
        self.iconclass = Iconclass(store)
        self.keywords = keywords
        self.config = config or BlendConfig.load()
        self.language = language
        self.rankers = dict(rankers or {})
        self._lexicon_source = lexicon
        self._lexicon: Lexicon | None = None
        self._concept_features: dict[str, dict[str, np.ndarray]] = {}
        self._trees: dict[str, ConceptTree] = {}
        self._matrices: dict[str, np.ndarray] = {}
        self._similarities: dict[str, Coalesced[np.ndarray, np.ndarray]] = {}
        self._encode: Coalesced[list[str], np.ndarray] = Coalesced(self._encode_together)
        # Texts asked for again (a repeated search, the next page, the same title suggested twice)
        # are not encoded again: the encoder is most of a search's time. 4,096 vectors, ~6 MB.
        self._text_vectors: LRUCache[str, np.ndarray] = LRUCache(maxsize=4096)
        self._text_vectors_lock = threading.Lock()
        self._prior_counts = {scheme: dict(counts) for scheme, counts in (priors or {}).items()}
        self._given_priors = set(self._prior_counts)  # from files: decisions do not change them
        self._collection_priors = collection_priors
        self._priors: dict[str, np.ndarray] = {}
        self._prior_rows: dict[str, np.ndarray] = {}
        self._annotated: dict[str, _Annotations] = {}
        self._works_of_makers: dict[str, list[str]] | None = None
        self._kinds: Kinds | None = None
        self._decisions: DecisionSource = Annotations(store)
        self._decisions_seen: str | None = self._decisions.version()
        # One build of each table at a time: the first requests of a server arrive together, and
        # eight threads each building the neighbour tables would hold eight times their memory.
        self._building = threading.RLock()

    # -- building blocks ------------------------------------------------------------

    def use_decisions(self, decisions: DecisionSource) -> None:
        """Read curators' decisions from elsewhere than the store's annotations graph
        (``kgart eval review`` hands in a simulated curator)."""
        self._decisions = decisions
        self._decisions_seen = None
        self.refresh_decisions()

    def use_priors(self, scheme: str, counts: Mapping[str, float]) -> None:
        """Usage counts for one scheme from now on (an evaluation's, less its gold items)."""
        self._prior_counts[scheme] = dict(counts)
        self._given_priors.add(scheme)
        self._priors.pop(scheme, None)
        self._prior_rows.pop(scheme, None)

    def refresh_decisions(self) -> None:
        """Forget the tables built from annotations (neighbours, collection priors) when a
        curator's decision changed them, so the next query counts it (one small query)."""
        version = self._decisions.version()
        if version == self._decisions_seen:
            return
        with self._building:
            self._decisions_seen = version
            self._annotated.clear()
            self._priors.clear()
            self._prior_rows.clear()
            if self._collection_priors:
                self._prior_counts = {k: v for k, v in self._prior_counts.items() if k in self._given_priors}

    def kinds(self) -> Kinds:
        """The store's node kinds and schemes (read once)."""
        if self._kinds is None:
            self._kinds = Kinds.of(self.store)
        return self._kinds

    def scheme(self, name: str) -> NodeKind:
        """A concept scheme by its name or IRI; the registry is read again once for a name
        it did not know (a vocabulary loaded since).

        :raises KgartError: for a scheme the store does not hold.
        """
        if name not in self.kinds():
            self._kinds = None
        return self.kinds().get(name, role="concept")

    def index(self, kind: str) -> Index:
        return self._indexes(kind)

    @property
    def tree(self) -> ConceptTree:
        return self.scheme_tree("iconclass")

    def scheme_tree(self, scheme: str) -> ConceptTree:
        if scheme in self._trees:
            return self._trees[scheme]
        with self._building:
            return self._scheme_tree(scheme)

    def _scheme_tree(self, scheme: str) -> ConceptTree:
        if scheme not in self._trees:
            iris = self.index(scheme).iris
            kind = self.scheme(scheme)
            self._trees[scheme] = (ConceptTree.for_iconclass(self.iconclass, iris) if scheme == "iconclass"
                                   else ConceptTree.for_scheme(self.store, kind.concept_scheme, iris))
        return self._trees[scheme]

    def concept_matrix(self, scheme: str = "iconclass") -> np.ndarray:
        """The concept vectors in memory (the index keeps them memory-mapped)."""
        if scheme in self._matrices:
            return self._matrices[scheme]
        with self._building:
            return self._concept_matrix(scheme)

    def _concept_matrix(self, scheme: str) -> np.ndarray:
        if scheme not in self._matrices:
            matrix = np.ascontiguousarray(self.index(scheme).matrix, dtype=np.float32)
            if matrix.ndim != 2 or matrix.shape[0] == 0:
                raise KgartError(f"no {scheme} vectors with {self.encoder.model_id} yet: "
                                 f"run kgart embed --kind {scheme}")
            # The product first: concept_matrix's unlocked check sees the matrix only once both are there.
            self._similarities[scheme] = Coalesced(lambda vectors: _similarities(matrix, vectors))
            self._matrices[scheme] = matrix
        return self._matrices[scheme]

    def prepare(self, scheme: str = "iconclass") -> None:
        """Build now the tables a search of ``scheme`` reads from the store (the tree, the concept
        vectors, the priors, the annotated artworks, and the features when a ranker weighs them),
        so that a server can drop the storage's cache of what they read at once."""
        self.scheme_tree(scheme)
        self.concept_matrix(scheme)
        self.prior(scheme)
        self.annotations(scheme)
        if self.ranker_for(scheme) is not None:
            self.concept_features(scheme)
        self.lexicon()

    def lexicon(self) -> Lexicon | None:
        """The lexicon for queries in other languages (None: queries are encoded as written)."""
        if self._lexicon_source is None or not self.config.translate_queries:
            return None
        if self._lexicon is None:
            with self._building:
                if self._lexicon is None:
                    self._lexicon = self._lexicon_source()
        return self._lexicon

    def in_english(self, text: str) -> str:
        """A query text as the encoder gets it: in English when it is clearly in another language
        the lexicon knows, else as written."""
        lexicon = self.lexicon()
        return lexicon.to_english(text).text if lexicon is not None else text

    def translation(self, text: str) -> Translation | None:
        """What a query in another language was searched as (None: as written), for the pages and
        the API to say: a curator can then see why a Dutch title found what it found."""
        lexicon = self.lexicon()
        translated = lexicon.to_english(text) if lexicon is not None and text else None
        return translated if translated is not None and translated.language != "en" else None

    def concept_similarities(self, vector: np.ndarray, scheme: str = "iconclass") -> np.ndarray:
        """Cosine similarity of every concept of a scheme to ``vector``; the searches of other
        threads at the same moment share the product (see :mod:`kgart.coalescing`)."""
        self.concept_matrix(scheme)
        return self._similarities[scheme](vector)

    def text_vectors(self, texts: list[str]) -> list[np.ndarray]:
        """Each text's vector from this retriever's encoder, kept for the next time it is asked for."""
        with self._text_vectors_lock:
            found = [self._text_vectors.get(t) for t in texts]
        missing = list(dict.fromkeys(t for t, v in zip(texts, found, strict=True) if v is None))
        if missing:
            fresh = dict(zip(missing, (np.array(v, dtype=np.float32) for v in self._encode(missing)), strict=True))
            with self._text_vectors_lock:
                self._text_vectors.update(fresh)
            found = [v if v is not None else fresh[t] for t, v in zip(texts, found, strict=True)]
        return found  # type: ignore[return-value]

    def _encode_together(self, texts_per_call: list[list[str]]) -> list[np.ndarray]:
        """The texts of several queries encoded in one call, split back per query."""
        flat = [text for texts in texts_per_call for text in texts]
        vectors = self.encoder.encode_texts(flat)
        ends = np.cumsum([len(texts) for texts in texts_per_call])
        return list(np.split(vectors, ends[:-1]))

    def prior(self, scheme: str = "iconclass", exclude: frozenset[str] = frozenset()) -> np.ndarray | None:
        """Log-scaled usage counts aligned with the scheme's concepts (1 = the most used);
        None without counts for that scheme. Counted in the loaded collections, they leave
        out one use of each code of the artworks in ``exclude`` (an artwork's own codes do
        not lift its own suggestions)."""
        with self._building:
            return self._prior(scheme, exclude)

    def _prior(self, scheme: str, exclude: frozenset[str]) -> np.ndarray | None:
        if scheme not in self._prior_counts and self._collection_priors:
            self._prior_counts[scheme] = priors_from_store(self.store, self.scheme(scheme).concept_scheme)
        if not self._prior_counts.get(scheme):
            return None
        tree = self.scheme_tree(scheme)
        if scheme not in self._prior_rows:
            row_of = {notation: row for row, notation in enumerate(tree.notations)}
            counts = np.zeros(len(tree.iris), dtype=np.float32)
            for notation, count in self._prior_counts[scheme].items():
                row = row_of.get(notation)
                if row is not None:
                    counts[row] += count
            self._prior_rows[scheme] = counts
        counts = self._prior_rows[scheme]
        own = self._own_codes(scheme, exclude) if exclude and scheme not in self._given_priors else []
        if own:
            counts = counts.copy()
            np.subtract.at(counts, own, 1.0)
            counts = np.maximum(counts, 0.0)
        elif scheme in self._priors:
            return self._priors[scheme]
        top = counts.max() if len(counts) else 0.0
        scaled = np.log1p(counts) / math.log1p(top) if top > 0 else counts
        if not own:
            self._priors[scheme] = scaled
        return scaled

    def _own_codes(self, scheme: str, artworks: frozenset[str]) -> list[int]:
        """Rows of the concepts the given artworks carry (one per artwork and concept)."""
        if len(artworks) > 1000:
            return []  # an evaluation's many records: its priors are handed in without them
        tree = self.scheme_tree(scheme)
        rows = self.store.select("SELECT DISTINCT ?a ?c WHERE { VALUES ?a { $artworks } ?a dcterms:subject ?c }",
                                 {"artworks": iri_list(sorted(artworks))}).rows
        return [tree.row[str(r["c"])] for r in rows if str(r["c"]) in tree.row]

    def query_vector(self, query: Query) -> np.ndarray:
        """One vector for the query: its parts encoded and fused with the configured weights."""
        parts: list[tuple[float, np.ndarray]] = []
        texts = [(query.text, 1.0), (query.title, self.config.title_weight),
                 (query.description, self.config.description_weight)]
        wanted = [(t, w) for t, w in texts if t.strip()]
        if wanted:
            vectors = self.text_vectors([self.in_english(t) for t, _ in wanted])
            parts += [(w, v) for (_, w), v in zip(wanted, vectors, strict=True)]
        if query.image:
            if "image" not in self.encoder.modalities:
                raise KgartError(f"{self.encoder.model_id} cannot encode images; configure a CLIP model")
            vectors, failures = self.encoder.encode_images([query.image])
            if failures:
                raise KgartError(f"cannot read the image: {failures[0].reason}")
            parts.append((self.config.image_weight, vectors[0]))
        if query.iri:
            for kind in ("artwork", "iconclass", "sentence"):
                index = self.index(kind)
                if query.iri in getattr(index, "_row", {}):
                    parts.append((1.0, np.asarray(index.vector(query.iri))))
                    break
            else:
                raise KgartError(f"no stored vector for <{query.iri}> with {self.encoder.model_id}; "
                                 "run kgart embed")
        if not parts:
            raise KgartError("empty query: give text, a title, a description, an image or an IRI")
        fused = np.sum([w * np.asarray(v, dtype=np.float32) for w, v in parts], axis=0)
        norm = float(np.linalg.norm(fused))
        return np.asarray(fused / norm if norm else fused, dtype=np.float32)

    def _keyword_search(self, words: str, kind: str, limit: int) -> Future[list[KeywordHit]] | None:
        """Full-text search started beside the query encoding (SQLite and ONNX Runtime both
        release the GIL), so a blended query costs about the slower of the two, not their sum."""
        if self.keywords is None or not words:
            return None
        return _KEYWORD_THREADS.submit(self.keywords.search, words, kind, limit)

    # -- concepts --------------------------------------------------------------------

    def annotations(self, scheme: str) -> _Annotations:
        """Which stored artworks carry which of the scheme's concepts, aligned with the
        artwork index (for the ``neighbours`` component; read once)."""
        annotated = self._annotated.get(scheme)
        if annotated is not None:
            return annotated
        with self._building:
            return self._annotations(scheme)

    def _annotations(self, scheme: str) -> _Annotations:
        if scheme not in self._annotated:
            tree = self.scheme_tree(scheme)
            # Only artworks in the artwork index vote, so the query needs no type check (3x faster).
            rows = self.store.select("SELECT ?a ?c WHERE { ?c skos:inScheme $scheme . ?a dcterms:subject ?c }",
                                     {"scheme": self.scheme(scheme).concept_scheme}).rows
            concepts_of: dict[str, dict[int, float]] = {}  # a dict: the same link may stand in two graphs
            for r in rows:
                row = tree.row.get(str(r["c"]))
                if row is not None:
                    concepts_of.setdefault(str(r["a"]), {})[row] = 1.0
            # A code a curator rejected for an artwork counts against it for similar artworks.
            for decision in self._decisions.decisions(status="rejected"):
                row = tree.row.get(str(decision.concept))
                if row is not None:
                    concepts_of.setdefault(str(decision.artwork), {})[row] = -1.0
            self._annotated[scheme] = _Annotations.build(self.index("artwork"), concepts_of)
        return self._annotated[scheme]

    def neighbour_votes(self, vector: np.ndarray, scheme: str, k: int, exclude: frozenset[str] = frozenset()
                        ) -> np.ndarray | None:
        """Votes for concepts from the ``k`` annotated artworks most like the query (``exclude``:
        artworks that must not vote, such as the items under evaluation); None when no
        stored artwork carries the scheme's concepts."""
        votes = self.neighbour_votes_by_count(vector, scheme, [k], exclude)
        return votes[0] if votes else None

    def neighbour_votes_by_count(self, vector: np.ndarray, scheme: str, counts: Sequence[int],
                                 exclude: frozenset[str] = frozenset()) -> list[np.ndarray]:
        """:meth:`neighbour_votes` for each of ``counts`` voters (``neighbours`` and ``nearest``
        from one similarity pass); empty when no stored artwork carries the scheme's concepts."""
        annotated = self.annotations(scheme)
        if not annotated.rows.size:
            return []
        return annotated.votes(vector, counts, len(self.scheme_tree(scheme).iris), exclude)

    def raw_components(self, query: Query, scheme: str = "iconclass", exclude: frozenset[str] = frozenset(),
                       wanted: Iterable[str] = COMPONENTS, config: BlendConfig | None = None) -> dict[str, np.ndarray]:
        """The unweighted components ``wanted`` (``vector`` always) for every concept of a scheme;
        one that has nothing to go on (no priors, no annotated artworks) is left out."""
        config = config or self.config.for_scheme(scheme)
        wanted = set(wanted)
        self.refresh_decisions()
        tree = self.scheme_tree(scheme)
        words = self._keyword_search(query.words, scheme, config.keyword_candidates) if "keyword" in wanted else None
        vector = self.query_vector(query)
        sims = self.concept_similarities(vector, scheme)
        raw: dict[str, np.ndarray] = {"vector": sims}
        if words is not None:
            keyword = np.zeros_like(sims)
            for iri, value in scaled_to_best(words.result()).items():
                row = tree.row.get(iri)
                if row is not None:
                    keyword[row] = value
            raw["keyword"] = keyword
        if "children" in wanted:
            raw["children"] = tree.child_max(sims)
        if "branch" in wanted:
            raw["branch"] = tree.child_mean(sims)
        if "parent" in wanted:
            raw["parent"] = tree.parent_score(sims)
        prior = self.prior(scheme, exclude) if "prior" in wanted else None
        if prior is not None:
            raw["prior"] = prior
        voters = {name: count for name, count in (("neighbours", config.neighbour_count),
                                                  ("nearest", config.nearest_count)) if name in wanted}
        if voters:
            raw.update(zip(voters, self.neighbour_votes_by_count(vector, scheme, list(voters.values()), exclude),
                           strict=False))
        if "maker" in wanted and query.makers:
            by_maker = self.maker_votes(query.makers, scheme, exclude)
            if by_maker is not None:
                raw["maker"] = by_maker
        return raw

    def works_of_makers(self) -> dict[str, list[str]]:
        """Maker IRI → the artworks it made (``schema:creator``; read once)."""
        if self._works_of_makers is None:
            with self._building:
                if self._works_of_makers is None:
                    rows = self.store.select(
                        "SELECT ?a ?m WHERE { ?a schema:creator ?m ; a schema:VisualArtwork }").rows
                    works: dict[str, list[str]] = {}
                    for r in rows:
                        works.setdefault(str(r["m"]), []).append(str(r["a"]))
                    self._works_of_makers = works
        return self._works_of_makers

    def makers_of(self, artwork: str) -> tuple[str, ...]:
        """The IRIs of an artwork's makers in the store, sorted."""
        rows = self.store.select("SELECT DISTINCT ?m WHERE { $a schema:creator ?m }", {"a": checked_iri(artwork)}).rows
        return tuple(sorted(str(r["m"]) for r in rows))

    def maker_votes(self, makers: Sequence[str], scheme: str, exclude: frozenset[str] = frozenset()
                    ) -> np.ndarray | None:
        """For every concept of a scheme, the share of the makers' other annotated works that carry
        it (count / (works + 1): a maker with one other work is not taken at its word); a code a
        curator rejected for one of them counts against it. None when none of the makers has an
        annotated work outside ``exclude``."""
        annotated = self.annotations(scheme)
        works_of = self.works_of_makers()
        position = annotated.position
        works = np.fromiter(sorted({position[a] for m in makers for a in works_of.get(m, ())
                                    if a in position and a not in exclude}), dtype=np.int64)
        if not works.size:
            return None
        begins, ends = annotated.starts[works], annotated.starts[works + 1]
        sizes = ends - begins
        # Every concept slot of those works at once: each work's slice of the CSR arrays.
        slots = np.repeat(begins - np.cumsum(sizes) + sizes, sizes) + np.arange(int(sizes.sum()))
        votes = np.bincount(annotated.concepts[slots], weights=annotated.signs[slots],
                            minlength=len(self.scheme_tree(scheme).iris)).astype(np.float32)
        return np.maximum(votes / (works.size + 1), -1.0)

    def ranking_features(self, query: Query, scheme: str = "iconclass",
                         exclude: frozenset[str] = frozenset()) -> dict[str, np.ndarray]:
        """Every feature a learned ranker (:mod:`kgart.ranker`) weighs, for every concept of a scheme."""
        raw = self.raw_components(query, scheme, exclude)
        zero = np.zeros_like(raw["vector"])
        components = {name: raw.get(name, zero) for name in COMPONENTS}
        return {**components, **self.concept_features(scheme),
                **query_features(components, len(query.words.split()))}

    def concept_features(self, scheme: str) -> dict[str, np.ndarray]:
        """Depth, number of children and label length of a scheme's concepts (read once)."""
        if scheme in self._concept_features:
            return self._concept_features[scheme]
        with self._building:
            return self._concept_features_of(scheme)

    def _concept_features_of(self, scheme: str) -> dict[str, np.ndarray]:
        if scheme not in self._concept_features:
            tree = self.scheme_tree(scheme)
            if scheme == "iconclass":
                rows = self.store.select("""SELECT ?c ?l WHERE { GRAPH $graph {
                    ?c skos:prefLabel ?l FILTER(lang(?l) = "en") } }""", {"graph": graph_iri("iconclass")}).rows
            else:
                rows = self.store.select("SELECT ?c ?l WHERE { ?c skos:inScheme $scheme ; skos:prefLabel ?l }",
                                         {"scheme": self.scheme(scheme).concept_scheme}).rows
            words = np.zeros(len(tree.iris), dtype=np.float32)
            for r in rows:
                row = tree.row.get(str(r["c"]))
                if row is not None:
                    words[row] = max(words[row], len(r.text("l").split()))
            self._concept_features[scheme] = concept_features(tree.depth, tree.child_counts, words)
        return self._concept_features[scheme]

    def ranker_for(self, scheme: str) -> LinearRanker | None:
        """The learned ranker for a scheme, when there is one for this encoder's vectors."""
        ranker = self.rankers.get(scheme)
        return ranker if ranker is not None and ranker.model_id == self.encoder.model_id else None

    def concept_scores(self, query: Query, config: BlendConfig | None = None, scheme: str = "iconclass",
                       exclude: frozenset[str] = frozenset()) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Score of every concept of a scheme, and each part's contribution: the learned ranker's
        when the scheme has one and no ``config`` is given, else the blend's (with ``config``, or
        the configured weights for that scheme); artworks in ``exclude`` do not vote as neighbours."""
        ranker = self.ranker_for(scheme) if config is None else None
        if ranker is not None:
            return ranker.score(self.ranking_features(query, scheme, exclude))
        config = config or self.config.for_scheme(scheme)
        w = config.weights
        raw = self.raw_components(query, scheme, exclude, [c for c in COMPONENTS if w[c]], config)
        parts = {name: w[name] * values for name, values in raw.items()}
        total = np.sum(list(parts.values()), axis=0)
        return total, parts

    def search_concepts(self, query: Query, *, k: int = 10, under: str | None = None,
                        depth: tuple[int, int] | None = None, config: BlendConfig | None = None,
                        labels: bool = True, scheme: str = "iconclass", language: str | None = None,
                        exclude: frozenset[str] = frozenset()) -> list[Hit]:
        """Concepts of a scheme (``iconclass``, or ``tate`` subjects), best first; Iconclass labels
        in ``language`` (default: the retriever's); ``exclude``: artworks that must not vote."""
        scheme = self.scheme(scheme).name  # by name or IRI; KgartError when unknown
        total, parts = self.concept_scores(query, config, scheme, exclude)
        tree = self.scheme_tree(scheme)
        mask = np.ones(len(total), dtype=bool)
        if under and scheme == "iconclass":
            allowed = {notation_iri(n) for n in [str(self.iconclass.resolve(under).notation),
                                                 *self.iconclass.descendants(under)]}
            mask &= np.fromiter((iri in allowed for iri in tree.iris), dtype=bool, count=len(tree.iris))
        elif under:
            mask &= tree.within(tree.row_of(under))
        if depth is not None:
            mask &= (tree.depth >= depth[0]) & (tree.depth <= depth[1])
        candidates = np.flatnonzero(mask)
        if candidates.size == 0:
            return []
        values = total[candidates]
        if candidates.size > k:
            top = np.argpartition(-values, k - 1)[:k]
            order = candidates[top[np.argsort(-values[top], kind="stable")]]
        else:
            order = candidates[np.argsort(-values, kind="stable")]
        hits = [Hit(tree.iris[r], float(total[r]), tree.notations[r],
                    components={name: float(values[r]) for name, values in parts.items()}) for r in order]
        if labels:
            self.label_hits(hits, scheme, language or self.language)
        return hits

    def label_hits(self, hits: Sequence[Hit], scheme: str, language: str) -> None:
        """Give each concept hit its label in ``language`` (else English, else any): Iconclass's
        composed labels, another scheme's skos:prefLabel."""
        if scheme == "iconclass":
            found = self.iconclass.labels([h.notation for h in hits if h.notation], language)
            for h in hits:
                h.label = found[h.notation].text if h.notation in found else None
        elif hits:
            rows = self.store.select("SELECT ?c ?l WHERE { VALUES ?c { $concepts } ?c skos:prefLabel ?l }",
                                     {"concepts": iri_list([h.iri for h in hits])}).rows
            names = preferred_labels(((str(r["c"]), r.literal("l")) for r in rows), language)
            for h in hits:
                h.label = names.get(h.iri)

    def suggest(self, title: str = "", description: str = "", image: str = "", *, k: int = 10,
                config: BlendConfig | None = None, scheme: str = "iconclass", makers: Sequence[str] = (),
                exclude: frozenset[str] = frozenset()) -> list[Hit]:
        """Codes for one artwork (Iconclass, or Tate subjects), best first; ``makers``: the IRIs
        of its makers in the store, whose other works the ``maker`` component counts;
        ``exclude``: artworks that must not vote (the artwork itself, when it is stored)."""
        query = Query(title=title, description=description, image=image,
                      makers=tuple(str(checked_iri(m)) for m in makers))
        return self.search_concepts(query, k=k, config=config, labels=False, scheme=scheme, exclude=exclude)

    def suggest_for(self, artwork: str, *, k: int = 10, scheme: str = "iconclass", include_rejected: bool = False,
                    language: str | None = None) -> list[Hit]:
        """Codes for an artwork in the store, from its title and description (its stored vector
        when it has no text) and its makers' other works. It never votes for itself as a
        neighbour, and a code a curator rejected for it is left out unless ``include_rejected``."""
        iri = checked_iri(artwork)
        rows = self.store.select("""SELECT ?t ?d WHERE {
            OPTIONAL { $a schema:name ?t } OPTIONAL { $a schema:description ?d } }
            ORDER BY DESC(lang(?t) = "en") LIMIT 1""", {"a": iri}).rows
        title = rows[0].text("t", "") if rows else ""
        description = rows[0].text("d", "") if rows else ""
        if not (title or description) and str(iri) not in getattr(self.index("artwork"), "_row", {}):
            raise KgartError("nothing to suggest from: this artwork has no title, description or vector "
                             "(add a code by hand)")
        makers = self.makers_of(str(iri))
        query = (Query(title=title, description=description, makers=makers) if title or description
                 else Query(iri=iri, makers=makers))
        rejected = set() if include_rejected else {
            str(d.concept) for d in self._decisions.decisions([iri], status="rejected")}
        hits = self.search_concepts(query, k=k + len(rejected), scheme=scheme, language=language,
                                    exclude=frozenset({str(iri)}))
        return [h for h in hits if h.iri not in rejected][:k]

    # -- artworks and sentences --------------------------------------------------------

    def search_items(self, query: Query, kind: str = "artwork", *, k: int = 10, under: str | None = None,
                     graph: str | None = None, config: BlendConfig | None = None) -> list[Hit]:
        """Artworks (or sentences) by meaning and words; ``under`` keeps those annotated
        with that concept or any concept below it (subsumption)."""
        config = config or self.config
        index = self.index(kind)
        allowed: set[str] | None = None
        codes: dict[str, list[str]] = {}
        if under:
            codes = self.annotated_with(under)
            allowed = set(codes)
        if graph:
            in_graph = {str(r["a"]) for r in self.store.select(
                "SELECT ?a WHERE { GRAPH $graph { ?a a ?t } }", {"graph": checked_iri(graph_iri(graph))})}
            allowed = in_graph if allowed is None else allowed & in_graph
        has_query = bool(query.words or query.image or query.iri)
        if not has_query:
            if allowed is None:
                raise KgartError("give a query, or a concept to search under")
            # A concept alone: its artworks, exact annotations first, then by depth below it.
            ranked = sorted(allowed, key=lambda a: (min(len(c) for c in codes.get(a, [""])), a))
            return [Hit(a, 1.0 / (1 + i), codes=codes.get(a, [])) for i, a in enumerate(ranked[:k])]
        pool = max(k * 20, 200)
        words = self._keyword_search(query.words, kind, pool) if config.weights["keyword"] else None
        vector = self.query_vector(query)
        scored: dict[str, dict[str, float]] = {}
        for iri, s in index.search(vector, pool, within=allowed):
            if iri != query.iri:
                scored.setdefault(iri, {})["vector"] = config.weights["vector"] * s
        if words is not None:
            hits = [h for h in words.result() if allowed is None or h.iri in allowed]
            for iri, value in scaled_to_best(hits).items():
                if iri != query.iri:
                    scored.setdefault(iri, {})["keyword"] = config.weights["keyword"] * value
        ranked_items = sorted(scored.items(), key=lambda kv: -sum(kv[1].values()))[:k]
        return [Hit(iri, sum(parts.values()), components=parts, codes=codes.get(iri, []))
                for iri, parts in ranked_items]

    def similar(self, iri: str, *, k: int = 10, kind: str | None = None) -> list[Hit]:
        """Nodes like a stored node, by its own vector."""
        kinds = [kind] if kind else ["artwork", "iconclass", "sentence"]
        for candidate in kinds:
            index = self.index(candidate)
            if iri in getattr(index, "_row", {}):
                return [Hit(other, s, notation_from_iri(other)) for other, s in
                        index.search(np.asarray(index.vector(iri)), k + 1) if other != iri][:k]
        raise KgartError(f"no stored vector for <{iri}> with {self.encoder.model_id}; run kgart embed")

    def annotated_with(self, notation: str) -> dict[str, list[str]]:
        """Artworks annotated with a concept or any concept below it → their codes there."""
        resolved = self.iconclass.resolve(notation)
        rows = self.store.select("""SELECT DISTINCT ?a ?n WHERE { ?a a schema:VisualArtwork ; dcterms:subject ?c .
            ?c skos:notation ?n ; skos:broader* $concept }""", {"concept": resolved.iri})
        out: dict[str, list[str]] = {}
        for r in rows:
            out.setdefault(str(r["a"]), []).append(r.text("n"))
        return out


def scaled_to_best(hits: Sequence[KeywordHit]) -> dict[str, float]:
    """BM25 scores as a share of the best one (0–1), so that the keyword weight means the
    same whatever the query's words."""
    best = max((h.score for h in hits), default=0.0) or 1.0
    return {h.iri: h.score / best for h in hits}


@dataclass(frozen=True)
class _Annotations:
    """Annotated artworks as rows of the artwork index, with their concept rows (CSR)."""

    matrix: np.ndarray  # the annotated artworks' vectors when few, else the whole (memory-mapped) index
    gathered: bool  # whether matrix holds only the annotated artworks' rows
    position: dict[str, int]  # annotated artwork -> its place in rows
    rows: np.ndarray  # the annotated artworks' rows in the artwork index
    starts: np.ndarray  # concepts of the i-th: concepts[starts[i]:starts[i + 1]]
    concepts: np.ndarray
    signs: np.ndarray  # +1 for a concept the artwork carries, -1 for one rejected for it

    @classmethod
    def build(cls, index: Index, concepts_of: dict[str, dict[int, float]]) -> _Annotations:
        """``concepts_of``: artwork → concept row → +1 (it carries the concept) or -1 (rejected for it)."""
        row_of = {iri: i for i, iri in enumerate(index.iris)}
        iris = sorted(a for a in concepts_of if a in row_of)
        rows = np.array([row_of[a] for a in iris], dtype=np.int64)
        sizes = np.array([len(concepts_of[a]) for a in iris], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        concepts = np.array([c for a in iris for c in sorted(concepts_of[a])], dtype=np.int64)
        signs = np.array([concepts_of[a][c] for a in iris for c in sorted(concepts_of[a])], dtype=np.float32)
        # A few annotated artworks among many: keep their vectors (cheap); most of them: score
        # the whole index and pick their rows (no copy of a large matrix).
        gathered = rows.size * 4 <= len(index.iris)
        matrix = np.ascontiguousarray(index.matrix[rows], dtype=np.float32) if gathered else index.matrix
        return cls(matrix, gathered, {a: i for i, a in enumerate(iris)}, rows, starts, concepts, signs)

    def votes(self, vector: np.ndarray, counts: Sequence[int], n_concepts: int, exclude: frozenset[str]
              ) -> list[np.ndarray]:
        """Each count's votes (the ``k`` most similar artworks, each vote weighted by its cosine,
        scaled to the best), from one pass over the vectors."""
        sims = np.asarray(self.matrix @ vector, dtype=np.float32)
        if not self.gathered:
            sims = sims[self.rows]
        if exclude:
            sims[[self.position[a] for a in exclude if a in self.position]] = -np.inf
        most = min(max(counts, default=0), int(np.isfinite(sims).sum()))
        top = np.argpartition(-sims, most - 1)[:most] if most > 0 else np.zeros(0, dtype=np.int64)
        top = top[np.argsort(-sims[top], kind="stable")]
        out = []
        for k in counts:
            votes = np.zeros(n_concepts, dtype=np.float32)
            for i in top[:k]:
                part = slice(self.starts[i], self.starts[i + 1])
                votes[self.concepts[part]] += self.signs[part] * max(float(sims[i]), 0.0)
            best = votes.max()
            out.append(np.maximum(votes / best, -1.0) if best > 0 else np.maximum(votes, -1.0))
        return out


def load_priors(paths: Iterable[str | Path]) -> dict[str, float]:
    """Usage counts per notation from ``notation,count`` CSV files (summed over files)."""
    import csv

    counts: dict[str, float] = {}
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                for row in csv.DictReader(f):
                    try:
                        counts[row["notation"].strip()] = counts.get(row["notation"].strip(), 0.0) + float(row["count"])
                    except (KeyError, ValueError, AttributeError):
                        continue
        except OSError as e:
            raise ConfigError(f"cannot read usage counts {path}: {e.strerror}") from e
    return counts


def priors_from_store(store: TripleStore, scheme: IRI) -> dict[str, float]:
    """Usage counts of one scheme's notations (a concept without one: its IRI) in the loaded
    collections: how many records (artworks; no type check, which made the query ten times
    slower) carry each concept."""
    rows = store.select("""SELECT ?n (COUNT(DISTINCT ?a) AS ?count) WHERE { ?c skos:inScheme $scheme .
        OPTIONAL { ?c skos:notation ?code } BIND(COALESCE(STR(?code), STR(?c)) AS ?n) ?a dcterms:subject ?c }
        GROUP BY ?n""", {"scheme": scheme})
    return {r.text("n"): r.float("count") for r in rows}
