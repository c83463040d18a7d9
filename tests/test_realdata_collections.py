"""The loaders on the real data in ../shared/data (skipped when it is absent)."""

from __future__ import annotations

import csv
import gzip
from itertools import islice
from pathlib import Path

import pytest
from kgart.loaders import load_collection, load_iconclass
from kgart.loaders.readers import split_codes

from kgart.rdf import graph_iri
from kgart.store import Store
from kgart.validation import validate_graph
from tests.conftest import shared_data

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


@pytest.fixture(scope="module")
def store() -> Store:
    s = Store()
    load_iconclass(s, data_dir=shared_data("iconclass-data"), languages=["en"])
    return s


def test_rkd_table_every_code_linked_or_reported(store: Store) -> None:
    path = shared_data("odor-rkd", "metadata.csv")
    report = load_collection(store, "rkd", path)
    with path.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if "rkd.nl/explore/images/" in r["Details URL"]]
    first = {}
    for r in rows:
        first.setdefault(r["Details URL"].strip().rsplit("/", 1)[-1], r)  # later duplicates are skipped
    codes = sum(len(split_codes(r["Iconclass code"])) for r in first.values())
    print("\n" + "\n".join(report.summary()))
    assert codes >= 200
    assert report.codes_linked + len(report.codes_rejected) == codes
    assert report.records == len(first)
    assert validate_graph(store, "rkd").conforms


def test_linked_art_and_artpedia(store: Store) -> None:
    report = load_collection(store, "linkedart", shared_data("linked-art-vgw", "examples"))
    print("\n" + "\n".join(report.summary()))
    assert report.notes["artworks described"] >= 1
    assert [w for w, _ in report.skipped] == ["ttl/dimensions.ttl"]  # invalid Turtle in the source data
    assert validate_graph(store, "linkedart").conforms
    report = load_collection(store, "artpedia", shared_data("artpedia-melart", "curated_annotations.json"))
    assert report.records == 100 and report.notes["sentences"] == 1076
    assert validate_graph(store, "artpedia").conforms


def test_full_tate_loads(tmp_path: Path) -> None:
    path = shared_data("tate", "artworks-original.jsonl.gz")
    store = Store(tmp_path / "store")
    report = load_collection(store, "tate", path)
    print("\n" + "\n".join(report.summary()))
    assert report.records == 67_202 and not report.skipped
    assert store.select("SELECT (COUNT(*) AS ?n) WHERE { ?a a schema:VisualArtwork }").rows[0]["n"].value == "67202"


def test_tate_sample_validates(tmp_path: Path) -> None:
    source = shared_data("tate", "artworks-original.jsonl.gz")
    sample = tmp_path / "tate" / "sample.jsonl"
    sample.parent.mkdir()
    with gzip.open(source, "rt", encoding="utf-8") as f:
        sample.write_text("".join(islice(f, 3000)), encoding="utf-8")
    (tmp_path / "tate" / "subjects").symlink_to(source.parent / "subjects")
    store = Store()
    load_collection(store, "tate", sample)
    result = validate_graph(store, "tate")
    assert result.conforms, result.violations[:5]
    assert store.count(graph_iri("tate")) > 30_000
