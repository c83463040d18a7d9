"""Benchmark: the real server under load from a second process on loopback.

Starts `kgart serve` on a store (Iconclass + the Tate collection + vectors), then
drives it from this process with a bounded number of requests and a time limit
per endpoint, over keep-alive connections from several threads. Reports req/s,
p50/p99 latency and errors for: a concept dereferenced as Turtle, /api/search, a
SPARQL hierarchy query, a SPARQL query with the kNN pattern; and the server's
resident memory (current and peak).

    python bench/serve.py --store S [--requests 2000] [--seconds 20] [--clients 8]
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.oxigraph_server import free_port  # noqa: E402

HIERARCHY = "SELECT ?c ?label WHERE { ?c skos:broader+ ic:73D ; skos:prefLabel ?label FILTER(lang(?label) = 'en') }"
KNN = ("SELECT ?hit ?score ?label WHERE { ?hit kgart:similarTo \"a ship in a storm\" ; kgart:k 10 ; "
       "kgart:score ?score . ?hit skos:prefLabel ?label FILTER(lang(?label) = 'en') }")
SEARCHES = ["a ship in a storm", "the crucifixion", "portrait of a woman", "still life with fruit", "a dog",
            "landscape with cows", "the annunciation", "winter"]
CONCEPTS = ["73D82", "11H%28JEROME%29362", "25F23%28LION%29", "31D111%28%2B89%29", "94K21", "26C32", "41A1", "71V13"]


def paths(kind: str) -> list[tuple[str, dict[str, str]]]:
    if kind == "dereference concept as Turtle":
        return [(f"/iconclass/{c}", {"Accept": "text/turtle"}) for c in CONCEPTS]
    if kind == "/api/search":
        return [("/api/search?" + urllib.parse.urlencode({"q": q}), {}) for q in SEARCHES]
    if kind == "SPARQL hierarchy query":
        return [("/sparql?" + urllib.parse.urlencode({"query": HIERARCHY}), {"Accept": "application/json"})]
    return [("/sparql?" + urllib.parse.urlencode({"query": KNN}), {"Accept": "application/json"})]


def drive(port: int, kind: str, requests: int, seconds: float, clients: int) -> None:
    targets = paths(kind)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    counter = iter(range(requests))

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.monotonic() < deadline:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            path, headers = targets[i % len(targets)]
            start = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                errors[0] += 0 if ok else 1
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    ms = np.array(latencies) * 1000
    print(f"{kind:<32} {len(latencies):>6} requests {len(latencies) / wall:>8.1f} req/s  "
          f"p50 {statistics.median(ms):7.2f} ms  p99 {np.percentile(ms, 99):8.2f} ms  errors {errors[0]}")


def rss(pid: int) -> str:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return f"RSS {fields['VmRSS'].strip()}, peak {fields['VmHWM'].strip()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    port = free_port()
    kgart = str(Path(sys.executable).with_name("kgart"))
    server = subprocess.Popen([kgart, "--store", args.store, "serve", "--port", str(port), "--threads", "8"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(600):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/api/openapi.json")
                break
            except OSError:
                time.sleep(0.1)
        for kind in ("dereference concept as Turtle", "/api/search", "SPARQL hierarchy query", "SPARQL kNN pattern"):
            drive(port, kind, 20, 60, 1)  # warm up: indexes, model, keyword index
        print(f"server after warm-up: {rss(server.pid)}")
        for kind in ("dereference concept as Turtle", "/api/search", "SPARQL hierarchy query", "SPARQL kNN pattern"):
            drive(port, kind, args.requests, args.seconds, args.clients)
        print(f"server at the end: {rss(server.pid)}")
    finally:
        server.terminate()
        server.wait(timeout=30)
        if server.stderr is not None:
            server.stderr.close()


if __name__ == "__main__":
    main()
