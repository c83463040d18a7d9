"""``kgart train encoder``, ``kgart train ranker`` and ``kgart eval split`` (registered on the main
command group by :mod:`kgart.cli`): learning from the graph, with the held-out records kept out."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from kgart.cli import _Context, _friendly_errors, _retriever, eval_group, main, pass_ctx
from kgart.errors import KgartError


@eval_group.command("split")
@click.option("--input", "input_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="RKD table (Title + Iconclass code), gold JSON Lines, or Tate records with --scheme tate.")
@click.option("--scheme", type=click.Choice(["iconclass", "tate"]), default="iconclass", show_default=True)
@click.option("--half", type=click.Choice(["1", "2"]),
              help="Every second record: 1 = the 1st, 3rd, …; 2 = the others.")
@click.option("--sample", type=click.IntRange(1), help="A seeded random sample of this many records.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --sample.")
@click.option("--titled", is_flag=True, help="Only records with a title.")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False),
              help="Where to write the held-out records (gold JSON Lines).")
@_friendly_errors
def eval_split(input_file: str, scheme: str, half: str | None, sample: int | None, seed: int, titled: bool,
               out_file: str) -> None:
    """Choose records to hold out, for kgart train --hold-out and kgart eval suggest --input.

    The same file keeps them out of training and scores them afterwards; the model stores
    the records it did train on, and the evaluation refuses those."""
    from kgart.evaluation import read_gold, read_tate_gold
    from kgart.splits import every_second, seeded_sample, write_split

    if bool(half) == bool(sample):
        raise click.UsageError("give one of --half or --sample")
    gold = read_tate_gold(input_file, None) if scheme == "tate" else read_gold(input_file)
    if titled:
        gold = [item for item in gold if item.title]
    if half:
        chosen, how, used_seed = every_second(gold, int(half)), f"half {half} of {Path(input_file).name}", None
    else:
        assert sample is not None
        chosen = seeded_sample(gold, sample, seed)
        how, used_seed = f"sample of {sample} from {Path(input_file).name}", seed
    count = write_split(out_file, chosen, scheme=scheme, how=how, seed=used_seed)
    click.echo(f"{count} of {len(gold)} records held out ({how}{f', seed {seed}' if used_seed is not None else ''})"
               f" → {out_file}")


@main.group()
def train() -> None:
    """Learn from the graph: fine-tune the encoder, learn the blend (kept beside the store)."""


def _held_out(files: tuple[str, ...]) -> set[str]:
    from kgart.evaluation import read_gold

    ids: set[str] = set()
    for path in files:
        ids.update(item.source_id or item.id for item in read_gold(path))
    return ids


def _training_store(obj: _Context, name: str) -> tuple[Any, Any, Path]:
    """(config, store, models folder) for a training command; the store is shared, so the
    writer's lock is taken only to record the model at the end."""
    from kgart.embeddings.trained import check_name, models_folder

    check_name(name)
    config = obj.config()
    store = obj.store(config, shared=True)
    folder = models_folder(store)
    if folder is None:
        raise KgartError("trained models live beside an on-disk or remote store, not one in memory")
    return config, store, folder


def _listed(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _register(store: Any, model: Any, wait_s: float = 600.0) -> None:
    """Record a trained model's provenance in the store, waiting for another writer (an embedding
    job, a load) to finish rather than losing the record."""
    from kgart.embeddings.trained import register
    from kgart.errors import StoreLockedError

    deadline = time.monotonic() + wait_s
    while True:
        try:
            register(store, model)
            return
        except StoreLockedError:
            if time.monotonic() > deadline:
                raise
            click.echo("waiting for another process writing the store, to record the model's provenance", err=True)
            time.sleep(5)


@train.command("encoder")
@click.option("--name", required=True, help="The model's name: use it as model = trained:NAME.")
@click.option("--hold-out", "hold_out", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Gold records never to train on (kgart eval split writes them); repeatable.")
@click.option("--method", type=click.Choice(["projection", "full"]), default="projection", show_default=True,
              help="projection: learn a linear map on top of the frozen encoder from every catalogued record "
                   "(minutes on a CPU); full: fine-tune all its layers on mined pairs (a GPU's job).")
@click.option("--pairs", type=click.IntRange(100), default=30_000, show_default=True,
              help="full: how many training pairs to mine, about half from Iconclass's labels and keywords; "
                   "projection: half of it is how many labels and keywords (every catalogued record is used).")
@click.option("--languages", metavar="LANGS",
              help="Only Iconclass labels and keywords in these languages, comma-separated (e.g. nl,de,en) "
                   "[default: every language the model's vocabulary reads].")
@click.option("--record-schemes", metavar="SCHEMES",
              help="Only catalogued records' codes in these schemes, comma-separated (e.g. iconclass) [default: all].")
@click.option("--epochs", type=click.IntRange(1, 100),
              help="[default: projection 6, the epoch best on the dev examples kept; full 1]")
@click.option("--batch", "batch_size", type=click.IntRange(2, 4096), help="[default: projection 512, full 64]")
@click.option("--learning-rate", type=float, help="[default: projection 1e-3, full 5e-5]")
@click.option("--offset-records", type=click.IntRange(1), default=1000, show_default=True,
              help="projection: a scheme with at least this many catalogued records also learns an offset per "
                   "concept (what its catalogue says of each concept beyond its label).")
@click.option("--offsets-move-map", is_flag=True,
              help="projection: a scheme's records with offsets train the shared map too [default: only their "
                   "offsets; the map learns from labels and the other catalogues].")
@click.option("--ranker-records", type=click.IntRange(0), default=2000, show_default=True,
              help="Per scheme, up to this many coded records (a tenth at most; none under 300) kept out of the "
                   "encoder's training for kgart train ranker to learn the blend from.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sampling and training.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), help="Where to train [default: CUDA when present].")
@click.option("--resume", is_flag=True, help="full: continue an interrupted run of the same name from its checkpoint "
                                             "(a projection run starts again: it takes minutes).")
@pass_ctx
@_friendly_errors
def train_encoder(obj: _Context, name: str, hold_out: tuple[str, ...], method: str, pairs: int,
                  languages: str | None, record_schemes: str | None, epochs: int | None, batch_size: int | None,
                  learning_rate: float | None, offset_records: int, offsets_move_map: bool, ranker_records: int,
                  seed: int, device: str | None, resume: bool) -> None:
    """Train the default text encoder on what the store holds: catalogued records' titles →
    their codes, Iconclass's labels in every language and its keywords → the concept, with
    hard negatives from the hierarchy and from rejected codes.

    The model is written beside the store (models/NAME), run through ONNX Runtime like the
    default and recorded with its provenance in the store's models graph. Then
    `kgart embed --model trained:NAME --kind all` and set model = "trained:NAME"."""
    import shutil

    from kgart.embeddings.encoders import MINILM_ID, OnnxTextEncoder, pick_device, trained_onnx_folder
    from kgart.embeddings.trained import TrainedModel, now, replace_folder, write_manifest, write_trained_on
    from kgart.embeddings.training import keep_for_ranker
    from kgart.rdf import graph_name
    from kgart.splits import TrainedOn

    config, store, folder = _training_store(obj, name)
    target = pick_device(device)  # refused before anything is written when it is not there
    started, clock = now(), time.monotonic()
    held = _held_out(hold_out)
    partial = folder / f"{name}.partial"
    if partial.exists() and not (resume and method == "full"):
        shutil.rmtree(partial)
    partial.mkdir(parents=True, exist_ok=True)

    def say(message: str) -> None:
        click.echo(f"[{time.monotonic() - clock:6.0f}s] {message}", err=True)

    kept = keep_for_ranker(store, held_out=held, wanted=ranker_records, seed=seed)
    for_ranker = set().union(*kept.values())
    if kept:
        say("kept out for kgart train ranker: " + ", ".join(f"{len(v):,} {k} records" for k, v in sorted(kept.items())))
    run_with = _projection_run if method == "projection" else _full_run
    result = run_with(store, held=held | for_ranker, partial=partial, say=say, pairs=pairs,
                      languages=_listed(languages), record_schemes=_listed(record_schemes), epochs=epochs,
                      batch_size=batch_size, learning_rate=learning_rate, offset_records=offset_records,
                      offsets_move_map=offsets_move_map, seed=seed, device=target, resume=resume)
    run = time.strftime("%Y%m%dT%H%M%S")
    model_id = f"kgart-trained/{name}/{run}"
    manifest: dict[str, Any] = {
        "name": name, "run": run, "model_id": model_id, "base": "minilm", "base_model_id": MINILM_ID,
        "method": method, "started": started, "ended": now(), "device": result["device"],
        "graphs": sorted(graph_name(g.iri) for g in store.graphs()
                         if graph_name(g.iri) != "models" and not graph_name(g.iri).startswith("embeddings/")),
        "counts": {**result["counts"], "held_out_found": result["counts"]["held_out_found"] - len(for_ranker),
                   "held_out_given": len(held), "kept_for_ranker": {k: len(v) for k, v in sorted(kept.items())}},
        "hyperparameters": {**result["hyperparameters"], "languages": languages or "all",
                            "record_schemes": record_schemes or "all"},
        "figures": result["figures"],
        "hold_out_files": [str(Path(p).resolve()) for p in hold_out],
    }
    write_trained_on(partial, TrainedOn(f"trained:{name}", frozenset(result["records"]), frozenset(held), seed,
                                        frozenset(for_ranker)))
    write_manifest(partial, manifest)
    replace_folder(partial, folder / name)
    say("preparing it for ONNX Runtime")
    # exported once, beside the model (the default's export is in the user cache)
    OnnxTextEncoder(str(folder / name / "encoder"), model_id=model_id,
                    cache_dir=trained_onnx_folder(folder / name / "encoder"))
    _register(store, TrainedModel(name, folder / name, manifest))
    say(f"trained:{name} ready in {folder / name}; next: kgart embed --model trained:{name} --kind all")


def _projection_run(store: Any, *, held: set[str], partial: Path, say: Any, pairs: int, languages: list[str] | None,
                    record_schemes: list[str] | None, epochs: int | None, batch_size: int | None,
                    learning_rate: float | None, offset_records: int, offsets_move_map: bool, seed: int,
                    device: str, resume: bool) -> dict[str, Any]:
    """A linear map learned over the frozen encoder's vectors (kgart.embeddings.projection), on
    ``device`` (``cpu`` or ``cuda``, already checked)."""
    import dataclasses

    import numpy as np

    from kgart.embeddings.encoders import get_encoder, minilm_path
    from kgart.embeddings.projection import (
        Learned,
        ProjectionParameters,
        dev_schemes,
        frozen_vectors,
        learn_projection,
        mine_examples,
        ranks,
        repeat_records,
        save_offsets,
        save_projected,
        scheme_mean,
        split_dev,
    )

    if resume:
        say("a projection run is not resumed: it starts again")
    params = ProjectionParameters(epochs=epochs or ProjectionParameters.epochs, batch_size=batch_size or 512,
                                  learning_rate=learning_rate or 1e-3, offset_min_records=offset_records,
                                  offset_schemes_move_map=offsets_move_map, seed=seed)
    examples, concepts = mine_examples(store, held_out=held, labels=pairs // 2, seed=seed, languages=languages,
                                       record_schemes=record_schemes, progress=say)
    if not len(examples):
        raise KgartError("nothing to learn from: no catalogued records with codes and no Iconclass labels")
    train, dev = split_dev(examples, min(500, len(examples) // 10), seed)
    train = repeat_records(train, params)
    say(f"{len(train):,} training examples ({', '.join(f'{k} {v:,}' for k, v in sorted(examples.counts.items()))}; "
        f"few records repeated); {len(examples.records):,} records; {examples.held_out_found:,} held-out or "
        f"kept records left out; {len(dev)} dev examples")
    encoder = get_encoder("minilm")
    vectors = {name: frozen_vectors(store, encoder, name, c.texts, f"{name} concept vectors", progress=say)
               for name, c in concepts.items() if name in set(train.schemes) | set(dev.schemes)}
    texts = sorted(set(train.texts) | set(dev.texts))
    encoded = frozen_vectors(store, encoder, "artwork", texts, "training texts' vectors", progress=say)
    row = {text: n for n, text in enumerate(texts)}
    train_anchors = encoded[[row[t] for t in train.texts]]
    dev_anchors = encoded[[row[t] for t in dev.texts]] if len(dev) else np.zeros((0, encoded.shape[1]), np.float32)
    before = ranks(dev_anchors, dev, vectors)
    say(f"dev examples before training: R@1 {before['dev_r1']:.1f}, R@10 {before['dev_r10']:.1f}; training on {device}")
    clock = time.monotonic()
    by_epoch: list[dict[str, float]] = []

    def check(learned: Learned) -> float:
        figures = ranks(dev_anchors, dev, vectors, learned)
        by_epoch.append(figures)
        per_scheme = "; ".join(f"{s} {figures['dev_r1_' + s]:.1f} / {figures['dev_r10_' + s]:.1f}"
                               for s in dev_schemes(figures))
        say(f"epoch {len(by_epoch)}: dev R@1 {figures['dev_r1']:.1f}, R@10 {figures['dev_r10']:.1f} ({per_scheme})")
        return scheme_mean(figures)

    learned, losses, kept_epoch = learn_projection(train_anchors, train, vectors, params, check if len(dev) else None,
                                                   device=device)
    seconds = time.monotonic() - clock
    after = ranks(dev_anchors, dev, vectors, learned)
    say(f"dev examples after training: R@1 {after['dev_r1']:.1f}, R@10 {after['dev_r10']:.1f}, the map of epoch "
        f"{kept_epoch} ({seconds:.0f} s of training; loss by epoch {losses})")
    save_projected(minilm_path(), learned.weight, partial / "encoder")
    save_offsets(partial, learned, {name: c for name, c in concepts.items() if name in vectors})
    return {"device": device, "records": examples.records,
            "counts": {"examples": {k: int(v) for k, v in sorted(examples.counts.items())},
                       "training_examples": len(train), "records": len(examples.records),
                       "held_out_found": examples.held_out_found},
            "hyperparameters": {**dataclasses.asdict(params), "loss": "softmax over every concept of the scheme",
                                "hard_negatives": "every concept of the scheme (siblings, cousins); rejected codes "
                                                  "with a margin"},
            "figures": {"before": before, "after": after, "training_seconds": round(seconds, 1),
                        "loss_by_epoch": losses, "kept_epoch": kept_epoch,
                        "dev_by_epoch": by_epoch}}


def _full_run(store: Any, *, held: set[str], partial: Path, say: Any, pairs: int, languages: list[str] | None,
              record_schemes: list[str] | None, epochs: int | None, batch_size: int | None,
              learning_rate: float | None, offset_records: int, offsets_move_map: bool, seed: int,
              device: str, resume: bool) -> dict[str, Any]:
    """All the encoder's layers fine-tuned on mined pairs with sentence-transformers' trainer."""
    import json
    import random
    import shutil

    from kgart.embeddings.encoders import minilm_path
    from kgart.embeddings.training import Hyperparameters, Pair, dev_accuracy, dev_split, fine_tune, mine_pairs

    params = Hyperparameters(epochs=epochs or 1, batch_size=batch_size or 64, learning_rate=learning_rate or 5e-5,
                             seed=seed)
    pairs_file = partial / "pairs.json"
    if resume and pairs_file.exists():
        say("resuming: the pairs of the interrupted run")
        saved = json.loads(pairs_file.read_text(encoding="utf-8"))
    else:
        mined = mine_pairs(store, held_out=held, budget=pairs, seed=seed, progress=say,
                           languages=languages, record_schemes=record_schemes)
        train_pairs, dev = dev_split(mined.pairs, min(500, len(mined.pairs) // 10), seed)
        texts = sorted({p.positive for p in mined.pairs})
        distractors = random.Random(seed).sample(texts, min(2000, len(texts)))
        saved = {"train": [p.__dict__ for p in train_pairs], "dev": [p.__dict__ for p in dev],
                 "distractors": distractors, "counts": dict(mined.counts), "records": sorted(mined.records),
                 "held_out_found": mined.held_out_found, "schemes": mined.schemes}
        pairs_file.write_text(json.dumps(saved), encoding="utf-8")
    train_pairs = [Pair(**p) for p in saved["train"]]
    dev = [Pair(**p) for p in saved["dev"]]
    say(f"{len(train_pairs):,} training pairs ({', '.join(f'{k} {v:,}' for k, v in sorted(saved['counts'].items()))}); "
        f"{len(saved['records']):,} records; {saved['held_out_found']:,} held-out or kept records left out; "
        f"{len(dev)} dev pairs")
    from sentence_transformers import SentenceTransformer

    base_dir = minilm_path()
    before = dev_accuracy(SentenceTransformer(base_dir, device=device), dev, saved["distractors"])
    say(f"dev pairs before training: R@1 {before['dev_r1']:.1f}, R@10 {before['dev_r10']:.1f}; training on {device}")
    train_clock = time.monotonic()
    model = fine_tune(base_dir, train_pairs, partial / "encoder", params, work_dir=partial / "checkpoints",
                      device=device, resume=resume)
    train_seconds = time.monotonic() - train_clock
    after = dev_accuracy(model, dev, saved["distractors"])
    say(f"dev pairs after training: R@1 {after['dev_r1']:.1f}, R@10 {after['dev_r10']:.1f} "
        f"({train_seconds:.0f} s of training)")
    shutil.rmtree(partial / "checkpoints", ignore_errors=True)
    pairs_file.unlink(missing_ok=True)
    return {"device": device, "records": set(saved["records"]),
            "counts": {"pairs": {k: int(v) for k, v in sorted(saved["counts"].items())},
                       "training_pairs": len(train_pairs), "records": len(saved["records"]),
                       "held_out_found": int(saved["held_out_found"])},
            "hyperparameters": {**params.__dict__, "loss": "MultipleNegativesRankingLoss",
                                "hard_negatives": "siblings"},
            "figures": {"before": before, "after": after, "training_seconds": round(train_seconds, 1)}}


@train.command("ranker")
@click.option("--name", required=True,
              help="The trained model to add rankers to (a new one on the configured model if there is none).")
@click.option("--hold-out", "hold_out", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Gold records never to learn from (as for kgart train encoder); repeatable.")
@click.option("--scheme", "schemes", multiple=True, metavar="NAME",
              help="Schemes to learn a ranker for, repeatable [default: each with coded records].")
@click.option("--records", "max_records", type=click.IntRange(1), default=2000, show_default=True,
              help="At most this many coded records per scheme (a seeded sample).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--makers/--no-makers", default=True, show_default=True,
              help="Ask for each record with its makers too, so the ranker weighs the maker component (what "
                   "the maker's other catalogued works carry), as suggestions for a stored record do.")
@pass_ctx
@_friendly_errors
def train_ranker(obj: _Context, name: str, hold_out: tuple[str, ...], schemes: tuple[str, ...], max_records: int,
                 seed: int, makers: bool) -> None:
    """Learn the blend per scheme from the catalogued records: coordinate ascent from the
    blend.toml weights over the components --explain shows and the concept's depth, children,
    label length and the query's length. Each record is asked for (with its makers, unless
    --no-makers) with itself and every held-out record out of the neighbours, the maker's
    works and the priors; how far the weights may move is
    chosen by cross-validation over records. A scheme with fewer than 30 coded records keeps
    kgart/blend.toml. Over a trained encoder, only the records that encoder kept out of its
    training are learned from (its own training records would make the vectors look better
    than they are on new records)."""
    import json
    import random

    from tqdm import tqdm

    from kgart.embeddings.trained import now, open_trained, write_manifest, write_trained_on
    from kgart.evaluation import GoldItem, counts_without, records_in_store
    from kgart.kinds import Kinds
    from kgart.ranker_training import MIN_RECORDS, coded_records
    from kgart.ranker_training import train_ranker as learn
    from kgart.retrieval import load_priors, priors_from_store
    from kgart.splits import TrainedOn

    config, store, folder = _training_store(obj, name)
    held = _held_out(hold_out)
    own_encoder = False
    if (folder / name / "manifest.json").exists():
        trained = open_trained(folder, name)
        previous = trained.trained_on()
        held |= set(previous.held_out)
        model = f"trained:{name}"
        manifest = trained.manifest
        own_encoder = trained.encoder_dir is not None
    else:
        model, previous = config.model, TrainedOn(f"trained:{name}", frozenset(), frozenset())
        from kgart.embeddings.encoders import model_id_for

        base_id = model_id_for(model, folder)
        manifest = {"name": name, "run": time.strftime("%Y%m%dT%H%M%S"), "model_id": base_id, "base": model,
                    "started": now(), "counts": {}, "hyperparameters": {}, "figures": {}}
        (folder / name).mkdir(parents=True, exist_ok=True)
    wanted = list(schemes) or Kinds.of(store).names(role="concept")
    retriever = _retriever(obj, obj.config(model=model), collection_priors=False)
    retriever.rankers = {}  # learn over the components, not over an earlier ranker
    # Held-out records (those of --hold-out, and those the model's encoder held out) never vote
    # as neighbours while the ranker learns.
    unseen = records_in_store(store, [GoldItem(h, "", "", (), source_id=h) for h in sorted(held)]) | \
        frozenset(h for h in held if h.startswith(("http://", "https://")))
    trained_records: set[str] = set(previous.records)
    for scheme in wanted:
        coded = coded_records(retriever, scheme)
        held_coded = [r for r in coded if r.iri in unseen or r.identifier in held]
        records = [r for r in coded if not (r.iri in unseen or r.identifier in held) and (r.title or r.description)]
        if own_encoder:  # only records its vectors were not fitted on
            records = [r for r in records if (r.identifier or r.iri) in previous.for_ranker]
            if len(records) < MIN_RECORDS:
                click.echo(f"{scheme}: the encoder of trained:{name} kept {len(records)} of its coded records out of "
                           f"its training, fewer than {MIN_RECORDS} to learn a blend over its vectors from (a ranker "
                           "fitted on the encoder's own training records trusts them too much): kgart/blend.toml stays")
                continue
        if len(records) < MIN_RECORDS:
            click.echo(f"{scheme}: {len(records)} coded records, fewer than {MIN_RECORDS}: kgart/blend.toml stays")
            continue
        if len(records) > max_records:
            records = sorted(random.Random(seed).sample(records, max_records), key=lambda r: r.iri)
        # Usage priors as the evaluation has them: less one use of each held-out and training record's codes.
        tree = retriever.scheme_tree(scheme)
        as_gold = [GoldItem(r.iri, r.title, r.description,
                            tuple(tree.notations[tree.row[c]] for c in r.codes if c in tree.row))
                   for r in [*records, *held_coded]]
        if scheme == "iconclass":
            counts = load_priors(config.usage_count_files) if config.usage_count_files else \
                priors_from_store(store, retriever.scheme(scheme).concept_scheme)
        else:
            counts = priors_from_store(store, retriever.scheme(scheme).concept_scheme)
        retriever.use_priors(scheme, counts_without(counts, as_gold))
        bar = tqdm(total=len(records), unit=" records", desc=f"ranker {scheme}", file=sys.stderr, disable=None)

        def progress(done: int, total: int, bar: Any = bar) -> None:
            bar.n = done
            bar.refresh()

        try:
            ranker = learn(retriever, records, scheme, seed=seed, unseen=unseen, makers=makers, progress=progress)
        except KgartError as e:
            click.echo(str(e))
            continue
        finally:
            bar.close()
        (folder / name / f"ranker-{scheme}.json").write_text(json.dumps(ranker.as_json(), indent=2), encoding="utf-8")
        trained_records |= {r.identifier or r.iri for r in records}
        f = ranker.figures
        click.echo(f"{scheme}: ranker from {ranker.trained_records:,} records ({int(f['rounds'])} rounds); "
                   f"cross-validated R@1 {f['cv_r1']:.1f}, "
                   f"R@10 {f['cv_r10']:.1f}, MRR {f['cv_mrr']:.1f} (the blend on the same candidates: "
                   f"R@1 {f['blend_r1']:.1f}, R@10 {f['blend_r10']:.1f}, MRR {f['blend_mrr']:.1f})")
        click.echo("  cross-validated MRR by rounds of ascent: " + ", ".join(
            f"{k.split('_')[2]}: {v:.1f}" for k, v in f.items() if k.startswith("cv_mrr_")))
        click.echo("  weights: " + ", ".join(f"{k} {v:+.3f}" for k, v in ranker.weights.items()))
        manifest.setdefault("figures", {})[f"ranker_{scheme}"] = {**f, "learned": now()}
    write_trained_on(folder / name, TrainedOn(f"trained:{name}", frozenset(trained_records), frozenset(held), seed,
                                              previous.for_ranker))
    if not own_encoder:  # the ranker is this model's training; an encoder's training ended when it did
        manifest["ended"] = now()
    write_manifest(folder / name, manifest)
    from kgart.embeddings.trained import TrainedModel

    _register(store, TrainedModel(name, folder / name, manifest))
