"""The web layer: SPARQL protocol, linked data, JSON API and HTML pages (Flask).

``create_app(config)`` builds the app; the store and the retriever are attached
once per process by :class:`KgartServices` and opened lazily, nothing at import time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from flask import Flask
from kgart.web.query_processes import QueryProcesses
from kgart.web.result_cache import ResultCache
from kgart.web.server import trim_freed_memory

from kgart.annotations import Annotations
from kgart.bilingual_dictionaries import Dictionary, find_dictionaries
from kgart.errors import KgartError, NotReadyError
from kgart.iconclass import Iconclass
from kgart.query_translation import Lexicon, learn_beside
from kgart.query_worker import FunctionsSpec
from kgart.retrieval import BlendConfig, Retriever
from kgart.settings import Config, load_config
from kgart.sparql_extensions import KnnRequest
from kgart.store import Store
from kgart.triplestore import TripleStore
from kgart.users import Users, users_path

T = TypeVar("T")


@dataclass
class KgartServices:
    """What the views use: the store, the retriever (built on first use), web settings."""

    config: Config
    store: TripleStore
    update_token: str | None = None
    service_allow: list[str] = field(default_factory=list)
    query_timeout: float = 30.0
    max_result_bytes: int = 50 * 1024 * 1024
    _retriever: Retriever | None = None
    _iconclass: Iconclass | None = None
    embedding: bool = False  # set while a background job (kgart demo) computes the vectors
    progress: tuple[int, int] = (0, 0)  # the job's items done and total
    query_processes: QueryProcesses | None = None  # where /sparql runs queries (None: in a thread)
    result_cache: ResultCache | None = None  # whole answers by request validator (None: off)
    counted: dict[str, tuple[str, Any]] = field(default_factory=dict)  # see once_per_version

    def once_per_version(self, name: str, count: Callable[[], T]) -> T:
        """``count()`` again only when the store has changed (a load, an update, an annotation):
        for counts that walk much of the store and that pages and operators' routes ask for
        often. A store that cannot say its version counts every time."""
        version = self.store.version()
        kept = self.counted.get(name)
        if version is not None and kept is not None and kept[0] == version.tag:
            return kept[1]  # type: ignore[no-any-return]
        value = count()
        if version is not None:
            self.counted[name] = (version.tag, value)
        return value

    def knn(self, request: KnnRequest) -> list[tuple[str, float]]:
        """Evaluate one kgart:similarTo pattern (see kgart.sparql_extensions)."""
        from kgart.retrieval import Query

        retriever = self.retriever()
        if request.target == "concept":
            hits = retriever.search_concepts(Query(text=request.text), k=request.k, under=request.under,
                                             labels=False)
        else:
            hits = retriever.search_items(Query(text=request.text), request.target, k=request.k,
                                          under=request.under)
        return [(h.iri, h.score) for h in hits]

    def similarity_functions(self) -> dict[str, Any]:
        from kgart.embeddings.service import similarity_for

        return similarity_for(self.retriever())

    _starting: threading.Lock = field(default_factory=threading.Lock)

    @cached_property
    def dictionaries(self) -> list[Dictionary]:
        """The bilingual dictionaries the query lexicon learns from (the ``dictionaries`` setting),
        looked up once: the warm-up and the retriever both need them."""
        return find_dictionaries(self.config.dictionaries)

    @property
    def iconclass(self) -> Iconclass:
        """One resolver per process: it indexes the whole tree once."""
        if self._iconclass is None:
            with self._starting:
                if self._iconclass is None:
                    self._iconclass = Iconclass(self.store)
        return self._iconclass

    def warm_up(self) -> None:
        """Index the Iconclass tree now, and learn the query lexicon if the store has none yet (a
        server worker calls this in a thread as it starts): the first requests to a fresh worker
        then wait for them only if they come within seconds."""
        try:
            if self.iconclass.is_loaded:
                self.iconclass.index_tree()
                if BlendConfig.load(self.config.blend_config).translate_queries:
                    self._learn_lexicon()
                self._shed_cache()
        except (KgartError, OSError) as e:  # a store being replaced: the first request builds them instead
            logging.getLogger("kgart").warning("could not index the Iconclass tree or learn the query lexicon "
                                               "at start: %s", e)

    def _learn_lexicon(self) -> None:
        """Have the query lexicon ready before the first search: an on-disk store's is learned, when
        missing or stale, in a process of its own (it reads a million labels); the retriever then
        reads the file."""
        if isinstance(self.store, Store) and self.store.location is not None:
            learn_beside(self.store.location, self.dictionaries)
        else:
            Lexicon.for_store(self.store, self.dictionaries)

    def _shed_cache(self) -> None:
        """Drop the storage's cache of the whole tables just read (see Store.shed_cache)."""
        shed = getattr(self.store, "shed_cache", None)
        if shed is not None:
            shed()
            trim_freed_memory()

    def annotations(self) -> Annotations:
        """The store's annotations, sharing this process's Iconclass resolver."""
        return Annotations(self.store, self.iconclass)

    def reset(self) -> None:
        """Forget the retriever, so that new vectors (a finished embedding job) are used."""
        self._retriever = None

    def not_ready(self) -> NotReadyError | None:
        """While a background job computes the vectors: what to answer, with its progress."""
        if not self.embedding:
            return None
        done, total = self.progress
        share = f"{100.0 * done / total:.0f}% of {total:,} items" if total else "starting"
        return NotReadyError(f"the vectors are still being computed ({share}; kgart demo embeds in the background): "
                             "search works when that ends", done, total)

    def retriever(self) -> Retriever:
        """The retriever; while vectors are being computed, a clear refusal instead of
        results from a half-built index."""
        not_ready = self.not_ready()
        if not_ready is not None:
            raise not_ready
        if self._retriever is None:
            iconclass = self.iconclass
            # Many first requests at once build it once: the others wait for it (the lazy start-up
            # loads the encoder and indexes, seconds and most of a gigabyte).
            with self._starting:
                if self._retriever is None:
                    from kgart.embeddings.service import open_retriever

                    retriever = open_retriever(self.store, model=self.config.model, device=self.config.device,
                                               backend=self.config.index_backend,
                                               blend_config=self.config.blend_config,
                                               usage_counts=self.config.usage_count_files,
                                               dictionaries=self.dictionaries)
                    retriever.iconclass = iconclass  # share the tree index
                    if self.store.location is not None:  # a server worker's store: keep what it read out of memory
                        try:
                            retriever.prepare()
                        except KgartError:
                            pass  # no vectors of that scheme yet: the search says so itself
                        self._shed_cache()
                    self._retriever = retriever
        return self._retriever


def create_app(config: Config | None = None, *, store: Any = None, update_token: str | None = None,
               service_allow: list[str] | None = None, max_upload_bytes: int = 10 * 1024 * 1024,
               query_timeout: float = 30.0, max_result_bytes: int = 50 * 1024 * 1024,
               cors_origins: list[str] | None = None, users: Users | None = None,
               query_processes: int = 0, query_queue: int = 8, query_cache_bytes: int = 16 * 1024 * 1024) -> Flask:
    """The kgart web app over a store (opened from ``config`` when not given).

    ``query_timeout`` (seconds) and ``max_result_bytes`` bound each SPARQL query;
    ``cors_origins`` lists the origins allowed to call the API and /sparql from a browser;
    ``users`` who may write (default: the users file of the store, see :mod:`kgart.users`);
    ``query_processes`` > 0 runs /sparql queries on an on-disk store in that many processes, killed
    at the timeout, with ``query_queue`` more waiting (see :mod:`kgart.web.query_processes`);
    ``query_cache_bytes`` of whole SPARQL results and linked-data representations are kept for
    identical GETs (0: none; see :mod:`kgart.web.result_cache`).
    """
    from kgart.web import (
        annotation_protocol,
        api,
        auth,
        caching,
        errors,
        ld,
        models,
        operations,
        review,
        schemes,
        security,
        sparql,
        ui,
    )

    config = config or load_config()
    if store is None:
        from kgart.stores import open_store

        store = open_store(config)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = max_upload_bytes
    services = KgartServices(config, store, update_token, service_allow or [], query_timeout, max_result_bytes)
    if query_processes > 0 and isinstance(store, Store) and store.location is not None:
        services.query_processes = QueryProcesses(
            str(store.location), size=query_processes, waiting=query_queue,
            functions=FunctionsSpec("kgart.embeddings.service:similarity_over_store",
                                    (config.model, config.device, config.index_backend)))
    if query_cache_bytes > 0:
        services.result_cache = ResultCache(query_cache_bytes)
    app.extensions["kgart"] = services
    if cors_origins:
        from flask_cors import CORS

        CORS(app, resources={r"/api/*": {"origins": cors_origins}, r"/sparql": {"origins": cors_origins}})
    app.register_blueprint(sparql.sparql_blueprint())
    app.register_blueprint(ld.ld_blueprint())
    app.register_blueprint(api.api_blueprint())
    app.register_blueprint(ui.ui_blueprint())
    app.register_blueprint(schemes.schemes_blueprint())
    app.register_blueprint(models.models_blueprint())
    app.register_blueprint(annotation_protocol.annotations_blueprint())
    app.register_blueprint(review.review_blueprint())
    app.register_blueprint(auth.auth_blueprint())
    app.register_blueprint(operations.operations_blueprint())
    operations.init_app(app)
    if users is None:
        if isinstance(store, Store):
            where = str(store.location) if store.location is not None else None
        else:
            where = config.store_location
        users = Users(users_path(where, config.users_file))
    auth.init_app(app, users)

    @app.context_processor
    def readiness() -> dict[str, Any]:
        """The banner every page shows while the vectors are computed."""
        not_ready = app.extensions["kgart"].not_ready()
        if not_ready is None:
            return {"embedding": None}
        done, total = not_ready.done, not_ready.total
        return {"embedding": {"done": done, "total": total, "percent": round(100.0 * done / total) if total else 0}}
    errors.init_app(app)
    security.init_app(app)
    caching.init_app(app)
    return app


__all__ = ["KgartServices", "Store", "create_app"]
