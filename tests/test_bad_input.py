"""Bad input: one clear error naming file, line or record; nothing half-loaded; no crash."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kgart.loaders import load_collection, load_iconclass
from kgart.loaders.collection import LoadReport, RecordError

from kgart.errors import DataSourceError, KgartError
from kgart.rdf import graph_iri
from kgart.store import Store
from tests.collection_fixtures import ARTPEDIA, MELART, RKD_SOLR, TATE_RECORDS, write_collections


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_collections(tmp_path_factory.mktemp("collections"))


@pytest.fixture(scope="module")
def base_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    from tests.iconclass_slice import write_iconclass_slice

    s = Store()
    load_iconclass(s, data_dir=write_iconclass_slice(tmp_path_factory.mktemp("ic")))
    return s


@pytest.fixture()
def store(base_store: Store, files: dict[str, Path]) -> Store:
    load_collection(base_store, "rkd", files["rkd_json"])
    return base_store


def rkd_count(store: Store) -> int:
    return store.count(graph_iri("rkd"))


@pytest.mark.parametrize("content, message", [
    (b'{"response": {"docs": [ {"priref": "1",,} ]}}', r"bad\.json:1: malformed JSON"),
    (b'{"response": {"docs":\n[\n{"priref": \xff}]}}', r"bad\.json:3: not UTF-8"),
    (b'{"something": "else"}', r"bad\.json: not an RKD API response"),
    (b"", r"bad\.json:1: malformed JSON"),
])
def test_malformed_json_fails_whole_and_keeps_graph(store: Store, tmp_path: Path, content: bytes, message: str) -> None:
    before = rkd_count(store)
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    with pytest.raises(DataSourceError, match=message):
        load_collection(store, "rkd", bad)
    assert rkd_count(store) == before


def test_csv_errors_name_the_line(store: Store, tmp_path: Path, files: dict[str, Path]) -> None:
    before = rkd_count(store)
    text = files["rkd_csv"].read_bytes()
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(text + "ArtHist,x.jpg,Caf\u00e9,T,1,2,p,,https://rkd.nl/explore/images/9,,,,\n".encode("latin-1"))
    with pytest.raises(DataSourceError, match=r"latin1\.csv:7: not UTF-8"):
        load_collection(store, "rkd", latin1)
    nocolumn = tmp_path / "nocol.csv"
    nocolumn.write_text("Title,Artist\nA,B\n", encoding="utf-8")
    with pytest.raises(DataSourceError, match="no 'Details URL' column"):
        load_collection(store, "rkd", nocolumn)
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(DataSourceError, match="empty"):
        load_collection(store, "rkd", empty)
    assert rkd_count(store) == before


def test_strict_stops_at_the_first_bad_record(store: Store, files: dict[str, Path]) -> None:
    before = rkd_count(store)
    with pytest.raises(DataSourceError, match=r"rkd-search\.json#docs\[2\]: missing required field 'priref'"):
        load_collection(store, "rkd", files["rkd_json"], strict=True)
    assert rkd_count(store) == before


def test_truncated_gzip(store: Store, tmp_path: Path, files: dict[str, Path]) -> None:
    data = files["tate"].read_bytes()
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataSourceError, match=r"cut\.jsonl\.gz.*truncated or corrupt"):
        load_collection(store, "tate", cut)


def test_absurd_field_is_refused_per_record(store: Store, tmp_path: Path) -> None:
    records = [dict(TATE_RECORDS[0]), dict(TATE_RECORDS[1])]
    records[0]["title"] = "x" * 200_000
    path = tmp_path / "big.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    report = load_collection(store, "tate", path, graph="big")
    assert report.records == 1 and "200,000 characters" in report.skipped[0][1]


def test_unknown_kind_and_missing_file(store: Store, tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match="unknown source kind 'nope'"):
        load_collection(store, "nope", tmp_path)
    with pytest.raises(DataSourceError, match="no such file"):
        load_collection(store, "tate", tmp_path / "missing.jsonl")


def test_mapping_errors(store: Store, tmp_path: Path, files: dict[str, Path]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('id = "Inventory"\ntitel = "Title"\n', encoding="utf-8")
    with pytest.raises(DataSourceError, match="unknown mapping key\\(s\\) titel"):
        load_collection(store, "csv", files["generic_csv"], mapping=bad)
    bad.write_text('id = "Nope"\n', encoding="utf-8")
    with pytest.raises(DataSourceError, match="missing: Nope"):
        load_collection(store, "csv", files["generic_csv"], mapping=bad)
    with pytest.raises(DataSourceError, match="a --mapping file is needed"):
        load_collection(store, "csv", files["generic_csv"])


def test_broken_rdf(store: Store, tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text("<a> <b> .\n", encoding="utf-8")
    with pytest.raises(DataSourceError, match=r"bad\.ttl: not valid Turtle"):
        load_collection(store, "rdf", bad)
    unknown = tmp_path / "data.xyz"
    unknown.write_text("x")
    with pytest.raises(DataSourceError, match="unknown RDF file type"):
        load_collection(store, "rdf", unknown)


# -- property-based: random and mutated records never crash a loader ---------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=12)


def mutate(record: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    out = dict(record)
    for key in data.draw(st.lists(st.sampled_from(sorted(record)), max_size=3)):
        out[key] = data.draw(json_values)
    for key in data.draw(st.lists(st.sampled_from(sorted(record)), max_size=2)):
        out.pop(key, None)
    return out


def run_one(store: Store, kind: str, path: Path) -> None:
    try:
        load_collection(store, kind, path, graph="fuzz")
    except KgartError:
        pass  # a documented, clear error


# KGART_FUZZ_EXAMPLES=500 for a longer hunt than the suite's default.
SETTINGS = settings(max_examples=int(os.environ.get("KGART_FUZZ_EXAMPLES", "40")), deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(st.data())
def test_rkd_docs_fuzz(base_store: Store, tmp_path: Path, data: st.DataObject) -> None:
    docs = [mutate(doc, data) for doc in RKD_SOLR["response"]["docs"]] + [data.draw(json_values)]
    path = tmp_path / "fuzz.json"
    path.write_text(json.dumps({"response": {"docs": docs}}), encoding="utf-8")
    run_one(base_store, "rkd", path)


@SETTINGS
@given(st.data())
def test_tate_records_fuzz(base_store: Store, tmp_path: Path, data: st.DataObject) -> None:
    lines = [json.dumps(mutate(r, data)) for r in TATE_RECORDS] + [json.dumps(data.draw(json_values))]
    lines.append(data.draw(st.text(max_size=40)).replace("\n", " "))
    path = tmp_path / "fuzz.jsonl.gz"
    path.write_bytes(gzip.compress("\n".join(lines).encode()))
    run_one(base_store, "tate", path)


@SETTINGS
@given(st.data())
def test_artpedia_fuzz(base_store: Store, tmp_path: Path, data: st.DataObject) -> None:
    document = {k: mutate(v, data) for k, v in ARTPEDIA.items()}
    document["Q1"] = data.draw(json_values)
    document.update({k: [mutate(s, data) for s in v] for k, v in MELART.items()})
    path = tmp_path / "fuzz.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    run_one(base_store, "artpedia", path)


@SETTINGS
@given(st.lists(st.lists(st.text(max_size=20), max_size=14), max_size=5))
def test_csv_rows_fuzz(base_store: Store, tmp_path: Path, rows: list[list[str]]) -> None:
    from tests.collection_fixtures import RKD_COLUMNS, write_csv

    path = write_csv(tmp_path / "fuzz.csv", RKD_COLUMNS, rows)
    run_one(base_store, "rkd", path)


@SETTINGS
@given(st.binary(max_size=300))
def test_random_bytes_fuzz(base_store: Store, tmp_path: Path, blob: bytes) -> None:
    for kind, name in (("rkd", "x.json"), ("tate", "x.jsonl"), ("artpedia", "x.json"), ("rdf", "x.ttl"),
                       ("linkedart", "x.jsonld")):
        path = tmp_path / name
        path.write_bytes(blob)
        run_one(base_store, kind, path)


def test_record_error_is_a_kgart_error() -> None:
    assert issubclass(RecordError, KgartError) and issubclass(DataSourceError, KgartError)
    assert LoadReport("x", "g").summary()[0].startswith("x → graph g")


@SETTINGS
@given(st.lists(json_values, max_size=4), st.data())
def test_generic_jsonl_fuzz(base_store: Store, tmp_path: Path, extra: list[object], data: st.DataObject) -> None:
    from tests.collection_fixtures import GENERIC_COLUMNS, GENERIC_MAPPING, GENERIC_ROWS

    mapping = tmp_path / "mapping.toml"
    mapping.write_text(GENERIC_MAPPING, encoding="utf-8")
    rows = [mutate(dict(zip(GENERIC_COLUMNS, row, strict=True)), data) for row in GENERIC_ROWS]
    path = tmp_path / "fuzz.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [*rows, *extra]) + "\n", encoding="utf-8")
    try:
        load_collection(base_store, "csv", path, mapping=mapping, graph="fuzz")
    except KgartError:
        pass
