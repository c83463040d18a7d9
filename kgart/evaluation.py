"""Evaluation of code suggestion: recall at K, branch at K, MRR, and an ablation per component.

Gold data: the RKD table format (``Title`` + ``Iconclass code``, several codes
comma-separated) or JSON Lines (``{"id", "title", "description", "codes": [...]}``).

With several gold codes a suggestion list counts as a hit when *any* gold code
is in its top K; MRR uses the first gold code found. scikit-learn's
``top_k_accuracy_score`` takes one true label per sample and a score for every
class, which fits neither, so the three measures are computed here directly.
Two configurations scored on the same items differ by a paired gain, given with its
uncertainty (a bootstrap interval and McNemar's exact test, from SciPy): on 85 items one
title is 1.2 points.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kgart.errors import DataSourceError, NotationError
from kgart.notation import parse_lenient, split_codes
from kgart.rdf import Literal
from kgart.triplestore import TripleStore


@dataclass(frozen=True)
class GoldItem:
    id: str
    title: str
    description: str
    codes: tuple[str, ...]
    keywords: str = ""
    source_id: str = ""  # the record's id in its source (RKD number, Tate acno), to leave it out of neighbours


def read_gold(path: str | Path) -> list[GoldItem]:
    """Items with at least one gold code; codes pass the lenient parser (unparseable ones are dropped)."""
    path = Path(path)
    items: list[GoldItem] = []
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataSourceError(f"malformed JSON: {e.msg}", path=str(path), line=number) from e
            codes = row.get("codes") or []
            items.append(GoldItem(str(row.get("id", number)), str(row.get("title") or ""),
                                  str(row.get("description") or ""), tuple(_clean_codes(codes)),
                                  str(row.get("keywords") or ""), str(row.get("source_id") or row.get("id") or "")))
    else:
        with path.open(encoding="utf-8") as f:
            for number, row in enumerate(csv.DictReader(f), start=2):
                codes = split_codes(row.get("Iconclass code") or "")
                if codes:
                    record = re.search(r"(\d+)\s*$", row.get("Details URL") or "")
                    items.append(GoldItem(str(number), (row.get("Title") or "").strip(),
                                          (row.get("Description") or "").strip(), tuple(_clean_codes(codes)),
                                          (row.get("Keywords") or "").strip(), record.group(1) if record else ""))
    return [i for i in items if i.codes]


def _clean_codes(codes: Sequence[str]) -> list[str]:
    out = []
    for code in codes:
        try:
            out.append(str(parse_lenient(str(code)).notation))
        except NotationError:
            continue
    return out


@dataclass(frozen=True)
class Scores:
    recall: dict[int, float]
    branch: dict[int, float]
    mrr: float
    n: int


def found_in_top(gold_codes: Collection[str], codes: Sequence[str], k: int) -> bool:
    """A hit at K: any gold code among the first K suggested (R@K's rule, paired or not)."""
    return any(c in gold_codes for c in codes[:k])


def score(gold: Sequence[GoldItem], ranked: Sequence[Sequence[str]], ks: Sequence[int],
          branch_of: Callable[[str], str] = lambda code: code[:4]) -> Scores:
    """R@K, branch@K (a top-K code in a gold code's branch: for Iconclass, the same first
    four characters) and MRR, in %."""
    recall = {k: 0 for k in ks}
    branch = {k: 0 for k in ks}
    reciprocal = 0.0
    for item, codes in zip(gold, ranked, strict=True):
        gold_codes = set(item.codes)
        prefixes = {branch_of(c) for c in gold_codes}
        first = next((i for i, c in enumerate(codes) if c in gold_codes), None)
        if first is not None:
            reciprocal += 1.0 / (first + 1)
        for k in ks:
            recall[k] += found_in_top(gold_codes, codes, k)
            branch[k] += any(branch_of(c) in prefixes for c in codes[:k])
    n = max(1, len(gold))
    return Scores({k: 100 * v / n for k, v in recall.items()}, {k: 100 * v / n for k, v in branch.items()},
                  100 * reciprocal / n, len(gold))


@dataclass(frozen=True)
class PairedGain:
    """How much a configuration's R@K differs from a baseline's on the same items."""

    k: int
    gain: float  # percentage points
    low: float  # 95% bootstrap interval of the gain (the items resampled)
    high: float
    gained: int  # items only the configuration finds in its top K
    lost: int  # items only the baseline finds
    p_value: float  # McNemar's exact test: gained against lost, two-sided

    def __str__(self) -> str:
        return (f"R@{self.k} {self.gain:+.1f} (95% interval {self.low:+.1f} to {self.high:+.1f}; "
                f"{self.gained} gained, {self.lost} lost; McNemar p "
                f"{'< 0.01' if self.p_value < 0.01 else format(self.p_value, '.2f')})")


def paired_gains(gold: Sequence[GoldItem], baseline: Sequence[Sequence[str]], other: Sequence[Sequence[str]],
                 ks: Sequence[int], *, resamples: int = 10_000, seed: int = 0) -> list[PairedGain]:
    """R@K of ``other`` against ``baseline`` per cut-off, item by item (seeded: the same run
    prints the same interval)."""
    import numpy as np
    from scipy.stats import binomtest, bootstrap

    gold_codes = [set(item.codes) for item in gold]
    out = []
    for k in ks:
        before = np.array([found_in_top(g, codes, k) for g, codes in zip(gold_codes, baseline, strict=True)], bool)
        after = np.array([found_in_top(g, codes, k) for g, codes in zip(gold_codes, other, strict=True)], bool)
        differences = 100.0 * (after.astype(float) - before.astype(float))
        gain = float(differences.mean()) if len(gold) else 0.0
        gained, lost = int((after & ~before).sum()), int((before & ~after).sum())
        if len(gold) > 1 and differences.any():
            interval = bootstrap((differences,), np.mean, n_resamples=resamples, method="percentile",
                                 random_state=np.random.default_rng(seed)).confidence_interval
            low, high = float(interval.low), float(interval.high)
        else:
            low = high = gain
        p_value = binomtest(gained, gained + lost).pvalue if gained + lost else 1.0
        out.append(PairedGain(k, gain, low, high, gained, lost, float(p_value)))
    return out


def read_tate_gold(path: str | Path, limit: int | None = 1000) -> list[GoldItem]:
    """Tate records (JSON Lines, ``.gz`` too) as gold: the title, and the record's deepest subject terms.
    The first ``limit`` records with both (all of them with ``None``; the first 1,000 are no random
    sample: 470 are by one artist, so ``kgart eval split --sample`` draws a seeded one)."""
    import gzip
    from itertools import islice

    opener = gzip.open if str(path).endswith(".gz") else open
    items: list[GoldItem] = []
    with opener(path, "rt", encoding="utf-8") as f:  # type: ignore[operator]
        for number, line in enumerate(islice(f, None if limit is None else limit * 5), start=1):
            if limit is not None and len(items) >= limit:
                break
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataSourceError(f"malformed JSON: {e.msg}", path=str(path), line=number) from e
            leaves = _leaf_subjects(record.get("subjects"))
            if leaves and record.get("title"):
                acno = str(record.get("acno") or "")
                items.append(GoldItem(acno or str(number), str(record["title"]), "", tuple(leaves), source_id=acno))
    return items


def _leaf_subjects(tree: object) -> list[str]:
    leaves: list[str] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        children = node.get("children")
        if isinstance(children, list) and children:
            stack.extend(children)
        elif "id" in node and node is not tree:
            leaves.append(str(node["id"]))
    return sorted(set(leaves))


def counts_without(counts: Mapping[str, float], gold: Sequence[GoldItem]) -> dict[str, float]:
    """Usage counts less one use of each gold item's codes.

    Counts from the collection the gold items come from (RKD's, for the RKD rows)
    include those very items; the evaluation takes them out so that a prior cannot
    repeat the answers it is scored on.
    """
    out = dict(counts)
    for item in gold:
        for code in item.codes:
            if code in out:
                out[code] = max(0.0, out[code] - 1.0)
    return out


def _by_source_id(store: TripleStore, gold: Sequence[GoldItem], query: str) -> Iterator[Any]:
    """Rows of ``query`` (its ``$ids``: the gold items' source ids) for every gold item, 500 ids a query."""
    identifiers = [item.source_id for item in gold if item.source_id]
    for start in range(0, len(identifiers), 500):
        yield from store.select(query, {"ids": [Literal(str(i)) for i in identifiers[start:start + 500]]})


def records_in_store(store: TripleStore, gold: Sequence[GoldItem]) -> frozenset[str]:
    """The stored artworks that are the gold items' own records (by ``schema:identifier``):
    they must not vote as neighbours for the answers they are scored on."""
    return frozenset(str(r["a"]) for r in _by_source_id(
        store, gold, "SELECT ?a WHERE { VALUES ?id { $ids } ?a a schema:VisualArtwork ; schema:identifier ?id }"))


def makers_in_store(store: TripleStore, gold: Sequence[GoldItem]) -> dict[str, tuple[str, ...]]:
    """The makers (``schema:creator`` IRIs) of the gold items' own records in the store, by the
    items' source ids: what a curator cataloguing the record knows besides its text."""
    makers: dict[str, set[str]] = {}
    for r in _by_source_id(store, gold, """SELECT ?id ?m WHERE { VALUES ?id { $ids }
            ?a a schema:VisualArtwork ; schema:identifier ?id ; schema:creator ?m }"""):
        makers.setdefault(r.text("id"), set()).add(str(r["m"]))
    return {key: tuple(sorted(value)) for key, value in makers.items()}


def format_table(rows: list[tuple[str, Scores]], ks: Sequence[int]) -> str:
    header = f"{'configuration':<34}" + "".join(f"{'R@' + str(k):>8}" for k in ks) + \
        "".join(f"{'branch@' + str(k):>11}" for k in ks) + f"{'MRR':>8}"
    lines = [header, "-" * len(header)]
    for name, s in rows:
        lines.append(f"{name:<34}" + "".join(f"{s.recall[k]:8.1f}" for k in ks) +
                     "".join(f"{s.branch[k]:11.1f}" for k in ks) + f"{s.mrr:8.1f}")
    lines.append(f"({rows[0][1].n if rows else 0} items)")
    return "\n".join(lines)
