"""`kgart train` on real data: the RKD table of ../shared/data over the real Iconclass texts
(skipped when absent).

The whole of Iconclass takes minutes to embed on a CPU, so the store holds the part the
table needs: every concept its codes name, their ancestors and each ancestor's children
(the siblings a leaf is confused with), read from iconclass/data's own files and written
back in their format, in English, Dutch and German. The README's figures come from the
full store (`kgart eval suggest … --compare`); this checks that the same commands run on
the real files and keep their promises there.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from kgart.cli import main
from kgart.evaluation import read_gold
from tests.conftest import run_kgart, shared_data

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

LANGUAGES = ("en", "nl", "de")


def _records(text: str) -> list[list[str]]:
    """notations.txt's records (``$`` between them), each a list of ``X value`` lines with the
    ``; value`` continuations folded into their field's line."""
    records = []
    for block in text.split("\n$\n"):
        lines: list[str] = []
        for line in block.strip("\n$").splitlines():
            if line.startswith("; ") and lines:
                lines[-1] += "\n" + line
            elif line:
                lines.append(line)
        if lines:
            records.append(lines)
    return records


def _field(record: list[str], key: str) -> list[str]:
    return [value[2:] for line in record if line.startswith(key + " ") for value in line.split("\n")]


def write_slice(source: Path, root: Path, codes: set[str]) -> tuple[Path, int]:
    """The concepts ``codes`` name (or their longest listed prefix), their ancestors and each
    ancestor's children, as an iconclass/data folder under ``root``; returns it and the count."""
    records = _records((source / "notations.txt").read_text(encoding="utf-8"))
    notation = {r[0][2:]: r for r in records if r[0].startswith("N ")}
    parent = {child: n for n, r in notation.items() for child in _field(r, "C")}
    kept: set[str] = set()
    for code in codes:
        base = next((code[:end] for end in range(len(code), 0, -1) if code[:end] in notation), None)
        while base is not None:
            kept |= {base, *(c for c in _field(notation[base], "C") if c in notation)}
            base = parent.get(base)
    lines = []
    for n in sorted(kept):
        record = []
        for line in notation[n]:
            key = line[:1]
            if key in "CR":
                values = [v for v in _field([line], key) if v in kept]
                if values:
                    record.append(f"{key} {values[0]}" + "".join(f"\n; {v}" for v in values[1:]))
            else:
                record.append(line)
        lines.append("\n".join(record))
    root.mkdir(parents=True)
    (root / "notations.txt").write_text("\n$\n".join(lines) + "\n$\n", encoding="utf-8")
    shutil.copy(source / "keys.txt", root / "keys.txt")
    for folder in ("txt", "kw"):
        for language in LANGUAGES:
            for path in sorted((source / folder / language).glob("*.txt")):
                out = root / folder / language / path.name
                out.parent.mkdir(parents=True, exist_ok=True)
                text = path.read_text(encoding="utf-8")
                if "keys" not in path.name:
                    text = "".join(line for line in text.splitlines(keepends=True)
                                   if line.split("|", 1)[0].lstrip("#") in kept)
                out.write_text(text, encoding="utf-8")
    return root, len(kept)


def _figures(output: str, configuration: str) -> list[float]:
    """R@1, R@5, R@10 … of one row of ``kgart eval suggest``'s table."""
    row = re.search(rf"^{re.escape(configuration)}((?:\s+[\d.]+)+)$", output, re.MULTILINE)
    assert row, output
    return [float(v) for v in row.group(1).split()]


def test_train_on_the_real_rkd_table_and_iconclass_texts(tmp_path: Path) -> None:
    table = shared_data("odor-rkd", "metadata.csv")
    source = shared_data("iconclass-data")
    codes = {c for item in read_gold(table) for c in item.codes}
    data_dir, count = write_slice(source, tmp_path / "iconclass", codes)
    assert 1_000 < count < 10_000  # 2,561 of Iconclass's 40,703
    location = str(tmp_path / "store")
    run_kgart(["--store", location, "load", "iconclass", "--data-dir", str(data_dir),
               "--languages", ",".join(LANGUAGES)])
    run_kgart(["--store", location, "load", "rkd", str(table)])
    run_kgart(["--store", location, "embed", "--kind", "all"])
    half1, half2 = tmp_path / "half1.jsonl", tmp_path / "half2.jsonl"
    run_kgart(["eval", "split", "--input", str(table), "--half", "1", "--out", str(half1)])
    run_kgart(["eval", "split", "--input", str(table), "--half", "2", "--out", str(half2)])

    out = run_kgart(["--store", location, "train", "encoder", "--name", "real", "--hold-out", str(half2)])
    manifest = json.loads((tmp_path / "store" / "models" / "real" / "manifest.json").read_text(encoding="utf-8"))
    # Half 1's coded rows, repeated up to 30 times, and labels in three languages; nothing of half 2.
    assert manifest["counts"]["held_out_found"] == 100 and "dev examples after training" in out
    assert manifest["counts"]["examples"]["record-iconclass"] > 0
    assert {"label-nl", "label-de"} <= set(manifest["counts"]["examples"])
    run_kgart(["--store", location, "embed", "--model", "trained:real", "--kind", "all"])

    counts = str(shared_data("iconclass-usage-counts", "rkd-counts.csv"))
    out = run_kgart(["--store", location, "eval", "suggest", "--input", str(half2), "--titled", "--fields", "title",
                     "--no-ablation", "--compare", "trained:real"], usage_counts=counts)
    # Scored as the README's figures are, with RKD's usage counts less the scored rows' codes
    # (on this slice: R@1 42.4 → 48.2, R@10 74.1 → 77.6; without usage priors the map lost
    # R@1, 48.2 → 44.7, and gained R@10, 74.1 → 76.5).
    before, after = _figures(out, "untrained: configured blend"), _figures(out, "trained:real: blend")
    assert after[0] > before[0] and after[2] >= before[2], out
    refused = CliRunner().invoke(main, ["--store", location, "eval", "suggest", "--input", str(half1),
                                        "--compare", "trained:real"], env={"KGART_USAGE_COUNTS": ""})
    assert refused.exit_code != 0 and "training data for trained:real" in refused.output
