"""factory_boy factories for organisations, clinics and staff."""

from __future__ import annotations

from typing import Any

import factory

from mesoclinic.accounts.models import Clinic, Credential, Membership, Organisation, User
from mesoclinic.accounts.permissions import Role

PASSWORD = "correct-horse-battery-42"


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Group {n}")


class ClinicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clinic

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Clinic {n}")
    timezone = "Europe/Istanbul"
    currency = "TRY"


class UserFactory(factory.django.DjangoModelFactory):
    """A staff member; `roles=[...]` with `clinic=` gives them those roles there."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff.{n}")
    display_name = factory.LazyAttribute(lambda u: u.username.replace(".", " ").title())
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def roles(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            clinic = kwargs.get("clinic") or ClinicFactory()
            for role in extracted:
                Membership.objects.create(user=self, clinic=clinic, role=Role(role))


class CredentialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Credential

    user = factory.SubFactory(UserFactory)
    licence_type = Credential.LicenceType.MEDICAL
    number = factory.Sequence(lambda n: f"TR-{10000 + n}")
    issuing_body = "Türk Tabipleri Birliği"
    specialisation = "dermatology"
    valid_from = factory.Faker("date_between", start_date="-10y", end_date="-1y")
