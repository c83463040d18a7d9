"""End to end in headless Chromium (Debian's chromium, driven by Playwright): type a query and
see results, upload an image and see results, walk the Iconclass tree. Screenshots are kept
under tests/screenshots/ (ignored by git) for a person to look at."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).parent / "screenshots"

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                                      reason="Debian chromium not installed (make test installs it)")]


def launch(playwright):  # noqa: ANN001, ANN201
    """Debian's chromium, headless, with nothing that reaches the network."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"])


def start_site(root: Path, model: str) -> tuple[str, object]:
    from kgart.embeddings.job import embed
    from kgart.loaders import load_collection, load_iconclass
    from kgart.web import create_app
    from waitress.server import create_server

    from kgart.settings import load_config
    from kgart.store import Store
    from tests.collection_fixtures import write_collections
    from tests.iconclass_slice import write_iconclass_slice
    from tests.oxigraph_server import free_port

    store = Store(root / "store")
    load_iconclass(store, data_dir=write_iconclass_slice(root / "ic"))
    files = write_collections(root / "in")
    load_collection(store, "rkd", files["rkd_json"])
    embed(store, model=model, kinds=["iconclass", "artwork"])
    app = create_app(load_config({"store": str(root / "store"), "model": model}, env={}), store=store)
    port = free_port()
    server = create_server(app, host="127.0.0.1", port=port, threads=4)
    server.kgart_app = app  # type: ignore[attr-defined]  # for tests that set the app's state
    threading.Thread(target=server.run, daemon=True).start()
    return f"http://127.0.0.1:{port}", server


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url, server = start_site(tmp_path_factory.mktemp("browser"), "minilm")
    yield url
    server.close()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def clip_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The same site with a small randomly initialised open_clip model: image queries run end to end
    (their ranking means nothing: the weights are random)."""
    from tests.tiny_clip import register_tiny_clip

    register_tiny_clip(tmp_path_factory.mktemp("clip-config"), "kgart-tiny-browser")
    url, server = start_site(tmp_path_factory.mktemp("browser-clip"), "clip:kgart-tiny-browser")
    yield url
    server.close()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def page(site: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        yield page
        browser.close()


def test_type_a_query_and_see_results(site: str, page) -> None:  # noqa: ANN001
    SHOTS.mkdir(exist_ok=True)
    page.goto(site + "/")
    page.fill("#q", "the crown of thorns")
    page.click("#go")
    page.wait_for_selector("#results .card")
    assert "73D82(CROWN OF THORNS)" in page.inner_text("#results")
    first = page.query_selector("#results .card .blend")
    assert "vector" in first.get_attribute("aria-label")  # each component's contribution (SVG <title> on hover)
    widths = [p.bounding_box()["width"] for p in first.query_selector_all(".part")]
    assert widths and max(widths) > 0 and "vector" in page.inner_text("#legend")
    page.screenshot(path=str(SHOTS / "search.png"), full_page=True)


def test_upload_an_image_and_see_results(clip_site: str, page, tmp_path: Path) -> None:  # noqa: ANN001
    from PIL import Image

    image = tmp_path / "query.png"
    Image.new("RGB", (64, 48), "red").save(image)
    page.goto(clip_site + "/")
    page.select_option("#target", "artwork")
    page.set_input_files("#image", str(image))
    page.click("#go")
    page.wait_for_selector("#results .card")
    assert len(page.query_selector_all("#results .card")) == 2  # both fixture artworks, ranked
    page.screenshot(path=str(SHOTS / "image-upload.png"), full_page=True)


def test_image_with_a_text_only_model_says_so(site: str, page, tmp_path: Path) -> None:  # noqa: ANN001
    from PIL import Image

    image = tmp_path / "query.png"
    Image.new("RGB", (64, 48), "red").save(image)
    page.goto(site + "/")
    page.set_input_files("#image", str(image))
    page.click("#go")
    page.wait_for_selector("#message")
    assert "cannot encode images" in page.inner_text("#message")


def test_navigate_the_tree(site: str, page) -> None:  # noqa: ANN001
    page.goto(site + "/iconclass/")
    page.click("text=7")
    page.click("#children >> text=73")
    page.click("#children >> text=73D")
    page.wait_for_selector("#artworks")
    assert "The crown of thorns" in page.inner_text("#artworks")
    page.click("#children >> text=73D8")
    crumbs = page.inner_text(".crumbs")
    assert "73D" in crumbs and "73" in crumbs
    page.screenshot(path=str(SHOTS / "iconclass-73D8.png"), full_page=True)
