"""Iconclass in the store: the SKOS shape the loader writes and on-demand resolution."""

from __future__ import annotations

from pathlib import Path

import pytest
from kgart.loaders import load_iconclass

from kgart.errors import DataSourceError, NotationError
from kgart.iconclass import Iconclass
from kgart.rdf import ICONCLASS_SCHEME, SKOS, graph_iri
from kgart.store import Store
from tests.iconclass_slice import CONCEPTS, KEYWORDS, TEXTS

IC = graph_iri("iconclass")


def test_loader_counts_and_report(slice_dir: Path) -> None:
    store = Store()
    result = load_iconclass(store, data_dir=slice_dir)
    assert result.report.concepts == CONCEPTS
    assert result.report.key_sets == 2
    assert result.report.keys == 5  # 0 1 11 and 8 89; the q-qualifier 7q15 is left out
    assert result.report.labels["en"] == len(TEXTS["en"])
    assert result.report.labels["nl"] == len(TEXTS["nl"])  # '#' lines are not Dutch
    assert result.report.keywords["en"] == sum(len(v) for v in KEYWORDS["en"].values())
    assert store.count(IC) == result.triples


def test_skos_shape(slice_store: Store) -> None:
    n = slice_store.select(f"SELECT (COUNT(?c) AS ?n) WHERE {{ GRAPH <{IC}> {{ ?c a skos:Concept ; "
                           "skos:inScheme <http://iconclass.org/> ; skos:notation ?x } }").rows[0]["n"]
    assert int(n.value) == CONCEPTS
    tops = slice_store.select(f"SELECT ?t WHERE {{ GRAPH <{IC}> {{ ?t skos:topConceptOf <http://iconclass.org/> . "
                              "<http://iconclass.org/> skos:hasTopConcept ?t } } ORDER BY ?t")
    assert [str(r["t"]) for r in tops] == [ICONCLASS_SCHEME + d for d in "137"]
    assert slice_store.ask(f"ASK {{ GRAPH <{IC}> {{ <http://iconclass.org/> a skos:ConceptScheme }} }}")
    # broader and narrower mirror each other
    assert slice_store.ask(f"""ASK {{ GRAPH <{IC}> {{
        <http://iconclass.org/11H%28JEROME%29362> skos:broader <http://iconclass.org/11H%28JEROME%2936> .
        <http://iconclass.org/11H%28JEROME%2936> skos:narrower <http://iconclass.org/11H%28JEROME%29362> }} }}""")
    assert slice_store.ask(f"ASK {{ GRAPH <{IC}> {{ ic:73D skos:related <http://iconclass.org/11H%28JEROME%29> }} }}")
    labels = slice_store.select(f"SELECT ?l WHERE {{ GRAPH <{IC}> {{ <http://iconclass.org/11H%28JEROME%29362> "
                                "skos:prefLabel ?l } }")
    assert {(r["l"].language, r["l"].value) for r in labels} == {
        ("en", "St. Jerome as penitent in his study"),
        ("de", "der hl. Hieronymus als Büßer in seinem Studierzimmer")}
    kws = slice_store.select(f"SELECT ?k WHERE {{ GRAPH <{IC}> {{ <http://iconclass.org/11H%28JEROME%29> "
                             "skos:altLabel ?k } }")
    assert sorted(r["k"].value for r in kws) == ["Jerome", "hermit"]


def test_descendants_query(slice_store: Store) -> None:
    rows = slice_store.select("""SELECT ?n WHERE { ?c skos:broader+ ic:73D ; skos:notation ?n } ORDER BY ?n""")
    assert [r["n"].value for r in rows] == ["73D8", "73D82", "73D82(...)", "73D82(CROWN OF THORNS)"]


def test_polyhierarchy_keeps_every_parent(slice_store: Store) -> None:
    # 11HH is listed under 11H only here; 11H lists both 11H(...) and 11HH.
    rows = slice_store.select("SELECT ?p WHERE { <http://iconclass.org/11HH> skos:broader ?p }")
    assert [str(r["p"]) for r in rows] == ["http://iconclass.org/11H"]


def test_label_in_language_and_fallback(iconclass: Iconclass) -> None:
    assert iconclass.label("11H(JEROME)362", "en").text == "St. Jerome as penitent in his study"
    de = iconclass.label("11H(JEROME)362", "de")
    assert (de.text, de.language, de.fallback) == ("der hl. Hieronymus als Büßer in seinem Studierzimmer", "de", False)
    nl = iconclass.label("11H(JEROME)362", "nl")  # the nl file marks it untranslated ('#')
    assert (nl.text, nl.language, nl.fallback) == ("St. Jerome as penitent in his study", "en", True)
    assert iconclass.label("11A", "nl").text == "Goddelijkheid, God (algemeen)"


def test_resolve_base(iconclass: Iconclass) -> None:
    r = iconclass.resolve("11H(JEROME)362")
    assert r.path == ("1", "11", "11H", "11H(...)", "11H(JEROME)", "11H(JEROME)3", "11H(JEROME)36",
                      "11H(JEROME)362")
    assert r.depth == 8 and r.materialized
    assert r.broader == "11H(JEROME)36"
    assert r.children == ("11H(JEROME)362(+0)", "11H(JEROME)362(+1)")


def test_key_resolution(iconclass: Iconclass) -> None:
    r = iconclass.resolve("31D111(+89)")
    assert r.path[-3:] == ("31D111", "31D111(+8)", "31D111(+89)")
    assert not r.materialized
    assert iconclass.label("31D111(+89)").text == "infant, baby ~ the ages of man (+ nude human being)"
    assert iconclass.label("31D111(+89)", "de").text == \
        "die Lebensalter des Menschen: Säugling, Baby (+ nackter Mensch)"
    assert iconclass.resolve("31D111(+8)").children == ("31D111(+89)",)
    assert iconclass.resolve("11A(+1)").children == ("11A(+11)",)


def test_named_on_demand(iconclass: Iconclass) -> None:
    r = iconclass.resolve("11H(FRANCIS)3")
    assert r.path == ("1", "11", "11H", "11H(...)", "11H(FRANCIS)", "11H(FRANCIS)3")
    assert r.children[0] == "11H(FRANCIS)36"
    assert iconclass.label("11H(FRANCIS)").text == "male saints (FRANCIS)"
    assert iconclass.label("11H(FRANCIS)", "de").text == "männliche Heilige (FRANCIS)"
    assert iconclass.resolve("73D82(LANCE)").broader == "73D82(...)"


def test_compound(iconclass: Iconclass) -> None:
    r = iconclass.resolve("11H(JEROME):31D111(+89)")
    assert r.broader == "11H(JEROME)"
    assert r.children == ()
    assert iconclass.label("11H(JEROME):31D111(+89)").text == \
        "the monk and hermit Jerome (Hieronymus) : infant, baby ~ the ages of man (+ nude human being)"


@pytest.mark.parametrize("bad, reason", [
    ("73D99", "73D99 is not in Iconclass (the closest that exists is 73D)"),
    ("31D111(+7)", "key (+7) is not in key set 31k"),
    ("31D111(+7q15)", "digits only"),
    ("73D82(+1)", "takes no keys"),
    ("31D(FOO)", "name template 31D(...) is not in Iconclass"),
    ("61B:11H", "61B is not in Iconclass"),
])
def test_unknown_notations_rejected_with_reason(iconclass: Iconclass, bad: str, reason: str) -> None:
    with pytest.raises(NotationError) as info:
        iconclass.resolve(bad)
    assert reason in str(info.value)


def test_lenient_resolution_reports_changes(iconclass: Iconclass) -> None:
    resolved, reason, changes = iconclass.try_resolve("73D82  (CROWN OF THORNS)\n")
    assert resolved is not None and resolved.canonical == "73D82(CROWN OF THORNS)"
    assert reason is None and changes
    resolved, reason, _ = iconclass.try_resolve("99Z pirate")
    assert resolved is None and "not in Iconclass" in reason


def test_materialized_triples_for_derived_notations(iconclass: Iconclass) -> None:
    triples = iconclass.concept_triples("31D111(+89)", ["en", "de"])
    predicates = {str(p) for _, p, _ in triples}
    assert SKOS.broader in predicates and SKOS.prefLabel in predicates
    assert (iconclass.resolve("31D111(+89)").iri, SKOS.broader,
            iconclass.resolve("31D111(+8)").iri) in triples


def test_language_selection_and_missing_language(slice_dir: Path) -> None:
    store = Store()
    result = load_iconclass(store, data_dir=slice_dir, languages=["de"])
    assert set(result.report.labels) == {"de"}
    with pytest.raises(DataSourceError, match="no Iconclass texts for xx"):
        load_iconclass(store, data_dir=slice_dir, languages=["xx"])


def test_malformed_data_is_reported_with_line(tmp_path: Path, slice_dir: Path) -> None:
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(slice_dir, broken)
    (broken / "notations.txt").write_text("N 1\n$\n; orphan continuation\n$\n", encoding="utf-8")
    store = Store()
    with pytest.raises(DataSourceError, match=r"notations.txt:3: ';' continuation"):
        load_iconclass(store, data_dir=broken)
    (broken / "notations.txt").write_bytes(b"N 1\n$\nN \xff\n$\n")
    with pytest.raises(DataSourceError, match=r"notations.txt:3: not UTF-8"):
        load_iconclass(store, data_dir=broken)
    assert not store.has_graph(IC)


def test_not_a_data_dir(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match="not an iconclass/data folder"):
        load_iconclass(Store(), data_dir=tmp_path)


@pytest.mark.slow
def test_default_source_is_the_iconclass_package() -> None:
    store = Store()
    result = load_iconclass(store, languages=["en"])
    assert result.report.concepts > 40_000
    ic = Iconclass(store)
    assert ic.label("11H(JEROME)362").text == "St. Jerome as penitent in his study"


@pytest.mark.parametrize("producers", [1, 3])
def test_a_load_made_by_several_processes_writes_what_one_interpreter_writes(
        slice_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, producers: int) -> None:
    """The spawned producers (each a part of the split) give the same quads and the same report."""
    from kgart.loaders.iconclass import IconclassTriples

    import kgart.store

    monkeypatch.setattr(kgart.store, "_producers", lambda: producers)
    whole = IconclassTriples(str(slice_dir))
    parts = whole.split(producers)
    assert len(parts) == producers
    assert sorted(s for part in parts for s in part.streams or []) == sorted(
        ["structure"] + [f"{kind}:{code}" for code in whole.source().languages for kind in ("txt", "kw")])

    in_process, spawned = Store(), Store(tmp_path / "store")
    count, report = in_process.replace_graph_from(IC, IconclassTriples(str(slice_dir)), in_process=True)
    spawned_count, spawned_report = spawned.replace_graph_from(IC, IconclassTriples(str(slice_dir)))
    assert spawned_count == count and spawned_report == report
    assert set(spawned.dump(IC).splitlines()) == set(in_process.dump(IC).splitlines())
    spawned.close()


def test_a_part_that_fails_leaves_the_graph_as_it_was(slice_dir: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import kgart.store

    monkeypatch.setattr(kgart.store, "_producers", lambda: 2)
    store = Store(tmp_path / "store")
    before = load_iconclass(store, data_dir=slice_dir).triples
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in slice_dir.rglob("*"):
        if f.is_file():
            (broken / f.relative_to(slice_dir)).parent.mkdir(parents=True, exist_ok=True)
            (broken / f.relative_to(slice_dir)).write_bytes(f.read_bytes())
    german = next((broken / "txt").glob("de/*.txt"))
    german.write_bytes(b"\xff\xfe not UTF-8\n")
    from kgart.loaders.iconclass import IconclassTriples

    with pytest.raises(DataSourceError, match="not UTF-8"):
        store.replace_graph_from(IC, IconclassTriples(str(broken)))
    assert store.count(IC) == before
    store.close()


def test_nquads_and_ntriples_write_each_term_as_oxigraphs_serializer_does() -> None:
    import pyoxigraph as ox

    from kgart.errors import InvalidTermError, StoreError
    from kgart.oxigraph_adapter import named_node, nquads_chunks, serialize_ntriples, to_quads
    from kgart.rdf import IRI, XSD, BlankNode, Literal

    s, p = IRI("http://example.org/s%20é"), IRI("http://example.org/p")
    triples = [(s, p, Literal('say "hi"\n\t\\ \u0001 \U0001F600', "en-GB")), (s, p, Literal("1", None, XSD.integer)),
               (s, p, Literal("plain")), (s, p, IRI("http://example.org/o")), (BlankNode("b1"), p, BlankNode("b2"))]
    graph = named_node("http://example.org/g")
    chunks = list(nquads_chunks(triples, graph, lines=2))
    assert [chunk.count(b"\n") for chunk in chunks] == [2, 2, 1]
    assert b"".join(chunks) == ox.serialize(list(to_quads(triples, graph)), format=ox.RdfFormat.N_QUADS)
    with pytest.raises(StoreError, match="cannot store triple"):
        list(nquads_chunks([(IRI("http://x> ?p ?o"), IRI(p), Literal("x"))], graph))
    assert serialize_ntriples(triples) == ox.serialize([ox.Triple(q.subject, q.predicate, q.object)
                                                        for q in to_quads(triples, graph)],
                                                       format=ox.RdfFormat.N_TRIPLES)
    with pytest.raises(InvalidTermError, match="cannot store triple"):
        serialize_ntriples([(IRI(s), IRI(p), Literal("x", "not a tag!"))])
