"""The Web Annotation Protocol over real HTTP (a waitress server on a loopback port): create,
read, update with ETag (412 when stale), delete, container paging, Prefer, content negotiation;
401/403 without or with a wrong token or for someone else's annotation; a form POST without its
CSRF token refused; bad bodies answered 4xx with nothing stored."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import pytest
import rdflib
from kgart.loaders import load_collection, load_iconclass
from kgart.web import create_app

from kgart.annotations import Annotations
from kgart.settings import load_config
from kgart.store import Store
from kgart.users import Users
from tests.collection_fixtures import write_collections
from tests.iconclass_slice import write_iconclass_slice
from tests.oxigraph_server import free_port

ARTWORK = "https://w3id.org/kgart/artwork/rkd/198783"
PROFILE = 'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"'


class Site:
    def __init__(self, url: str, store: Store, tokens: dict[str, str]) -> None:
        self.url, self.store, self.tokens = url, store, tokens

    def call(self, method: str, path: str, body: bytes | dict[str, Any] | None = None, *, user: str | None = "ann",
             headers: dict[str, str] | None = None) -> tuple[int, Any, bytes]:
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if isinstance(body, dict):
            request.add_header("Content-Type", PROFILE)
        if user is not None:
            request.add_header("Authorization", f"Bearer {self.tokens.get(user, user)}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, _headers(response.headers), response.read()
        except urllib.error.HTTPError as e:
            return e.code, _headers(e.headers), e.read()


def _headers(message: Any) -> Any:
    """Header names in any case, repeated headers joined (Link comes twice)."""
    from werkzeug.datastructures import Headers

    joined = Headers()
    for name in dict.fromkeys(k.lower() for k in message.keys()):
        joined[name] = ", ".join(message.get_all(name))
    return joined


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    from waitress.server import create_server

    root = tmp_path_factory.mktemp("wap")
    store = Store(root / "store")
    load_iconclass(store, data_dir=write_iconclass_slice(root / "ic"))
    load_collection(store, "rkd", write_collections(root / "in")["rkd_json"])
    users = Users(root / "store" / "users.json")
    tokens = {"ann": users.add("ann"), "bob": users.add("bob"), "ed": users.add("ed", editor=True)}
    app = create_app(load_config({"store": str(root / "store")}, env={}), store=store)
    port = free_port()
    server = create_server(app, host="127.0.0.1", port=port, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    yield Site(f"http://127.0.0.1:{port}", store, tokens)
    server.close()
    store.close()


def annotation(concept: str = "http://iconclass.org/73D82", target: Any = ARTWORK, **extra: Any) -> dict[str, Any]:
    return {"@context": "http://www.w3.org/ns/anno.jsonld", "type": "Annotation", "motivation": "classifying",
            "body": {"type": "SpecificResource", "source": concept, "purpose": "classifying"},
            "target": target, **extra}


def test_create_read_update_delete_with_etags(site: Site) -> None:
    region = {"type": "SpecificResource", "source": ARTWORK,
              "selector": {"type": "FragmentSelector", "conformsTo": "http://www.w3.org/TR/media-frags/",
                           "value": "xywh=10,10,200,100"}}
    status, headers, body = site.call("POST", "/annotations/", annotation(target=region, id="urn:x:client"),
                                      headers={"Slug": "crown"})
    assert status == 201, body
    location = headers["Location"]
    assert location.startswith(site.url + "/annotations/crown-") and headers["ETag"]
    created = json.loads(body)
    assert created["id"].startswith("https://w3id.org/kgart/annotations/crown-")
    assert created["via"] == "urn:x:client" and created["creator"] == "https://w3id.org/kgart/users/ann"
    assert created["target"]["selector"]["value"] == "xywh=10,10,200,100"
    assert created["status"] == "proposed"
    path = location[len(site.url):]
    status, headers, body = site.call("GET", path, user=None)
    assert status == 200 and headers["Content-Type"] == PROFILE and 'ldp#Resource>; rel="type"' in headers["Link"]
    assert "PUT" in headers["Allow"] and headers["Vary"] == "Accept"
    tag = headers["ETag"]
    assert site.call("GET", path, user=None, headers={"If-None-Match": tag})[0] == 304
    accepted = dict(json.loads(body), status="accepted")
    status, headers, body = site.call("PUT", path, accepted, headers={"If-Match": tag})
    assert status == 200, body
    assert json.loads(body)["status"] == "accepted" and headers["ETag"] != tag
    assert site.call("PUT", path, accepted, headers={"If-Match": tag})[0] == 412  # stale
    assert site.store.ask("ASK { $a dcterms:subject ?c }", {"a": __import__("kgart.rdf").rdf.IRI(ARTWORK)})
    assert site.call("DELETE", path, headers={"If-Match": tag})[0] == 412
    assert site.call("DELETE", path, headers={"If-Match": headers["ETag"]})[0] == 204
    assert site.call("GET", path, user=None)[0] == 404


def test_turtle_and_conneg(site: Site) -> None:
    status, headers, _ = site.call("POST", "/annotations/", annotation())
    path = headers["Location"][len(site.url):]
    status, headers, body = site.call("GET", path, user=None, headers={"Accept": "text/turtle"})
    assert status == 200 and headers["Content-Type"].startswith("text/turtle")
    graph = rdflib.Graph().parse(data=body.decode(), format="turtle")
    assert len(graph) > 5
    assert site.call("GET", path, user=None, headers={"Accept": "image/png"})[0] == 406
    turtle = (b"@prefix oa: <http://www.w3.org/ns/oa#> . <> a oa:Annotation ; oa:motivatedBy oa:classifying ; "
              b"oa:hasBody <http://iconclass.org/11H> ; oa:hasTarget <" + ARTWORK.encode() + b"> .")
    status, headers, body = site.call("POST", "/annotations/", turtle, headers={"Content-Type": "text/turtle"})
    assert status == 201, body
    assert json.loads(body)["body"] == "http://iconclass.org/11H"


def test_container_pages_and_prefer(site: Site) -> None:
    for _ in range(3):
        assert site.call("POST", "/annotations/", annotation())[0] == 201
    total = Annotations(site.store).count()
    status, headers, body = site.call("GET", "/annotations/", user=None)
    assert status == 200 and 'ldp#BasicContainer>; rel="type"' in headers["Link"]
    assert "constrainedBy" in headers["Link"] and "POST" in headers["Allow"] and "Accept-Post" in headers
    container = json.loads(body)
    assert container["total"] == total and "BasicContainer" in container["type"]
    assert len(container["first"]["items"]) == min(total, 50) and isinstance(container["first"]["items"][0], dict)
    iris = json.loads(site.call("GET", "/annotations/", user=None, headers={
        "Prefer": 'return=representation;include="http://www.w3.org/ns/oa#PreferContainedIRIs"'})[2])
    assert all(isinstance(i, str) for i in iris["first"]["items"])
    minimal = json.loads(site.call("GET", "/annotations/", user=None, headers={
        "Prefer": 'return=representation;include="http://www.w3.org/ns/ldp#PreferMinimalContainer"'})[2])
    assert isinstance(minimal["first"], str)
    page = json.loads(site.call("GET", "/annotations/?page=0", user=None)[2])
    assert page["type"] == "AnnotationPage" and page["partOf"]["total"] == total and page["startIndex"] == 0
    assert site.call("GET", "/annotations/?page=99", user=None)[0] == 404
    assert site.call("GET", "/annotations/?page=x", user=None)[0] == 400


def test_writes_need_the_right_user(site: Site) -> None:
    assert site.call("POST", "/annotations/", annotation(), user=None)[0] == 401
    status, headers, _ = site.call("POST", "/annotations/", annotation(), user="not-a-token")
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    status, headers, body = site.call("POST", "/annotations/", annotation(), user="ann")
    path = headers["Location"][len(site.url):]
    document = json.loads(body)
    assert site.call("PUT", path, document, user="bob")[0] == 403
    assert site.call("DELETE", path, user="bob")[0] == 403
    assert site.call("PUT", path, dict(document, status="rejected"), user="ed")[0] == 200  # an editor may
    assert site.call("DELETE", path, user="ann")[0] == 204


@pytest.mark.parametrize("body, content_type", [
    (annotation(concept="http://iconclass.org/99ZZZ9"), None),  # unknown concept
    (annotation(concept="https://example.org/not-a-concept"), None),
    (annotation(target="https://w3id.org/kgart/artwork/rkd/none"), None),  # no such target
    ({"@context": "http://www.w3.org/ns/anno.jsonld", "type": "Annotation"}, None),  # no target
    ({"@context": "http://127.0.0.1:9/ctx.jsonld", "type": "Annotation"}, None),  # a remote context: never fetched
    (b"{not json", PROFILE),
    (b"[" * 100_000 + b"]" * 100_000, PROFILE),
    (b"<> a <http://www.w3.org/ns/oa#Annotation> .", "application/x-unknown"),
    (b"@prefix : <x> . :a :b", "text/turtle"),
    (b"x" * (10 * 1024 * 1024), PROFILE),
])
def test_bad_bodies_are_refused_and_nothing_is_stored(site: Site, body: Any, content_type: str | None) -> None:
    before = Annotations(site.store).count(), Annotations(site.store).version()
    headers = {"Content-Type": content_type} if content_type else {}
    status, _, answer = site.call("POST", "/annotations/", body, headers=headers)
    assert 400 <= status < 500, answer[:200]
    if status != 413:
        assert "error" in json.loads(answer)
    assert (Annotations(site.store).count(), Annotations(site.store).version()) == before


def test_session_writes_need_the_csrf_token(site: Site) -> None:
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(site.url + "/login").read().decode()
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    form = f"csrf_token={csrf}&name=ann&token={site.tokens['ann']}&next=/review/".encode()
    opener.open(urllib.request.Request(site.url + "/login", data=form))
    cookie = next(c for c in jar if c.name == "session")
    assert cookie.has_nonstandard_attr("HttpOnly") and "SameSite" in str(cookie._rest)  # noqa: SLF001

    def post(data: bytes) -> int:
        try:
            return opener.open(urllib.request.Request(site.url + "/review/decide", data=data)).status
        except urllib.error.HTTPError as e:
            return e.code

    decide = f"graph=rkd&artwork={ARTWORK}&concept=31D1&status=accepted".encode()
    before = Annotations(site.store).count()
    assert post(decide) == 400  # the cookie alone is not enough
    assert Annotations(site.store).count() == before
    review = opener.open(site.url + f"/review/item?graph=rkd&iri={ARTWORK}").read().decode()
    token = review.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert post(decide + f"&csrf_token={token}".encode()) == 200  # redirected back to the review page
    assert Annotations(site.store).count() == before + 1
    decision, = [d for d in Annotations(site.store).decisions([ARTWORK]) if str(d.concept).endswith("/31D1")]
    assert decision.status == "accepted" and decision.creator.endswith("/users/ann")


def test_a_server_without_users_is_read_only(tmp_path: Path) -> None:
    store = Store()
    load_iconclass(store, data_dir=write_iconclass_slice(tmp_path / "ic"))
    app = create_app(load_config({"store": ":memory:"}, env={}), store=store, users=Users(None))
    client = app.test_client()
    response = client.post("/annotations/", data=json.dumps(annotation()), content_type=PROFILE)
    assert response.status_code == 403 and "read-only" in response.get_json()["error"]
    assert client.get("/annotations/").status_code == 200
