"""While the vectors are computed (kgart demo embeds in the background): search and suggest answer
503 with Retry-After and the progress, every page shows a banner; /api/suggest gives labels."""

from __future__ import annotations

from pathlib import Path

from kgart.embeddings.job import embed
from kgart.loaders import load_collection, load_iconclass
from kgart.web import create_app

from kgart.settings import load_config
from kgart.store import Store
from kgart.users import Users
from tests.collection_fixtures import write_collections
from tests.iconclass_slice import write_iconclass_slice


def test_not_ready_is_503_with_progress_and_a_banner(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    load_iconclass(store, data_dir=write_iconclass_slice(tmp_path / "ic"))
    load_collection(store, "rkd", write_collections(tmp_path / "in")["rkd_json"])
    app = create_app(load_config({"store": str(tmp_path / "store")}, env={}), store=store, users=Users(None))
    services = app.extensions["kgart"]
    services.embedding, services.progress = True, (250, 1000)
    client = app.test_client()
    for url in ("/api/search?q=crown", "/api/suggest?title=crown"):
        response = client.get(url)
        assert response.status_code == 503 and response.headers["Retry-After"] == "30"
        assert response.get_json()["progress"] == {"done": 250, "total": 1000, "percent": 25.0}
    page = client.get("/iconclass/73D")
    assert page.status_code == 200 and b'id="readiness"' in page.data and b"25%" in page.data
    services.embedding = False
    embed(store, kinds=["iconclass", "artwork"])
    services.reset()
    assert b'id="readiness"' not in client.get("/iconclass/73D").data
    codes = client.get("/api/suggest", query_string={"title": "crown of thorns", "lang": "de", "explain": "1"}
                       ).get_json()["codes"]
    assert all(c["label"] for c in codes) and "vector" in codes[0]["components"]
    store.close()
