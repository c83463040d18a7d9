"""Queries in other languages, put into English word by word with a lexicon learned from Iconclass.

The default encoder is an English model: a Dutch or German title gets a vector that says
little ("Allegorie van de Reuk" is far from "smell"), although Iconclass's own labels and
keywords say the same things in up to 13 languages, concept by concept. Those parallel texts
are the training data: a word of another language is translated by the English word whose
concepts it shares most (Dice's coefficient over the concepts whose labels or keywords hold
each word: "reuk" → "smell", "Könige" → "kings"). A query is put into English when its words
are clearly of another language (its function words and vocabulary, against English's); the
words the lexicon does not know (names, dates) are kept as they are, and function words go.

Iconclass's labels say little of the everyday words titles are written in (it has no Dutch text
for "reuk", smell, or "luier", nappy): a bilingual dictionary, where one is installed (see
:mod:`kgart.bilingual_dictionaries`), gives those. Of a word's translations the lexicon takes
the one its Iconclass pairs agree with, else the one Iconclass's English labels use most (the
domain's sense: "leven" is "life", not the dictionary's first "ado"). A dictionary's words also
tell a query's language, and its English translations keep a lone English word English
("Sketches", which the dictionaries give as a translation, stays English).

The lexicon is a derived cache like the keyword index: learned from the store's Iconclass
graph and the dictionaries, kept beside the store, learned again when either changes.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kgart.bilingual_dictionaries import Dictionary
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
LANGUAGE_NAMES = {"en": "English", "nl": "Dutch", "de": "German", "fr": "French", "it": "Italian", "es": "Spanish",
                  "pt": "Portuguese"}
MIN_DICE = 0.2  # weaker associations are chance co-occurrences ("een" and "crossing")
MIN_SHARED = 2  # concepts a word and its translation must share
MIN_WORD = 3  # shorter words are too ambiguous to learn from
PAIR_PREFERENCE = 0.05  # how near a tie a pair of English words wins over one of its words
LEXICON_FILE = "lexicon-v2.json"


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
    """Words of other languages → their English word (or words), the words of English labels, and
    the English words of the dictionaries' translations (``dictionary_english``)."""

    def __init__(self, words: dict[str, dict[str, str]], english: frozenset[str],
                 dictionary_english: frozenset[str] = frozenset()) -> None:
        self.words = words
        self.english = english
        self.dictionary_english = dictionary_english

    @classmethod
    def learn(cls, texts: Iterable[tuple[str, str, str]],
              dictionaries: Mapping[str, Mapping[str, Sequence[str]]] | None = None) -> Lexicon:
        """From ``(concept, language, text)``: labels and keywords of the same concepts in English
        and other languages; and ``dictionaries``: per language, a word's English translations
        in a dictionary's order."""
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
        is_pair = [" " in w for w in english_words]
        alphabetical = np.argsort(np.argsort(np.array(english_words, dtype=object)))
        translations: dict[str, dict[str, str]] = {}
        for language, by_concept in sorted(words_by_language.items()):
            if language == ENGLISH or language not in FUNCTION_WORDS:
                continue  # only languages whose function words are known here (none of another script)
            own_words, own_matrix = incidence(by_concept)
            together = (own_matrix @ english_matrix.T).tocsr()  # concepts each pair of words shares
            shared = together.tocoo()
            own_counts = np.asarray(own_matrix.sum(axis=1)).ravel()
            dice = 2 * shared.data / (own_counts[shared.row] + english_counts[shared.col])
            keep = (shared.data >= MIN_SHARED) & (dice >= MIN_DICE)
            single: dict[int, tuple[float, int]] = {}
            pair: dict[int, tuple[float, int]] = {}
            # Best first: the higher Dice, then more concepts shared, then the English word first in
            # alphabetical order, so that a tie does not go by the order a set happened to list words.
            rows, columns, values = shared.row[keep], shared.col[keep], dice[keep]
            order = np.lexsort((alphabetical[columns], -shared.data[keep], -values))
            for row, column, value in zip(rows[order], columns[order], values[order], strict=True):
                best_of_kind = pair if is_pair[column] else single
                if row not in best_of_kind:
                    best_of_kind[row] = (float(value), int(column))
            best = dict(single)
            for row, (value, column) in pair.items():
                # A pair of English words wins a near tie with one of its words ("stilleven": "still
                # life", not "still"): it says more. Over another word it needs the higher Dice.
                word_value, word_column = single.get(row, (0.0, -1))
                own_word = word_column >= 0 and english_words[word_column] in english_words[column].split()
                if value + (PAIR_PREFERENCE if own_word else 0.0) > word_value:
                    best[row] = (value, column)
            # A name or loan word spelled as in English is itself when tied to its English twin at least
            # half as strongly as to its best translation, which may be a pair of the names beside it in
            # the same stories. ("Frau" is in English labels too, but is "woman", far more strongly.)
            twin_index = {word: j for j, word in enumerate(english_words)}
            twins = [(row, twin_index[word]) for row, word in enumerate(own_words) if word in twin_index]
            if twins:
                rows, columns = (list(x) for x in zip(*twins, strict=True))
                counts = np.asarray(together[rows, columns]).ravel()
                for row, column, count in zip(rows, columns, counts, strict=True):
                    twin_dice = 2 * count / (own_counts[row] + english_counts[column])
                    if count >= MIN_SHARED and twin_dice >= best.get(row, (0.0, -1))[0] / 2:
                        best[row] = (float(twin_dice), column)
            translations[language] = {own_words[row]: english_words[column] for row, (_, column) in best.items()}
        dictionary_english: set[str] = set()
        usage = dict(zip(english_words, english_counts.tolist(), strict=True))
        for language, dictionary in (dictionaries or {}).items():
            if language not in FUNCTION_WORDS or language == ENGLISH:
                continue
            own = translations.setdefault(language, {})
            for word, candidates in dictionary.items():
                if len(word) < MIN_WORD:
                    continue  # too ambiguous ("in" is English's "in", the dictionary's first "India")
                choice = _choose(candidates, own.get(word), usage)
                if choice is not None:
                    own[word] = choice
                for candidate in candidates:
                    dictionary_english.update(words_of(candidate))
        return cls(translations, frozenset(w for w in english_words if " " not in w), frozenset(dictionary_english))

    @classmethod
    def for_store(cls, store: TripleStore, dictionaries: Sequence[Dictionary] = ()) -> Lexicon:
        """The store's lexicon, learned again when its Iconclass graph or the dictionaries changed
        since it was learned (one process learns it at a time; the others wait for its file)."""
        graph = graph_iri("iconclass")
        stamp = " ".join([f"{graph}={store.count(graph)}", *(d.stamp() for d in dictionaries)])
        if store.index_location is None:
            return cls._learn_from(store, dictionaries)
        path = store.index_location / LEXICON_FILE
        kept = cls._read(path, stamp)
        if kept is not None:
            return kept
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_suffix(".lock"), "w", encoding="ascii") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            kept = cls._read(path, stamp)  # learned by another process meanwhile
            if kept is None:
                kept = cls._learn_from(store, dictionaries)
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
        return cls(data["words"], frozenset(data["english"]), frozenset(data["dictionary_english"]))

    @classmethod
    def _learn_from(cls, store: TripleStore, dictionaries: Sequence[Dictionary] = ()) -> Lexicon:
        languages = [Literal(lang) for lang in sorted(FUNCTION_WORDS)]
        rows = store.select("""SELECT ?c ?l WHERE { GRAPH $graph {
            ?c a skos:Concept ; skos:prefLabel|skos:altLabel ?l BIND(lang(?l) AS ?language) }
            VALUES ?language { $languages } }""", {"graph": graph_iri("iconclass"), "languages": languages}).rows
        labels = ((str(r["c"]), r.literal("l")) for r in rows)
        translations: dict[str, dict[str, list[str]]] = {}
        for dictionary in dictionaries:
            merged = translations.setdefault(dictionary.language, {})
            for word, found in dictionary.translations().items():
                merged.setdefault(word, []).extend(t for t in found if t not in merged.get(word, ()))
        return cls.learn(((concept, label.language or "", label.value) for concept, label in labels), translations)

    def save(self, path: Path, stamp: str) -> None:
        """Write it beside the store: readers (other server workers) see the old file or the whole new one."""
        import tempfile

        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, prefix=path.name,
                                         suffix=".partial", delete=False) as partial:
            json.dump({"stamp": stamp, "words": self.words, "english": sorted(self.english),
                       "dictionary_english": sorted(self.dictionary_english)}, partial)
        Path(partial.name).chmod(0o644)  # readable like the other indexes (a temporary file is private)
        Path(partial.name).replace(path)

    def language_of(self, text: str) -> str:
        """The language a text is most clearly in: English unless another has more of its words
        (function words count twice, words the lexicon translates, or compounds of them, once;
        words English has too not at all), and at least two of them; or a text of one word that
        one other language knows, as it is or as a compound, and English does not ("Walfang",
        "Walvisvangst", but not "Sketches", which a dictionary's translations have)."""
        words = words_of(text)

        english_function = FUNCTION_WORDS[ENGLISH]

        def evidence(language: str) -> int:
            # A word English has too ("in", "Philip", an untranslated label's "morning") says nothing.
            function, known = FUNCTION_WORDS[language], self.words[language]
            return sum(2 if w in function and w not in english_function else
                       1 if w not in self.english and (w in known or self._compound(w, known)) else 0
                       for w in words)

        english = sum(2 if w in english_function else 1 if w in self.english else 0 for w in words)
        scores = {language: evidence(language) for language in self.words if language in FUNCTION_WORDS}
        best, score = max(scores.items(), key=lambda item: item[1], default=(ENGLISH, 0))
        if score <= english:
            return ENGLISH
        if score >= 2:
            return best
        # One word: one the lexicon has, or a compound of two it has ("Walvisvangst"); not a mere
        # inflected form, as an English name can look ("Leeds": "leed" + "s").
        alone = list(scores.values()).count(score) == 1
        word, known = words[0], self.words[best]
        one_foreign_word = (len(words) == 1 and english == 0 and word not in self.dictionary_english
                            and (word in known or self._parts(word, known) is not None))
        return best if alone and one_foreign_word else ENGLISH

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
        parts = Lexicon._parts(word, known)
        return f"{known[parts[0]]} {known[parts[1]]}" if parts else None

    @staticmethod
    def _parts(word: str, known: dict[str, str]) -> tuple[str, str] | None:
        """The two known words a compound is made of ("walvis" + "vangst"), the longest head first."""
        for cut in range(len(word) - MIN_WORD, MIN_WORD, -1):
            head, tail = word[:cut], word[cut:]
            if head.endswith("s") and head[:-1] in known:
                head = head[:-1]
            if head in known and tail in known:
                return head, tail
        return None


def _choose(candidates: Sequence[str], learned: str | None, usage: Mapping[str, float]) -> str | None:
    """Of a word's dictionary translations: a function word when that is its first sense ("vor":
    "before"); the one Iconclass's pairs learned, if it is among them; else the one whose words
    Iconclass's English labels use most (the rarest of its words counts); the dictionary's order
    breaks ties.

    >>> _choose(["ado", "noise", "life"], None, {"life": 120.0, "noise": 3.0})
    'life'
    >>> _choose(["adoration"], "veneration", {"adoration": 40.0, "veneration": 5.0})
    'adoration'
    """
    if candidates and all(w in FUNCTION_WORDS[ENGLISH] for w in words_of(candidates[0])):
        return candidates[0]
    if learned is not None and learned in candidates:
        return learned
    best, best_use = None, -1.0
    for candidate in candidates:
        words = [w for w in words_of(candidate) if w not in FUNCTION_WORDS[ENGLISH]]
        if not words:
            continue
        use = min(usage.get(w, 0.0) for w in words)
        if use > best_use:
            best, best_use = candidate, use
    return best


def learn_beside(location: Path, dictionaries: Sequence[Dictionary] = ()) -> None:
    """Make sure the on-disk store at ``location`` has its lexicon file, learning it in a process
    of its own: a server worker that learned it itself would keep the memory that reading a
    million labels took (glibc's arenas, the storage's cache) for as long as it lives."""
    import multiprocessing

    child = multiprocessing.get_context("spawn").Process(target=_learn_for, args=(str(location), list(dictionaries)),
                                                         daemon=True)
    child.start()
    child.join()


def _learn_for(location: str, dictionaries: list[Dictionary]) -> None:
    from kgart.store import Store

    with Store(location, read_only=True) as store:
        Lexicon.for_store(store, dictionaries)


__all__ = ["LANGUAGE_NAMES", "LEXICON_FILE", "Lexicon", "Translation", "learn_beside", "words_of"]
