"""Pure helpers for patient search: accent/case folding and query parsing (no Django)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

# Letters that Unicode does not decompose into a base letter plus a mark.
_EXTRA_FOLDS = str.maketrans(
    {"ı": "i", "ø": "o", "ß": "ss", "ł": "l", "đ": "d", "æ": "ae", "œ": "oe", "þ": "th", "ð": "d"}
)
_NON_WORD = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    """Lower-case ASCII form of a name: "Şahin" → "sahin", "Øyvind" → "oyvind"."""
    lowered = text.casefold().translate(_EXTRA_FOLDS)
    stripped = "".join(
        ch for ch in unicodedata.normalize("NFKD", lowered) if not unicodedata.combining(ch)
    )
    return _NON_WORD.sub(" ", stripped).strip()


def phone_digits(phone: str) -> str:
    """Digits only, so "+90 (532) 111-22-33" is found by "5321112233"."""
    return "".join(ch for ch in phone if ch.isdigit())


def phone_key(phone: str) -> str:
    """Reversed digits: a suffix search on the number becomes an indexable prefix search."""
    return phone_digits(phone)[::-1]


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string greater than every string starting with `prefix` (for index ranges)."""
    return prefix + "\x7f"


@dataclass(frozen=True)
class Query:
    """What the user typed, classified: a birth date, a phone number, or name words."""

    birth_date: date | None = None
    phone: str = ""
    words: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return self.birth_date is None and not self.phone and not self.words


_DMY = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def parse_query(text: str) -> Query:
    """Classify a search box entry; dates may be 1990-04-02 or 02.04.1990 / 2/4/1990."""
    text = text.strip()[:100]
    for pattern, order in ((_ISO, (0, 1, 2)), (_DMY, (2, 1, 0))):
        match = pattern.match(text)
        if match:
            parts = [int(g) for g in match.groups()]
            try:
                return Query(birth_date=date(parts[order[0]], parts[order[1]], parts[order[2]]))
            except ValueError:
                return Query(words=tuple(fold(text).split()))
    digits = phone_digits(text)
    if len(digits) >= 4 and not any(ch.isalpha() for ch in text):
        # Matched as a suffix, so a leading trunk "0" or country code need not be typed.
        return Query(phone=digits.lstrip("0"))
    return Query(words=tuple(fold(text).split()[:4]))
