"""How the app is served: gunicorn pre-forking one worker process per core, or waitress in one.

Nothing is preloaded: each gunicorn worker builds its own app after the fork, so it opens
the store as a reader that follows what the writer publishes (:mod:`kgart.store`), its
own query processes, at once (in a thread) its index of the Iconclass tree, and on first
use its encoder and vector indexes (memory-mapped: the workers share their pages through
the page cache). SIGTERM stops taking new
connections and lets the requests in flight finish (up to ``graceful_timeout``).
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask

AppFactory = Callable[[], Flask]


def serve_gunicorn(factory: AppFactory, *, host: str, port: int, workers: int, threads: int,
                   worker_timeout: float, graceful_timeout: float = 30.0) -> None:
    """Run ``factory``'s app in ``workers`` pre-forked gunicorn processes (gthread, ``threads`` each)."""
    from gunicorn.app.base import BaseApplication

    metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    assert metrics_dir, "prepare_metrics_dir() is called before anything imports prometheus_client"

    def post_fork(server: Any, worker: Any) -> None:
        share_cores(workers)

    def worker_exit(server: Any, worker: Any) -> None:
        """The worker has finished its requests: it stops its query processes and leaves without
        the interpreter's teardown, in which a native library's destructor crashed (SIGSEGV on
        every shutdown, even of a worker that had answered only /healthz)."""
        import logging
        import sys

        app = getattr(worker, "wsgi", None)
        services = getattr(app, "extensions", {}).get("kgart") if app is not None else None
        if services is not None and services.query_processes is not None:
            services.query_processes.close()
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)

    def child_exit(server: Any, worker: Any) -> None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

    class KgartApplication(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            settings = {"bind": f"{host}:{port}", "workers": workers, "threads": threads,
                        "worker_class": "gthread", "timeout": math.ceil(worker_timeout),
                        "graceful_timeout": math.ceil(graceful_timeout), "keepalive": 5, "preload_app": False,
                        "post_fork": post_fork, "worker_exit": worker_exit, "child_exit": child_exit,
                        "proc_name": "kgart", "accesslog": None,
                        "errorlog": "-", "loglevel": "warning"}
            for name, value in settings.items():
                self.cfg.set(name, value)

        def load(self) -> Flask:
            app = factory()
            services = app.extensions["kgart"]
            threading.Thread(target=services.warm_up, daemon=True, name="kgart-warm-up").start()
            shed = getattr(services.store, "shed_cache", None)
            threading.Thread(target=return_freed_memory, args=(shed,), daemon=True, name="kgart-trim").start()
            return app

    try:
        KgartApplication().run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def share_cores(workers: int) -> None:
    """Each worker's encoder and matrix products get its share of the cores: with every worker
    using every core (and ONNX Runtime's threads spinning while they wait), concurrent
    requests fight over the cores instead of sharing them."""
    from kgart.embeddings.encoders import THREADS_VARIABLE, encoder_threads
    from threadpoolctl import threadpool_limits

    share = max(1, (os.cpu_count() or 1) // max(1, workers))
    os.environ.setdefault(THREADS_VARIABLE, str(share))
    threadpool_limits(encoder_threads() or share)


TRIM_EVERY_S = 5.0  # a crawler fills the store's cache by ~15 MB a second: look often
SHED_AFTER_MB = 64  # growth of a worker's anonymous memory that makes it shed its store's cache


def return_freed_memory(shed_cache: Callable[[], None] | None = None, every: float = TRIM_EVERY_S) -> None:
    """Hand memory the worker freed back to the system, every ``every`` seconds, for ever.

    glibc gives threads that allocate at once arenas of their own and keeps what is freed in
    them: after the first requests (the lazy start-up, sixteen threads) a worker held about
    230 MB it no longer used. One arena for all threads would not, but costs 10-15% of the
    throughput in lock waits; ``malloc_trim`` returns the free pages of every arena in a few
    milliseconds. Nothing happens where the C library is not glibc."""
    trim = _malloc_trim()
    if trim is None:
        return
    keeper = MemoryKeeper(shed_cache, trim=trim)
    while True:
        time.sleep(every)
        keeper.step()


def trim_freed_memory() -> None:
    """``malloc_trim`` once (glibc only): what was just freed goes back to the system."""
    trim = _malloc_trim()
    if trim is not None:
        trim()


def _malloc_trim() -> Callable[[], object] | None:
    """glibc's ``malloc_trim(0)``; None where the C library has none."""
    import ctypes

    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    return lambda: trim(0)


class MemoryKeeper:
    """One look at a worker's memory: trim, and shed the store's cache when it has grown.

    When the worker's anonymous memory has grown by ``shed_after_mb`` since the last shedding
    and has stopped growing (a table being built reads on), ``shed_cache``
    (:meth:`kgart.store.Store.shed_cache`) drops what the store kept of the tables the worker
    read once (about 170 MB after indexing the Iconclass tree). Past twice that growth it sheds
    even while memory still grows: a crawler walking thousands of nodes fills the cache for as
    long as it walks, and the queries running then finish on the handle they have."""

    def __init__(self, shed_cache: Callable[[], None] | None, *, trim: Callable[[], object],
                 measure: Callable[[], float] | None = None, shed_after_mb: float = SHED_AFTER_MB,
                 pause: float = 1.0) -> None:
        self.shed_cache, self.trim, self.shed_after_mb, self.pause = shed_cache, trim, shed_after_mb, pause
        self.measure = measure or anonymous_mb
        self.baseline = self.previous = self.measure()

    def step(self) -> bool:
        """Trim, and shed if due; whether it shed."""
        self.trim()
        now = self.measure()
        settled = now - self.previous < self.shed_after_mb / 4  # not in the middle of building a table
        grown = now - self.baseline
        due = grown > self.shed_after_mb and (settled or grown > 2 * self.shed_after_mb)
        shed = self.shed_cache is not None and due
        if shed:
            assert self.shed_cache is not None
            self.shed_cache()
            time.sleep(self.pause)  # queries that were running on the old handle end
            self.trim()
            now = self.baseline = self.measure()
        self.baseline, self.previous = min(self.baseline, now), now
        return shed


def anonymous_mb() -> float:
    """This process's anonymous memory (its heap, and the storage's caches), in MB; 0 where
    /proc does not tell."""
    try:
        with open("/proc/self/smaps_rollup", encoding="ascii") as rollup:
            for line in rollup:
                if line.startswith("Anonymous:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def prepare_metrics_dir() -> str:
    """Where the workers' Prometheus values meet (multiprocess mode): set before any import of
    prometheus_client, as its multiprocess mode requires."""
    path = tempfile.mkdtemp(prefix="kgart-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return path


def serve_waitress(app: Flask, *, host: str, port: int, threads: int) -> None:
    """One process, ``threads`` threads (where gunicorn cannot run, e.g. Windows)."""
    import waitress

    waitress.serve(app, host=host, port=port, threads=threads, channel_timeout=60, ident="kgart")


__all__ = ["prepare_metrics_dir", "serve_gunicorn", "serve_waitress"]
