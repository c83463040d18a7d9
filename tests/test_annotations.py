"""Curators' decisions as Web Annotations: stored, checked, linked, counted at once, exported
and imported without loss, conforming to the SHACL shapes; and users' tokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import rdflib
from kgart.embeddings.job import embed
from kgart.embeddings.service import open_retriever
from kgart.loaders import load_collection, load_iconclass
from rdflib.compare import isomorphic

from kgart.annotations import AnnotationError, AnnotationNotFound, Annotations, Suggestion, classification
from kgart.notation import notation_iri
from kgart.oxigraph_adapter import parse_rdf, serialize_triples
from kgart.rdf import ANNOTATIONS_GRAPH, DCTERMS, IRI, KGART, OA, RDF, Literal
from kgart.store import Store
from kgart.users import Users
from kgart.validation import validate_graph
from tests.collection_fixtures import write_collections
from tests.iconclass_slice import write_iconclass_slice

ANN = IRI("https://w3id.org/kgart/users/ann")
BOB = IRI("https://w3id.org/kgart/users/bob")
JEROME = "https://w3id.org/kgart/artwork/rkd/193334"
CROWN = "https://w3id.org/kgart/artwork/rkd/198783"


def build_store(root: Path) -> Store:
    store = Store(root / "store")
    load_iconclass(store, data_dir=write_iconclass_slice(root / "ic"))
    files = write_collections(root / "in")
    load_collection(store, "rkd", files["rkd_json"])
    return store


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[Store]:
    s = build_store(tmp_path)
    yield s
    s.close()


def test_accepting_links_the_artwork_and_deleting_unlinks_it(store: Store) -> None:
    annotations = Annotations(store)
    before = annotations.version()
    iri = annotations.create(classification(CROWN, str(notation_iri("11HH")), status="accepted"), ANN)
    assert annotations.version() != before
    links = store.select("SELECT ?c WHERE { GRAPH $g { $a dcterms:subject ?c } }",
                         {"g": ANNOTATIONS_GRAPH, "a": IRI(CROWN)}).rows
    assert [str(r["c"]) for r in links] == [str(notation_iri("11HH"))]
    annotations.set_status(iri, "rejected", ANN)
    assert not store.ask("ASK { GRAPH $g { $a dcterms:subject ?c } }", {"g": ANNOTATIONS_GRAPH, "a": IRI(CROWN)})
    annotations.set_status(iri, "accepted", ANN)
    annotations.delete(iri)
    assert not store.ask("ASK { GRAPH $g { ?s ?p ?o FILTER(?p != kgart:version) } }", {"g": ANNOTATIONS_GRAPH})
    with pytest.raises(AnnotationNotFound):
        annotations.get(iri)


def test_the_server_names_every_part_and_keeps_creator_and_times(store: Store) -> None:
    annotations = Annotations(store)
    draft = classification(JEROME, str(notation_iri("11H(JEROME)")), region="xywh=10,20,300,400",
                           suggestion=Suggestion(2, 0.71, {"vector": 0.5, "prior": 0.21}, "minilm", "kgart/blend.toml"))
    draft += [(draft[0][0], DCTERMS.creator, BOB)]  # a client's creator does not count
    iri = annotations.create(draft, ANN)
    triples = annotations.get(iri)
    assert all(str(s) == iri or str(s).startswith(iri + "#") for s, _, _ in triples)
    assert [o for s, p, o in triples if p == DCTERMS.creator] == [ANN]
    assert (IRI(iri), KGART.reviewStatus, KGART.proposed) in triples
    first_created = next(o for s, p, o in triples if p == DCTERMS.created)
    annotations.set_status(iri, "accepted", BOB)
    again = annotations.get(iri)
    assert next(o for s, p, o in again if p == DCTERMS.created) == first_created
    assert [o for s, p, o in again if p == DCTERMS.creator] == [ANN]


@pytest.mark.parametrize("mutate, message", [
    (lambda t: [x for x in t if x[1] != OA.hasTarget], "needs a target"),
    (lambda t: [(s, p, IRI("https://w3id.org/kgart/artwork/rkd/nope") if p == OA.hasTarget else o) for s, p, o in t],
     "not in this store"),
    (lambda t: [(s, p, IRI("https://example.org/no-concept") if p == OA.hasSource else o) for s, p, o in t],
     "no concept"),
    (lambda t: [(s, p, IRI("http://iconclass.org/99ZZZ9") if p == OA.hasSource else o) for s, p, o in t],
     "99ZZZ9"),
    (lambda t: [x for x in t if x[2] != OA.Annotation], "exactly one oa:Annotation"),
    (lambda t: t + [(IRI(JEROME), DCTERMS.subject, notation_iri("11HH"))], "describes itself"),
    (lambda t: t + [(t[0][0], KGART.reviewStatus, KGART.accepted)], "reviewStatus"),
    (lambda t: t + [(t[0][0], DCTERMS.description, Literal("x" * 30_000))], "longer than"),
])
def test_bad_annotations_are_refused_and_nothing_is_stored(store: Store, mutate, message: str) -> None:  # noqa: ANN001
    annotations = Annotations(store)
    with pytest.raises(AnnotationError, match=message):
        annotations.create(mutate(classification(CROWN, str(notation_iri("11HH")))), ANN)
    assert annotations.count() == 0 and annotations.version() == ""


def test_key_and_named_forms_become_concepts_as_loaders_make_them(store: Store) -> None:
    annotations = Annotations(store)
    annotations.create(classification(JEROME, "http://iconclass.org/31D111(+89)", status="accepted"), ANN)
    decision, = annotations.decisions([JEROME])
    assert decision.concept == notation_iri("31D111(+89)")  # written as kgart writes Iconclass IRIs
    assert store.ask("ASK { $c a skos:Concept ; skos:broader ?b }", {"c": decision.concept})


def test_decisions_count_at_once_in_search_counts_and_neighbours(tmp_path: Path) -> None:
    from kgart.web.ld import artwork_counts

    store = build_store(tmp_path)
    embed(store, kinds=["iconclass", "artwork"])
    retriever = open_retriever(store)
    under = "11HH"
    assert CROWN not in retriever.annotated_with(under)
    assert artwork_counts(store, [notation_iri("11HH")]).get(str(notation_iri("11HH")), 0) == 0
    votes_before = retriever.neighbour_votes(retriever.query_vector(_query("crown of thorns")), "iconclass", 50)
    row = retriever.tree.row[str(notation_iri("11HH"))]
    assert votes_before is None or votes_before[row] == 0
    annotations = Annotations(store)
    annotations.create(classification(CROWN, str(notation_iri("11HH")), status="accepted"), ANN)
    # No reload, no re-index: the same retriever and store see the decision.
    assert CROWN in retriever.annotated_with(under)
    hits = retriever.search_items(_query(""), "artwork", under=under)
    assert [h.iri for h in hits] == [CROWN]
    assert artwork_counts(store, [notation_iri("11HH")])[str(notation_iri("11HH"))] == 1
    retriever.refresh_decisions()
    votes = retriever.neighbour_votes(retriever.query_vector(_query("crown of thorns")), "iconclass", 50)
    assert votes is not None and votes[row] > 0
    # A rejection counts against the code for similar artworks, and the code is not suggested again.
    annotations.create(classification(JEROME, str(notation_iri("11HH")), status="rejected"), BOB)
    retriever.refresh_decisions()
    assert str(notation_iri("11HH")) not in [h.iri for h in retriever.suggest_for(JEROME, k=50)]
    assert str(notation_iri("11HH")) in [h.iri for h in retriever.suggest_for(JEROME, k=50, include_rejected=True)]
    store.close()


def _query(text: str):  # noqa: ANN202
    from kgart.retrieval import Query

    return Query(text=text)


def test_export_import_round_trip_is_isomorphic_and_conforms(tmp_path: Path) -> None:
    first = build_store(tmp_path / "a")
    annotations = Annotations(first)
    a = annotations.create(classification(JEROME, "http://iconclass.org/11H(JEROME)", status="accepted",
                                          region="xywh=1,2,3,4",
                                          suggestion=Suggestion(1, 0.9, {"vector": 0.9}, "minilm", "kgart/blend.toml")),
                           ANN)
    annotations.create(classification(CROWN, str(notation_iri("11HH")), status="rejected"), BOB)
    annotations.create(classification(CROWN, "http://iconclass.org/73D82", status="proposed"), ANN)
    report = validate_graph(first, ANNOTATIONS_GRAPH)
    assert report.conforms, report.violations
    _, turtle = serialize_triples(annotations.export(), "text/turtle")
    second = build_store(tmp_path / "b")
    assert Annotations(second).import_triples(list(parse_rdf(turtle, "text/turtle"))) == 3
    assert isomorphic(_graph(annotations.export()), _graph(Annotations(second).export()))
    assert set(Annotations(second).get(a)) == set(annotations.get(a))
    accepted_only = Annotations(first).export(status="accepted")
    assert {str(s).split("#")[0] for s, p, o in accepted_only if p == RDF.type and o == OA.Annotation} == {a}
    # A broken import (one annotation names a target this store lacks) writes nothing.
    third = Store()
    load_iconclass(third, data_dir=write_iconclass_slice(tmp_path / "ic3"))
    with pytest.raises(AnnotationError, match="not in this store"):
        Annotations(third).import_triples(list(parse_rdf(turtle, "text/turtle")))
    assert Annotations(third).count() == 0
    first.close()
    second.close()


def _graph(triples: list) -> rdflib.Graph:  # noqa: ANN001
    _, data = serialize_triples(triples, "application/n-triples")
    return rdflib.Graph().parse(data=data.decode(), format="nt")


def test_users_tokens_are_hashed_and_checked(tmp_path: Path) -> None:
    users = Users(tmp_path / "users.json")
    assert not users.configured
    token = users.add("ann")
    editor_token = users.add("ed", editor=True)
    text = (tmp_path / "users.json").read_text()
    assert token not in text and editor_token not in text
    assert oct((tmp_path / "users.json").stat().st_mode & 0o777) == "0o600"
    again = Users(tmp_path / "users.json")  # another process (a server) reads the same file
    assert again.by_token(token).name == "ann" and again.by_token(editor_token).editor
    assert again.by_token("nope") is None and again.login("ed", token) is None
    with pytest.raises(Exception, match="already"):
        users.add("ann")
    with pytest.raises(Exception, match="user name"):
        users.add("../x")
    assert users.remove("ann") and again.by_token(token) is None


def test_the_api_leaves_out_rejected_codes_for_a_stored_artwork(tmp_path: Path) -> None:
    from kgart.web import create_app

    from kgart.settings import load_config

    store = build_store(tmp_path)
    embed(store, kinds=["iconclass", "artwork"])
    client = create_app(load_config({"store": str(tmp_path / "store")}, env={}), store=store,
                        users=Users(None)).test_client()
    def suggested() -> list[str]:
        answer = client.get("/api/suggest", query_string={"iri": JEROME, "k": 5}).get_json()
        return [c["notation"] for c in answer["codes"]]

    top = suggested()[0]
    Annotations(store).create(classification(JEROME, str(notation_iri(top)), status="rejected"), ANN)
    assert top not in suggested()
    asked = client.get("/api/suggest", query_string={"iri": JEROME, "k": 5, "include_rejected": "1"}).get_json()
    assert top in [c["notation"] for c in asked["codes"]]
    assert client.get("/api/suggest", query_string={"iri": "not an iri"}).status_code == 400
    store.close()
