"""Commands for the review loop: ``kgart users``, ``kgart annotations`` and ``kgart eval review``
(registered on the main command group by :mod:`kgart.cli`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from kgart.cli import _Context, _friendly_errors, _retriever, eval_group, main, pass_ctx
from kgart.errors import KgartError
from kgart.users import Users, users_path


def _users(obj: _Context) -> Users:
    config = obj.config()
    return Users(users_path(config.store_location, config.users_file))


@main.group()
def users() -> None:
    """Who may write annotations (the server is read-only without users)."""


@users.command("add")
@click.argument("name")
@click.option("--editor", is_flag=True, help="May change and delete anyone's annotations, not only their own.")
@pass_ctx
@_friendly_errors
def users_add(obj: _Context, name: str, editor: bool) -> None:
    """Add a user and print their token (shown this once; only its hash is kept)."""
    accounts = _users(obj)
    token = accounts.add(name, editor=editor)
    click.echo(f"user {name}{' (editor)' if editor else ''} added to {accounts.path or 'memory'}", err=True)
    click.echo("token (shown once; send it as Authorization: Bearer …, or log in with it at /login):", err=True)
    click.echo(token)


@users.command("list")
@pass_ctx
@_friendly_errors
def users_list(obj: _Context) -> None:
    """The users and whether each is an editor."""
    for user in _users(obj).all():
        click.echo(f"{user.name}\t{'editor' if user.editor else 'curator'}")


@users.command("remove")
@click.argument("name")
@pass_ctx
@_friendly_errors
def users_remove(obj: _Context, name: str) -> None:
    """Remove a user: their token stops working at once (their annotations stay)."""
    if not _users(obj).remove(name):
        raise click.ClickException(f"no user {name!r}")
    click.echo(f"user {name} removed")


@main.group("annotations")
def annotations_group() -> None:
    """Curators' decisions (W3C Web Annotations in the annotations graph)."""


@annotations_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonld", "ttl"]), default="jsonld", show_default=True)
@click.option("--status", type=click.Choice(["proposed", "accepted", "rejected"]),
              help="Only annotations with this status (accepted ones with their links).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="File to write (default: standard output).")
@pass_ctx
@_friendly_errors
def annotations_export(obj: _Context, fmt: str, status: str | None, output: str | None) -> None:
    """Write the annotations (with their links and provenance) as JSON-LD or Turtle; import reads it back."""
    from kgart.annotations import Annotations
    from kgart.jsonld import ANNOTATION_CONTEXT, compacted
    from kgart.oxigraph_adapter import serialize_triples

    config = obj.config()
    triples = Annotations(obj.store(config)).export(status)
    if fmt == "jsonld":
        data = json.dumps(compacted(triples, ANNOTATION_CONTEXT), ensure_ascii=False, indent=1).encode("utf-8")
    else:
        _, data = serialize_triples(triples, "text/turtle", {"oa": "http://www.w3.org/ns/oa#"})
    if output:
        Path(output).write_bytes(data)
        click.echo(f"{len(triples)} triples written to {output}", err=True)
    else:
        sys.stdout.buffer.write(data)


@annotations_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@pass_ctx
@_friendly_errors
def annotations_import(obj: _Context, path: str) -> None:
    """Merge annotations from an export (JSON-LD, Turtle or any RDF format): each is checked
    against this store (its concept and target must be here) and nothing is written if one fails."""
    from kgart.annotations import Annotations
    from kgart.errors import DataSourceError
    from kgart.jsonld import to_triples
    from kgart.oxigraph_adapter import parse_rdf, rdf_media_type

    media = rdf_media_type(path)
    data = Path(path).read_bytes()
    if media == "application/ld+json":
        try:
            document = json.loads(data)
        except ValueError as e:
            raise DataSourceError(f"not JSON: {e}", path=path) from None
        triples = to_triples(document, where=path)
    elif media is not None:
        triples = list(parse_rdf(data, media, where=path))
    else:
        raise click.BadParameter("name the file .jsonld, .ttl, .nt or another RDF extension", param_hint="PATH")
    config = obj.config()
    count = Annotations(obj.store(config, write=True)).import_triples(triples, where=path)
    click.echo(f"{count} annotations imported")


def propose(obj: _Context, retriever: Any, items: list[tuple[Any, str, str, str, tuple[str, ...]]], k: int, scheme: str,
            creator: str) -> None:
    """``kgart suggest --propose``: the top ``k`` codes of each item as proposed annotations."""
    from kgart.annotations import Annotations, Suggestion, classification
    from kgart.evaluation import GoldItem
    from kgart.review_simulation import records_of
    from kgart.users import USER_NAME, User

    if not USER_NAME.match(creator):
        raise click.BadParameter("a user name (kgart users list)", param_hint="--creator")
    store = retriever.store
    annotations = Annotations(store, retriever.iconclass)
    ids = [str(item_id) for item_id, *_ in items]
    found = records_of(store, [GoldItem(i, "", "", (), source_id=i) for i in ids if not i.startswith("http")])
    blend = str(obj.config().blend_config or "kgart/blend.toml")
    made = skipped = 0
    for item_id, title, description, image, _makers in items:
        artwork = str(item_id) if str(item_id).startswith(("http://", "https://")) else found.get(str(item_id))
        if artwork is None:
            click.echo(f"# {item_id}: no such artwork in the store (an IRI or its schema:identifier); skipped",
                       err=True)
            skipped += 1
            continue
        decided = {str(d.concept) for d in annotations.decisions([artwork])}
        if title.strip() or description.strip() or image.strip():
            # The stored record's own makers; it never votes for itself (neighbours, maker).
            hits = retriever.suggest(title, description, image, k=k, scheme=scheme,
                                     makers=retriever.makers_of(artwork), exclude=frozenset({artwork}))
        else:
            hits = retriever.suggest_for(artwork, k=k, scheme=scheme)
        for rank, hit in enumerate(hits, start=1):
            if hit.iri in decided:
                continue
            suggestion = Suggestion(rank, hit.score, hit.components, retriever.encoder.model_id, blend)
            annotations.create(classification(artwork, hit.iri, status="proposed", suggestion=suggestion),
                               User(creator).iri)
            made += 1
    click.echo(f"{made} proposed annotations by {creator}" + (f"; {skipped} item(s) skipped" if skipped else ""),
               err=True)


@eval_group.command("review")
@click.option("--input", "input_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="RKD table (Title + Iconclass code), JSON Lines with gold codes, or Tate records (--scheme tate).")
@click.option("--scheme", type=click.Choice(["iconclass", "tate"]), default="iconclass", show_default=True)
@click.option("--limit", type=click.IntRange(1), default=1000, show_default=True,
              help="With --scheme tate: how many records (with subjects) to read.")
@click.option("--sample", type=click.IntRange(1),
              help="With --scheme tate: a seeded random sample of this many records (with a title and subjects) "
                   "from the whole file, instead of the first --limit.")
@click.option("--steps", default="0,25,50,100,200,400,800,1600", show_default=True,
              help="Numbers of records reviewed after which to score, comma-separated.")
@click.option("--held-out", type=click.IntRange(1), default=200, show_default=True,
              help="Records scored at every step (the tail of the seeded order; never reviewed).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the review order.")
@click.option("--reject-top", type=click.IntRange(0, 50), default=5, show_default=True,
              help="A reviewed record's wrong codes among this many top suggestions are rejected.")
@click.option("--cold-start", is_flag=True,
              help="No other catalogued record votes and priors are only the reviewed records' codes: a "
                   "collection catalogued from nothing (default: the store's other records vote, as on a server).")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), help="Draw the curve to this PNG.")
@click.option("--order", "order_path", type=click.Path(dir_okay=False),
              help="Write the seeded order and held-out ids (JSON) here, to score the same split again.")
@pass_ctx
@_friendly_errors
def eval_review(obj: _Context, input_file: str, scheme: str, limit: int, sample: int | None, steps: str,
                held_out: int, seed: int, reject_top: int, cold_start: bool, plot_path: str | None,
                order_path: str | None) -> None:
    """Simulate a cataloguer reviewing a coded collection: R@1, R@10 and MRR of the records not
    yet reviewed, after each number of records reviewed.

    Reviewing a record accepts its gold codes and rejects the wrong codes among its top
    suggestions. The gold records must be loaded (and embedded) in the store: reviewed ones
    then vote as neighbours with their codes; records not yet reviewed never vote, and their
    codes are taken out of the usage priors. Nothing is written to the store.
    """
    from kgart.evaluation import read_gold, read_tate_gold
    from kgart.kinds import Kinds
    from kgart.retrieval import load_priors, priors_from_store
    from kgart.review_simulation import annotated_records, plot, records_of, simulate

    config = obj.config()
    store = obj.store(config)
    if scheme == "tate":
        gold = read_tate_gold(input_file, 10**7 if sample else limit)
        if sample:
            import random

            gold = random.Random(seed).sample(gold, min(sample, len(gold)))
    else:
        gold = read_gold(input_file)
    if not gold:
        raise click.ClickException(f"no items with gold codes in {input_file}")
    records = records_of(store, gold)
    if scheme == "tate":
        counts = priors_from_store(store, Kinds.of(store).get("tate", role="concept").concept_scheme)
    else:
        counts = load_priors(config.usage_count_files) if config.usage_count_files else {}
    retriever = _retriever(obj, config, collection_priors=False, priors={scheme: counts})
    try:
        wanted = [int(s) for s in steps.split(",") if s.strip()]
    except ValueError:
        raise click.BadParameter("numbers, comma-separated", param_hint="--steps") from None
    branch_of = (lambda code: code) if scheme == "tate" else (lambda code: code[:4])
    click.echo(f"{len(gold)} coded records, {len(records)} of them in the store; seed {seed}; "
               f"{min(held_out, max(1, len(gold) // 2))} held out", err=True)
    background = None
    if cold_start:
        scheme_iri = Kinds.of(store).get(scheme, role="concept").concept_scheme
        background = annotated_records(store, scheme_iri) - {str(a) for a in records.values()}
    results, order = simulate(retriever, gold, records, counts, scheme=scheme, steps=wanted, held_out=held_out,
                              seed=seed, reject_top=reject_top, branch_of=branch_of, background=background,
                              progress=lambda line: click.echo(line, err=True))
    if not results:
        raise KgartError("no step fits: fewer records than the smallest --steps value")
    click.echo(f"{'reviewed':>9}{'R@1':>8}{'R@5':>8}{'R@10':>8}{'MRR':>8}{'rejected':>10}")
    for step in results:
        s = step.scores
        click.echo(f"{step.reviewed:>9}{s.recall[1]:8.1f}{s.recall[5]:8.1f}{s.recall[10]:8.1f}{s.mrr:8.1f}"
                   f"{step.rejected:>10}")
    if background is not None:
        click.echo(f"({results[0].scores.n} held-out records scored at every step; cold start: "
                   f"{len(background)} other catalogued records never vote, priors are the reviewed records' codes)")
    else:
        source = "Tate subjects in the store" if scheme == "tate" else ", ".join(config.usage_count_files) or "none"
        click.echo(f"({results[0].scores.n} held-out records scored at every step; usage priors: {source}, "
                   "less the codes of every record not yet reviewed)")
    if order_path:
        tail = min(held_out, max(1, len(order) // 2))
        Path(order_path).write_text(json.dumps({"seed": seed, "order": order, "held_out": order[-tail:]}, indent=1))
    if plot_path:
        plot({Path(input_file).name: results}, plot_path)
        click.echo(f"curve drawn to {plot_path}", err=True)
