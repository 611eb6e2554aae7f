"""REST API v1: the same access rules, actions and audit as the pages."""

from __future__ import annotations

import zoneinfo
from datetime import date
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import NinjaAPI, Query, Schema, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from pydantic import Field

from mesoclinic.accounts import actions as accounts_actions
from mesoclinic.accounts.permissions import Perm
from mesoclinic.api.auth import TokenAuth, WriteScopeRequired
from mesoclinic.api.docs import DOCS, staff_only_in_production
from mesoclinic.api.schemas import (
    NO_NUL,
    DuplicateOut,
    ErrorOut,
    PatientIn,
    PatientList,
    PatientOut,
    PatientPatch,
)
from mesoclinic.audit.log import Actor, count_refusal, record
from mesoclinic.audit.models import AuditEvent
from mesoclinic.kernel.principal import Principal
from mesoclinic.kernel.versions import StaleEdit
from mesoclinic.knowledge.store import active_pack
from mesoclinic.lib.http import client_address
from mesoclinic.patients import actions
from mesoclinic.patients.access import AccessDenied, PatientNotFound, patient_for
from mesoclinic.patients.duplicates import audit_shown
from mesoclinic.patients.models import Patient
from mesoclinic.screening import contract as screening_contract

api = NinjaAPI(
    title="Mesoclinic API",
    version="1",
    urls_namespace="api",
    auth=TokenAuth(),
    docs=DOCS,
    docs_decorator=staff_only_in_production,
    description="REST API for integrations. Authenticate with `Authorization: Bearer <token>`; "
    "tokens are scoped to one clinic and to read or write. Errors are "
    '`{"error": "...", "field": "..."}`.',
)

ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
# Operations with a JSON body parsed by ninja also answer 400 when the body is not JSON at all,
# and 413 when it is larger than DATA_UPLOAD_MAX_MEMORY_SIZE.
BODY_ERRORS: dict[int, Any] = {400: ErrorOut, 413: ErrorOut, **ERRORS}


class ApiError(Exception):
    def __init__(self, status: int, error: str, field: str | None = None) -> None:
        super().__init__(error)
        self.status, self.error, self.field = status, error, field


def _error(request: HttpRequest, status: int, error: str, field: str | None = None) -> HttpResponse:
    return api.create_response(request, {"error": error, "field": field}, status=status)


@api.exception_handler(ApiError)
def on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return _error(request, exc.status, exc.error, exc.field)


@api.exception_handler(RequestDataTooBig)
def on_body_too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    # Django refuses the body when it is read (lazily, inside ninja's parsing): JSON, not a 400 page.
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024
    return _error(request, 413, f"request body too large (limit {limit} kB)")


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "payload")]
    field = ".".join(loc) or None
    message = first.get("msg", "invalid input")
    return _error(request, 422, f"{field}: {message}" if field else message, field)


def _door(request: HttpRequest) -> str:
    """The path for the audit record of a refused call; any path may knock, even one with NUL
    characters (`/api/v1/patients/%00`), which PostgreSQL text cannot store."""
    return request.path.replace("\x00", "%00")[:64]


def _route(request: HttpRequest) -> str:
    """The route a refused anonymous call knocked at (`/api/v1/patients/<patient_id>`): a small
    set, unlike paths, which a caller can vary without end."""
    match = request.resolver_match
    return f"/{match.route}"[:64] if match and match.route else _door(request)


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    # Unauthenticated calls are on the record too: who knocked, from where, at which door.
    actor = Actor(client_address=client_address(request) or "",
                  request_id=getattr(request, "request_id", ""), via="api")
    # Counted per address, minute and route, one event each: a flood cannot flood the trail.
    count_refusal(actor, action=_ACTION_BY_METHOD.get(request.method or "", AuditEvent.Action.VIEW),
                  object_type="api", door=_route(request), detail="missing or invalid bearer token")
    return _error(request, 401, "a valid bearer token is required")


@api.exception_handler(WriteScopeRequired)
def on_read_only_token(request: HttpRequest, exc: WriteScopeRequired) -> HttpResponse:
    token = exc.principal.token
    record(exc.principal.actor,
           action=_ACTION_BY_METHOD.get(request.method or "", AuditEvent.Action.UPDATE),
           object_type="api", object_id=_door(request),
           clinic_id=str(token.clinic.public_id) if token else "",
           outcome=AuditEvent.Outcome.DENIED, detail="read-only token")
    return _error(request, 403, "this token is read-only")


_ACTION_BY_METHOD = {
    "GET": AuditEvent.Action.VIEW,
    "POST": AuditEvent.Action.CREATE,
    "PATCH": AuditEvent.Action.UPDATE,
    "PUT": AuditEvent.Action.UPDATE,
    "DELETE": AuditEvent.Action.DELETE,
}


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # Keep the documented error shape for ninja's own errors too (e.g. a body that is not JSON).
    return _error(request, exc.status_code, str(exc))


def _principal(request: HttpRequest) -> Principal:
    principal = request.auth  # type: ignore[attr-defined]
    assert isinstance(principal, Principal)  # noqa: S101 (TokenAuth guarantees it)
    return principal


def _load(request: HttpRequest, patient_id: UUID, perm: Perm, audit_as: AuditEvent.Action | None) -> Patient:
    try:
        return patient_for(_principal(request), patient_id, perm, audit_as=audit_as).patient
    except PatientNotFound:
        raise ApiError(404, "no such patient") from None
    except AccessDenied:
        raise ApiError(403, "this token may not do that") from None


def _check_birth_date(value: date | None) -> None:
    if value is not None and value > timezone.localdate():
        raise ApiError(422, "birth_date: cannot be in the future", "birth_date")
    if value is not None and value.year < 1900:
        # The same bound as the registration form (PatientForm.clean_birth_date).
        raise ApiError(422, "birth_date: must be after 1900", "birth_date")


def _from_django(exc: DjangoValidationError) -> ApiError:
    errors = getattr(exc, "message_dict", {"": exc.messages})
    field, messages = next(iter(errors.items()))
    return ApiError(422, f"{field}: {messages[0]}" if field else messages[0], field or None)


@api.delete("/tokens/current", response={204: None, 401: ErrorOut}, tags=["tokens"],
            summary="Revoke the token making this call (any token scope)")
def revoke_current_token(request: HttpRequest) -> Any:
    """For an integration retiring its credential, or one that fears it leaked: the token stops
    working at once here, and within API_TOKEN_CACHE_SECONDS on every server process."""
    principal = _principal(request)
    assert principal.token is not None  # noqa: S101
    accounts_actions.revoke_token(token=principal.token, actor=principal.actor)
    return Status(204, None)


class SearchParams(Schema):
    q: str = Field("", max_length=100, pattern=NO_NUL,
                   description="name words, a birth date or a phone number")
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=100_000)


@api.get("/patients", response={200: PatientList, **ERRORS}, tags=["patients"],
         summary="List or search the token's clinic's patients (scope: read)")
def list_patients(request: HttpRequest, params: Query[SearchParams]) -> Any:
    principal = _principal(request)
    token = principal.token
    assert token is not None  # noqa: S101
    patients = Patient.objects.for_clinic(token.clinic).select_related("clinic")
    patients = patients.matching(params.q) if params.q.strip() else patients.order_by("family_key")
    rows = list(patients[params.offset : params.offset + params.limit])
    record(principal.actor, action=AuditEvent.Action.SEARCH, object_type="patient",
           clinic_id=str(token.clinic.public_id),
           detail=f"q={params.q!r} results={len(rows)}")
    return {"count": len(rows), "results": rows}


@api.post("/patients", response={201: PatientOut, 409: DuplicateOut, **BODY_ERRORS},
          tags=["patients"],
          auth=TokenAuth(write=True), summary="Register a patient at the token's clinic (scope: write)")
def create_patient(request: HttpRequest, payload: PatientIn) -> Any:
    principal = _principal(request)
    _check_birth_date(payload.birth_date)
    assert principal.token is not None  # noqa: S101
    try:
        patient = actions.register_patient(
            clinic=principal.token.clinic, data=payload.model_dump(exclude={"confirm_new"}),
            actor=principal.actor, confirm_new=payload.confirm_new,
        )
    except actions.PossibleDuplicate as exc:
        audit_shown(exc.matches, principal.actor)
        return Status(409, {
            "error": "confirm_new: a patient with the same name and birth date, or the same "
                     'phone, is registered already; send "confirm_new": true to register anyway',
            "field": "confirm_new",
            "duplicates": [m.public_id for m in exc.matches],
        })
    except DjangoValidationError as exc:
        raise _from_django(exc) from None
    return Status(201, patient)


@api.get("/patients/{patient_id}", response={200: PatientOut, **ERRORS}, tags=["patients"],
         summary="Read one patient's demographics (scope: read)")
def get_patient(request: HttpRequest, patient_id: UUID) -> Any:
    return _load(request, patient_id, Perm.VIEW_DEMOGRAPHICS, AuditEvent.Action.VIEW)


@api.patch("/patients/{patient_id}", response={200: PatientOut, 409: ErrorOut, **BODY_ERRORS},
           tags=["patients"], auth=TokenAuth(write=True),
           summary="Change a patient's demographics, based on the `version` read (scope: write)")
def update_patient(request: HttpRequest, patient_id: UUID, payload: PatientPatch) -> Any:
    patient = _load(request, patient_id, Perm.EDIT_DEMOGRAPHICS, None)
    data = payload.model_dump(exclude_unset=True)
    based_on = data.pop("version")
    for name, value in data.items():
        if value is None:
            raise ApiError(422, f"{name}: may not be null", name)
    _check_birth_date(data.get("birth_date"))
    try:
        actions.update_demographics(patient=patient, data=data, actor=_principal(request).actor,
                                    based_on=based_on)
    except StaleEdit as stale:  # audited by the action
        raise ApiError(409, f"version: the patient was changed since version {stale.based_on} "
                       f"(now {stale.current}); read it again and re-apply your change",
                       "version") from None
    except DjangoValidationError as exc:
        raise _from_django(exc) from None
    return patient  # update_demographics() left it current: no second read


# A complete, valid intake: documents the contract and lets schema-driven tools reach a 200.
_SCREENING_EXAMPLE = {
    "as_of": "2026-11-25T09:00:00+03:00",
    "patient": {
        "birth_date": "1990-04-02", "sex": "female", "pregnant": False, "breastfeeding": False,
        "diabetes": "none", "insulin": False, "cancer": "none", "multi_drug_therapy": False,
        "heart_disease": False, "stroke_history": False, "liver_disorder": False,
        "kidney_disorder": False,
        "medications": [{"name": "Aspirin", "atc": "N02BA01", "last_dose_on": None}],
        "allergies": [],
    },
    "treatment": {
        "area": "face", "indication": "wrinkles", "technique": "point_by_point",
        "delivery": "needle", "ingredients": ["hyaluronic acid", "vitamin C"],
        "first_session_at": "2026-12-10T10:00:00+03:00",
    },
    "workup": {"physical_exam_on": None, "blood_test_on": None, "urine_test_on": None,
               "history_reviewed_on": None},
    # `tested` (optional): what the test covered; every planned ingredient must be among them,
    # so this test (vitamin C not tested) is due again.
    "allergy_test": {"performed_at": "2026-11-24T09:00:00+03:00", "reactive_to": [],
                     "tested": ["hyaluronic acid"]},
}
_SCREENING_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {
            "type": "object",
            "required": ["patient", "treatment"],
            "properties": {
                "as_of": {"type": "string", "format": "date-time"},
                "patient": {"type": "object"},
                "treatment": {"type": "object"},
                "workup": {"type": "object"},
                "allergy_test": {"type": ["object", "null"]},
            },
        }, "example": _SCREENING_EXAMPLE}},
    }
}


@api.post("/screenings", response={200: dict[str, Any], 413: ErrorOut, **ERRORS}, tags=["screening"],
          openapi_extra=_SCREENING_BODY,
          summary="Screen an intake against every contraindication (any token scope)")
def create_screening(request: HttpRequest) -> Any:
    """The eligibility engine's contract over HTTP: the same input and output as `mesoclinic screen`."""
    principal = _principal(request)
    token = principal.token
    assert token is not None  # noqa: S101
    try:
        data = _strict_json(request.body)
    except ValueError as exc:
        raise ApiError(422, f"body: {exc}", "body") from None
    try:
        # as_of defaults to now in the token's clinic zone: "today" is the clinic's date.
        now = timezone.now().astimezone(zoneinfo.ZoneInfo(token.clinic.timezone))
        output = screening_contract.screen_json(data, now=now, pack=active_pack())
    except screening_contract.InvalidIntake as exc:
        raise ApiError(422, str(exc), exc.field) from None
    record(principal.actor, action=AuditEvent.Action.CREATE, object_type="screening",
           clinic_id=str(token.clinic.public_id), detail=f"decision={output['decision']}")
    return output


def _strict_json(body: bytes) -> object:
    if len(body) > 256_000:
        raise ValueError("larger than 256 kB")
    try:
        return screening_contract.decode_json(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    except screening_contract.InvalidIntake as exc:
        raise ValueError(exc.message) from None
