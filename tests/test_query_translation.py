"""Queries in other languages: a lexicon learned from parallel labels, language recognition, the
retriever's encoder given the English."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from kgart.query_translation import LEXICON_FILE, Lexicon
from kgart.retrieval import BlendConfig, Query, Retriever
from kgart.store import Store

# Concept texts in English and German: "Kinder" goes with "children" in three concepts, "Hund"
# with "dog" in two; "Baum" shares one concept with "tree" only (too few to learn from).
PARALLEL = [
    ("c1", "en", "children playing with a dog"), ("c1", "de", "Kinder spielen mit einem Hund"),
    ("c2", "en", "children at school"), ("c2", "de", "Kinder in der Schule"),
    ("c3", "en", "dog hunting"), ("c3", "de", "Hund bei der Jagd"),
    ("c4", "en", "the children of Israel"), ("c4", "de", "die Kinder Israels"),
    ("c5", "en", "still life with flowers"), ("c5", "de", "Stillleben mit Blumen"),
    ("c6", "en", "still life with fruit"), ("c6", "de", "Stillleben mit Obst"),
    ("c7", "en", "tree"), ("c7", "de", "Baum"),
    ("c8", "en", "flowers in a vase"), ("c8", "de", "Blumen in einer Vase"),
]


def test_words_are_learned_from_concepts_they_share() -> None:
    lexicon = Lexicon.learn(PARALLEL)
    german = lexicon.words["de"]
    assert german["kinder"] == "children" and german["hund"] == "dog" and german["blumen"] == "flowers"
    assert german["stillleben"] == "still life"  # an English pair of words is a candidate too
    assert "baum" not in german  # one shared concept is chance
    assert "children" in lexicon.english and "still life" not in lexicon.english


def test_a_tie_goes_the_same_way_in_every_process() -> None:
    """Words come out of sets in an order that changes with each process's hash seed; the lexicon
    must not (two English words tie for "Reiter": "horse" and "rider", both in both concepts)."""
    import json
    import os
    import subprocess
    import sys

    program = ("import json; from kgart.query_translation import Lexicon; "
               "texts = [('c1', 'en', 'rider on a horse'), ('c1', 'de', 'Reiter'), "
               "('c2', 'en', 'horse and rider'), ('c2', 'de', 'Reiter'), "
               "('c3', 'en', 'zebra'), ('c3', 'de', 'Zebra')]; "
               "print(json.dumps(Lexicon.learn(texts).words))")
    seen = {subprocess.run([sys.executable, "-c", program], env={**os.environ, "PYTHONHASHSEED": str(seed)},
                           capture_output=True, text=True, check=True).stdout for seed in range(6)}
    assert len(seen) == 1 and json.loads(seen.pop())["de"]["reiter"] == "horse"  # alphabetical


def test_language_is_recognised_by_function_words_and_known_words() -> None:
    lexicon = Lexicon.learn(PARALLEL)
    assert lexicon.language_of("Kinder mit einem Hund") == "de"
    assert lexicon.language_of("Children with a dog") == "en"
    assert lexicon.language_of("Blumen und Kinder") == "de"  # no function word English has
    assert lexicon.language_of("Blumen") == "de"  # one word German knows and English does not
    assert lexicon.language_of("Dog") == "en" and lexicon.language_of("Rembrandt") == "en"
    assert lexicon.language_of("Rembrandt mit der Schule") == "de"
    assert lexicon.language_of("Children in die Schule") == "en"  # "in" and "die" are English too


def test_translation_keeps_unknown_words_and_drops_function_words() -> None:
    lexicon = Lexicon.learn(PARALLEL)
    translated = lexicon.to_english("Die Kinder des Rembrandt mit einem Hunde")
    assert translated.language == "de"
    assert translated.text == "children rembrandt dog"  # "Hunde": an inflected form of a known word
    assert lexicon.to_english("Blumenstillleben", "de").text == "flowers still life"  # a compound of known words
    assert lexicon.to_english("Children with a dog").text == "Children with a dog"  # English as written


ICONCLASS_GRAPH = "https://w3id.org/kgart/graph/iconclass"


def write_parallel_labels(store: Store) -> None:
    lines = [f"<http://iconclass.org/{c}> a skos:Concept ; skos:prefLabel {text!r}@{lang} ."
             for c, lang, text in PARALLEL]
    store.update(f"INSERT DATA {{ GRAPH <{ICONCLASS_GRAPH}> {{ {' '.join(lines)} }} }}")


def test_the_lexicon_is_kept_beside_the_store_and_learned_again_when_iconclass_changes(tmp_path: Path) -> None:
    with Store(tmp_path / "store") as store:
        write_parallel_labels(store)
        assert Lexicon.for_store(store).words["de"]["kinder"] == "children"
        saved = list((tmp_path / "store").rglob(LEXICON_FILE))
        assert len(saved) == 1
        saved[0].write_text(saved[0].read_text().replace('"children"', '"infants"'))
        assert Lexicon.for_store(store).words["de"]["kinder"] == "infants"  # read, not learned again
        store.update(f"INSERT DATA {{ GRAPH <{ICONCLASS_GRAPH}> {{ <http://iconclass.org/c9> a skos:Concept ; "
                     "skos:prefLabel 'Kinder'@de, 'children'@en . } }")
        assert Lexicon.for_store(store).words["de"]["kinder"] == "children"  # the graph changed


class RecordingEncoder:
    model_id = "recording"
    modalities = ("text",)

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode_texts(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        self.seen.extend(texts)
        return np.ones((len(texts), 3), dtype=np.float32)


@pytest.mark.parametrize("translate", [True, False])
def test_the_encoder_gets_a_foreign_query_in_english(translate: bool) -> None:
    encoder = RecordingEncoder()
    config = BlendConfig.load()
    if not translate:
        config = BlendConfig(config.weights, translate_queries=False)
    retriever = Retriever(Store(), encoder, lambda kind: None, config=config,  # type: ignore[arg-type]
                          lexicon=lambda: Lexicon.learn(PARALLEL))
    retriever.query_vector(Query(title="Kinder mit einem Hund"))
    retriever.query_vector(Query(title="Children with a dog"))
    expected = "children dog" if translate else "Kinder mit einem Hund"
    assert encoder.seen == [expected, "Children with a dog"]


def test_a_server_worker_has_the_lexicon_learned_in_a_process_of_its_own(tmp_path: Path) -> None:
    from kgart.query_translation import learn_beside

    with Store(tmp_path / "store") as store:
        write_parallel_labels(store)
        location = store.index_location
    assert location is not None and not (location / LEXICON_FILE).exists()
    learn_beside(tmp_path / "store")
    assert (location / LEXICON_FILE).exists()
    with Store(tmp_path / "store", read_only=True) as reader:
        assert Lexicon.for_store(reader).words["de"]["hund"] == "dog"
