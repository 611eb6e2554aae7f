"""API schemas: they only translate; validation of meaning happens in the models and actions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from ninja import Schema
from pydantic import ConfigDict, Field

# PostgreSQL text cannot hold NUL characters: refuse them as input (422), never fail at the database.
NO_NUL = r"^[^\x00]*$"

Sex = Literal["female", "male", "other"]
Language = Literal["en", "tr", "de", "fr", "es", "it", "ar", "ru"]


class ErrorOut(Schema):
    error: str
    field: str | None = None


class PatientIn(Schema):
    model_config = ConfigDict(extra="forbid")

    given_name: str = Field(min_length=1, max_length=100, pattern=NO_NUL)
    family_name: str = Field(min_length=1, max_length=100, pattern=NO_NUL)
    birth_date: date
    sex: Sex
    phone: str = Field("", max_length=25, pattern=NO_NUL)
    email: str = Field("", max_length=254, pattern=NO_NUL)
    address: str = Field("", max_length=500, pattern=NO_NUL)
    national_id: str = Field("", max_length=30, pattern=NO_NUL)
    emergency_contact_name: str = Field("", max_length=200, pattern=NO_NUL)
    emergency_contact_phone: str = Field("", max_length=25, pattern=NO_NUL)
    preferred_language: Language = "en"
    confirm_new: bool = Field(
        False, description="Register even though a patient with the same name and birth date, "
        "or the same phone, exists (the 409 answer lists them).")


class DuplicateOut(Schema):
    error: str
    field: str | None = "confirm_new"
    duplicates: list[UUID] = Field(description="ids of the patients this one may duplicate")


class PatientPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    given_name: str | None = Field(None, min_length=1, max_length=100, pattern=NO_NUL)
    family_name: str | None = Field(None, min_length=1, max_length=100, pattern=NO_NUL)
    birth_date: date | None = None
    sex: Sex | None = None
    phone: str | None = Field(None, max_length=25, pattern=NO_NUL)
    email: str | None = Field(None, max_length=254, pattern=NO_NUL)
    address: str | None = Field(None, max_length=500, pattern=NO_NUL)
    national_id: str | None = Field(None, max_length=30, pattern=NO_NUL)
    emergency_contact_name: str | None = Field(None, max_length=200, pattern=NO_NUL)
    emergency_contact_phone: str | None = Field(None, max_length=25, pattern=NO_NUL)
    preferred_language: Language | None = None


class PatientOut(Schema):
    id: UUID = Field(validation_alias="public_id")
    given_name: str
    family_name: str
    birth_date: date
    sex: str
    phone: str
    email: str
    address: str
    national_id: str
    emergency_contact_name: str
    emergency_contact_phone: str
    preferred_language: str
    clinic: UUID = Field(validation_alias="clinic.public_id")
    created_at: datetime
    updated_at: datetime


class PatientList(Schema):
    count: int
    results: list[PatientOut]
