"""Bilingual dictionaries in FreeDict's dictd format, and what the query lexicon takes from them."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from kgart.bilingual_dictionaries import find_dictionaries, translations_in
from kgart.errors import DataSourceError
from kgart.query_translation import Lexicon
from kgart.store import Store
from tests.test_query_translation import PARALLEL, write_parallel_labels

_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

DUTCH = {
    "00-database-info": "This is the Dutch-English dictionary.\n",
    "reuk": "reuk /rok/\n1. smell\n2. odor, odour, scent\n",
    "leven": "leven /levən/\n1. ado, din\n2. life\n",
    "hond": "hond /hɔnt/\ndog <n>\n   \"een blaffende hond\" - a barking dog\n   Synonym: {reu}\n",
    "kinderen": "kinderen /kɪndərən/\nchildren, offspring\n",
    "VI": "VI\nVirgin Islands\n",
    "in het geheim": "in het geheim\nsecretly\n",
}


def base64(number: int) -> str:
    digits = ""
    while True:
        number, digit = divmod(number, 64)
        digits = _DIGITS[digit] + digits
        if number == 0:
            return digits


def write_dictd(folder: Path, name: str, entries: dict[str, str], *, compressed: bool = True) -> Path:
    """A dictd dictionary as dictfmt writes it: the entries one after another, an index of offsets."""
    folder.mkdir(parents=True, exist_ok=True)
    data, lines = b"", []
    for headword, text in entries.items():
        encoded = text.encode("utf-8")
        lines.append(f"{headword}\t{base64(len(data))}\t{base64(len(encoded))}")
        data += encoded
    if compressed:
        (folder / f"{name}.dict.dz").write_bytes(gzip.compress(data))
    else:
        (folder / f"{name}.dict").write_bytes(data)
    index = folder / f"{name}.index"
    index.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return index


def test_a_dictionary_gives_each_headword_its_translations_in_order(tmp_path: Path) -> None:
    write_dictd(tmp_path, "freedict-nld-eng", DUTCH)
    [dictionary] = find_dictionaries(str(tmp_path))
    assert dictionary.language == "nl"
    words = dictionary.translations()
    assert words["reuk"] == ["smell", "odor", "odour", "scent"]
    assert words["hond"] == ["dog"]  # not the example nor the synonym
    assert "vi" not in words and "in het geheim" not in words  # abbreviations; the lexicon goes word by word
    assert not any(w.startswith("00") for w in words)  # the dictionary's own entries


def test_uncompressed_entries_and_named_files_are_read_too(tmp_path: Path) -> None:
    index = write_dictd(tmp_path / "d", "freedict-deu-eng", {"Hund": "Hund\ndog <n>\n"}, compressed=False)
    [dictionary] = find_dictionaries(f" {index} , ")
    assert dictionary.language == "de" and dictionary.translations() == {"hund": ["dog"]}


def test_none_means_none_and_unset_looks_in_the_usual_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import kgart.bilingual_dictionaries as module

    monkeypatch.setattr(module, "SYSTEM_FOLDER", tmp_path / "dictd")
    monkeypatch.setattr(module, "USER_FOLDER", tmp_path / "data" / "kgart" / "dictionaries")
    write_dictd(tmp_path / "dictd", "freedict-nld-eng", DUTCH)
    write_dictd(tmp_path / "dictd", "freedict-eng-nld", {"dog": "dog\nhond\n"})  # the other way: not for queries
    write_dictd(tmp_path / "data" / "kgart" / "dictionaries", "freedict-deu-eng", {"Hund": "Hund\ndog\n"})
    assert find_dictionaries("none") == []
    assert [d.language for d in find_dictionaries(None)] == ["nl", "de"]


def test_a_bad_dictionary_is_a_clear_error_naming_the_file_and_line(tmp_path: Path) -> None:
    index = write_dictd(tmp_path, "freedict-nld-eng", DUTCH)
    index.write_text(index.read_text() + "kapot\tnot-base-64!\tA\n", encoding="utf-8")
    [dictionary] = find_dictionaries(str(index))
    with pytest.raises(DataSourceError, match=rf"{index}:8: offset or length"):
        dictionary.translations()
    with pytest.raises(DataSourceError, match="no such dictionary"):
        find_dictionaries(str(tmp_path / "missing.index"))
    other = write_dictd(tmp_path / "other", "woordenboek", DUTCH)
    with pytest.raises(DataSourceError, match="not a FreeDict dictionary into English"):
        find_dictionaries(str(other))
    (tmp_path / "freedict-nld-eng.dict.dz").unlink()
    with pytest.raises(DataSourceError, match="no entries file"):
        dictionary.translations()


def test_entries_in_both_of_freedicts_layouts() -> None:
    german = ('Nelke /nˈɛlkə/ <fem, n, sg>\n [bot.] pink <n>, carnation <n>\n see: {Nelken}\n\n'
              '         Note: Blume\n')
    assert translations_in(german) == ["pink", "carnation"]
    assert translations_in("riechen\nto smell sth.\n") == ["smell"]


def test_the_lexicon_takes_what_iconclass_lacks_from_the_dictionary(tmp_path: Path) -> None:
    # Iconclass's labels (PARALLEL) say nothing of "reuk"; "leven" is "life", the sense Iconclass's
    # English uses, not the dictionary's first ("ado"); "kinderen" is "children", which both say.
    english = [*PARALLEL, ("c9", "en", "the life of Christ"), ("c10", "en", "still life")]
    dictionary = {"reuk": ["smell", "odour"], "leven": ["ado", "din", "life"], "kinderen": ["offspring", "children"]}
    lexicon = Lexicon.learn(english, {"nl": dictionary})
    assert lexicon.to_english("Allegorie van de reuk", "nl").text == "allegorie smell"
    assert lexicon.to_english("het leven van de kinderen", "nl").text == "life children"
    assert "offspring" in lexicon.dictionary_english and "offspring" not in lexicon.english


def test_a_single_word_is_taken_for_the_language_that_knows_it_unless_english_does(tmp_path: Path) -> None:
    dutch = {"walvisvangst": ["whaling"], "walvis": ["whale"], "vloot": ["fleet"], "schets": ["sketch", "sketches"]}
    lexicon = Lexicon.learn(PARALLEL, {"nl": dutch})
    assert lexicon.language_of("Walvisvangst") == "nl" and lexicon.language_of("Walvisvloot") == "nl"
    assert lexicon.language_of("Sketches") == "en"  # a dictionary's translation: English too
    assert lexicon.language_of("Walvissen") == "en"  # known only as a form of "walvis": too little to go on
    assert lexicon.to_english("Walvisvangst").text == "whaling"


def test_the_stored_lexicon_is_learned_again_when_a_dictionary_changes(tmp_path: Path) -> None:
    index = write_dictd(tmp_path / "dictd", "freedict-nld-eng", DUTCH)
    with Store(tmp_path / "store") as store:
        write_parallel_labels(store)
        dictionaries = find_dictionaries(str(index))
        assert Lexicon.for_store(store, dictionaries).words["nl"]["reuk"] == "smell"
        assert "reuk" not in Lexicon.for_store(store).words.get("nl", {})  # without: learned again
        write_dictd(tmp_path / "dictd", "freedict-nld-eng", {**DUTCH, "reuk": "reuk\nscent\n"})
        assert Lexicon.for_store(store, find_dictionaries(str(index))).words["nl"]["reuk"] == "scent"


FREEDICT = Path("/usr/share/dictd")


@pytest.mark.slow
def test_freedicts_own_dutch_and_german_dictionaries_when_installed() -> None:
    """`make test` installs Debian's dict-freedict-*-eng; elsewhere this is skipped."""
    if not (FREEDICT / "freedict-nld-eng.index").exists() or not (FREEDICT / "freedict-deu-eng.index").exists():
        pytest.skip("FreeDict's dictionaries are not installed in /usr/share/dictd (make dictionaries)")
    found = {d.language: d for d in find_dictionaries(str(FREEDICT))}
    dutch, german = found["nl"].translations(), found["de"].translations()
    assert dutch["reuk"][0] == "smell" and "skull" in dutch["schedel"]
    assert german["walfang"][0] == "whaling" and "nappy" in german["windel"]
    assert len(german) > 200_000 and len(dutch) > 15_000
    lexicon = Lexicon.learn([*PARALLEL, ("c9", "en", "the life of Christ"), ("c10", "en", "whaling")],
                            {"nl": dutch, "de": german})
    assert lexicon.to_english("Allegorie van de reuk", "nl").text == "allegory smell"
    assert lexicon.to_english("Walfang vor der Küste", "de").text.startswith("whaling")
