"""The store on a remote SPARQL 1.1 server (Oxigraph server, Fuseki, GraphDB, Virtuoso, QLever).

Same interface as :class:`kgart.store.Store`. Queries and updates go through
SPARQLWrapper (the SPARQL 1.1 Protocol); loads go through the Graph Store
Protocol in chunks of N-Triples, each its own request, so nothing is sent as
one giant body.

Replacing a source graph never copies it on the server (Oxigraph's MOVE and DROP go quad
by quad: minutes for a million). The new version is spooled to a local file first (so a
source that fails to parse fails before the server is touched), then:

* a graph the server does not hold yet is written straight into place, a chunk per request:
  readers see it grow while the load runs; a load that fails drops what it wrote;
* a graph that changed by at most ``diff_triples`` (20,000) triples — a reload of the same
  release, a corrected record — is updated by one ``DELETE DATA … ; INSERT DATA …``, one
  transaction on Oxigraph and Fuseki/TDB2: readers see the old version or the new one;
* a larger change is POSTed into a staging graph (``…/graph/.staging/{name}/{id}``) and
  switched in by one ``MOVE`` (given up to 30 minutes, whatever ``timeout`` says); readers
  see the old graph until the MOVE commits, and the staging graph over the union default
  graph while it is written. A failed load leaves the target untouched and its staging graph
  is dropped by the next load of that source.

Blank nodes cannot span requests, so they are sent as skolem IRIs
(``…/.well-known/genid/{load id}/{label}``).

Queries that leave out ``GRAPH`` expect the default graph to be the union of
all graphs: run ``oxigraph serve --union-default-graph`` (Fuseki:
``tdb2:unionDefaultGraph true``).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import socket
import tempfile
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from kgart.errors import QueryError, StoreError
from kgart.oxigraph_adapter import checked_iri, parse_rdf, serialize_ntriples
from kgart.rdf import GRAPH_BASE, IRI, KGART_BASE, BlankNode, Literal, Term, Triple, slug, sparql_prefixes
from kgart.sparql_template import Bindings, Triples, fill
from kgart.triplestore import (
    BooleanResult,
    Functions,
    QueryResult,
    Row,
    SelectResult,
    StoreQueries,
    TriplesResult,
)

STAGING_BASE = GRAPH_BASE + ".staging/"
SKOLEM_BASE = KGART_BASE + ".well-known/genid/"
CHUNK_TRIPLES = 50_000
DIFF_TRIPLES = 20_000  # a reload that changes at most this many triples is one diff update
LONG_UPDATE_S = 1800.0  # a MOVE of a large graph copies quad by quad on some servers (Oxigraph)
_PREFIXES = sparql_prefixes()


class RemoteStore(StoreQueries):
    """A kgart store on a SPARQL 1.1 server.

    ``url`` is the server's base; the query, update and Graph Store Protocol
    endpoints default to ``{url}/query``, ``{url}/update`` and ``{url}/store``
    (Oxigraph server's layout) and can each be given.

    :raises StoreError: when the server cannot be reached.
    """

    read_only = False
    location: Path | None = None
    hidden_graph_prefix = STAGING_BASE

    def __init__(self, url: str, *, query_url: str | None = None, update_url: str | None = None,
                 gsp_url: str | None = None, user: str | None = None, password: str | None = None,
                 timeout: float = 60.0, index_location: Path | None = None,
                 chunk_triples: int = CHUNK_TRIPLES, diff_triples: int = DIFF_TRIPLES) -> None:
        base = url.rstrip("/")
        self.url = base
        self.query_url = query_url or f"{base}/query"
        self.update_url = update_url or f"{base}/update"
        self.gsp_url = gsp_url or f"{base}/store"
        self.timeout = timeout
        self.chunk_triples = chunk_triples
        self.diff_triples = diff_triples
        self._auth = ("Basic " + base64.b64encode(f"{user}:{password or ''}".encode()).decode()) if user else None
        self._credentials = (user, password or "") if user else None
        if index_location is None:
            import platformdirs

            index_location = Path(platformdirs.user_cache_dir("kgart")) / "indexes" / slug(base)
        self.index_location = index_location
        self.ask("ASK { }")  # fail now, with a clear message, when the server is not there

    def __repr__(self) -> str:
        return f"RemoteStore({self.url})"

    def close(self) -> None:
        """Nothing to release: every request is its own connection."""

    def __enter__(self) -> RemoteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- SPARQL protocol --------------------------------------------------------------

    def _wrapper(self, endpoint: str, sparql: str) -> Any:
        import warnings

        from SPARQLWrapper import POST, SPARQLWrapper

        client = SPARQLWrapper(endpoint)
        with warnings.catch_warnings():
            # SPARQLWrapper guesses the query form with a regex and warns when it cannot;
            # the server's parser is the judge, and its 400 becomes a QueryError.
            warnings.simplefilter("ignore", RuntimeWarning)
            client.setQuery(_PREFIXES + sparql)
        client.setTimeout(int(max(1, self.timeout)))
        client.setMethod(POST)
        if self._credentials:
            client.setCredentials(*self._credentials)
        return client

    def _run(self, client: Any, what: str) -> Any:
        from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

        try:
            return client.query()
        except SPARQLWrapperException as e:
            message = str(e).split("\n")[0]
            if "bad" in type(e).__name__.lower() or "QueryBadFormed" in type(e).__name__:
                raise QueryError(f"SPARQL syntax error: {message}") from e
            raise QueryError(f"SPARQL {what} failed at {self.url}: {message}") from e
        except urllib.error.HTTPError as e:
            detail = e.read().decode("utf-8", "replace")[:300]
            if e.code == 400:
                raise QueryError(f"SPARQL syntax error: {detail}") from e
            raise StoreError(f"SPARQL {what} failed at {self.url}: HTTP {e.code} {detail}") from e
        except (urllib.error.URLError, ConnectionError) as e:
            reason = getattr(e, "reason", e)
            if isinstance(reason, (TimeoutError, socket.timeout)):
                raise StoreError(f"the SPARQL server at {self.url} did not answer within {self.timeout:g} s") from e
            raise StoreError(f"cannot reach the SPARQL server at {self.url}: {reason}") from e
        except TimeoutError as e:
            raise StoreError(f"the SPARQL server at {self.url} did not answer within {self.timeout:g} s") from e

    def query(self, sparql: str, bindings: Bindings | None = None, *,
              functions: Functions | None = None) -> QueryResult:
        """Run any query (``$name`` placeholders filled from ``bindings``); the server's
        answer tells the form: SPARQL JSON results, or N-Triples for a graph."""
        text = fill(sparql, bindings) if bindings is not None else sparql
        media, body = self.query_serialized(text, "application/sparql-results+json, application/n-triples;q=0.9",
                                            functions)
        media = media.split(";")[0].strip().lower()
        if media in ("application/sparql-results+json", "application/json"):
            try:
                data = json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError) as e:
                raise StoreError(f"the SPARQL server at {self.url} sent an unreadable result: {e}") from e
            if "boolean" in data:
                return BooleanResult(bool(data["boolean"]))
            variables = data.get("head", {}).get("vars", [])
            rows = [Row({name: _term(value) for name, value in binding.items()})
                    for binding in data.get("results", {}).get("bindings", [])]
            return SelectResult(variables, rows)
        return TriplesResult(list(parse_rdf(body, media or "application/n-triples", where=self.url)))

    def query_serialized(self, sparql: str, media_type: str, functions: Functions | None = None
                         ) -> tuple[str, bytes]:
        if functions:
            raise QueryError("kgart:similarity and kgart:textSimilarity run inside the embedded store only; "
                             "with a remote store use the kgart:similarTo pattern")
        client = self._wrapper(self.query_url, sparql)
        client.setOnlyConneg(True)
        client.addCustomHttpHeader("Accept", media_type)
        response = self._run(client, "query")
        body = response.response.read()
        return response.response.headers.get("Content-Type", media_type), body

    def update(self, sparql: str, bindings: Bindings | None = None) -> None:
        client = self._wrapper(self.update_url, fill(sparql, bindings) if bindings is not None else sparql)
        self._run(client, "update")

    def has_graph(self, graph: str) -> bool:
        return self.ask("ASK { GRAPH $graph { ?s ?p ?o } }", {"graph": checked_iri(graph)})

    # -- Graph Store Protocol -----------------------------------------------------------

    def _gsp(self, method: str, graph: str, body: bytes | None = None,
             accept: str = "application/n-triples") -> bytes:
        url = f"{self.gsp_url}?graph={quote(checked_iri(graph), safe='')}"
        request = urllib.request.Request(url, data=body, method=method)
        if body is not None:
            request.add_header("Content-Type", "application/n-triples")
        request.add_header("Accept", accept)
        if self._auth:
            request.add_header("Authorization", self._auth)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return response.read()
        except urllib.error.HTTPError as e:
            if e.code == 404 and method in ("GET", "DELETE"):
                return b""
            detail = e.read().decode("utf-8", "replace")[:300]
            raise StoreError(f"Graph Store Protocol {method} <{graph}> failed at {self.url}: "
                             f"HTTP {e.code} {detail}") from e
        except urllib.error.URLError as e:
            if isinstance(e.reason, (TimeoutError, socket.timeout)):
                raise StoreError(f"the server at {self.url} did not answer within {self.timeout:g} s") from e
            raise StoreError(f"cannot reach the server at {self.url}: {e.reason}") from e
        except TimeoutError as e:
            raise StoreError(f"the server at {self.url} did not answer within {self.timeout:g} s") from e
        except ConnectionError as e:
            raise StoreError(f"the connection to {self.url} broke: {e}") from e

    def triples(self, graph: str) -> Iterator[Triple]:
        yield from parse_rdf(self._gsp("GET", graph), "application/n-triples", where=graph)

    def dump(self, graph: str, media_type: str = "application/n-triples") -> bytes:
        return self._gsp("GET", graph, accept=media_type)

    def add_triples(self, graph: str, triples: Iterable[Triple]) -> int:
        """Add triples to a graph, one request per chunk (each chunk is atomic on the server)."""
        load_id = uuid.uuid4().hex
        total = 0
        for chunk in _chunks(_skolemized(triples, load_id), self.chunk_triples):
            self._gsp("POST", graph, serialize_ntriples(chunk))
            total += len(chunk)
        return total

    def replace_graph(self, graph: str, triples: Iterable[Triple], *,
                      progress: Callable[[int], None] | None = None) -> int:
        """Replace a graph without copying it on the server (see the module docstring): the new
        version is spooled to a local file first, then written straight into a graph that is new,
        sent as one diff update when little changed, or staged and MOVEd when much did."""
        self._drop_stale_staging(graph)
        load_id = uuid.uuid4().hex
        with tempfile.TemporaryFile(prefix="kgart-load-") as spool:
            digests: set[bytes] = set()
            total = 0
            for chunk in _chunks(_skolemized(triples, load_id), self.chunk_triples):
                data = serialize_ntriples(chunk)
                spool.write(data)
                digests.update(_digest(line) for line in data.splitlines() if line)
                total += len(chunk)
            try:
                return self._write_spooled(graph, spool, digests, total, load_id, progress)
            except StoreError as e:
                raise StoreError(f"{e}. The load of <{graph}> stopped half-way; the previous version of the "
                                 "graph is untouched (a partial staging copy is removed by the next load).") from e

    def _write_spooled(self, graph: str, spool: IO[bytes], digests: set[bytes], total: int, load_id: str,
                       progress: Callable[[int], None] | None) -> int:
        if not self.has_graph(graph):
            self._post_spool(spool, graph, progress, new_graph=True)
            if total == 0:
                self.update("CREATE SILENT GRAPH $graph", {"graph": IRI(graph)})
            return len(digests)
        if self._replace_by_diff(graph, spool, digests):
            return len(digests)
        staging = f"{STAGING_BASE}{quote(graph.removeprefix(GRAPH_BASE), safe='')}/{load_id}"
        try:
            self._post_spool(spool, staging, progress)
            self._long_update("MOVE SILENT GRAPH $staging TO GRAPH $graph",
                              {"staging": IRI(staging), "graph": IRI(graph)})
        except BaseException:
            with contextlib.suppress(StoreError, QueryError):
                self.update("DROP SILENT GRAPH $staging", {"staging": IRI(staging)})
            raise
        return len(digests)

    def _post_spool(self, spool: IO[bytes], graph: str, progress: Callable[[int], None] | None, *,
                    new_graph: bool = False) -> None:
        """The spooled N-Triples into ``graph``, a chunk per request. Into a new graph a failure
        drops what was written, so the graph is again absent, as before the load."""
        spool.seek(0)
        try:
            while lines := list(islice(spool, self.chunk_triples)):
                self._gsp("POST", graph, b"".join(lines))
                if progress is not None:
                    progress(len(lines))
        except BaseException:
            if new_graph:
                with contextlib.suppress(StoreError, QueryError):
                    self._long_update("DROP SILENT GRAPH $graph", {"graph": IRI(graph)})
            raise

    def _replace_by_diff(self, graph: str, spool: IO[bytes], digests: set[bytes]) -> bool:
        """When the new version differs from the stored one by at most ``diff_triples`` triples:
        one update deletes and inserts just those (one transaction on the server). False when
        the difference is larger (the caller stages and moves)."""
        current: set[bytes] = set()
        removed_digests: set[bytes] = set()
        for line in self._graph_lines(graph):
            digest = _digest(line)
            current.add(digest)
            if digest not in digests:
                removed_digests.add(digest)
                if len(removed_digests) > self.diff_triples:
                    return False
        spool.seek(0)
        added = [line for line in spool if line.strip() and _digest(line.rstrip(b"\n")) not in current]
        if len(added) + len(removed_digests) > self.diff_triples:
            return False
        if not added and not removed_digests:
            return True
        removed = [line for line in self._graph_lines(graph) if _digest(line) in removed_digests]
        self._long_update("DELETE DATA { GRAPH $graph { $old } } ; INSERT DATA { GRAPH $graph { $new } }",
                          {"graph": IRI(graph),
                           "old": Triples(list(parse_rdf(b"\n".join(removed), "application/n-triples"))),
                           "new": Triples(list(parse_rdf(b"".join(added), "application/n-triples")))})
        return True

    def _graph_lines(self, graph: str) -> Iterator[bytes]:
        """A stored graph's N-Triples, line by line, as the server streams them."""
        url = f"{self.gsp_url}?graph={quote(checked_iri(graph), safe='')}"
        request = urllib.request.Request(url, headers={"Accept": "application/n-triples"})
        if self._auth:
            request.add_header("Authorization", self._auth)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                for line in response:
                    line = line.rstrip(b"\r\n")
                    if line:
                        yield line
        except urllib.error.HTTPError as e:
            if e.code != 404:
                raise StoreError(f"Graph Store Protocol GET <{graph}> failed at {self.url}: HTTP {e.code}") from e
        except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
            raise StoreError(f"reading <{graph}> from {self.url} failed: {e}") from e

    def _long_update(self, sparql: str, bindings: Bindings) -> None:
        """An update that may touch a whole graph: given :data:`LONG_UPDATE_S` whatever the timeout."""
        timeout = self.timeout
        self.timeout = max(timeout, LONG_UPDATE_S)
        try:
            self.update(sparql, bindings)
        finally:
            self.timeout = timeout

    def _drop_stale_staging(self, graph: str) -> None:
        prefix = f"{STAGING_BASE}{quote(graph.removeprefix(GRAPH_BASE), safe='')}/"
        rows = self.select("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } FILTER(STRSTARTS(STR(?g), $prefix)) }",
                           {"prefix": Literal(prefix)})
        for row in rows:
            self.update("DROP SILENT GRAPH $graph", {"graph": row.iri("g")})

    def drop_graph(self, graph: str) -> bool:
        if not self.has_graph(graph):
            return False
        self.update("DROP GRAPH $graph", {"graph": IRI(graph)})
        return True


def _digest(line: bytes) -> bytes:
    return hashlib.blake2b(line, digest_size=16).digest()


def _term(binding: dict[str, str]) -> Term:
    kind = binding.get("type")
    value = binding.get("value", "")
    if kind == "uri":
        return IRI(value)
    if kind == "bnode":
        return BlankNode(value)
    language = binding.get("xml:lang")
    datatype = binding.get("datatype")
    if datatype == "http://www.w3.org/2001/XMLSchema#string" or language:
        datatype = None
    return Literal(value, language, datatype)


def _skolemized(triples: Iterable[Triple], load_id: str) -> Iterator[Triple]:
    for s, p, o in triples:
        if isinstance(s, BlankNode):
            s = IRI(f"{SKOLEM_BASE}{load_id}/{s.id}")
        if isinstance(o, BlankNode):
            o = IRI(f"{SKOLEM_BASE}{load_id}/{o.id}")
        yield (s, p, o)


def _chunks(triples: Iterable[Triple], size: int) -> Iterator[list[Triple]]:
    chunk: list[Triple] = []
    for t in triples:
        chunk.append(t)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
