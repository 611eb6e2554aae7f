"""The fixed cast of DESIGN.md's roles, shared by every test (like healthchecks' alice/bob)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.core.cache import cache
from django.core.management.commands import flush
from django.test import Client

from mesoclinic.accounts.models import ApiToken, Clinic, Organisation, User
from mesoclinic.accounts.permissions import Role
from mesoclinic.accounts.session import SESSION_CLINIC, SESSION_EPOCH
from mesoclinic.accounts.tests.factories import PASSWORD, UserFactory
from mesoclinic.audit.guards import guards_lifted
from mesoclinic.patients.models import Patient
from mesoclinic.patients.tests.factories import MedicalHistoryFactory, PatientFactory

__all__ = ["PASSWORD", "Cast", "make_patient", "make_user"]

# Playwright's sync API runs an event loop; Django's async-safety check would refuse the ORM.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")



class FastArgon2(Argon2PasswordHasher):
    """Still Argon2, with minimal cost so that creating the cast stays fast."""

    time_cost = 1
    memory_cost = 64
    parallelism = 1


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["conftest.FastArgon2"]


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Any) -> None:
    """Files a test stores (signed consent PDFs) stay with that test."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """The per-process cache (cached API tokens) outlives each test's rolled-back database."""
    cache.clear()


@pytest.fixture(autouse=True)
def _audit_checkpoints_in_tmp(settings: Any, tmp_path: Any) -> None:
    """Checkpoints a test writes stay with that test; none is written after a commit unless the
    test asks for it (each adds an event to the trail)."""
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "audit-checkpoints"
    settings.AUDIT_CHECKPOINT_SECONDS = 0
    settings.AUDIT_SEAL_SECONDS = 0  # tests that look at seals see them after every commit


@pytest.fixture(scope="session", autouse=True)
def _flush_may_wipe_the_audit_trail() -> Any:
    """Transactional tests end by emptying every table; the audit triggers refuse DELETE."""
    original = flush.Command.handle

    def handle(self: flush.Command, *args: Any, **options: Any) -> Any:
        with guards_lifted():
            return original(self, *args, **options)

    flush.Command.handle = handle  # type: ignore[method-assign]
    yield
    flush.Command.handle = original  # type: ignore[method-assign]


@dataclass
class Cast:
    org: Organisation
    clinic: Clinic
    sister: Clinic  # same organisation
    foreign: Clinic  # another organisation
    physician: User
    nurse: User
    receptionist: User
    manager: User
    auditor: User
    sister_physician: User
    foreign_physician: User
    patient: Patient
    sister_patient: Patient
    read_token: str
    write_token: str
    sister_token: str

    def client_for(self, user: User, clinic: Clinic | None = None) -> Client:
        """A test client signed in as `user` (two-factor already passed)."""
        client = Client()
        client.force_login(user)
        session = client.session
        session[SESSION_EPOCH] = user.session_epoch
        if clinic is not None:
            session[SESSION_CLINIC] = clinic.pk
        session.save()
        return client


def make_user(username: str, clinic: Clinic, *roles: str) -> User:
    return UserFactory(username=username, roles=list(roles), roles__clinic=clinic)


def make_patient(clinic: Clinic, given: str, family: str, **extra: object) -> Patient:
    fields: dict[str, object] = {"phone": "+90 532 111 22 33"}
    fields.update(extra)
    return PatientFactory(clinic=clinic, given_name=given, family_name=family, **fields)


@pytest.fixture
def cast(db: None) -> Cast:
    org = Organisation.objects.create(name="Test Group")
    clinic = Clinic.objects.create(organisation=org, name="Nişantaşı", timezone="Europe/Istanbul",
                                   currency="TRY")
    sister = Clinic.objects.create(organisation=org, name="Berlin", timezone="Europe/Berlin")
    other_org = Organisation.objects.create(name="Other Group")
    foreign = Clinic.objects.create(organisation=other_org, name="Elsewhere")
    physician = make_user("dr.house", clinic, Role.PHYSICIAN)
    patient = make_patient(clinic, "Ayşe", "Şahin")
    MedicalHistoryFactory(patient=patient, recorded_by=physician,
                          other_conditions="Secret clinical note")
    sister_physician = make_user("dr.weber", sister, Role.PHYSICIAN)
    creator = physician
    return Cast(
        org=org, clinic=clinic, sister=sister, foreign=foreign,
        physician=physician,
        nurse=make_user("nurse.kaya", clinic, Role.NURSE),
        receptionist=make_user("reception.demir", clinic, Role.RECEPTIONIST),
        manager=make_user("manager.yilmaz", clinic, Role.MANAGER),
        auditor=make_user("auditor.schmidt", clinic, Role.AUDITOR),
        sister_physician=sister_physician,
        foreign_physician=make_user("dr.foreign", foreign, Role.PHYSICIAN),
        patient=patient,
        sister_patient=make_patient(sister, "Lena", "Müller", phone="+49 151 1234567"),
        read_token=ApiToken.issue(name="reader", clinic=clinic, scope="read", created_by=creator)[1],
        write_token=ApiToken.issue(name="writer", clinic=clinic, scope="write", created_by=creator)[1],
        sister_token=ApiToken.issue(name="sister", clinic=sister, scope="write", created_by=creator)[1],
    )
