"""Retrieval: blending and subsumption on a hand-built hierarchy whose right answers are known,
then the real pipeline (MiniLM, the Iconclass slice, the CLI contract)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from kgart.loaders import load_collection, load_iconclass

from kgart.cli import main
from kgart.evaluation import GoldItem, score
from kgart.iconclass import Iconclass
from kgart.notation import notation_iri
from kgart.retrieval import BlendConfig, ConceptTree, Query, Retriever
from kgart.store import Store

# A hand-built tree: A has children A1 A2 A3; B has one child B1.
TREE = {"1": None, "11": "1", "11A": "11", "11A1": "11A", "11A2": "11A", "11A3": "11A", "11H": "11", "11H1": "11H"}


class TableEncoder:
    """Gives each known query text a fixed vector: similarities in these tests are chosen, not learned."""

    model_id = "table"
    modalities = ("text",)

    def __init__(self, table: dict[str, np.ndarray]) -> None:
        self.table = table

    def encode_texts(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        return np.stack([self.table[t] for t in texts])

    def encode_images(self, images: Sequence[str], batch_size: int = 32) -> None:
        raise AssertionError("not used")


class MatrixIndex:
    def __init__(self, iris: list[str], matrix: np.ndarray) -> None:
        self.iris, self.matrix = iris, matrix
        self._row = {i: n for n, i in enumerate(iris)}

    def search(self, query: np.ndarray, k: int = 10, within=None):  # noqa: ANN001, ANN201
        rows = range(len(self.iris)) if within is None else [self._row[i] for i in within if i in self._row]
        scored = sorted(((self.iris[r], float(self.matrix[r] @ query)) for r in rows), key=lambda x: -x[1])
        return scored[:k]

    def vector(self, iri: str) -> np.ndarray:
        return self.matrix[self._row[iri]]


@pytest.fixture()
def hand_built() -> Retriever:
    store = Store()
    lines = []
    for child, parent in TREE.items():
        c = notation_iri(child)
        lines.append(f"<{c}> a skos:Concept ; skos:notation '{child}' ; skos:prefLabel '{child}'@en ; "
                     "skos:inScheme <http://iconclass.org/> .")
        if parent:
            lines.append(f"<{c}> skos:broader <{notation_iri(parent)}> .")
    store.update("INSERT DATA { GRAPH <https://w3id.org/kgart/graph/iconclass> { " + "\n".join(lines) + " } }")
    iris = [notation_iri(n) for n in TREE]
    # Concept vectors on a 3-d sphere; the query "q" points at e0.
    vectors = {"1": [0, 0, 1], "11": [0, 0, 1], "11A": [0.2, 0, 0.98], "11A1": [0.8, 0.6, 0], "11A2": [0.8, -0.6, 0],
               "11A3": [0.8, 0, 0.6], "11H": [0.0, 1, 0], "11H1": [0.85, 0.53, 0]}
    matrix = np.array([vectors[n] for n in TREE], dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    index = MatrixIndex(iris, matrix)
    encoder = TableEncoder({"q": np.array([1, 0, 0], dtype=np.float32)})
    config = BlendConfig.load().only(["vector"])
    return Retriever(store, encoder, lambda kind: index, config=config)  # type: ignore[arg-type]


def ranked(retriever: Retriever, config: BlendConfig, **kwargs: object) -> list[str]:
    return [h.notation for h in retriever.search_concepts(Query(text="q"), config=config, labels=False,
                                                          **kwargs)]  # type: ignore[arg-type]


def test_vector_only_ranks_by_cosine(hand_built: Retriever) -> None:
    assert ranked(hand_built, hand_built.config.only(["vector"]), k=3) == ["11H1", "11A1", "11A2"]


def test_children_and_branch_lift_the_parent_whose_children_all_match(hand_built: Retriever) -> None:
    """11A's three children all match the query; 11H has one good child. With branch support
    11A rises above 11H and above its own children, which vector alone ranks below 11H1."""
    config = BlendConfig({"vector": 1.0, "keyword": 0, "children": 0.5, "branch": 1.0, "parent": 0, "prior": 0})
    result = ranked(hand_built, config, k=8)
    assert result.index("11A") < result.index("11H")
    assert result[0] == "11A"
    hits = hand_built.search_concepts(Query(text="q"), config=config, k=1, labels=False)
    parts = hits[0].components
    assert parts["branch"] == pytest.approx(np.mean([0.8, 0.8, 0.8]), abs=1e-6)
    assert parts["children"] == pytest.approx(0.5 * 0.8, abs=1e-6)
    assert sum(parts.values()) == pytest.approx(hits[0].score)


def test_parent_component_lifts_children_of_a_matching_parent(hand_built: Retriever) -> None:
    config = BlendConfig({"vector": 0.0, "keyword": 0, "children": 0, "branch": 0, "parent": 1.0, "prior": 0})
    assert set(ranked(hand_built, config, k=3)) == {"11A1", "11A2", "11A3"}  # parent 11A is closest to q


def test_priors_break_ties(hand_built: Retriever) -> None:
    config = BlendConfig({"vector": 1.0, "keyword": 0, "children": 0, "branch": 0, "parent": 0, "prior": 0.1})
    assert ranked(hand_built, config, k=8).index("11A1") < ranked(hand_built, config, k=8).index("11A2")
    with_counts = Retriever(hand_built.store, hand_built.encoder, hand_built.index,
                            priors={"iconclass": {"11A2": 500.0, "11A1": 1.0}})
    order = ranked(with_counts, config, k=8)
    assert order.index("11A2") < order.index("11A1")  # same cosine, the used code first
    assert with_counts.prior("tate") is None  # counts are per scheme


def test_priors_counted_in_the_collections_when_asked(hand_built: Retriever) -> None:
    hand_built.store.update(f"""INSERT DATA {{ GRAPH <https://w3id.org/kgart/graph/demo> {{
        <urn:a1> a schema:VisualArtwork ; dcterms:subject <{notation_iri("11A2")}> .
        <urn:a2> a schema:VisualArtwork ; dcterms:subject <{notation_iri("11A2")}>, <{notation_iri("11H")}> }} }}""")
    counted = Retriever(hand_built.store, hand_built.encoder, hand_built.index, collection_priors=True)
    prior = dict(zip(counted.tree.notations, counted.prior("iconclass"), strict=True))  # type: ignore[arg-type]
    assert prior["11A2"] == pytest.approx(1.0) and 0 < prior["11H"] < 1 and prior["11A1"] == 0
    assert Retriever(hand_built.store, hand_built.encoder, hand_built.index).prior("iconclass") is None


def test_subtree_and_depth_filters(hand_built: Retriever) -> None:
    config = hand_built.config.only(["vector"])
    assert ranked(hand_built, config, k=10, under="11A") == ["11A1", "11A2", "11A3", "11A"]
    assert set(ranked(hand_built, config, k=10, depth=(3, 3))) == {"11A", "11H"}


def test_concept_tree_arrays(hand_built: Retriever) -> None:
    tree = hand_built.tree
    assert isinstance(tree, ConceptTree)
    depth = {n: int(d) for n, d in zip(tree.notations, tree.depth, strict=True)}
    assert depth == {"1": 1, "11": 2, "11A": 3, "11A1": 4, "11A2": 4, "11A3": 4, "11H": 3, "11H1": 4}
    scores = np.arange(len(tree.iris), dtype=np.float32)
    best = dict(zip(tree.notations, tree.child_max(scores), strict=True))
    assert best["11A"] == tree.row[notation_iri("11A3")]


def test_metrics_any_gold_code_and_branch() -> None:
    gold = [GoldItem("1", "t", "", ("11A1", "73D")), GoldItem("2", "t", "", ("25F",))]
    result = score(gold, [["x", "73D", "11A1"], ["25G3", "25F"]], [1, 2])
    assert result.recall == {1: 0.0, 2: 100.0}
    assert result.branch == {1: 0.0, 2: 100.0}  # 25G3 does not share 25F's first four characters; x neither
    assert result.mrr == pytest.approx(100 * (1 / 2 + 1 / 2) / 2)


def test_a_paired_gain_says_how_sure_it_is() -> None:
    """Items found by one configuration only, against the other, with a seeded interval and
    McNemar's exact test: three of four items is no evidence; ten of ten is."""
    from kgart.evaluation import paired_gains

    gold = [GoldItem(str(i), "t", "", (f"C{i}",)) for i in range(4)]
    baseline = [["C0"], ["C1"], ["x"], ["x", "C3"]]
    other = [["C0"], ["x", "C1"], ["C2"], ["C3"]]
    at_1, at_2 = paired_gains(gold, baseline, other, [1, 2])
    assert (at_1.gain, at_1.gained, at_1.lost) == (25.0, 2, 1) and at_1.p_value == pytest.approx(1.0)
    assert at_1.low < at_1.gain < at_1.high and paired_gains(gold, baseline, other, [1])[0] == at_1
    assert (at_2.gain, at_2.gained, at_2.lost) == (25.0, 1, 0)  # at 2 only C2 is new
    assert str(at_1).startswith("R@1 +25.0 (95% interval ") and "2 gained, 1 lost" in str(at_1)
    same, = paired_gains(gold, baseline, baseline, [1])
    assert (same.gain, same.low, same.high, same.gained, same.lost, same.p_value) == (0.0, 0.0, 0.0, 0, 0, 1.0)
    many = [GoldItem(str(i), "t", "", ("C",)) for i in range(20)]
    sure, = paired_gains(many, [["x"]] * 20, [["C"]] * 10 + [["x"]] * 10, [1])
    assert sure.gain == 50.0 and sure.p_value == pytest.approx(2 * 0.5 ** 10) and sure.low > 20.0


# -- the real pipeline -----------------------------------------------------------------------

@pytest.fixture()
def real(tmp_path: Path, slice_dir: Path) -> tuple[Path, Retriever]:
    from kgart.embeddings.service import open_retriever

    from tests.collection_fixtures import write_collections

    location = tmp_path / "store"
    store = Store(location)
    load_iconclass(store, data_dir=slice_dir)
    files = write_collections(tmp_path / "in")
    load_collection(store, "rkd", files["rkd_json"])
    from kgart.embeddings.job import embed

    embed(store, kinds=["iconclass", "artwork"])
    return location, open_retriever(store)


def test_real_search_suggest_subsume(real: tuple[Path, Retriever]) -> None:
    _, retriever = real
    assert retriever.search_concepts(Query(text="the crown of thorns"), k=1)[0].notation == \
        "73D82(CROWN OF THORNS)"
    assert retriever.suggest(title="Penitent St Jerome in his study", k=3)[0].notation == "11H(JEROME)362"
    under = retriever.search_items(Query(), "artwork", under="73D")
    assert [h.iri for h in under] == ["https://w3id.org/kgart/artwork/rkd/198783"]
    assert under[0].codes == ["73D82(CROWN OF THORNS)"]
    ranked_items = retriever.search_items(Query(text="Jerome"), "artwork", k=2)
    assert ranked_items[0].iri == "https://w3id.org/kgart/artwork/rkd/193334"
    similar = retriever.similar("https://w3id.org/kgart/artwork/rkd/193334", k=1)
    assert similar[0].iri == "https://w3id.org/kgart/artwork/rkd/198783"
    assert retriever.keywords is not None
    assert retriever.keywords.complete("hierony", "iconclass") or retriever.keywords.complete("jero", "iconclass")
    assert Iconclass(retriever.store).is_loaded


def test_cli_suggest_jsonl_contract(real: tuple[Path, Retriever], tmp_path: Path) -> None:
    location, retriever = real
    retriever.store.close()
    lines = [{"id": "a", "title": "Penitent St Jerome in his study", "makers": "https://w3id.org/kgart/person/x"},
             {"id": 7, "description": "the crown of thorns"}, {"id": "empty"}]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["--store", str(location), "suggest", "--input", str(path),
                                       "--format", "jsonl", "--k", "3"])
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert [o["id"] for o in out] == ["a", 7, "empty"]
    assert out[0]["codes"][0]["notation"] == "11H(JEROME)362"
    assert set(out[0]["codes"][0]) == {"notation", "score"} and len(out[0]["codes"]) == 3
    assert out[2]["codes"] == []
    path.write_text('{"id": "b", "title": "x", "makers": [3]}\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["--store", str(location), "suggest", "--input", str(path)])
    assert result.exit_code != 0 and '"makers" must be an IRI or a list of IRIs' in result.output
    assert "in.jsonl" in result.output and "1" in result.output  # the file and line at fault
    result = CliRunner().invoke(main, ["--store", str(location), "suggest", "--title", "x", "--maker", "not an iri"])
    assert result.exit_code != 0 and "not an IRI" in result.output
    result = CliRunner().invoke(main, ["--store", str(location), "search", "crown of thorns", "--explain"])
    assert result.exit_code == 0 and "73D82(CROWN OF THORNS)" in result.output and "vector +" in result.output


def closed_store_and_gold(real: tuple[Path, Retriever], tmp_path: Path, items: list[dict[str, Any]]
                          ) -> tuple[Path, Path]:
    """The real store's folder, closed for a CLI run, and gold items as JSON Lines."""
    location, retriever = real
    retriever.store.close()
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(json.dumps(x) for x in items) + "\n", encoding="utf-8")
    return location, gold


JEROME = {"id": 1, "title": "Penitent St Jerome in his study", "codes": ["11H(JEROME)362"]}


def test_cli_eval_suggest(real: tuple[Path, Retriever], tmp_path: Path) -> None:
    location, gold = closed_store_and_gold(real, tmp_path, [
        JEROME, {"id": 2, "title": "the crown of thorns", "codes": ["73D82  (CROWN OF THORNS)", "zz"]},
        {"id": 3, "codes": ["31D111(+89)"]}])
    result = CliRunner().invoke(main, ["--store", str(location), "eval", "suggest", "--input", str(gold),
                                       "--k", "1,3"], env={"KGART_USAGE_COUNTS": ""})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:3] == ["configuration", "R@1", "R@3"]
    vector_only = lines[2].split()
    assert vector_only[:2] == ["vector", "only"] and float(vector_only[2]) == pytest.approx(66.7, abs=0.1)
    assert "(3 items)" in result.output and "1 item(s) have none of them" in result.output
    assert "usage priors: none" in result.output
    assert "all but prior" not in result.output  # no priors, nothing to leave out
    counts = tmp_path / "counts.csv"
    counts.write_text("notation,count\n11H(JEROME)362,1\n73D82(CROWN OF THORNS),5\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["--store", str(location), "eval", "suggest", "--input", str(gold),
                                       "--k", "1,3", "--half", "2"], env={"KGART_USAGE_COUNTS": str(counts)})
    assert result.exit_code == 0, result.output
    assert "(1 items)" in result.output  # the second of three items
    assert "all but prior" in result.output and "all but keyword" in result.output
    assert "less one use of each gold item's codes" in result.output


def test_cli_eval_suggest_writes_each_items_result(real: tuple[Path, Retriever], tmp_path: Path) -> None:
    location, gold = closed_store_and_gold(real, tmp_path, [
        JEROME, {"id": 2, "title": "the crown of thorns", "codes": ["31D111"]},
        {"id": 3, "title": "die Heilige mit dem Buch", "codes": ["11H"]}])
    details = tmp_path / "details.jsonl"
    result = CliRunner().invoke(main, ["--store", str(location), "eval", "suggest", "--input", str(gold), "--k", "1,3",
                                       "--no-ablation", "--details", str(details)], env={"KGART_USAGE_COUNTS": ""})
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in details.read_text(encoding="utf-8").splitlines()]
    assert [(line["configuration"], line["id"]) for line in lines] == [("configured blend", "1"),
                                                                        ("configured blend", "2"),
                                                                        ("configured blend", "3")]
    jerome, crown, german = lines
    assert german["title_searched_as"] == {"language": "de", "text": "saints buch"}
    assert jerome["title"] == "Penitent St Jerome in his study" and jerome["gold"] == ["11H(JEROME)362"]
    assert jerome["ranked"][jerome["first_gold_rank"] - 1] == "11H(JEROME)362" and len(jerome["ranked"]) == 3
    assert crown["first_gold_rank"] is None and "title_searched_as" not in crown  # English: as written
    r_at_1 = float(result.output.splitlines()[2].split()[2])
    assert r_at_1 == pytest.approx(100 * sum(line["first_gold_rank"] == 1 for line in lines) / len(lines), abs=0.05)
    bad = CliRunner().invoke(main, ["--store", str(location), "eval", "suggest", "--input", str(gold),
                                    "--no-ablation", "--details", str(tmp_path / "missing" / "d.jsonl")])
    assert bad.exit_code != 0 and "cannot write" in bad.output


def test_counts_without_gold_items() -> None:
    from kgart.evaluation import counts_without

    gold = [GoldItem("1", "t", "", ("11H", "25F")), GoldItem("2", "u", "", ("11H",))]
    counts = {"11H": 3.0, "25F": 1.0, "73D": 4.0}
    assert counts_without(counts, gold) == {"11H": 1.0, "25F": 0.0, "73D": 4.0}
    assert counts == {"11H": 3.0, "25F": 1.0, "73D": 4.0}  # the caller's counts are left alone


def test_tate_scheme_suggest_and_eval(tmp_path: Path, slice_dir: Path) -> None:
    import gzip

    from kgart.embeddings.job import embed

    from tests.collection_fixtures import TATE_RECORDS, write_collections

    location = tmp_path / "store"
    store = Store(location)
    load_iconclass(store, data_dir=slice_dir)
    files = write_collections(tmp_path / "in")
    load_collection(store, "tate", files["tate"])
    embed(store, kinds=["tate"])
    store.close()
    runner = CliRunner()
    result = runner.invoke(main, ["--store", str(location), "suggest", "--scheme", "tate", "--title", "the sea",
                                  "--format", "jsonl", "--k", "2"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["codes"][0]["notation"] == "2199"  # "sea"
    records = tmp_path / "gold.jsonl.gz"
    records.write_bytes(gzip.compress("\n".join(json.dumps(r) for r in TATE_RECORDS).encode()))
    result = runner.invoke(main, ["--store", str(location), "eval", "suggest", "--scheme", "tate",
                                  "--input", str(records), "--k", "1,3"])
    assert result.exit_code == 0, result.output
    assert "(2 items)" in result.output and "+ neighbours (all)" in result.output
    assert "2 of the 2 gold items are records in the store and do not vote" in result.output


def test_blend_config_file_and_scheme_weights(tmp_path: Path) -> None:
    from kgart.errors import ConfigError

    path = tmp_path / "blend.toml"
    path.write_text("[weights]\nvector = 2\n[schemes.tate.weights]\nparent = 0.7\n", encoding="utf-8")
    config = BlendConfig.load(path)
    assert config.weights["vector"] == 2.0
    assert config.for_scheme("tate").weights["parent"] == 0.7
    assert config.for_scheme("tate").weights["vector"] == 2.0  # the general weight where the scheme has none
    assert config.for_scheme("iconclass").weights == config.weights
    path.write_text("[schemes.tate.weights]\ncolour = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="colour"):
        BlendConfig.load(path)
    path.write_text("[weights]\nvector = 'high'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="numbers"):
        BlendConfig.load(path)
    for text, where in [("schemes = 3\n", r"\[schemes\]"), ("[schemes]\ntate = 3\n", r"\[schemes.tate\]"),
                        ("weights = 1\n", r"\[weights\]"), ("fusion = 'x'\n", r"\[fusion\]"),
                        ("[schemes.tate]\nweights = 2\n", r"\[schemes.tate.weights\]")]:
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError, match=where):
            BlendConfig.load(path)
    # Schemes are whatever the store holds (kgart.kinds), so a name is checked for its form here.
    path.write_text('[schemes."Getty AAT".weights]\nvector = 1\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="names a scheme"):
        BlendConfig.load(path)


def test_neighbours_vote_with_their_codes_unless_left_out(hand_built: Retriever) -> None:
    """Two annotated artworks; the one most like the query lends its concept its vote."""
    hand_built.store.update(f"""INSERT DATA {{ GRAPH <https://w3id.org/kgart/graph/demo> {{
        <urn:near> a schema:VisualArtwork ; dcterms:subject <{notation_iri("11H")}> .
        <urn:far> a schema:VisualArtwork ; dcterms:subject <{notation_iri("11A3")}> }} }}""")
    concepts = hand_built.index("iconclass")
    artworks = MatrixIndex(["urn:near", "urn:far"], np.array([[1, 0, 0], [0.6, 0, 0.8]], dtype=np.float32))
    retriever = Retriever(hand_built.store, hand_built.encoder,
                          lambda kind: artworks if kind == "artwork" else concepts)  # type: ignore[arg-type,return-value]
    config = BlendConfig({"vector": 0.1, "neighbours": 1.0}, neighbour_count=1)
    best = retriever.search_concepts(Query(text="q"), config=config, k=1, labels=False)[0]
    assert best.notation == "11H" and best.components["neighbours"] == pytest.approx(1.0)  # 11H's cosine is 0
    left_out = retriever.search_concepts(Query(text="q"), config=config, k=1, labels=False,
                                         exclude=frozenset({"urn:near"}))[0]
    assert left_out.notation == "11A3"  # the nearest artwork left out, the next one votes
    config_off = BlendConfig({"vector": 1.0})
    assert retriever.search_concepts(Query(text="q"), config=config_off, k=1, labels=False)[0].notation == "11H1"


def test_nearest_votes_from_the_few_most_similar_beside_the_neighbours(hand_built: Retriever, tmp_path: Path
                                                                         ) -> None:
    """One pass gives both: the single nearest artwork's code for ``nearest``, the three
    nearest's majority for ``neighbours``."""
    hand_built.store.update(f"""INSERT DATA {{ GRAPH <https://w3id.org/kgart/graph/demo> {{
        <urn:a> a schema:VisualArtwork ; dcterms:subject <{notation_iri("11H")}> .
        <urn:b> a schema:VisualArtwork ; dcterms:subject <{notation_iri("11A3")}> .
        <urn:c> a schema:VisualArtwork ; dcterms:subject <{notation_iri("11A3")}> }} }}""")
    concepts = hand_built.index("iconclass")
    artworks = MatrixIndex(["urn:a", "urn:b", "urn:c"],
                           np.array([[1, 0, 0], [0.8, 0, 0.6], [0.8, 0.6, 0]], dtype=np.float32))
    retriever = Retriever(hand_built.store, hand_built.encoder,
                          lambda kind: artworks if kind == "artwork" else concepts)  # type: ignore[arg-type,return-value]
    config = BlendConfig({"vector": 1.0, "neighbours": 1.0, "nearest": 1.0}, neighbour_count=3, nearest_count=1)
    raw = retriever.raw_components(Query(text="q"), "iconclass", config=config)
    row = retriever.scheme_tree("iconclass").row
    h, a3 = row[notation_iri("11H")], row[notation_iri("11A3")]
    assert raw["nearest"][h] == pytest.approx(1.0) and raw["nearest"][a3] == 0.0
    assert raw["neighbours"][a3] == pytest.approx(1.0) and raw["neighbours"][h] < 1.0  # 0.8 + 0.8 against 1.0
    left_out = retriever.raw_components(Query(text="q"), "iconclass", exclude=frozenset({"urn:a"}), config=config)
    assert left_out["nearest"][a3] == pytest.approx(1.0) and left_out["nearest"][h] == 0.0
    assert BlendConfig.load().nearest_count == 3 and BlendConfig.load().weights["nearest"] == 0.0  # off by hand
    path = tmp_path / "blend.toml"
    path.write_text("nearest = 5\n[weights]\nnearest = 0.2\n", encoding="utf-8")
    assert (BlendConfig.load(path).nearest_count, BlendConfig.load(path).weights["nearest"]) == (5, 0.2)


def test_maker_votes_with_the_share_of_the_makers_other_works(hand_built: Retriever) -> None:
    """A maker's other catalogued works vote for their codes, each code by the share of them that
    carry it (one more work in the count); the record itself and excluded ones never count, and a
    query without a maker has no such component."""
    a1, a3, h = (notation_iri(n) for n in ("11A1", "11A3", "11H"))
    hand_built.store.update(f"""INSERT DATA {{ GRAPH <https://w3id.org/kgart/graph/demo> {{
        <urn:w1> a schema:VisualArtwork ; schema:creator <urn:turner> ; dcterms:subject <{a3}>, <{h}> .
        <urn:w2> a schema:VisualArtwork ; schema:creator <urn:turner> ; dcterms:subject <{a3}> .
        <urn:w3> a schema:VisualArtwork ; schema:creator <urn:turner> ; dcterms:subject <{a1}> .
        <urn:w4> a schema:VisualArtwork ; schema:creator <urn:blake> ; dcterms:subject <{h}> }} }}""")
    concepts = hand_built.index("iconclass")
    artworks = MatrixIndex(["urn:w1", "urn:w2", "urn:w3", "urn:w4"], np.eye(4, 3, dtype=np.float32))
    retriever = Retriever(hand_built.store, hand_built.encoder,
                          lambda kind: artworks if kind == "artwork" else concepts)  # type: ignore[arg-type,return-value]
    row = retriever.scheme_tree("iconclass").row
    votes = retriever.maker_votes(["urn:turner"], "iconclass", exclude=frozenset({"urn:w3"}))
    assert votes is not None
    assert votes[row[a3]] == pytest.approx(2 / 3) and votes[row[h]] == pytest.approx(1 / 3)  # w1, w2; + 1
    assert votes[row[a1]] == 0.0  # w3 is left out
    assert retriever.maker_votes(["urn:nobody"], "iconclass") is None
    config = BlendConfig({"vector": 0.1, "maker": 1.0})
    best = retriever.search_concepts(Query(text="q", makers=("urn:blake",)), config=config, k=1, labels=False)[0]
    assert best.notation == "11H" and best.components["maker"] == pytest.approx(0.5)
    assert "maker" not in retriever.raw_components(Query(text="q"), "iconclass", config=config)
    # A stored record is asked for with its makers, never counting itself among their works.
    hand_built.store.update('INSERT DATA { GRAPH <https://w3id.org/kgart/graph/demo> { '
                            '<urn:w1> schema:name "q" } }')
    retriever.config = config
    suggested = {h.notation: h.components["maker"] for h in retriever.suggest_for("urn:w1", k=8)}
    assert suggested["11A3"] == suggested["11A1"] == pytest.approx(1 / 3)  # w2, w3 of two works + 1
    assert suggested["11H"] == 0.0  # w1's own code: it is not among its maker's other works
    assert BlendConfig.load().weights["maker"] == 0.0  # learned by a ranker, not set by hand


def test_records_in_store_finds_gold_items_by_source_id() -> None:
    from kgart.evaluation import records_in_store

    store = Store()
    store.update('INSERT DATA { GRAPH <https://w3id.org/kgart/graph/demo> { '
                 '<urn:a> a schema:VisualArtwork ; schema:identifier "T0\\"1" . '
                 '<urn:b> a schema:VisualArtwork ; schema:identifier "T02" } }')
    gold = [GoldItem("1", "t", "", ("25F",), source_id='T0"1'), GoldItem("2", "u", "", ("25F",), source_id="T99"),
            GoldItem("3", "v", "", ("25F",))]
    assert records_in_store(store, gold) == frozenset({"urn:a"})  # quotes escaped; unknown and missing ids skipped


def test_a_text_asked_for_again_is_not_encoded_again(hand_built: Retriever) -> None:
    encoded: list[str] = []
    table = hand_built.encoder.table  # type: ignore[attr-defined]
    table["r"] = np.array([0, 1, 0], dtype=np.float32)

    def counting(texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        encoded.extend(texts)
        return np.stack([table[t] for t in texts])

    hand_built.encoder.encode_texts = counting  # type: ignore[method-assign]
    first = ranked(hand_built, BlendConfig.load().only(["vector"]))
    assert ranked(hand_built, BlendConfig.load().only(["vector"])) == first
    assert encoded == ["q"]
    vectors = hand_built.text_vectors(["r", "q", "r"])
    assert encoded == ["q", "r"]  # only the new text, once
    assert [v.tolist() for v in vectors] == [[0, 1, 0], [1, 0, 0], [0, 1, 0]]


def test_two_processes_opening_a_changed_store_build_its_keyword_index_once(tmp_path: Path) -> None:
    """Both opened the index before either rebuilt it (a command beside a server's workers): the
    second finds the first one's build instead of failing on its tables."""
    from kgart.keyword_index import KeywordIndex, _stamp

    with Store(tmp_path / "store") as store:
        store.update("""INSERT DATA { GRAPH <https://w3id.org/kgart/graph/iconclass> {
            <http://iconclass.org/11H> a skos:Concept ; skos:inScheme <http://iconclass.org/> ;
            skos:notation "11H" ; skos:prefLabel "saints"@en } }""")
        path = tmp_path / "keywords.sqlite"
        first, second = KeywordIndex(path), KeywordIndex(path)
        first.rebuild(store, _stamp(store))
        second.rebuild(store, _stamp(store))
        assert [h.iri for h in second.search("saints", "iconclass")] == ["http://iconclass.org/11H"]
        store.update("""INSERT DATA { GRAPH <https://w3id.org/kgart/graph/iconclass> {
            <http://iconclass.org/11I> a skos:Concept ; skos:inScheme <http://iconclass.org/> ;
            skos:notation "11I" ; skos:prefLabel "prophets"@en } }""")
        second.rebuild(store, _stamp(store))
        assert [h.iri for h in first.search("prophets", "iconclass")] == ["http://iconclass.org/11I"]


def test_a_process_reads_the_keyword_index_while_another_one_rebuilds_it(tmp_path: Path) -> None:
    """A rebuild holds the write lock for minutes on a large store; a command opening the index
    meanwhile reads the index as it was instead of failing with "database is locked"."""
    import sqlite3

    from kgart.keyword_index import KeywordIndex

    path = tmp_path / "keywords.sqlite"
    first = KeywordIndex(path)
    first.db.execute("INSERT INTO meta VALUES ('stamp', 'old')")
    first.db.commit()
    writer = sqlite3.connect(str(path), timeout=0)
    writer.execute("BEGIN EXCLUSIVE")  # what a rebuild's commit of many pages takes
    writer.execute("INSERT OR REPLACE INTO meta VALUES ('stamp', 'new')")
    try:
        reader = KeywordIndex(path)
        reader.db.execute("PRAGMA busy_timeout = 100")
        assert reader.meta("stamp") == "old"
    finally:
        writer.rollback()
