"""Queries in other languages, put into English word by word with a lexicon learned from Iconclass.

The default encoder is an English model: a Dutch or German title gets a vector that says
little ("Allegorie van de Reuk" is far from "smell"), although Iconclass's own labels and
keywords say the same things in up to 13 languages, concept by concept. Those parallel texts
are the training data: a word of another language is translated by the English word whose
concepts it shares most (Dice's coefficient over the concepts whose labels or keywords hold
each word: "reuk" → "smell", "Könige" → "kings"). A query is put into English when its words
are clearly of another language (its function words and vocabulary, against English's); the
words the lexicon does not know (names, dates) are kept as they are, and function words go.

The lexicon is a derived cache like the keyword index: learned from the store's Iconclass
graph, kept beside the store, learned again when that graph changes.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kgart.keyword_index import fold
from kgart.rdf import Literal, graph_iri
from kgart.triplestore import TripleStore

_WORD = re.compile(r"\w+", re.UNICODE)
ENGLISH = "en"
# Words that carry the language rather than the subject: they tell the language apart, and are
# dropped from a translation (folded: lower case, no diacritics).
FUNCTION_WORDS: dict[str, frozenset[str]] = {lang: frozenset(words.split()) for lang, words in {
    "en": "a an and are as at by for from in into is its of on or the their to with without his her "
          "who which that this these those after before under over no not",
    "nl": "de het een en van in op met voor aan bij te die dat zijn haar hun door naar uit over "
          "onder tussen als na zonder tot der des",
    "de": "der die das den dem des ein eine einer einem einen eines und mit von vom zum zur im zu auf "
          "fur bei aus nach uber unter sein seine seiner ihr ihre ohne als am",
    "fr": "le la les un une des du de et en au aux avec pour sur dans par sans sa son ses leur",
    "it": "il lo la gli le un una uno di da del della dei delle con per su nel nella e ed al alla",
    "es": "el la los las un una de del y con por para en al sin su sus",
    "pt": "o a os as um uma de do da dos das e com por para em no na sem seu sua",
}.items()}
MIN_DICE = 0.2  # weaker associations are chance co-occurrences ("een" and "crossing")
MIN_SHARED = 2  # concepts a word and its translation must share
MIN_WORD = 3  # shorter words are too ambiguous to learn from
PAIR_PREFERENCE = 0.05  # how near a tie a pair of English words wins over one of its words
LEXICON_FILE = "lexicon-v1.json"


def words_of(text: str) -> list[str]:
    """Folded words of a text, in order.

    >>> words_of("Anbetung der Könige")
    ['anbetung', 'der', 'konige']
    """
    return _WORD.findall(fold(text))


@dataclass(frozen=True)
class Translation:
    language: str  # the query's language as recognised (``en``: left as it was)
    text: str  # what the encoder gets


class Lexicon:
    """Words of other languages → their English word (or two), and the words of English labels."""

    def __init__(self, words: dict[str, dict[str, str]], english: frozenset[str]) -> None:
        self.words = words
        self.english = english

    @classmethod
    def learn(cls, texts: Iterable[tuple[str, str, str]]) -> Lexicon:
        """From ``(concept, language, text)``: labels and keywords of the same concepts in English
        and other languages."""
        from scipy import sparse

        words_by_language: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        for concept, language, text in texts:
            function = FUNCTION_WORDS.get(language, frozenset())
            words = [w for w in words_of(text) if len(w) >= MIN_WORD and not w.isdigit() and w not in function]
            words_by_language[language][concept].update(words)
            if language == ENGLISH:  # "stilleven" is "still life": English pairs are candidates too
                words_by_language[language][concept].update(f"{a} {b}" for a, b in itertools.pairwise(words))
        english = words_by_language.get(ENGLISH, {})
        concepts = sorted(english)

        def incidence(by_concept: dict[str, set[str]]) -> tuple[list[str], sparse.csr_matrix]:
            vocabulary: dict[str, int] = {}
            rows, columns = [], []
            for j, concept in enumerate(concepts):
                for word in by_concept.get(concept, ()):
                    rows.append(vocabulary.setdefault(word, len(vocabulary)))
                    columns.append(j)
            matrix = sparse.csr_matrix((np.ones(len(rows), np.float32), (rows, columns)),
                                       shape=(len(vocabulary), len(concepts)))
            return sorted(vocabulary, key=vocabulary.__getitem__), matrix

        english_words, english_matrix = incidence(english)
        english_counts = np.asarray(english_matrix.sum(axis=1)).ravel()
        is_pair = np.array([" " in w for w in english_words], dtype=np.float32)
        translations: dict[str, dict[str, str]] = {}
        for language, by_concept in sorted(words_by_language.items()):
            if language == ENGLISH or language not in FUNCTION_WORDS:
                continue  # only languages whose function words are known here (none of another script)
            own_words, own_matrix = incidence(by_concept)
            shared = (own_matrix @ english_matrix.T).tocoo()
            own_counts = np.asarray(own_matrix.sum(axis=1)).ravel()
            dice = 2 * shared.data / (own_counts[shared.row] + english_counts[shared.col])
            keep = (shared.data >= MIN_SHARED) & (dice >= MIN_DICE)
            # A pair of English words wins a near tie with one of its words ("stilleven": "still life",
            # not "still"): it says more.
            preference = dice + PAIR_PREFERENCE * is_pair[shared.col]
            best: dict[int, tuple[float, int]] = {}
            for row, column, value in zip(shared.row[keep], shared.col[keep], preference[keep], strict=True):
                if value > best.get(row, (0.0, -1))[0]:
                    best[row] = (float(value), int(column))
            translations[language] = {own_words[row]: english_words[column] for row, (_, column) in best.items()}
        return cls(translations, frozenset(w for w in english_words if " " not in w))

    @classmethod
    def for_store(cls, store: TripleStore) -> Lexicon:
        """The store's lexicon, learned again when its Iconclass graph changed since it was learned
        (one process learns it at a time; the others wait for its file)."""
        graph = graph_iri("iconclass")
        stamp = f"{graph}={store.count(graph)}"
        if store.index_location is None:
            return cls._learn_from(store)
        path = store.index_location / LEXICON_FILE
        kept = cls._read(path, stamp)
        if kept is not None:
            return kept
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_suffix(".lock"), "w", encoding="ascii") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            kept = cls._read(path, stamp)  # learned by another process meanwhile
            if kept is None:
                kept = cls._learn_from(store)
                kept.save(path, stamp)
        return kept

    @classmethod
    def _read(cls, path: Path, stamp: str) -> Lexicon | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # none yet, or unreadable: learn it again
        if not isinstance(data, dict) or data.get("stamp") != stamp:
            return None
        return cls(data["words"], frozenset(data["english"]))

    @classmethod
    def _learn_from(cls, store: TripleStore) -> Lexicon:
        languages = [Literal(lang) for lang in sorted(FUNCTION_WORDS)]
        rows = store.select("""SELECT ?c ?l WHERE { GRAPH $graph {
            ?c a skos:Concept ; skos:prefLabel|skos:altLabel ?l BIND(lang(?l) AS ?language) }
            VALUES ?language { $languages } }""", {"graph": graph_iri("iconclass"), "languages": languages}).rows
        labels = ((str(r["c"]), r.literal("l")) for r in rows)
        return cls.learn((concept, label.language or "", label.value) for concept, label in labels)

    def save(self, path: Path, stamp: str) -> None:
        """Write it beside the store: readers (other server workers) see the old file or the whole new one."""
        import tempfile

        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, prefix=path.name,
                                         suffix=".partial", delete=False) as partial:
            json.dump({"stamp": stamp, "words": self.words, "english": sorted(self.english)}, partial)
        Path(partial.name).chmod(0o644)  # readable like the other indexes (a temporary file is private)
        Path(partial.name).replace(path)

    def language_of(self, text: str) -> str:
        """The language a text is most clearly in: English unless another has more of its words
        (function words count twice, words the lexicon translates once; words English has too
        not at all), and at least two of them."""
        words = words_of(text)

        english_function = FUNCTION_WORDS[ENGLISH]

        def evidence(language: str) -> int:
            # A word English has too ("in", "Philip", an untranslated label's "morning") says nothing.
            function, known = FUNCTION_WORDS[language], self.words[language]
            return sum(2 if w in function and w not in english_function else
                       1 if w in known and w not in self.english else 0 for w in words)

        english = sum(2 if w in english_function else 1 if w in self.english else 0 for w in words)
        best, score = ENGLISH, english
        for language in self.words:
            value = evidence(language)
            if value > score:
                best, score = language, value
        return best if score >= 2 else ENGLISH

    def to_english(self, text: str, language: str | None = None) -> Translation:
        """The text in English as far as the lexicon knows its words (``language``: the text's,
        recognised when not given); an English text as it is."""
        language = language or self.language_of(text)
        known = self.words.get(language)
        if language == ENGLISH or known is None:
            return Translation(ENGLISH, text)
        function = FUNCTION_WORDS[language]  # every language the lexicon knows has its list
        out = [known.get(w) or self._compound(w, known) or w for w in words_of(text) if w not in function]
        return Translation(language, " ".join(out))

    @staticmethod
    def _compound(word: str, known: dict[str, str]) -> str | None:
        """A word the lexicon lacks, as an inflected form or a compound of words it knows
        ("geruchs" → "geruch", "reukzintuig" → "reuk" + "zintuig")."""
        for end in ("s", "es", "e", "en", "n", "er", "ern", "'s"):
            if word.endswith(end) and word[: -len(end)] in known:
                return known[word[: -len(end)]]
        for cut in range(len(word) - MIN_WORD, MIN_WORD, -1):
            head, tail = word[:cut], word[cut:]
            if head.endswith("s") and head[:-1] in known:
                head = head[:-1]
            if head in known and tail in known:
                return f"{known[head]} {known[tail]}"
        return None


def learn_beside(location: Path) -> None:
    """Make sure the on-disk store at ``location`` has its lexicon file, learning it in a process
    of its own: a server worker that learned it itself would keep the memory that reading a
    million labels took (glibc's arenas, the storage's cache) for as long as it lives."""
    import multiprocessing

    child = multiprocessing.get_context("spawn").Process(target=_learn_for, args=(str(location),), daemon=True)
    child.start()
    child.join()


def _learn_for(location: str) -> None:
    from kgart.store import Store

    with Store(location, read_only=True) as store:
        Lexicon.for_store(store)


__all__ = ["LEXICON_FILE", "Lexicon", "Translation", "learn_beside", "words_of"]
