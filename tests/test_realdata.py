"""Checks on the real data in ../shared/data (skipped when it is absent)."""

from __future__ import annotations

import csv
from collections import Counter

import pytest
from kgart.loaders import load_iconclass

from kgart.iconclass import Iconclass
from kgart.store import Store
from tests.conftest import shared_data

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

USAGE_FILES = ["rijksmuseum-counts.csv", "rkd-counts.csv", "arkyves-counts.csv", "staedel-counts.csv"]
REQUIRED_SHARE = {"rijksmuseum-counts.csv": 0.99, "rkd-counts.csv": 0.99}


@pytest.fixture(scope="module")
def full_iconclass() -> Iconclass:
    data_dir = shared_data("iconclass-data")
    store = Store()
    load_iconclass(store, data_dir=data_dir)
    return Iconclass(store)


def resolution_share(ic: Iconclass, notations: list[str]) -> tuple[float, Counter[str]]:
    failures: Counter[str] = Counter()
    for text in notations:
        resolved, reason, _ = ic.try_resolve(text, lenient=True)
        if resolved is None:
            assert reason, f"{text!r} was rejected without a reason"
            failures[reason.split(" (the closest")[0][:70]] += 1
    return 1 - sum(failures.values()) / len(notations), failures


@pytest.mark.parametrize("name", USAGE_FILES)
def test_usage_count_notations_resolve(full_iconclass: Iconclass, name: str) -> None:
    path = shared_data("iconclass-usage-counts", name)
    with path.open(encoding="utf-8") as f:
        notations = [row["notation"] for row in csv.DictReader(f)]
    share, failures = resolution_share(full_iconclass, notations)
    print(f"\n{name}: {share:.2%} of {len(notations):,} notations resolve; "
          f"top reasons for the rest: {failures.most_common(5)}")
    assert share >= REQUIRED_SHARE.get(name, 0.0)


def saints_notations() -> list[tuple[str, list[str]]]:
    folder = shared_data("saints-wikidata")
    out = []
    for path in sorted(folder.glob("*.csv")):
        with path.open(encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        column = "ID" if "ID" in rows[0] else "iconclass"
        out.append((path.name, [r[column].strip() for r in rows if r[column].strip()]))
    return out


def test_saints_notations_resolve(full_iconclass: Iconclass) -> None:
    for name, notations in saints_notations():
        share, failures = resolution_share(full_iconclass, notations)
        print(f"\n{name}: {share:.2%} of {len(notations):,} resolve; {failures.most_common(3)}")
        # 11F(MARY) is a form these lists invent: 11F has no (...) template in Iconclass.
        assert share >= 0.85


def test_acceptance_labels(full_iconclass: Iconclass) -> None:
    assert full_iconclass.label("11H(JEROME)362", "de").text == \
        "der hl. Hieronymus als Büßer in seinem Studierzimmer"
    assert full_iconclass.label("11A", "nl").text == "Goddelijkheid, God (algemeen)"
    stats = full_iconclass.statistics()
    assert stats.concepts > 40_000 and len(stats.labels) == 13


def test_descendants_of_73d(full_iconclass: Iconclass) -> None:
    # Below 73D the tree follows the notation prefix: every 73D… record is a descendant.
    records = shared_data("iconclass-data", "notations.txt").read_text(encoding="utf-8")
    expected = {line[2:] for line in records.splitlines() if line.startswith("N 73D") and line != "N 73D"}
    below = full_iconclass.descendants("73D")
    assert set(below) == expected
    sparql = full_iconclass.store.select("SELECT (COUNT(?c) AS ?n) WHERE { ?c skos:broader+ ic:73D }")
    assert int(sparql.rows[0]["n"].value) == len(expected)
