"""How much the review loop teaches: a cataloguer works through a coded collection in a seeded
order; after every batch, the records not yet reviewed are scored again.

Reviewing a record means what the review page does: its gold codes are accepted and
the wrong codes among its top suggestions are rejected. A batch's rejections count from
the end of the batch (the suggestions shown while reviewing it use the tables of its start).
Here the decisions are kept in memory (the store is only read) and handed to the
retriever through the same interface as the store's annotations (:class:`kgart.annotations.Annotations`' ``version`` and
``decisions``), so neighbours and priors change exactly as they do on the server.

No leaks, by construction: a record not yet reviewed never votes as a neighbour (its
catalogue codes are its gold), and its codes are taken out of the usage priors; the
records scored are a fixed tail of the order that no step reviews, so every step is
scored on the same records.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from kgart.annotations import Decision
from kgart.evaluation import GoldItem, Scores, counts_without, score
from kgart.rdf import IRI, Literal
from kgart.retrieval import Query, Retriever
from kgart.triplestore import TripleStore

DEFAULT_STEPS = (0, 25, 50, 100, 200, 400, 800, 1600, 3200)


class ReviewedSoFar:
    """The simulated curator's rejections, as the retriever reads decisions."""

    def __init__(self) -> None:
        self._rejected: list[Decision] = []
        self._pending: list[Decision] = []
        self._version = ""

    def reject(self, artwork: IRI, concepts: Sequence[str]) -> None:
        for concept in concepts:
            self._pending.append(Decision(IRI("urn:kgart:simulated"), artwork, IRI(concept), "rejected", None))

    def publish(self) -> None:
        """Make the batch's rejections count (the retriever then rebuilds its neighbour table:
        once per batch, not once per record, which would cost a rebuild per record reviewed)."""
        if self._pending:
            self._rejected += self._pending
            self._pending = []
            self._version = uuid.uuid4().hex

    def version(self) -> str:
        return self._version

    def decisions(self, artworks: Sequence[str] | None = None, status: str | None = None) -> list[Decision]:
        if status not in (None, "rejected"):
            return []
        wanted = set(artworks) if artworks is not None else None
        return [d for d in self._rejected if wanted is None or str(d.artwork) in wanted]


@dataclass(frozen=True)
class Step:
    reviewed: int
    scores: Scores
    rejected: int


def records_of(store: TripleStore, gold: Sequence[GoldItem]) -> dict[str, IRI]:
    """Each gold item's own record in the store (by ``schema:identifier``), where it has one."""
    found: dict[str, IRI] = {}
    ids = sorted({item.source_id for item in gold if item.source_id})
    for start in range(0, len(ids), 500):
        rows = store.select("SELECT ?a ?id WHERE { VALUES ?id { $ids } "
                            "?a a schema:VisualArtwork ; schema:identifier ?id }",
                            {"ids": [Literal(i) for i in ids[start:start + 500]]}).rows
        for r in rows:
            found.setdefault(r.text("id"), r.iri("a"))
    return {item.id: found[item.source_id] for item in gold if item.source_id in found}


def simulate(retriever: Retriever, gold: Sequence[GoldItem], records: Mapping[str, IRI], counts: Mapping[str, float],
             *, scheme: str = "iconclass", steps: Sequence[int] = DEFAULT_STEPS, held_out: int = 200,
             seed: int = 0, reject_top: int = 5, depth: int = 10,
             branch_of: Callable[[str], str] = lambda code: code[:4],
             background: frozenset[str] | None = None,
             progress: Callable[[str], None] | None = None) -> tuple[list[Step], list[str]]:
    """Scores of the held-out tail after each number of records reviewed; and the order
    (item ids), to store beside the figures.

    ``background``: a cold start. These stored records never vote either, and the usage
    priors are only what the reviewed records used, as for a collection catalogued from
    nothing (without it, every other catalogued record in the store votes, as on a server)."""
    order = list(gold)
    random.Random(seed).shuffle(order)
    held_out = min(held_out, max(1, len(order) // 2))
    scored, reviewable = order[-held_out:], order[:-held_out]
    steps = sorted({s for s in steps if s <= len(reviewable)})
    decisions = ReviewedSoFar()
    retriever.use_decisions(decisions)
    reviewed = 0
    out: list[Step] = []

    def suggest(item: GoldItem, exclude: frozenset[str]) -> list[str]:
        query = Query(title=item.title, description=item.description)
        if not query.words:
            return []
        return [h.notation or h.iri for h in retriever.search_concepts(query, k=depth, labels=False, scheme=scheme,
                                                                         exclude=exclude)]

    for target in steps:
        while reviewed < target:
            item = reviewable[reviewed]
            exclude = _unreviewed(order, reviewed, records) | (background or frozenset())
            shown = suggest(item, exclude)
            wrong = [c for c in shown[:reject_top] if c not in item.codes]
            if item.id in records:
                decisions.reject(records[item.id], [_concept_iri(retriever, scheme, c) for c in wrong])
            reviewed += 1
        decisions.publish()
        # Priors: the codes of every record not yet reviewed are taken out (reviewed ones count).
        if background is None:
            retriever.use_priors(scheme, counts_without(counts, order[reviewed:]))
        else:
            retriever.use_priors(scheme, _counted(order[:reviewed]))
        exclude = _unreviewed(order, reviewed, records) | (background or frozenset())
        ranked = [suggest(item, exclude) for item in scored]
        out.append(Step(reviewed, score(scored, ranked, (1, 5, 10), branch_of), len(decisions.decisions())))
        if progress is not None:
            s = out[-1].scores
            progress(f"after {reviewed:>5} reviewed: R@1 {s.recall[1]:5.1f}  R@10 {s.recall[10]:5.1f}  "
                     f"MRR {s.mrr:5.1f}")
    return out, [item.id for item in order]


def _counted(items: Sequence[GoldItem]) -> dict[str, float]:
    counts: dict[str, float] = {}
    for item in items:
        for code in item.codes:
            counts[code] = counts.get(code, 0.0) + 1.0
    return counts


def annotated_records(store: TripleStore, scheme: IRI) -> frozenset[str]:
    """Every stored record that carries a concept of the scheme (a cold start's background)."""
    rows = store.select("SELECT DISTINCT ?a WHERE { ?c skos:inScheme $scheme . ?a dcterms:subject ?c }",
                        {"scheme": scheme}).rows
    return frozenset(str(r["a"]) for r in rows)


def _unreviewed(order: Sequence[GoldItem], reviewed: int, records: Mapping[str, IRI]) -> frozenset[str]:
    """Records that must not vote: every one not yet reviewed."""
    return frozenset(str(records[item.id]) for item in order[reviewed:] if item.id in records)


def _concept_iri(retriever: Retriever, scheme: str, code: str) -> str:
    tree = retriever.scheme_tree(scheme)
    if code in tree.row:
        return code
    return tree.iris[tree.row_of(code)]


def plot(curves: Mapping[str, Sequence[Step]], path: str) -> None:
    """The learning curve (R@1, R@10, MRR against records reviewed) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(curves), figsize=(5.5 * len(curves), 4), squeeze=False)
    for axis, (name, steps) in zip(axes[0], curves.items(), strict=True):
        x = [s.reviewed for s in steps]
        axis.plot(x, [s.scores.recall[1] for s in steps], marker="o", label="R@1")
        axis.plot(x, [s.scores.recall[10] for s in steps], marker="o", label="R@10")
        axis.plot(x, [s.scores.mrr for s in steps], marker="o", label="MRR")
        axis.set_xscale("symlog", linthresh=25)
        axis.set_xlabel("records reviewed")
        axis.set_ylabel("% of held-out records")
        axis.set_title(f"{name} ({steps[0].scores.n} held out)" if steps else name)
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
