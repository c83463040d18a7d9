"""Curator review in headless Chromium (Debian's chromium, driven by Playwright): log in, review
three artworks by keyboard, then see the accepted codes in the subsumption search and in the
tree's counts. Screenshots under tests/screenshots/ (ignored by git)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.test_browser import CHROMIUM, SHOTS, launch

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                                      reason="Debian chromium not installed (make test installs it)")]


@pytest.fixture(scope="module")
def review_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    from kgart.embeddings.job import embed
    from kgart.loaders import load_collection, load_iconclass
    from kgart.web import create_app
    from waitress.server import create_server

    from kgart.settings import load_config
    from kgart.store import Store
    from kgart.users import Users
    from tests.collection_fixtures import write_collections
    from tests.iconclass_slice import write_iconclass_slice
    from tests.oxigraph_server import free_port

    root = tmp_path_factory.mktemp("browser-review")
    store = Store(root / "store")
    load_iconclass(store, data_dir=write_iconclass_slice(root / "ic"))
    files = write_collections(root / "in")
    load_collection(store, "rkd", files["rkd_json"])
    load_collection(store, "rkd", files["rkd_csv"], graph="rkd-table")
    embed(store, kinds=["iconclass", "artwork"])
    token = Users(root / "store" / "users.json").add("curator")
    app = create_app(load_config({"store": str(root / "store")}, env={}), store=store)
    port = free_port()
    server = create_server(app, host="127.0.0.1", port=port, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    yield f"http://127.0.0.1:{port}", token
    server.close()
    store.close()


@pytest.fixture(scope="module")
def page(review_site: tuple[str, str]) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        yield page
        browser.close()


def test_review_three_artworks_by_keyboard(review_site: tuple[str, str], page) -> None:  # noqa: ANN001
    site, token = review_site
    SHOTS.mkdir(exist_ok=True)
    page.goto(site + "/login?next=/review/")
    page.fill("#name", "curator")
    page.fill("#token", token)
    page.click("#log-in")
    page.wait_for_selector("#collections")
    assert page.inner_text("#signed-in") == "curator"
    page.screenshot(path=str(SHOTS / "review-collections.png"), full_page=True)
    page.goto(site + "/review/queue?graph=rkd-table")
    titles = page.query_selector_all("#queue a")
    assert len(titles) == 3
    titles[0].click()
    accepted: list[tuple[str, str]] = []
    shots: list[str] = []
    for number in range(3):
        page.wait_for_selector("#title")
        title = page.inner_text("#title")
        if not page.query_selector("#suggestions .suggestion"):
            # An artwork with nothing to suggest from (no title): add a code by notation.
            assert "nothing to suggest from" in page.inner_text("#message")
            code = "31D1"
            page.keyboard.press("/")
            page.keyboard.type(code)
            page.keyboard.press("Enter")
            page.wait_for_selector("#decisions li.accepted")
        else:
            page.wait_for_selector("#suggestions .suggestion.selected")
            page.keyboard.press("j")  # the second suggestion…
            page.keyboard.press("k")  # …and back to the first
            code = page.inner_text("#suggestions .suggestion.selected .notation")
            if not any(c == "review-item" for c in shots):
                page.screenshot(path=str(SHOTS / "review-item.png"), full_page=True)
                shots.append("review-item")
            page.keyboard.press("a")
            page.wait_for_selector("#suggestions .suggestion.accepted")
            page.keyboard.press("j")
            page.keyboard.press("r")  # reject the second
            page.wait_for_selector("#suggestions .suggestion.rejected")
        assert code in page.inner_text("#decisions") and "curator" in page.inner_text("#decisions")
        accepted.append((title, code))
        if number < 2:
            page.keyboard.press("n")
            page.wait_for_function("t => document.querySelector('#title').innerText !== t", arg=title)
    page.screenshot(path=str(SHOTS / "review-decided.png"), full_page=True)
    assert len({t for t, _ in accepted}) == 3  # three different artworks
    # Every accepted code shows at once in the subsumption search and in the tree's counts.
    for title, code in accepted:
        page.goto(f"{site}/?target=artwork&under={quote(code, safe='')}")
        page.wait_for_selector("#results .card")
        assert title in page.inner_text("#results")
    title, code = accepted[0]
    parent = code[:-1] if len(code) > 1 and "(" not in code else code.split("(")[0]
    page.goto(f"{site}/iconclass/{quote(parent, safe='')}")
    if page.query_selector("#children"):
        assert "artwork" in page.inner_text("#children") or "artwork" in page.inner_text("#artworks")
    else:
        assert title in page.inner_text("#artworks")
    page.goto(site + "/review/")
    assert "0" in page.inner_text("#collections")  # nothing left without an accepted code in rkd-table
    page.screenshot(path=str(SHOTS / "review-done.png"), full_page=True)


def test_a_placeholder_stands_in_for_a_missing_image(review_site: tuple[str, str], page) -> None:  # noqa: ANN001
    site, _ = review_site
    page.goto(site + "/review/queue?graph=rkd")
    page.click("#queue a >> nth=0")
    page.wait_for_selector("#image-placeholder")
    # The fixture's images are not reachable offline: the placeholder shows instead.
    page.wait_for_function("() => !document.querySelector('#image-placeholder').classList.contains('hidden')")
