"""A small slice of Iconclass written in the real iconclass/data file formats.

Tests build stores from it; nothing here is read from outside the repository.
"""

from __future__ import annotations

from pathlib import Path

NOTATIONS = """\
N 1
C 11
$
N 11
K 11k
C 11A
; 11H
$
N 11A
K 11k
$
N 11H
K 11k
C 11H(...)
; 11HH
$
N 11H(...)
K 11k
C 11H(...)3
; 11H(JEROME)
$
N 11H(...)3
K 11k
C 11H(...)36
$
N 11H(...)36
K 11k
$
N 11H(JEROME)
K 11k
C 11H(JEROME)3
$
N 11H(JEROME)3
K 11k
C 11H(JEROME)36
$
N 11H(JEROME)36
K 11k
C 11H(JEROME)362
$
N 11H(JEROME)362
K 11k
$
N 11HH
K 11k
$
N 3
C 31
$
N 31
K 31k
C 31D
$
N 31D
K 31k
C 31D1
$
N 31D1
K 31k
C 31D11
$
N 31D11
K 31k
C 31D111
$
N 31D111
K 31k
$
N 7
C 73
$
N 73
K 7k
C 73D
$
N 73D
K 7k
C 73D8
R 11H(JEROME)
$
N 73D8
K 7k
C 73D82
$
N 73D82
K 7k
C 73D82(...)
$
N 73D82(...)
K 7k
C 73D82(CROWN OF THORNS)
$
N 73D82(CROWN OF THORNS)
K 7k
$
"""

KEYS = """\
K 11k
S 0
; 1
; 11
$
K 31k
S 8
; 89
; 7q15
$
"""

TEXTS = {
    "en": {
        "1": "Religion and Magic", "11": "Christian religion",
        "11A": "Deity, God (in general) ~ Christian religion", "11H": "saints",
        "11H(...)": "male saints (with NAME)", "11H(...)3": "male saints (with NAME) - devotion",
        "11H(...)36": "male saints (with NAME) - penitence",
        "11H(JEROME)": "the monk and hermit Jerome (Hieronymus)",
        "11H(JEROME)3": "personal devotion of St. Jerome",
        "11H(JEROME)36": "St. Jerome as penitent in the wilderness",
        "11H(JEROME)362": "St. Jerome as penitent in his study",
        "11HH": "female saints", "3": "Human Being, Man in general", "31": "man in a general sense",
        "31D": "the ages of man", "31D1": "child", "31D11": "infant",
        "31D111": "infant, baby ~ the ages of man", "7": "Bible", "73": "New Testament",
        "73D": "Passion of Christ", "73D8": "symbols of the Passion",
        "73D82": "single instruments of the Passion", "73D82(...)":
        "single instruments of the Passion (with NAME)",
        "73D82(CROWN OF THORNS)": "crown of thorns ~ instruments of the Passion",
        "11k0": "variant", "11k1": "Holy Trinity", "11k11": "God the Father",
        "31k8": "sex and age (of human being)", "31k89": "nude human being",
    },
    "de": {
        "1": "Religion und Magie", "11": "christliche Religion", "11H": "Heilige",
        "11H(...)": "männliche Heilige (mit NAMEN)",
        "11H(...)3": "männliche Heilige (mit NAMEN) - Frömmigkeit",
        "11H(JEROME)362": "der hl. Hieronymus als Büßer in seinem Studierzimmer",
        "31D111": "die Lebensalter des Menschen: Säugling, Baby", "31k89": "nackter Mensch",
    },
    "nl": {"1": "Religie en magie", "11": "Christelijke religie",
           "11A": "Goddelijkheid, God (algemeen)"},
}
UNTRANSLATED = {"nl": {"11H": "saints", "11H(JEROME)362": "St. Jerome as penitent in his study"}}
KEYWORDS = {"en": {"11H(JEROME)": ["Jerome", "hermit"], "73D82(CROWN OF THORNS)": ["crown of thorns"],
                   "11k1": ["Trinity"]}}


def write_iconclass_slice(root: Path) -> Path:
    """Write the slice as an iconclass/data checkout under ``root`` and return it."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "notations.txt").write_text(NOTATIONS, encoding="utf-8")
    (root / "keys.txt").write_text(KEYS, encoding="utf-8")
    for lang, texts in TEXTS.items():
        folder = root / "txt" / lang
        folder.mkdir(parents=True, exist_ok=True)
        lines = [f"{n}|{t}" for n, t in texts.items() if "k" not in n]
        lines += [f"#{n}|{t}" for n, t in UNTRANSLATED.get(lang, {}).items()]
        (folder / f"txt_{lang}_0_1.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        keys = [f"{n}|{t}" for n, t in texts.items() if "k" in n]
        (folder / f"txt_{lang}_keys.txt").write_text("\n".join(keys) + "\n", encoding="utf-8")
    for lang, words in KEYWORDS.items():
        folder = root / "kw" / lang
        folder.mkdir(parents=True, exist_ok=True)
        lines = [f"{n}|{w}" for n, ws in words.items() for w in ws]
        (folder / f"kw_{lang}_0_1.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


CONCEPTS = NOTATIONS.count("\nN ") + 1
