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


def later_words(*folded_names: str) -> list[str]:
    """Every word of the folded names but the first of each, once: ("ayse nur", "van der berg")
    → ["nur", "der", "berg"].

    A prefix search on the key columns finds a name by its first word; these words are kept in
    PatientNameWord so that a second given name, the second half of a double-barrelled name or
    the "berg" of "van der Berg" is found by its prefix as well.
    """
    return list(dict.fromkeys(word for name in folded_names for word in name.split()[1:]))


# A number is matched on its last nine digits at most. Stored and typed numbers differ in their
# beginnings: "0212 555 66 77" (trunk 0) against "+90 212 555 66 77" or "0090 212 …" (country
# code). The national significant number (after trunk 0 / country code) has nine digits or more
# in the countries our clinics serve (TR and RU 10, DE mobiles 10-11, FR, ES, PL 9, IT 9-10), so
# its last nine digits hold neither a trunk 0 nor a country code, whichever way either side was
# written. A longer match would only trip over those prefixes; the rare other number that shares
# the last nine digits is listed too, for the user to tell apart. (A short German landline, under
# nine digits after the 0, is found by its national form, "030 123456", or by fewer digits.)
PHONE_SUFFIX_DIGITS = 9


def phone_suffix(digits: str) -> str:
    """The part of a typed number that is matched against the end of stored numbers."""
    return digits.lstrip("0")[-PHONE_SUFFIX_DIGITS:]


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
