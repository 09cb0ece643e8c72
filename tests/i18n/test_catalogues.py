"""Every sentence the code says to members is translated in every catalogue, with the same
placeholders (a translation that drops ``{date}`` or misspells it would fail at run time)."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

import lojal
from lojal.i18n import LANGUAGES, _catalogue

SOURCE = Path(lojal.__file__).parent
# The call forms of lojal.i18n.Texts: t("...", ...) and t.plural("...", "...", n, ...).
KEYWORDS = {"t": None, "plural": (1, 2)}


def _said() -> dict[object, str]:
    found: dict[object, str] = {}
    for filename, _, message, _, _ in extract_from_dir(
        str(SOURCE), method_map=[("**.py", "python")], keywords=KEYWORDS
    ):
        found[message] = filename
    return found


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_code_says_sentences() -> None:
    # The extraction sees the summary's sentences (it would find nothing if the call forms
    # changed, and the test below would pass vacuously).
    said = _said()
    assert "Hello {name}!" in said
    assert ("{name}, earned {n} time", "{name}, earned {n} times") in said


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_every_sentence_is_translated_with_the_same_placeholders(language: str) -> None:
    catalogue = _catalogue(language)
    for message, filename in _said().items():
        assert message in catalogue, f"{language}: {message!r} ({filename}) is not translated"
        ids = message if isinstance(message, tuple) else (message,)
        translated = catalogue[message]
        forms = translated if isinstance(translated, tuple) else (translated,)
        expected = set().union(*(_fields(i) for i in ids))
        for form in forms:
            assert isinstance(form, str)
            assert _fields(form) == expected, f"{language}: {form!r} for {message!r}"
