"""The front door in headless Chromium: the home page, the SPARQL editor (type a query, run it, click
an IRI in the results), an artwork page, a concept page at two widths, the readiness banner; axe-core
checks every page for serious and critical violations. Screenshots under tests/screenshots/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_browser import CHROMIUM, SHOTS, launch, start_site

AXE = Path(__file__).resolve().parents[1] / "web" / "assets" / "node_modules" / "axe-core" / "axe.min.js"
EDITOR = Path(__file__).resolve().parents[1] / "web" / "static" / "vendor" / "yasgui" / "yasgui.min.js"
pytestmark = [pytest.mark.browser, pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                                      reason="Debian chromium not installed (make test installs it)")]
AXE_COUNTS: dict[str, int] = {}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, object]]:
    url, server = start_site(tmp_path_factory.mktemp("pages"), "minilm")
    yield url, server
    server.close()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = launch(p)
        yield chromium
        chromium.close()


def open_page(browser, width: int):  # noqa: ANN001, ANN201
    # bypass_csp lets the test inject axe-core; the pages themselves run under kgart's CSP otherwise.
    context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    return context.new_page()


def check_accessibility(page, name: str) -> None:  # noqa: ANN001
    """axe-core on the page as it stands: no serious or critical violation."""
    if not AXE.exists():
        pytest.skip("axe-core not installed (make assets)")
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    AXE_COUNTS[name] = len(bad)
    assert not bad, json.dumps([(v["id"], v["impact"], [n["target"] for n in v["nodes"][:3]]) for v in bad])


@pytest.mark.parametrize("width", [1280, 390])
def test_home_page(site, browser, width: int) -> None:  # noqa: ANN001
    page = open_page(browser, width)
    page.goto(site[0] + "/")
    assert "rkd" in page.inner_text("#collections") and "Bible" in page.inner_text("#top-level")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"home-{width}.png"), full_page=True)
    check_accessibility(page, f"home-{width}")
    page.click("#examples a >> nth=0")
    page.wait_for_selector("#results .card")
    check_accessibility(page, f"search-{width}")
    page.close()


@pytest.mark.skipif(not EDITOR.exists(), reason="the editor's assets are not installed (make assets)")
def test_sparql_editor_runs_a_query_and_links_iris(site, browser) -> None:  # noqa: ANN001
    page = open_page(browser, 1280)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(site[0] + "/sparql")
    page.wait_for_selector(".yasqe .CodeMirror")
    page.click(".yasqe .CodeMirror")
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.type("PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n")
    page.keyboard.type('SELECT ?c WHERE { ?c skos:notation "73D82"')
    typed = page.evaluate("() => window.kgartYasgui.getTab().getQuery()")
    if not typed.rstrip().endswith("}"):
        page.keyboard.type(" }")  # the editor may close the brace itself
    assert "73D82" in page.evaluate("() => window.kgartYasgui.getTab().getQuery()")
    page.click(".yasqe .yasqe_queryButton")
    link = page.wait_for_selector(".yasr a[href^='/iconclass/']")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "sparql-editor.png"), full_page=True)
    check_accessibility(page, "sparql")
    link.click()
    page.wait_for_url("**/iconclass/73D82**")
    assert "single instruments of the Passion" in page.inner_text("h1")
    page.goto(site[0] + "/sparql")
    page.click("button.example >> nth=5")  # graphs and their sizes, loaded and run with one click
    page.wait_for_selector(".yasr a[href='/graph/iconclass'], .yasr td")
    assert not errors, errors
    page.close()


def test_artwork_page(site, browser) -> None:  # noqa: ANN001
    page = open_page(browser, 1280)
    page.goto(site[0] + "/artwork/rkd/193334")
    assert "Reymerswale" in page.inner_text("main") and "rkd" in page.inner_text("main")
    page.wait_for_selector(".placeholder:not(.hidden)")  # the image cannot be fetched offline
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "artwork.png"), full_page=True)
    check_accessibility(page, "artwork")
    page.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_concept_page(site, browser, width: int) -> None:  # noqa: ANN001
    page = open_page(browser, width)
    page.goto(site[0] + "/iconclass/11H?lang=de")
    assert "Heilige" in page.inner_text("h1")
    assert page.query_selector("#labels") and page.query_selector("#similar-concepts")
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"the page is {overflow}px wider than the screen"
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"concept-{width}.png"), full_page=True)
    check_accessibility(page, f"concept-{width}")
    page.close()


def test_readiness_banner(site, browser) -> None:  # noqa: ANN001
    url, server = site
    services = server.kgart_app.extensions["kgart"]  # type: ignore[attr-defined]
    services.embedding, services.progress = True, (120, 480)
    try:
        page = open_page(browser, 1280)
        page.goto(url + "/")
        assert "25%" in page.inner_text("#readiness")
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / "readiness.png"))
        check_accessibility(page, "readiness")
        page.close()
    finally:
        services.embedding = False


def test_review_pages_are_accessible(site, browser) -> None:  # noqa: ANN001
    page = open_page(browser, 1280)
    for path in ("/review/", "/review/queue?graph=rkd", "/login", "/scheme/", "/models"):
        page.goto(site[0] + path)
        check_accessibility(page, path)
    page.goto(site[0] + "/review/queue?graph=rkd")
    page.click("#queue a >> nth=0")
    page.wait_for_selector("#title")
    check_accessibility(page, "review-item")
    print("axe serious+critical violations per page:", AXE_COUNTS)
    page.close()
