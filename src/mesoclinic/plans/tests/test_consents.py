"""Consent to a plan version: the text and its hash, signing, refusals, withdrawal, the PDF."""

from __future__ import annotations

import base64
import dataclasses
import struct
import zlib
from io import BytesIO
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader

from mesoclinic.audit.log import Actor
from mesoclinic.plans import actions, consents
from mesoclinic.plans.consent_text import TEMPLATES, ConsentFacts, compose, template_for
from mesoclinic.plans.models import Consent, TreatmentPlan
from mesoclinic.plans.tests.helpers import HA, draft

FACTS = ConsentFacts(
    patient_name="Ayşe Işıklı-Yılmaz", plan_reference="a1b2c3d4", plan_version=1,
    indication="Wrinkles", area="Face", technique="point by point", delivery="micro-needle",
    ingredients="hyaluronic acid", sessions=8, schedule="8 × 7 d", minutes=25,
    anaesthetic_cream="", needle_free=False, regional_fat=False, language="tr")


def _actor(user: Any) -> Actor:
    return Actor(user_id=str(user.public_id), username=user.username, role="test", via="web")


def _proposed(cast: Any, d: Any = None) -> TreatmentPlan:
    plan = actions.create_plan(patient=cast.patient, draft=d or draft(), by=cast.physician,
                               actor=_actor(cast.physician))
    return actions.approve_plan(plan=plan, by=cast.physician, actor=_actor(cast.physician))


def _png() -> str:
    """A real 2 by 2 PNG, as the pad gives it."""
    raw = b"".join(b"\x00" + b"\x00\x00\x00\xff" * 2 for _ in range(2))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 6, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _signature(plan: TreatmentPlan, **changes: Any) -> consents.Signature:
    document = consents.document_for(plan)
    fields: dict[str, Any] = {"patient_id": str(plan.patient.public_id), "plan_version": plan.version,
                  "template": document.template, "template_version": document.version,
                  "language": document.language, "sha256": document.sha256, "signer_name": "Ayşe Şahin",
                  "method": "typed", "drawing": "", "confirmed": True, "photo_consent": True}
    fields.update(changes)
    return consents.Signature(**fields)


def _sign(cast: Any, plan: TreatmentPlan, **changes: Any) -> Consent:
    from django.utils import timezone

    from mesoclinic.kernel.pdf import render_pdf

    def pdf(consent: Consent, document: Any) -> bytes:
        return render_pdf("plans/pdf/consent.html", {
            "patient": plan.patient, "clinic": plan.clinic, "consent": consent,
            "document": document, "printed_at": timezone.now()})

    return consents.sign_consent(plan=plan, signature=_signature(plan, **changes),
                                 witness=cast.nurse, actor=_actor(cast.nurse), render_pdf=pdf)


@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40))
def test_the_hash_changes_whenever_the_text_does(a, b):
    one = compose(template_for("face_body"), dataclasses.replace(FACTS, patient_name=a))
    two = compose(template_for("face_body"), dataclasses.replace(FACTS, patient_name=b))
    assert (one.sha256 == two.sha256) == (one.text == two.text)
    assert (one.text == two.text) == (a == b)


def test_every_template_exists_in_every_language_and_cites_facts():
    for template in TEMPLATES:
        for language in ("en", "tr", "de"):
            doc = compose(template, dataclasses.replace(FACTS, language=language))
            assert "(F-SIDE-EFFECTS)" in doc.text
            assert FACTS.patient_name in doc.text


def test_disclosures_appear_only_where_they_apply():
    plain = compose(template_for("face_body"), dataclasses.replace(FACTS, language="en"))
    assert "FDA" not in plain.text
    assert "less well" not in plain.text
    both = compose(template_for("face_body"), dataclasses.replace(
        FACTS, language="en", needle_free=True, regional_fat=True))
    assert "not approved by the US Food and Drug Administration" in both.text
    assert "works less well than treatment with a needle" in both.text


def test_the_hair_consent_gives_the_timeline():
    doc = compose(template_for("hair"), dataclasses.replace(FACTS, language="en"))
    assert "six months" in doc.text


@pytest.mark.django_db
def test_signing_accepts_the_plan_and_keeps_a_pdf_with_the_name(cast):
    plan = _proposed(cast)
    consent = _sign(cast, plan, method="drawn", drawing=_png())
    plan.refresh_from_db()
    assert plan.status == TreatmentPlan.Status.ACCEPTED
    assert consent.sha256 == consents.document_for(plan).sha256
    assert consents.valid_consent(plan) == consent
    with default_storage.open(consent.pdf.name, "rb") as handle:
        text = "".join(p.extract_text() for p in PdfReader(BytesIO(handle.read())).pages)
    assert "Ayşe Şahin" in text
    assert consent.sha256[:16] in text.replace("\n", "")


@pytest.mark.django_db
def test_an_active_plan_needs_its_consent_and_a_change_invalidates_it(cast):
    plan = _proposed(cast)
    _sign(cast, plan)
    active = actions.activate_plan(plan=plan, actor=_actor(cast.physician))
    assert active.status == TreatmentPlan.Status.ACTIVE
    changed = actions.revise_plan(plan=active, draft=draft(solution=(HA,)), based_on=1,
                                  by=cast.physician, actor=_actor(cast.physician))
    assert changed.status == TreatmentPlan.Status.DRAFT
    assert consents.valid_consent(changed) is None
    approved = actions.approve_plan(plan=changed, by=cast.physician, actor=_actor(cast.physician))
    with pytest.raises(actions.PlanRefused):
        actions.activate_plan(plan=approved, actor=_actor(cast.physician))


@pytest.mark.django_db
@pytest.mark.parametrize(("changes", "field"), [
    ({"patient_id": "00000000-0000-4000-8000-000000000000"}, "patient"),
    ({"plan_version": 2}, "plan_version"),
    ({"template_version": 0}, "template_version"),
    ({"sha256": "0" * 64}, "text"),
    ({"confirmed": False}, "confirmed"),
    ({"method": "drawn", "drawing": "data:image/png;base64,bm90IGEgcG5n"}, "signature"),
    ({"method": "drawn", "drawing": ""}, "signature"),
    ({"signer_name": " "}, "signer_name"),
])
def test_a_consent_that_does_not_match_what_was_shown_is_refused(cast, changes, field):
    plan = _proposed(cast)
    with pytest.raises(consents.ConsentRefused) as caught:
        _sign(cast, plan, **changes)
    assert caught.value.field == field
    assert not Consent.objects.exists()
    plan.refresh_from_db()
    assert plan.status == TreatmentPlan.Status.PROPOSED


@pytest.mark.django_db
def test_a_draft_plan_cannot_be_signed(cast):
    plan = actions.create_plan(patient=cast.patient, draft=draft(), by=cast.physician,
                               actor=_actor(cast.physician))
    with pytest.raises(consents.ConsentRefused) as caught:
        _sign(cast, plan)
    assert caught.value.field == "plan"


@pytest.mark.django_db
def test_withdrawal_stops_an_active_plan(cast):
    plan = _proposed(cast)
    consent = _sign(cast, plan)
    actions.activate_plan(plan=plan, actor=_actor(cast.physician))
    consents.withdraw_consent(consent=consent, reason="Patient changed her mind.", by=cast.nurse,
                              actor=_actor(cast.nurse))
    plan.refresh_from_db()
    assert plan.status == TreatmentPlan.Status.STOPPED
    assert "consent withdrawn" in plan.stop_reason
    assert consents.valid_consent(plan) is None


@pytest.mark.django_db
def test_the_tablet_page_signs_with_a_typed_name(cast):
    plan = _proposed(cast)
    client = cast.client_for(cast.nurse, cast.clinic)
    url = reverse("plans:consent-sign", args=[cast.patient.public_id, plan.public_id])
    page = client.get(url)
    assert page.status_code == 200
    document = page.context["document"]
    form = {"patient": str(cast.patient.public_id), "plan_version": "1",
            "template": document.template, "template_version": str(document.version),
            "language": document.language, "sha256": document.sha256, "photo_consent": "no",
            "signer_name": "Ayşe Şahin", "method": "typed", "confirmed": "on"}
    missing_choice = client.post(url, {**form, "photo_consent": ""})
    assert missing_choice.status_code == 422
    assert client.post(url, form).status_code == 302
    consent = Consent.objects.get()
    assert (consent.method, consent.photo_consent, consent.witness) == ("typed", False, cast.nurse)


@pytest.mark.django_db
def test_reception_cannot_open_the_consent_page(cast):
    plan = _proposed(cast)
    url = reverse("plans:consent-sign", args=[cast.patient.public_id, plan.public_id])
    assert cast.client_for(cast.receptionist, cast.clinic).get(url).status_code == 403
