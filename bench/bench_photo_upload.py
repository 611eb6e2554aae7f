"""A 12-megapixel photo from upload to stored and measured, end to end (issue 12).

Run: python bench/bench_photo_upload.py [--runs 5] [--database-url URL]

Sets up a throwaway database (a temporary SQLite file unless --database-url names an empty
PostgreSQL database), a clinic, a nurse and a patient whose plan's consent allows photographs,
then posts a phone-like 12-MP JPEG (with EXIF and GPS) to the upload page through Django's test
client — form parsing, safe decoding, re-encoding, storage, the audit event — and runs the
worker's measurement of it (decode of the stored JPEG, eye detection, colour, spot and texture
metrics). Prints best and median of each step and of both together, in milliseconds.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

try:
    import mesoclinic  # noqa: F401
except ModuleNotFoundError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-photo-"))
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["MESOCLINIC_DATA_DIR"] = str(workdir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesoclinic.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment
    from PIL import Image

    from mesoclinic.accounts.models import Clinic, Membership, Organisation, User
    from mesoclinic.accounts.session import SESSION_CLINIC, SESSION_EPOCH
    from mesoclinic.audit.log import Actor
    from mesoclinic.patients.models import MedicalHistory, Patient
    from mesoclinic.photos import tasks
    from mesoclinic.photos.models import Photo
    from mesoclinic.plans import actions as plan_actions
    from mesoclinic.plans import consents
    from mesoclinic.plans.tests.helpers import draft

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver"]
    call_command("migrate", verbosity=0)
    actor = Actor(username="bench", via="cli")
    org = Organisation.objects.create(name="Bench")
    clinic = Clinic.objects.create(organisation=org, name="Bench clinic", timezone="Europe/Istanbul")
    nurse = User.objects.create_user("nurse.bench", password="x" * 16)
    physician = User.objects.create_user("dr.bench", password="x" * 16)
    Membership.objects.create(user=nurse, clinic=clinic, role="nurse")
    Membership.objects.create(user=physician, clinic=clinic, role="physician")
    patient = Patient.objects.create(clinic=clinic, given_name="Ayşe", family_name="Bench",
                                     birth_date=date(1985, 5, 5), sex="female")
    MedicalHistory.objects.create(patient=patient, version=1, recorded_by=physician)
    plan = plan_actions.approve_plan(plan=plan_actions.create_plan(patient=patient, draft=draft(),
                                                                   by=physician, actor=actor),
                                     by=physician, actor=actor)
    document = consents.document_for(plan)
    consents.sign_consent(plan=plan, signature=consents.Signature(
        patient_id=str(patient.public_id), plan_version=plan.version, template=document.template,
        template_version=document.version, language=document.language, sha256=document.sha256,
        signer_name="Ayşe Bench", method="typed", drawing="", confirmed=True, photo_consent=True),
        witness=physician, actor=actor, render_pdf=lambda consent, document: b"%PDF-1.4 bench")

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_photo_decode import phone_exif, picture

    out = io.BytesIO()
    picture(4000, 3000).save(out, "JPEG", quality=90, exif=phone_exif())
    upload = out.getvalue()
    client = Client()
    client.force_login(nurse)
    session = client.session
    session[SESSION_EPOCH] = nurse.session_epoch
    session[SESSION_CLINIC] = clinic.pk
    session.save()
    url = f"/patients/{patient.public_id}/photos/new/"
    stored_ms, measured_ms = [], []
    for _ in range(args.runs):
        file = io.BytesIO(upload)
        file.name = "IMG_0001.jpg"
        started = time.perf_counter()
        response = client.post(url, {"plan": str(plan.public_id), "view": "face_front",
                                     "occasion": "baseline", "taken_on": "2026-12-01", "file": file})
        stored = time.perf_counter()
        if response.status_code != 302:
            raise SystemExit(f"upload refused: {response.status_code}")
        photo = Photo.objects.select_related("photo_set").latest("id")
        tasks.measure_and_store(photo)
        done = time.perf_counter()
        stored_ms.append((stored - started) * 1000)
        measured_ms.append((done - stored) * 1000)
    photo.refresh_from_db()
    assert photo.metrics is not None
    with Image.open(io.BytesIO(upload)) as image:
        size = image.size
    print(f"12 MP upload {size[0]}x{size[1]}, {len(upload) / 1e6:.1f} MB, {args.runs} runs on "
          f"{os.environ['DATABASE_URL'].split(':')[0]}:")
    for name, values in (("upload to stored (page)", stored_ms), ("measured (worker)", measured_ms),
                         ("end to end", [a + b for a, b in zip(stored_ms, measured_ms, strict=True)])):
        print(f"  {name:24} best {min(values):7.0f} ms   median {statistics.median(values):7.0f} ms")


if __name__ == "__main__":
    main()
