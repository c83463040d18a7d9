"""The web app: SPARQL protocol matrix, linked data with content negotiation, JSON API, errors;
then real clients (SPARQLWrapper, rdflib's SPARQLStore) against a real waitress server."""

from __future__ import annotations

import gzip
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from kgart.embeddings.job import embed
from kgart.loaders import load_collection, load_iconclass
from kgart.web import create_app

from kgart.settings import load_config
from kgart.store import Store
from tests.collection_fixtures import write_collections

SELECT = "SELECT ?n WHERE { ic:73D skos:notation ?n }"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    from tests.iconclass_slice import write_iconclass_slice

    root = tmp_path_factory.mktemp("web")
    store = Store(root / "store")
    load_iconclass(store, data_dir=write_iconclass_slice(root / "ic"))
    files = write_collections(root / "in")
    load_collection(store, "rkd", files["rkd_json"])
    load_collection(store, "artpedia", files["artpedia"])
    embed(store, kinds=["iconclass", "artwork"])
    config = load_config({"store": str(root / "store")}, env={})
    return create_app(config, store=store, update_token="s3cret", service_allow=["query.wikidata.org"])


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


# -- SPARQL protocol: one test per row of the matrix ------------------------------------------

@pytest.mark.parametrize("accept, media", [
    ("application/sparql-results+json", "application/sparql-results+json"),
    ("application/sparql-results+xml", "application/sparql-results+xml"),
    ("text/csv", "text/csv"), ("text/tab-separated-values", "text/tab-separated-values"),
    ("application/json", "application/sparql-results+json"), ("*/*", "application/sparql-results+json"),
])
def test_sparql_get_select_formats(client: FlaskClient, accept: str, media: str) -> None:
    response = client.get("/sparql", query_string={"query": SELECT}, headers={"Accept": accept})
    assert response.status_code == 200 and response.mimetype == media
    assert b"73D" in response.data


def test_sparql_post_form_and_direct(client: FlaskClient) -> None:
    form = client.post("/sparql", data={"query": SELECT}, headers={"Accept": "text/csv"})
    assert form.data.decode().split() == ["n", "73D"]
    direct = client.post("/sparql", data=SELECT, content_type="application/sparql-query",
                         headers={"Accept": "application/sparql-results+json"})
    assert json.loads(direct.data)["results"]["bindings"][0]["n"]["value"] == "73D"


@pytest.mark.parametrize("accept, media", [("text/turtle", "text/turtle"),
                                           ("application/n-triples", "application/n-triples"),
                                           ("application/ld+json", "application/ld+json"),
                                           ("application/rdf+xml", "application/rdf+xml")])
def test_sparql_construct_formats(client: FlaskClient, accept: str, media: str) -> None:
    response = client.get("/sparql", query_string={"query": "CONSTRUCT { ic:73D ?p ?o } WHERE { ic:73D ?p ?o }"},
                          headers={"Accept": accept})
    assert response.status_code == 200 and response.mimetype == media and len(response.data) > 50


def test_sparql_ask_and_syntax_error(client: FlaskClient) -> None:
    ok = client.get("/sparql", query_string={"query": "ASK { ic:73D a skos:Concept }"})
    assert json.loads(ok.data)["boolean"] is True
    bad = client.get("/sparql", query_string={"query": "SELEC x"})
    assert bad.status_code == 400 and "syntax error" in bad.get_json()["error"]


def test_service_description_and_page(client: FlaskClient) -> None:
    rdf = client.get("/sparql", headers={"Accept": "text/turtle"})
    assert rdf.mimetype == "text/turtle" and b"sd:Service" in rdf.data
    page = client.get("/sparql", headers={"Accept": "text/html"})
    assert page.mimetype == "text/html" and b"<textarea" in page.data


def test_updates_need_the_token(client: FlaskClient) -> None:
    update = "INSERT DATA { GRAPH <https://w3id.org/kgart/graph/notes> { <urn:a> <urn:b> 'c' } }"
    assert client.post("/sparql", data={"update": update}).status_code == 401
    assert client.post("/sparql", data={"update": update}, headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = client.post("/sparql", data=update, content_type="application/sparql-update",
                     headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 204


def test_service_allow_list(client: FlaskClient) -> None:
    refused = client.get("/sparql", query_string={
        "query": "SELECT * WHERE { SERVICE <http://evil.example/sparql> { ?s ?p ?o } }"})
    assert refused.status_code == 403 and "not allowed" in refused.get_json()["error"]


# -- linked data ------------------------------------------------------------------------------------

@pytest.mark.parametrize("path, accept, media", [
    ("/iconclass/73D", "text/turtle", "text/turtle"),
    ("/iconclass/73D", "application/ld+json", "application/ld+json"),
    ("/iconclass/73D", "application/rdf+xml", "application/rdf+xml"),
    ("/iconclass/73D", "application/n-triples", "application/n-triples"),
    ("/iconclass/73D", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8", "text/html"),
    ("/iconclass/73D.ttl", "text/html", "text/turtle"),
    ("/iconclass/73D.jsonld", "*/*", "application/ld+json"),
    ("/iconclass/73D.rdf", "*/*", "application/rdf+xml"),
    ("/iconclass/73D.nt", "*/*", "application/n-triples"),
    ("/iconclass/31D111%28%2B89%29.ttl", "*/*", "text/turtle"),
    ("/artwork/rkd/193334", "text/turtle", "text/turtle"),
    ("/artwork/rkd/193334", "text/html", "text/html"),
    ("/sentence/artpedia/0/1.jsonld", "*/*", "application/ld+json"),
])
def test_dereferencing(client: FlaskClient, path: str, accept: str, media: str) -> None:
    response = client.get(path, headers={"Accept": accept})
    assert response.status_code == 200, response.data[:300]
    assert response.mimetype == media


def test_concept_page_and_key_on_demand(client: FlaskClient) -> None:
    page = client.get("/iconclass/11H%28JEROME%29362?lang=de", headers={"Accept": "text/html"}).data.decode()
    assert "der hl. Hieronymus als Büßer in seinem Studierzimmer" in page and "11H(JEROME)36" in page
    turtle = client.get("/iconclass/31D111%28%2B89%29.ttl").data.decode()
    assert "nude human being" in turtle and "31D111%28%2B8%29" in turtle


def test_ld_errors(client: FlaskClient) -> None:
    missing = client.get("/iconclass/99Z9", headers={"Accept": "text/html"})
    assert missing.status_code == 404 and missing.mimetype == "text/html" and b"Traceback" not in missing.data
    assert client.get("/artwork/rkd/nope.ttl").status_code == 404


def test_void_and_dump(client: FlaskClient) -> None:
    void = client.get("/.well-known/void", headers={"Accept": "text/turtle"})
    assert b"void:sparqlEndpoint" in void.data and b"/dump/rkd.nt.gz" in void.data
    dump = client.get("/dump/rkd.nt.gz")
    assert dump.status_code == 200
    lines = gzip.decompress(dump.data).decode().splitlines()
    assert len(lines) > 20 and all(line.endswith(" .") for line in lines)
    assert client.get("/dump/nothing.nt.gz").status_code == 404


# -- JSON API ----------------------------------------------------------------------------------------

def test_api_search_suggest_similar(client: FlaskClient) -> None:
    found = client.get("/api/search", query_string={"q": "the crown of thorns", "k": 3, "explain": "1"}).get_json()
    assert found["results"][0]["notation"] == "73D82(CROWN OF THORNS)" and "components" in found["results"][0]
    under = client.get("/api/search", query_string={"target": "artwork", "under": "73D"}).get_json()
    assert [r["iri"] for r in under["results"]] == ["https://w3id.org/kgart/artwork/rkd/198783"]
    codes = client.post("/api/suggest", data={"title": "Penitent St Jerome in his study"}).get_json()["codes"]
    assert codes[0]["notation"] == "11H(JEROME)362"
    explained = client.post("/api/suggest", data={"title": "Penitent St Jerome in his study", "k": "2",
                                                   "explain": "1"}).get_json()["codes"]
    assert len(explained) == 2 and "vector" in explained[0]["components"]
    assert sum(explained[0]["components"].values()) == pytest.approx(explained[0]["score"], abs=1e-4)
    with_maker = client.get("/api/suggest", query_string={"title": "Penitent St Jerome in his study",
                                                          "maker": "https://w3id.org/kgart/person/rkd/nobody"})
    assert with_maker.get_json()["codes"][0]["notation"] == "11H(JEROME)362"  # a maker with no works: no votes
    for makers in (["not an iri"], [f"urn:maker:{i}" for i in range(21)]):
        refused = client.get("/api/suggest", query_string={"title": "x", "maker": makers})
        assert refused.status_code == 400 and refused.is_json
    wrong = client.get("/api/suggest", query_string={"title": "x", "scheme": "aat"})
    assert wrong.status_code == 400 and "scheme" in wrong.get_json()["error"]
    no_tate = client.get("/api/suggest", query_string={"title": "the sea", "scheme": "tate"})  # no Tate loaded here
    assert no_tate.status_code == 400 and "unknown scheme 'tate'; known: iconclass" in no_tate.get_json()["error"]
    services = client.application.extensions["kgart"]
    services.embedding = True  # as while kgart demo embeds in the background
    try:
        busy = client.get("/api/search", query_string={"q": "crown"})
        assert busy.status_code == 503 and "still being computed" in busy.get_json()["error"]
        assert "still being computed" in client.get("/", query_string={"q": "crown"}).get_data(as_text=True)
    finally:
        services.embedding = False
    client.get("/api/search", query_string={"q": "crown", "lang": "de"})
    assert client.application.extensions["kgart"].retriever().language == "en"  # a request's lang stays its own
    similar = client.get("/api/similar", query_string={"iri": "https://w3id.org/kgart/artwork/rkd/193334"}).get_json()
    assert similar["results"]


def test_api_hierarchy_and_autocomplete(client: FlaskClient) -> None:
    h = client.get("/api/hierarchy/73D82", query_string={"counts": "1"}).get_json()
    assert [a["notation"] for a in h["ancestors"]] == ["7", "73", "73D", "73D8"]
    child = {"notation": "73D82(...)", "label": "single instruments of the Passion (with NAME)", "artworks": 1}
    assert child in h["children"]
    done = client.get("/api/autocomplete", query_string={"q": "crown of tho"}).get_json()
    assert done["results"][0]["notation"] == "73D82(CROWN OF THORNS)"


def test_api_errors_are_json(client: FlaskClient) -> None:
    for path, status in [("/api/search", 400), ("/api/search?q=x&k=0", 400), ("/api/hierarchy/99Z9", 404),
                         ("/api/similar?iri=urn:nothing", 400), ("/api/nope", 404)]:
        response = client.get(path)
        assert response.status_code == status and response.is_json, (path, response.data[:200])
        assert "error" in response.get_json()


def test_openapi_lists_every_api_route(app: Flask, client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").get_json()
    routes = {str(r.rule).replace("<path:notation>", "{notation}").replace("<ident>", "{id}")
              for r in app.url_map.iter_rules()
              if str(r.rule).startswith(("/api/", "/annotations/")) and r.endpoint != "api.openapi"}
    assert routes == set(spec["paths"])


def test_upload_size_cap(app: Flask) -> None:
    small = create_app(app.extensions["kgart"].config, store=app.extensions["kgart"].store, max_upload_bytes=1000)
    response = small.test_client().post("/api/suggest", data={"image": (Path(__file__).open("rb"), "x.png")})
    assert response.status_code == 413 and response.is_json


# -- real clients on a real server ------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(app: Flask) -> Iterator[str]:
    from waitress.server import create_server

    from tests.oxigraph_server import free_port

    port = free_port()
    httpd = create_server(app, host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=httpd.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    httpd.close()


def test_sparqlwrapper_client(server: str) -> None:
    from SPARQLWrapper import JSON, SPARQLWrapper

    client = SPARQLWrapper(f"{server}/sparql")
    client.setQuery("PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
                    "SELECT ?c WHERE { ?c skos:broader+ <http://iconclass.org/73D> }")
    client.setReturnFormat(JSON)
    bindings = client.queryAndConvert()["results"]["bindings"]  # type: ignore[index]
    assert {b["c"]["value"] for b in bindings} >= {"http://iconclass.org/73D82%28CROWN%20OF%20THORNS%29"}


def test_rdflib_sparqlstore_client(server: str) -> None:
    import rdflib
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    graph = rdflib.Graph(store=SPARQLStore(f"{server}/sparql"))
    rows = list(graph.query("SELECT ?label WHERE { <http://iconclass.org/73D> "
                            "<http://www.w3.org/2004/02/skos/core#prefLabel> ?label }"))
    assert [str(r[0]) for r in rows] == ["Passion of Christ"]


# -- similarity inside SPARQL ----------------------------------------------------------------------

KNN = """SELECT ?hit ?score ?label WHERE {
  ?hit kgart:similarTo "the crown of thorns" ; kgart:k 3 ; kgart:score ?score .
  ?hit skos:prefLabel ?label FILTER(lang(?label) = "en") } ORDER BY DESC(?score)"""


def test_knn_pattern_joined_with_the_graph(client: FlaskClient) -> None:
    data = client.get("/sparql", query_string={"query": KNN}, headers={"Accept": "application/json"}).get_json()
    rows = data["results"]["bindings"]
    assert len(rows) == 3
    assert rows[0]["label"]["value"] == "crown of thorns ~ instruments of the Passion"
    assert float(rows[0]["score"]["value"]) >= float(rows[1]["score"]["value"])


def test_knn_under_and_hierarchy(client: FlaskClient) -> None:
    query = """SELECT ?hit ?parent WHERE { ?hit kgart:similarTo "Jerome" ; kgart:k 5 ; kgart:under ic:73D .
               ?hit skos:broader ?parent }"""
    rows = client.get("/sparql", query_string={"query": query}).get_json()["results"]["bindings"]
    assert rows and all("73D" in r["hit"]["value"] for r in rows)


def test_knn_errors(client: FlaskClient) -> None:
    bad = client.get("/sparql", query_string={"query": "SELECT ?h WHERE { ?h kgart:similarTo 'x' ; kgart:k 0 }"})
    assert bad.status_code == 400 and "between 1 and" in bad.get_json()["error"]


def test_similarity_functions(client: FlaskClient) -> None:
    query = """SELECT ?c ?s ?t WHERE { VALUES ?c { ic:73D82 ic:31D111 }
        BIND(kgart:textSimilarity(?c, "instruments of the Passion") AS ?s)
        BIND(kgart:similarity(?c, ic:73D8) AS ?t) } ORDER BY DESC(?s)"""
    rows = client.get("/sparql", query_string={"query": query}).get_json()["results"]["bindings"]
    assert rows[0]["c"]["value"] == "http://iconclass.org/73D82"
    assert float(rows[0]["s"]["value"]) > float(rows[1]["s"]["value"])
    assert -1.0 <= float(rows[0]["t"]["value"]) <= 1.0


def test_sparqlwrapper_knn_with_hierarchy(server: str) -> None:
    from SPARQLWrapper import JSON, SPARQLWrapper

    client = SPARQLWrapper(f"{server}/sparql")
    client.setQuery("""PREFIX kgart: <https://w3id.org/kgart/ns#> PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        SELECT ?hit ?score ?parent WHERE { ?hit kgart:similarTo "crown of thorns" ; kgart:k 5 ; kgart:score ?score .
        ?hit skos:broader+ ?parent . ?parent skos:notation "73D" } ORDER BY DESC(?score)""")
    client.setReturnFormat(JSON)
    rows = client.queryAndConvert()["results"]["bindings"]  # type: ignore[index]
    assert rows[0]["hit"]["value"] == "http://iconclass.org/73D82%28CROWN%20OF%20THORNS%29"


# -- HTML pages ----------------------------------------------------------------------------------

def test_search_page(client: FlaskClient) -> None:
    empty = client.get("/")
    assert empty.status_code == 200 and b'name="q"' in empty.data and b'type="file"' in empty.data
    page = client.get("/", query_string={"q": "the crown of thorns"}).data.decode()
    assert "73D82(CROWN OF THORNS)" in page and 'class="card concept"' in page
    artworks = client.post("/", data={"q": "Jerome", "target": "artwork"}).data.decode()
    assert "Penitent St Jerome in his study" in artworks and 'href="/artwork/rkd/193334"' in artworks


def test_a_query_in_another_language_says_what_it_was_searched_as(client: FlaskClient) -> None:
    # The slice's German labels say "Heilige" where the English say "saints" (three concepts).
    german = client.get("/api/search", query_string={"q": "die Heilige mit dem Buch"}).get_json()
    assert german["translated"] == {"language": "de", "text": "saints buch"}
    assert "translated" not in client.get("/api/search", query_string={"q": "the saints"}).get_json()
    page = client.get("/", query_string={"q": "die Heilige mit dem Buch"}).data.decode()
    assert 'id="translated"' in page and "Read as German" in page and "“saints buch”" in page
    assert 'id="translated"' not in client.get("/", query_string={"q": "the saints"}).data.decode()


def test_artwork_page(client: FlaskClient) -> None:
    page = client.get("/artwork/rkd/193334", headers={"Accept": "text/html"}).data.decode()
    assert "Penitent St Jerome in his study" in page and "11H(JEROME)362" in page and 'id="similar"' in page
    sentences = client.get("/artwork/artpedia/0", headers={"Accept": "text/html"}).data.decode()
    assert "visual" in sentences and "Saint Jerome kneels to the left." in sentences


def test_iconclass_browser_counts_and_artworks(client: FlaskClient) -> None:
    page = client.get("/iconclass/73D8", headers={"Accept": "text/html"}).data.decode()
    assert "73D82" in page and "(1 artwork)" in page
    page = client.get("/iconclass/73D", headers={"Accept": "text/html"}).data.decode()
    assert 'href="/artwork/rkd/198783"' in page and "73D82(CROWN OF THORNS)" in page
    top = client.get("/iconclass/", headers={"Accept": "text/html"}).data.decode()
    assert 'href="/iconclass/7?lang=en"' in top


def test_query_timeout_and_result_cap(app: Flask) -> None:
    services = app.extensions["kgart"]
    tight = create_app(services.config, store=services.store, query_timeout=0.001, max_result_bytes=200,
                       cors_origins=["https://example.org"])
    client = tight.test_client()
    slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    response = client.get("/sparql", query_string={"query": slow})
    assert response.status_code == 503 and "query timeout" in response.get_json()["error"]
    tight.extensions["kgart"].query_timeout = 30
    big = client.get("/sparql", query_string={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 100"})
    assert big.status_code == 413 and "LIMIT" in big.get_json()["error"]
    cors = client.get("/api/openapi.json", headers={"Origin": "https://example.org"})
    assert cors.headers.get("Access-Control-Allow-Origin") == "https://example.org"
    other = client.get("/api/openapi.json", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_concept_page_lists_related_codes(client: FlaskClient) -> None:
    page = client.get("/iconclass/73D", headers={"Accept": "text/html"}).data.decode()
    assert 'id="related"' in page and "11H(JEROME)" in page


def test_any_resource_by_iri(client: FlaskClient) -> None:
    page = client.get("/resource", query_string={"iri": "https://w3id.org/kgart/artwork/rkd/193334"},
                      headers={"Accept": "text/html"})
    assert page.status_code == 200 and "Penitent St Jerome in his study" in page.data.decode()
    turtle = client.get("/resource", query_string={"iri": "http://iconclass.org/73D", "format": "ttl"})
    assert turtle.mimetype == "text/turtle" and b"Passion" in turtle.data
    assert client.get("/resource", query_string={"iri": "urn:nothing"}).status_code == 404


def test_home_page_says_what_is_here(client: FlaskClient) -> None:
    page = client.get("/").data.decode()
    for part in ('id="collections"', ">rkd<", 'id="graphs"', ">iconclass<", 'id="top-level"', 'id="examples"',
                 "/sparql", "/api/openapi.json", "ready."):
        assert part in page, part
    assert "Bible" in page and "(1 artwork)" in page  # 7 with the crown of thorns below it
    example = page.split('id="examples"', 1)[1].split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    results = client.get(example)
    assert results.status_code == 200 and b'class="card concept"' in results.data
    assert b'id="results"' in client.get("/?q=crown").data  # a query on / is still a search


def test_concept_page_has_every_language_broader_similar_and_pages(client: FlaskClient) -> None:
    page = client.get("/iconclass/11").data.decode()
    labels = page.split('id="labels"', 1)[1].split("</table>", 1)[0]
    assert "christliche Religion" in labels and "Christelijke religie" in labels and "Christian religion" in labels
    assert ">1</span>" in page.split('id="broader"', 1)[1].split("</ul>", 1)[0]
    assert 'id="similar-concepts"' in page
    first = client.get("/iconclass/7").data.decode()
    assert "The crown of thorns" in first.split('id="artworks"', 1)[1] and 'id="more-artworks"' not in first
    assert client.get("/iconclass/7?page=1").status_code == 200
    assert client.get("/iconclass/7?page=x").status_code == 400


def test_artwork_cards_show_creator_date_collection_and_labelled_codes(client: FlaskClient) -> None:
    page = client.get("/search", query_string={"q": "Jerome", "target": "artwork"}).data.decode()
    card = page.split('class="card artwork"', 1)[1]
    assert "rkd" in card and 'href="/iconclass/' in card and "St. Jerome as penitent in his study" in page
    assert "Reymerswale" in page and "1530" in page


def test_warm_up_indexes_the_iconclass_tree_before_any_request(slice_dir: Path) -> None:
    """What a server worker runs in a thread as it starts: the tables resolution reads are built."""
    store = Store()
    load_iconclass(store, data_dir=slice_dir)
    services = create_app(store=store).extensions["kgart"]
    services.warm_up()
    built = services.iconclass.__dict__
    assert {"_parents", "_children", "_key_set_of", "_key_suffixes", "languages"} <= built.keys()
    assert "73D82" in services.iconclass


def test_warm_up_without_iconclass_does_nothing() -> None:
    services = create_app(store=Store()).extensions["kgart"]
    services.warm_up()
    assert "_parents" not in services.iconclass.__dict__


def test_models_page_shows_each_trained_models_provenance_and_figures(tmp_path: Path) -> None:
    """What kgart train recorded in the store: the models page reads it back, the one in use marked."""
    from kgart.embeddings.trained import TrainedModel, register, registered_models

    from kgart.users import Users
    from tests.iconclass_slice import write_iconclass_slice

    store = Store()
    load_iconclass(store, data_dir=write_iconclass_slice(tmp_path / "ic"))
    empty = create_app(load_config({"store": ":memory:"}, env={}), store=store, users=Users(None)).test_client()
    assert b'id="no-models"' in empty.get("/models").data
    manifest = {"name": "rkd-a", "run": "20261207T070421", "model_id": "kgart-trained/rkd-a/20261207T070421",
                "base": "minilm", "started": "2026-12-07T06:40:08+00:00", "ended": "2026-12-07T07:14:23+00:00",
                "graphs": ["iconclass", "rkd"], "counts": {"examples": {"label-de": 2206, "record-iconclass": 80}},
                "figures": {"before": {"dev_r1": 40.6, "dev_r10": 61.6}, "after": {"dev_r1": 59.2, "dev_r10": 83.0},
                            "training_seconds": 469.4, "kept_epoch": 2, "dev_by_epoch": [{"dev_r1": 42.4}],
                            "ranker_iconclass": {"records": 300.0, "makers": 1.0, "cv_r1": 68.4, "cv_r10": 93.8,
                                                 "cv_mrr": 77.3,
                                                 "blend_r1": 63.3, "blend_r10": 93.2, "blend_mrr": 73.8,
                                                 "learned": "2026-12-07T19:19:02+00:00"}}}
    register(store, TrainedModel("rkd-a", tmp_path, manifest))
    register(store, TrainedModel("rkd-b", tmp_path, {**manifest, "name": "rkd-b", "model_id": "kgart-trained/rkd-b/1",
                                                     "ended": "2026-12-06T07:14:23+00:00"}))
    app = create_app(load_config({"store": ":memory:", "model": "trained:rkd-a"}, env={}), store=store,
                     users=Users(None))
    html = app.test_client().get("/models").data.decode()
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert html.index('id="model-rkd-a"') < html.index('id="model-rkd-b"')  # the newest run first
    first = text[text.index("rkd-a in use"):text.index("rkd-b kgart-trained")]
    assert "rkd-a/20261207T070421 · base minilm · trained 2026-12-07 06:40 to 2026-12-07 07:14 UTC" in first
    assert "Learned from: iconclass, rkd." in first
    assert "Training: 469 s, epoch 2 kept." in first and "before 40.6 61.6 after 59.2 83.0" in first
    assert "label-de 2,206, record-iconclass 80" in first
    assert ("Ranker for iconclass , from 300 records asked for with their makers: cross-validated R@1 68.4, "
            "R@10 93.8, MRR 77.3") in first
    assert "73.8), learned 2026-12-07 19:19 UTC." in first
    assert "rkd-b in use" not in text
    [model] = [m for m in registered_models(store) if m.name == "rkd-a"]
    assert json.loads(model.parameters["figures.dev_by_epoch"]) == [{"dev_r1": 42.4}]  # JSON, not repr
    assert "/resource?iri=https%3A//w3id.org/kgart/models/rkd-a" in html
