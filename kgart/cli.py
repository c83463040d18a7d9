"""The ``kgart`` command: a thin layer over the library.

Each command builds the configuration, calls one library function and prints
its result. kgart errors become one line on stderr and exit status 1; heavy
imports stay inside the commands that need them so ``kgart --help`` is instant.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from kgart.errors import KgartError
from kgart.settings import SETTINGS, Config, load_config

F = TypeVar("F", bound=Callable[..., Any])


def _friendly_errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except KgartError as e:
            raise click.ClickException(str(e)) from e
        except KeyboardInterrupt:
            click.echo("interrupted; the store keeps its previous state", err=True)
            sys.exit(130)
    return wrapper  # type: ignore[return-value]


class _Context:
    def __init__(self, overrides: dict[str, Any], config_file: str | None) -> None:
        self.overrides = overrides
        self.config_file = config_file

    def config(self, **more: Any) -> Config:
        return load_config({**self.overrides, **more}, config_file=self.config_file)

    def store(self, config: Config, *, write: bool = False, shared: bool = False) -> Any:
        """The store, opened once per command (RocksDB's lock is per process: a second
        opening would find it locked). ``shared``: for a long command that writes now and
        then (kgart train): the writer's lock only for each write, as a server worker has it."""
        from kgart.stores import open_store

        cached = getattr(self, "_store", None)
        if cached is not None and not (write and getattr(cached, "read_only", False)):
            return cached
        store = open_store(config, write=write, shared=shared)
        self._store = store
        # Released when the command ends, even on an error.
        click.get_current_context().call_on_close(store.close)
        return store


pass_ctx = click.make_pass_decorator(_Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--store", metavar="PATH|URL",
              help="Store folder, ':memory:', or the URL of a SPARQL 1.1 server [env KGART_STORE, KGART_STORE_URL].")
@click.option("--config", "config_file", metavar="FILE", type=click.Path(dir_okay=False),
              help="TOML settings file [env KGART_CONFIG].")
@click.version_option(package_name="kgart")
@click.pass_context
def main(ctx: click.Context, store: str | None, config_file: str | None) -> None:
    """kgart: Iconclass and art collections in one triple store, with SPARQL.

    Start with `kgart load iconclass`, then `kgart stats`,
    `kgart notation 11H(JEROME)362 --lang de` or `kgart query 'SELECT …'`.
    """
    ctx.obj = _Context({"store": store}, config_file)


@main.group()
def load() -> None:
    """Load a source into its own named graph (replacing the previous version atomically)."""


@load.command("iconclass")
@click.option("--data-dir", type=click.Path(exists=True, file_okay=False),
              help="A checkout of iconclass/data (13 languages) instead of the iconclass "
                   "package's data (6 languages) [env KGART_ICONCLASS_DATA_DIR].")
@click.option("--languages", metavar="en,nl,…",
              help="Only these label languages (default: all available) [env KGART_LANGUAGES].")
@pass_ctx
@_friendly_errors
def load_iconclass_command(obj: _Context, data_dir: str | None, languages: str | None) -> None:
    """Load the Iconclass system as SKOS into the graph …/graph/iconclass."""
    from tqdm import tqdm

    from kgart.languages import split_languages
    from kgart.loaders import load_iconclass

    config = obj.config(iconclass_data_dir=data_dir, languages=languages)
    store = obj.store(config, write=True)
    with tqdm(unit=" triples", unit_scale=True, desc="iconclass", file=sys.stderr,
              disable=None) as bar:
        result = load_iconclass(store, data_dir=config.iconclass_data_dir,
                                languages=split_languages(config.languages), progress=bar.update)
    report = result.report
    click.echo(f"Loaded Iconclass from {result.source} into <{result.graph}>: "
               f"{result.triples:,} triples, {report.concepts:,} concepts, "
               f"{report.keys:,} keys in {report.key_sets} key sets.")
    click.echo("Labels per language: " + ", ".join(
        f"{lang} {n:,}" for lang, n in sorted(report.labels.items())))
    for reason, n in sorted(report.skipped.items()):
        click.echo(f"  skipped {n:,}: {reason}")
    click.echo(f"Store: {store.location or ':memory:'}")


_KIND_HELP = {
    "rkd": "RKD records: an RKD API (Solr) JSON response or JSON Lines of docs, or a table "
           "export like Odeuropa's metadata.csv.",
    "artuk": "ArtUK paintings CSV (title, artist, date, medium, venue, accession number, URLs, "
             "description); --mapping renames columns.",
    "artpedia": "Artpedia JSON (an object keyed by id), or MELArt's curated_annotations.json.",
    "linkedart": "Linked Art (JSON-LD, Turtle, RDF/XML): one file or a folder of them.",
    "tate": "Tate collection records: JSON Lines (.jsonl or .jsonl.gz) or a folder of per-artwork "
            "JSON files; subjects/level*.json next to the input are used when present.",
    "csv": "Any CSV or JSON Lines collection, with a TOML --mapping of columns to the artwork model.",
    "rdf": "Any RDF file (Turtle, N-Triples, N-Quads, TriG, RDF/XML, JSON-LD), loaded as it is.",
    "skos": "A SKOS vocabulary in any RDF format (it must hold a skos:ConceptScheme); its concepts become a "
            "scheme to embed (--kind NAME), search and suggest (--scheme NAME) and browse.",
}


def _make_load_command(kind: str) -> None:
    @load.command(kind, help=_KIND_HELP[kind] + " Replaces the graph atomically.")
    @click.argument("path", type=click.Path(exists=True))
    @click.option("--graph", metavar="NAME", help=f"Named graph to load into (default: {kind}).")
    @click.option("--mapping", type=click.Path(exists=True, dir_okay=False),
                  help="TOML column mapping (csv and artuk).")
    @click.option("--strict", is_flag=True, help="Stop at the first bad record instead of skipping it.")
    @pass_ctx
    @_friendly_errors
    def command(obj: _Context, path: str, graph: str | None, mapping: str | None, strict: bool) -> None:
        from tqdm import tqdm

        from kgart.loaders import load_collection

        store = obj.store(obj.config(), write=True)
        with tqdm(unit=" records", desc=kind, file=sys.stderr, disable=None) as bar:
            report = load_collection(store, kind, path, graph=graph, mapping=mapping, strict=strict,
                                     progress=bar.update)
        for line in report.summary():
            click.echo(line)


for _kind in _KIND_HELP:
    _make_load_command(_kind)


@main.command()
@click.argument("graph", required=False)
@click.option("--limit", type=int, default=20, show_default=True, help="Results to print.")
@pass_ctx
@_friendly_errors
def validate(obj: _Context, graph: str | None, limit: int) -> None:
    """Check a graph (default: every loaded collection) against kgart's SHACL shapes."""
    from kgart.validation import validate_graph

    store = obj.store(obj.config())
    from kgart.rdf import graph_name

    names = [graph] if graph else [graph_name(g.iri) for g in store.graphs()
                                   if graph_name(g.iri) not in ("iconclass", "ontology")]
    if not names:
        raise click.ClickException("nothing to validate: no collection is loaded")
    failed = False
    for name in names:
        result = validate_graph(store, name)
        status = "conforms" if result.conforms else f"{len(result.violations)} violation(s)"
        if result.warnings:
            status += f", {result.warnings} warning(s)"
        click.echo(f"{name}: {result.checked_nodes:,} nodes checked, {status}")
        for v in result.violations[:limit]:
            click.echo(f"  {v}")
        failed = failed or not result.conforms
    if failed:
        sys.exit(1)


@main.command()
@click.argument("graph")
@pass_ctx
@_friendly_errors
def drop(obj: _Context, graph: str) -> None:
    """Remove one named graph (a source) from the store."""
    from kgart.rdf import graph_iri

    store = obj.store(obj.config(), write=True)
    if not store.drop_graph(graph_iri(graph)):
        raise click.ClickException(f"no graph {graph!r} in the store")
    click.echo(f"dropped {graph}")


@main.command()
@pass_ctx
@_friendly_errors
def stats(obj: _Context) -> None:
    """Graphs, triple counts, concept schemes (their names for --kind/--scheme), and Iconclass
    concepts per label language."""
    from kgart.iconclass import Iconclass
    from kgart.kinds import Kinds
    from kgart.rdf import graph_name

    config = obj.config()
    store = obj.store(config)
    click.echo(f"Store: {store.location or ':memory:'}")
    graphs = store.graphs()
    if not graphs:
        click.echo("The store is empty. Load something: kgart load iconclass")
        return
    click.echo(f"{'graph':<24} {'triples':>12}")
    for g in graphs:
        click.echo(f"{graph_name(g.iri):<24} {g.triples:>12,}")
    click.echo("\nConcept schemes (name for --kind/--scheme, IRI):")
    for kind in Kinds.of(store).schemes():
        click.echo(f"  {kind.name:<16} {kind.scheme}")
    ic = Iconclass(store)
    if ic.is_loaded:
        summary = ic.statistics()
        click.echo(f"\nIconclass concepts: {summary.concepts:,}")
        click.echo(f"Label languages ({len(summary.labels)}):")
        for lang, n in summary.labels.items():
            click.echo(f"  {lang:<4} {n:>8,} concepts labelled")


@main.command()
@click.argument("notation")
@click.option("--lang", "language", metavar="LANG", help="Label language (default: en).")
@click.option("--lenient", is_flag=True,
              help="Recover the notation from messy input (label text after it, stray spaces, "
                   "HTML entities) and say what changed.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@pass_ctx
@_friendly_errors
def notation(obj: _Context, notation: str, language: str | None, lenient: bool, fmt: str) -> None:
    """Resolve an Iconclass notation: label, IRI, path to the top, children.

    Works for base notations and for keys, names and compounds resolved on
    demand, e.g. 31D111(+89), 11H(FRANCIS)3, 61B:31A2212(+1).
    """
    from kgart.iconclass import Iconclass
    from kgart.languages import normalize_language

    config = obj.config()
    language = normalize_language(language or config.label_language)
    ic = Iconclass(obj.store(config))
    if not ic.is_loaded:
        raise click.ClickException("Iconclass is not loaded in this store; run: kgart load iconclass")
    parsed = ic.parse(notation, lenient=lenient)
    resolved = ic.resolve(parsed.notation)
    label = ic.label(resolved.notation, language)
    path_labels = ic.labels(resolved.path, language)
    child_labels = ic.labels(resolved.children, language)
    if fmt == "json":
        click.echo(json.dumps({
            "notation": resolved.canonical, "iri": resolved.iri, "depth": resolved.depth,
            "label": label.text, "language": label.language, "fallback": label.fallback,
            "materialized": resolved.materialized, "changes": list(parsed.changes),
            "path": [{"notation": n, "label": path_labels[n].text} for n in resolved.path],
            "children": [{"notation": n, "label": child_labels[n].text} for n in resolved.children],
        }, ensure_ascii=False, indent=2))
        return
    for change in parsed.changes:
        click.echo(f"note: {change}", err=True)
    click.echo(f"{resolved.canonical}  {label.text}")
    if label.fallback:
        click.echo(f"  (no {language} text for this notation; shown in {label.language})")
    click.echo(f"IRI:   {resolved.iri}")
    click.echo(f"depth: {resolved.depth}" + ("" if resolved.materialized else
                                             "  (derived on demand, not a stored concept)"))
    click.echo("path:")
    for n in resolved.path:
        click.echo(f"  {n:<28} {_marked(path_labels[n])}")
    if resolved.children:
        click.echo(f"children ({len(resolved.children)}):")
        for n in resolved.children:
            click.echo(f"  {n:<28} {_marked(child_labels[n])}")


def _marked(label: Any) -> str:
    """A label, tagged with its language when it fell back from the one asked for."""
    return f"{label.text}  [{label.language}]" if label.fallback else label.text


@main.command()
@click.argument("sparql")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True,
              help="table: aligned text; json: SPARQL results JSON (JSON-LD for graphs); "
                   "csv: SPARQL CSV (N-Triples for graphs).")
@pass_ctx
@_friendly_errors
def query(obj: _Context, sparql: str, fmt: str) -> None:
    """Run a SPARQL query. SPARQL may be '-' (stdin) or '@FILE'.

    The prefixes rdf, rdfs, xsd, skos, dcterms, schema, prov, owl, kgart and
    ic (iconclass.org) are predeclared.
    """
    if sparql == "-":
        sparql = sys.stdin.read()
    elif sparql.startswith("@"):
        try:
            with open(sparql[1:], encoding="utf-8") as f:
                sparql = f.read()
        except OSError as e:
            raise click.ClickException(f"cannot read {sparql[1:]}: {e.strerror}") from e
    store = obj.store(obj.config())
    if fmt == "table":
        from kgart.query_output import format_query_table

        click.echo(format_query_table(store, sparql))
        return
    media = {"json": "application/sparql-results+json", "csv": "text/csv"}[fmt]
    used, body = store.query_serialized(sparql, media)
    if used.startswith(("text/turtle", "application/n-triples")) and fmt == "json":
        used, body = store.query_serialized(sparql, "application/ld+json")
    sys.stdout.buffer.write(body)
    if not body.endswith(b"\n"):
        sys.stdout.buffer.write(b"\n")


@main.command()
@click.option("--model", metavar="M", help="Encoder (see `kgart settings`; default minilm) [env KGART_MODEL].")
@click.option("--kind", "kinds", multiple=True, metavar="KIND",
              help="Which nodes to embed, repeatable: iconclass (the default), artwork, sentence, the name of any "
                   "concept scheme in the store (tate, …; see `kgart stats`), or all.")
@click.option("--scheme", "schemes", multiple=True, metavar="IRI",
              help="Embed the concepts of this SKOS scheme (its IRI or name); repeatable.")
@click.option("--batch", "batch_size", type=click.IntRange(1, 4096), help="Batch size [env KGART_BATCH_SIZE].")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), help="Where the model runs [env KGART_DEVICE].")
@click.option("--lang", "language", default="en", show_default=True, help="Label language of Iconclass texts.")
@pass_ctx
@_friendly_errors
def embed(obj: _Context, model: str | None, kinds: tuple[str, ...], schemes: tuple[str, ...],
          batch_size: int | None, device: str | None, language: str) -> None:
    """Encode nodes without a current vector, store the vectors as node properties, update the index.

    Re-running does nothing when nothing changed; an interrupted run resumes
    where it stopped. Several models can coexist on the same nodes.
    """
    from tqdm import tqdm

    from kgart.embeddings.job import embed as run_embed
    from kgart.kinds import Kinds

    config = obj.config(model=model, batch_size=batch_size, device=device)
    store = obj.store(config, write=True)
    registry = Kinds.of(store)
    if "all" in kinds:
        chosen = registry.names()
    else:
        chosen = list(dict.fromkeys([*kinds, *(registry.get(s, role="concept").name for s in schemes)]))
        chosen = chosen or ["iconclass"]
    bar = tqdm(unit=" items", desc="embed", file=sys.stderr, disable=None)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        reports = run_embed(store, model=config.model, kinds=chosen, batch_size=config.batch_size,
                            device=config.device, language=language, backend=config.index_backend,
                            progress=progress)
    finally:
        bar.close()
    for report in reports:
        click.echo(report.summary())
        for source, reason in report.failed[:10]:
            click.echo(f"  image failed: {source}: {reason}")


def _retriever(obj: _Context, config: Config, language: str = "en", *, collection_priors: bool = True,
               priors: dict[str, dict[str, float]] | None = None) -> Any:
    from kgart.bilingual_dictionaries import find_dictionaries
    from kgart.embeddings.service import open_retriever

    store = obj.store(config)
    return open_retriever(store, model=config.model, device=config.device, backend=config.index_backend,
                          blend_config=config.blend_config, usage_counts=config.usage_count_files,
                          language=language, priors_from_collections=collection_priors, priors=priors,
                          dictionaries=find_dictionaries(config.dictionaries))


def _print_hits(hits: list[Any], fmt: str, explain: bool) -> None:
    if fmt == "json":
        click.echo(json.dumps([h.as_dict(explain) for h in hits], ensure_ascii=False, indent=2))
        return
    for rank, h in enumerate(hits, start=1):
        name = h.notation or h.iri
        label = f"  {h.label}" if h.label else ""
        codes = f"  [{', '.join(h.codes)}]" if h.codes else ""
        click.echo(f"{rank:>3}. {h.score:7.4f}  {name}{label}{codes}")
        if explain:
            click.echo("       " + "  ".join(f"{k} {v:+.4f}" for k, v in h.components.items()))


def _parse_depth(value: str | None) -> tuple[int, int] | None:
    if not value:
        return None
    low, _, high = value.partition("-")
    try:
        return int(low), int(high or low)
    except ValueError as e:
        raise click.BadParameter("use N or N-M, e.g. 3-6") from e


@main.command()
@click.argument("text")
@click.option("--target", type=click.Choice(["concept", "artwork", "sentence"]), default="concept",
              show_default=True)
@click.option("--under", metavar="NOTATION", help="Only this concept and what is below it (artworks: annotated "
                                                   "with them).")
@click.option("--depth", metavar="N-M", help="Only concepts at these depths (1 = the ten divisions).")
@click.option("--graph", metavar="NAME", help="Only items from this source graph.")
@click.option("--k", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--lang", "language", default="en", show_default=True, help="Label language.")
@click.option("--explain", is_flag=True, help="Show each blend component's contribution.")
@click.option("--scheme", default="iconclass", show_default=True, metavar="NAME|IRI",
              help="With --target concept: which concept scheme (iconclass, tate, or any SKOS scheme in the store).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@pass_ctx
@_friendly_errors
def search(obj: _Context, text: str, target: str, under: str | None, depth: str | None, graph: str | None,
           k: int, language: str, explain: bool, scheme: str, fmt: str) -> None:
    """Search concepts, artworks or sentences by meaning and words (run kgart embed first)."""
    from kgart.retrieval import Query

    retriever = _retriever(obj, obj.config(), language)
    if target == "concept":
        hits = retriever.search_concepts(Query(text=text), k=k, under=under, depth=_parse_depth(depth),
                                         scheme=scheme)
    else:
        hits = retriever.search_items(Query(text=text), target, k=k, under=under, graph=graph)
    _print_hits(hits, fmt, explain)


@main.command()
@click.argument("iri")
@click.option("--k", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@pass_ctx
@_friendly_errors
def similar(obj: _Context, iri: str, k: int, fmt: str) -> None:
    """Artworks, concepts or sentences most like a stored one (by its own vector)."""
    _print_hits(_retriever(obj, obj.config()).similar(iri, k=k), fmt, False)


@main.command()
@click.option("--title", default="", help="Title(s) of the artwork.")
@click.option("--description", default="", help="Its description.")
@click.option("--image", default="", help="Image path or URL (needs a CLIP model).")
@click.option("--input", "input_file", type=click.Path(exists=True, dir_okay=False),
              help='JSON Lines, one artwork a line: {"id": …, "title": …, "description": …, "image": …, '
                   '"makers": [IRI, …]}.')
@click.option("--k", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "jsonl"]), default="table", show_default=True)
@click.option("--explain", is_flag=True, help="Show each blend component's contribution (table only).")
@click.option("--scheme", default="iconclass", show_default=True, metavar="NAME|IRI",
              help="Suggest Iconclass codes, or the concepts of another scheme in the store: tate (Tate subject "
                   "ids as notations), or any SKOS scheme by name or IRI (kgart embed --kind NAME first).")
@click.option("--propose", is_flag=True,
              help="Store the top --k codes of each --input artwork as proposed annotations (the review queue); "
                   "each line's id is the artwork's IRI or its identifier in the store (its makers are the stored "
                   "record's).")
@click.option("--creator", metavar="NAME", help="With --propose: the user the proposals are made as.")
@click.option("--maker", "makers", multiple=True, metavar="IRI",
              help="The artwork's maker in the store (schema:creator), repeatable: what the maker's catalogued "
                   "works carry counts where a learned ranker weighs it (the maker component).")
@pass_ctx
@_friendly_errors
def suggest(obj: _Context, title: str, description: str, image: str, input_file: str | None, k: int, fmt: str,
            explain: bool, scheme: str, propose: bool, creator: str | None, makers: tuple[str, ...]) -> None:
    """Suggest Iconclass codes for one artwork, or for each line of --input.

    --format jsonl writes one line per artwork, in input order:
    {"id": …, "codes": [{"notation": …, "score": …}, …]}.
    With --propose --creator NAME the codes are stored as proposed annotations instead,
    for curators to accept or reject at /review/.
    """
    if propose:
        if not (input_file and creator):
            raise click.UsageError("--propose needs --input and --creator")
        from kgart.cli_review import propose as propose_codes

        config = obj.config()
        obj.store(config, write=True)
        propose_codes(obj, _retriever(obj, config), _suggest_inputs(input_file), k, scheme, creator)
        return
    retriever = _retriever(obj, obj.config())
    items = _suggest_inputs(input_file) if input_file else [("1", title, description, image, makers)]
    for item_id, t, d, img, by in items:
        # An item with nothing to go on gets no codes (and keeps its line in the output).
        hits = (retriever.suggest(t, d, img, k=k, scheme=scheme, makers=by)
                if (t.strip() or d.strip() or img.strip()) else [])
        if fmt == "jsonl":
            click.echo(json.dumps({"id": item_id, "codes": [{"notation": h.notation, "score": round(h.score, 6)}
                                                          for h in hits]}, ensure_ascii=False))
        else:
            if input_file:
                click.echo(f"# {item_id}: {t}")
            if scheme == "iconclass":
                labels = retriever.iconclass.labels([h.notation for h in hits], "en")
                for h in hits:
                    h.label = labels[h.notation].text
            _print_hits(hits, "table", explain)


def _scheme_branch(store: Any, scheme: Any) -> Any:
    """For a scheme whose codes are not hierarchical (Tate subject ids), a code's branch is its parent."""
    rows = store.select("""SELECT ?n ?pn WHERE { ?c skos:inScheme $scheme ;
        skos:notation ?n ; skos:broader/skos:notation ?pn }""", {"scheme": scheme}).rows
    parent = {r.text("n"): r.text("pn") for r in rows}
    return lambda code: parent.get(code, code)


def _suggest_inputs(path: str) -> list[tuple[Any, str, str, str, tuple[str, ...]]]:
    from kgart.errors import DataSourceError

    items = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataSourceError(f"malformed JSON: {e.msg}", path=path, line=number) from e
            if not isinstance(row, dict) or "id" not in row:
                raise DataSourceError('each line needs an object with an "id"', path=path, line=number)
            makers = row.get("makers") or []
            if isinstance(makers, str):
                makers = [makers]
            if not isinstance(makers, list) or not all(isinstance(m, str) for m in makers):
                raise DataSourceError('"makers" must be an IRI or a list of IRIs', path=path, line=number)
            items.append((row["id"], str(row.get("title") or ""), str(row.get("description") or ""),
                          str(row.get("image") or ""), tuple(makers)))
    return items


@main.group("eval")
def eval_group() -> None:
    """Measure retrieval on data with known answers."""


@eval_group.command("suggest")
@click.option("--input", "input_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="RKD table (Title + Iconclass code) or JSON Lines with gold codes (kgart eval split writes them).")
@click.option("--k", "ks", default="1,5,10", show_default=True, help="Cut-offs, comma-separated.")
@click.option("--no-ablation", is_flag=True, help="Only the configured blend, not each component.")
@click.option("--fields", default="title,description", show_default=True,
              help="Which fields of each item make the query: title, description, keywords, maker (the "
                   "makers of the item's record in the store, for the maker component).")
@click.option("--scheme", type=click.Choice(["iconclass", "tate"]), default="iconclass", show_default=True,
              help="tate: gold = Tate subject terms (--input: Tate records, or a kgart eval split file of them).")
@click.option("--limit", type=click.IntRange(1), default=1000, show_default=True,
              help="With --scheme tate and Tate records as --input: the first this many records with subjects "
                   "(no random sample: kgart eval split --sample draws one).")
@click.option("--half", type=click.Choice(["1", "2"]),
              help="Only every second item: 1 = the 1st, 3rd, … (to tune weights on), 2 = the others (to check them).")
@click.option("--titled", is_flag=True, help="Only items with a title.")
@click.option("--query-language", metavar="LANG",
              help="Query with the items' titles in this language (gold JSON Lines with a \"titles\" object).")
@click.option("--compare", "compare", multiple=True, metavar="MODEL",
              help="Also score this model (e.g. trained:NAME) beside the configured one, in the same run; "
                   "repeatable. A trained model is scored with the blend and with its learned ranker, and "
                   "each such row's gain over the configured blend, item by item, is printed with a 95% "
                   "bootstrap interval and McNemar's exact test.")
@click.option("--details", type=click.Path(dir_okay=False, writable=True),
              help="Write each item's result to this JSON Lines file, one line per item and configuration: "
                   "its query (and what a title in another language was searched as), its gold codes, the "
                   "codes ranked, and the rank of the first gold one.")
@pass_ctx
@_friendly_errors
def eval_suggest(obj: _Context, input_file: str, ks: str, no_ablation: bool, fields: str, scheme: str,
                 limit: int, half: str | None, titled: bool, query_language: str | None,
                 compare: tuple[str, ...], details: str | None) -> None:
    """R@K, branch@K and MRR of code suggestion, with the ablation per component.

    Usage priors, less one use of each gold item's codes so that they cannot repeat
    the answers: Iconclass's from the usage_counts files, Tate subjects' counted in
    the loaded Tate collection. The gold items' own records in the store (matched by
    their RKD number or Tate acno) are left out of the neighbours. A trained model or
    ranker is refused for items it was trained on.
    """
    from kgart.evaluation import (
        counts_without,
        format_table,
        makers_in_store,
        paired_gains,
        read_gold,
        read_tate_gold,
        records_in_store,
        score,
    )
    from kgart.retrieval import COMPONENTS, load_priors, priors_from_store

    cutoffs = sorted({int(x) for x in ks.split(",") if x.strip()})
    is_records = scheme == "tate" and not input_file.endswith((".jsonl", ".ndjson"))
    gold = read_tate_gold(input_file, limit) if is_records else read_gold(input_file)
    if not gold:
        raise click.ClickException(f"no items with gold codes in {input_file}")
    if half:
        from kgart.splits import every_second

        gold = every_second(gold, int(half))
    if query_language:
        gold = _titles_in(input_file, gold, query_language)
    if titled:
        gold = [item for item in gold if item.title]
    chosen = [f.strip() for f in fields.split(",") if f.strip()]
    unknown = set(chosen) - {"title", "description", "keywords", "maker"}
    if unknown:
        raise click.BadParameter(f"unknown field(s) {', '.join(sorted(unknown))}", param_hint="--fields")

    def query(item: Any) -> Any:
        from kgart.retrieval import Query

        description = " ".join(p for p in (item.description if "description" in chosen else "",
                                           item.keywords if "keywords" in chosen else "") if p)
        return Query(title=item.title if "title" in chosen else "", description=description,
                     makers=makers.get(item.source_id, ()))

    config = obj.config()
    makers = makers_in_store(obj.store(config), gold) if "maker" in chosen else {}
    _refuse_trained_on(obj, config, gold, [config.model, *compare])
    files = config.usage_count_files
    from kgart.kinds import Kinds

    scheme_kind = Kinds.of(obj.store(config)).get(scheme, role="concept") if scheme == "tate" else None
    if scheme_kind is not None:
        counts = priors_from_store(obj.store(config), scheme_kind.concept_scheme)
        prior_source = "Tate subjects counted in the loaded collections"
    else:
        counts = load_priors(files) if files else {}
        prior_source = ", ".join(files)
    priors = counts_without(counts, gold)
    retriever = _retriever(obj, config, collection_priors=False, priors={scheme: priors})
    exclude = records_in_store(obj.store(config), gold)
    base = retriever.config.for_scheme(scheme)
    label = "untrained" if compare else ""
    steps: list[tuple[str, Any, Any]] = [(_row_name(label, "configured blend"), retriever, base)]
    if not no_ablation:
        hierarchy = ["vector", "keyword", "children", "branch", "parent"]
        ablation = [("vector only", base.only(["vector"])),
                    ("+ keywords", base.only(["vector", "keyword"])),
                    ("+ hierarchy", base.only(hierarchy))]
        if base.weights["neighbours"]:
            ablation += [("+ priors", base.only([*hierarchy, "prior"])),
                         ("+ neighbours (all)", base.only(COMPONENTS))]
        else:
            ablation.append(("+ priors (all)", base.only(COMPONENTS)))
        if priors and base.weights["prior"]:
            ablation.append(("prior only (popularity)", base.only(["prior"])))
        # Leave-one-out: what each component adds to all the others.
        ablation += [(f"all but {name}", base.only(c for c in COMPONENTS if c != name))
                     for name in COMPONENTS[1:] if base.weights[name] and (name != "prior" or priors)]
        steps = [(_row_name(label, name), retriever, blend) for name, blend in ablation]
    # The configured blend (itself, or the ablation's row with every component) is what the
    # learned rankers and the compared models are measured against, item by item.
    baseline = next(i for i, (_, _, blend) in enumerate(steps) if blend == base)
    first_compared = len(steps)
    if retriever.ranker_for(scheme) is not None:
        steps.append((_row_name(label, "learned ranker"), retriever, None))
    for model in compare:
        other = _retriever(obj, obj.config(model=model), collection_priors=False, priors={scheme: priors})
        steps.append((f"{model}: blend", other, other.config.for_scheme(scheme)))
        if other.ranker_for(scheme) is not None:
            steps.append((f"{model}: learned ranker", other, None))
    rows = []
    depth = max(cutoffs)
    branch_of = (_scheme_branch(obj.store(config), scheme_kind.concept_scheme) if scheme_kind is not None
                 else (lambda code: code[:4]))
    lines: list[dict[str, Any]] = []
    ranked_by_step: list[list[list[str]]] = []
    for name, scorer, blend in steps:
        def suggest_codes(item: Any, c: Any = blend, r: Any = scorer) -> list[str]:
            if not query(item).words:
                return []
            return [h.notation for h in r.search_concepts(query(item), k=depth, config=c, labels=False,
                                                          scheme=scheme, exclude=exclude)]

        ranked = [suggest_codes(item) for item in gold]
        ranked_by_step.append(ranked)
        rows.append((name, score(gold, ranked, cutoffs, branch_of)))
        if details:
            lines += [_detail(name, item, query(item), codes, scorer) for item, codes in zip(gold, ranked, strict=True)]
    click.echo(format_table(rows, cutoffs))
    for (name, _, _), ranked in zip(steps[first_compared:], ranked_by_step[first_compared:], strict=True):
        gains = paired_gains(gold, ranked_by_step[baseline], ranked, cutoffs)
        click.echo(f"{name} against {steps[baseline][0]}, item by item:")
        for gain in gains:
            click.echo(f"  {gain}")
    if details:
        _write_details(details, lines)
    empty = sum(1 for item in gold if not query(item).words)
    click.echo(f"query fields: {', '.join(chosen)}" + (f" ({query_language} titles)" if query_language else "") +
               (f"; {empty} item(s) have none of them and count as misses" if empty else ""))
    click.echo("weights: " + ", ".join(f"{k}={v:g}" for k, v in base.weights.items()))
    if counts:
        click.echo(f"usage priors: {prior_source}, less one use of each gold item's codes")
    elif scheme == "tate":
        click.echo("usage priors: none (the loaded collections use no Tate subjects)")
    else:
        click.echo("usage priors: none (set usage_counts; priors counted from the loaded collections "
                   "would include the gold items)")
    if base.weights["neighbours"] or base.weights["nearest"]:
        click.echo(f"neighbours: {len(exclude)} of the {len(gold)} gold items are records in the store "
                   "and do not vote")
    if "maker" in chosen:
        click.echo(f"makers: {sum(1 for item in gold if makers.get(item.source_id))} of the {len(gold)} gold items "
                   "have a maker in the store; the gold items' records do not count among the makers' works")


def _detail(configuration: str, item: Any, query: Any, ranked: list[str], retriever: Any) -> dict[str, Any]:
    """One item's result under one configuration, for reading where it went wrong."""
    gold = set(item.codes)
    first = next((i for i, code in enumerate(ranked, 1) if code in gold), None)
    line: dict[str, Any] = {"configuration": configuration, "id": item.id, "title": query.title,
                            "description": query.description, "gold": list(item.codes), "ranked": ranked,
                            "first_gold_rank": first}
    if query.makers:
        line["makers"] = list(query.makers)
    translated = retriever.translation(query.title) if query.title else None
    if translated is not None:
        line["title_searched_as"] = {"language": translated.language, "text": translated.text}
    return line


def _write_details(path: str, lines: list[dict[str, Any]]) -> None:
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    except OSError as e:
        raise click.ClickException(f"cannot write {path}: {e}") from e
    click.echo(f"each item's result: {path} ({len(lines)} lines)")


def _row_name(label: str, name: str) -> str:
    return f"{label}: {name}" if label else name


def _titles_in(path: str, gold: list[Any], language: str) -> list[Any]:
    """The gold items with their title in ``language`` (from a ``"titles"`` object per JSON line);
    items without one are left out."""
    from dataclasses import replace

    titles: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                value = (row.get("titles") or {}).get(language) if isinstance(row, dict) else None
                if value:
                    titles[str(row.get("id"))] = str(value)
    if not titles:
        raise click.ClickException(f"{path} has no titles in {language!r} (a \"titles\" object per line)")
    return [replace(item, title=titles[item.id], description="") for item in gold if item.id in titles]


def _refuse_trained_on(obj: _Context, config: Config, gold: list[Any], models: list[str]) -> None:
    """Refuse (LeakError) when a trained model in use learned from any of the gold items."""
    trained = [m for m in models if m.startswith("trained:")]
    if not trained:
        return
    from kgart.embeddings.trained import models_folder, open_trained
    from kgart.splits import refuse_leaks

    folder = models_folder(obj.store(config))
    refuse_leaks(gold, [open_trained(folder, m[len("trained:"):]).trained_on() for m in trained])


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option("--workers", type=click.IntRange(1, 256), default=None,
              help="Server processes (gunicorn, pre-forked) [default: the number of cores].")
@click.option("--threads", type=click.IntRange(1, 64), default=16, show_default=True,
              help="Threads per server process (SPARQL queries running or waiting hold at most all but two).")
@click.option("--server", "server_name", type=click.Choice(["gunicorn", "waitress"]), default="gunicorn",
              show_default=True, help="waitress: one process (where gunicorn cannot run, e.g. Windows).")
@click.option("--query-processes", type=click.IntRange(0, 64), default=2, show_default=True,
              help="/sparql queries each server process runs at once in processes of their own (killed at "
                   "the query timeout); a query past a quarter of a second is lowered in priority and as "
                   "many such may run besides. 0 runs them in threads, which a timeout cannot stop.")
@click.option("--query-queue", type=click.IntRange(0, 10_000), default=16, show_default=True,
              help="SPARQL queries that may wait per server process (at most the threads less two less "
                   "those running, so that queries never hold every thread); past it 503 with Retry-After.")
@click.option("--query-cache-mb", type=click.FloatRange(0), default=16.0, show_default=True,
              help="Whole SPARQL results and linked-data representations (each up to 256 KiB) kept per "
                   "server process for identical GET requests until the store changes; 0 keeps none.")
@click.option("--update-token", envvar="KGART_UPDATE_TOKEN",
              help="Allow SPARQL updates sent with Authorization: Bearer TOKEN [env KGART_UPDATE_TOKEN].")
@click.option("--allow-service", multiple=True, metavar="HOST", help="Host SPARQL SERVICE may reach; repeatable.")
@click.option("--query-timeout", type=float, default=30.0, show_default=True, help="Seconds a SPARQL query may run.")
@click.option("--max-result-mb", type=float, default=50.0, show_default=True, help="Largest SPARQL result served.")
@click.option("--cors-origin", multiple=True, metavar="ORIGIN",
              help="Origin allowed to call /api and /sparql from a browser (e.g. https://example.org); repeatable.")
@click.option("--access-log/--no-access-log", default=True, show_default=True,
              help="One JSON line per request on standard error (method, route, path, status, ms, bytes).")
@click.option("--graceful-timeout", type=float, default=30.0, show_default=True,
              help="Seconds requests in flight may take to finish after SIGTERM.")
@pass_ctx
@_friendly_errors
def serve(obj: _Context, host: str, port: int, workers: int | None, threads: int, server_name: str,
          query_processes: int, query_queue: int, query_cache_mb: float, update_token: str | None,
          allow_service: tuple[str, ...], query_timeout: float, max_result_mb: float,
          cors_origin: tuple[str, ...], access_log: bool, graceful_timeout: float) -> None:
    """Serve SPARQL, linked data, the JSON API and the HTML pages from every core (gunicorn);
    /healthz, /readyz and /metrics (Prometheus) for operators.

    Each worker process reads the store and follows its writes (a load, an update, an
    annotation is visible to every worker at its next request)."""
    import logging

    from kgart.web.server import prepare_metrics_dir, serve_gunicorn, serve_waitress

    if access_log:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log = logging.getLogger("kgart.access")
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False

    config = obj.config()
    location = config.store_location
    on_disk = bool(location) and not str(location).startswith(("http://", "https://"))
    workers = workers or _cores()
    if not location and (workers > 1 or server_name == "gunicorn"):
        click.echo("an in-memory store lives in one process: serving it with waitress, one process", err=True)
        server_name, workers = "waitress", 1
    options = dict(update_token=update_token, service_allow=list(allow_service), query_timeout=query_timeout,
                   max_result_bytes=int(max_result_mb * 1024 * 1024), cors_origins=list(cors_origin),
                   query_processes=query_processes if on_disk else 0,
                   query_queue=min(query_queue, max(0, threads - 2 - 2 * query_processes)),
                   query_cache_bytes=int(query_cache_mb * 1024 * 1024))
    banner = (f"kgart serving {location or ':memory:'} on http://{host}:{port}/  (SPARQL: /sparql, "
              f"Iconclass: /iconclass/, API: /api/openapi.json)")
    if server_name == "waitress":
        from kgart.web import create_app

        store = obj.store(config, write=bool(update_token)) if not on_disk else _shared_store(config)
        app = create_app(config, store=store, **options)  # type: ignore[arg-type]
        click.echo(f"{banner}; waitress, {threads} threads")
        serve_waitress(app, host=host, port=port, threads=threads)
        return
    prepare_metrics_dir()
    _shared_store(config).close()  # fails here, clearly, rather than in every worker

    def factory() -> Any:
        from kgart.web import create_app

        app = create_app(config, store=_shared_store(config), **options)  # type: ignore[arg-type]
        if app.extensions["kgart"].query_processes is not None:
            app.extensions["kgart"].query_processes.start_in_background()
        return app

    click.echo(f"{banner}; {workers} worker process(es) x {threads} threads")
    serve_gunicorn(factory, host=host, port=port, workers=workers, threads=threads,
                   worker_timeout=max(120.0, 2 * query_timeout), graceful_timeout=graceful_timeout)


def _shared_store(config: Config) -> Any:
    from kgart.stores import open_store

    return open_store(config, shared=True)


@main.command("settings")
@pass_ctx
@_friendly_errors
def settings_command(obj: _Context) -> None:
    """List every setting, its value and where the value came from."""
    config = obj.config()
    for s in SETTINGS:
        value = config.values[s.name]
        click.echo(f"{s.name} = {value!r}  [{config.origin[s.name]}; env {s.env_var}]")
        click.echo(f"    {s.help}")
    click.echo(f"store folder in use: {config.store_location or ':memory:'}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option("--no-serve", is_flag=True, help="Set up the store, then exit.")
@click.option("--no-embed", is_flag=True, help="Skip the embeddings (no search; browsing and SPARQL work).")
@pass_ctx
@_friendly_errors
def demo(obj: _Context, host: str, port: int, no_serve: bool, no_embed: bool) -> None:
    """Load Iconclass (iconclass package) and a sample of the Tate collection, serve them, embed.

    Browsing and SPARQL work at once; search works as soon as the vectors exist.
    Everything is offline.
    """
    from kgart.loaders.demo import prepare_demo_store

    config = obj.config()
    store = obj.store(config, write=True)
    for line in prepare_demo_store(store, data_dir=config.iconclass_data_dir):
        click.echo(line)
    if no_serve:
        if not no_embed:
            _demo_embed(store, config, None)
        click.echo(f"The store is at {store.location or ':memory:'}; serve it with: "
                   f"kgart --store '{store.location}' serve")
        return
    import threading

    import waitress

    from kgart.web import create_app

    app = create_app(config, store=store)
    server = waitress.create_server(app, host=host, port=port, threads=8, channel_timeout=60, ident="kgart")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://{host}:{port}"
    click.echo(f"\nkgart is serving on {base}/\n  search:    {base}/\n  Iconclass: {base}/iconclass/\n"
               f"  SPARQL:    {base}/sparql\n  API:       {base}/api/openapi.json\n")
    if not no_embed:
        _demo_embed(store, config, app.extensions["kgart"])
    click.echo("Ready. Press Ctrl-C to stop.")
    try:
        thread.join()
    except KeyboardInterrupt:
        server.close()


def _demo_embed(store: Any, config: Config, services: Any) -> None:
    from tqdm import tqdm

    from kgart.embeddings.job import embed as run_embed

    click.echo("Embedding Iconclass concepts, artworks and Tate subjects (search becomes available when this ends)…")
    bar = tqdm(unit=" items", desc="embed", file=sys.stderr, disable=None)

    def progress(done: int, total: int) -> None:
        bar.total, bar.n = total, done
        bar.refresh()
        if services is not None:
            services.progress = (done, total)  # the pages' banner and the API's 503 say it

    if services is not None:
        services.embedding = True
    try:
        from kgart.kinds import Kinds

        present = Kinds.of(store)  # a store loaded by an older kgart names no Tate scheme
        for report in run_embed(store, model=config.model,
                                kinds=[k for k in ("iconclass", "artwork", "tate") if k in present],
                                progress=progress):
            click.echo(report.summary())
        from kgart.bilingual_dictionaries import find_dictionaries
        from kgart.query_translation import Lexicon

        dictionaries = find_dictionaries(config.dictionaries)
        click.echo("Learning the lexicon for queries in other languages from Iconclass's labels"
                   + (f" and {len(dictionaries)} dictionaries ({', '.join(d.language for d in dictionaries)})"
                      if dictionaries else "") + "…")
        # before search opens: the first search would learn it otherwise
        Lexicon.for_store(store, dictionaries)
    finally:
        bar.close()
        if services is not None:
            services.embedding = False
            services.reset()
    click.echo("Search is available.")


from kgart import cli_review, cli_train  # noqa: E402,F401  (users, annotations, eval review; train, eval split)

if __name__ == "__main__":  # pragma: no cover
    main()
