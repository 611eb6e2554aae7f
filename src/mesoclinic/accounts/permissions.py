"""What each staff role may do; views and the API ask for a `Perm`, never for a role."""

from __future__ import annotations

import enum
from collections.abc import Iterable

from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrPromise


class Role(enum.StrEnum):
    PHYSICIAN = "physician"
    NURSE = "nurse"
    RECEPTIONIST = "receptionist"
    MANAGER = "manager"
    AUDITOR = "auditor"

    @property
    def label(self) -> StrPromise:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[Role, StrPromise] = {
    Role.PHYSICIAN: _("Physician"),
    Role.NURSE: _("Specialist nurse"),
    Role.RECEPTIONIST: _("Receptionist"),
    Role.MANAGER: _("Clinic manager"),
    Role.AUDITOR: _("Auditor"),
}


class Perm(enum.StrEnum):
    VIEW_DEMOGRAPHICS = "view_demographics"
    EDIT_DEMOGRAPHICS = "edit_demographics"
    VIEW_CLINICAL = "view_clinical"  # history, medications, allergies, labs, notes
    EDIT_CLINICAL = "edit_clinical"
    SIGN_OFF_WORKUP = "sign_off_workup"
    BREAK_GLASS = "break_glass"
    SCREEN = "screen"  # run a screening for a proposed treatment
    ACCEPT_REVIEW = "accept_review"  # accept a `review` finding with a reason (never a block)
    VIEW_KNOWLEDGE = "view_knowledge"  # browse the clinical knowledge pack (no patient data)
    EDIT_KNOWLEDGE = "edit_knowledge"  # also needs the medical-director flag
    VIEW_AUDIT = "view_audit"
    EXPORT_AUDIT = "export_audit"
    VIEW_STAFF = "view_staff"
    MANAGE_STAFF = "manage_staff"  # add staff, change roles and credentials, deactivate
    # Under break-glass a physician reads and adds safety information, nothing else.
    RECORD_ALLERGY = "record_allergy"
    MANAGE_TOKENS = "manage_tokens"  # issue and revoke the clinic's API tokens
    VIEW_PLAN = "view_plan"  # read treatment plans and their consents (clinical)
    WRITE_PLAN = "write_plan"  # write, propose, approve, stop plans: physicians only
    RECORD_CONSENT = "record_consent"  # witness a patient's signature or withdrawal
    QUOTE = "quote"  # price a plan, issue and accept quotes (money, no clinical detail)
    MANAGE_PRICES = "manage_prices"  # the clinic's price list
    VIEW_SCHEDULE = "view_schedule"  # calendars and appointments: names and times, no clinical notes
    BOOK = "book"  # book, move and cancel appointments
    MANAGE_RESOURCES = "manage_resources"  # working hours, leave, rooms and devices
    CHART = "chart"  # start, chart, sign and amend treatment sessions; record allergy tests
    VIEW_STOCK = "view_stock"  # products, lots and the stock ledger (no patient data)
    MANAGE_STOCK = "manage_stock"  # receive, waste, adjust and transfer stock
    RECALL = "recall"  # mark a lot recalled (the affected patients are clinical: VIEW_CLINICAL)
    VIEW_ALERTS = "view_alerts"  # the safety alerts addressed to you (and the clinic's, if clinical)
    REPORT_EVENT = "report_event"  # record and update side effects, answer check-in calls
    MANAGE_EVENT = "manage_event"  # close, reopen, clear a hold on an adverse event: physicians
    VIEW_SAFETY_DASHBOARD = "view_safety_dashboard"  # rates of side effects (no patient named)
    CALL_EXPOSED = "call_exposed"  # work a cluster's call list: names and phones, no clinical detail
    EXPORT_SAFETY = "export_safety"  # adverse events as CSV and FHIR (clinical)
    TAKE_PHOTOS = "take_photos"  # upload clinical photos and mark alignment points
    SIMULATE = "simulate"  # make an illustrative, watermarked simulation for a consultation
    RECORD_OUTCOME = "record_outcome"  # pain, GAIS and satisfaction scores beside the photos
    SAFETY_SETTINGS = "safety_settings"  # acknowledgement time and check-in weeks of the clinic


ROLE_PERMS: dict[Role, frozenset[Perm]] = {
    Role.PHYSICIAN: frozenset(
        {
            Perm.VIEW_DEMOGRAPHICS,
            Perm.EDIT_DEMOGRAPHICS,
            Perm.VIEW_CLINICAL,
            Perm.EDIT_CLINICAL,
            Perm.SIGN_OFF_WORKUP,
            Perm.BREAK_GLASS,
            Perm.SCREEN,
            Perm.ACCEPT_REVIEW,
            Perm.EDIT_KNOWLEDGE,
            Perm.RECORD_ALLERGY,
            Perm.VIEW_PLAN,
            Perm.WRITE_PLAN,
            Perm.RECORD_CONSENT,
            Perm.QUOTE,
            Perm.VIEW_SCHEDULE,
            Perm.BOOK,
            Perm.CHART,
            Perm.VIEW_STOCK,
            Perm.MANAGE_STOCK,
            Perm.RECALL,
            Perm.VIEW_ALERTS,
            Perm.REPORT_EVENT,
            Perm.MANAGE_EVENT,
            Perm.VIEW_SAFETY_DASHBOARD,
            Perm.CALL_EXPOSED,
            Perm.EXPORT_SAFETY,
            Perm.SAFETY_SETTINGS,
            Perm.TAKE_PHOTOS,
            Perm.SIMULATE,
            Perm.RECORD_OUTCOME,
        }
    ),
    # A nurse records history and vitals but never signs off a workup (DESIGN.md, roles).
    Role.NURSE: frozenset(
        {Perm.VIEW_DEMOGRAPHICS, Perm.VIEW_CLINICAL, Perm.EDIT_CLINICAL, Perm.SCREEN,
         Perm.RECORD_ALLERGY, Perm.VIEW_PLAN, Perm.RECORD_CONSENT, Perm.VIEW_SCHEDULE, Perm.BOOK,
         Perm.CHART, Perm.VIEW_STOCK, Perm.MANAGE_STOCK, Perm.VIEW_ALERTS, Perm.REPORT_EVENT,
         Perm.CALL_EXPOSED, Perm.TAKE_PHOTOS, Perm.RECORD_OUTCOME}
    ),
    # Reception registers and books: demographics only, never clinical data.
    # Reception also quotes (DESIGN.md, roles): prices and session counts, no clinical content.
    # Reception books every appointment: it sees names and times, never clinical notes.
    Role.RECEPTIONIST: frozenset({Perm.VIEW_DEMOGRAPHICS, Perm.EDIT_DEMOGRAPHICS, Perm.QUOTE,
                                  Perm.VIEW_SCHEDULE, Perm.BOOK}),
    # The manager keeps hours, leave, rooms and devices; calendars name patients, so not those.
    # The manager keeps the stock and may recall a lot, but the affected patients' list is clinical.
    # The manager hears of clusters and of alerts nobody acknowledged, and works the call list
    # (names and phone numbers); the events themselves stay clinical.
    Role.MANAGER: frozenset({Perm.VIEW_STAFF, Perm.MANAGE_STAFF, Perm.MANAGE_TOKENS,
                             Perm.MANAGE_PRICES, Perm.MANAGE_RESOURCES, Perm.VIEW_STOCK,
                             Perm.MANAGE_STOCK, Perm.RECALL, Perm.VIEW_SAFETY_DASHBOARD,
                             Perm.VIEW_ALERTS, Perm.CALL_EXPOSED, Perm.SAFETY_SETTINGS}),
    Role.AUDITOR: frozenset({Perm.VIEW_AUDIT, Perm.EXPORT_AUDIT, Perm.VIEW_STAFF}),
}


# Every staff member may read the knowledge pack.
for _role in Role:
    ROLE_PERMS[_role] = ROLE_PERMS[_role] | {Perm.VIEW_KNOWLEDGE}


def perms_for(roles: Iterable[str]) -> frozenset[Perm]:
    """The union of the permissions of the given roles."""
    result: set[Perm] = set()
    for role in roles:
        result |= ROLE_PERMS.get(Role(role), frozenset())
    return frozenset(result)


# A physician of a sister clinic under break-glass: read, and add what keeps the patient safe.
BREAK_GLASS_PERMS = frozenset({Perm.VIEW_DEMOGRAPHICS, Perm.VIEW_CLINICAL, Perm.RECORD_ALLERGY})

# API tokens: demographics only for now; a write token may also register and edit them.
# Pricing reads no patient data: any token may ask for a quote.
# Tokens act like the front desk: a booking website reads the calendar and books (write).
# A supplier or stock system reads lots (read) and books deliveries (write); never sessions.
TOKEN_PERMS = {
    "read": frozenset({Perm.VIEW_DEMOGRAPHICS, Perm.QUOTE, Perm.VIEW_SCHEDULE, Perm.VIEW_STOCK}),
    "write": frozenset({Perm.VIEW_DEMOGRAPHICS, Perm.EDIT_DEMOGRAPHICS, Perm.QUOTE,
                        Perm.VIEW_SCHEDULE, Perm.BOOK, Perm.VIEW_STOCK, Perm.MANAGE_STOCK}),
}
