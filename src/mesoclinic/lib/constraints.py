"""Validate in Python what needs no query; let the database enforce the rest, with the same words.

`full_clean()` checks every unique and check constraint with one query each. The database holds
those rules anyway (and, unlike a query before the write, under concurrency too), so actions
validate the fields only and turn a refused write back into the constraint's own message.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, router, transaction


def save_checked(instance: models.Model, **save_kwargs: Any) -> None:
    """Validate the fields, then save; a violated constraint raises its ValidationError.

    Relations are not looked up: the foreign keys are set by our own code, and the database
    refuses a dangling one anyway. No savepoint either (two statements less per write): call it
    inside an action's transaction and let the refusal leave it, so that it rolls back whole —
    after a refused statement the transaction cannot go on.
    """
    relations = [f.name for f in instance._meta.concrete_fields if f.is_relation]
    instance.full_clean(exclude=relations, validate_unique=False, validate_constraints=False)
    using = save_kwargs.get("using") or router.db_for_write(type(instance), instance=instance)
    try:
        with transaction.atomic(using=using, savepoint=False):
            instance.save(**save_kwargs)
    except IntegrityError as exc:
        explained = explain(exc, type(instance)) or _unique_field(exc, instance)
        if explained is None:
            raise
        raise explained from exc


def _unique_field(exc: IntegrityError, instance: models.Model) -> ValidationError | None:
    """A `unique=True` field the database refused: full_clean()'s own message, under its name."""
    text = str(exc)
    table = instance._meta.db_table
    for field in instance._meta.concrete_fields:
        if not field.unique or field.primary_key:
            continue
        # PostgreSQL: 'Key (public_id)=(…) already exists.'; SQLite: 'UNIQUE constraint failed: t.c'
        sqlite = f"UNIQUE constraint failed: {table}.{field.column}"
        if f"Key ({field.column})=" in text or text.endswith(sqlite):
            message = instance.unique_error_message(type(instance), (field.name,))
            return ValidationError({field.name: [message]})
    return None


def explain(exc: IntegrityError, model: type[models.Model]) -> ValidationError | None:
    """The ValidationError of the model's constraint that the database refused, if any."""
    text = str(exc)
    table = model._meta.db_table
    for constraint in model._meta.constraints:
        if constraint.name in text or _sqlite_unique_matches(constraint, model, table, text):
            return ValidationError(constraint.get_violation_error_message(),
                                   code=constraint.violation_error_code or constraint.name)
    return None


def _sqlite_unique_matches(constraint: Any, model: type[models.Model], table: str, text: str) -> bool:
    # SQLite names the columns of a violated unique constraint, not the constraint:
    # "UNIQUE constraint failed: patients_medicalhistory.patient_id, patients_medicalhistory.version"
    if not isinstance(constraint, models.UniqueConstraint) or not constraint.fields:
        return False
    columns = ", ".join(f"{table}.{getattr(model._meta.get_field(f), 'column', f)}"
                        for f in constraint.fields)
    return text.endswith(f"UNIQUE constraint failed: {columns}")
