"""Hostile input through every route and CLI option that reaches the store, with a loopback
listener counting connections: no outbound connection, no 5xx, no crash, no parser message
leaked — each answer a clear 4xx or a correct (often empty) result. Every row of the
data-access probe (injection into IRIs, paths, graph names, language tags; SERVICE through
comments, codepoint escapes and updates; deep nesting; long and odd strings) is here."""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from flask import Flask

from kgart.cli import main

LEAKS = (b"error at ", b"Traceback", b"pyparsing", b"ParseException", b"SyntaxError")


class Listener:
    """A TCP listener on loopback that counts the connections it receives."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


def values(port: int) -> list[str]:
    """The injection corpus: closing > " }, SERVICE, comments, CR, escapes, newlines, nesting, long, odd."""
    target = f"http://127.0.0.1:{port}"
    return [
        f"https://w3id.org/kgart/artwork/x> ?p ?o OPTIONAL {{ SERVICE <{target}/sparql> {{ ?s ?p2 ?o2 }} }} }} #",
        f'x")) OPTIONAL {{ SERVICE <{target}/x> {{ ?q ?w ?e }} }} }} }} #',
        f'en" ) }} OPTIONAL {{ SERVICE <{target}/> {{ ?s ?p ?o }} }} #',
        f"x> . BIND(<javascript:alert(document.domain)> AS ?o) SERVICE <{target}/> {{ ?a ?b ?c }} }} #",
        f"x}} \\u0053ERVICE <{target}/> {{ ?s ?p ?o }} #",
        f"x # \rSERVICE <{target}/> {{ ?s ?p ?o }}\n",
        "\"", ">", "}", "{", "<", "\\", "\r", "\n", "\x00", "%", "%FF%FE", "\ufeff", "\u2028",
        "{" * 2500, "(" * 2500 + "x",
        "x" * 100_000,
        "word " * 5_000,
        "25F:" * 6000 + "25F",
        "https://w3id.org/kgart/graph/ontology",
        "https%3A%2F%2Fw3id.org%2Fkgart%2Fgraph%2Fontology",
        "javascript:alert(1)",
        "x" * 300 + "." + "y" * 300,
    ]


ROUTES = [
    "/resource?iri={v}", "/resource?iri={v}&format=ttl", "/resource?iri=https%3A%2F%2Fx.org%2F&format={v}",
    "/artwork/{v}", "/sentence/{v}", "/artwork/{v}.ttl", "/iconclass/{v}", "/iconclass/0?lang={v}",
    "/iconclass/?lang={v}", "/api/hierarchy/0?lang={v}", "/api/hierarchy/{v}", "/api/hierarchy/73D?counts=1&lang={v}",
    "/api/search?q=dog&lang={v}", "/api/search?q={v}", "/api/search?q=dog&target=artwork&graph={v}",
    "/api/search?q=&target=artwork&under={v}", "/api/search?q=dog&scheme={v}", "/api/suggest?title={v}",
    "/api/suggest?title=x&scheme={v}", "/api/similar?iri={v}", "/api/autocomplete?q={v}", "/dump/{v}.nt.gz",
    "/sparql?query={v}", "/?q={v}", "/?q=x&under={v}&target=artwork", "/scheme/{v}", "/scheme/iconclass?concept={v}",
    "/annotations/?page={v}", "/annotations/?iris={v}&page=0", "/annotations/{v}", "/review/queue?graph={v}",
    "/review/queue?graph=rkd&under={v}", "/review/item?graph=rkd&iri={v}",
    "/review/item?graph={v}&iri=https%3A%2F%2Fw3id.org%2Fkgart%2Fartwork%2Frkd%2F193334", "/login?next={v}",
]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    from kgart.embeddings.job import embed
    from kgart.loaders import load_collection, load_iconclass
    from kgart.web import create_app

    from kgart.settings import load_config
    from kgart.store import Store
    from tests.collection_fixtures import write_collections
    from tests.iconclass_slice import write_iconclass_slice

    root = tmp_path_factory.mktemp("hostile")
    store = Store(root / "store")
    load_iconclass(store, data_dir=write_iconclass_slice(root / "ic"))
    load_collection(store, "rkd", write_collections(root / "in")["rkd_json"])
    embed(store, kinds=["iconclass", "artwork"])
    return create_app(load_config({"store": str(root / "store")}, env={}), store=store, update_token="t0ken",
                      service_allow=["query.wikidata.org"])


def _check(response_status: int, data: bytes, what: str) -> None:
    assert response_status < 500, f"{what}: {response_status} {data[:300]!r}"
    leaked = [m for m in LEAKS if m in data]
    assert not leaked or what.startswith("/sparql"), f"{what}: leaks {leaked}"


def test_every_route_with_every_value(app: Flask, listener: Listener) -> None:
    client = app.test_client()
    corpus = values(listener.port)
    sent = 0
    for route in ROUTES:
        for value in corpus:
            url = route.format(v=quote(value, safe=""))
            response = client.get(url)
            _check(response.status_code, response.data, url[:120])
            sent += 1
        # and the form the page posts
    for value in corpus:
        response = client.post("/", data={"q": value, "under": value, "target": "artwork"})
        _check(response.status_code, response.data, "POST /")
        sent += 1
    assert listener.connections == 0
    assert sent == len(ROUTES) * len(corpus) + len(corpus)
    assert client.get("/sparql", query_string={"query": "ASK {}"}).status_code == 200  # still serving


def _header_safe(value: str) -> str:
    """A value as a client can send it in a header (no line breaks, Latin-1)."""
    return value[:200].encode("latin-1", "replace").decode("latin-1").replace("\r", " ").replace("\n", " ").replace(
        "\x00", " ")


def test_annotation_writes_with_every_value(app: Flask, listener: Listener) -> None:
    """Every hostile value as an annotation's target, concept, id, Slug and region: a 4xx, nothing stored."""
    from kgart.annotations import Annotations

    users = app.extensions["kgart_users"]
    token = users.add("hostile") if users.get("hostile") is None else None
    if token is None:
        users.remove("hostile")
        token = users.add("hostile")
    client = app.test_client()
    store = app.extensions["kgart"].store
    before = Annotations(store).count()
    headers = {"Authorization": f"Bearer {token}"}
    profile = 'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"'
    for value in values(listener.port):
        documents = [
            {"@context": "http://www.w3.org/ns/anno.jsonld", "type": "Annotation", "motivation": "classifying",
             "body": value, "target": "https://w3id.org/kgart/artwork/rkd/193334"},
            {"@context": "http://www.w3.org/ns/anno.jsonld", "type": "Annotation", "motivation": "classifying",
             "body": "http://iconclass.org/73D82", "target": value},
            {"@context": value, "type": "Annotation"},
            {"@context": "http://www.w3.org/ns/anno.jsonld", "id": value, "type": "Annotation",
             "body": {"source": "http://iconclass.org/" + value, "purpose": "classifying"},
             "target": {"source": "https://w3id.org/kgart/artwork/rkd/193334",
                        "selector": {"type": "FragmentSelector", "value": value}}},
        ]
        for document in documents:
            response = client.post("/annotations/", data=json.dumps(document), content_type=profile,
                                   headers={**headers, "Slug": _header_safe(value)})
            assert 400 <= response.status_code < 500 or response.status_code == 201, response.data[:300]
            if response.status_code == 201:  # a client id or selector value is data, kept as such
                client.delete(response.headers["Location"], headers=headers)
        response = client.post("/review/decide", data={"graph": "rkd", "artwork": value, "concept": value},
                               headers=headers)
        assert 300 <= response.status_code < 500
    assert Annotations(store).count() == before
    assert listener.connections == 0


def sparql_attacks(port: int) -> list[str]:
    target = f"http://127.0.0.1:{port}/"
    return [
        f"SELECT * WHERE {{ # \rSERVICE <{target}> {{ ?s ?p ?o }}\n}}",
        f'SELECT * WHERE {{ ?h kgart:similarTo "x" ; kgart:k 1 . \\u0053ERVICE <{target}> {{ ?s ?p ?o }} }}',
        f"SELECT * WHERE {{ \\u0053ERVICE <{target}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE <{target}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ OPTIONAL {{ SERVICE SILENT <{target}> {{ ?s ?p ?o }} }} }}",
        f"PREFIX x: <{target}> SELECT * WHERE {{ SERVICE x:y {{ ?s ?p ?o }} }}",
        "SELECT * WHERE { SERVICE ?endpoint { ?s ?p ?o } VALUES ?endpoint { <" + target + "> } }",
        f"SELECT * WHERE {{ {{ SELECT * WHERE {{ SERVICE <{target}> {{ ?s ?p ?o }} }} }} }}",
        f"ASK {{ FILTER EXISTS {{ SERVICE <{target}> {{ ?s ?p ?o }} }} }}",
        "SELECT * WHERE { " + "{" * 2500 + "}" * 2500 + " }",
        "SELECT * WHERE { FILTER(" + "(" * 2500 + "1" + ")" * 2500 + ") }",
        "SELECT * WHERE { VALUES ?x { " + " ".join(f'"{i}"' for i in range(60_000)) + " } "
        "SERVICE <" + target + "> {} }",
        "SELECT * WHERE { ?s ?p ?o } # \\u005Cu0053ERVICE",
        "SELECT * WHERE { ?s ?p \"\\uD800\" }",
    ]


def update_attacks(port: int) -> list[str]:
    target = f"http://127.0.0.1:{port}/"
    return [f"INSERT {{ GRAPH <http://g> {{ ?s ?p ?o }} }} WHERE {{ SERVICE <{target}> {{ ?s ?p ?o }} }}",
            f"LOAD <{target}data.ttl>", f"LOAD SILENT <{target}x> INTO GRAPH <http://g>",
            f"DROP SILENT GRAPH <http://nothing> ; LOAD <{target}>",
            f"INSERT DATA {{ <http://a> <http://b> \"c\" }} ; # \rLOAD <{target}>\n",
            f"\\u004cOAD <{target}>"]


def test_sparql_attacks_reach_nothing(app: Flask, listener: Listener) -> None:
    client = app.test_client()
    for query in sparql_attacks(listener.port):
        for response in (client.get("/sparql", query_string={"query": query}),
                         client.post("/sparql", data=query, content_type="application/sparql-query")):
            assert response.status_code in (400, 403), (query[:100], response.status_code, response.data[:200])
    for update in update_attacks(listener.port):
        response = client.post("/sparql", data=update, content_type="application/sparql-update",
                               headers={"Authorization": "Bearer t0ken"})
        assert response.status_code in (400, 403), (update[:100], response.status_code, response.data[:200])
    assert listener.connections == 0
    # Legitimate queries still work, and an allowed SERVICE host passes the check.
    ok = client.get("/sparql", query_string={"query": "SELECT ?n WHERE { ic:73D skos:notation ?n }"})
    assert ok.status_code == 200 and b"73D" in ok.data
    from kgart.query_guard import checked_query

    allowed = "SELECT * WHERE { SERVICE <https://query.wikidata.org/sparql> { ?s ?p ?o } } LIMIT 1"
    assert checked_query(allowed, ["query.wikidata.org"]) == allowed


def test_injected_iri_reads_nothing_and_links_only_http(app: Flask, listener: Listener) -> None:
    client = app.test_client()
    response = client.get("/resource", query_string={"iri": values(listener.port)[0]})
    assert response.status_code == 400 and listener.connections == 0
    # A javascript: IRI stored in the data is shown as text, never as a link.
    from kgart.rdf import IRI

    store = app.extensions["kgart"].store
    store.add_triples("https://w3id.org/kgart/graph/notes", [(IRI("https://example.org/n"),
                                                             IRI("https://example.org/see"),
                                                             IRI("javascript:alert(document.domain)"))])
    page = client.get("/resource", query_string={"iri": "https://example.org/n"}, headers={"Accept": "text/html"})
    assert page.status_code == 200 and b'href="javascript:' not in page.data and b"javascript:alert" in page.data
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_label_cache_is_bounded_by_the_loaded_languages(app: Flask) -> None:
    client = app.test_client()
    ic = app.extensions["kgart"].iconclass
    for i in range(50):
        client.get("/api/hierarchy/73D", query_string={"lang": f"x-{i:04d}"})
    assert {lang for _, lang in ic._texts} <= set(ic.languages) | {"en"}


@pytest.mark.parametrize("args", [
    ["similar", "x> ?p ?o } #"], ["search", "x", "--target", "artwork", "--graph", "x> ?p ?o } #"],
    ["search", "x", "--under", "x\")) } #"], ["search", "x", "--scheme", "x> } #"],
    ["notation", "73D", "--lang", 'x" }'],
    ["notation", "x> ?p ?o } #"], ["drop", "x> ?p ?o } #"], ["embed", "--kind", "x> } #"],
    ["suggest", "--title", "x", "--scheme", "\\u0053ERVICE"],
    ["query", "SELECT * WHERE { " + "{" * 2500 + "}" * 2500 + " }"],
])
def test_cli_options_refuse_cleanly(args: list[str], tmp_path: Path, listener: Listener) -> None:
    from tests.iconclass_slice import write_iconclass_slice

    runner = CliRunner()
    store = tmp_path / "store"
    assert runner.invoke(main, ["--store", str(store), "load", "iconclass", "--data-dir",
                                str(write_iconclass_slice(tmp_path / "ic"))]).exit_code == 0
    result = runner.invoke(main, ["--store", str(store), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output and listener.connections == 0


def test_security_headers_and_negotiation(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/iconclass/73D")
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Referrer-Policy"] and "Server" not in page.headers
    assert page.headers["Vary"] in ("Accept", "Accept, Cookie")  # pages show who is logged in
    scripts = re.findall(rb"<script[^>]*>", page.data)
    assert all(b' src="/static/' in tag for tag in scripts) and b"style=" not in page.data  # nothing inline
    as_json = client.get("/iconclass/73D", headers={"Accept": "application/json"})
    assert as_json.status_code == 200 and as_json.mimetype == "application/ld+json"
    for media in ("application/trig", "application/n-quads", "image/png"):
        assert client.get("/iconclass/73D", headers={"Accept": media}).status_code == 406
    top = client.get("/iconclass/", headers={"Accept": "text/turtle"})
    assert top.mimetype == "text/turtle" and b"hasTopConcept" in top.data
    assert client.get("/resource", query_string={"iri": "not an iri", "format": "ttl"}).status_code == 400
    assert client.get("/dump/" + quote("https://w3id.org/kgart/graph/ontology", safe="") + ".nt.gz").status_code == 404
