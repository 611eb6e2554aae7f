"""Fill PatientNameWord for the patients registered before it existed (reverse: empty it).

Batched by primary key, so that 100,000+ patients never sit in memory at once. The words are
those after the first of each folded key, as Patient.later_name_words() gives them; a patient
whose names are one word each has none.
"""

from django.db import migrations
from django.db.models import Q

BATCH = 5000


def backfill(apps, schema_editor):
    Patient = apps.get_model("patients", "Patient")
    PatientNameWord = apps.get_model("patients", "PatientNameWord")
    db = schema_editor.connection.alias
    patients = Patient.objects.using(db).filter(
        Q(given_key__contains=" ") | Q(family_key__contains=" ")
    ).order_by("pk")
    last = 0
    while True:
        batch = list(
            patients.filter(pk__gt=last).values_list("pk", "clinic_id", "given_key", "family_key")[:BATCH]
        )
        if not batch:
            return
        PatientNameWord.objects.using(db).bulk_create(
            (
                PatientNameWord(patient_id=pk, clinic_id=clinic_id, word=word)
                for pk, clinic_id, given_key, family_key in batch
                for word in dict.fromkeys([*given_key.split()[1:], *family_key.split()[1:]])
            ),
            ignore_conflicts=True,  # keep rows already there (a patient saved meanwhile)
        )
        last = batch[-1][0]


def empty(apps, schema_editor):
    PatientNameWord = apps.get_model("patients", "PatientNameWord")
    PatientNameWord.objects.using(schema_editor.connection.alias).all().delete()


class Migration(migrations.Migration):
    dependencies = [("patients", "0004_name_words")]

    operations = [migrations.RunPython(backfill, empty)]
