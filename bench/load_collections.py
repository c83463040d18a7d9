"""Benchmark: collection loading speed and memory, on the real Tate and RKD data.

For the 67,202 Tate records (and the first quarter and half of them, to show
whether memory grows with the input) and for the RKD table: records/s,
triples/s and the peak resident memory of the loading process. Each load runs
in a fresh process and a fresh on-disk store.

    python bench/load_collections.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import subprocess
import sys
import tempfile
from itertools import islice
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"

CHILD = """
import json, resource, sys, time
from kgart.store import Store
from kgart.loaders import load_collection, load_iconclass
kind, path, store_dir, iconclass = sys.argv[1:5]
store = Store(store_dir)
if iconclass != "-":
    load_iconclass(store, data_dir=iconclass, languages=["en"])
start = time.perf_counter()
report = load_collection(store, kind, path)
seconds = time.perf_counter() - start
print(json.dumps({"records": report.records, "triples": report.triples, "seconds": seconds,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(kind: str, path: Path, iconclass: Path | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="kgart-bench-") as tmp:
        out = subprocess.run([sys.executable, "-c", CHILD, kind, str(path), str(Path(tmp) / "store"),
                              str(iconclass) if iconclass else "-"],
                             capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def tate_prefix(source: Path, lines: int, folder: Path) -> Path:
    target = folder / f"tate-{lines}" / "artworks.jsonl.gz"
    target.parent.mkdir(parents=True)
    (target.parent / "subjects").symlink_to(source.parent / "subjects")
    with gzip.open(source, "rt", encoding="utf-8") as f, gzip.open(target, "wt", encoding="utf-8") as out:
        out.writelines(islice(f, lines))
    return target


def report(name: str, r: dict[str, float]) -> None:
    print(f"{name:<28} {r['records']:>8,.0f} records {r['triples']:>10,.0f} triples {r['seconds']:>7.2f} s "
          f"{r['records'] / r['seconds']:>8,.0f} records/s {r['triples'] / r['seconds']:>9,.0f} triples/s "
          f"peak RSS {r['peak_rss_mb']:>6,.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED)
    args = parser.parse_args()
    tate = args.data / "tate" / "artworks-original.jsonl.gz"
    rkd = args.data / "odor-rkd" / "metadata.csv"
    if not tate.exists():
        sys.exit(f"real data not found under {args.data}")
    print(f"python {sys.version.split()[0]}, {resource.getpagesize()} byte pages")
    with gzip.open(tate, "rt", encoding="utf-8") as f:
        total = sum(1 for _ in f)
    with tempfile.TemporaryDirectory(prefix="kgart-bench-in-") as tmp:
        for share in (4, 2):
            report(f"tate (first 1/{share})", run("tate", tate_prefix(tate, total // share, Path(tmp)), None))
    report("tate (all)", run("tate", tate, None))
    result = run("rkd", rkd, args.data / "iconclass-data")
    report("rkd table (codes linked)", result)
    print("(the rkd process also loaded Iconclass, English only, before the timed load)")


if __name__ == "__main__":
    main()
