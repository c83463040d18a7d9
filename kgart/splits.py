"""Held-out records: the one split mechanism that training and evaluation share.

``kgart eval split`` chooses records to hold out (every second row of a table, or a seeded
random sample) and writes them as gold JSON Lines; ``kgart train`` leaves every record in
such a file out of its training data and stores the identifiers of the records it did
train on with the model; ``kgart eval suggest`` scores the file and refuses records that
the model or ranker in use was trained on. A record is known by its identifier in its
source (RKD number, Tate acno: ``schema:identifier`` in the store, ``source_id`` in gold).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from kgart.errors import KgartError
from kgart.evaluation import GoldItem


class LeakError(KgartError):
    """An evaluation would score records that a trained model or ranker learned from."""


def every_second(items: Sequence[GoldItem], half: int) -> list[GoldItem]:
    """Half 1: the 1st, 3rd, … item; half 2: the others (the halves `--half` has always meant).

    >>> [i.id for i in every_second([GoldItem(str(n), "", "", ("1",)) for n in range(5)], 2)]
    ['1', '3']
    """
    if half not in (1, 2):
        raise KgartError(f"half is 1 or 2, not {half}")
    return list(items[half - 1::2])


def seeded_sample(items: Sequence[GoldItem], size: int, seed: int) -> list[GoldItem]:
    """``size`` items drawn at random with ``seed`` (all of them when fewer), in their original order."""
    chosen = set(random.Random(seed).sample(range(len(items)), min(size, len(items))))
    return [item for i, item in enumerate(items) if i in chosen]


def write_split(path: str | Path, items: Iterable[GoldItem], *, scheme: str, how: str, seed: int | None) -> int:
    """Write held-out items as gold JSON Lines (readable by ``kgart eval suggest --input``)."""
    count = 0
    with open(path, "w", encoding="utf-8") as f:
        for item in items:
            row = {**asdict(item), "codes": list(item.codes), "scheme": scheme, "split": how, "seed": seed}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


@dataclass(frozen=True)
class TrainedOn:
    """The records a model or ranker learned from (their source identifiers), as stored with it."""

    name: str
    records: frozenset[str]
    held_out: frozenset[str]
    seed: int | None = None
    # Records the encoder kept out so that a ranker can learn the blend over its vectors from
    # records they were not fitted on (a ranker fitted on the encoder's own training records
    # trusts the vectors far more than unseen records warrant).
    for_ranker: frozenset[str] = frozenset()

    def overlap(self, gold: Iterable[GoldItem]) -> list[GoldItem]:
        """The gold items this model was trained on (by their source identifier)."""
        return [item for item in gold if item.source_id and item.source_id in self.records]

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "seed": self.seed, "trained_on": sorted(self.records),
                "held_out": sorted(self.held_out), "kept_for_ranker": sorted(self.for_ranker)}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> TrainedOn:
        return cls(str(data.get("name", "")), frozenset(map(str, data.get("trained_on") or [])),  # type: ignore[call-overload]
                   frozenset(map(str, data.get("held_out") or [])),  # type: ignore[call-overload]
                   data.get("seed") if isinstance(data.get("seed"), int) else None,  # type: ignore[arg-type]
                   frozenset(map(str, data.get("kept_for_ranker") or [])))  # type: ignore[call-overload]


RANKER_MIN_RECORDS = 30  # a scheme with fewer coded records keeps the hand-set blend


def ranker_share(records: int, wanted: int) -> int:
    """How many of a scheme's ``records`` coded records an encoder keeps out for a ranker: up to
    ``wanted`` and a tenth of them, none where that tenth is too few to learn a blend from."""
    share = min(wanted, records // 10)
    return share if share >= RANKER_MIN_RECORDS else 0


def refuse_leaks(gold: Sequence[GoldItem], trained: Iterable[TrainedOn]) -> None:
    """Raise :class:`LeakError` when any gold item was training data for any of ``trained``."""
    for model in trained:
        seen = model.overlap(gold)
        if seen:
            examples = ", ".join(item.source_id for item in seen[:5])
            raise LeakError(f"{len(seen)} of the {len(gold)} records to score were training data for {model.name} "
                            f"(e.g. {examples}): its figures on them would be its own answers. Score records it "
                            "held out (the file given to kgart train --hold-out), or leave the model out.")
