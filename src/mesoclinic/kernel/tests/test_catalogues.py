"""The translation catalogues: Turkish complete for the pages wrapped so far, .mo files current.

CI may lack GNU gettext, so the compiled .mo files are committed; these tests read both files with
the standard library only (a small .po reader below; `gettext` reads the .mo).
"""

from __future__ import annotations

import ast
import gettext
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.management import call_command

import mesoclinic

PACKAGE = Path(mesoclinic.__file__).resolve().parent
LOCALE = PACKAGE / "locale"
PLACEHOLDER = re.compile(r"%\(\w+\)[sdr]|%[sd]")


@dataclass
class Entry:
    msgid: str = ""
    msgstr: str = ""
    msgctxt: str | None = None
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False
    # ngettext messages: the plural id and one translation per plural form (msgstr[n]).
    msgid_plural: str | None = None
    plurals: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        """The key `gettext` files a message under: context, EOT, id."""
        return self.msgid if self.msgctxt is None else f"{self.msgctxt}\x04{self.msgid}"


def read_po(path: Path) -> list[Entry]:
    """The entries of a .po file; a plural message's `msgstr` is its first form."""
    entries: list[Entry] = []
    entry: Entry | None = None
    part = ""
    for raw in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = raw.strip()
        if line.startswith("#~"):
            if entry is not None:
                entry.obsolete = True
            continue
        if not line or (line.startswith("#") and entry is not None and part == "msgstr"):
            if entry is not None:
                entries.append(entry)
            entry, part = None, ""
            if not line:
                continue
        if entry is None:
            entry = Entry()
        if line.startswith("#,"):
            entry.flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        else:
            keyword, _, rest = line.partition(" ")
            if keyword in ("msgctxt", "msgid", "msgstr", "msgid_plural") or \
                    keyword.startswith("msgstr["):
                part, line = keyword, rest
                if keyword == "msgctxt":
                    entry.msgctxt = ""
                elif keyword == "msgid_plural":
                    entry.msgid_plural = ""
                elif keyword.startswith("msgstr["):
                    entry.plurals.append("")
            value = ast.literal_eval(line)
            if part == "msgctxt":
                entry.msgctxt = (entry.msgctxt or "") + value
            elif part == "msgid_plural":
                entry.msgid_plural = (entry.msgid_plural or "") + value
            elif part.startswith("msgstr["):
                entry.plurals[-1] += value
                entry.msgstr = entry.plurals[0]
            else:
                setattr(entry, part, getattr(entry, part) + value)
    return [e for e in entries if not e.obsolete]


def messages(language: str) -> list[Entry]:
    return [e for e in read_po(LOCALE / language / "LC_MESSAGES" / "django.po") if e.msgid]


@pytest.mark.parametrize("language", ["tr", "de"])
def test_every_message_is_translated(language) -> None:
    entries = messages(language)
    assert len(entries) > 200
    assert [e.msgid for e in entries if not e.msgstr] == []
    assert [e.msgid for e in entries if "fuzzy" in e.flags] == []


@pytest.mark.parametrize("language", ["tr", "de"])
def test_translations_keep_every_placeholder(language) -> None:
    """A dropped %(name)s would raise at render time, or silently lose the patient's name."""
    broken = [e.msgid for e in messages(language)
              if e.msgstr and sorted(PLACEHOLDER.findall(e.msgid)) != sorted(PLACEHOLDER.findall(e.msgstr))]
    assert broken == []


@pytest.mark.parametrize("language", ["tr", "de"])
def test_the_committed_mo_matches_the_po(language) -> None:
    """Run `mesoclinic compilemessages` after editing a .po and commit the .mo with it."""
    directory = LOCALE / language / "LC_MESSAGES"
    with (directory / "django.mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)._catalog  # type: ignore[attr-defined]
    expected: dict[object, str] = {}
    for e in messages(language):
        if not e.msgstr or "fuzzy" in e.flags:
            continue
        if e.msgid_plural is None:
            expected[e.key] = e.msgstr
        else:  # gettext files each plural form under (id, form)
            expected |= {(e.key, n): text for n, text in enumerate(e.plurals)}
    assert {k: v for k, v in compiled.items() if k} == expected


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs GNU gettext (xgettext)")
@pytest.mark.parametrize("language", ["tr", "de"])
def test_makemessages_finds_no_untranslated_string(language, tmp_path, settings, monkeypatch) -> None:
    """Extract the strings afresh from a copy of the sources: none is new or untranslated."""
    copy = tmp_path / "mesoclinic"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    settings.LOCALE_PATHS = [copy / "locale"]
    monkeypatch.chdir(copy)
    call_command("makemessages", locale=[language], add_location="file", verbosity=0,
                 ignore_patterns=["*/tests/*", "static/*"])
    fresh = read_po(copy / "locale" / language / "LC_MESSAGES" / "django.po")
    untranslated = [e.msgid for e in fresh if e.msgid and (not e.msgstr or "fuzzy" in e.flags)]
    assert untranslated == []
    assert {e.key for e in fresh} == {e.key for e in read_po(LOCALE / language / "LC_MESSAGES" / "django.po")}
