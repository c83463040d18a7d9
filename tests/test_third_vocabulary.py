"""Any SKOS scheme is a kind of its own (kgart.kinds): a vocabulary written for the tests
(Turtle, broader/narrower, labels in English and Dutch) works end to end — load, embed,
search, suggest, browse, priors and neighbours — beside Iconclass, with no code of its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kgart.cli import main

DATA = Path(__file__).parent / "data"


def invoke(runner: CliRunner, store: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(main, ["--store", str(store), *args], catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def marine_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.iconclass_slice import write_iconclass_slice

    root = tmp_path_factory.mktemp("marine")
    store = root / "store"
    runner = CliRunner()
    for args in (["load", "iconclass", "--data-dir", str(write_iconclass_slice(root / "ic"))],
                 ["load", "skos", str(DATA / "marine-vocabulary.ttl")],
                 ["load", "rdf", str(DATA / "marine-artworks.ttl"), "--graph", "harbour-museum"],
                 ["embed", "--kind", "marine", "--kind", "artwork", "--kind", "iconclass"]):
        code, out = invoke(runner, store, *args)
        assert code == 0, out
    return store


def test_load_skos_names_the_scheme_and_refuses_a_file_without_one(tmp_path: Path) -> None:
    runner = CliRunner()
    code, out = invoke(runner, tmp_path / "s", "load", "skos", str(DATA / "marine-vocabulary.ttl"))
    assert code == 0 and "concept schemes" in out, out
    code, out = invoke(runner, tmp_path / "s", "load", "skos", str(DATA / "marine-artworks.ttl"))
    assert code != 0 and "no skos:ConceptScheme" in out


def test_embed_search_and_suggest_in_the_third_scheme(marine_store: Path) -> None:
    runner = CliRunner()
    code, out = invoke(runner, marine_store, "stats")
    assert code == 0 and "marine           https://example.org/marine/scheme" in out
    code, out = invoke(runner, marine_store, "search", "a ship in a storm", "--scheme", "marine", "--k", "3",
                       "--format", "json")
    assert code == 0, out
    hits = json.loads(out)
    assert {h["notation"] for h in hits} & {"M1.1", "M2.1"}
    assert all(h["iri"].startswith("https://example.org/marine/") for h in hits)
    code, out = invoke(runner, marine_store, "suggest", "--title", "Frigate in a tempest", "--scheme", "marine",
                       "--format", "jsonl", "--k", "2")
    assert code == 0, out
    assert json.loads(out)["codes"][0]["notation"] in ("M1.1", "M2.1")
    # The scheme by its IRI works as well as by its name; under= keeps a branch.
    code, out = invoke(runner, marine_store, "search", "boat", "--scheme", "https://example.org/marine/scheme",
                       "--under", "M2", "--format", "json")
    assert code == 0 and {h["notation"] for h in json.loads(out)} <= {"M2", "M2.1", "M2.2"}
    code, out = invoke(runner, marine_store, "suggest", "--title", "x", "--scheme", "nope")
    assert code != 0 and "unknown scheme 'nope'" in out and "marine" in out


def test_priors_and_neighbours_work_for_the_third_scheme(marine_store: Path) -> None:
    from kgart.embeddings.service import open_retriever

    from kgart.retrieval import Query
    from kgart.store import Store

    with Store(marine_store) as store:
        retriever = open_retriever(store)
        prior = retriever.prior("marine")
        assert prior is not None and prior.max() == pytest.approx(1.0)
        hits = retriever.search_concepts(Query(title="A frigate in a gale"), k=3, scheme="marine")
        assert hits[0].components["neighbours"] > 0  # the catalogued frigate votes for its codes


def test_browse_the_third_scheme(marine_store: Path) -> None:
    from kgart.web import create_app

    from kgart.settings import load_config
    from kgart.store import Store

    with Store(marine_store) as store:
        client = create_app(load_config({"store": str(marine_store)}, env={}), store=store).test_client()
        listing = client.get("/scheme/")
        assert listing.status_code == 200 and b"/scheme/marine" in listing.data
        top = client.get("/scheme/marine")
        assert top.status_code == 200 and b"ships" in top.data and b"the sea" in top.data
        dutch = client.get("/scheme/marine", query_string={"concept": "https://example.org/marine/sea",
                                                           "lang": "nl"})
        assert dutch.status_code == 200 and b"storm op zee" in dutch.data and b"windstilte" in dutch.data
        assert b"(1 artwork)" in dutch.data and b"The harbour on a still morning" in dutch.data
        api = client.get("/api/suggest", query_string={"title": "rowing boat", "scheme": "marine", "k": "1"})
        assert api.status_code == 200 and api.get_json()["codes"][0]["notation"] == "M1.2"
        enum = client.get("/api/openapi.json").get_json()
        scheme_param = next(p for p in enum["paths"]["/api/suggest"]["get"]["parameters"] if p["name"] == "scheme")
        assert "marine" in scheme_param["schema"]["enum"]
        assert client.get("/scheme/nope").status_code == 404
        assert client.get("/scheme/marine", query_string={"concept": "x y"}).status_code == 400
