"""Bilingual dictionaries for the query lexicon: FreeDict's, in the dictd format.

Iconclass's parallel labels teach the lexicon the words Iconclass uses, but not the everyday
words titles are written in: Iconclass has no Dutch text for "reuk" (smell) or "luier"
(nappy). A general dictionary has them. FreeDict's dictionaries are free (GPL), packaged by
Debian and Ubuntu (``apt install dict-freedict-nld-eng dict-freedict-deu-eng``: files in
``/usr/share/dictd``) and downloadable from https://freedict.org/downloads/ ("dictd" format).

A dictd dictionary is two files: an index (``headword<TAB>offset<TAB>length``, the numbers in
base 64) and the entries (``.dict``, or ``.dict.dz``: dictzip, which gzip reads). FreeDict
writes each entry as its headword line, then lines of translations (``smell <n>, odour <n>
[Br.]``, or numbered senses ``1. smell``), examples in quotes, and ``Synonyms:``/``see:``/``Note:``
lines; the translations are what the lexicon needs, in the dictionary's order (its main sense
first).
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from kgart.errors import DataSourceError
from kgart.keyword_index import fold

# FreeDict names its dictionaries by ISO 639-3 codes; the lexicon by the two-letter ones of RDF.
FREEDICT_LANGUAGES = {"nld": "nl", "deu": "de", "fra": "fr", "ita": "it", "spa": "es", "por": "pt"}
SYSTEM_FOLDER = Path("/usr/share/dictd")  # where Debian's dict-freedict-* packages put them
USER_FOLDER = Path(platformdirs.user_data_dir("kgart")) / "dictionaries"
_NAME = re.compile(r"^freedict-([a-z]{3})-eng\.index$")
_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_VALUE = {c: i for i, c in enumerate(_DIGITS)}
_NOT_TRANSLATIONS = re.compile(r"^(\"|(synonyms?|antonyms?|see|note)\s*:)", re.IGNORECASE)
_BRACKETED = re.compile(r"<[^>]*>|\[[^\]]*\]|\([^)]*\)|\{[^}]*\}")
_SENSE_NUMBER = re.compile(r"^\d+\.\s*")
_FILLERS = frozenset({"sth", "sb", "sth.", "sb.", "so.", "etw", "jdn"})
MAX_WORDS = 4  # a longer translation is a paraphrase, not a word for the encoder


@dataclass(frozen=True)
class Dictionary:
    """One dictd dictionary from a language into English."""

    language: str  # two-letter code of its headwords
    index: Path

    @property
    def entries_file(self) -> Path:
        stem = self.index.with_suffix("")
        for candidate in (stem.with_suffix(".dict.dz"), stem.with_suffix(".dict")):
            if candidate.exists():
                return candidate
        raise DataSourceError("no entries file beside the index (.dict.dz or .dict)", path=str(self.index))

    def stamp(self) -> str:
        """What says the files changed (for the lexicon learned from them)."""
        entries = self.entries_file.stat()
        return f"{self.index}:{self.index.stat().st_size}:{entries.st_size}:{int(entries.st_mtime)}"

    def translations(self) -> dict[str, list[str]]:
        """Folded one-word headword → its English translations (folded), the dictionary's order."""
        out: dict[str, list[str]] = {}
        for headword, entry in read_dictd(self.index, self.entries_file):
            word = fold(headword).strip()
            if not word or " " in word or headword.isupper():
                continue  # the lexicon translates word by word; "VI" and "IN" are abbreviations
            known = out.setdefault(word, [])
            known.extend(t for t in translations_in(entry) if t not in known)
        return {word: found for word, found in out.items() if found}


def read_dictd(index: Path, entries: Path) -> Iterator[tuple[str, str]]:
    """``(headword, entry text)`` for each line of a dictd index, its own entries skipped
    (``00-database-…``)."""
    opener = gzip.open if entries.suffix == ".dz" else open
    try:
        with opener(entries, "rb") as f:
            data = f.read()
        lines = index.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError, EOFError) as e:
        raise DataSourceError(f"cannot read the dictionary: {e}", path=str(index)) from e
    for number, line in enumerate(lines, 1):
        fields = line.split("\t")
        if len(fields) < 3:
            raise DataSourceError("an index line is headword, offset and length, tab-separated",
                                  path=str(index), line=number)
        headword = fields[0]
        if headword.startswith("00-database") or headword.startswith("00database"):
            continue
        try:
            offset, length = _number(fields[1]), _number(fields[2])
        except KeyError as e:
            raise DataSourceError(f"offset or length is not base 64: {fields[1]!r} {fields[2]!r}",
                                  path=str(index), line=number) from e
        if offset + length > len(data):
            raise DataSourceError(f"the entry of {headword!r} lies past the end of {entries.name}",
                                  path=str(index), line=number)
        yield headword, data[offset:offset + length].decode("utf-8", errors="replace")


def _number(text: str) -> int:
    value = 0
    for c in text:
        value = value * 64 + _VALUE[c]
    return value


def translations_in(entry: str) -> list[str]:
    """The English translations of one FreeDict entry, folded, in order; its headword line,
    examples, synonyms and notes left out.

    >>> translations_in('Geruch /g/ <masc, n, sg>\\nsmell <n>, odour <n> [Br.]\\n   "Geruch von Regen" - the smell\\n'
    ...                 '   Synonym: {Odor}\\n')
    ['smell', 'odour']
    >>> translations_in('reuk /rok/\\n1. smell\\n2. odor, odour, scent\\n')
    ['smell', 'odor', 'odour', 'scent']
    """
    found: list[str] = []
    for line in entry.splitlines()[1:]:
        line = line.strip()
        if not line or _NOT_TRANSLATIONS.match(line):
            continue
        line = _SENSE_NUMBER.sub("", _BRACKETED.sub(" ", line))
        for part in re.split(r"[,;]", line):
            words = [w for w in fold(part).split() if w not in _FILLERS]
            if words and words[0] == "to" and len(words) > 1:
                words = words[1:]  # "to smell": the verb
            text = " ".join(words).strip(" .!?-")
            if text and len(words) <= MAX_WORDS and text not in found:
                found.append(text)
    return found


def find_dictionaries(setting: str | None) -> list[Dictionary]:
    """The dictionaries the ``dictionaries`` setting names: index files or folders of them,
    comma-separated; ``none`` for none; unset: FreeDict's into English in ``/usr/share/dictd``
    and in ``dictionaries/`` of the user data folder."""
    if setting is not None and setting.strip().lower() == "none":
        return []
    if setting is None or not setting.strip():
        places: Iterable[Path] = (SYSTEM_FOLDER, USER_FOLDER)
        return [d for place in places if place.is_dir() for d in _in_folder(place)]
    found: list[Dictionary] = []
    for part in (p.strip() for p in setting.split(",")):
        if not part:
            continue
        path = Path(part).expanduser()
        if path.is_dir():
            found.extend(_in_folder(path))
        elif path.is_file():
            found.append(_dictionary(path))
        else:
            raise DataSourceError("no such dictionary index or folder", path=part)
    return found


def _in_folder(folder: Path) -> list[Dictionary]:
    found = []
    for index in sorted(folder.glob("freedict-*-eng.index")):
        match = _NAME.match(index.name)
        if match is not None and match.group(1) in FREEDICT_LANGUAGES:
            found.append(Dictionary(FREEDICT_LANGUAGES[match.group(1)], index))
    return found


def _dictionary(index: Path) -> Dictionary:
    match = _NAME.match(index.name)
    if match is None or match.group(1) not in FREEDICT_LANGUAGES:
        known = ", ".join(f"freedict-{code}-eng.index" for code in FREEDICT_LANGUAGES)
        raise DataSourceError(f"not a FreeDict dictionary into English the lexicon knows ({known})", path=str(index))
    return Dictionary(FREEDICT_LANGUAGES[match.group(1)], index)


__all__ = ["FREEDICT_LANGUAGES", "Dictionary", "find_dictionaries", "read_dictd", "translations_in"]
