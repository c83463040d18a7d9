"""What operators watch: /healthz, /readyz (503 with progress while embedding), /metrics (Prometheus),
one access-log line per request."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from kgart.embeddings.job import embed
from kgart.loaders import load_collection, load_iconclass
from kgart.web import create_app

from kgart.settings import load_config
from kgart.store import Store
from kgart.users import Users
from tests.collection_fixtures import write_collections
from tests.iconclass_slice import write_iconclass_slice


def test_health_readiness_and_metrics(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = Store(tmp_path / "store")
    load_iconclass(store, data_dir=write_iconclass_slice(tmp_path / "ic"))
    load_collection(store, "rkd", write_collections(tmp_path / "in")["rkd_json"])
    # The heavy query below runs in a query process, which the timeout kills (a thread would run on).
    app = create_app(load_config({"store": str(tmp_path / "store")}, env={}), store=store, users=Users(None),
                     query_timeout=0.5, query_processes=1)
    client = app.test_client()
    assert client.get("/healthz").get_json() == {"status": "alive"}
    not_yet = client.get("/readyz")
    assert not_yet.status_code == 503 and "kgart embed" in not_yet.get_json()["vectors"]
    services = app.extensions["kgart"]
    services.embedding, services.progress = True, (10, 40)
    busy = client.get("/readyz")
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "30"
    assert busy.get_json()["vectors"]["percent"] == 25.0
    assert "kgart_embedding_progress_ratio 0.25" in client.get("/metrics").data.decode()
    services.embedding = False
    embed(store, kinds=["iconclass", "artwork"])
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["store"] == "open"
    assert list(ready.get_json()["vectors"].values())[0] > 0
    heavy = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
    with caplog.at_level(logging.INFO, logger="kgart.access"):
        assert client.get("/sparql", query_string={"query": heavy}).status_code == 503
        client.get("/iconclass/73D")
        client.get("/no/such/page")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "kgart.access"]
    assert {"route": "/iconclass/<path:notation>", "status": 200} .items() <= lines[1].items()
    assert lines[2]["route"] == "unmatched" and lines[2]["status"] == 404
    text = client.get("/metrics").data.decode()
    assert 'kgart_requests_total{method="GET",route="/healthz",status="200"} 1.0' in text
    assert "kgart_sparql_timeouts_total 1.0" in text
    assert 'kgart_request_seconds_bucket{le="0.005",route="/readyz"}' in text
    assert "kgart_embedding_progress_ratio 1.0" in text and 'kgart_vectors{graph="embeddings/' in text
    services.query_processes.close()
    store.close()


def test_the_lazy_start_up_happens_once_for_requests_arriving_together(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time

    import kgart.embeddings.service as service

    store = Store()
    load_iconclass(store, data_dir=write_iconclass_slice(tmp_path / "ic"))
    embed(store, kinds=["iconclass"])
    app = create_app(load_config({"store": ":memory:"}, env={}), store=store, users=Users(None))
    services = app.extensions["kgart"]
    real, calls = service.open_retriever, []

    def slow_open(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(1)
        time.sleep(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "open_retriever", slow_open)
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(services.retriever())) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(got) == 6 and all(r is got[0] for r in got)
