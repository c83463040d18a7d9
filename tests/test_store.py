"""The store: queries, errors, and atomic replacement of a source graph."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from kgart.errors import DataSourceError, QueryError, StoreError, StoreLockedError
from kgart.rdf import IRI, Literal, Triple
from kgart.store import Store

EX = "https://example.org/"
G = EX + "graph/a"
OTHER = EX + "graph/b"


def triples(n: int, tag: str = "v1") -> Iterator[Triple]:
    for i in range(n):
        yield (IRI(f"{EX}s{i}"), IRI(EX + "p"), Literal(f"{tag}-{i}", "en"))


def failing(n: int, fail_at: int) -> Iterator[Triple]:
    for i, t in enumerate(triples(n, "v2")):
        if i == fail_at:
            raise DataSourceError("record 7 is broken", path="input.csv", line=8)
        yield t


@pytest.fixture(params=["memory", "disk"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s = Store() if request.param == "memory" else Store(tmp_path / "store")
    yield s
    s.close()


def values(store: Store, graph: str = G) -> set[str]:
    return {r["o"].value for r in store.select(f"SELECT ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")}


def test_replace_and_query(any_store: Store) -> None:
    assert any_store.replace_graph(G, triples(5)) == 5
    assert any_store.count(G) == 5
    assert any_store.replace_graph(G, triples(3, "v2")) == 3
    assert values(any_store) == {"v2-0", "v2-1", "v2-2"}
    assert [g.iri for g in any_store.graphs()] == [G]


def test_default_graph_is_the_union(any_store: Store) -> None:
    any_store.replace_graph(G, triples(2))
    any_store.replace_graph(OTHER, triples(1, "other"))
    rows = any_store.select("SELECT ?o WHERE { ?s ?p ?o }")
    assert len(rows) == 3


def test_failed_load_leaves_previous_graph(any_store: Store) -> None:
    any_store.replace_graph(G, triples(10))
    any_store.replace_graph(OTHER, triples(4, "other"))
    with pytest.raises(DataSourceError, match="input.csv:8"):
        any_store.replace_graph(G, failing(10, fail_at=6))
    assert values(any_store) == {f"v1-{i}" for i in range(10)}
    assert any_store.count(OTHER) == 4
    any_store.replace_graph(G, triples(2, "v3"))  # still writable afterwards
    assert values(any_store) == {"v3-0", "v3-1"}


def test_replacing_a_graph_that_dominates_the_store_keeps_the_others(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    store.replace_graph(OTHER, triples(3, "small"))
    store.replace_graph(G, triples(200))  # large: replaced by copying the others
    store.replace_graph(G, triples(150, "v2"))
    assert store.count(G) == 150 and values(store, OTHER) == {"small-0", "small-1", "small-2"}
    store.replace_graph(OTHER, triples(2, "small2"))  # small: replaced in a checkpoint
    assert store.count(G) == 150 and store.count(OTHER) == 2


def test_drop_graph(any_store: Store) -> None:
    any_store.replace_graph(G, triples(3))
    assert any_store.drop_graph(G)
    assert not any_store.has_graph(G)
    assert not any_store.drop_graph(G)


def test_persists_across_reopen(tmp_path: Path) -> None:
    with Store(tmp_path / "s") as s:
        s.replace_graph(G, triples(3))
    with Store(tmp_path / "s") as s:
        assert s.count(G) == 3
    generations = [p.name for p in (tmp_path / "s").iterdir() if p.name.startswith("gen-")]
    assert len(generations) == 1


def test_killed_load_leaves_previous_graph(tmp_path: Path) -> None:
    location = tmp_path / "store"
    with Store(location) as s:
        s.replace_graph(G, triples(50))
    script = textwrap.dedent(f"""
        import os, signal
        from kgart.rdf import IRI, Literal
        from kgart.store import Store
        store = Store({str(location)!r})
        def dying():
            for i in range(100_000):
                if i == 20_000:
                    os.kill(os.getpid(), signal.SIGKILL)
                yield (IRI("{EX}s%d" % i), IRI("{EX}p"), Literal("v2"))
        store.replace_graph({G!r}, dying())
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert proc.returncode == -9, proc.stderr.decode()
    with Store(location) as s:
        assert values(s) == {f"v1-{i}" for i in range(50)}
        s.replace_graph(G, triples(2, "after"))
        assert values(s) == {"after-0", "after-1"}
    assert len([p for p in location.iterdir() if p.name.startswith("gen-")]) == 1


def test_second_writer_is_refused_but_can_read(tmp_path: Path) -> None:
    location = tmp_path / "store"
    holder = Store(location)
    holder.replace_graph(G, triples(2))
    holder._db.flush()
    script = textwrap.dedent(f"""
        from kgart.errors import StoreLockedError
        from kgart.store import Store
        try:
            Store({str(location)!r})
        except StoreLockedError as e:
            print("locked:", e)
        reader = Store({str(location)!r}, read_only=True)
        print("rows", len(reader.select("SELECT * WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}")))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    holder.close()
    assert "locked: the store at" in out.stdout, out.stderr
    assert "rows 2" in out.stdout, out.stderr
    assert StoreLockedError.__mro__[1] is StoreError


def test_read_only_store_refuses_writes(tmp_path: Path) -> None:
    Store(tmp_path / "s").close()
    reader = Store(tmp_path / "s", read_only=True)
    with pytest.raises(StoreError, match="read-only"):
        reader.replace_graph(G, triples(1))


def test_query_errors(store: Store) -> None:
    with pytest.raises(QueryError, match="syntax error"):
        store.select("SELEC nothing")
    with pytest.raises(QueryError, match="expected a SELECT"):
        store.select("ASK { ?s ?p ?o }")
    with pytest.raises(QueryError, match="syntax error"):
        store.update("INSERT nonsense")


def test_serialized_results(store: Store) -> None:
    store.replace_graph(G, triples(2))
    media, body = store.query_serialized("SELECT ?o WHERE { ?s ?p ?o } ORDER BY ?o", "text/csv")
    assert media.startswith("text/csv") and body.decode().splitlines() == ["o", "v1-0", "v1-1"]
    media, body = store.query_serialized("CONSTRUCT WHERE { ?s ?p ?o }", "text/turtle")
    assert media == "text/turtle" and b'"v1-0"@en' in body


def test_not_a_store_folder(tmp_path: Path) -> None:
    (tmp_path / "somefile.txt").write_text("hello")
    with pytest.raises(StoreError, match="not a kgart store"):
        Store(tmp_path)
    f = tmp_path / "afile"
    f.write_text("x")
    with pytest.raises(StoreError, match="is a file"):
        Store(f)


def test_bad_triple_is_a_store_error(store: Store) -> None:
    with pytest.raises(StoreError, match="cannot store triple"):
        store.replace_graph(G, [(IRI("not an iri"), IRI(EX + "p"), Literal("x"))])


def test_a_reader_sheds_its_cache_and_reads_on_a_writer_is_left_alone(tmp_path: Path) -> None:
    writer = Store(tmp_path / "s")
    writer.replace_graph(G, triples(50))
    reader = Store(tmp_path / "s", read_only=True)
    started = reader._reading().query("SELECT ?s WHERE { GRAPH ?g { ?s ?p ?o } }")  # a query under way
    before = reader._db
    reader.shed_cache()
    assert reader._db is not before  # a fresh handle on the same generation
    assert reader.count(G) == 50
    assert len(list(started)) == 50  # the query begun on the old handle ends on it
    writing = writer._db
    writer.shed_cache()
    assert writer._db is writing and Store().shed_cache() is None
    writer.replace_graph(G, triples(7))  # and the reader still follows what the writer publishes
    assert reader.count(G) == 7
    reader.close()
    writer.close()


def test_the_memory_keeper_sheds_once_memory_has_grown_and_settled_or_grown_twice_as_much() -> None:
    from kgart.web.server import MemoryKeeper

    readings = iter([50.0, 150.0, 160.0, 60.0, 70.0, 100.0, 102.0, 150.0, 152.0, 90.0, 150.0, 230.0, 80.0])
    sheds: list[int] = []
    keeper = MemoryKeeper(lambda: sheds.append(1), trim=lambda: None, measure=lambda: next(readings),
                          shed_after_mb=64, pause=0)
    # growing (150: +100, still building), settled at 160: shed, 60 after it;
    # 70, 100 (+40 since shedding), 102: not yet; 150 (+90, growing), 152 settled: shed, 90 after it;
    # 150 (+60), 230 (+140, still growing, but past twice 64): shed all the same, 80 after it
    assert [keeper.step() for _ in range(9)] == [False, True, False, False, False, False, True, False, True]
    assert len(sheds) == 3 and keeper.baseline == 80.0
