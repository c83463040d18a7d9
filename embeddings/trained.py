"""Trained models beside the store: what ``kgart train`` writes and ``model = "trained:NAME"`` reads.

A trained model is a folder ``models/NAME/`` in the store folder (for a remote store, in
the user data folder, one per server):

``manifest.json``  what it is: its model id, the base model, the training's counts,
                   hyper-parameters, seed, date and figures (the same as its PROV record
                   in the store's ``models`` graph)
``split.json``     the records it was trained on and those it held out
                   (:class:`kgart.splits.TrainedOn`); ``kgart eval suggest`` refuses to
                   score the former
``encoder/``       the fine-tuned sentence-transformers model, when the encoder was trained
                   (run through ONNX Runtime like the default); without it the base
                   model's vectors are used as they are
``concept-offsets.npz``  a projection's learned offset of each concept from its text's
                   vector, per scheme (added to the concepts' vectors by ``kgart embed``)
``ranker-SCHEME.json``  a learned blend per scheme (:mod:`kgart.ranker`), when trained

Vectors of a trained encoder carry its model id ``kgart-trained/NAME/RUN``: a new training
run of the same name gets a new id, so ``kgart embed`` re-encodes with it.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from kgart.errors import ConfigError, KgartError
from kgart.ranker import LinearRanker
from kgart.rdf import IRI, KGART, KGART_BASE, PROV, RDF, RDFS, XSD, Literal, Triple, graph_iri, slug
from kgart.splits import TrainedOn
from kgart.triplestore import TripleStore

PREFIX = "trained:"
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")  # also a folder name
MODELS_GRAPH = "models"
OFFSETS_FILE = "concept-offsets.npz"


def models_folder(store: TripleStore) -> Path | None:
    """Where a store's trained models live: ``models/`` in its folder; for a remote store the
    user data folder; None for a store in memory."""
    if store.location is not None:
        return Path(store.location) / "models"
    if store.index_location is not None:
        import platformdirs

        return Path(platformdirs.user_data_dir("kgart")) / "models" / store.index_location.name
    return None


def trained_name(model: str) -> str | None:
    """``NAME`` of ``trained:NAME``, None for any other model name."""
    return model[len(PREFIX):] if model.startswith(PREFIX) else None


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise ConfigError(f"a trained model's name is letters, digits, '-' and '_' (starting with a letter), "
                          f"not {name[:60]!r}")
    return name


@dataclass(frozen=True)
class TrainedModel:
    """One trained model's folder, read."""

    name: str
    folder: Path
    manifest: dict[str, Any]

    @property
    def model_id(self) -> str:
        """The id its vectors carry: its own for a trained encoder, else the base model's."""
        return str(self.manifest["model_id"])

    @property
    def base(self) -> str:
        return str(self.manifest.get("base", "minilm"))

    @property
    def encoder_dir(self) -> Path | None:
        folder = self.folder / "encoder"
        return folder if (folder / "config.json").exists() else None

    def trained_on(self) -> TrainedOn:
        path = self.folder / "split.json"
        if not path.exists():
            return TrainedOn(f"trained:{self.name}", frozenset(), frozenset())
        return TrainedOn.from_json({**json.loads(path.read_text(encoding="utf-8")), "name": f"trained:{self.name}"})

    def concept_offsets(self, scheme: str) -> dict[str, np.ndarray]:
        """A projection's learned offset of each concept of ``scheme`` (by IRI), added to the
        concept's vector by ``kgart embed``; empty for a model without them."""
        path = self.folder / OFFSETS_FILE
        if not path.exists():
            return {}
        try:
            with np.load(path, allow_pickle=False) as saved:
                if f"{scheme}.iris" not in saved:
                    return {}
                stored, matrix = saved[f"{scheme}.iris"], saved[f"{scheme}.offsets"].astype(np.float32)
            iris = stored.tobytes().decode("utf-8").split("\n") if stored.dtype == np.uint8 else list(stored)
        except (OSError, ValueError, KeyError) as e:
            raise KgartError(f"cannot read {path}: {e}") from e
        if len(iris) != len(matrix):
            raise KgartError(f"{path}: {len(iris)} {scheme} concepts for {len(matrix)} offsets")
        return {str(iri): matrix[n] for n, iri in enumerate(iris)}

    def rankers(self) -> dict[str, LinearRanker]:
        out = {}
        for path in sorted(self.folder.glob("ranker-*.json")):
            ranker = LinearRanker.from_json(json.loads(path.read_text(encoding="utf-8")))
            out[ranker.scheme] = ranker
        return out


def open_trained(folder: Path | None, name: str) -> TrainedModel:
    """A trained model by name.

    :raises KgartError: when there is none of that name (naming those there are).
    """
    check_name(name)
    if folder is None:
        raise ConfigError("trained models live beside an on-disk or remote store, not one in memory")
    path = folder / name / "manifest.json"
    if not path.exists():
        known = sorted(p.parent.name for p in folder.glob("*/manifest.json")) if folder.exists() else []
        raise KgartError(f"no trained model {name!r} (run kgart train encoder --name {name}); "
                         f"trained here: {', '.join(known) or 'none'}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise KgartError(f"cannot read {path}: {e}") from e
    return TrainedModel(name, path.parent, manifest)


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Write the manifest last and atomically: a folder without one is no model yet."""
    tmp = folder / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    tmp.replace(folder / "manifest.json")


def write_trained_on(folder: Path, trained: TrainedOn) -> None:
    """``split.json``: the records a model learned from and those it held out."""
    (folder / "split.json").write_text(json.dumps(trained.as_json()), encoding="utf-8")


def replace_folder(partial: Path, final: Path) -> None:
    """Swap a finished training folder into place (the old model stays until then)."""
    old = final.with_name(final.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    partial.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def model_iri(name: str) -> IRI:
    return IRI(f"{KGART_BASE}models/{slug(name)}")


def provenance_triples(model: TrainedModel) -> list[Triple]:
    """The model as a PROV entity: what training used, made and measured."""
    m = model.manifest
    entity = model_iri(model.name)
    activity = IRI(f"{entity}/training/{slug(str(m.get('run', 'run')))}")
    out: list[Triple] = [
        (entity, RDF.type, KGART.TrainedModel), (entity, RDF.type, PROV.Entity),
        (entity, RDFS.label, Literal(model.name)), (entity, KGART.model, Literal(model.model_id)),
        (entity, KGART.baseModel, Literal(model.base)), (entity, PROV.wasGeneratedBy, activity),
        (activity, RDF.type, PROV.Activity), (activity, RDF.type, KGART.Training),
    ]
    for key, predicate in (("started", PROV.startedAtTime), ("ended", PROV.endedAtTime)):
        if m.get(key):
            out.append((activity, predicate, Literal(str(m[key]), datatype=XSD.dateTime)))
    for graph in m.get("graphs", []):
        out.append((activity, PROV.used, graph_iri(str(graph))))
    for part, value in sorted(_numbers(m).items()):
        text = json.dumps(value) if isinstance(value, list | dict) else value  # readable by any client, not repr
        out.append((activity, KGART.parameter, Literal(f"{part}={text}")))
    return out


def _numbers(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest's counts, hyper-parameters and figures, flattened (``pairs.iconclass-label=…``)."""
    out: dict[str, Any] = {}
    for section in ("counts", "hyperparameters", "figures"):
        for key, value in (manifest.get(section) or {}).items():
            if isinstance(value, dict):
                out.update({f"{section}.{key}.{k}": v for k, v in value.items()})
            else:
                out[f"{section}.{key}"] = value
    return out


def register(store: TripleStore, model: TrainedModel) -> None:
    """Record the model's provenance in the store's ``models`` graph (replacing an earlier run's)."""
    graph = graph_iri(MODELS_GRAPH)
    entity = model_iri(model.name)
    with store.batched():
        store.update("""DELETE WHERE { GRAPH $graph { $entity prov:wasGeneratedBy ?a . ?a ?p ?o } };
            DELETE WHERE { GRAPH $graph { $entity ?p ?o } }""", {"graph": graph, "entity": entity})
        store.add_triples(str(graph), provenance_triples(model))


@dataclass(frozen=True)
class RegisteredModel:
    """A trained model as its provenance in the store tells it (what the models page shows):
    known wherever the store is, also for a server whose models folder is elsewhere."""

    iri: str
    name: str
    model_id: str
    base: str
    started: str
    ended: str
    used: tuple[str, ...]
    parameters: dict[str, str]  # "figures.before.dev_r1" → "40.6", as :func:`_numbers` flattened them

    def section(self, prefix: str) -> dict[str, str]:
        """The parameters under ``prefix.`` (e.g. ``counts.examples``), by the rest of their key."""
        start = prefix + "."
        return {key[len(start):]: value for key, value in self.parameters.items() if key.startswith(start)}

    def schemes_ranked(self) -> list[str]:
        """The schemes a ranker was learned for."""
        return sorted({key.split(".")[1].removeprefix("ranker_") for key in self.parameters
                       if key.startswith("figures.ranker_")})


def registered_models(store: TripleStore) -> list[RegisteredModel]:
    """Every trained model recorded in the store's ``models`` graph, the newest run first."""
    bindings = {"graph": graph_iri(MODELS_GRAPH)}
    rows = store.select("""SELECT ?m ?name ?id ?base ?started ?ended WHERE { GRAPH $graph {
        ?m a kgart:TrainedModel ; rdfs:label ?name ; kgart:model ?id ; prov:wasGeneratedBy ?run .
        OPTIONAL { ?m kgart:baseModel ?base } OPTIONAL { ?run prov:startedAtTime ?started }
        OPTIONAL { ?run prov:endedAtTime ?ended } } } ORDER BY DESC(STR(?ended)) ?name""", bindings).rows
    parameters: dict[str, dict[str, str]] = {}
    for row in store.select("""SELECT ?m ?p WHERE { GRAPH $graph { ?m a kgart:TrainedModel ;
            prov:wasGeneratedBy ?run . ?run kgart:parameter ?p } }""", bindings).rows:
        key, _, value = row.text("p").partition("=")
        parameters.setdefault(str(row["m"]), {})[key] = value
    used: dict[str, list[str]] = {}
    for row in store.select("""SELECT ?m ?g WHERE { GRAPH $graph { ?m a kgart:TrainedModel ;
            prov:wasGeneratedBy ?run . ?run prov:used ?g } } ORDER BY ?g""", bindings).rows:
        used.setdefault(str(row["m"]), []).append(str(row["g"]))
    return [RegisteredModel(str(r["m"]), r.text("name"), r.text("id"), r.text("base", ""), r.text("started", ""),
                            r.text("ended", ""), tuple(used.get(str(r["m"]), [])), parameters.get(str(r["m"]), {}))
            for r in rows]
