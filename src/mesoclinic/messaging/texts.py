"""The words of each message, rendered in the recipient's language through Django's translation
machinery (`{% blocktranslate %}` in templates/messaging/, collected by makemessages).

Per kind: `<kind>_subject.txt` (email subject), `<kind>.txt` (email body), `<kind>_sms.txt`
(a short SMS; none for the kinds in EMAIL_ONLY). They are plain text: rendered with autoescaping
off, so "O'Brien" stays O'Brien.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.template import Context, Engine
from django.utils import translation

# The context keys each kind's texts read; schedule() refuses a message without them, so a
# booking fails at once rather than the worker sending "Your session on  at ." later.
# Optional keys: `address` (allergy_test), `cream` (session_preparation: non-empty when an
# anaesthetic cream is applied before the session, so the patient arrives earlier), `phone`
# (aftercare_sheet: the number to call when a warning sign appears).
REQUIRED_CONTEXT: dict[str, frozenset[str]] = {
    "nsaid_stop": frozenset({"given_name", "clinic", "date", "time"}),
    "allergy_test": frozenset({"given_name", "clinic", "date", "time"}),
    "session_preparation": frozenset({"given_name", "clinic", "date", "time", "arrive"}),
    "aftercare_sheet": frozenset({"name", "clinic"}),
    # To staff: what kind of alert and where to open it; never the patient or the event itself.
    "safety_alert": frozenset({"name", "clinic", "reason", "url", "escalated"}),
}
# Kinds with no SMS text: they carry a document, which a text message cannot; a safety alert
# goes to staff mailboxes.
EMAIL_ONLY: frozenset[str] = frozenset({"aftercare_sheet", "safety_alert"})

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{1,8})*$")


@dataclass(frozen=True)
class Text:
    subject: str
    body: str


def valid_language(language: str) -> bool:
    """A lowercase language code such as "tr", "de" or "en-gb"."""
    return bool(_LANGUAGE.match(language))


@functools.cache
def _engine() -> Engine:
    return Engine(dirs=[str(Path(__file__).resolve().parent / "templates")], autoescape=False,
                  libraries={"i18n": "django.templatetags.i18n"})


def _render(name: str, context: dict[str, Any]) -> str:
    return _engine().get_template(f"messaging/{name}.txt").render(Context(context, autoescape=False))


def render(*, kind: str, channel: str, language: str, context: dict[str, Any]) -> Text:
    """The subject and body of one message, in `language` (English where not yet translated)."""
    with translation.override(language):
        if channel == "sms":
            # One paragraph: line breaks cost characters and split oddly on phones.
            return Text(subject="", body=" ".join(_render(f"{kind}_sms", context).split()))
        subject = " ".join(_render(f"{kind}_subject", context).split())
        body = re.sub(r"\n{3,}", "\n\n", _render(kind, context).strip()) + "\n"
        return Text(subject=subject, body=body)
