"""Serving from every core with limits that hold: the real `kgart serve` (gunicorn, several worker
processes) over HTTP, its query processes, the store's published generations, HTTP caching."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from kgart.rdf import IRI, Literal
from kgart.store import Store
from tests.iconclass_slice import write_iconclass_slice
from tests.oxigraph_server import free_port

HEAVY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
EX = "https://example.org/"


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from kgart.loaders import load_iconclass

    root = tmp_path_factory.mktemp("serving")
    with Store(root / "store") as store:
        load_iconclass(store, data_dir=write_iconclass_slice(root / "ic"))
    return root / "store"


class Server:
    def __init__(self, store: Path, *options: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        kgart = str(Path(sys.executable).with_name("kgart"))
        self.process = subprocess.Popen([kgart, "--store", str(store), "serve", "--port", str(self.port),
                                         "--no-access-log", *options],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(300):
            if self.process.poll() is not None:
                raise RuntimeError(self.process.stderr.read().decode()[-2000:])  # type: ignore[union-attr]
            try:
                if urllib.request.urlopen(self.base + "/healthz", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        time.sleep(1.0)  # the query processes start in the background

    def get(self, path: str, headers: dict[str, str] | None = None, timeout: float = 60
            ) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(self.base + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def sparql(self, query: str, timeout: float = 60) -> tuple[int, dict[str, str], bytes]:
        return self.get("/sparql?" + urllib.parse.urlencode({"query": query}),
                        {"Accept": "application/sparql-results+json"}, timeout)

    def tree_cpu_seconds(self) -> float:
        """CPU time of the server and every process below it (from /proc)."""
        children: dict[int, list[int]] = {}
        stats: dict[int, list[str]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                stats[int(entry.name)] = fields
                children.setdefault(int(fields[1]), []).append(int(entry.name))
        total, todo = 0.0, [self.process.pid]
        while todo:
            pid = todo.pop()
            if pid in stats:
                total += (int(stats[pid][11]) + int(stats[pid][12])) / os.sysconf("SC_CLK_TCK")
            todo += children.get(pid, [])
        return total

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.process.stderr is not None:
            self.process.stderr.close()


@pytest.fixture(scope="module")
def server(store_dir: Path) -> Iterator[Server]:
    running = Server(store_dir, "--workers", "2", "--threads", "6", "--query-processes", "1", "--query-queue", "0",
                     "--query-timeout", "2", "--max-result-mb", "0.1")
    yield running
    running.stop()


def test_a_query_past_the_timeout_is_stopped_and_frees_its_core(server: Server) -> None:
    started = time.monotonic()
    status, headers, body = server.sparql(HEAVY)
    took = time.monotonic() - started
    assert status == 503 and b"timeout" in body and 1.9 < took < 4.0, (status, took, body[:200])
    time.sleep(1.0)
    before = server.tree_cpu_seconds()
    time.sleep(1.0)
    assert server.tree_cpu_seconds() - before < 0.5  # the query's process was killed, not left running
    assert server.sparql("ASK {}")[0] == 200


def test_a_full_queue_is_refused_at_once_with_retry_after(server: Server) -> None:
    # 2 workers x (1 query + 1 lowered in priority), no queue: of 6 heavy queries at once, at least 2
    # find no room.
    results: list[tuple[int, dict[str, str], float]] = []

    def one() -> None:
        started = time.monotonic()
        status, headers, _ = server.sparql(HEAVY)
        results.append((status, headers, time.monotonic() - started))

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    refused = [r for r in results if r[2] < 1.5]
    assert all(r[0] == 503 for r in results)
    assert len(refused) >= 2 and all(r[1].get("Retry-After") == "1" for r in refused)
    metrics = server.get("/metrics")[2].decode()
    assert "kgart_sparql_queue_full_total" in metrics


def test_a_result_past_the_cap_is_refused_without_being_built(server: Server) -> None:
    status, _, body = server.sparql("SELECT * WHERE { ?s ?p ?o . ?a ?b ?c }")
    assert status == 413 and b"larger than" in body
    status, _, body = server.sparql("SELECT * WHERE { ?s ?p ?o } LIMIT 3")
    assert status == 200 and len(json.loads(body)["results"]["bindings"]) == 3


def test_conditional_requests_get_304_until_a_write(server: Server, store_dir: Path) -> None:
    path, accept = "/iconclass/73D", {"Accept": "text/turtle"}
    status, headers, body = server.get(path, accept)
    tag = headers["ETag"]
    assert status == 200 and tag.startswith('W/"g') and headers["Last-Modified"].endswith("GMT")
    assert "Accept" in headers["Vary"] and "must-revalidate" in headers["Cache-Control"]
    for _ in range(4):  # whichever worker answers
        assert server.get(path, {**accept, "If-None-Match": tag})[0] == 304
    assert server.get(path, {"Accept": "application/ld+json", "If-None-Match": tag})[0] == 200
    assert server.get(path, {**accept, "If-Modified-Since": headers["Last-Modified"]})[0] == 304
    api = server.get("/api/hierarchy/73D")
    assert api[0] == 200 and server.get("/api/hierarchy/73D", {"If-None-Match": api[1]["ETag"]})[0] == 304
    # Another process writes (as `kgart load` or `kgart update` would): every worker sees it.
    with Store(store_dir) as writer:
        writer.add_triples(EX + "graph/extra", [(IRI(EX + "a"), IRI(EX + "p"), Literal("new"))])
    deadline = time.monotonic() + 1.0
    seen = []
    while time.monotonic() < deadline and len(seen) < 4:
        status, headers, _ = server.get(path, {**accept, "If-None-Match": tag})
        if status == 200:
            seen.append(headers["ETag"])
    assert len(seen) == 4 and all(t != tag for t in seen)
    status, _, body = server.sparql(f"ASK {{ <{EX}a> <{EX}p> \"new\" }}")
    assert status == 200 and json.loads(body)["boolean"] is True


def test_a_repeated_query_comes_from_the_result_cache_until_the_store_changes(server: Server,
                                                                              store_dir: Path) -> None:
    query = f"SELECT (COUNT(*) AS ?n) WHERE {{ ?s <{EX}cached> ?o }}"

    def count() -> int:
        status, _, body = server.sparql(query)
        assert status == 200
        return int(json.loads(body)["results"]["bindings"][0]["n"]["value"])

    def hits() -> float:
        text = server.get("/metrics")[2].decode()
        return sum(float(x.rsplit(" ", 1)[1]) for x in text.splitlines()
                   if x.startswith("kgart_sparql_cache_hits_total"))

    before = hits()
    assert [count() for _ in range(6)] == [0] * 6  # both workers: each computes once, then keeps it
    assert hits() - before >= 4
    assert count_uncached(server, "SELECT (RAND() AS ?r) WHERE {}") == 3  # never kept: a new value each time
    with Store(store_dir) as writer:
        writer.add_triples(EX + "graph/cached", [(IRI(EX + "a"), IRI(EX + "cached"), Literal("x"))])
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline and count() == 0:
        time.sleep(0.05)
    assert [count() for _ in range(4)] == [1] * 4  # the write made every kept result unreachable


def test_a_repeated_dereference_comes_from_the_cache_until_the_store_changes(server: Server,
                                                                             store_dir: Path) -> None:
    path, accept = "/iconclass/73D8", {"Accept": "text/turtle"}

    def hits() -> float:
        text = server.get("/metrics")[2].decode()
        return sum(float(x.rsplit(" ", 1)[1]) for x in text.splitlines()
                   if x.startswith("kgart_linked_data_cache_hits_total"))

    before = hits()
    bodies = {server.get(path, accept)[2] for _ in range(6)}
    assert len(bodies) == 1 and hits() - before >= 4  # both workers: each builds it once, then keeps it
    kept = hits()
    assert all(server.get(path, {"Accept": "text/html"})[0] == 200 for _ in range(4))
    assert hits() == kept  # pages are made afresh (they show who is signed in)
    with Store(store_dir) as writer:  # a new label of this very concept, written by another process
        writer.add_triples(EX + "graph/labels", [(IRI("http://iconclass.org/73D8"),
                                                  IRI("http://www.w3.org/2004/02/skos/core#altLabel"),
                                                  Literal("kept-or-not"))])
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline and b"kept-or-not" not in server.get(path, accept)[2]:
        time.sleep(0.05)
    assert all(b"kept-or-not" in server.get(path, accept)[2] for _ in range(4))


def count_uncached(server: Server, query: str) -> int:
    """How many different answers three identical requests got."""
    return len({server.sparql(query)[2] for _ in range(3)})


def test_metrics_add_up_every_worker(server: Server) -> None:
    for _ in range(20):
        server.get("/healthz")
    text = server.get("/metrics")[2].decode()
    line = next(x for x in text.splitlines() if x.startswith("kgart_requests_total") and '"/healthz"' in x)
    assert float(line.rsplit(" ", 1)[1]) >= 20
    assert "kgart_sparql_timeouts_total" in text and "kgart_request_seconds_bucket" in text


def test_hostile_inputs_cost_bounded_time_and_the_server_stays_up(server: Server) -> None:
    probes = [
        "/api/autocomplete?" + urllib.parse.urlencode({"q": "word " * 20_000}),
        "/api/search?" + urllib.parse.urlencode({"q": "word " * 4_000}),
        "/api/hierarchy/" + "25F:" * 6000 + "25F",
        "/api/hierarchy/" + "0" * 40_000,
    ]
    for path in probes:
        started = time.monotonic()
        status, _, _ = server.get(path, timeout=30)
        assert status in (400, 404, 414, 431) and time.monotonic() - started < 5, (path[:60], status)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    started = time.monotonic()
    conn.request("POST", "/api/suggest", body=urllib.parse.urlencode({"title": "x " * 415_000}),
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    response = conn.getresponse()
    response.read()
    conn.close()
    assert response.status in (400, 413) and time.monotonic() - started < 5
    assert server.get("/healthz")[0] == 200


def test_sigterm_lets_requests_in_flight_finish(store_dir: Path) -> None:
    running = Server(store_dir, "--workers", "1", "--query-processes", "1", "--query-timeout", "2")
    try:
        answers: list[int] = []
        slow = threading.Thread(target=lambda: answers.append(running.sparql(HEAVY)[0]))
        slow.start()
        time.sleep(0.5)
        running.process.send_signal(signal.SIGTERM)
        slow.join(timeout=20)
        assert answers == [503]  # a whole answer (the timeout's), not a dropped connection
        assert running.process.wait(timeout=20) == 0
        log = running.process.stderr.read().decode()  # type: ignore[union-attr]
        assert "was sent SIG" not in log, log[-2000:]  # the worker left cleanly, not by a crash in teardown
    finally:
        running.stop()


def test_a_crashing_query_process_costs_that_query_only(store_dir: Path) -> None:
    from kgart.web.query_processes import QueryCrashed, QueryProcesses, ResultTooLarge

    from kgart.errors import QueryError

    pool = QueryProcesses(str(store_dir), size=1, waiting=0)
    pool.start()
    try:
        victim = pool._idle[0].process.pid
        threading.Timer(0.5, lambda: os.kill(victim, signal.SIGSEGV)).start()
        with pytest.raises(QueryCrashed):
            pool.run(HEAVY, "application/sparql-results+json", timeout=10, max_bytes=10_000)
        stream = pool.run("ASK {}", "application/sparql-results+json", timeout=30, max_bytes=10_000)
        assert stream.complete and b"true" in stream.head
        with pytest.raises(QueryError):
            pool.run("SELEC nothing", "application/sparql-results+json", timeout=30, max_bytes=10_000)
        # Streamed past the first chunks, then cut at the cap.
        big = pool.run("SELECT * WHERE { ?s ?p ?o . ?a ?b ?c }", "application/sparql-results+json", timeout=30,
                       max_bytes=2_000_000)
        assert not big.complete or len(big.head) < 2_000_000
        if not big.complete:
            with pytest.raises(ResultTooLarge):
                for _ in big:
                    pass
    finally:
        pool.close()


def test_a_quick_query_is_not_queued_behind_heavy_ones_and_a_storm_leaves_no_round_of_start_ups(
        store_dir: Path) -> None:
    from kgart.web.query_processes import QueryProcesses, QueryTimeout

    pool = QueryProcesses(str(store_dir), size=1, waiting=4, warm=1)
    pool.start()
    outcomes: list[str] = []

    def heavy() -> None:
        try:
            pool.run(HEAVY, "application/sparql-results+json", timeout=6, max_bytes=10_000)
            outcomes.append("answered")
        except QueryTimeout:
            outcomes.append("timeout")

    storm = [threading.Thread(target=heavy) for _ in range(3)]
    try:
        for t in storm:
            t.start()
        time.sleep(1.0)  # all three run, lowered in priority, past the quarter second
        started = time.monotonic()
        stream = pool.run("ASK {}", "application/sparql-results+json", timeout=10, max_bytes=10_000)
        # Queued behind them it would wait 5 s; a fresh process is forked instead (here the child
        # also re-imports pytest, its __main__: slower than under `kgart serve`).
        assert stream.complete and b"true" in stream.head and time.monotonic() - started < 3.0
        for t in storm:
            t.join()
        assert outcomes == ["timeout"] * 3
        time.sleep(0.5)
        assert pool._alive == 1  # the three killed ones were not replaced beyond the warm one
    finally:
        pool.close()


def test_a_write_in_one_process_is_seen_by_readers_in_others(tmp_path: Path) -> None:
    location = tmp_path / "store"
    Store(location).close()
    reader = Store(location, read_only=True)
    worker = Store(location, shared=True)
    script = textwrap.dedent(f"""
        from kgart.rdf import IRI, Literal
        from kgart.store import Store
        with Store({str(location)!r}, shared=True) as s:
            s.add_triples("{EX}g", [(IRI("{EX}x"), IRI("{EX}p"), Literal("from another process"))])
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert reader.count(EX + "g") == 1 and worker.count(EX + "g") == 1
    worker.add_triples(EX + "g", [(IRI(EX + "y"), IRI(EX + "p"), Literal("from this one"))])
    assert reader.count(EX + "g") == 2
    generations = sorted(p.name for p in location.iterdir() if p.name.startswith("gen-") and p.is_dir())
    assert len(generations) <= 3  # the ones a reader may still hold; the rest were removed
    reader.close()
    worker.close()
    with Store(location) as writer:  # no reader left: only the current generation stays
        writer.add_triples(EX + "g", [(IRI(EX + "z"), IRI(EX + "p"), Literal("z"))])
    assert len([p for p in location.iterdir() if p.name.startswith("gen-") and p.is_dir()]) == 1
