"""Collection loaders on small fixtures in each source's real format."""

from __future__ import annotations

from pathlib import Path

import pytest
from kgart.loaders import LoadReport, load_collection, load_iconclass

from kgart.errors import DataSourceError
from kgart.rdf import graph_iri
from kgart.store import Store
from kgart.validation import validate_graph
from tests.collection_fixtures import LINKED_ART_OBJECT, write_collections


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_collections(tmp_path_factory.mktemp("collections"))


@pytest.fixture()
def store(slice_dir: Path) -> Store:
    s = Store()
    load_iconclass(s, data_dir=slice_dir)
    return s


def values(store: Store, graph: str, subject: str, predicate: str) -> set[str]:
    rows = store.select(f"SELECT ?o WHERE {{ GRAPH <{graph_iri(graph)}> {{ <{subject}> {predicate} ?o }} }}")
    return {str(getattr(r["o"], "value", r["o"])) for r in rows}


def tagged(store: Store, graph: str, subject: str, predicate: str) -> set[tuple[str, str | None]]:
    rows = store.select(f"SELECT ?o WHERE {{ GRAPH <{graph_iri(graph)}> {{ <{subject}> {predicate} ?o }} }}")
    return {(r["o"].value, r["o"].language) for r in rows}


RKD1 = "https://w3id.org/kgart/artwork/rkd/193334"


def test_rkd_solr_json(store: Store, files: dict[str, Path]) -> None:
    report = load_collection(store, "rkd", files["rkd_json"])
    assert report.records == 2
    assert report.skipped == [("rkd-search.json#docs[2]", "missing required field 'priref'")]
    assert tagged(store, "rkd", RKD1, "schema:name") == {
        ("Boetvaardige Hiëronymus in zijn studeervertrek", "nl"), ("Penitent St Jerome in his study", "en")}
    assert values(store, "rkd", RKD1, "dcterms:subject") == {
        "http://iconclass.org/11H%28JEROME%29362", "http://iconclass.org/31D111%28%2B89%29"}
    assert values(store, "rkd", RKD1, "kgart:earliestYear") == {"1525"}  # inverted range swapped
    assert values(store, "rkd", RKD1, "schema:image") == {
        "https://images.rkd.nl/rkd/thumb/650x650/35c056b4-46f7-5e3a-6419-2cf541cacd93.jpg"}
    assert values(store, "rkd", RKD1, "prov:wasDerivedFrom") == {"https://rkd.nl/explore/images/193334"}
    rejected = [(c, r.split(" (")[0]) for _, c, r in report.codes_rejected]
    assert rejected == [("99Z9", "notation 99Z9 is not in Iconclass")]
    assert report.codes_repaired == [("rkd-search.json#docs[1]", "73D82  (CROWN OF THORNS)", "73D82(CROWN OF THORNS)")]
    # the key notation is materialized, with its label and its link to the base
    key = "http://iconclass.org/31D111%28%2B89%29"
    assert values(store, "rkd", key, "skos:broader") == {"http://iconclass.org/31D111%28%2B8%29"}
    assert values(store, "rkd", key, "skos:prefLabel") == {"infant, baby ~ the ages of man (+ nude human being)"}
    assert report.notes["dates inverted and swapped"] == 1


def test_rkd_table(store: Store, files: dict[str, Path]) -> None:
    report = load_collection(store, "rkd", files["rkd_csv"])
    assert report.records == 3
    reasons = [r for _, r in report.skipped]
    assert reasons[0].startswith("not an RKD record") and reasons[1].startswith("duplicate id '61636'")
    assert report.notes["records without a title (loaded untitled)"] == 1
    b = "https://w3id.org/kgart/artwork/rkd/61636"
    assert values(store, "rkd", b, "dcterms:subject") == {"http://iconclass.org/11H%28JEROME%29362"}
    assert ("metadata.csv:3", "73D99") == report.codes_rejected[0][:2]
    assert values(store, "rkd", b, "schema:creator/schema:name") == {"Meester"}
    assert values(store, "rkd", "https://w3id.org/kgart/artwork/rkd/198783", "schema:keywords") == {
        "genre", "small child", "cradle"}


def test_reload_is_idempotent(store: Store, files: dict[str, Path]) -> None:
    first = load_collection(store, "rkd", files["rkd_csv"])
    count = store.count(graph_iri("rkd"))
    second = load_collection(store, "rkd", files["rkd_csv"])
    assert store.count(graph_iri("rkd")) == count
    assert (first.records, first.triples) == (second.records, second.triples)


def test_tate_jsonl_and_folder_agree(store: Store, files: dict[str, Path]) -> None:
    report = load_collection(store, "tate", files["tate"])
    assert report.records == 2 and report.notes["Tate subject concepts"] == 10
    a = "https://w3id.org/kgart/artwork/tate/A00001"
    assert values(store, "tate", a, "dcterms:subject/skos:prefLabel") == {"man", "man, old", "blessing"}
    assert values(store, "tate", a, "dcterms:subject/skos:broader/skos:broader/skos:prefLabel") == {
        "people", "religion and belief"}
    assert values(store, "tate", "https://w3id.org/kgart/artwork/tate/N01234", "kgart:latestYear") == {"1845"}
    via_jsonl = store.count(graph_iri("tate"))
    report = load_collection(store, "tate", files["tate_folder"], graph="tate2")
    assert report.records == 2 and store.count(graph_iri("tate2")) == via_jsonl


def test_artpedia_and_melart(store: Store, files: dict[str, Path]) -> None:
    report = load_collection(store, "artpedia", files["artpedia"])
    assert report.records == 2 and report.notes["sentences"] == 4
    rows = store.select("""SELECT ?type ?pos ?text WHERE { ?s a kgart:Sentence ; kgart:sentenceType ?type ;
        schema:position ?pos ; schema:text ?text ; schema:about <https://w3id.org/kgart/artwork/artpedia/0> }
        ORDER BY ?pos""")
    assert [(r["type"].value, r["pos"].value) for r in rows] == [("visual", "1"), ("visual", "2"), ("contextual", "3")]
    report = load_collection(store, "artpedia", files["melart"], graph="melart")
    assert report.records == 1
    assert store.ask("ASK { ?s schema:mentions <http://www.wikidata.org/entity/Q302> ; kgart:sentenceType 'visual' }")
    assert store.ask("ASK { <https://w3id.org/kgart/artwork/artpedia/Q3207989> owl:sameAs "
                     "<http://www.wikidata.org/entity/Q3207989> }")


def test_linked_art(store: Store, files: dict[str, Path]) -> None:
    report = load_collection(store, "linkedart", files["linkedart"])
    assert report.records == 2 and report.notes["artworks described"] == 2
    assert report.notes["duplicate JSON keys merged"] == 1
    assert tagged(store, "linkedart", LINKED_ART_OBJECT, "schema:name") == {
        ("View of the Sea", "en"), ("Zeezicht", "nl")}
    assert values(store, "linkedart", LINKED_ART_OBJECT, "schema:identifier") == {"F21"}
    assert values(store, "linkedart", LINKED_ART_OBJECT, "dcterms:subject") == {
        "http://vocab.getty.edu/aat/300117546", "http://iconclass.org/73D82%28CROWN%20OF%20THORNS%29"}
    assert values(store, "linkedart", LINKED_ART_OBJECT, "schema:creator/schema:name") == {"Gogh, Vincent van"}
    # CIDOC-CRM triples are kept
    assert store.ask(f"ASK {{ <{LINKED_ART_OBJECT}> <http://www.cidoc-crm.org/cidoc-crm/P1_is_identified_by> ?n }}")
    assert tagged(store, "linkedart", "http://example.org/museum/artwork/2", "schema:name") == {
        ("Sorrowing old man", "en")}


def test_generic_csv_and_jsonl(store: Store, files: dict[str, Path]) -> None:
    report = load_collection(store, "csv", files["generic_csv"], mapping=files["generic_mapping"], graph="mymuseum")
    assert report.records == 2
    assert report.skipped[0][1].startswith("missing required field 'Inventory'")
    a = "https://w3id.org/kgart/artwork/mymuseum/INV-1"
    assert values(store, "mymuseum", a, "kgart:earliestYear") == {"1600"}
    assert values(store, "mymuseum", a, "kgart:latestYear") == {"1620"}
    assert values(store, "mymuseum", a, "dcterms:subject") == {"http://iconclass.org/11H%28JEROME%29362"}
    assert [c for _, c, _ in report.codes_rejected] == ["25F23(LION)"]
    report = load_collection(store, "csv", files["generic_jsonl"], mapping=files["generic_mapping"], graph="mymuseum")
    assert report.records == 2
    assert [r for _, r in report.skipped][1].startswith("malformed JSON")


def test_artuk_default_mapping(store: Store, files: dict[str, Path]) -> None:
    report = load_collection(store, "artuk", files["artuk"])
    assert report.records == 1
    assert report.skipped[0][1].startswith("field 'image_url' is not an http(s) URL")
    a = "https://w3id.org/kgart/artwork/artuk/NG524"
    assert values(store, "artuk", a, "kgart:collection") == {"The National Gallery"}


def test_any_rdf(store: Store, files: dict[str, Path]) -> None:
    report = load_collection(store, "rdf", files["turtle"], graph="extra")
    assert report.triples == 4
    report = load_collection(store, "rdf", files["nquads"], graph="extra")
    assert store.count(graph_iri("extra")) == 2  # replaced; quads' own graph names folded into one


@pytest.mark.parametrize("kind, key, graph", [
    ("rkd", "rkd_json", "rkd"), ("rkd", "rkd_csv", "rkd"), ("tate", "tate", "tate"),
    ("artpedia", "artpedia", "artpedia"), ("artpedia", "melart", "artpedia"),
    ("linkedart", "linkedart", "linkedart"), ("artuk", "artuk", "artuk"),
])
def test_shacl_validation_passes(store: Store, files: dict[str, Path], kind: str, key: str, graph: str) -> None:
    load_collection(store, kind, files[key])
    result = validate_graph(store, graph)
    assert result.conforms, result.violations


def test_shacl_catches_a_broken_graph(store: Store) -> None:
    store.update("""INSERT DATA { GRAPH <https://w3id.org/kgart/graph/broken> {
        <https://example.org/a> a schema:VisualArtwork ; schema:identifier "a" ;
            kgart:earliestYear 1900 ; kgart:latestYear 1800 ; schema:image "not an IRI" } }""")
    result = validate_graph(store, "broken")
    assert not result.conforms and len(result.violations) == 2


def test_codes_need_iconclass(files: dict[str, Path]) -> None:
    with pytest.raises(DataSourceError, match="load Iconclass first"):
        load_collection(Store(), "rkd", files["rkd_csv"])


def test_collection_subsumption_query(store: Store, files: dict[str, Path]) -> None:
    """Artworks annotated with 73D or anything below it, across sources."""
    load_collection(store, "rkd", files["rkd_json"])
    load_collection(store, "linkedart", files["linkedart"])
    rows = store.select("""SELECT DISTINCT ?artwork ?code WHERE {
        ?artwork a schema:VisualArtwork ; dcterms:subject ?c . ?c skos:notation ?code .
        ?c skos:broader* ic:73D } ORDER BY ?artwork""")
    assert [str(r["artwork"]) for r in rows] == [LINKED_ART_OBJECT, "https://w3id.org/kgart/artwork/rkd/198783"]


def test_report_summary(store: Store, files: dict[str, Path]) -> None:
    report: LoadReport = load_collection(store, "rkd", files["rkd_csv"])
    text = "\n".join(report.summary())
    assert "3 records" in text and "records skipped" in text and "codes rejected" in text
