"""Visible text only: names and free text refuse invisible format and control characters.

A right-to-left override (U+202E) in a name makes "Ayşe" display as someone else's record; a
zero-width space makes two names look alike and search differently. One check serves the model
fields (so the forms and every action), the forms that are not model forms, and the API schemas.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

# Free text may span lines (browsers send CR LF from a textarea) and hold tabs; names may not.
_MULTILINE_ALLOWED = frozenset("\t\n\r")


def invisible_character(value: str, *, multiline: bool = False) -> str | None:
    """The first invisible format or control character in `value`, or None."""
    allowed = _MULTILINE_ALLOWED if multiline else frozenset()
    for char in value:
        if char in allowed:
            continue
        # Cf: bidirectional overrides and isolates, zero-width characters, BOM, soft hyphen.
        # Cc: C0 and C1 controls, DEL. Zl/Zp: U+2028 LINE and U+2029 PARAGRAPH SEPARATOR.
        if unicodedata.category(char) in ("Cf", "Cc", "Zl", "Zp"):
            return char
    return None


def invisible_message(char: str) -> str:
    return str(_("contains an invisible control character U+%(code)04X") % {"code": ord(char)})


@deconstructible
class VisibleText:
    """Validator refusing invisible characters; `multiline=True` allows tab, CR and LF."""

    def __init__(self, *, multiline: bool = False) -> None:
        self.multiline = multiline

    def __call__(self, value: Any) -> None:
        if not isinstance(value, str):
            return
        char = invisible_character(value, multiline=self.multiline)
        if char is not None:
            raise ValidationError(invisible_message(char), code="invisible_character")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VisibleText) and other.multiline == self.multiline

    def __hash__(self) -> int:
        return hash((VisibleText, self.multiline))


visible_line = VisibleText()
visible_text = VisibleText(multiline=True)
