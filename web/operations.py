"""What operators watch: ``/healthz`` (the process answers), ``/readyz`` (the store answers and the
vectors are ready; 503 with the progress while they are computed) and ``/metrics`` (Prometheus:
requests by route and status, latency, SPARQL query timeouts, embedding progress, vectors per
model), plus one structured access-log line per request (logger ``kgart.access``).

Each app has its own metrics registry (prometheus_client's ``CollectorRegistry``), so that two
apps in one process (tests) never share counts. Under ``kgart serve --workers N`` the workers write
their values to files in ``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode) and
``/metrics`` adds them up, whichever worker answers. Routes are labelled by their URL rule, not the
path, so a client cannot grow the label set.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from kgart.rdf import GRAPH_BASE, IRI

access_log = logging.getLogger("kgart.access")


class Metrics:
    """The app's instruments."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("kgart_requests_total", "HTTP requests answered", ["route", "method", "status"],
                                registry=self.registry)
        self.latency = Histogram("kgart_request_seconds", "Time to answer a request", ["route"],
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
                                 registry=self.registry)
        self.queue_full = Counter("kgart_sparql_queue_full_total",
                                  "SPARQL queries refused (503) because the query queue was full",
                                  registry=self.registry)
        self.queue_depth = Gauge("kgart_sparql_queue_depth", "SPARQL queries running or waiting",
                                 registry=self.registry, multiprocess_mode="livesum")
        self.query_timeouts = Counter("kgart_sparql_timeouts_total", "SPARQL queries stopped at the query timeout",
                                      registry=self.registry)
        self.cache_hits = Counter("kgart_sparql_cache_hits_total",
                                  "SPARQL queries answered from the result cache", registry=self.registry)
        self.linked_data_cache_hits = Counter("kgart_linked_data_cache_hits_total",
                                              "Linked-data representations answered from the result cache",
                                              registry=self.registry)
        self.embedding = Gauge("kgart_embedding_progress_ratio",
                               "Share of the kind being embedded that is done (1 when no job runs)",
                               registry=self.registry, multiprocess_mode="mostrecent")
        self.vectors = Gauge("kgart_vectors", "Stored vectors per model graph", ["graph"], registry=self.registry,
                             multiprocess_mode="mostrecent")


def init_app(app: Flask) -> None:
    metrics = Metrics()
    app.extensions["kgart_metrics"] = metrics
    pool = app.extensions["kgart"].query_processes
    if pool is not None:
        pool.on_depth = metrics.queue_depth.set

    @app.before_request
    def started() -> None:
        g.kgart_started = time.perf_counter()

    @app.after_request
    def measured(response: Response) -> Response:
        elapsed = time.perf_counter() - g.get("kgart_started", time.perf_counter())
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        metrics.requests.labels(route, request.method, str(response.status_code)).inc()
        metrics.latency.labels(route).observe(elapsed)
        access_log.info(json.dumps({"method": request.method, "route": route, "path": request.path[:300],
                                    "status": response.status_code, "ms": round(1000 * elapsed, 1),
                                    "bytes": response.calculate_content_length()}))
        return response


def metrics_of(app: Flask) -> Metrics:
    return app.extensions["kgart_metrics"]


def operations_blueprint() -> Blueprint:
    bp = Blueprint("operations", __name__)
    bp.add_url_rule("/healthz", view_func=healthz)
    bp.add_url_rule("/readyz", view_func=readyz)
    bp.add_url_rule("/metrics", view_func=metrics_page)
    return bp


def healthz() -> Response:
    """Alive: answers without touching the store."""
    return jsonify({"status": "alive"})


def _vector_graphs() -> dict[str, int]:
    """Vectors stored per model graph (``embeddings/{model}``), counted once per store version."""
    services = current_app.extensions["kgart"]
    store = services.store

    def count() -> dict[str, int]:
        out = {}
        for info in store.graphs():
            if info.iri.startswith(GRAPH_BASE + "embeddings/"):
                rows = store.select("SELECT (COUNT(?e) AS ?n) WHERE { GRAPH $g { ?e a kgart:Embedding } }",
                                    {"g": IRI(info.iri)}).rows
                out[info.iri[len(GRAPH_BASE):]] = rows[0].int("n") if rows else 0
        return out

    return dict(services.once_per_version("vector counts", count))


def readyz() -> Response | tuple[Response, int]:
    """Ready: the store answers a query and vectors exist for the configured model (503 otherwise)."""
    services = current_app.extensions["kgart"]
    state: dict[str, Any] = {}
    try:
        services.store.ask("ASK { }")
        state["store"] = "open"
    except Exception as e:  # noqa: BLE001 - any failure of the store means not ready, and says why
        state["store"] = f"unavailable: {type(e).__name__}"
        return jsonify({"status": "not ready", **state}), 503
    not_ready = services.not_ready()
    if not_ready is not None:
        state["vectors"] = {"status": "being computed", "done": not_ready.done, "total": not_ready.total,
                            "percent": not_ready.percent}
        response = jsonify({"status": "not ready", **state})
        response.status_code = 503
        response.headers["Retry-After"] = str(not_ready.retry_after)
        return response
    graphs = _vector_graphs()
    if not graphs:
        return jsonify({"status": "not ready", **state, "vectors": "none yet (kgart embed)"}), 503
    return jsonify({"status": "ready", **state, "vectors": graphs})


def metrics_page() -> Response:
    """The Prometheus exposition of this app's metrics."""
    metrics = metrics_of(current_app)  # type: ignore[arg-type]
    not_ready = current_app.extensions["kgart"].not_ready()
    metrics.embedding.set(1.0 if not_ready is None else not_ready.done / not_ready.total if not_ready.total else 0.0)
    for graph, triples in _vector_graphs().items():
        metrics.vectors.labels(graph).set(triples)
    registry = metrics.registry
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Several server workers (kgart serve --workers): every worker's counts, summed.
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
