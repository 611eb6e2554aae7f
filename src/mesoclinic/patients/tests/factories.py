"""factory_boy factories for patients and their record."""

from __future__ import annotations

from datetime import date

import factory

from mesoclinic.accounts.tests.factories import ClinicFactory, UserFactory
from mesoclinic.patients.models import Allergy, MedicalHistory, Medication, Patient


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    clinic = factory.SubFactory(ClinicFactory)
    given_name = factory.Iterator(["Ayşe", "Elif", "Mehmet", "Lena", "Jonas", "Zeynep"])
    family_name = factory.Iterator(["Şahin", "Yılmaz", "Kaya", "Müller", "Schmidt", "Demir"])
    birth_date = date(1990, 4, 2)
    sex = "female"
    phone = factory.Sequence(lambda n: f"+90 532 {100 + n % 900:03d} {n % 100:02d} 33")


class MedicalHistoryFactory(factory.django.DjangoModelFactory):
    """A complete history in which every answer is "no"."""

    class Meta:
        model = MedicalHistory

    patient = factory.SubFactory(PatientFactory)
    version = 1
    recorded_by = factory.SubFactory(UserFactory)
    pregnant = "no"
    breastfeeding = "no"
    diabetes = "none"
    insulin = "no"
    cancer = "none"
    multi_drug_therapy = "no"
    heart_disease = "no"
    stroke_history = "no"
    liver_disorder = "no"
    kidney_disorder = "no"


class MedicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Medication

    patient = factory.SubFactory(PatientFactory)
    name = "Metformin"
    dose = "500 mg"
    started_on = date(2024, 1, 1)
    recorded_by = factory.SubFactory(UserFactory)


class AllergyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Allergy

    patient = factory.SubFactory(PatientFactory)
    substance = "Latex"
    reaction = "hives"
    severity = "mild"
    recorded_by = factory.SubFactory(UserFactory)
