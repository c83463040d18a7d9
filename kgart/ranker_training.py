"""``kgart train ranker``: learn a scheme's blend from its catalogued records.

Each training record is asked for as a query (its title and description) with itself
left out of everything that could repeat its answer: it does not vote as a neighbour and
its own codes are taken out of the usage priors. The candidates are the hand-set blend's
top 100. Starting from the hand-set weights, coordinate ascent (Metzler and Croft 2007)
moves one weight at a time wherever that ranks the gold codes higher (MRR); how many rounds
it may take (0: the hand-set blend unchanged) is chosen by cross-validation over records,
so the figures stored with the ranker come from records it was not fitted on, and the
hand-set blend is scored on the same candidates beside them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from kgart.errors import KgartError
from kgart.ranker import FEATURES, LinearRanker
from kgart.retrieval import COMPONENTS, Query, Retriever
from kgart.splits import RANKER_MIN_RECORDS

MIN_RECORDS = RANKER_MIN_RECORDS
CANDIDATES = 100
FOLDS = 5
ROUNDS = (0, 1, 2, 4)  # 0: the hand-set blend as it is
STEPS = (-0.4, -0.2, -0.1, 0.1, 0.2, 0.4)


@dataclass(frozen=True)
class TrainingRecord:
    iri: str
    identifier: str
    title: str
    description: str
    codes: tuple[str, ...]  # concept IRIs
    makers: tuple[str, ...] = ()  # its makers' IRIs (schema:creator)


@dataclass
class _Example:
    features: np.ndarray  # candidates × features
    gold: np.ndarray  # bool per candidate
    candidates: int  # the first rows: the hand-set blend's top candidates (gold codes beyond it follow)


def coded_records(retriever: Retriever, scheme: str) -> list[TrainingRecord]:
    """Catalogued records with codes in ``scheme`` (with or without a title or description)."""
    rows = retriever.store.select("""SELECT ?a ?c ?id ?t ?d WHERE { ?c skos:inScheme $scheme . ?a dcterms:subject ?c ;
        a schema:VisualArtwork . OPTIONAL { ?a schema:identifier ?id } OPTIONAL { ?a schema:name ?t }
        OPTIONAL { ?a schema:description ?d } }""", {"scheme": retriever.scheme(scheme).concept_scheme}).rows
    by: dict[str, dict[str, object]] = {}
    for r in rows:
        entry = by.setdefault(str(r["a"]), {"codes": set(), "id": "", "t": "", "d": ""})
        entry["codes"].add(str(r["c"]))  # type: ignore[attr-defined]
        for key in ("id", "t", "d"):
            if key in r and not entry[key]:
                entry[key] = r.text(key)
    makers: dict[str, set[str]] = {}
    for r in retriever.store.select("""SELECT DISTINCT ?a ?m WHERE { ?c skos:inScheme $scheme . ?a dcterms:subject ?c ;
            schema:creator ?m }""", {"scheme": retriever.scheme(scheme).concept_scheme}).rows:
        makers.setdefault(str(r["a"]), set()).add(str(r["m"]))
    out = []
    for iri, e in sorted(by.items()):
        out.append(TrainingRecord(iri, str(e["id"]), str(e["t"]), str(e["d"]), tuple(sorted(e["codes"])),  # type: ignore[call-overload]
                                  tuple(sorted(makers.get(iri, ())))))
    return out


def _example(retriever: Retriever, record: TrainingRecord, scheme: str, unseen: frozenset[str],
             makers: bool) -> _Example | None:
    if not (record.title or record.description):
        return None
    query = Query(title=record.title, description=record.description, makers=record.makers if makers else ())
    features = retriever.ranking_features(query, scheme, exclude=unseen | {record.iri})
    blend = retriever.config.for_scheme(scheme).weights
    blended = np.sum([blend[c] * features[c] for c in COMPONENTS if blend[c]], axis=0)
    tree = retriever.scheme_tree(scheme)
    gold_rows = {tree.row[c] for c in record.codes if c in tree.row}
    if not gold_rows:
        return None
    count = min(CANDIDATES, len(blended))
    top = np.argpartition(-blended, count - 1)[:count]
    top = top[np.argsort(-blended[top], kind="stable")]
    rows = np.concatenate([top, np.array(sorted(gold_rows - set(top.tolist())), dtype=np.int64)])
    matrix = np.stack([features[name][rows] for name in FEATURES], axis=1).astype(np.float32)
    gold = np.array([r in gold_rows for r in rows])
    # Scored among the blend's own top candidates only: a gold code the blend never reached
    # counts as a miss for both, as it would in the full ranking.
    return _Example(matrix, gold, len(top))


def _mrr(examples: Sequence[_Example], weights: np.ndarray) -> float:
    total = 0.0
    for ex in examples:
        n = ex.candidates
        scores = ex.features[:n] @ weights
        gold = ex.gold[:n]
        if gold.any():
            best_gold = scores[gold].max()
            total += 1.0 / (1 + int((scores > best_gold).sum()))
    return total / max(1, len(examples))


def _ascend(examples: Sequence[_Example], start: np.ndarray, rounds: int) -> np.ndarray:
    """Coordinate ascent on MRR (Metzler and Croft's linear learning to rank): each round tries
    moving each weight by a few steps and keeps any move that ranks the gold codes higher."""
    weights = start.copy()
    best = _mrr(examples, weights)
    for _ in range(rounds):
        for j in range(len(weights)):
            for step in STEPS:
                trial = weights.copy()
                trial[j] += step
                score = _mrr(examples, trial)
                if score > best + 1e-9:
                    best, weights = score, trial
    return weights


def _measure(examples: Sequence[_Example], weights: np.ndarray) -> dict[str, float]:
    """R@1, R@10 and MRR (in %) among each record's blend candidates."""
    r1 = r10 = rr = 0.0
    for ex in examples:
        n = ex.candidates
        scores = ex.features[:n] @ weights
        order = np.argsort(-scores, kind="stable")
        hits = np.flatnonzero(ex.gold[:n][order])
        if hits.size:
            first = int(hits[0])
            r1 += first < 1
            r10 += first < 10
            rr += 1.0 / (first + 1)
    total = max(1, len(examples))
    return {"r1": 100 * r1 / total, "r10": 100 * r10 / total, "mrr": 100 * rr / total}


def train_ranker(retriever: Retriever, records: Sequence[TrainingRecord], scheme: str, *, seed: int = 0,
                 unseen: frozenset[str] = frozenset(), makers: bool = True,
                 progress: Callable[[int, int], None] | None = None) -> LinearRanker:
    """A ranker for ``scheme`` learned from ``records`` (queries answered as described above);
    the artworks in ``unseen`` (the held-out records) never vote as neighbours nor as the
    maker's other works. ``makers``: each record is asked for with its makers too (the
    ``maker`` component), as ``suggest_for`` asks for a stored record. The retriever's usage
    priors must already leave out the training and held-out records' codes.

    :raises KgartError: with fewer than ``MIN_RECORDS`` usable records.
    """
    examples = []
    for i, record in enumerate(records, start=1):
        example = _example(retriever, record, scheme, unseen, makers)
        if example is not None:
            examples.append(example)
        if progress:
            progress(i, len(records))
    if len(examples) < MIN_RECORDS:
        raise KgartError(f"{scheme}: {len(examples)} coded records to learn from, fewer than {MIN_RECORDS}; "
                         "the blend in kgart/blend.toml stays")
    start = np.array([retriever.config.for_scheme(scheme).weights.get(name, 0.0) for name in FEATURES])
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    folds = [order[f::FOLDS] for f in range(FOLDS)]
    cross: dict[int, dict[str, float]] = {}
    for rounds in ROUNDS:
        totals = {"r1": 0.0, "r10": 0.0, "mrr": 0.0}
        for fold in folds:
            inside = set(fold)
            weights = _ascend([examples[i] for i in order if i not in inside], start, rounds)
            scored = _measure([examples[i] for i in fold], weights)
            for key in totals:
                totals[key] += scored[key] * len(fold) / len(examples)
        cross[rounds] = totals
    # The fewest rounds among the best held-out MRRs: more rounds only where they paid off on records
    # they were not fitted on.
    chosen = max(ROUNDS, key=lambda r: (round(cross[r]["mrr"], 6), -r))
    weights = _ascend(examples, start, chosen)
    blend = _measure(examples, start)
    figures = {"records": float(len(examples)), "rounds": float(chosen), "makers": float(makers),
               **{f"cv_mrr_{rounds}_rounds": round(cross[rounds]["mrr"], 1) for rounds in ROUNDS},
               **{f"cv_{k}": round(v, 1) for k, v in cross[chosen].items()},
               **{f"blend_{k}": round(v, 1) for k, v in blend.items()}}
    return LinearRanker(scheme, retriever.encoder.model_id,
                        {name: round(float(w), 6) for name, w in zip(FEATURES, weights, strict=True)},
                        len(examples), figures)
