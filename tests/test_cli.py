"""The kgart command, driven in-process through click's runner."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from kgart.cli import main
from tests.iconclass_slice import CONCEPTS, TEXTS


def invoke(runner: CliRunner, store: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(main, ["--store", str(store), *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_help_lists_commands(runner: CliRunner) -> None:
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("load", "stats", "notation", "query", "settings", "demo"):
        assert command in result.output


def test_load_stats_notation_query(runner: CliRunner, tmp_path: Path, slice_dir: Path) -> None:
    store = tmp_path / "store"
    code, out = invoke(runner, store, "load", "iconclass", "--data-dir", str(slice_dir))
    assert code == 0, out
    assert f"{CONCEPTS} concepts" in out
    assert "Labels per language: " + ", ".join(f"{k} {len(v)}" for k, v in sorted(TEXTS.items())) in out

    code, out = invoke(runner, store, "stats")
    assert code == 0 and "iconclass" in out and f"Iconclass concepts: {CONCEPTS}" in out
    assert "Label languages (3)" in out

    code, out = invoke(runner, store, "notation", "11H(JEROME)362", "--lang", "de")
    assert code == 0
    assert out.splitlines()[0] == "11H(JEROME)362  der hl. Hieronymus als Büßer in seinem Studierzimmer"
    assert "http://iconclass.org/11H%28JEROME%29362" in out and "11H(JEROME)36 " in out

    code, out = invoke(runner, store, "notation", "11H(JEROME)362", "--lang", "nl")
    assert "no nl text for this notation; shown in en" in out

    code, out = invoke(runner, store, "notation", "11A", "--lang", "nl")
    assert out.splitlines()[0] == "11A  Goddelijkheid, God (algemeen)"

    code, out = invoke(runner, store, "notation", "31D111(+89)", "--format", "json")
    data = json.loads(out)
    assert data["label"] == "infant, baby ~ the ages of man (+ nude human being)"
    assert [p["notation"] for p in data["path"]][-2:] == ["31D111(+8)", "31D111(+89)"]

    code, out = invoke(runner, store, "query",
                       "SELECT ?n WHERE { ?c skos:broader+ ic:73D ; skos:notation ?n } ORDER BY ?n")
    assert code == 0 and "73D82(CROWN OF THORNS)" in out and "(4 rows)" in out

    code, out = invoke(runner, store, "query", "--format", "csv",
                       "SELECT ?n WHERE { ic:73D skos:notation ?n }")
    assert out.splitlines() == ["n", "73D"]

    code, out = invoke(runner, store, "query", "--format", "json", "ASK { ic:73D a skos:Concept }")
    assert json.loads(out)["boolean"] is True


def test_user_mistakes_are_one_line(runner: CliRunner, tmp_path: Path, slice_dir: Path) -> None:
    store = tmp_path / "store"
    invoke(runner, store, "load", "iconclass", "--data-dir", str(slice_dir))
    for args, message in [
        (["notation", "73D99"], "73D99 is not in Iconclass"),
        (["notation", "11H(JEROME"], "never closed"),
        (["query", "SELEC x"], "SPARQL syntax error"),
        (["query", "@/nonexistent/file.rq"], "cannot read"),
    ]:
        result = runner.invoke(main, ["--store", str(store), *args])
        assert result.exit_code == 1, result.output
        assert message in result.output
        assert "Traceback" not in result.output


def test_notation_before_loading(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["--store", str(tmp_path / "s"), "notation", "11H"])
    assert result.exit_code == 1 and "kgart load iconclass" in result.output


def test_settings_precedence(runner: CliRunner, tmp_path: Path, monkeypatch: object) -> None:
    config = tmp_path / "kgart.toml"
    config.write_text('store = "/from/file"\nlabel_language = "de"\n')
    result = runner.invoke(main, ["--config", str(config), "settings"], env={"KGART_LABEL_LANGUAGE": "fr"})
    assert "store = '/from/file'" in result.output
    assert "label_language = 'fr'  [KGART_LABEL_LANGUAGE" in result.output
    result = runner.invoke(main, ["--config", str(config), "--store", "/cli", "settings"])
    assert "store = '/cli'  [command line" in result.output
    config.write_text('stor = "/typo"\n')
    result = runner.invoke(main, ["--config", str(config), "settings"])
    assert result.exit_code == 1 and "unknown setting(s) stor" in result.output


def test_load_validate_drop(runner: CliRunner, tmp_path: Path, slice_dir: Path) -> None:
    from tests.collection_fixtures import write_collections

    files = write_collections(tmp_path / "in")
    store = tmp_path / "store"
    invoke(runner, store, "load", "iconclass", "--data-dir", str(slice_dir))
    code, out = invoke(runner, store, "load", "rkd", str(files["rkd_json"]))
    assert code == 0
    assert "graph rkd: 2 records" in out and "1 codes rejected" in out and "records skipped" in out
    assert "missing required field 'priref'" in out
    code, out = invoke(runner, store, "load", "tate", str(files["tate"]), "--graph", "tate-sample")
    assert code == 0 and "graph tate-sample: 2 records" in out
    code, out = invoke(runner, store, "validate")
    assert code == 0 and "rkd:" in out and "tate-sample:" in out and "conforms" in out
    code, out = invoke(runner, store, "drop", "tate-sample")
    assert code == 0 and "dropped tate-sample" in out
    result = runner.invoke(main, ["--store", str(store), "drop", "tate-sample"])
    assert result.exit_code == 1 and "no graph 'tate-sample'" in result.output
    result = runner.invoke(main, ["--store", str(store), "load", "rkd", str(files["rkd_json"]), "--strict"])
    assert result.exit_code == 1 and "--strict stops at the first bad record" in result.output
    result = runner.invoke(main, ["--store", str(store), "load", "rkd", str(files["rkd_json"]),
                                  "--mapping", str(files["generic_mapping"])])
    assert result.exit_code == 1 and "--mapping does not apply to rkd" in result.output


def test_cli_against_a_remote_store(runner: CliRunner, oxigraph_server, slice_dir: Path) -> None:  # noqa: ANN001
    url = oxigraph_server.url
    result = runner.invoke(main, ["--store", url, "load", "iconclass", "--data-dir", str(slice_dir)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["--store", url, "notation", "31D111(+89)"])
    assert "infant, baby ~ the ages of man (+ nude human being)" in result.output
    result = runner.invoke(main, ["query", "SELECT ?n WHERE { ic:73D skos:notation ?n }", "--format", "csv"],
                           env={"KGART_STORE_URL": url, "KGART_STORE": ""})
    assert result.output.split() == ["n", "73D"]
    result = runner.invoke(main, ["--store", "http://127.0.0.1:9", "stats"])
    assert result.exit_code == 1 and "cannot reach the SPARQL server" in result.output


def test_demo_sets_up_offline(runner: CliRunner, tmp_path: Path) -> None:
    store = tmp_path / "store"
    code, out = invoke(runner, store, "demo", "--no-serve", "--no-embed")
    assert code == 0, out
    assert "Loaded Iconclass: 40,6" in out and "Loaded a sample of the Tate collection (CC0): 286 artworks" in out
    code, out = invoke(runner, store, "demo", "--no-serve", "--no-embed")
    assert "already loaded" in out
