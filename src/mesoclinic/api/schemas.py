"""API schemas: they only translate; validation of meaning happens in the models and actions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from mesoclinic.lib.text import invisible_character, invisible_message

# PostgreSQL text cannot hold NUL characters: refuse them as input (422), never fail at the database.
NO_NUL = r"^[^\x00]*$"


def _visible(multiline: bool) -> AfterValidator:
    """The models' invisible-character check (lib.text), answered as a 422 naming the field."""

    def check(value: str) -> str:
        char = invisible_character(value, multiline=multiline)
        if char is not None:
            raise PydanticCustomError("invisible_character", invisible_message(char))
        return value

    return AfterValidator(check)


Line = Annotated[str, _visible(False)]
Text = Annotated[str, _visible(True)]

Sex = Literal["female", "male", "other"]
Language = Literal["en", "tr", "de", "fr", "es", "it", "ar", "ru"]


class ErrorOut(Schema):
    error: str
    field: str | None = None


class PatientIn(Schema):
    model_config = ConfigDict(extra="forbid")

    given_name: Line = Field(min_length=1, max_length=100, pattern=NO_NUL)
    family_name: Line = Field(min_length=1, max_length=100, pattern=NO_NUL)
    birth_date: date
    sex: Sex
    phone: Line = Field("", max_length=25, pattern=NO_NUL)
    email: Line = Field("", max_length=254, pattern=NO_NUL)
    address: Text = Field("", max_length=500, pattern=NO_NUL)
    national_id: Line = Field("", max_length=30, pattern=NO_NUL)
    emergency_contact_name: Line = Field("", max_length=200, pattern=NO_NUL)
    emergency_contact_phone: Line = Field("", max_length=25, pattern=NO_NUL)
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

    given_name: Line | None = Field(None, min_length=1, max_length=100, pattern=NO_NUL)
    family_name: Line | None = Field(None, min_length=1, max_length=100, pattern=NO_NUL)
    birth_date: date | None = None
    sex: Sex | None = None
    phone: Line | None = Field(None, max_length=25, pattern=NO_NUL)
    email: Line | None = Field(None, max_length=254, pattern=NO_NUL)
    address: Text | None = Field(None, max_length=500, pattern=NO_NUL)
    national_id: Line | None = Field(None, max_length=30, pattern=NO_NUL)
    emergency_contact_name: Line | None = Field(None, max_length=200, pattern=NO_NUL)
    emergency_contact_phone: Line | None = Field(None, max_length=25, pattern=NO_NUL)
    preferred_language: Language | None = None
    version: int = Field(
        ge=1, description="The `version` of the patient read with GET: a change made since "
        "answers 409 and nothing is saved (read again, then re-apply the change).")


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
    version: int = Field(description="Changes with every change of the demographics; send it "
                         "back with PATCH.")


class PatientList(Schema):
    count: int
    results: list[PatientOut]
