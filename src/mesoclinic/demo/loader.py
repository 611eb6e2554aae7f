"""The demo organisation (two clinics, every role, ~50 patients) and bulk synthetic data."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection, models, transaction
from django.utils import timezone

from mesoclinic.accounts.models import Clinic, Credential, Membership, Organisation, User
from mesoclinic.accounts.permissions import Role
from mesoclinic.audit.log import Actor
from mesoclinic.charting.demo import load_sessions
from mesoclinic.knowledge.store import load_bundled
from mesoclinic.patients.models import (
    Allergy,
    LabResult,
    MedicalHistory,
    Medication,
    Patient,
    PatientNameWord,
    Workup,
)
from mesoclinic.patients.seed import synthetic_patients
from mesoclinic.photos.demo import load_photos
from mesoclinic.plans import pricing
from mesoclinic.plans.prices import save_price_list, stored_in_force
from mesoclinic.safety.demo import load_safety
from mesoclinic.scheduling.demo import load_schedule
from mesoclinic.scheduling.series import practitioners
from mesoclinic.screening.actions import screen_patient

DEMO_ORG = "Mesoclinic Demo Group"


@dataclass(frozen=True)
class DemoStaff:
    username: str
    name: str
    password: str
    roles: tuple[tuple[str, str], ...]  # (clinic key, role)


PHYS, NURSE, RECEPTION, MANAGER, AUDITOR = (
    Role.PHYSICIAN, Role.NURSE, Role.RECEPTIONIST, Role.MANAGER, Role.AUDITOR
)
DEMO_STAFF = (
    DemoStaff("dr.aydin", "Dr. Selin Aydın", "Demo-physician-2026", (("ist", PHYS), ("ber", PHYS))),
    DemoStaff("dr.weber", "Dr. Jan Weber", "Demo-physician-2026", (("ber", PHYS),)),
    DemoStaff("nurse.kaya", "Deniz Kaya", "Demo-nurse-2026", (("ist", NURSE),)),
    DemoStaff("reception.demir", "Ece Demir", "Demo-reception-2026", (("ist", RECEPTION),)),
    DemoStaff("manager.yilmaz", "Can Yılmaz", "Demo-manager-2026", (("ist", MANAGER), ("ber", MANAGER))),
    DemoStaff("auditor.schmidt", "Petra Schmidt", "Demo-auditor-2026", (("ist", AUDITOR), ("ber", AUDITOR))),
)


def _clinics() -> dict[str, Clinic]:
    org, _ = Organisation.objects.get_or_create(name=DEMO_ORG)
    ist, _ = Clinic.objects.get_or_create(
        organisation=org, name="Nişantaşı Skin Clinic",
        defaults={"address": "Abdi İpekçi Cd. 42, 34367 Şişli, İstanbul", "timezone": "Europe/Istanbul",
                  "currency": "TRY", "licence_number": "TR-34-SKN-0417",
                  "licence_valid_until": date(2028, 6, 30)},
    )
    ber, _ = Clinic.objects.get_or_create(
        organisation=org, name="Berlin Mitte Dermatology",
        defaults={"address": "Rosenthaler Str. 12, 10119 Berlin", "timezone": "Europe/Berlin",
                  "currency": "EUR", "licence_number": "BE-MITTE-2291",
                  "licence_valid_until": date(2027, 12, 31)},
    )
    return {"ist": ist, "ber": ber}


def _staff(clinics: dict[str, Clinic]) -> dict[str, User]:
    users = {}
    for spec in DEMO_STAFF:
        user = User.objects.filter(username=spec.username).first()
        if user is None:
            first, _, last = spec.name.replace("Dr. ", "").partition(" ")
            user = User(username=spec.username, display_name=spec.name, first_name=first,
                        last_name=last, email=f"{spec.username}@demo.mesoclinic.example")
            user.set_password(spec.password)
            user.save()
        for key, role in spec.roles:
            Membership.objects.get_or_create(user=user, clinic=clinics[key], role=role)
        users[spec.username] = user
    for username, ltype, number, body, spec_text in (
        ("dr.aydin", "medical", "TR-DERM-58213", "Turkish Medical Association", "Dermatology"),
        ("dr.aydin", "training", "MESO-2019-114", "Société Française de Mésothérapie", "Mesotherapy"),
        ("dr.weber", "medical", "BE-AEK-77120", "Ärztekammer Berlin", "Dermatology"),
        ("dr.weber", "training", "DGM-2021-031", "Deutsche Gesellschaft für Mesotherapie", "Mesotherapy"),
        ("nurse.kaya", "nursing", "TR-NRS-20931", "Turkish Nurses Association",
         "Dermatology nursing; mesotherapy"),
    ):
        Credential.objects.get_or_create(
            user=users[username], number=number,
            defaults={"licence_type": ltype, "issuing_body": body, "specialisation": spec_text,
                      "valid_from": date(2019, 1, 1), "valid_until": date(2029, 12, 31)},
        )
    # One certificate runs out soon, so the staff pages show their warning.
    Credential.objects.get_or_create(
        user=users["nurse.kaya"], number="TDS-MESO-2024-07",
        defaults={"licence_type": "training", "issuing_body": "Turkish Dermatology Society",
                  "specialisation": "Mesotherapy", "valid_from": date(2024, 1, 1),
                  "valid_until": timezone.localdate() + timedelta(days=20)},
    )
    return users


def load_demo(*, patients_per_clinic: int = 25) -> dict[str, int]:
    """Create (or complete) the demo organisation; running it again adds nothing."""
    today = timezone.localdate()
    with transaction.atomic():
        load_bundled(DEMO_ACTOR)
        clinics = _clinics()
        users = _staff(clinics)
        User.objects.filter(username="dr.aydin").update(medical_director=True)
        created = 0
        for index, (key, clinic) in enumerate(sorted(clinics.items())):
            author = users["dr.aydin"] if key == "ist" else users["dr.weber"]
            people = synthetic_patients(patients_per_clinic, seed=2026 + index, today=today)
            for number, person in enumerate(people):
                national_id = f"DEMO-{key.upper()}-{number:03d}"
                if Patient.objects.filter(clinic=clinic, national_id=national_id).exists():
                    continue
                patient = Patient.objects.create(
                    clinic=clinic, given_name=person.given_name, family_name=person.family_name,
                    birth_date=person.birth_date, sex=person.sex, phone=person.phone,
                    email=person.email, address=person.address, national_id=national_id,
                    preferred_language=person.preferred_language,
                )
                MedicalHistory.objects.create(patient=patient, version=1, recorded_by=author,
                                              **person.history)
                _clinical_extras(patient, number, author, today)
                if number < 12:
                    _demo_screening(patient, number, author)
                created += 1
        for clinic in clinics.values():
            _demo_prices(clinic, users["manager.yilmaz"])
        booked = charted = 0
        for key, clinic in sorted(clinics.items()):
            author = users["dr.aydin"] if key == "ist" else users["dr.weber"]
            front = users["reception.demir"] if key == "ist" else author
            patients = list(Patient.objects.filter(clinic=clinic).order_by("national_id"))
            booked += load_schedule(clinic, practitioners(clinic), patients, author, front)["appointments"]
            nurse = users["nurse.kaya"] if key == "ist" else author
            charted += load_sessions(clinic, performer=author, nurse=nurse,
                                     manager=users["manager.yilmaz"])["sessions"]
            load_safety(clinic, reporter=nurse)
            load_photos(clinic, by=nurse)
    return {"clinics": len(clinics), "staff": len(users), "patients_created": created,
            "appointments_booked": booked, "sessions_charted": charted}


# Per session, cosmetic, by a physician, standard size (F-COST: cosmetic costs more than medical;
# expertise, area size and location change the price).
DEMO_BASE_PRICE = {"EUR": Decimal("120.00"), "TRY": Decimal("3500.00")}
DEMO_LOCATION = {"EUR": Decimal("1.10"), "TRY": Decimal("1.00")}
DEMO_TAX = {"EUR": Decimal("0.19"), "TRY": Decimal("0.20")}


def _demo_prices(clinic: Clinic, manager: User) -> None:
    """A price list for the clinic, unless it has one."""
    if stored_in_force(clinic) is not None:
        return
    base = DEMO_BASE_PRICE.get(clinic.currency, Decimal("120.00"))
    area_factor = {"face": Decimal("1.0"), "body": Decimal("1.2"), "scalp": Decimal("0.9")}
    size_factor = {"small": Decimal("0.8"), "standard": Decimal("1.0"), "large": Decimal("1.3")}
    grade_factor = {"senior_physician": Decimal("1.2"), "physician": Decimal("1.0"),
                    "specialist_nurse": Decimal("0.7")}
    kind_factor = {"cosmetic": Decimal("1.0"), "medical": Decimal("0.8")}
    entries = tuple(
        pricing.PriceEntry(area, size, grade, kind,
                           (base * af * sf * gf * kf).quantize(Decimal("0.01")))
        for area, af in area_factor.items() for size, sf in size_factor.items()
        for grade, gf in grade_factor.items() for kind, kf in kind_factor.items())
    price_list = pricing.PriceList(
        currency=clinic.currency, tax_rate=DEMO_TAX.get(clinic.currency, Decimal("0.19")),
        location_factor=DEMO_LOCATION.get(clinic.currency, Decimal("1.00")), entries=entries,
        package_discounts=(pricing.PackageDiscount(6, Decimal("10")),
                           pricing.PackageDiscount(10, Decimal("15"))),
        checkup_price=(base / 3).quantize(Decimal("0.01")))
    save_price_list(clinic=clinic, price_list=price_list, by=manager, actor=DEMO_ACTOR)


DEMO_ACTOR = Actor(username="demo-loader", role="system", via="cli")
DEMO_TREATMENTS = (
    ("face", "wrinkles", "point_by_point", "needle", ["hyaluronic acid", "vitamin C"]),
    ("scalp", "hair_loss", "point_by_point", "needle", ["biotin", "dexpanthenol"]),
    ("body", "cellulite", "comprehensive", "needle", ["artichoke extract", "caffeine"]),
    ("body", "regional_fat", "comprehensive", "needle_free", ["phosphatidylcholine"]),
)


def _demo_screening(patient: Patient, number: int, author: User) -> None:
    """A proposed treatment about two weeks out, screened as a physician would."""
    area, indication, technique, delivery, ingredients = DEMO_TREATMENTS[number % len(DEMO_TREATMENTS)]
    tz = ZoneInfo(patient.clinic.timezone)
    start = (timezone.now() + timedelta(days=14)).astimezone(tz).replace(
        hour=10, minute=0, second=0, microsecond=0)
    screen_patient(
        patient=patient, by=author, actor=DEMO_ACTOR, allergy_test=None,
        treatment={"area": area, "indication": indication, "technique": technique,
                   "delivery": delivery, "ingredients": ingredients,
                   "first_session_at": start.isoformat()},
    )


def _clinical_extras(patient: Patient, number: int, author: User, today: date) -> None:
    """Medications, allergies and workups for a share of the demo patients."""
    if number % 5 == 1:
        Medication.objects.create(patient=patient, name="Aspirin Cardio", atc_code="B01AC06",
                                  dose="100 mg daily", started_on=today - timedelta(days=400),
                                  recorded_by=author)
    if number % 7 == 2:
        Medication.objects.create(patient=patient, name="Ibuprofen", atc_code="M01AE01",
                                  dose="400 mg as needed", started_on=today - timedelta(days=60),
                                  last_dose_on=today - timedelta(days=3), recorded_by=author)
    if number % 6 == 3:
        Allergy.objects.create(patient=patient, substance="Sodium hyaluronate", reaction="Hives",
                               severity="moderate", recorded_by=author)
    if number % 3 == 0:
        Workup.objects.create(patient=patient, physical_exam_on=today - timedelta(days=10),
                              physical_exam_note="Skin intact; no active infection at the sites.",
                              history_reviewed_on=today - timedelta(days=10),
                              signed_off_by=author, signed_off_at=timezone.now() - timedelta(days=9))
        for kind, values in (("blood", "Hb 13.4 g/dL; platelets 250 ×10⁹/L; glucose 91 mg/dL"),
                             ("urine", "Protein negative; glucose negative")):
            LabResult.objects.create(patient=patient, kind=kind, taken_on=today - timedelta(days=12),
                                     values=values, abnormal=False, recorded_by=author)


def seed(*, patients: int, clinics: int, batch: int = 5000) -> dict[str, float]:
    """Bulk synthetic data for benchmarks: `patients` spread over `clinics` new clinics."""
    started = time.perf_counter()
    today = timezone.localdate()
    stamp = timezone.now().strftime("%Y%m%d%H%M%S%f")
    with transaction.atomic():
        org, _ = Organisation.objects.get_or_create(name="Synthetic Clinics")
        seeded = [
            Clinic.objects.create(organisation=org, name=f"Synthetic clinic {stamp}-{n + 1}",
                                  timezone="Europe/Istanbul" if n % 2 else "Europe/Berlin")
            for n in range(clinics)
        ]
        author, _ = User.objects.get_or_create(username="seed.physician",
                                               defaults={"display_name": "Seed Physician"})
        pending: list[Patient] = []
        histories: list[dict[str, str]] = []
        for index, person in enumerate(synthetic_patients(patients, seed=len(stamp) + patients, today=today)):
            patient = Patient(
                clinic=seeded[index % clinics], given_name=person.given_name,
                family_name=person.family_name, birth_date=person.birth_date, sex=person.sex,
                phone=person.phone, email=person.email, address=person.address,
                preferred_language=person.preferred_language,
            )
            patient.refresh_search_keys()
            pending.append(patient)
            histories.append(person.history)
            if len(pending) >= batch:
                _flush(pending, histories, author)
        _flush(pending, histories, author)
    analysed = analyze(Clinic, Patient, PatientNameWord, MedicalHistory)
    return {"patients": patients, "clinics": clinics, "analysed": analysed,
            "seconds": time.perf_counter() - started}


def analyze(*tables: type[models.Model]) -> bool:
    """Fresh planner statistics for tables a bulk load just grew; True if PostgreSQL took them.

    Until autovacuum gets round to it (minutes, or never for a load that is then only read), the
    planner estimates a table it has no statistics for from its size on disk, and the search's
    index choices (patients.models.PatientQuerySet.matching) stop being the ones tested.
    """
    if connection.vendor != "postgresql":
        return False
    names = ", ".join(connection.ops.quote_name(table._meta.db_table) for table in tables)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {names}")
    return True


def _flush(pending: list[Patient], histories: list[dict[str, str]], author: User) -> None:
    if not pending:
        return
    Patient.objects.bulk_create(pending)
    # SQLite and PostgreSQL both return primary keys from bulk_create.
    MedicalHistory.objects.bulk_create(
        MedicalHistory(patient=p, version=1, recorded_by=author, **h)
        for p, h in zip(pending, histories, strict=True)
    )
    # bulk_create skips Patient.save(), which keeps the later name words: write them here.
    PatientNameWord.objects.bulk_create(
        PatientNameWord(patient=p, clinic_id=p.clinic_id, word=word)
        for p in pending
        for word in p.later_name_words()
    )
    pending.clear()
    histories.clear()
