"""Benchmark: the real server under load from a second process on loopback.

Starts `kgart serve` on a store (Iconclass + the Tate collection + vectors), then
drives it with a time limit per endpoint over keep-alive connections: from wrk
when it is installed (a C load generator, which leaves the server the cores), else
from threads of this process (a bounded number of requests; they take about one
of the cores themselves, so on 2 cores they measure less). Reports req/s,
p50/p99 latency and errors for: a concept dereferenced as Turtle, /api/search,
/api/suggest, a SPARQL hierarchy query and a SPARQL query with the kNN pattern, each
twice: repeated, as clients repeat requests (8 concepts or texts, or one query: the
linked-data and result caches answer, and each worker encodes a text once), and "each
one new", a different concept (20,000 in turn) or text every time, so that nothing
kept helps; the memory of the whole server (every worker and query process: RSS
summed, and PSS, which counts shared pages once); then a storm of 10 pathological
SPARQL queries (each should be answered 503 at the timeout, the CPU idle soon after,
and a trivial query answered meanwhile); with --soak, every route mixed for that long: errors,
5xx and the growth of the server's memory after a warm-up.

    python bench/serve.py --store S [--client wrk|python] [--workers N] [--requests 2000] [--seconds 20]
                              [--clients 8] [--soak 600]
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
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
STORM = "SELECT (COUNT(*) AS ?n) WHERE { ?a skos:broader ?b . ?c skos:broader ?d }"
SEARCHES = ["a ship in a storm", "the crucifixion", "portrait of a woman", "still life with fruit", "a dog",
            "landscape with cows", "the annunciation", "winter"]
UNCACHED_VARIANTS = 50_000
NEW_CONCEPTS: list[str] = []  # filled from the server's store before the runs (see fetch_concepts)
CONCEPTS = ["73D82", "11H%28JEROME%29362", "25F23%28LION%29", "31D111%28%2B89%29", "94K21", "26C32", "41A1", "71V13"]


def paths(kind: str) -> list[tuple[str, dict[str, str]]]:
    if kind == "dereference concept as Turtle":
        return [(f"/iconclass/{c}", {"Accept": "text/turtle"}) for c in CONCEPTS]
    if kind == "dereference concept as Turtle, each one new":
        return [(f"/iconclass/{urllib.parse.quote(n, safe='')}", {"Accept": "text/turtle"}) for n in NEW_CONCEPTS]
    if kind.startswith(("/api/search", "/api/suggest")):
        route, _, variant = kind.partition(", ")
        field = "q" if route == "/api/search" else "title"
        # "each one new": a number makes every text one the server has not encoded before.
        texts = [f"{q} {n}" for n in range(UNCACHED_VARIANTS // len(SEARCHES)) for q in SEARCHES] \
            if variant == "each one new" else SEARCHES
        return [(route + "?" + urllib.parse.urlencode({field: text}), {}) for text in texts]
    if kind == "soak":  # every route, a few of each
        return [p for k in ("dereference concept as Turtle", "/api/search", "/api/suggest", "SPARQL hierarchy query",
                            "SPARQL kNN pattern") for p in paths(k)[:3]] + [
            ("/api/hierarchy/73D?counts=1", {}), ("/api/autocomplete?q=stor", {}), ("/.well-known/void", {}),
            ("/", {}), ("/iconclass/73D", {"Accept": "text/html"}),
            ("/api/similar?iri=http%3A%2F%2Ficonclass.org%2F73D", {}),
            ("/healthz", {}), ("/readyz", {}), ("/metrics", {})]
    query = HIERARCHY if kind.startswith("SPARQL hierarchy query") else KNN
    # "each one new": a comment makes every request a text the result cache has not seen.
    texts = [f"{query} # {n}" for n in range(UNCACHED_VARIANTS)] if kind.endswith("each one new") else [query]
    return [("/sparql?" + urllib.parse.urlencode({"query": text}), {"Accept": "application/json"}) for text in texts]


CONCEPT_LIST = ("SELECT ?n WHERE { GRAPH <https://w3id.org/kgart/graph/iconclass> { ?c a skos:Concept ; "
                "skos:notation ?n } } ORDER BY MD5(STR(?n)) LIMIT 20000")


def fetch_concepts(port: int) -> list[str]:
    """Notations of 20,000 Iconclass concepts of the served store, in a scattered order."""
    import json

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", "/sparql?" + urllib.parse.urlencode({"query": CONCEPT_LIST}),
                 headers={"Accept": "application/json"})
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        raise SystemExit(f"could not list the store's concepts: {response.status} {body[:200]!r}")
    return [b["n"]["value"] for b in json.loads(body)["results"]["bindings"]]


def drive(port: int, kind: str, requests: int, seconds: float, clients: int) -> None:
    targets = paths(kind)
    latencies: list[float] = []
    errors = [0]
    kinds_of_error: dict[str, int] = {}
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
                status = str(response.status)
            except (OSError, http.client.HTTPException) as e:
                ok, status = False, type(e).__name__
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                errors[0] += 0 if ok else 1
                if not ok:
                    kinds_of_error[status] = kinds_of_error.get(status, 0) + 1
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    ms = np.array(latencies) * 1000
    print(f"{kind:<44} {len(latencies):>6} requests {len(latencies) / wall:>8.1f} req/s  "
          f"p50 {statistics.median(ms):7.2f} ms  p99 {np.percentile(ms, 99):8.2f} ms  errors {errors[0]}"
          + (f" {kinds_of_error}" if kinds_of_error else ""))


WRK_SCRIPT = """
local requests = {}
for line in io.lines(%s) do
  local fields = {}
  for field in (line .. "\\t"):gmatch("(.-)\\t") do fields[#fields + 1] = field end
  local headers = {}
  for j = 2, #fields - 1, 2 do headers[fields[j]] = fields[j + 1] end
  requests[#requests + 1] = {fields[1], headers}
end
local i = 0
request = function()
  i = i + 1
  local r = requests[((i - 1) %% #requests) + 1]
  return wrk.format("GET", r[1], r[2])
end
"""


def _seconds(value: str) -> float:
    """wrk's latency figure ('812.00us', '6.53ms', '1.20s', '2.00m') in seconds."""
    for unit, scale in (("us", 1e-6), ("ms", 1e-3), ("s", 1.0), ("m", 60.0)):
        if value.endswith(unit):
            return float(value[: -len(unit)]) * scale
    raise ValueError(f"not a wrk latency: {value!r}")


def drive_wrk(port: int, kind: str, seconds: float, clients: int) -> None:
    """The same requests from wrk (C, one thread, an event loop): the load generator takes a few
    percent of a core instead of most of one, so the server gets the machine's other cores.
    The requests go to wrk as a file, a line each (path, then header names and values; tabs
    between), read by its script as it starts."""
    import re

    with tempfile.TemporaryDirectory(prefix="kgart-bench-wrk-") as folder:
        listed = Path(folder) / "requests.tsv"
        listed.write_text("".join("\t".join([path, *(x for pair in headers.items() for x in pair)]) + "\n"
                                  for path, headers in paths(kind)), encoding="ascii")
        script = Path(folder) / "requests.lua"
        script.write_text(WRK_SCRIPT % f"[==[{listed}]==]", encoding="utf-8")
        run = subprocess.run(["wrk", "-t1", f"-c{clients}", f"-d{seconds:g}s", "--latency", "-s", str(script),
                              f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True)
    if run.stderr.strip():  # wrk runs GET / when its script fails to load: never report that
        raise SystemExit(f"wrk: {run.stderr.strip()}")
    out = run.stdout
    done = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    # the distribution's own lines: "89.99%" of the thread stats above must not match
    p50 = _seconds(re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE)[1]) * 1000  # type: ignore[index]
    p99 = _seconds(re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE)[1]) * 1000  # type: ignore[index]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(bad[1]) if bad else 0) + (sum(int(n) for n in sockets.groups()) if sockets else 0)
    print(f"{kind:<44} {done:>6} requests {rate:>8.1f} req/s  p50 {p50:7.2f} ms  p99 {p99:8.2f} ms  "
          f"errors {errors}  (wrk)")


def tree(pid: int) -> list[int]:
    """The server and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo += children.get(p, [])
    return found


def memory(pid: int) -> str:
    """RSS summed over every process of the server (shared pages counted in each) and PSS (counted
    once); and RSS summed over the gunicorn workers alone (the master's own children that run the
    app: not their query processes, fork servers or resource trackers)."""
    rss = pss = workers = 0
    processes = tree(pid)
    for p in processes:
        try:
            rollup = Path(f"/proc/{p}/smaps_rollup").read_text().splitlines()
            parent = int(Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[1])
            command = Path(f"/proc/{p}/cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        for line in rollup:
            if line.startswith("Rss:"):
                rss += int(line.split()[1])
                if parent == pid and b"multiprocessing" not in command:
                    workers += int(line.split()[1])
            elif line.startswith("Pss:"):
                pss += int(line.split()[1])
    return (f"{len(processes)} processes, RSS summed {rss / 1024:,.0f} MB, PSS {pss / 1024:,.0f} MB; "
            f"the workers alone RSS summed {workers / 1024:,.0f} MB")


def cpu_seconds(pid: int) -> dict[int, float]:
    """CPU seconds of each process of the server's tree."""
    seconds = {}
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[p] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return seconds


def storm(port: int, pid: int, timeout: float) -> None:
    """10 pathological queries at once, a trivial one during them, the CPU after the deadline."""
    def get(query: str) -> tuple[int, float]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout + 60)
        started = time.perf_counter()
        conn.request("GET", "/sparql?" + urllib.parse.urlencode({"query": query}),
                     headers={"Accept": "application/json"})
        response = conn.getresponse()
        response.read()
        conn.close()
        return response.status, time.perf_counter() - started

    results: list[tuple[int, float]] = []
    threads = [threading.Thread(target=lambda: results.append(get(STORM))) for _ in range(10)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(1.0)
    trivial = get("ASK {}")
    for t in threads:
        t.join()
    ended = time.perf_counter() - started
    before = cpu_seconds(pid)
    time.sleep(2.0)
    after = cpu_seconds(pid)  # processes killed in between are gone: only those alive in both count
    busy = sum(after[p] - before[p] for p in after if p in before) / 2.0
    print(f"storm: 10 pathological queries: statuses {sorted({s for s, _ in results})}, answered "
          f"{min(t for _, t in results):.2f}-{max(t for _, t in results):.2f} s (timeout {timeout:g} s), all by "
          f"{ended:.2f} s; the trivial query during the storm: {trivial[0]} in {1000 * trivial[1]:.0f} ms; "
          f"server CPU in the 2 s after: {100 * busy:.0f}% of one core")


def pss_mb(pid: int) -> float:
    total = 0
    for p in tree(pid):
        try:
            total += sum(int(line.split()[1]) for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines()
                         if line.startswith("Pss:"))
        except OSError:
            continue
    return total / 1024


def soak(port: int, pid: int, seconds: float, clients: int) -> None:
    """Every route mixed for ``seconds`` (bounded: loopback, a fixed set of requests); memory after a
    minute of warm-up against the end."""
    drive(port, "soak", 10**9, min(60.0, seconds / 5), clients)
    start_mb = pss_mb(pid)
    drive(port, "soak", 10**9, seconds, clients)
    end_mb = pss_mb(pid)
    print(f"soak {seconds:g} s: PSS after warm-up {start_mb:,.0f} MB, at the end {end_mb:,.0f} MB, "
          f"growth {100 * (end_mb - start_mb) / start_mb:+.1f}% (target <= 5%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=None, help="kgart serve --workers (default: its own)")
    parser.add_argument("--query-timeout", type=float, default=10.0)
    parser.add_argument("--soak", type=float, default=0.0, metavar="SECONDS",
                        help="then a soak mixing every route this long (the target: 600): errors, 5xx, memory growth")
    parser.add_argument("--only", action="append", metavar="WORD",
                        help="only the runs whose name holds WORD (repeatable); the storm and soak still run")
    parser.add_argument("--client", choices=("wrk", "python"), default="wrk" if shutil.which("wrk") else "python",
                        help="the load generator of the timed runs: wrk (apt install wrk; the default when it is "
                             "on PATH) or this process's threads (http.client), which take about a core themselves")
    args = parser.parse_args()
    port = free_port()
    kgart = str(Path(sys.executable).with_name("kgart"))
    command = [kgart, "--store", args.store, "serve", "--port", str(port), "--no-access-log",
               "--query-timeout", str(args.query_timeout)]
    if args.workers:
        command += ["--workers", str(args.workers)]
    log = tempfile.NamedTemporaryFile(prefix="kgart-bench-serve-", suffix=".log", delete=False)  # noqa: SIM115
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)  # a pipe nobody reads would fill
    try:
        for _ in range(600):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/api/openapi.json")
                break
            except OSError:
                time.sleep(0.1)
        NEW_CONCEPTS[:] = fetch_concepts(port)
        kinds = ("dereference concept as Turtle", "dereference concept as Turtle, each one new", "/api/search",
                 "/api/search, each one new", "/api/suggest", "/api/suggest, each one new",
                 "SPARQL hierarchy query", "SPARQL hierarchy query, each one new",
                 "SPARQL kNN pattern", "SPARQL kNN pattern, each one new")
        if args.only:
            kinds = tuple(k for k in kinds if any(word.lower() in k.lower() for word in args.only))
        for kind in kinds:
            drive(port, kind, 40, 120, args.clients)  # warm up every worker: indexes, model, keyword index
        print(f"server after warm-up: {memory(server.pid)}")
        for kind in kinds:
            if args.client == "wrk":
                drive_wrk(port, kind, args.seconds, args.clients)
            else:
                drive(port, kind, args.requests, args.seconds, args.clients)
            print(f"    server after it: {memory(server.pid)}")
        storm(port, server.pid, args.query_timeout)
        print(f"server at the end: {memory(server.pid)}")
        if args.soak:
            soak(port, server.pid, args.soak, args.clients)
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            print("the server did not stop within 60 s of SIGTERM; killed")
            server.kill()
        log.close()
        print(f"server log: {log.name}")


if __name__ == "__main__":
    main()
