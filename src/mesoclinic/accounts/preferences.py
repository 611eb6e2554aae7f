"""A staff member's own preferences: the language the pages speak to them in."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from mesoclinic.accounts.models import User
from mesoclinic.audit.log import Actor, record
from mesoclinic.audit.models import AuditEvent

# Blank: follow the clinic's language.
LANGUAGE_CODES = frozenset(code for code, _name in settings.LANGUAGES)


def set_language(user: User, *, language: str, actor: Actor, clinic_id: str = "") -> bool:
    """Set the language `user`'s pages render in ('' for the clinic's); False if unchanged."""
    if language and language not in LANGUAGE_CODES:
        raise ValueError(f"unknown language {language!r}")
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        before = locked.language
        if before == language:
            return False
        locked.language = language
        locked.save(update_fields=["language"])
        record(actor, action=AuditEvent.Action.UPDATE, object_type="user",
               object_id=str(locked.public_id), clinic_id=clinic_id,
               changes={"language": [before, language]})
    user.language = language
    return True
