"""One contract, two backends: the embedded store and a real `oxigraph serve` behind SPARQL 1.1."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kgart.loaders import load_collection, load_iconclass

from kgart.errors import DataSourceError, QueryError, StoreError
from kgart.iconclass import Iconclass
from kgart.rdf import IRI, BlankNode, Literal, Triple, graph_iri
from kgart.remote_store import RemoteStore
from kgart.store import Store
from tests.oxigraph_server import OxigraphServer

EX = "https://example.org/"


@pytest.fixture(params=["embedded", "remote"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store | RemoteStore]:
    if request.param == "embedded":
        store = Store(tmp_path / "store")
        yield store
        store.close()
    else:
        server: OxigraphServer = request.getfixturevalue("oxigraph_server")
        store = RemoteStore(server.url, index_location=tmp_path / "indexes", chunk_triples=7)
        store.update("CLEAR ALL")
        yield store


def triples(n: int, tag: str = "v1") -> list[Triple]:
    return [(IRI(f"{EX}s{i}"), IRI(EX + "p"), Literal(f"{tag}-{i}", "en")) for i in range(n)]


def values(store: Store | RemoteStore, graph: str) -> set[str]:
    return {r["o"].value for r in store.select(f"SELECT ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")}


def test_replace_query_drop(backend: Store | RemoteStore) -> None:
    g = graph_iri("a")
    assert backend.replace_graph(g, triples(20)) == 20
    assert backend.count(g) == 20
    backend.replace_graph(g, triples(3, "v2"))
    assert values(backend, g) == {"v2-0", "v2-1", "v2-2"}
    assert [x.iri for x in backend.graphs()] == [g]
    assert backend.ask(f"ASK {{ <{EX}s1> ?p ?o }}")  # the default graph is the union
    media, body = backend.query_serialized("SELECT ?o WHERE { ?s ?p ?o } ORDER BY ?o", "text/csv")
    assert media.startswith("text/csv") and body.decode().split() == ["o", "v2-0", "v2-1", "v2-2"]
    assert len(backend.construct(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{g}> {{ ?s ?p ?o }} }}")) == 3
    assert sorted(o.value for _, _, o in backend.triples(g)) == ["v2-0", "v2-1", "v2-2"]  # type: ignore[union-attr]
    assert backend.drop_graph(g) and not backend.has_graph(g) and not backend.drop_graph(g)


def test_failed_load_keeps_previous(backend: Store | RemoteStore) -> None:
    g = graph_iri("a")
    backend.replace_graph(g, triples(10))

    def failing() -> Iterator[Triple]:
        yield from triples(15, "v2")
        raise DataSourceError("record 16 is broken")

    with pytest.raises(DataSourceError):
        backend.replace_graph(g, failing())
    assert values(backend, g) == {f"v1-{i}" for i in range(10)}
    assert [x.iri for x in backend.graphs()] == [g]  # no staging graph left behind


def test_blank_nodes_survive_chunking(backend: Store | RemoteStore) -> None:
    g = graph_iri("b")
    node = BlankNode("n1")
    data = [(IRI(EX + "a"), IRI(EX + "p"), node)] + triples(10) + [(node, IRI(EX + "q"), Literal("x"))]
    backend.replace_graph(g, data)
    assert backend.ask(f"ASK {{ GRAPH <{g}> {{ <{EX}a> <{EX}p> ?n . ?n <{EX}q> 'x' }} }}")


def test_add_triples_and_update(backend: Store | RemoteStore) -> None:
    g = graph_iri("c")
    backend.add_triples(g, triples(4))
    backend.update(f"DELETE WHERE {{ GRAPH <{g}> {{ <{EX}s0> ?p ?o }} }}")
    assert backend.count(g) == 3
    with pytest.raises(QueryError):
        backend.select("SELEC broken")


def test_iconclass_and_collections(backend: Store | RemoteStore, slice_dir: Path) -> None:
    from tests.collection_fixtures import write_collections

    load_iconclass(backend, data_dir=slice_dir)  # type: ignore[arg-type]
    ic = Iconclass(backend)  # type: ignore[arg-type]
    assert ic.label("11H(JEROME)362", "de").text == "der hl. Hieronymus als Büßer in seinem Studierzimmer"
    assert ic.resolve("31D111(+89)").path[-2] == "31D111(+8)"
    files = write_collections(Path(f"/tmp/kgart-contract-{uuid.uuid4().hex}"))
    report = load_collection(backend, "rkd", files["rkd_json"])  # type: ignore[arg-type]
    assert report.records == 2 and report.codes_linked == 3
    report = load_collection(backend, "linkedart", files["linkedart"])  # type: ignore[arg-type]
    assert report.notes["artworks described"] == 2
    rows = backend.select("""SELECT DISTINCT ?artwork WHERE { ?artwork a schema:VisualArtwork ;
        dcterms:subject/skos:broader* ic:73D }""")
    assert len(rows) == 2


def test_embeddings_on_both(backend: Store | RemoteStore, slice_dir: Path) -> None:
    import numpy as np
    from kgart.embeddings.encoders import get_encoder
    from kgart.embeddings.job import embed, load_index, node_vector

    load_iconclass(backend, data_dir=slice_dir)  # type: ignore[arg-type]
    encoder = get_encoder("minilm")
    report = embed(backend, kinds=["iconclass"], batch_size=8, encoder=encoder)[0]  # type: ignore[arg-type]
    assert report.encoded == report.nodes > 0
    assert embed(backend, kinds=["iconclass"], encoder=encoder)[0].encoded == 0  # type: ignore[arg-type]
    index = load_index(backend, encoder.model_id, "iconclass")  # type: ignore[arg-type]
    stored = node_vector(backend, encoder.model_id, "http://iconclass.org/73D")  # type: ignore[arg-type]
    assert stored is not None and np.array_equal(stored, index.vector("http://iconclass.org/73D"))


# -- failure cases of the remote backend ------------------------------------------------

def test_server_down_at_start() -> None:
    from tests.oxigraph_server import free_port

    with pytest.raises(StoreError, match="cannot reach the SPARQL server at http://127.0.0.1"):
        RemoteStore(f"http://127.0.0.1:{free_port()}", timeout=2)


def test_server_killed_mid_load(tmp_path: Path) -> None:
    server = OxigraphServer(tmp_path / "data").start()
    try:
        store = RemoteStore(server.url, chunk_triples=1_000, index_location=tmp_path / "ix")
        g = graph_iri("a")
        store.replace_graph(g, triples(50))

        def dying() -> Iterator[Triple]:
            for i, t in enumerate(triples(20_000, "v2")):
                if i == 5_000:
                    server.kill()
                yield t

        with pytest.raises(StoreError, match="previous version of the graph is untouched"):
            store.replace_graph(g, dying())
        server = OxigraphServer(tmp_path / "data", port=server.port).start()
        assert values(store, g) == {f"v1-{i}" for i in range(50)}
        store.replace_graph(g, triples(2, "after"))  # the next load also removes the partial staging graph
        assert values(store, g) == {"after-0", "after-1"}
        assert store.select("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }").rows == [{"g": IRI(g)}]
    finally:
        server.stop()


def test_slow_server_times_out() -> None:
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Slow(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            time.sleep(3)
            self.send_response(200)
            self.end_headers()

        do_GET = do_POST  # noqa: N815

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        started = time.monotonic()
        with pytest.raises(StoreError, match="did not answer within 1 s"):
            RemoteStore(f"http://127.0.0.1:{httpd.server_address[1]}", timeout=1)
        assert time.monotonic() - started < 2.9
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_search_on_both(backend: Store | RemoteStore, slice_dir: Path, tmp_path: Path) -> None:
    from kgart.embeddings.job import embed
    from kgart.embeddings.service import open_retriever

    from kgart.retrieval import Query
    from tests.collection_fixtures import write_collections

    load_iconclass(backend, data_dir=slice_dir)  # type: ignore[arg-type]
    load_collection(backend, "rkd", write_collections(tmp_path / "in")["rkd_json"])  # type: ignore[arg-type]
    embed(backend, kinds=["iconclass", "artwork"])  # type: ignore[arg-type]
    retriever = open_retriever(backend)  # type: ignore[arg-type]
    assert retriever.search_concepts(Query(text="the crown of thorns"), k=1)[0].notation == "73D82(CROWN OF THORNS)"
    assert [h.iri for h in retriever.search_items(Query(), "artwork", under="73D")] == [
        "https://w3id.org/kgart/artwork/rkd/198783"]
    assert retriever.suggest(title="Penitent St Jerome in his study", k=1)[0].notation == "11H(JEROME)362"


def test_server_over_a_remote_store(oxigraph_server, slice_dir: Path, tmp_path: Path) -> None:  # noqa: ANN001
    """`kgart serve` on a remote store: /sparql with the kNN pattern, linked data, the API."""
    from kgart.embeddings.job import embed
    from kgart.web import create_app

    from kgart.settings import load_config

    store = RemoteStore(oxigraph_server.url, index_location=tmp_path / "ix")
    store.update("CLEAR ALL")
    load_iconclass(store, data_dir=slice_dir)  # type: ignore[arg-type]
    embed(store, kinds=["iconclass"])  # type: ignore[arg-type]
    client = create_app(load_config({"store": oxigraph_server.url}, env={}), store=store).test_client()
    knn = """SELECT ?hit ?parent WHERE { ?hit kgart:similarTo "the crown of thorns" ; kgart:k 1 .
             ?hit skos:broader ?parent }"""
    rows = client.get("/sparql", query_string={"query": knn}).get_json()["results"]["bindings"]
    assert rows[0]["hit"]["value"] == "http://iconclass.org/73D82%28CROWN%20OF%20THORNS%29"
    assert client.get("/iconclass/73D.ttl").mimetype == "text/turtle"
    assert client.get("/api/hierarchy/73D82").get_json()["ancestors"][-1]["notation"] == "73D8"
    functions = client.get("/sparql", query_string={"query": "SELECT (kgart:similarity(ic:73D, ic:73D8) AS ?s) {}"})
    assert functions.status_code == 400 and "embedded store only" in functions.get_json()["error"]


def test_remote_reload_writes_only_what_changed(tmp_path: Path) -> None:
    """A new graph goes straight into place, a small change is one diff update, a large one is
    staged and moved; every way ends with exactly the new version and no staging graph."""
    server = OxigraphServer(tmp_path / "data").start()
    try:
        store = RemoteStore(server.url, chunk_triples=100, diff_triples=10, index_location=tmp_path / "ix")
        g = graph_iri("a")
        assert store.replace_graph(g, triples(300)) == 300
        changed = triples(300)[:295] + triples(3, "small")
        assert store.replace_graph(g, changed) == 298  # 5 removed, 3 added: one update
        assert values(store, g) == {f"v1-{i}" for i in range(295)} | {"small-0", "small-1", "small-2"}
        assert store.replace_graph(g, triples(40, "big")) == 40  # 298 removed: staged, then MOVE
        assert values(store, g) == {f"big-{i}" for i in range(40)}
        assert store.replace_graph(g, triples(40, "big")) == 40  # nothing changed: nothing written
        assert store.select("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }").rows == [{"g": IRI(g)}]
    finally:
        server.stop()
